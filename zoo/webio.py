"""JSON in and out of the served models (zoo.serve): instances -> raw inputs, results ->
JSON, and the web page's example inputs and pictures. Each application's host says what
its JSON means (zoo.contract.Host: from_json, web_example, web_view); this module holds
what is common to all of them.

A JSON instance is the task's raw input as JSON: text, a series of prices, time steps of
MIDI pitches, or a file as `{"b64": ...}` (TF Serving's spelling of binary data, decoded
here before the host sees it). A string is never a file name: a server must not read its
own files for a client, so hosts that read files refuse strings (or take data URIs).

>>> raw_input(0, "EU rejects German call .", Host({}))
'EU rejects German call .'
>>> raw_input(0, {"b64": "UklGRg=="}, Host({}))
b'RIFF'
>>> raw_input(0, {"b64": 5}, Host({}))
Traceback (most recent call last):
zoo.errors.InputError: input 0: "b64" must be a base64 string; got int
>>> raw_input(0, {"b64": "data:audio/wav;base64,Ukl\\nGRg=="}, Host({}))
b'RIFF'
>>> to_json([{"x": np.float32(0.5), "y": np.arange(2), "z": float("nan")}])
[{'x': 0.5, 'y': [0, 1], 'z': None}]
"""
from __future__ import annotations

import base64
import binascii
import json
import mimetypes
import tempfile
from pathlib import Path

import numpy as np

from .cli import jsonable, to_json  # noqa: F401  (to_json: the server and batch-predict use it)
from .contract import Host
from .errors import InputError

# Options that write files on the server (music's out/png, the CLI's plot): refused.
FILE_OPTIONS = ("out", "png", "plot")
MEDIA_TYPES = {".png": "image/png", ".mid": "audio/midi", ".wav": "audio/wav"}


def data_uri_body(text: str) -> str | None:
    """The base64 body of a `data:...;base64,BODY` URI (what a browser's FileReader gives),
    else None.

    >>> data_uri_body("data:audio/wav;base64,UklGRg=="), data_uri_body("a.wav")
    ('UklGRg==', None)
    """
    head, comma, body = text.partition(",")
    return body if text.startswith("data:") and comma and head.endswith(";base64") else None


def b64(i: int, text) -> bytes:
    """The bytes of base64 `text` (input `i`'s `{"b64": ...}` or a data URI's body)."""
    if not isinstance(text, str):
        raise InputError(f"input {i}: \"b64\" must be a base64 string; got {type(text).__name__}")
    # A data URI's body is the base64 (what a browser's FileReader gives), and line breaks
    # are how `base64 FILE` and MIME write it: both were refused as "Only base64 data is
    # allowed". Other stray characters still are.
    text = "".join((data_uri_body(text) or text).split())
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as e:
        raise InputError(f"input {i}: \"b64\" is not valid base64 ({e}); expected a "
                         f"file's bytes in base64") from None


def no_file_names(i: int, what: str, forms: str) -> InputError:
    """The error for a string where a host takes a file: `what` the file is, and the other
    JSON `forms` it takes (e.g. ' or a data:image/...;base64, URI')."""
    return InputError(f"input {i}: a string is not {what} here (a server reads no files by "
                      f"name); send the file as {{\"b64\": \"...\"}}{forms}")


def raw_input(i: int, item, host):
    """The raw input predict() takes for JSON instance `item` number `i` (the host's
    from_json, after `{"b64": ...}` is decoded)."""
    if isinstance(item, dict) and "b64" in item:
        if len(item) > 1:       # {"b64": ..., "array": ...} was read as the other keys alone
            raise InputError(f"input {i}: expected a file as {{\"b64\": \"...\"}} alone; got other "
                             f"keys too ({', '.join(sorted(map(repr, set(item) - {'b64'})))})")
        item = b64(i, item["b64"])
    return host.from_json(i, item)


def local_input(i: int, item, host):
    """The raw input for JSON value `item` number `i` of the user's own file (a line of `zoo
    predict --input` or of batch-predict): what the server makes of the same instance
    (raw_input: {"csv": ...}, {"rows": ...} and {"b64": ...} were refused as dicts, a list
    of pitches read otherwise), except that a string other than a data: URI stays the text
    or local file name a command-line INPUT is (the user's machine reads the user's files)."""
    if isinstance(item, str) and data_uri_body(item) is None:
        return item
    return raw_input(i, item, host)


def takes_text(host) -> bool:
    """Whether instances reach the host as they come (text tasks: the server caps their
    size), rather than through a from_json of its own."""
    return type(host).from_json is Host.from_json


# ---- the web page: example inputs and pictures ---------------------------------------------
def example(host, demo_inputs=()):
    """A JSON instance the web page offers to start from (None: upload one)."""
    examples = list(demo_inputs) or list(host.config.get("examples") or [])
    return host.web_example(examples) if examples else None


def data_uri(path) -> str:
    """A file as a data URI (a picture: data:image/png;base64,...)."""
    path = Path(path)
    kind = MEDIA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
        or "application/octet-stream"
    return f"data:{kind};base64," + base64.b64encode(path.read_bytes()).decode()


def picture(model, host, inputs: list, options: dict) -> dict:
    """What the web page shows for `inputs` (raw): the predictions and the files the
    host's web_view writes (a picture, a MIDI file), as data URIs. Runs in the model's
    worker thread."""
    with tempfile.TemporaryDirectory() as tmp:
        view = host.web_view(model.predict, inputs, options, Path(tmp))
        return {k: data_uri(v) if isinstance(v, Path) else v for k, v in view.items()}
