"""TF-free inference over an exported model: ai-edge-litert (or onnxruntime) + numpy only.

An export writes `model.tflite` (or `.onnx`) and a sidecar `model.tflite.json` that names
the application's host module (numpy pre/post-processing) and its config. The same
`run_units` batching routine serves the Keras predictor in zoo.model, so both agree.
Models that export several functions (an encoder, one recurrent step) keep them as
signatures of one .tflite file, or as `<stem>.<function>.onnx` files listed in the
sidecar; the host's own numpy loop calls them by name (`call_function`).

>>> import zoo
>>> m = zoo.runtime.load("ner.tflite")                       # doctest: +SKIP
>>> m.predict(["EU rejects German call to boycott British lamb ."])[0]["entities"]  # doctest: +SKIP
[{'text': 'EU', 'type': 'ORG', 'start': 0, 'end': 2}, ...]
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import json
import os
import sys
import threading
from collections import defaultdict
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from . import registry
from .beam import takes_batches
from .contract import Role
from .errors import BundleError, InputError, ZooError
from .options import MAX_BATCH_SIZE, check_int, check_options, user_path

# help(zoo.runtime) and `from zoo.runtime import *`: what a user of an export calls (the rest
# is shared with zoo.model and zoo.serve, and imported from here by name)
__all__ = ["load", "RuntimeModel", "MissingPackageError"]

# ZooModel.predict's units past which a progress bar shows (run_units' `done`): the callers
# that predict a chunk at a time under a bar of their own (evaluate, zoo predict,
# batch-predict's batches of at most MAX_BATCH_SIZE) never show a second one
PROGRESS_FROM = MAX_BATCH_SIZE

Units = Sequence[dict]           # one dict of numpy arrays per model call; axis 0 = length
# load(threads=): LiteRT started every thread asked for (10**6 used up the system's
# processes), and took 0, -1 or 1.5 as a model it "cannot open"
MAX_THREADS = 256


# Import names whose pip project is named otherwise (the rest are the same, e.g. soundfile).
PIP_NAMES = {"PIL": "pillow", "ai_edge_litert": "ai-edge-litert", "tensorflow_text":
             "tensorflow-text", "prometheus_client": "prometheus-client", "apache_beam":
             "apache-beam", "rouge_score": "rouge-score"}


class MissingPackageError(ZooError, ModuleNotFoundError):
    """A third-party package this step needs is not installed (say, soundfile for a WAV
    file where only numpy and LiteRT were installed to run an export)."""


def missing_package(error: ModuleNotFoundError, what: str) -> Exception:
    """`error` as one line naming the package `what` needs and the pip command that
    installs the version rnn-zoo declares; an error of the zoo's own modules (a broken
    install) is returned as it is."""
    top = (error.name or "").split(".")[0]
    if not top or top in ("zoo", "zoo_pipelines"):
        return error
    pip = PIP_NAMES.get(top, top)
    return MissingPackageError(f"{what} needs the Python package {pip!r}, which is not "
                               f"installed here; pip install '{declared(pip)}'", name=top)


@contextlib.contextmanager
def needing(what: str):
    """Run a step whose imports are lazy (a host reads a WAV file with soundfile, a MIDI
    file with mido): where only numpy and LiteRT were installed to run an export, a package
    it lacks was a raw ModuleNotFoundError; now one line saying what to install."""
    try:
        yield
    except ModuleNotFoundError as e:
        error = missing_package(e, what)
        if error is e:
            raise
        raise error from None


def declared(pip: str) -> str:
    """`pip` with the version range rnn-zoo declares for it (e.g. 'soundfile<1,>=0.12'),
    or the bare name where it declares none or is not installed as a distribution."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        wanted = requires("rnn-zoo") or []
    except PackageNotFoundError:        # a checkout on PYTHONPATH
        return pip
    for req in wanted:
        name = req.split(";")[0].strip()
        rest = name[len(pip):]
        if name.lower().startswith(pip.lower()) \
                and (not rest or rest[0] in "<>=!~ "):
            return name
    return pip


def sidecar_path(model_path: str | Path) -> Path:
    return Path(str(model_path) + ".json")


def pick_bucket(length: int, buckets: Sequence[int] | None) -> int | None:
    """Smallest bucket that holds `length` (None when the model takes any length)."""
    if not buckets:
        return None
    for b in sorted(buckets):
        if length <= b:
            return b
    raise InputError(f"a unit of length {length} is longer than the largest bucket "
                     f"{max(buckets)}; the host must split it first")


