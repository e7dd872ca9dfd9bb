"""JSON in and out of the served models (zoo.serve): instances -> raw inputs, results ->
JSON, and the pictures of the web page.

A JSON instance is the task's raw input: text (NER, summarization, character LM), a
series of prices (forecasting: a series dict, `{"csv": "date,close\\n..."}` or `{"rows":
[{"date": ..., "close": ...}]}`), a piece of music (a list of time steps of MIDI pitches,
a MIDI file as `{"b64": ...}`, or null for silence), audio (a WAV/FLAC file as `{"b64":
...}` or a `data:audio/...;base64,` URI, or `{"array": [...], "sampling_rate": n}`) or
an image (`{"b64": ...}` or a `data:image/...;base64,` URI). `{"b64": ...}` is TF
Serving's spelling of binary data. A string is never a file name: a server must not
read its own files for a client.

>>> raw_input("ner", 0, "EU rejects German call .", None)
'EU rejects German call .'
>>> raw_input("speech", 0, {"b64": "UklGRg=="}, None)
b'RIFF'
>>> raw_input("speech", 0, "/etc/passwd", None)
Traceback (most recent call last):
zoo.errors.InputError: input 0: a string is not audio here (a server reads no files by name); send the file as {"b64": "..."}, a data:audio/...;base64, URI or {"array": [...], "sampling_rate": n}
>>> to_json([{"x": np.float32(0.5), "y": np.arange(2)}])
[{'x': 0.5, 'y': [0, 1]}]

These conversions know each task by name; they would sit better in each application's
host (a `from_json`), which zoo/ leaves alone here.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import tempfile
from pathlib import Path

import numpy as np

from .cli import jsonable
from .errors import InputError

# Tasks whose hosts read a string as a file name: from JSON the file comes as its bytes.
# Per task: what the file is, and the other JSON forms it takes.
FILES = {"speech": ("audio", ", a data:audio/...;base64, URI or {\"array\": [...], "
                             "\"sampling_rate\": n}"),
         "captioning": ("an image", " or a data:image/...;base64, URI"),
         "music": ("a MIDI file", " or a list of time steps of MIDI pitches"),
         "forecasting": ("a CSV file", ", {\"csv\": \"date,close\\n...\"} or a series dict")}
# Options that write files on the server (music's out/png, the CLI's plot): refused.
FILE_OPTIONS = ("out", "png", "plot")


def to_json(results):
    """Plain JSON types (what predict returns holds numpy arrays and scalars, DataFrames of
    forecasts with dates)."""
    return json.loads(json.dumps(results, default=jsonable, ensure_ascii=False))


def _b64(i: int, text) -> bytes:
    if not isinstance(text, str):
        raise InputError(f"input {i}: \"b64\" must be a base64 string; got {type(text).__name__}")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InputError(f"input {i}: \"b64\" is not valid base64 ({e}); expected a "
                         f"file's bytes in base64") from None


def raw_input(task: str, i: int, item, host):
    """The raw input predict() takes for JSON instance `item` number `i` of `task`."""
    if isinstance(item, dict) and set(item) == {"b64"}:
        data = _b64(i, item["b64"])
        if task == "music":
            return _midi_roll(i, data, host)
        if task == "forecasting":
            try:
                item = {"csv": data.decode("utf-8-sig")}
            except UnicodeDecodeError as e:
                raise InputError(f"input {i}: the CSV file is not UTF-8 text ({e.reason} at "
                                 f"byte {e.start})") from None
        else:
            return data
    if task in FILES and isinstance(item, str):
        if item.startswith("data:") and task in ("speech", "captioning"):
            head, comma, body = item.partition(",")
            if task == "captioning":            # the captioning host reads data URIs itself
                return item
            if comma and head.endswith(";base64"):
                return _b64(i, body)
        what, forms = FILES[task]
        raise InputError(f"input {i}: a string is not {what} here (a server reads no files "
                         f"by name); send the file as {{\"b64\": \"...\"}}{forms}")
    if task == "forecasting" and isinstance(item, dict) and ("csv" in item or "rows" in item):
        return _one_series(i, item)
    return item


def _midi_roll(i: int, data: bytes, host) -> np.ndarray:
    """A MIDI file's piano roll, read through the music host (its own checks and errors)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.mid"
        path.write_bytes(data)
        return host.piece(i, path)


