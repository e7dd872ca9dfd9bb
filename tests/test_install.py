"""Outside the checkout: an sdist, the wheel built from it, installed into a new virtualenv
in a temporary folder with no $ZOO_DATA, and every shipped model loaded by name and run
there; an export and the TF-free runtime too.

The new virtualenv takes the pinned dependencies from this one (a .pth line) so the test
needs no download; rnn-zoo itself comes only from the wheel (checked below)."""
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import json, sys
import zoo, zoo.runtime
from zoo import registry

out = {"zoo": zoo.__file__, "models": {}}
for name in zoo.list_models():
    entry = registry.get(name)
    if not entry.shipped:
        out["models"][name] = "not shipped"
        continue
    m = zoo.load(name)
    inputs = list(entry.demo_inputs)[:1] or m.parity_examples()[:1]
    out["models"][name] = {"bundle": str(entry.bundle_path), "n": len(m.predict(inputs))}
m = zoo.load("forecast-lstm")
m.export("f.tflite")
examples = m.parity_examples()[:2]
runtime = zoo.runtime.load("f.tflite").predict(examples)
out["runtime_agreement"] = m.host().agreement(m.predict(examples), runtime)
print(json.dumps(out))
"""


def run(cmd, cwd, env, timeout=600):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}: {done.stderr[-3000:]}"
    return done.stdout


def test_the_wheel_installs_and_runs_every_model_outside_the_checkout(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("ZOO_DATA", "PYTHONPATH")}
    env["ZOO_HOME"] = str(tmp_path / "home")
    dist = tmp_path / "dist"
    # sdist first, then the wheel from the sdist: both ways a user may install must work.
    run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "--outdir", dist, REPO],
        cwd=tmp_path, env=env)
    sdist, = dist.glob("rnn_zoo-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
    assert any(n.endswith("zoo_pipelines/saved_models/ner-bilstm/model.keras") for n in names)
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", dist, sdist], cwd=tmp_path, env=env)
    wheel, = dist.glob("rnn_zoo-*.whl")
    with zipfile.ZipFile(wheel) as z:
        top = {n.split("/")[0] for n in z.namelist()}
        assert "zoo/py.typed" in z.namelist(), "PEP 561: type checkers read the zoo's hints"
        meta = z.read(next(n for n in z.namelist() if n.endswith("dist-info/METADATA"))).decode()
    # Import names that will not collide: no `pipelines`, `benchmarks` or `tests`.
    assert {t for t in top if not t.endswith(".dist-info")} == {"zoo", "zoo_pipelines"}
    assert "License-Expression: Apache-2.0" in meta and "Requires-Dist: tensorflow<" in meta

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", venv], cwd=tmp_path, env=env)
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = Path(run([venv / "bin" / "python", "-c", purelib], cwd=tmp_path, env=env).strip())
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    run([venv / "bin" / "pip", "install", "-q", "--no-deps", wheel], cwd=tmp_path, env=env)

    work = tmp_path / "elsewhere"
    work.mkdir()
    zoo_cli = venv / "bin" / "zoo"
    assert "ner-bilstm" in run([zoo_cli, "list"], cwd=work, env=env)
    assert "Headline metric: `f1`" in run([zoo_cli, "info", "ner-bilstm"], cwd=work, env=env)
    # benchmarks/ stays in the checkout: `zoo bench` says so in one line, not a traceback.
    bench = subprocess.run([zoo_cli, "bench", "ner-bilstm"], cwd=work, env=env,
                           capture_output=True, text=True, timeout=120)
    assert bench.returncode != 0 and bench.stderr.count("\n") == 1, bench.stderr
    assert "benchmarks are not installed with the package" in bench.stderr, bench.stderr
    out = json.loads(run([venv / "bin" / "python", "-c", SCRIPT], cwd=work, env=env).splitlines()[-1])
    assert out["zoo"].startswith(str(site)), out["zoo"]          # not the checkout
    for name, result in out["models"].items():
        if result != "not shipped":
            assert result["bundle"].startswith(str(site)) and result["n"] == 1, (name, result)
    assert sum(r != "not shipped" for r in out["models"].values()) >= 7
    assert out["runtime_agreement"] == 1.0


@pytest.mark.parametrize("pattern", ["pipelines", "benchmarks"])
def test_no_generic_top_level_package_is_declared(pattern):
    text = (REPO / "pyproject.toml").read_text()
    assert f'"{pattern}*"' not in text and f'"{pattern}"' not in text


# ---- where only an export's runtime is installed (stop 68) ---------------------------------
def test_the_runtime_names_a_missing_package_and_how_to_install_it(exported, shipped,
                                                                   monkeypatch):
    """A host's lazy imports (pandas for a forecast's frames, soundfile for a WAV, mido for
    MIDI, pillow for any image) were raw ModuleNotFoundErrors where only numpy and LiteRT
    were installed to run the export."""
    import zoo.runtime
    from zoo.errors import ZooError

    path, _ = exported("forecast-lstm", "tflite")
    model = zoo.runtime.load(path)
    series = shipped("forecast-lstm").parity_examples()[:1]
    monkeypatch.setitem(sys.modules, "pandas", None)         # `import pandas` now fails
    with pytest.raises(ZooError, match=r"^forecast-lstm predict needs the Python package "
                                       r"'pandas', which is not installed here; pip install "
                                       r"'pandas[<>=,.\d]*'$") as e:
        model.predict(series)
    assert isinstance(e.value, ModuleNotFoundError) and e.value.name == "pandas"


def test_an_export_names_a_missing_converter_as_the_runtime_does(shipped, tmp_path,
                                                               monkeypatch):
    """ZooModel.export without tf2onnx (or LiteRT, for the parity check) was a raw
    ModuleNotFoundError in the Python API, after the conversion; zoo.runtime said it in
    one line."""
    from zoo.errors import ZooError

    for module, pip, file in (("tf2onnx", "tf2onnx", "m.onnx"),
                              ("ai_edge_litert.interpreter", "ai-edge-litert", "new/m.tflite")):
        monkeypatch.setitem(sys.modules, module, None)
        with pytest.raises(ZooError, match=rf"^forecast-lstm export needs the Python package "
                                           rf"'{pip}', which is not "
                                           rf"installed here; pip install "):
            shipped("forecast-lstm").export(tmp_path / file)
        assert not (tmp_path / file).exists() and not (tmp_path / "new").exists()


def test_runtime_load_says_what_it_was_given_instead_of_an_export(tmp_path, bundle_copy):
    """3 and None were raw TypeErrors; a bundle, a registered name and the sidecar itself
    were "no such exported model, or its sidecar X.json is missing"."""
    import zoo.runtime
    from zoo.errors import InputError

    for bad in (3, None, "", True):
        with pytest.raises(InputError, match="expected the path of a .tflite or .onnx file"):
            zoo.runtime.load(bad)
    with pytest.raises(InputError, match=r"a bundle, not an export; zoo.load\('ner-bilstm'\) "
                                         r"runs it \(with TensorFlow\), or export it first"):
        zoo.runtime.load("NER-BILSTM")
    with pytest.raises(InputError, match="a bundle, not an export"):
        zoo.runtime.load(bundle_copy("forecast-lstm"))
    sidecar = tmp_path / "m.tflite.json"
    sidecar.write_text("{}")
    with pytest.raises(InputError, match=f"the sidecar of an export; expected the model file "
                                         f"beside it, {tmp_path / 'm.tflite'}$"):
        zoo.runtime.load(sidecar)


def test_the_cli_names_a_missing_package_in_one_line(monkeypatch, capsys):
    """Without TensorFlow (a machine set up to run exports) `zoo predict` was a traceback
    from the import; without fastapi `zoo serve FILE.tflite` too."""
    from zoo.cli import main

    monkeypatch.setitem(sys.modules, "tensorflow", None)
    assert main(["predict", "ner-bilstm", "EU rejects German call ."]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(
        "error: zoo predict needs the Python package 'tensorflow', which is not installed "
        "here; pip install 'tensorflow") and err.rstrip().endswith(
        "a .tflite or .onnx export runs without it (zoo serve FILE, zoo batch-predict FILE, "
        "zoo.runtime.load(FILE))"), err
    monkeypatch.setitem(sys.modules, "fastapi", None)
    monkeypatch.delitem(sys.modules, "zoo.serve", raising=False)      # imported afresh
    assert main(["serve", "model.tflite"]) == 2
    assert capsys.readouterr().err.startswith(
        "error: zoo serve needs the Python package 'fastapi', which is not installed here")


def test_batch_predict_of_an_export_does_not_import_tensorflow(monkeypatch, capsys):
    """README: `zoo batch-predict ner.tflite ...  # an export: no TensorFlow anywhere`; the
    command imported it all the same before reading its arguments (only serve skipped it)."""
    import zoo.batch_predict
    from zoo import cli

    def no_tf():
        raise AssertionError("TensorFlow imported")

    monkeypatch.setattr(cli, "import_tensorflow_quietly", no_tf)
    monkeypatch.setattr(zoo.batch_predict, "batch_predict", lambda *a, **k: {
        "predictions": 1, "shards": [1], "dead_letters": 0, "files": 1, "model": "m",
        "format": "tflite", "runner": "DirectRunner"})
    assert cli.main(["batch-predict", "m.tflite", "--input", "a/*.txt", "--output", "out"]) == 0
    assert "1 predictions in 1 shard(s)" in capsys.readouterr().out


def test_a_reader_that_stops_reading_is_no_error():
    """`zoo list | head -1` printed "error: : Broken pipe" and exited 2."""
    done = subprocess.Popen([sys.executable, "-m", "zoo.cli", "list"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done.stdout.close()                     # the reader is gone before anything is written
    err = done.stderr.read()
    assert done.wait(timeout=120) == 141 and err == "", err
