"""What the zoo answers in JSON (`zoo predict --json`, `zoo evaluate --json`, `zoo serve`,
batch-predict's lines) is strict JSON, with the same values and digits from every path:
no NaN/Infinity tokens (JavaScript's JSON.parse, Go and jq refuse them), no numpy types,
and a float32's value written with a float32's digits (-8.270916, not -8.270915985107422)."""
import json
import math

import numpy as np
import pytest

from zoo import serve, webio
from zoo.cli import main


def strict(text: str):
    """`text` parsed as other languages' JSON parsers read it: NaN and Infinity refused."""
    def refuse(token):
        raise ValueError(f"{token} is not JSON")
    return json.loads(text, parse_constant=refuse)


def floats(x):
    if isinstance(x, float):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from floats(v)
    elif isinstance(x, list):
        for v in x:
            yield from floats(v)


def float32_noise(x) -> list:
    """The floats written with more digits than the float32 they hold needs."""
    return [f for f in floats(x) if float(np.float32(f)) == f and float(str(np.float32(f))) != f]


def test_to_json_writes_float32_digits_and_null_for_nan():
    """charlm's log_likelihood was -8.270915985107422, music's nll 5.515031814575195, each
    caption attention weight 0.004778607748448849: a float32's error digits, in every
    answer. A float64 number (a metric's 0.8116000000000001) keeps its own digits."""
    answer = {"ll": float(np.float32(-8.270916)), "f1": 0.8116000000000001,
              "attention": np.array([[0.004778608, np.nan]], np.float32),
              "n": np.int64(3), "pair": (1, np.float32(0.1)), "big": 1e300, "inf": -math.inf}
    got = webio.to_json(answer)
    assert got == {"ll": -8.270916, "f1": 0.8116000000000001, "attention": [[0.004778608, None]],
                   "n": 3, "pair": [1, 0.1], "big": 1e300, "inf": None}
    assert strict(json.dumps(got, allow_nan=False)) == got


def test_the_servers_json_has_the_same_digits_as_predict_json():
    """serve's strict path passes numpy arrays through jsonable alone: float32 arrays get
    the digits `zoo predict --json` writes, and a NaN among them still becomes null."""
    answer = {"predictions": [{"attention": np.array([0.004778607748448849, 0.1], np.float32),
                               "score": np.float32(-0.277996385055271)}]}
    assert strict(serve.dumps(answer)) == webio.to_json(answer)
    assert strict(serve.dumps(answer))["predictions"][0]["attention"] == [0.0047786077, 0.1]
    answer["predictions"][0]["attention"][1] = np.nan
    assert strict(serve.dumps(answer)) == webio.to_json(answer)


def test_predict_json_of_charlm_is_strict_with_float32_digits(capsys):
    assert main(["predict", "charlm-lstm", "--json", "a", "--steps", "8"]) == 0
    result = strict(capsys.readouterr().out.strip().splitlines()[-1])
    assert isinstance(result["log_likelihood"], float) and isinstance(result["chars"], int)
    assert not float32_noise(result), result


@pytest.mark.parametrize("name, inputs", [
    ("music-lstm", [[[60]], [[]]]),                 # one note; one silent step
    ("summarize-attn", ["word"]),                   # a one-word document
])
def test_shipped_answers_are_strict_json_without_float32_noise(shipped, name, inputs):
    answers = webio.to_json(shipped(name).predict(inputs, **(
        {"steps": 2} if name == "music-lstm" else {})))
    assert len(answers) == len(inputs)
    text = json.dumps(answers, allow_nan=False)
    assert strict(text) == answers and not float32_noise(answers), answers


def test_every_shipped_bundles_json_files_are_strict_json():
    """Three metrics.json held a bare NaN (a SavedModel export's max_abs_diff, which only
    task outputs measure): it is None now, and write_card writes any undefined number as
    null."""
    from pathlib import Path

    files = sorted(Path(__file__).resolve().parent.parent.glob("zoo_pipelines/saved_models/*/*.json"))
    assert len(files) >= 30
    for path in files:
        strict(path.read_text())
