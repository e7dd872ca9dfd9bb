"""One answer everywhere: the same input through the Python API, `zoo predict --json` and
`zoo serve` gives the same JSON (fields, key order, types and digits); each surface writes
it through one function, webio.to_json."""
import json
import time

import pytest

from zoo import serve, webio
from zoo.cli import main
from zoo.errors import InputError

PIECE = [[60, 64, 67], [62], []] * 3


def test_a_piece_is_the_same_json_from_the_api_the_cli_and_the_server(shipped, tmp_path, capsys):
    """The server wrote the floats hosts return as Python floats (music's nll_per_step,
    caption's attention lists) with float64 digits (11.586785316467285) where --json and
    batch-predict wrote the float32's (11.586785): its strict json.dumps skipped to_json."""
    from fastapi.testclient import TestClient

    options = {"steps": 4, "seed": 1}
    api = webio.to_json(shipped("music-lstm").predict([PIECE], **options))
    lines = tmp_path / "piece.jsonl"
    lines.write_text(json.dumps(PIECE) + "\n")
    capsys.readouterr()
    assert main(["predict", "music-lstm", "--input", str(lines), "--json",
                 "--steps", "4", "--seed", "1"]) == 0
    cli = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    with TestClient(serve.create_app(["music-lstm"])) as client:
        for _ in range(600):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        r = client.post("/v1/models/music-lstm:predict",
                        json={"instances": [PIECE], "parameters": options})
    assert r.status_code == 200, r.text
    served = r.json()["predictions"]
    # the same text, so the same keys in the same order, types and digits
    assert json.dumps(api) == json.dumps(cli) == json.dumps(served)
    assert isinstance(api[0]["nll_per_step"], float) and api[0]["nll_per_step"] == float(
        str(api[0]["nll_per_step"]))
    assert serve.dumps({"x": float(__import__("numpy").float32(11.586785))}) == '{"x": 11.586785}'


def test_echo_with_json_is_refused_as_the_server_refuses_it(tmp_path, capsys):
    """`zoo predict charlm-lstm PROMPT --json --echo true` wrote the text as it came and then
    no JSON at all; batch-predict's workers wrote every text to their consoles."""
    assert main(["predict", "charlm-lstm", "ROMEO:", "--json", "--steps", "3",
                 "--echo", "true"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("error: --echo streams the text") and \
        err.count("\n") == 1 and "with --json the answer holds the whole text" in err
    from zoo.batch_predict import check_predict_options

    with pytest.raises(InputError, match=r"^option 'echo' writes to the workers' consoles"):
        check_predict_options("charlm-lstm", {"steps": 3, "echo": True})
    check_predict_options("charlm-lstm", {"steps": 3, "echo": False})     # the default


def test_the_servers_metadata_offers_only_options_it_serves():
    """GET .../metadata listed charlm's echo ("true or false") beside the options, and a
    request that set it was a 400: what the server refuses is not offered."""
    from fastapi.testclient import TestClient

    with TestClient(serve.create_app(["charlm-lstm"])) as client:
        for _ in range(600):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        meta = client.get("/v1/models/charlm-lstm/metadata").json()["metadata"]
        assert "echo" not in meta["options"] and "echo" not in meta["option_bounds"]
        assert meta["options"]["steps"] == 100 and "seed" in meta["option_bounds"]
        r = client.post("/v1/models/charlm-lstm:predict",
                        json={"instances": ["ROMEO:"], "parameters": {"echo": True}})
        assert r.status_code == 400 and "'echo'" in r.json()["error"]


def test_batch_predict_refuses_an_option_value_predict_refuses_before_the_run(tmp_path, capsys):
    """horizon 0 (beam 0, steps -1, top_p 2) passed batch-predict's name-and-type check and
    every record became a dead letter, "0 predictions, N dead letters", as if the inputs were
    bad; zoo predict and the server refuse it at once. A bad record stays a dead letter."""
    from zoo.batch_predict import batch_predict

    export = tmp_path / "f.tflite"
    assert main(["export", "forecast-lstm", "--format", "tflite", "--out", str(export)]) == 0
    days = __import__("pandas").date_range("2024-01-01", periods=100)
    csv = tmp_path / "prices.csv"
    csv.write_text("date,close\n" + "\n".join(f"{d.date()},{100 + i % 7}" for i, d in
                                              enumerate(days)))
    bad = tmp_path / "short.csv"
    bad.write_text("date,close\n2024-01-01,1\n")
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"^horizon must be between 1 and 10 steps .*got 0 "
                                         r"\(predict options \{\"horizon\": 0\}; no record"):
        batch_predict(str(export), [str(bad), str(csv)], str(out), options={"horizon": 0})
    assert not list(out.glob("predictions-*"))
    m = batch_predict(str(export), [str(bad), str(csv)], str(out), options={"horizon": 2})
    assert (m["predictions"], m["dead_letters"]) == (1, 1)
