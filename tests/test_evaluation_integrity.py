"""No silently wrong number (issue 14): unknown split names, time steps taken from file
names, fine-tuning validated on its own training data, machine paths in cards, raw
tracebacks from the CLI. Each test here failed before the fix."""
import re
import subprocess
import sys

import numpy as np
import pytest

import zoo
import zoo.data
from zoo.errors import DataFormatError, InputError, UnknownModelError, ZooWarning

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


def test_fine_tune_on_too_little_data_warns_loudly(tiny, data_dir):
    m = tiny("ner-bilstm")
    few = zoo.data.read_split(m.entry, data_dir / "conll2003", "valid")[:6]
    with pytest.warns(ZooWarning, match="the epoch is chosen on the training data itself"):
        tuned = m.fine_tune(few, epochs=1, batch_size=8, monitor_gradients=False,
                            jit_compile=False)
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


# --- measuring on the user's own files (helper O): each failed before its fix ---------------

def test_ner_no_gold_entities_says_its_zeros_are_0_over_0(caplog):
    """Gold and predictions without any entity gave precision, recall and F1 0.0 with
    nothing said (and numpy's 'Mean of empty slice' warnings)."""
    import warnings

    from zoo_pipelines.ner.evaluate import span_scores

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = span_scores([["O", "O"]], [["O", "O"]])
    assert both["f1"] == 0 and "precision, recall and F1 are 0/0" in both["note"]
    spurious = span_scores([["O", "O"]], [["B-PER", "O"]])
    assert spurious["f1"] == 0 and spurious["note"] == ("no entity spans in the gold tags: "
                                                       "recall is 0/0, reported as 0")
    assert "note" not in span_scores([["B-PER"]], [["B-PER"]])


def test_ner_gold_type_the_model_does_not_know_is_named(shipped):
    """A PRODUCT span in the gold tags counted as missed with nothing said."""
    m = shipped("ner-bilstm")
    with pytest.warns(ZooWarning, match="entity types PRODUCT that ner-bilstm does not know"):
        got = m.evaluate([{"tokens": ["Peter", "bought", "an", "iPhone"],
                           "tags": ["B-PER", "O", "O", "B-PRODUCT"]}])
    assert got["unknown_types"] == ["PRODUCT"] and got["per_type"]["PRODUCT"]["support"] == 1


def test_speech_references_outside_the_alphabet_and_all_empty():
    """Words a digits model cannot write counted as errors unsaid; transcripts all empty
    scored WER 1.0 (0 reference words)."""
    from zoo_pipelines.speech.evaluate import check_references

    with pytest.warns(ZooWarning, match=r"outside speech-ctc's digits alphabet \(apples\); "
                                        r"they count as errors"):
        assert check_references([{"text": "three apples"}, {"text": "4 1"}], "digits",
                                "speech-ctc") == 1
    with pytest.warns(ZooWarning, match="their digits are left out of the reference"):
        assert check_references([{"text": "I have 42 cats"}], "chars", "m") == 1
    with pytest.raises(InputError, match="every transcript of the 2 example"):
        check_references([{"text": ""}, {"text": "  "}], "digits", "speech-ctc")


def _prices(tmp_path, name, close):
    import pandas as pd

    dates = pd.bdate_range("2020-01-01", periods=len(close))
    path = tmp_path / name
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": close}).to_csv(path, index=False)
    return path


def test_forecast_flat_prices_are_skipped_or_undefined_not_a_traceback(shipped, tmp_path):
    """A flat series raised ZeroDivisionError (its MASE scale 0, stood in by 1e-8); prices
    flat through the window printed directional accuracy nan with numpy warnings; `series`
    counted the skipped ones."""
    import warnings

    m = shipped("forecast-lstm")
    with pytest.raises(InputError, match="no series to evaluate"), pytest.warns(
            UserWarning, match="the price never changes in its first 113 days"):
        m.evaluate(_prices(tmp_path, "flat.csv", [50.0] * 160), garch=False)
    moving = list(100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.01, 110))))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = m.evaluate(_prices(tmp_path, "then_flat.csv", moving + [120.0] * 50), garch=False)
    assert got["naive_mase_h1"] == 0 and got["mase_ratio_vs_naive_h1"] is None
    assert got["directional_accuracy"] is None and got["series"] == 1
    assert got["skipped_series"] == 0 and got["pinball_ratio_vs_naive"] > 0


def test_charlm_characters_outside_its_alphabet_are_named(shipped):
    m = shipped("charlm-lstm")
    with pytest.warns(ZooWarning, match=re.escape(
            "3 of 8 characters are outside charlm-lstm's alphabet ('é' '日' '本')")):
        got = m.evaluate([{"text": "café 日本"}], baseline=False)
    assert got["unknown_chars"] == 3


@pytest.mark.parametrize("name, where", [("speech-ctc", "fsdd"),
                                         ("caption-cnn-lstm", "captioning/emoji/captions.tsv"),
                                         ("charlm-lstm", "text/tinyshakespeare")])
def test_evaluate_refuses_a_whole_dataset_of_several_splits(shipped, data_dir, name, where):
    """`zoo evaluate speech-ctc --data $ZOO_DATA/fsdd` scored all 2,500 recordings, 2,000 of
    them its training split, as "fsdd"; the emoji captions and Shakespeare likewise."""
    with pytest.raises(InputError, match="is a dataset of \\$ZOO_DATA holding the splits "
                                         "train, valid and report.*expected --split valid"):
        shipped(name).evaluate(data_dir / where)