def pad_to(array: np.ndarray, length: int) -> np.ndarray:
    """Zero-pad axis 0 up to `length`."""
    pad = [(0, length - array.shape[0])] + [(0, 0)] * (array.ndim - 1)
    return np.pad(array, pad)


def run_units(units: Units, call: Callable[[int | None, dict], dict],
              buckets: Sequence[int] | None, batch_size: int, stride: int = 1,
              done: Callable[[int], object] | None = None) -> list[dict]:
    """Group units by length bucket, pad, batch, run `call(bucket, batch)`, un-pad.
    A unit's length is the first axis of its first array; `done(n)` (a progress bar's
    update) is told of each batch's n units.

    `call` returns a dict of arrays [batch, length, ...]; each output row is cut back to
    its unit's true length, so callers never see padding. A model that downsamples time
    by `stride` (the config's "output_stride", e.g. a speech front end: 4 frames in, 1
    out) returns ceil(width / stride) steps, cut back to ceil(length / stride).
    """
    groups: dict[int | None, list[int]] = defaultdict(list)
    lengths = [next(iter(u.values())).shape[0] for u in units]
    for i, n in enumerate(lengths):
        groups[pick_bucket(n, buckets)].append(i)
    results: list[dict | None] = [None] * len(units)
    for bucket, idx in groups.items():
        for s in range(0, len(idx), batch_size):
            chunk = idx[s:s + batch_size]
            width = bucket or max(lengths[i] for i in chunk)
            # Arrays along the unit's length are padded; the others (per-unit vectors such
            # as a forecaster's context) are stacked as they are.
            batch = {k: np.stack([pad_to(units[i][k], width)
                                  if units[i][k].ndim and units[i][k].shape[0] == lengths[i]
                                  else units[i][k] for i in chunk])
                     for k in units[chunk[0]]}
            out = call(bucket, batch)
            steps = -(-width // stride)
            for row, i in enumerate(chunk):
                results[i] = {k: (v[row, :-(-lengths[i] // stride)] if v.ndim > 1 and v.shape[1] == steps
                                  else v[row]) for k, v in out.items()}
            if done is not None:
                done(len(chunk))
    return results  # type: ignore[return-value]


# progress where stderr is no terminal: a plain line every PLAIN_EVERY_S after PLAIN_AFTER_S
PLAIN_AFTER_S, PLAIN_EVERY_S = 30.0, 30.0


class _Lines:
    """tqdm's file when stderr is no terminal (a log file, `2>&1 | tee`, a CI job): each of
    its updates one plain line, where its carriage returns made one ever longer line
    nothing showed until the work ended; an update tqdm clears the line with is dropped."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        text = text.replace("\r", "").replace("\x1b[A", "").strip()
        if text:
            self.stream.write(text + "\n")

    def flush(self) -> None:
        self.stream.flush()


def progress(iterable=None, total: int | None = None, desc: str = "", unit: str = "it",
             after: float | None = None, every: float | None = None):
    """A tqdm progress bar on stderr where a person waits (evaluating a split, exporting,
    predicting thousands of inputs with an export: here, where no Keras is imported):
    one updating line on a terminal, a bar in the cell in a Jupyter notebook that has
    ipywidgets; where stderr is no terminal (a log, a pipe, a notebook without), a plain line
    every 30 s once the work has taken 30 s (it was nothing at all: a long `zoo evaluate
    ... 2>log` showed no sign of life; short runs and test logs still show none). Never
    on stdout (`--json`'s); off with ZOO_PROGRESS=0."""
    from tqdm import tqdm

    off = os.environ.get("ZOO_PROGRESS", "1") == "0"
    widget = notebook_bar()
    if widget is not None:      # a bar drawn in the cell, as tqdm.auto would choose
        return widget(iterable, total=total, desc=desc, unit=unit, leave=False, disable=off)
    after = PLAIN_AFTER_S if after is None else after
    every = PLAIN_EVERY_S if every is None else every
    if sys.stderr.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, disable=off,
                    file=sys.stderr, dynamic_ncols=True)
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, disable=off,
                file=_Lines(sys.stderr), delay=after, mininterval=every, maxinterval=every,
                ascii=True,
                bar_format="{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f}%), "
                           "{elapsed} elapsed, about {remaining} left"
                if total is not None or hasattr(iterable, "__len__")
                else "{desc}: {n_fmt} {unit}, {elapsed} elapsed")


def notebook_bar():
    """tqdm.notebook's bar where this runs in a Jupyter kernel that ipywidgets can draw in,
    else None. A kernel's stderr is no terminal, so a notebook got the plain line every 30 s
    meant for logs (nothing at all for a 20 s evaluation); without ipywidgets that stays
    (tqdm.auto would warn "IProgress not found" and draw a text bar each update)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:     # a terminal's IPython too
        return None
    import tqdm.notebook

    return tqdm.notebook.tqdm if tqdm.notebook.IProgress is not None else None


def allowed_hosts() -> set[str]:
    """The host modules of registered entries (listing them does not import TensorFlow)."""
    return {registry.get(n).host_module for n in registry.names()}


def host_role(module: str, model: str) -> Role:
    """The application's host module as the registry checks it (zoo.contract.Role: its Host
    a zoo.contract.Host with encode, decode and agreement), `model` naming it in errors. Only
    a registered entry's host module is imported: a sidecar is data, and must not choose
    code (`evilhost` beside the model). A host of the user's own application that lacked a
    method failed at its first call, deep in predict, as a raw AttributeError."""
    if module not in allowed_hosts():
        raise BundleError(f"host module {module!r} is not the host of a registered model; "
                          f"expected one of {sorted(allowed_hosts())}")
    package, _, role = module.rpartition(".")
    return Role(package, role, model)


def host_predict(role: Role, host, inputs, options: dict, call, predict_units) -> list:
    """predict() of ZooModel and RuntimeModel alike: the host encodes `inputs`, runs its
    own loop over `call` or has `predict_units` run its units, and decodes; what its
    encode and decode return is checked as the contract says (RESULTS in zoo/contract.py),
    so a user's host that returns the wrong thing is named, not a raw error from here."""
    encoded = host.encode(plain_paths(inputs), **{k: plain_paths(v) for k, v in options.items()})
    outputs = host.run(encoded, call)          # None: no loop of its own
    if outputs is None:
        outputs = predict_units(role.check_result("Host.encode", encoded).units)
    return role.check_result("Host.decode", host.decode(encoded, outputs))


def plain_paths(value):
    """`value` with any os.PathLike that is not a pathlib.Path (a class with __fspath__, say
    a notebook's own file type) as a Path, alone or in a list or tuple: the hosts tell a
    file from other inputs by str or Path, and refused these ("got MyFile").

    >>> class F:
    ...     def __fspath__(self): return "a.wav"
    >>> plain_paths([F(), "b.wav"])
    [PosixPath('a.wav'), 'b.wav']
    """
    def one(v):
        return Path(os.fspath(v)) if isinstance(v, os.PathLike) and not isinstance(v, Path) else v

    if isinstance(value, (list, tuple)) and any(one(v) is not v for v in value):
        paths = [one(v) for v in value]
        return tuple(paths) if isinstance(value, tuple) else paths     # (array, rate) stays a pair
    return one(value)


def task_method(host, call: Callable, name: str):
    """`name` from the host's TASK_METHODS (e.g. "generate"), bound to `call(fn_name,
    inputs) -> outputs`, the model's function caller: ZooModel and RuntimeModel expose the
    same task methods this way, whatever the backend."""
    if name not in host.TASK_METHODS:
        raise AttributeError(f"model has no attribute {name!r}")
    method = functools.partial(getattr(host, name), call)

    @functools.wraps(method.func)
    def checked(*args, **options):
        check_options(method, options, name)
        try:        # m.stream(3) was a raw TypeError from the call
            inspect.signature(method).bind(*args, **options)
        except TypeError as e:
            raise InputError(f"{name}(): {e}; see help(m.{name})") from None
        with needing(f"{name}()"):
            return method(*map(plain_paths, args),
                          **{k: plain_paths(v) for k, v in options.items()})

    # help(m.generate), an IDE's hover and inspect.signature showed the host's `call` first
    # (functools.wraps points them at the unbound function): the user never passes it
    checked.__signature__ = inspect.signature(method)    # type: ignore[attr-defined]
    return checked


class _TFLite:
    """One signature per length (the sidecar's "buckets"), batch 1 (static shapes convert
    to builtin ops). Where the export has `<function>_rows<N>` signatures (the sidecar's
    "row_batches"), a call with several rows is zero-padded to the next N (chunks of the
    largest beyond it), so a beam, or a document's draws, takes one call: `batches`.

    A LiteRT Interpreter is not thread-safe (two threads in one interpreter crash or swap
    answers), so each thread that calls gets its own interpreter over the same model bytes,
    made on its first call and freed with the thread. Measured on ner-bilstm (2 busy cores,
    predict() of one sentence): 8 threads 510 calls/s against 234 for 1 thread; one
    interpreter behind a lock gave 320 vs 292 (invoke releases the GIL, a lock wastes it)."""

    def __init__(self, path: Path, content: bytes, threads: int | None, row_batches=()):
        self.path, self.content, self.threads = path, content, threads
        self.local = threading.local()
        self.signatures = list(self._local().interpreter.get_signature_list())
        self.row_batches = sorted(row_batches or ())
        self.batches = bool(self.row_batches)

    def _local(self):
        local = self.local
        if not hasattr(local, "runners"):
            from ai_edge_litert.interpreter import Interpreter

            try:
                local.interpreter = Interpreter(model_content=self.content, num_threads=self.threads)
            except ValueError as e:
                raise BundleError(f"{self.path}: not a TFLite model LiteRT can open ({e}); expected "
                                  f"the .tflite zoo export wrote (export again)") from None
            local.runners = {}
        return local

    def __call__(self, bucket: int | None, batch: dict) -> dict:
        return self.function(f"len_{bucket}" if bucket else "serving_default", batch)

    def function(self, key: str, inputs: dict) -> dict:
        rows = len(next(iter(inputs.values())))
        if rows <= 1 or not self.row_batches:
            return self._signature(key, inputs)
        top, outs = self.row_batches[-1], []
        for start in range(0, rows, top):
            part = {k: v[start:start + top] for k, v in inputs.items()}
            n = len(next(iter(part.values())))
            size = pick_bucket(n, self.row_batches)      # rows are independent: zeros pad
            out = self._signature(f"{key}_rows{size}", {k: pad_to(v, size) for k, v in part.items()})
            outs.append({k: v[:n] for k, v in out.items()})
        return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}

    def _signature(self, key: str, inputs: dict) -> dict:
        local = self._local()
        if key not in local.runners:
            # The converter names a lone function's signature "serving_default".
            local.runners[key] = local.interpreter.get_signature_runner(
                self.signatures[0] if len(self.signatures) == 1 else key)
        return local.runners[key](**inputs)