def _one_series(i: int, item: dict) -> dict:
    """A CSV text or a list of rows as one series dict (the forecasting host's own table
    reader checks every price)."""
    import pandas as pd

    from zoo_pipelines.forecasting.series import series_from_table

    if "csv" in item:
        if not isinstance(item["csv"], str):
            raise InputError(f"input {i}: \"csv\" must be the CSV text; got "
                             f"{type(item['csv']).__name__}")
        try:
            table = pd.read_csv(io.StringIO(item["csv"]), skip_blank_lines=False)
        except Exception as e:      # pandas raises several types for a bad table
            raise InputError(f"input {i}: not a readable CSV ({type(e).__name__}: "
                             f"{str(e)[:120]}); expected a header line (date, close[, volume])")
    else:
        rows = item["rows"]
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InputError(f"input {i}: \"rows\" must be a list of objects like "
                             f"{{\"date\": \"2024-01-02\", \"close\": 10.5}}")
        table = pd.DataFrame(rows)
    series = series_from_table(table, f"input {i}")
    if len(series) != 1:
        raise InputError(f"input {i}: the table holds {len(series)} series "
                         f"({', '.join(s['name'] for s in series[:5])}); send one series per "
                         f"instance")
    name = series[0]["name"] if series[0]["name"] != f"input {i}" else "series"
    return {**series[0], "name": str(item.get("name") or name)}


# ---- the web page: example inputs and pictures ---------------------------------------------
def example(task: str, host, demo_inputs=()):
    """A JSON instance the web page offers to start from (None: upload one)."""
    examples = list(demo_inputs) or list(host.config.get("examples") or [])
    if not examples:
        return None
    ex = examples[0]
    if task == "forecasting":
        volume = ex.get("volume") or [None] * len(ex["close"])
        lines = ["date,close,volume"] + [f"{d},{c},{'' if v is None else v}"
                                         for d, c, v in zip(ex["dates"], ex["close"], volume)]
        return {"csv": "\n".join(lines), "name": ex.get("name")}
    if task == "music":
        return ex[:16]
    return ex if len(json.dumps(ex)) < 200_000 else None


def png(fig_or_path) -> str:
    """A picture as a data:image/png;base64 URI."""
    return "data:image/png;base64," + base64.b64encode(Path(fig_or_path).read_bytes()).decode()


def picture(task: str, model, host, inputs: list, options: dict) -> dict:
    """What the web page shows for `inputs` (raw): the predictions and, by task, a PNG
    ("picture") and a MIDI file ("midi"), drawn by the application's own plot functions.
    Runs in the model's worker thread."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "picture.png"
        if task == "summarization":          # the attention map needs attention returned
            options = {**options, "attention": True}
        results = model.predict(inputs, **options)
        extra = {}
        if task == "captioning":
            extra["picture"] = png(host.plot(results, out, images=inputs))
        elif task == "music":                # the primer and what followed it
            from zoo_pipelines.music.midi import roll_png, write_midi

            primer = host.piece(0, inputs[0])
            song = np.vstack([primer, host.roll(results[0]["generated"])])
            extra["picture"] = png(roll_png(song, out, steps_per_quarter=host.spq,
                                            primer_steps=len(primer)))
            midi = write_midi(song, Path(tmp) / "song.mid", host.spq)
            extra["midi"] = "data:audio/midi;base64," + base64.b64encode(midi.read_bytes()).decode()
        elif host.draws():       # forecasting's fan chart, speech's alignment, summaries' attention
            extra["picture"] = png(host.plot(results, out))
    return {"predictions": results, **extra}
