"""What a user reads: every warning is a zoo.ZooWarning (the README's one filter silences them
all) shown at the user's own line, and a bad input's error says what was expected."""
import ast
import json
import os
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.errors import BundleError, DataFormatError, InputError, ZooError

ROOT = Path(__file__).resolve().parent.parent


def _warn_calls():
    for path in sorted([*ROOT.glob("zoo/**/*.py"), *ROOT.glob("zoo_pipelines/**/*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("warnings.warn", "warn"):
                yield f"{path.relative_to(ROOT)}:{node.lineno}", node


def test_every_warning_is_a_zoo_warning():
    """A warnings.warn without category=ZooWarning is a UserWarning that
    `-W ignore::zoo.ZooWarning` does not silence (batch-predict's skipped pipes were one);
    zoo.errors.warn is the one call, and shows the warning at the user's line."""
    odd = [where for where, call in _warn_calls()
           if ast.unparse(call.func) == "warnings.warn" and where.split(":")[0] != "zoo/errors.py"]
    assert not odd, f"warnings.warn outside zoo.errors.warn (use zoo.errors.warn): {odd}"
    [(where, call)] = [(w, c) for w, c in _warn_calls() if ast.unparse(c.func) == "warnings.warn"]
    assert ast.unparse(call.args[1]) == "ZooWarning", where


def _forecast_split():
    from zoo_pipelines.forecasting.host import Host

    host = Host({"window": 4, "horizon": 2, "quantiles": [0.1, 0.5, 0.9]})
    host.encode([{"name": "X", "dates": [f"2024-01-0{d}" for d in range(1, 7)],
                  "close": [100, 101, 100, 50.5, 51, 50]}])


def _ner_html():
    from zoo_pipelines.ner.host import Host

    Host({"words": {}, "chars": {}, "labels": ["O"], "max_word_chars": 4, "buckets": [8],
          "crf": None}).encode(["AT&amp;T said"])


def _speech_clipped():
    from zoo_pipelines.speech.audio import load_waveform

    t = np.arange(4000) / 8000
    load_waveform((np.clip(3 * np.sin(2 * np.pi * 440 * t), -1, 1).astype(np.float32), 8000), 8000)


def _forecast_repeated_dates(tmp_path):
    from zoo_pipelines.forecasting import data

    rows = "".join(f"2020-01-{d:02d},{10 + d}\n" for d in range(1, 6))
    (tmp_path / "prices.csv").write_text("date,close\n" + rows + rows)
    data.read(tmp_path / "prices.csv")


def _batch_fifo(tmp_path):
    from zoo.batch_predict import match_inputs

    (tmp_path / "a.txt").write_text("EU rejects German call .\n")
    os.mkfifo(tmp_path / "pipe.txt")
    match_inputs([str(tmp_path / "*")])


class _TagsNothing:
    """A NER model that predicts no span and knows only PER."""
    entry = type("Entry", (), {"name": "tags-nothing"})

    def predict(self, tokens, batch_size):
        return [{"tags": ["O"] * len(t)} for t in tokens]

    def host(self):
        return type("Host", (), {"labels": ["O", "B-PER", "I-PER"]})


def _ner_scores_nothing():
    """Both were log lines (not silenced by the filter, not caught by catch_warnings)."""
    from zoo_pipelines.ner.evaluate import evaluate

    evaluate(_TagsNothing(), [{"tokens": ["Acme", "Inc"], "tags": ["B-ORG", "I-ORG"]}])


def _uneven_batch():
    from unittest import mock

    from zoo import distribute

    with mock.patch.object(distribute, "current",
                           lambda: type("S", (), {"num_replicas_in_sync": 3})):
        distribute.check_batch(32)


def _midi_unreadable(tmp_path):
    from zoo_pipelines.music.data import read
    from zoo_pipelines.music.midi import write_midi

    write_midi(np.eye(4, 88, 39, dtype=np.uint8), tmp_path / "good.mid")
    (tmp_path / "bad.mid").write_bytes(b"not midi")
    read(tmp_path)


def _images_unreadable(tmp_path):
    from PIL import Image

    from zoo_pipelines.captioning.data import read

    Image.new("RGB", (8, 8)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_text("not an image")
    (tmp_path / "captions.csv").write_text("image,caption\na.png,black\nb.png,text\n")
    read(tmp_path)


def _speech_past_the_largest_bucket(tmp_path):
    """The speech warnings below were log lines, one an utterance cut, every epoch."""
    import soundfile as sf

    from zoo_pipelines.speech import data

    sf.write(tmp_path / "long.wav", np.sin(np.arange(24000) * 0.3) * 0.3, 8000)
    long = [{"audio": str(tmp_path / "long.wav"), "text": "4"}]
    prep = {**data.fit_preprocessor(long)[0], "buckets": [100, 200]}  # a bundle's, fine-tuned
    data.make_dataset(long, prep)


def _speech_too_few_to_hold_out():
    from zoo.data import data_root
    from zoo_pipelines.speech import data

    data.read_split(data_root() / "ljspeech_sample", "valid")


@pytest.mark.parametrize("case", [_forecast_split, _ner_html, _speech_clipped,
                                  _forecast_repeated_dates, _batch_fifo, _ner_scores_nothing,
                                  _uneven_batch, _midi_unreadable, _images_unreadable,
                                  _speech_past_the_largest_bucket, _speech_too_few_to_hold_out])
def test_the_readme_filter_silences_each_warning_and_it_points_at_the_callers_line(
        case, tmp_path):
    args = (tmp_path,) if case.__code__.co_argcount else ()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        case(*args)
    mine = [w for w in caught if issubclass(w.category, zoo.ZooWarning)]
    assert mine and all(w.category is zoo.ZooWarning for w in mine), caught
    # the line in this file that called into the zoo, as a notebook shows it (a fixed
    # stacklevel pointed into zoo/ on one path or another)
    assert {w.filename for w in mine} == {__file__}, [(w.filename, w.lineno) for w in mine]
    (tmp_path / "again").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=zoo.ZooWarning)
        case(*((tmp_path / "again",) if args else ()))


def test_a_training_run_says_each_warning_once():
    """A warning about the validation data (its gold types the model does not know, no
    predicted span) was said again at every epoch's scoring."""
    from zoo.errors import said_once
    from zoo_pipelines.ner.evaluate import evaluate

    gold = [{"tokens": ["Acme", "Inc"], "tags": ["B-ORG", "I-ORG"]}]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with said_once():
            for epoch in range(3):
                with said_once():          # nested (fit inside fine_tune): still the run's
                    evaluate(_TagsNothing(), gold)
        evaluate(_TagsNothing(), gold)     # a run of its own says them again
    said = [str(w.message) for w in caught]
    assert said == 2 * ["the gold tags hold entity types ORG that tags-nothing does not know "
                        "(it knows PER); their 1 span(s) count as missed",
                        "no predicted entity spans: precision is 0/0, reported as 0"], said


@pytest.mark.parametrize("call, start, expected", [
    (lambda: __import__("zoo_pipelines.speech.audio", fromlist=["x"]).load_waveform(
        (np.zeros(0, np.float32), 8000), 8000), "input: empty audio", "expected"),
    (lambda: __import__("zoo_pipelines.speech.audio", fromlist=["x"]).load_waveform(
        (np.full(800, np.nan, np.float32), 8000), 8000), "NaN or infinite", "expected finite"),
    (lambda: __import__("zoo_pipelines.captioning.host", fromlist=["x"]).load_image(b"", 64),
     "is empty (0 bytes)", "expected an encoded image"),
    (lambda: __import__("zoo_pipelines.captioning.host", fromlist=["x"]).load_image(
        "data:image/png;base64,@@@", 64), "not valid base64", "expected 'data:image/"),
    (lambda: __import__("zoo_pipelines.forecasting.series", fromlist=["x"]).check_series(
        0, {"name": "X", "dates": ["2024-01-01"], "close": [1.0, 2.0]}, 1),
     "1 dates but 2 prices", "expected one date per price"),
    (lambda: __import__("zoo_pipelines.music.data", fromlist=["x"]).read("/nonexistent/x.mid"),
     "no such file or folder", "expected a MIDI file"),
])
def test_bad_input_errors_say_what_was_expected(call, start, expected):
    with pytest.raises((InputError, DataFormatError)) as e:
        call()
    assert start in str(e.value) and expected in str(e.value) and "\n" not in str(e.value)


def _bad_coco(tmp_path):
    (tmp_path / "captions.json").write_text(json.dumps(
        {"images": [{"id": 1, "file_name": "a.png"}],
         "annotations": [{"image_id": 7, "caption": "a cat"}]}))
    return __import__("zoo_pipelines.captioning.readers", fromlist=["x"]).read_captions(
        tmp_path / "captions.json", None)


def _speech_manifest(tmp_path):
    (tmp_path / "m.csv").write_text("path,text\nwavs/0.wav,zero\n")
    return __import__("zoo_pipelines.speech.data", fromlist=["x"]).read_manifest(tmp_path / "m.csv")


def _summaries_csv(tmp_path):
    (tmp_path / "pairs.csv").write_text("document,summary\nthe text,a summary,one more\n")
    return __import__("zoo_pipelines.summarization.data", fromlist=["x"]).read(tmp_path / "pairs.csv")


def _no_midi(tmp_path):
    (tmp_path / "notes.txt").write_text("not music")
    return __import__("zoo_pipelines.music.data", fromlist=["x"]).read_midi_folder(tmp_path)


def _bundle_json(tmp_path):
    (tmp_path / "metrics.json").write_text('{"f1": 0.9,}')
    return __import__("zoo.bundle", fromlist=["x"]).read_json(tmp_path / "metrics.json")


def _latin1_lines(tmp_path):
    (tmp_path / "in.txt").write_bytes("Café crème\n".encode("latin-1"))
    return list(__import__("zoo.cli", fromlist=["x"]).example_lines(str(tmp_path / "in.txt")))


def _no_match(tmp_path):
    return __import__("zoo.batch_predict", fromlist=["x"]).match_inputs([str(tmp_path / "*.csv")])


@pytest.mark.parametrize("call, start, expected", [
    (_bad_coco, "refers to image_id 7, which is not in 'images'", "expected the id"),
    (_speech_manifest, "1 audio files listed but missing", "expected paths relative to"),
    (_summaries_csv, "pairs.csv:2: more fields than the header", "expected 2 (quote a field"),
    (_no_midi, "no MIDI files in this folder", "expected *.mid or *.midi files"),
    (_bundle_json, "metrics.json: not valid JSON", "expected the file ZooModel.save() wrote"),
    (_latin1_lines, "in.txt: not UTF-8 text", "expected UTF-8"),
    (_no_match, "*.csv: no file matches it", "expected a file or a glob"),
    (lambda _: __import__("zoo_pipelines.music.host", fromlist=["x"]).Host({"state": {}}).piece(
        0, [[60], [5]]), "pitch 5 is not on the piano", "expected a MIDI pitch 21..108"),
    (lambda _: __import__("zoo_pipelines.captioning.data", fromlist=["x"]).in_styles(
        [{"image": "images/google/1.png"}, {"image": "images/twitter/2.png"}], "googel"),
     "styles ['googel']: no image in such a folder", "expected one of ['google', 'twitter']"),
    (lambda _: __import__("zoo_pipelines.ner.host", fromlist=["x"]).Host.plot(None, [], "a.png"),
     "draws no picture of its predictions", "expected a model whose host draws one"),
    (lambda _: __import__("zoo.webio", fromlist=["x"]).raw_input(0, {"b64": "", "array": []}, None),
     "input 0: expected a file as", "got other keys too ('array')"),
])
def test_more_bad_inputs_say_what_was_expected(call, start, expected, tmp_path):
    """Each of these said only what was wrong (a missing file, a stray field, a wrong pitch)."""
    with pytest.raises((InputError, DataFormatError, BundleError, ZooError)) as e:
        call(tmp_path)
    message = str(e.value)
    assert start in message and expected in message and "\n" not in message, message


def test_plot_for_a_model_that_draws_none_names_those_that_do(capsys, tmp_path):
    from zoo.cli import main

    assert main(["predict", "ner-bilstm", "EU rejects it", "--plot", str(tmp_path / "a.png")]) == 2
    err = capsys.readouterr().err
    assert "ner-bilstm has no plot for its predictions; expected one of the models --plot " \
           "draws for: caption-cnn-lstm, forecast-lstm, music-lstm" in err, err


# A raise of a zoo error whose own words hold none of these says only what is wrong. A
# message need not use the word "expected": the valid choices, a range, a command or a fix
# ("give", "use", "delete ...") tell the user what to do as well.
EXPECTS = re.compile(r"expect|one of|\bmust\b|\bneeds?\b|\btakes\b|\bat (least|most)\b|e\.g\.|"
                     r"\b(give|pass|use|set|run|pick|choose|install|upgrade|delete|unpack|send|"
                     r"start|free|wait|drop|name|re-export|re-run|train|pull|export)\b", re.I)
# Not bad input at all: an application's broken contract (its author reads zoo/contract.py),
# a request past its deadline, a lost worker
NOT_INPUT = {"ContractError", "Cancelled", "WorkerLost"}
# (file, a piece of the message's source): why its own words need not say what was expected
EXEMPT = {
    ("zoo/batch_predict.py", "str(e)[:400]"): "Beam's own message names the runners it knows",
    ("zoo/batch_predict.py", "e.strip() for e in errors"): "Beam's validator names the option",
    ("zoo/batch_predict.py", "cannot list it"): "the OS's reason (permissions) is the fix",
    ("zoo/bundle.py", "cannot read JSON"): "the OS's reason (permissions) is the fix",
    ("zoo/bundle.py", "cannot read the model card"): "the OS's reason (permissions) is the fix",
    ("zoo/bundle.py", "is not a registered model{newer}"): "`newer` says expected/upgrade",
    ("zoo/bundle.py", "why_changed(path, expected)"): "why_changed() says how to fix it",
    ("zoo/bundle.py", "{directory / 'preprocessor.json'}: {e}"): "wraps check_buckets' message",
    ("zoo/cli.py", "not valid JSON ({e}); a line"): "states the rule a line is read by",
    ("zoo/data.py", "{p}: {not_found(p, what)}"): "a missing path: the path is what to fix",
    ("zoo/export.py", "conversion with builtin ops only failed"): "the converter's message",
    ("zoo/export.py", "ONNX conversion failed"): "the converter's message",
    ("zoo/model.py", "not usable by"): "wraps the host's own error on its preprocessor",
    ("zoo/registry.py", "unknown model"): "lists the registered models (and the closest)",
    ("zoo/runtime.py", "see help(m.{name})"): "wraps the signature's error, points to help()",
    ("zoo/training.py", "{advice}"): "`advice` says what to do",
    ("zoo/training.py", "make no network"): "wraps Keras' own message on the bad value",
    ("zoo/training.py", "PER_FIT[cls.__name__]"): "PER_FIT names the argument to use",
    ("zoo_pipelines/captioning/host.py", "{what}: {e}"): "wraps load_image's message",
    ("zoo_pipelines/captioning/readers.py", "not found beside the captions file"):
        "names each folder it looked in",
    ("zoo_pipelines/music/data.py", "{path}: {e}"): "wraps the MIDI reader's message",
    ("zoo_pipelines/music/evaluate.py", "str(e).replace"): "renames a host message's input",
    ("zoo_pipelines/music/host.py", "input {i}: {"): "wraps input_file's or the MIDI reader's",
    ("zoo_pipelines/music/host.py", "str(e).replace"): "renames the MIDI reader's file",
    ("zoo_pipelines/speech/audio.py", "{what}: {e}"): "wraps the audio reader's message",
    ("zoo_pipelines/speech/data.py", "{hint}"): "`hint` names the alphabet to use",
    ("zoo_pipelines/speech/data.py", "str(e)"): "re-raises load_waveform's message",
    ("zoo_pipelines/speech/synth.py", "INSTALL['festival']"): "INSTALL is the install command",
    ("zoo_pipelines/summarization/host.py", "{what}: {e}"): "wraps the text check's message",
}


def _zoo_raises():
    for path in sorted([*ROOT.glob("zoo/**/*.py"), *ROOT.glob("zoo_pipelines/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
                name = ast.unparse(node.exc.func).split(".")[-1]
                # a MidiError's message is a DataFormatError's or InputError's, word for word
                if name in zoo_error_names() | {"MidiError"} and name not in NOT_INPUT:
                    yield str(path.relative_to(ROOT)), node.lineno, node.exc.args[0]


def zoo_error_names() -> set[str]:
    import zoo.cancel, zoo.contract, zoo.distribute, zoo.errors, zoo.runtime  # noqa: E401,F401

    def below(cls):
        return {cls.__name__}.union(*(below(c) for c in cls.__subclasses__()))
    return below(ZooError)


def test_each_error_raised_says_what_was_expected():
    """A new raise of a zoo error says what was wrong and what was expected (the choices, the
    range, the command that fixes it), or is exempt above with the reason."""
    bare, used = [], set()
    for path, line, message in _zoo_raises():
        words = " ".join(n.value for n in ast.walk(message)
                         if isinstance(n, ast.Constant) and isinstance(n.value, str))
        if EXPECTS.search(words):
            continue
        source = ast.unparse(message)
        exempt = [k for k in EXEMPT if k[0] == path and k[1] in source]
        used.update(exempt)
        if not exempt:
            bare.append(f"{path}:{line}: {source[:120]}")
    assert not bare, "errors that do not say what was expected:\n" + "\n".join(bare)
    assert not set(EXEMPT) - used, f"stale exemptions: {set(EXEMPT) - used}"