class _Onnx:
    """Dynamic batch and length: no buckets needed. An ONNX Runtime session may be run
    from several threads at once, so one is shared."""

    def __init__(self, path: Path, content: bytes, threads: int | None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(content, opts, providers=["CPUExecutionProvider"])
        except Exception as e:     # onnxruntime raises its own exception types
            raise BundleError(f"{path}: not an ONNX model ONNX Runtime can open "
                              f"({str(e)[:200]}); expected the .onnx zoo export wrote (export "
                              f"again)") from None
        self.names = [o.name for o in self.session.get_outputs()]

    def __call__(self, bucket: int | None, batch: dict) -> dict:
        feeds = {i.name: batch[i.name.split(":")[0]] for i in self.session.get_inputs()}
        return dict(zip(self.names, self.session.run(None, feeds)))


class _OnnxFunctions:
    """One ONNX file per exported function (ONNX has one entry graph per file). `batches`:
    every function takes any batch (its inputs' first axis is not a number), as an export
    from the application's `decode_functions` does."""

    def __init__(self, path: Path, meta: dict, contents: dict, threads: int | None):
        self.sessions = {}
        for name, file in meta["functions"].items():
            session = _Onnx(path.parent / file, contents[file], threads)
            session.names = meta["outputs"][name]
            self.sessions[name] = session
        self.batches = all(not isinstance(i.shape[0], int) for s in self.sessions.values()
                           for i in s.session.get_inputs())

    def function(self, name: str, inputs: dict) -> dict:
        return self.sessions[name](None, inputs)


def export_path(path) -> Path:
    """`path` as the model file of an export, or an InputError saying what it is instead: a
    number or None was a raw TypeError; a bundle folder, a registered name and the sidecar
    itself were each "no such exported model, or its sidecar X.json is missing"."""
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise InputError(f"expected the path of a .tflite or .onnx file written by "
                         f"ZooModel.export(); got {path!r}")
    path = Path(user_path(path))
    if path.suffix == ".json" and path.with_suffix("").suffix in (".tflite", ".onnx"):
        raise InputError(f"{path}: the sidecar of an export; expected the model file beside "
                         f"it, {path.with_suffix('')}")
    named = None if path.exists() else registry.same_name(str(path))
    if named or (path / "manifest.json").is_file():
        bundle = named or str(path)
        raise InputError(f"{path}: a bundle, not an export; zoo.load({bundle!r}) runs it "
                         f"(with TensorFlow), or export it first: "
                         f"zoo.load({bundle!r}).export('model.tflite')")
    from .bundle import keras_file

    keras = keras_file(path)        # a .h5 / .keras was "its sidecar x.h5.json is missing"
    if keras and not sidecar_path(path).is_file():
        raise BundleError(f"{path}: not an export (a .tflite or .onnx file ZooModel.export() "
                          f"writes){keras}")
    return path


def read_sidecar(path: Path) -> dict:
    """The sidecar of an export, checked for the fields the runtime uses: a damaged or
    hand-made one is a BundleError, never a KeyError."""
    meta_path = sidecar_path(path)
    if not meta_path.is_file():
        raise BundleError(f"{path}: no such exported model, or its sidecar {meta_path.name} "
                          f"is missing; export with ZooModel.export() so the host config "
                          f"travels with it")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:          # JSONDecodeError, UnicodeDecodeError
        raise BundleError(f"{meta_path}: not valid JSON ({str(e)[:100]}); expected the "
                          f"sidecar ZooModel.export() writes") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{meta_path}: expected a JSON object; got {type(meta).__name__}")
    for key, kind in (("model", str), ("format", str), ("host", str), ("config", dict)):
        if not isinstance(meta.get(key), kind):
            raise BundleError(f"{meta_path}: {key!r} is missing or not a {kind.__name__}; "
                              f"re-export with ZooModel.export()")
    if meta["format"] not in ("tflite", "onnx"):
        raise BundleError(f"{meta_path}: format {meta['format']!r}; expected 'tflite' or 'onnx'")
    functions = meta.get("functions")
    if meta["format"] == "onnx" and functions is not None and not (
            isinstance(functions, dict) and isinstance(meta.get("outputs"), dict)
            and all(isinstance(f, str) and f == Path(f).name and f not in ("", ".", "..")
                    for f in functions.values())):
        raise BundleError(f"{meta_path}: 'functions' must map names to ONNX files in the same "
                          f"folder, with their 'outputs'")
    return meta


def verified_contents(path: Path, meta: dict) -> dict[str, bytes]:
    """The bytes of every model file (by name), after checking each against the sha256 the
    export recorded in the sidecar: nothing is opened or imported before this passes, and
    the backends load these very bytes."""
    functions = meta.get("functions")
    files = list(functions.values()) if isinstance(functions, dict) else [path.name]
    digests = meta.get("sha256")
    if isinstance(digests, str) and not isinstance(functions, dict):
        digests = {path.name: digests}
    if not isinstance(digests, dict) or set(digests) != set(files):
        raise BundleError(f"{sidecar_path(path)}: no sha256 for {', '.join(files)}; expected "
                          f"an export written by this rnn-zoo (re-export the model)")
    missing = [str(path.parent / f) for f in files if not (path.parent / f).is_file()]
    if missing:
        raise BundleError(f"{path}: exported model file(s) missing: {', '.join(missing)}; "
                          f"expected them beside the sidecar (copy the whole export, or export "
                          f"again)")
    contents = {}
    for f in files:
        data = (path.parent / f).read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != digests[f]:
            raise BundleError(f"{path.parent / f}: sha256 {actual[:12]}… does not match its "
                              f"sidecar ({str(digests[f])[:12]}…); the file was changed or corrupted: "
                              f"expected the file zoo export wrote (export again)")
        contents[f] = data
    return contents


class RuntimeModel:
    """An exported model plus its host: `predict(raw_inputs)` gives the task's answers."""

    def __init__(self, path: str | os.PathLike[str], threads: int | None = None):
        if threads is not None:
            threads = check_int(threads, "threads", 1, MAX_THREADS)
        path = export_path(path)
        self.meta = read_sidecar(path)
        contents = verified_contents(path, self.meta)     # before any import or open
        fmt, functions = self.meta["format"], self.meta.get("functions")
        with needing(f"opening {path.name}"):
            self.host_role = host_role(self.meta["host"], self.meta["model"])
            self.host = self.host_role.Host(self.meta["config"])
            self.buckets = self.meta.get("buckets") if fmt == "tflite" else None
            if fmt == "onnx" and functions:
                self.backend = _OnnxFunctions(path, self.meta, contents, threads)
            else:
                self.backend = (_TFLite(path, contents[path.name], threads,
                                        self.meta.get("row_batches"))
                                if fmt == "tflite" else _Onnx(path, contents[path.name], threads))
        if fmt == "onnx" and not functions:   # ONNX output names are generated; ours are here
            self.backend.names = self.meta["outputs"]
        self.path, self.threads = path, threads

    def __repr__(self):
        return (f"RuntimeModel({self.meta.get('model', '?')!r}, format={self.meta['format']!r}, "
                f"path={str(self.path)!r})")

    def __reduce__(self):
        # multiprocessing and joblib pickle what they hand a worker: an export file can
        # travel where a Keras model cannot, so the worker opens it again (and checks its
        # sha256 again); the interpreter itself does not pickle ("cannot pickle _thread._local")
        return (load, (str(self.path), self.threads))

    def __getattr__(self, name):
        """The host's task methods (TASK_METHODS, e.g. `generate`) over this backend."""
        if name.startswith("_") or "meta" not in self.__dict__:
            raise AttributeError(name)
        return task_method(self.host, self.call_function, name)

    def __dir__(self):
        # `m.` + Tab offers the host's task methods (m.generate), as on a ZooModel
        return sorted({*super().__dir__(), *getattr(self.host, "TASK_METHODS", ())})

    def call_function(self, name: str, inputs: dict) -> dict:
        """Run one exported function (e.g. a decoder step) on numpy inputs: batch 1, or
        any batch where the export takes it (`loop_call`)."""
        functions = self.meta.get("functions") or ()
        if name not in functions:
            raise InputError(f"this export has no function {name!r}; expected one of "
                             f"{sorted(functions)}")
        return self.backend.function(name, inputs)

    def loop_call(self):
        """The `call(name, inputs)` the host's loop drives: marked as taking whole batches
        where the export's functions take a batch of rows (an export of an application with
        `decode_functions`: ONNX takes any batch, TFLite pads to its row signatures), as
        `ZooModel.loop_call` is."""
        if getattr(self.backend, "batches", False):
            return takes_batches(self.call_function)
        return self.call_function

    def predict_units(self, units: Units) -> list[dict]:
        """The export run over the host's encoded units, one output dict per unit."""
        # past PROGRESS_FROM units a bar, as ZooModel.predict shows (20,000 sentences
        # through an ONNX export: a silent minute)
        with contextlib.ExitStack() as stack:
            bar = None
            if len(units) > PROGRESS_FROM:
                bar = stack.enter_context(progress(total=len(units), unit="ex",
                                                   desc=f"{self.meta['model']} predict"))
            return run_units(units, self.backend, self.buckets, batch_size=1,
                             stride=self.meta["config"].get("output_stride", 1),
                             done=bar.update if bar is not None else None)

    def predict(self, inputs, batch_size: int = 1, **options) -> list:
        """As ZooModel.predict: the same options and answers. `batch_size` is checked and
        taken so code written for either runs on both; an export runs one example a call."""
        check_int(batch_size, "batch_size", 1, MAX_BATCH_SIZE)
        check_options(self.host.encode, options, f"{self.meta['model']} predict")
        with needing(f"{self.meta['model']} predict"):
            return host_predict(self.host_role, self.host, inputs, options, self.loop_call(),
                                self.predict_units)


def load(path: str | os.PathLike[str], threads: int | None = None) -> RuntimeModel:
    """Open a `.tflite` or `.onnx` file written by `ZooModel.export` (its sidecar beside
    it); `threads`: the CPU threads its interpreter may use (default: its own choice).

    >>> zoo.runtime.load("ner.tflite").predict(["EU rejects German call ."])  # doctest: +SKIP
    [{'entities': [{'text': 'EU', 'type': 'ORG', ...}], ...}]
    """
    return RuntimeModel(path, threads)
