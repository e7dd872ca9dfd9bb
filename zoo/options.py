"""Checks on the options a task takes (`predict(..., beam=4)`, `generate(steps=64)`): an
unknown name or a value of the wrong type is the project's InputError naming what the
task does take, never a raw TypeError and never a silent cut (`horizon=2.7` -> 2).
Numpy only, so `zoo.runtime` and the Keras predictor share it.

>>> def encode(inputs, beam: int = 4, alpha: float = 0.8, attention: bool = False): ...
>>> check_options(encode, {"beam": 2}, "summarize-attn predict")
>>> check_options(encode, {"bean": 2}, "summarize-attn predict")
Traceback (most recent call last):
zoo.errors.InputError: summarize-attn predict: unknown option 'bean'; it takes beam, alpha, attention
>>> check_options(encode, {"beam": 2.7}, "summarize-attn predict")
Traceback (most recent call last):
zoo.errors.InputError: summarize-attn predict: option beam must be an integer; got 2.7

The ranges each task allows (a beam width, a number of steps) are checked by its host with
`check_int` / `check_number`, against bounds it keeps as module constants, so one
argument can never ask for unbounded work:

>>> check_int(100000, "beam", 1, 64)
Traceback (most recent call last):
zoo.errors.InputError: beam must be an integer in 1..64; got 100000
>>> check_number(float("nan"), "alpha", 0, 5)
Traceback (most recent call last):
zoo.errors.InputError: alpha must be a finite number in 0..5; got nan
"""
from __future__ import annotations

import errno
import inspect
import math
import os
import re
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from .errors import InputError, warn

# The leading arguments a task function takes that are not options.
NOT_OPTIONS = ("self", "inputs", "call", "text")
# The most units ZooModel.predict() runs through the model at once (`batch_size`): memory
# grows with it; 1024 is the largest batch any evaluator uses (forecast windows).
MAX_BATCH_SIZE = 1024


