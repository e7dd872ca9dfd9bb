"""`zoo compare`: other runs of a model (an ablation, a baseline head) recorded in a
bundle's metrics.json and card, only when they were measured on the same split."""
import json
import shutil
import subprocess
import sys

import pytest

import zoo
from zoo.errors import ZooError


@pytest.fixture
def bundles(tmp_path):
    """The shipped forecast-lstm bundle (small) and a second run of it: a copy whose
    metrics.json says it was trained with other hyper-parameters."""
    shipped, other = tmp_path / "shipped", tmp_path / "other"
    shutil.copytree("zoo_pipelines/saved_models/forecast-lstm", shipped)
    shutil.copytree("zoo_pipelines/saved_models/forecast-lstm", other)
    m = json.loads((other / "metrics.json").read_text())
    m["hparams"]["units"] = 7
    m["valid"]["pinball_ratio_vs_naive"] = 1.5
    m["command"] = "zoo train forecast-lstm --units 7"
    (other / "metrics.json").write_text(json.dumps(m))
    return shipped, other


def test_compare_adds_a_variants_table_to_the_card(bundles):
    shipped, other = bundles
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "compare", str(shipped), str(other)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "units=7" in out.stdout
    m = zoo.load(shipped)                      # checksums rewritten: still loads
    assert m.metrics["variants"]["units=7"]["pinball_ratio_vs_naive"] == 1.5
    card = (shipped / "card.md").read_text()
    assert "## Variants" in card and "| units=7 | 1.5000 |" in card
    assert "zoo train forecast-lstm --units 7" in card


def test_compare_refuses_runs_measured_elsewhere(bundles):
    shipped, other = bundles
    m = json.loads((other / "metrics.json").read_text())
    m["split"] = "stocks/other.csv"
    (other / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(ZooError, match="same validation split"):
        zoo.load(shipped).compare(shipped, [other])
    with pytest.raises(ZooError, match="no metrics.json"):
        zoo.load(shipped).compare(shipped, [shipped / "nope"])


def test_compare_refuses_a_run_named_twice_and_metrics_that_are_no_object(bundles):
    """The same run twice was shown once, silently; a metrics.json holding a JSON list was a
    raw AttributeError."""
    shipped, other = bundles
    with pytest.raises(ZooError, match="named twice; expected each run once"):
        zoo.load(shipped).compare(shipped, [other, other / "."])
    (other / "metrics.json").write_text("[1, 2]")
    with pytest.raises(ZooError, match="expected a JSON object of metrics"):
        zoo.load(shipped).compare(shipped, [other])


def test_compare_refuses_the_bundle_itself_and_a_run_without_metrics(bundles, tmp_path):
    """The bundle as its own run added a second 'shipped' row; a metrics.json with no
    validation numbers gave a table with no columns."""
    shipped, other = bundles
    with pytest.raises(ZooError, match="its metrics.json is the bundle's own"):
        zoo.load(shipped).compare(shipped, [shipped])
    m = json.loads((other / "metrics.json").read_text())
    del m["valid"]
    (other / "metrics.json").write_text(json.dumps(m))
    with pytest.raises(ZooError, match="metrics.json has no validation metrics"):
        zoo.load(shipped).compare(shipped, [other])


def test_two_runs_that_differ_alike_keep_a_row_each():
    """Two runs with the same hyper-parameters (seeds, runs/a/x and runs/b/x) had one label:
    the second row replaced the first."""
    from zoo.card import variants_table

    shipped = {"valid": {"nll": 5.0}, "hparams": {"units": 256}}
    run = {"hparams": {"units": 64}, "command": "zoo train music-lstm --units 64"}
    table = variants_table(shipped, {"runs/a/x": {**run, "valid": {"nll": 6.0}},
                                     "runs/b/x": {**run, "valid": {"nll": 7.0}},
                                     "runs/c/x": {**run, "valid": {"nll": 8.0}}})
    assert [(k, r["nll"]) for k, r in table.items()] == [
        ("shipped", 5.0), ("units=64", 6.0), ("units=64 (x)", 7.0), ("runs/c/x", 8.0)]


def test_the_table_names_the_bundle_it_is_in(bundles, tmp_path, monkeypatch, capsys):
    """The bundle's own row was "shipped" whatever the bundle: a run of the user's, or the
    one zoo pull stored for NAME (which zoo.load(NAME) reads). `zoo compare NAME RUN` wrote
    into ./NAME: "No such file or directory", or a folder of that name there, another
    bundle, overwritten with the registered model's metrics."""
    from zoo.bundle import read_json
    from zoo.cli import main

    mine, other = bundles
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "shipped", "other"]) == 0      # a folder of the user's
    assert "| this bundle (shipped) |" in capsys.readouterr().out
    assert "| this bundle (shipped) |" in (mine / "card.md").read_text()
    shutil.copytree(zoo.registry.get("forecast-lstm").bundle_path, tmp_path / "src")
    assert main(["pull", "forecast-lstm", "--from", "src"]) == 0
    shutil.copytree(mine, tmp_path / "forecast-lstm")      # ./NAME: not what NAME loads
    before = (tmp_path / "forecast-lstm" / "metrics.json").read_bytes()
    with pytest.warns(UserWarning, match="is a registered model and loads as such"):
        assert main(["compare", "forecast-lstm", "other"]) == 0
    assert "| this bundle (stored by zoo pull for forecast-lstm) |" in capsys.readouterr().out
    assert (tmp_path / "forecast-lstm" / "metrics.json").read_bytes() == before
    stored = read_json(tmp_path / "home" / "bundles" / "forecast-lstm" / "metrics.json")
    assert list(stored["variants"]) == ["this bundle (stored by zoo pull for forecast-lstm)",
                                        "units=7"]
    from zoo.card import bundle_label

    entry = zoo.registry.get("music-lstm")       # the package's weights, a preset's too
    assert bundle_label(entry, entry.bundle_path) == "shipped"
    assert bundle_label(entry, entry.preset_path("music-lstm-nottingham")) == "shipped"