def test_a_users_own_folder_in_the_dataset_layout_is_read_whole(tmp_path):
    from zoo.model import refuse_whole_dataset

    (tmp_path / "3_me_0.wav").write_bytes(b"")
    assert refuse_whole_dataset(zoo.registry.get("speech-ctc"), tmp_path) is None


def test_cli_evaluate_prints_notes_and_undefined_numbers(tmp_path):
    """The plain output showed only numbers: F1 0.0 without its note, a metric that is
    None (JSON null) left out, and no line saying which data was measured."""
    conll = tmp_path / "none.conll"
    conll.write_text("the O\ncat O\n")
    done = run_cli("evaluate", "ner-bilstm", "--data", conll)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "f1           0.0000" in lines and any(ln.startswith("note ") for ln in lines)
    assert any(ln.startswith("data ") and "none.conll" in ln for ln in lines)
    done = run_cli("evaluate", "ner-bilstm", "--data", conll, "--json")
    import json

    assert json.loads(done.stdout.splitlines()[-1])["note"].endswith("reported as 0")


@pytest.mark.parametrize("summary", ["", "!!!", "Привет мир"])
def test_summary_reference_without_a_word_rouge_counts_is_refused(shipped, summary):
    """Given in memory, an empty, punctuation-only or non-Latin reference scored ROUGE 0.0
    for the model and both baselines, with nothing said."""
    m = shipped("summarize-attn")
    with pytest.raises(InputError, match="example 1: the reference summary .* has no word "
                                         "ROUGE counts"):
        m.evaluate([{"document": "A text editor adds plugins.", "summary": "Editor adds plugins"},
                    {"document": "A text editor adds plugins.", "summary": summary}])


@pytest.mark.parametrize("gold", [["I-PER", "I-PER", "O", "I-LOC"],       # IOB1
                                  ["B-PER", "E-PER", "O", "S-LOC"]])      # BIOES
def test_iob1_or_bioes_gold_in_memory_is_read_as_iob2(shipped, gold):
    """Strict IOB2 dropped every gold span that starts with I- (or is S-/E-): such gold given
    in memory (the file readers convert it) scored F1 0.0 with no note for a model that
    found every entity."""
    from seqeval.metrics import f1_score

    from zoo_pipelines.ner.evaluate import span_scores

    pred = ["B-PER", "I-PER", "O", "B-LOC"]
    scores = span_scores([gold], [pred])
    assert scores["f1"] == 1.0 and "note" not in scores and set(scores["per_type"]) == {"PER", "LOC"}
    assert scores["f1"] == f1_score([["B-PER", "I-PER", "O", "B-LOC"]], [pred])   # seqeval's own
    tokens = ["Peter", "Blackburn", "visited", "Paris", "."]
    assert shipped("ner-bilstm").evaluate([{"tokens": tokens, "tags": gold + ["O"]}])["f1"] == 1.0


def test_forecast_last_below_horizon_and_one_block_bootstrap(data_dir):
    """`last` below `horizon` on series without eval_from: the longest horizon had no rows
    and pooling them was a raw ValueError; with one block of origins the bootstrap drew
    the same block every time and stated a standard error of 0.0 (None now)."""
    from zoo_pipelines.forecasting.evaluate import bootstrap_se

    num, den = np.arange(1.0, 9.0), np.ones(8)
    assert bootstrap_se(num, den, np.zeros(8, int)) is None
    assert bootstrap_se(num, np.full(8, np.nan), np.arange(8) // 4) is None
    assert bootstrap_se(num, den, np.arange(8) // 4) > 0

    m = zoo.load("forecast-lstm")
    series = [{k: v for k, v in s.items() if k != "eval_from"}
              for s in zoo.data.read_split(m.entry, data_dir / "stocks", "report")[:1]]
    r = m.evaluate(series, last=3, horizon=5, garch=False)
    assert r["mase_h1"] is not None and r["mase_h3"] is None and r["forecasts"] == 2 + 1
    assert r["pinball_ratio_vs_naive_se"] is None


def test_one_recording_makes_no_connected_digit_string(shipped, data_dir, tmp_path):
    """A folder of one FSDD recording reported connected_wer over one "string" of one digit
    (single-digit WER under the name of connected strings of 2-7 digits)."""
    import shutil

    wav = sorted((data_dir / "fsdd" / "recordings").glob("*.wav"))[0]
    shutil.copy(wav, tmp_path / wav.name)
    from zoo_pipelines.speech.data import read

    r = shipped("speech-ctc").evaluate(read(tmp_path))
    assert "connected_wer" not in r and "at least 2 recordings" in r["note"]
    assert r["utterances"] == 1 and r["digit_accuracy"] in (0.0, 1.0)


def test_frame_accuracy_of_silence_predicted_as_silence_is_undefined():
    """TP + FP + FN = 0 (no note anywhere) read as frame accuracy 0.0."""
    from zoo_pipelines.music.evaluate import frame_accuracy

    assert frame_accuracy(np.zeros((4, 88)), np.zeros((4, 88))) is None
    truth, pred = np.eye(4, 88), np.eye(4, 88)
    pred[0, 0], pred[1, 5] = 0, 1              # one FN and one FP: 3 / (3 + 2)
    assert frame_accuracy(truth, pred) == pytest.approx(0.6)