def accepted(fn, skip: int = 0) -> dict[str, inspect.Parameter]:
    """The options `fn` takes after its first `skip` (data) arguments, by name (None when
    it takes any: it checks them itself)."""
    params = dict(list(inspect.signature(fn).parameters.items())[skip:])
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return {n: p for n, p in params.items()
            if n not in NOT_OPTIONS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_options(fn, options: dict, what: str, skip: int = 0) -> None:
    """Refuse options `fn` does not take, and values that cannot be of the option's type
    (read from its default, else from its annotation); `skip`: leading data arguments."""
    params = accepted(fn, skip)
    if params is None:
        return
    for name, value in options.items():
        if name not in params:
            raise InputError(f"{what}: unknown option {shown(name)}; it takes "
                             f"{', '.join(params) or 'no options'}")
        kind = _kind(params[name])
        if value is None or kind is None:
            continue
        if kind is bool and not isinstance(value, bool):
            raise InputError(f"{what}: option {name} must be true or false; got {shown(value)}")
        if kind is int and (isinstance(value, bool) or not isinstance(value, Integral)):
            raise InputError(f"{what}: option {name} must be an integer; got {shown(value)}")
        if kind is float and (isinstance(value, bool) or not isinstance(value, Real)
                              or not finite(value)):
            raise InputError(f"{what}: option {name} must be a finite number; got {shown(value)}")


def _kind(param: inspect.Parameter):
    note = str(param.annotation)          # "int | None" (annotations are strings here)
    if "list" in note.split(" | "):       # one value, or one per input: the task checks it
        return None
    default = param.default
    if isinstance(default, bool):
        return bool
    if isinstance(default, Integral):
        return int
    if isinstance(default, Real):
        return float
    for name, kind in (("bool", bool), ("float", float), ("int", int)):
        if note.split(" |")[0] == name:
            return kind
    return None


def finite(value) -> bool:
    """Whether real `value` is a finite float: an int past float's range (JSON's 10**400)
    is not (math.isfinite raised OverflowError on it, a 500 from zoo serve).

    >>> finite(1e308), finite(10**400), finite(float("nan"))
    (True, False, False)
    """
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def check_int(value, name: str, low: int, high: int | None = None) -> int:
    """`value` as an int if it is an integer in low..high (high None: no upper bound), else
    an InputError that states the range."""
    span = f"in {low}..{high}" if high is not None else f">= {low}"
    if (isinstance(value, bool) or not isinstance(value, Integral) or value < low
            or (high is not None and value > high)):
        raise InputError(f"{name} must be an integer {span}; got {shown(value)}")
    return int(value)


def seeds(seed, n: int, name: str = "seed") -> list[int]:
    """One seed per input: an int s stands for s, s+1, ... in input order; a list gives each
    input its own (zoo serve merges requests so, each with the seeds it has alone).

    >>> seeds(7, 3), seeds([7, 0], 2)
    ([7, 8, 9], [7, 0])
    >>> seeds([1], 2)
    Traceback (most recent call last):
    zoo.errors.InputError: seed: 1 values for 2 inputs; expected an integer >= 0, or one per input
    """
    if not isinstance(seed, (list, tuple)):
        first = check_int(seed, name, 0)
        return [first + i for i in range(n)]
    if len(seed) != n:
        raise InputError(f"{name}: {len(seed)} values for {n} inputs; expected an integer "
                         f">= 0, or one per input")
    return [check_int(s, f"{name}[{i}]", 0) for i, s in enumerate(seed)]


def check_unicode(text: str, what: str) -> str:
    """`text` if it encodes to UTF-8, else an InputError naming the first lone surrogate
    (e.g. "abc\\ud800", which Python strings may hold and no client can read back).

    >>> check_unicode("Paris", "input 0")
    'Paris'
    >>> check_unicode("a\\ud800", "input 0")
    Traceback (most recent call last):
    zoo.errors.InputError: input 0: character 1 ('\\ud800') is not valid Unicode (a lone surrogate); expected text that encodes to UTF-8
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(f"{what}: character {e.start} ({text[e.start]!r}) is not valid Unicode "
                         f"(a lone surrogate); expected text that encodes to UTF-8") from None
    return text


# HTML left in a text ("AT&amp;T", "<br>"): an entity or a common tag
MARKUP = re.compile(r"&(?:[A-Za-z]{2,8}|#[0-9]{1,7}|#x[0-9A-Fa-f]{1,6});|</?(?:br|p|div|span|"
                    r"a|b|i|em|strong|li|ul|td|tr|table|h[1-6])\b[^<>]{0,200}>", re.I)


def warn_markup(text: str, what: str) -> None:
    """A ZooWarning when `text` holds HTML, which a text model reads as words ("AT&amp;T"
    as "AT", "&", "amp", ";", "T"). Not unescaped here: the answer's character offsets
    index the text as given.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     warn_markup("AT&amp;T<br>", "input 0")
    >>> str(w[0].message)
    "input 0: holds HTML ('&amp;'), read as words; give plain text (html.unescape, tags removed)"
    """
    markup = MARKUP.search(text)
    if markup:
        warn(f"{what}: holds HTML ({markup.group()[:20]!r}), read as words; give "
             f"plain text (html.unescape, tags removed)")


def check_examples(examples, keys, what: str = "evaluate()") -> list:
    """Examples passed in memory (not as a file) as a non-empty list of dicts with `keys`,
    the form the application's `read()` returns; else an InputError saying so. Without
    this, None or a list of strings failed deep in an evaluator ("string indices must be
    integers") and an empty list scored as a perfect 0 % error rate.

    >>> check_examples([{"tokens": ["EU"], "tags": ["B-ORG"]}], ("tokens", "tags"))
    [{'tokens': ['EU'], 'tags': ['B-ORG']}]
    >>> check_examples(["EU rejects"], ("tokens", "tags"))
    Traceback (most recent call last):
    zoo.errors.InputError: evaluate(): example 0 must be a dict with 'tokens', 'tags' (as read() returns); got str
    """
    form = ", ".join(repr(k) for k in keys) or "the application's keys"
    if not isinstance(examples, (list, tuple)):
        raise InputError(f"{what} needs a data file or folder, or a list of examples (dicts "
                         f"with {form}, as read() returns); got {type(examples).__name__}")
    if not examples:
        raise InputError(f"{what} needs at least one example; got an empty "
                         f"{type(examples).__name__}")
    for i, ex in enumerate(examples):
        if not isinstance(ex, dict) or any(k not in ex for k in keys):
            got = (f"keys {', '.join(map(repr, list(ex)[:8])) or 'none'}" if isinstance(ex, dict)
                   else type(ex).__name__)
            raise InputError(f"{what}: example {i} must be a dict with {form} (as read() "
                             f"returns); got {got}")
    return list(examples)


def check_training(hparams: dict, name: str) -> None:
    """The training hyper-parameters every recipe shares, checked before any work: without
    this, epochs=0 wrote an untrained bundle, batch_size=0 raised ZeroDivisionError deep in
    the data pipeline and a negative learning rate trained uphill.

    >>> check_training({"epochs": 3, "learning_rate": 1e-3, "dropout": 0.2}, "ner-bilstm")
    >>> check_training({"epochs": 0}, "ner-bilstm")
    Traceback (most recent call last):
    zoo.errors.InputError: ner-bilstm: epochs must be an integer >= 1; got 0
    """
    for key in ("epochs", "batch_size", "steps_per_epoch"):
        if hparams.get(key) is not None:
            check_int(hparams[key], f"{name}: {key}", 1)
    if hparams.get("patience") is not None:
        check_int(hparams["patience"], f"{name}: patience", 0)
    if "learning_rate" in hparams:
        check_number(hparams["learning_rate"], f"{name}: learning_rate", above=0, high=10)
    for key, value in hparams.items():      # dropout, word_dropout, ...: a share of units
        if key.endswith("dropout") and value is not None:
            check_number(value, f"{name}: {key}", 0, 0.95)


# What the hyper-parameters shared by the recipes accept (an application declares its own,
# its fit_preprocessor's and build's, as HPARAMS in data.py / model.py; zoo.contract.ROLES).
# A spec is (low, high) for an integer (ints) or a finite number (floats), high None for no
# bound; a tuple of strings for a choice; `bool` for true or false; or a function
# check(value, what) -> value. A key without one is checked for the type of its default
# (check_hparam). The caps refuse what cannot fit in memory (units=1e9 allocated for minutes
# before an out-of-memory abort), not what is merely unusual.
SIZE = (1, 8192)
HPARAMS = {"cell": ("lstm", "gru", "rnn"), "units": SIZE, "layers": (1, 64),
           "clipnorm": (1e-9, 1e9), "lr_decay": (1e-9, 1.0),
           "layer_lr_decay": (1e-9, 1.0), "schedule": ("constant", "linear"),
           "ema": lambda v, what: check_number(v, what, 0, 0.9999),
           "seed": (0, 2**32 // 1000 - 1), "monitor_gradients": bool, "jit_compile": bool,
           "grappler": bool, "bidirectional": bool, "buckets": lambda v, what: check_buckets(v, what)}


def check_hparam(value, what: str, param: inspect.Parameter, spec=None):
    """`value` of the hyper-parameter `param` (a parameter of the function that takes it)
    if `spec` (see HPARAMS) allows it, else an InputError naming it, the value and what it
    accepts. Without a spec, the type of the parameter's default (or annotation): 1.5 for
    an int, "abc" for a float, 2 for a bool were handed to Keras or silently taken as true.
    None is taken where the parameter's default is None (or its annotation allows it)."""
    if value is None:
        if param.default is None or "None" in str(param.annotation):
            return value
        raise InputError(f"{what} needs a value; got null (its default is {shown(param.default)})")
    if callable(spec) and not isinstance(spec, type):
        return spec(value, what)
    if isinstance(spec, tuple) and all(isinstance(c, str) for c in spec):
        if not isinstance(value, str) or value not in spec:
            raise InputError(f"{what} must be one of {', '.join(map(repr, spec))}; got {shown(value)}")
        return value
    kind = bool if spec is bool else (int if isinstance(spec, tuple) and isinstance(spec[0], int)
                                      else float if spec else _kind(param))
    if kind is bool and not isinstance(value, bool):
        raise InputError(f"{what} must be true or false; got {shown(value)}")
    if kind is int:
        if spec:
            return check_int(value, what, *spec)
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise InputError(f"{what} must be an integer; got {shown(value)}")
    if kind is float:
        return check_number(value, what, *(spec or (None, None)))
    if (isinstance(param.default, str) or str(param.annotation).split(" |")[0] == "str") \
            and not isinstance(value, str):       # a path or a name: embeddings=[] went on
        raise InputError(f"{what} must be a string; got {shown(value)}")
    return value


def check_buckets(value, name: str = "buckets") -> list[int]:
    """`value` as sorted sequence lengths (positive integers) that a batch pads up to.

    >>> check_buckets([32, 8, 16])
    [8, 16, 32]
    >>> check_buckets([8, 0], "ner-bilstm: buckets")
    Traceback (most recent call last):
    zoo.errors.InputError: ner-bilstm: each of buckets must be an integer >= 1; got 0
    """
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(f"{name} must be a list of sequence lengths, e.g. [16, 32, 64]; got {shown(value)}")
    owner, colon, key = name.rpartition(": ")      # "ner-bilstm: buckets": the model first
    return sorted(check_int(b, f"{owner}{colon}each of {key}", 1) for b in value)


def check_number(value, name: str, low: float | None = None, high: float | None = None,
                 above: float | None = None) -> float:
    """`value` as a float if it is a finite number within [low, high] (and > `above`), else
    an InputError that states the range. NaN and infinities are always refused."""
    if above is not None:
        span = f"> {above:g}" + (f" and <= {high:g}" if high is not None else "")
    elif low is not None and high is not None:
        span = f"in {low:g}..{high:g}"
    else:
        span = f">= {low:g}" if low is not None else (f"<= {high:g}" if high is not None else "")
    ok = (not isinstance(value, bool) and isinstance(value, Real) and finite(value)
          and (low is None or value >= low) and (high is None or value <= high)
          and (above is None or value > above))
    if not ok:
        raise InputError(f"{name} must be a finite number {span}".rstrip() + f"; got {shown(value)}")
    return float(value)


PICTURE_DPI = 100       # every application's pictures at one scale, side by side


class Picture(type(Path())):    # PosixPath or WindowsPath: Path itself subclasses from 3.12
    """The file a host's plot() wrote, a pathlib.Path that a notebook shows as the picture
    when it is a cell's last line (`f.host().plot(frames, "fan.png")` showed only
    PosixPath('fan.png')); read from the file when shown, nothing kept in memory."""

    def _picture(self, *suffixes: str):
        return self.read_bytes() if self.suffix.lower() in suffixes and self.is_file() else None

    def _repr_png_(self):
        return self._picture(".png")

    def _repr_jpeg_(self):
        return self._picture(".jpg", ".jpeg")

    def _repr_svg_(self):
        svg = self._picture(".svg")
        return None if svg is None else svg.decode("utf-8")


def user_path(path):
    """`path` with a leading `~` or `~user` expanded to that home folder, of the same type
    (str or Path); anything else as it is. No shell expands `--out=~/runs/x` (only a word
    that starts with ~), nor a quoted "~/x", $ZOO_HOME set in a Dockerfile or a Python
    string: zoo made a folder named "~" in the current one and wrote the bundle there (a
    later `rm -rf ~` to clean it up takes the home folder), or said "no such folder".

    >>> user_path("~/runs/x") == os.path.join(os.path.expanduser("~"), "runs/x")
    True
    >>> user_path("runs/~x"), user_path(3)
    ('runs/~x', 3)
    """
    if isinstance(path, (str, os.PathLike)) and not isinstance(path, bytes):
        text = os.fspath(path)
        if isinstance(text, str) and text.startswith("~"):
            home = os.path.expanduser(text)     # as it was where no home is known
            return home if isinstance(path, str) else Path(home)
    return path


WINDOWS_PATH = r"a Windows-style path (\ between folders), which names no file here"


def windows_path(path) -> str:
    """`path` spelt with '/' if it is written with Windows' backslashes on a system whose
    folders are separated by '/' (a command copied from Windows, a path in a config file):
    an --out of runs\\x made one folder named "runs\\x", a --plot a file of such a name in
    the current folder; a load of one was "unknown model ... Registered models: ...". ""
    for any other path, and for a name with a backslash that exists.

    >>> windows_path("runs\\\\x"), windows_path("runs/x")
    ('runs/x', '')
    """
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else ""
    if os.sep != "/" or not isinstance(text, str) or "\\" not in text or os.path.lexists(text):
        return ""
    return text.replace("\\", "/")


def check_output_file(path, name: str) -> Path:
    """`path` as a Path if a file can be written there: its folder exists (a typo must not
    create a deep tree of folders, nor fail only after the work is done) and it is not a
    folder itself; else an InputError naming the folder."""
    if isinstance(path, bool) or not isinstance(path, (str, Path)) or not str(path).strip():
        raise InputError(f"{name} needs a file name (e.g. {name} out.png); got {path!r}")
    p = Path(path)
    folder = p.parent
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "does not exist"
        raise InputError(f"{name}: the folder {str(folder)!r} {what}; expected a file in an "
                         f"existing folder (create it first)")
    if p.is_dir():
        raise InputError(f"{name}: {str(p)!r} is a folder; expected a file name")
    return p


def check_out_folder(path, purpose: str = "the bundle: a new one, or an earlier run's to "
                     "resume it", what: str = "--out (out=)") -> Path:
    """`path` as a Path for a folder to write into (by default a bundle's, new or an earlier
    run's, which resumes); a file there is an InputError before any work (it failed after the
    data was read, with "README.md/train: Not a directory")."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise InputError(f"{path}: a file, not a folder; expected {what} to name a folder "
                         f"for {purpose}")
    # a file above it ("notes.txt/run") failed only after the data was read: "Not a directory"
    above = next((q for q in p.parents if q.exists()), None)
    if above is not None and not above.is_dir():
        raise InputError(f"{path}: {above} is a file, so no folder can be made below it; "
                         f"expected {what} to name a folder for {purpose}")
    return p


def not_found(path, what: str) -> str:
    """Why an input `path` is not a `what` (e.g. "image file") that predict() can read: a
    folder is named as one, with where a folder of inputs goes, else "no such ...".

    >>> not_found("/", "image file")
    "a folder, not an image file (a folder's files: zoo batch-predict MODEL --input '/*' --output DIR)"
    >>> not_found("/dev/null", "audio file")
    'not a regular file (a device or pipe), not an audio file'
    """
    try:
        folder = Path(path).is_dir()
    except OSError:                  # e.g. a data URI in quotes: "File name too long"
        folder = False
    article = "an" if what[0] in "aeiou" else "a"
    if folder:
        return (f"a folder, not {article} {what} (a folder's files: zoo batch-predict MODEL "
                f"--input '{Path(path) / '*'}' --output DIR)")
    try:
        there = Path(path).exists()
        link = not there and Path(path).is_symlink()
    except OSError:
        there = link = False
    if link:                         # it is listed, so "no such file" read as false
        try:
            Path(path).stat()
        except OSError as e:
            if e.errno == errno.ELOOP:
                return f"a symbolic link that leads back to itself (a loop), not {article} {what}"
        return f"a symbolic link to {os.readlink(path)}, which does not exist"
    # /dev/null, a pipe, a socket: it was "no such file"
    return (f"not a regular file (a device or pipe), not {article} {what}" if there
            else f"no such {what}")


def shown(value, width: int = 60) -> str:
    """`value` for an error message, on one line of at most `width` characters: an array by
    its shape and dtype (its repr ran over several lines), anything else by its repr.

    >>> shown(np.zeros((2, 3, 4)))
    'an array of shape (2, 3, 4) and dtype float64'
    >>> shown(list(range(100)), 20)
    '[0, 1, 2, 3, 4, 5...'
    """
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = " ".join(repr(value).split())       # an array inside a list or dict
    return text if len(text) <= width else text[:width - 3] + "..."


def input_file(item, what: str, expected: str = "") -> Path:
    """`item` (a str or Path naming a file predict() reads, e.g. "MIDI file") as a Path if
    it is a file, else an InputError naming it on one line: an empty name is said to be one
    (it read as the folder "."), a name too long for the system is not found (it was a raw
    OSError from is_file), a folder is named as one (not_found). `expected` words what the
    input may be instead ("an image path or a data URI").

    >>> input_file("", "MIDI file")
    Traceback (most recent call last):
    zoo.errors.InputError: an empty file name; expected the path of a MIDI file
    """
    text = str(item)
    article = "an" if what[0] in "aeiou" else "a"
    if not text.strip():
        expected = expected or f"the path of {article} {what}"
        raise InputError(f"an empty file name; expected {expected}")
    path = Path(item)
    try:
        found = path.is_file()
    except OSError:                  # "File name too long"
        found = False
    if not found:
        name = text if text.isprintable() else repr(text)[1:-1]
        name = name if len(name) <= 80 else f"{name[:60]}... ({len(text)} characters)"
        raise InputError(f"{name}: {not_found(path, what)}"
                         + (f"; expected {expected}" if expected else ""))
    return path


def utf8_text(item, what: str):
    """`item` decoded where it is UTF-8 bytes (what tf.data, a tensor's .numpy() and
    sockets give), as ner-bilstm read them; anything else as it is. charlm-lstm and
    summarize-attn refused b"To be" ("got bytes") where ner-bilstm tagged it.

    >>> utf8_text(b"Zo\\xc3\\xab", "input 0"), utf8_text(3, "input 0")
    ('Zoë', 3)
    >>> utf8_text(b"\\xff", "input 0")
    Traceback (most recent call last):
    zoo.errors.InputError: input 0: bytes are not valid UTF-8 (invalid start byte at byte 0); pass text decoded from its real encoding
    """
    if not isinstance(item, (bytes, bytearray)):
        return item
    try:
        return bytes(item).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(f"{what}: bytes are not valid UTF-8 ({e.reason} at byte {e.start}); "
                         f"pass text decoded from its real encoding") from None


def as_batch(inputs, single, what: str) -> list:
    """The inputs of a predict() call as a non-empty list: one example (recognised by
    `single`, a type or tuple of types, or a predicate) becomes a list of one; a list, a
    tuple, a 1-d numpy array or a pandas Series (a DataFrame's column) is the examples in
    order; anything else is refused saying what to pass instead. `what` names the
    examples for the error ("sentences (str) or token lists").

    >>> as_batch("EU rejects German call", str, "sentences")
    ['EU rejects German call']
    >>> as_batch(np.array(["EU rejects", "German call"]), str, "sentences")
    ['EU rejects', 'German call']
    >>> as_batch([], str, "sentences")
    Traceback (most recent call last):
    zoo.errors.InputError: predict() needs a non-empty list of sentences; got an empty list
    >>> as_batch(3, str, "sentences")
    Traceback (most recent call last):
    zoo.errors.InputError: predict() needs a non-empty list of sentences; got int
    >>> as_batch((s for s in ["EU"]), str, "sentences")
    Traceback (most recent call last):
    zoo.errors.InputError: predict() needs a non-empty list of sentences; got a generator, which predict() would read whole (and it can be read only once): expected list(...) of it, or a slice of it a call for a long stream
    """
    def is_single(x) -> bool:
        return single(x) if callable(single) and not isinstance(single, type) \
            else isinstance(x, single)

    if is_single(inputs):
        return [inputs]
    kind = type(inputs).__name__
    # A numpy array of str (np.array(texts), dtype <U or object) or a pandas Series (a
    # DataFrame's column) was refused ("got ndarray", "got Series") though its meaning is
    # a list's; tolist() gives plain str and numbers (no np.str_ in the answers). An
    # array whose rows are each one input (images stacked [N, H, W, 3], piano rolls
    # [N, T, 88]) is those rows.
    if isinstance(inputs, np.ndarray) and inputs.ndim == 1 or \
            kind == "Series" and callable(getattr(inputs, "tolist", None)):
        inputs = inputs.tolist()
    elif isinstance(inputs, np.ndarray) and inputs.ndim > 1 and len(inputs) and \
            is_single(inputs[0]):
        inputs = list(inputs)
    if not isinstance(inputs, (list, tuple)):
        raise InputError(f"predict() needs a non-empty list of {what}; got {_container(inputs)}")
    if not inputs:
        raise InputError(f"predict() needs a non-empty list of {what}; got an empty {kind}")
    return list(inputs)


def _container(value) -> str:
    """What a predict() call was given instead of a list, with what to pass instead: a
    generator, an open file or a tf.data.Dataset was a bare "got generator"."""
    kind = type(value).__name__
    if isinstance(value, np.ndarray):
        return f"a {value.ndim}-d numpy array of shape {value.shape}; expected a 1-d one or a list"
    if isinstance(value, Path):      # where a path is one input, it never comes here
        return (f"a path ({shown(str(value))}); expected the text itself "
                f"(Path(...).read_text(), or .splitlines() of it for one input a line)")
    if isinstance(value, (bytes, bytearray)):
        return f"{kind}; expected str (b.decode('utf-8'))"
    if kind == "DataFrame":
        return "a DataFrame; expected one of its columns (df['text']) or a list"
    if hasattr(value, "as_numpy_iterator"):     # tf.data: iterating it runs a pipeline
        return (f"a tf.data.Dataset ({kind}); expected a list of its elements: "
                f"list(ds.as_numpy_iterator()) (a batched one: ds.unbatch() first)")
    if hasattr(value, "numpy") and hasattr(value, "dtype"):     # a tf.Tensor
        return (f"a TensorFlow tensor ({kind}); expected a list: t.numpy().tolist() (strings "
                f"come as UTF-8 bytes)")
    if hasattr(value, "read"):       # io.StringIO, open(): its text, not the object
        path = "its path (f.name) or " if isinstance(getattr(value, "name", None), str) else ""
        return (f"an open file ({kind}); expected {path}its contents: f.read() (text: "
                f"f.read().splitlines() for one input a line)")
    if hasattr(value, "__next__"):   # a generator or iterator: list() would use it up
        return (f"{'a generator' if kind == 'generator' else f'an iterator ({kind})'}, which "
                f"predict() would read whole (and it can be read only once): expected "
                f"list(...) of it, or a slice of it a call for a long stream")
    if isinstance(value, (set, frozenset)):
        return f"a {kind}, which has no order to match answers to inputs; expected a list"
    if hasattr(value, "__iter__") and not isinstance(value, (str, bytes, dict)):
        return f"{kind}; expected a list (list(...) of it)"
    return kind
