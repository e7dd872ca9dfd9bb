"""One answer everywhere: the same input through the Python API, `zoo predict --json` and
`zoo serve` gives the same JSON (fields, key order, types and digits); each surface writes
it through one function, webio.to_json."""
import contextlib
import json
import time

import pytest

from zoo import serve, webio
from zoo.cli import main
from zoo.errors import InputError

PIECE = [[60, 64, 67], [62], []] * 3


@contextlib.contextmanager
def _ready_client(name: str):
    """A TestClient of a server of `name`, once /readyz says its model is loaded."""
    from fastapi.testclient import TestClient

    with TestClient(serve.create_app([name])) as client:
        for _ in range(600):
            if client.get("/readyz").status_code == 200:
                break
            time.sleep(0.1)
        yield client


def test_a_piece_is_the_same_json_from_the_api_the_cli_and_the_server(shipped, tmp_path, capsys):
    """The server wrote the floats hosts return as Python floats (music's nll_per_step,
    caption's attention lists) with float64 digits (11.586785316467285) where --json and
    batch-predict wrote the float32's (11.586785): its strict json.dumps skipped to_json."""
    options = {"steps": 4, "seed": 1}
    api = webio.to_json(shipped("music-lstm").predict([PIECE], **options))
    lines = tmp_path / "piece.jsonl"
    lines.write_text(json.dumps(PIECE) + "\n")
    capsys.readouterr()
    assert main(["predict", "music-lstm", "--input", str(lines), "--json",
                 "--steps", "4", "--seed", "1"]) == 0
    cli = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    with _ready_client("music-lstm") as client:
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
    with _ready_client("charlm-lstm") as client:
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


# ---- one meaning of a JSON instance, wherever it comes in ------------------------------------
def _closes(data_dir, n: int = 100):
    import csv
    import gzip
    import itertools

    with gzip.open(data_dir / "stocks" / "sp500_5yr_train.csv.gz", "rt") as f:
        rows = list(itertools.islice((r for r in csv.DictReader(f) if r["Name"] == "AAPL"), n))
    return [r["date"] for r in rows], [float(r["close"]) for r in rows]


def _cli_lines(monkeypatch, shipped, capsys, name, path, *options):
    """`zoo predict NAME --input PATH --json OPTIONS`'s answers (the model loaded once)."""
    import zoo

    model = shipped(name)
    monkeypatch.setattr(zoo, "load", lambda _: model)
    capsys.readouterr()
    assert main(["predict", name, "--input", str(path), "--json", *options]) == 0
    return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]


def _handler_answers(shipped, name, path, options):
    """batch-predict's answers for the lines of `path` (its handler, over the Keras model)."""
    from types import SimpleNamespace

    from zoo.batch_predict import RuntimeModelHandler, read_records

    m = shipped(name)
    records = [((r[0], r[1], r[2]), r[3]) for r in read_records((0, 0, str(path), True))]
    out = RuntimeModelHandler("unused", options).run_inference(
        records, SimpleNamespace(host=m.host(), predict=m.predict))
    return [pr.inference for _, pr in out]


def test_a_price_series_in_json_is_one_forecast_from_the_cli_batch_predict_and_server(
        data_dir, shipped, monkeypatch, tmp_path, capsys):
    """`zoo predict forecast-lstm --input x.jsonl` passed its lines to predict as they
    were: {"csv": ...} and {"rows": ...}, which the server takes, were refused ("expected a
    CSV path, a DataFrame or a series dict"); batch-predict's .jsonl likewise."""
    dates, close = _closes(data_dir)
    forms = [{"csv": "date,close\n" + "".join(f"{d},{c}\n" for d, c in zip(dates, close))},
             {"rows": [{"date": d, "close": c} for d, c in zip(dates, close)]},
             {"dates": dates, "close": close}]
    lines = tmp_path / "prices.jsonl"
    lines.write_text("".join(json.dumps(f) + "\n" for f in forms))
    cli = _cli_lines(monkeypatch, shipped, capsys, "forecast-lstm", lines, "--horizon", "2")
    batch = _handler_answers(shipped, "forecast-lstm", lines, {"horizon": 2})
    api = webio.to_json(shipped("forecast-lstm").predict([forms[2]], horizon=2))
    with _ready_client("forecast-lstm") as client:
        r = client.post("/v1/models/forecast-lstm:predict",
                        json={"instances": forms, "parameters": {"horizon": 2}})
    assert r.status_code == 200, r.text
    served = r.json()["predictions"]
    # an unnamed series is named by its line in a file, its place in a request or a call
    assert [a[0]["series"] for a in cli] == ["series 1", "series 2", "series 3"]
    assert [a[1][0]["series"] for a in batch] == ["series 1", "series 2", "series 3"]
    assert [a[0]["series"] for a in served] == ["series 0", "series 1", "series 2"]
    assert api[0][0]["series"] == "series 0"

    def numbers(answer):
        return [{k: v for k, v in row.items() if k != "series"} for row in answer]

    assert all(outcome == "ok" for outcome, _ in batch)
    expected = numbers(api[0])
    assert all(numbers(a) == expected for a in cli + [b for _, b in batch] + served)
    lines.write_text(lines.read_text() + '{"csv": 5}\n')      # a dead letter, keyed by its line
    assert _handler_answers(shipped, "forecast-lstm", lines, {"horizon": 2})[3] == \
        ("error", '"csv" must be the CSV text; got int')


