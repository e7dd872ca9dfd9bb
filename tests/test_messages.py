"""What a user reads: every warning is a zoo.ZooWarning (the README's one filter silences them
all) shown at the user's own line, and a bad input's error says what was expected."""
import ast
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.errors import DataFormatError, InputError

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


@pytest.mark.parametrize("case", [_forecast_split, _ner_html, _speech_clipped,
                                  _forecast_repeated_dates, _batch_fifo])
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
