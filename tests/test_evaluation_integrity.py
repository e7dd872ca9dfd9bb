"""No silently wrong number (issue 14): unknown split names, time steps taken from file
names, fine-tuning validated on its own training data, machine paths in cards, raw
tracebacks from the CLI. Each test here failed before the fix."""
import subprocess
import sys

import numpy as np
import pytest

import zoo
import zoo.data
from zoo.errors import DataFormatError, InputError, UnknownModelError

ZOO = [sys.executable, "-m", "zoo.cli"]


def run_cli(*args):
    return subprocess.run([*ZOO, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_speech_test_split_is_refused_not_read_as_train(data_dir):
    """`--split test` scored the 2,250 training recordings and called them `fsdd [test]`."""
    speech = zoo.registry.get("speech-ctc")
    with pytest.raises(DataFormatError, match="unknown split 'test'.*'valid' split here"):
        zoo.data.read_split(speech, data_dir / "fsdd", "test")
    valid = zoo.data.read_split(speech, data_dir / "fsdd", "val")        # an alias
    assert len(valid) == 250 and all(e["index"] < 5 for e in valid)


def test_forecast_unknown_split_is_refused(data_dir):
    """`--split bogus` ran the full evaluation on the valid split."""
    with pytest.raises(DataFormatError, match="unknown split 'bogus'"):
        zoo.data.read_split(zoo.registry.get("forecast-lstm"), data_dir / "stocks", "bogus")


@pytest.mark.parametrize("where, what", [("missing", "does not exist"), ("file", "is a file")])
def test_a_zoo_data_that_is_no_folder_is_named(where, what, tmp_path, monkeypatch):
    """The readers named only a path below it ("…/README.md/conll2003/valid.txt: no such NER
    data file"; speech: "a file where a dataset folder holding fsdd was expected")."""
    root = tmp_path / "data"
    if where == "file":
        root.write_text("x")
    monkeypatch.setenv("ZOO_DATA", str(root))
    for name in ("ner-bilstm", "speech-ctc"):
        with pytest.raises(DataFormatError, match=f"the data folder {root} \\(\\$ZOO_DATA\\) "
                                                  f"{what}; expected a folder holding the datasets"):
            zoo.dataset(name, "valid")


def test_an_installed_zoo_without_zoo_data_says_so(tmp_path, monkeypatch):
    """Installed by pip, the default data folder (beside site-packages) was called "the
    default, ../shared/data beside the checkout"."""
    site = tmp_path / "lib" / "site-packages"
    site.mkdir(parents=True)
    monkeypatch.delenv("ZOO_DATA", raising=False)
    monkeypatch.setattr(zoo.registry, "repo_root", lambda: site)
    with pytest.raises(DataFormatError, match="^\\$ZOO_DATA is not set, and an installed rnn-zoo has "
                                              "no data folder of its own; set \\$ZOO_DATA"):
        zoo.dataset("ner-bilstm", "valid")


@pytest.mark.parametrize("data", [3, True, "", " "])
def test_dataset_data_that_is_no_path_is_refused(data):
    """data=3 was a raw TypeError."""
    with pytest.raises(InputError, match="ner-bilstm: data must be a dataset folder laid out "
                                         "like \\$ZOO_DATA/conll2003"):
        zoo.data.read_split(zoo.registry.get("ner-bilstm"), data, "valid")
    if data == "":      # zoo.dataset read the default data for data=""
        with pytest.raises(InputError, match="data must be a dataset folder"):
            zoo.dataset("ner-bilstm", "valid", data="")


def test_dataset_names_a_preset_and_refuses_a_name_that_is_no_string():
    """None was a raw AttributeError; a preset name suggested itself ("Did you mean ...")."""
    with pytest.raises(UnknownModelError, match="a model name must be a string.*got NoneType"):
        zoo.dataset(None)
    with pytest.raises(UnknownModelError, match="music-lstm-nottingham is a preset bundle of "
                                                "music-lstm, not a registered model"):
        zoo.dataset("music-lstm-nottingham")


def test_music_time_step_does_not_come_from_the_file_name(tiny, data_dir, tmp_path):
    """JSB's test split saved as jsb_test.npz was scored at eighth notes (NLL 6.88, not
    5.40) because the step was looked up by file stem."""
    m = tiny("music-lstm")
    with np.load(data_dir / "polyphonic" / "jsb_chorales.npz") as z:
        arrays = {k.replace("valid_", "test_"): z[k] for k in z.files
                  if k.startswith("valid_") or k.startswith("pitch")}
    np.savez(tmp_path / "jsb_test.npz", **arrays)                  # one split, another name
    renamed = m.evaluate(str(tmp_path / "jsb_test.npz"))
    original = m.evaluate(data_dir / "polyphonic" / "jsb_chorales.npz", split="valid")
    assert renamed["steps"] == original["steps"] == 4602
    assert renamed["nll_per_step"] == pytest.approx(original["nll_per_step"], abs=1e-9)
    # a file that says its step is read at that step, whatever its name
    np.savez(tmp_path / "nottingham.npz", steps_per_quarter=1, **arrays)
    said = zoo.registry.get("music-lstm").module("data").read(tmp_path / "nottingham.npz")
    assert said[0]["steps_per_quarter"] == 1


def test_fine_tune_without_validation_holds_out_a_slice(tiny, data_dir, capsys):
    """It validated on its own training data (val_wer=0.0000) and picked the epoch there."""
    m = tiny("ner-bilstm")
    sents = zoo.data.read_split(m.entry, data_dir / "conll2003", "valid")[:40]
    tuned = m.fine_tune(sents, epochs=1, steps_per_epoch=1, batch_size=8, monitor_gradients=False,
                        jit_compile=False)
    out = capsys.readouterr().out
    assert "holding out 4 of the 40 fine-tuning examples" in out
    assert tuned.metrics["valid"]["data"].startswith("4 of the 40 fine-tuning examples, held out")
    assert tuned.metrics["splits"]["valid"]["selection"] is True
    assert "not measured by fine_tune" in tuned.metrics["splits"]["report"]["note"]
    train, valid = zoo.data.holdout(sents)
    assert len(train) == 36 and not {id(s) for s in train} & {id(s) for s in valid}


def test_fine_tune_on_too_little_data_warns_loudly(tiny, data_dir, caplog):
    m = tiny("ner-bilstm")
    few = zoo.data.read_split(m.entry, data_dir / "conll2003", "valid")[:6]
    tuned = m.fine_tune(few, epochs=1, batch_size=8, monitor_gradients=False, jit_compile=False)
    assert "the epoch is chosen on the training data itself" in caplog.text
    assert tuned.metrics["split"] == "the fine-tuning data itself (too few to hold out)"


def test_data_names_are_the_same_on_every_machine(data_dir, tmp_path):
    """Cards named data by the absolute path of the machine that trained them."""
    assert zoo.data.dataset_name(data_dir / "conll2003" / "valid.txt") == "conll2003/valid.txt"
    mine = tmp_path / "mine.conll"
    mine.write_text("EU B-ORG\n")
    assert zoo.data.dataset_name(mine) == f"mine.conll (sha256 {zoo.bundle.sha256(mine)[:12]})"
    record = zoo.data.portable_record({"command": f"zoo train x --data {data_dir}/fsdd",
                                       "valid": {"data": f"{data_dir.resolve()}/fsdd/recordings"}})
    assert record == {"command": "zoo train x --data $ZOO_DATA/fsdd",
                      "valid": {"data": "fsdd/recordings"}}


@pytest.mark.parametrize("name", [n for n in zoo.list_models() if zoo.registry.get(n).shipped])
def test_shipped_bundles_hold_no_machine_path(name, data_dir):
    directory = zoo.bundle.resolve(name)
    text = (directory / "card.md").read_text() + (directory / "metrics.json").read_text()
    for path in (str(data_dir.resolve()), "/work/", "/tmp/", "/home/", "../shared/data"):
        assert path not in text, f"{name}: {path} in its card or metrics"


def test_cli_folder_where_a_file_is_expected_is_one_line(data_dir, tmp_path):
    """`zoo evaluate ner-bilstm --data $ZOO_DATA/conll2003` raised IsADirectoryError; a
    file where a folder is expected (--split) gets one line too."""
    done = run_cli("evaluate", "ner-bilstm", "--data", data_dir / "conll2003")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    # one line: no traceback, and none of TensorFlow's start-up noise either
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert "is a folder; expected a NER data file" in done.stderr
    # and the other way round: a split asked of one file (it was "FILE/train.txt: no such file")
    done = run_cli("evaluate", "ner-bilstm", "--data", data_dir / "conll2003" / "valid.txt",
                   "--split", "report")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "valid.txt: a file where a dataset folder holding train.txt was expected" in done.stderr
    done = run_cli("train", "ner-bilstm", "--data", data_dir / "conll2003" / "valid.txt",
                   "--out", tmp_path / "run", "--epochs", "1")
    assert done.returncode == 2 and "a file of your own is read whole: zoo evaluate or zoo " \
        "fine-tune --data FILE" in done.stderr      # it said "without --split", which train lacks


def test_cli_unknown_option_names_the_ones_it_takes(data_dir, tmp_path):
    """`zoo predict forecast-lstm prices.csv --horizn 5` raised TypeError from Host.encode."""
    csv = tmp_path / "prices.csv"
    csv.write_text("date,close\n" + "\n".join(f"2020-01-{d:02d},{100 + d}" for d in range(1, 31)))
    done = run_cli("predict", "forecast-lstm", csv, "--horizn", "5")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "unknown option 'horizn'; it takes horizon" in done.stderr


def test_predict_option_of_the_wrong_type_is_refused(tiny):
    m = tiny("forecast-lstm")
    with pytest.raises(InputError, match="option horizon must be an integer; got 2.7"):
        m.predict(m.parity_examples()[:1], horizon=2.7)


def test_cli_evaluate_speech_split_test_is_one_clear_line(data_dir):
    """The issue's command: it printed digit accuracy 0.988 on the training recordings."""
    done = run_cli("evaluate", "speech-ctc", "--data", data_dir / "fsdd", "--split", "test", "--json")
    assert done.returncode == 2 and "Traceback" not in done.stderr and not done.stdout.strip()
    assert "unknown split 'test'" in done.stderr and "'valid' split here" in done.stderr