def test_lines_past_the_first_chunk_are_named_by_their_line(data_dir, shipped, monkeypatch,
                                                            tmp_path, capsys):
    """`zoo predict --input` predicts 64 lines a call: lines 1 and 65 were both "series 0",
    and line 65's warnings and errors said "input 0"."""
    dates, close = _closes(data_dir, 400)
    weekly = {"dates": dates[::5], "close": close[::5]}
    daily = {"dates": dates[:100], "close": close[:100]}
    lines = tmp_path / "many.jsonl"
    lines.write_text("".join(json.dumps(daily) + "\n" for _ in range(64)) + "\n"
                     + json.dumps(weekly) + "\n")
    with pytest.warns(UserWarning) as heard:
        cli = _cli_lines(monkeypatch, shipped, capsys, "forecast-lstm", lines, "--horizon", "1")
    assert [a[0]["series"] for a in cli] == [f"series {n}" for n in range(1, 65)] + ["series 66"]
    assert any(str(w.message).startswith(f"{lines}:66 (series 66): the dates are weekly")
               for w in heard), [str(w.message) for w in heard]
    short = {"dates": dates[:3], "close": close[:3]}
    lines.write_text(lines.read_text() + json.dumps(short) + "\n")
    assert main(["predict", "forecast-lstm", "--input", str(lines), "--json"]) == 2
    assert capsys.readouterr().err.startswith(f"error: {lines}:67 (series 67): 3 prices of history")


@pytest.mark.parametrize("name, forms, options", [
    ("speech-ctc", ["b64", "data"], {}),
    ("caption-cnn-lstm", ["b64", "data"], {}),
    ("music-lstm", ["b64", "null"], {"steps": 3, "seed": 1}),
    ("ner-bilstm", ["tokens", "text"], {}),
    ("summarize-attn", ["text"], {}),
])
def test_every_apps_json_line_means_what_the_server_reads(data_dir, shipped, monkeypatch, tmp_path,
                                                          capsys, name, forms, options):
    """A JSON line of `zoo predict --input` and of batch-predict means what the same instance
    means to `zoo serve` (the host's from_json, {"b64": ...} decoded): a {"b64": ...} audio,
    image or MIDI file was refused as a dict, `null` (music's silence) read as a file name."""
    import base64

    files = {"speech-ctc": data_dir / "fsdd" / "recordings" / "0_george_0.wav",
             "caption-cnn-lstm": sorted((data_dir / "captioning" / "flickr8k_mini" / "images")
                                        .iterdir())[0],
             "music-lstm": tmp_path / "piece.mid"}
    if name == "music-lstm":
        from zoo_pipelines.music.midi import write_midi

        host = shipped(name).host()
        write_midi(host.piece(0, PIECE), files[name], host.spq)
    text = "EU rejects German call to boycott British lamb ."
    data = base64.b64encode(files[name].read_bytes()).decode() if name in files else None
    instance = {"b64": {"b64": data}, "data": f"data:application/octet-stream;base64,{data}",
                "null": None, "tokens": text.split(), "text": text}
    lines = tmp_path / "in.jsonl"
    lines.write_text("".join(json.dumps(instance[f]) + "\n" for f in forms))
    m = shipped(name)
    served = webio.to_json(m.predict([webio.raw_input(i, instance[f], m.host())
                                      for i, f in enumerate(forms)], **options))
    cli = _cli_lines(monkeypatch, shipped, capsys, name, lines,
                     *[x for k, v in options.items() for x in (f"--{k}", str(v))])
    batch = _handler_answers(shipped, name, lines, options)
    assert cli == served and batch == [("ok", a) for a in served]
    # the file itself (zoo predict NAME FILE, the API) gives the same answer as its bytes
    if name in files and name != "music-lstm":      # a MIDI file is read at its own tempo
        key = "text" if name == "speech-ctc" else "caption"
        assert webio.to_json(m.predict([str(files[name])], **options))[0][key] == served[0][key]
