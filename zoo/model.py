"""ZooModel: a Keras model + its preprocessor + its card, with the task-level API.

>>> import zoo
>>> m = zoo.load("ner-bilstm")
>>> m.predict(["EU rejects German call to boycott British lamb ."])[0]["entities"][0]["type"]
'ORG'
"""
from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from .errors import ZooError

if "tensorflow" not in sys.modules and os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3") != "0" \
        and threading.current_thread() is threading.main_thread():
    # zoo.load in a notebook or a script printed TensorFlow's C++ start-up lines (CUDA
    # probes, "failed call to cuInit"), which no log level hides, as the zoo command never
    # does; TF_CPP_MIN_LOG_LEVEL=0, or TensorFlow imported first, shows them. Only from the
    # main thread: the descriptor it silences is the whole process's, and zoo serve imports
    # this module in its loading thread while the main one may print (Ctrl-C's line was lost).
    from .cli import import_tensorflow_quietly

    import_tensorflow_quietly()


def not_tensorflow(backend: str) -> ZooError:
    return ZooError(f"Keras is set to the {backend} backend (KERAS_BACKEND or ~/.keras/"
                    f"keras.json \"backend\"); the zoo's models run on TensorFlow: expected "
                    f"KERAS_BACKEND=tensorflow set before Keras is imported")


try:
    import keras
except ModuleNotFoundError as e:    # KERAS_BACKEND=jax (or keras.json's) without jax installed
    if e.name not in ("jax", "torch", "openvino"):
        raise
    raise not_tensorflow(e.name) from None
if keras.backend.backend() != "tensorflow":     # its layers, losses and exports are TensorFlow's
    raise not_tensorflow(keras.backend.backend())
import numpy as np
import tensorflow as tf
from keras.src.backend.common import global_state     # where Keras keeps each thread's policy

import zoo.layers  # noqa: F401  (registers the shared layers before any load)

from . import bundle, registry
from .beam import takes_batches
from .data import portable_record
from .errors import BundleError, InputError
from .options import (MAX_BATCH_SIZE, WINDOWS_PATH, check_examples, check_int, check_options,
                      check_out_folder, user_path, windows_path)
from .runtime import (PROGRESS_FROM, host_predict, needing, plain_paths, run_units,
                      task_method)
from .training import fine_tune

log = logging.getLogger("zoo")
# The process whose TensorFlow runs the models it loaded. A child forked from it afterwards
# (multiprocessing's default on Linux) inherits TensorFlow's state without its threads, and
# its first predict or zoo.load waited for ever. zoo._FORKED_AFTER_TENSORFLOW also knows a
# parent that ran TensorFlow without a model of the zoo (zoo/__init__.py).
_TF_STARTED_IN: int | None = None


def check_process(what: str) -> None:
    """A ZooError in a child forked after its parent ran TensorFlow, where it would hang."""
    import zoo

    parent = zoo._FORKED_AFTER_TENSORFLOW or (
        _TF_STARTED_IN if _TF_STARTED_IN not in (None, os.getpid()) else None)
    if parent:
        raise ZooError(f"{what}: this process was forked from process {parent} after "
                       f"TensorFlow ran there, and TensorFlow hangs in such a child; expected "
                       f"workers started with multiprocessing.get_context('spawn') (or "
                       f"ProcessPoolExecutor(mp_context=...)) that call zoo.load themselves")


def input_names(model) -> list[str] | None:
    """The sorted names of a functional model's inputs; None where it has none known
    (no model yet, a subclassed model never called)."""
    try:
        return sorted(t.name for t in model.inputs) if model is not None else None
    except (AttributeError, ValueError, TypeError):
        return None


# Keras's global settings the shipped models were built, trained and traced under. A user's
# keras.json or keras.config / mixed_precision call changed them for every new tensor: the
# host's step models took float64 or float16 inputs (a raw "Can not cast TensorSpec" in
# caption, forecast and summarize predict) and ner-bilstm's character convolution, built
# channels_first, failed to load. The zoo's own work runs under these; the user's settings
# are back as they were after each call, and untouched when they already match.
KERAS_DEFAULTS = {"floatx": "float32", "image_data_format": "channels_last",
                  "dtype_policy": "float32"}
# floatx and image_data_format are the whole process's: the zoo's calls running at once, in
# any threads, share one switch to the defaults, and the last one out puts the user's back.
# (Each call set and restored them on its own: a thread entering while another had switched
# saw the defaults already set and went on without them, and the other's end put float64 or
# channels_first back under its first trace.) Keras keeps the dtype policy per thread: each
# call switches and restores its own thread's.
_DEFAULTS_LOCK = threading.Lock()
_pinned: dict = {"calls": 0, "saved": None}     # calls under the defaults; the user's settings


@contextlib.contextmanager
def keras_defaults():
    """Run the block under KERAS_DEFAULTS, whatever the user set (restored afterwards)."""
    # this thread's policy as Keras keeps it: None until first read, which fixes it to the
    # floatx of that moment (float32 here, where the user's floatx was float64 afterwards)
    policy = global_state.get_global_attribute("dtype_policy")
    with _DEFAULTS_LOCK:
        process_wide = (keras.config.floatx(), keras.config.image_data_format())
        if _pinned["calls"] == 0 and process_wide != (KERAS_DEFAULTS["floatx"],
                                                      KERAS_DEFAULTS["image_data_format"]):
            _pinned["saved"] = process_wide
            keras.config.set_floatx("float32")
            keras.config.set_image_data_format("channels_last")
        _pinned["calls"] += 1
    try:
        keras.config.set_dtype_policy(KERAS_DEFAULTS["dtype_policy"])
        yield
    finally:
        global_state.set_global_attribute("dtype_policy", policy)
        with _DEFAULTS_LOCK:
            _pinned["calls"] -= 1
            if _pinned["calls"] == 0 and _pinned["saved"] is not None:
                floatx, image_data_format = _pinned["saved"]
                keras.config.set_floatx(floatx)
                keras.config.set_image_data_format(image_data_format)
                _pinned["saved"] = None


_F = TypeVar("_F", bound=Callable[..., Any])


def pinned(method: _F) -> _F:
    """`method` run under the zoo's Keras settings (keras_defaults). Typed as returning
    `method`'s own type: untyped, every decorated method (predict, evaluate, fine_tune,
    export) returned Any to mypy and pyright, and an IDE showed no return type."""
    @functools.wraps(method)
    def run(*args, **kwargs):
        with keras_defaults():
            return method(*args, **kwargs)
    return run      # type: ignore[return-value]  # wraps() keeps the signature


def check_registrations(*modules) -> None:
    """A ZooError where the user registered a Keras object under the name of one of the
    zoo's layers (e.g. @register_keras_serializable(package="zoo") class CRF), which Keras
    would build in its place ("Unrecognized keyword arguments passed to CRF")."""
    for module in (*modules, *(m for k, m in sys.modules.items() if k.startswith("zoo.layers"))):
        for obj in vars(module).values():
            name = keras.saving.get_registered_name(obj) if isinstance(obj, type) else None
            if name and ">" in name and \
                    keras.saving.get_registered_object(name) not in (None, obj):
                other = keras.saving.get_registered_object(name)
                raise ZooError(f"the Keras name {name!r} of the zoo's {obj.__name__} is "
                               f"registered again by {other.__module__}.{other.__qualname__}; "
                               f"expected that one registered under another package "
                               f"(register_keras_serializable(package=...))")


def check_path(value, name: str, expected: str) -> None:
    """An InputError unless `value` is a non-empty str or os.PathLike: m.save(5) or
    m.export(None) was a raw "expected str, bytes or os.PathLike object, not int" from
    pathlib, naming neither the argument nor what it takes."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value).strip():
        raise InputError(f"{name} must be {expected}; got {value!r} ({type(value).__name__})")
    if windows_path(value):     # an out of runs\x made one folder of that name
        raise InputError(f"{name} {os.fspath(value)}: {WINDOWS_PATH}; expected / between "
                         f"folders: {windows_path(value)}")


def numpy_call(function, inputs: dict) -> dict:
    """A traced function of a dict of tensors, on numpy arrays in and out."""
    out = function({k: tf.constant(v) for k, v in inputs.items()})
    return {k: np.asarray(v) for k, v in out.items()}


class ZooModel:
    """Use `zoo.load(name_or_dir)` rather than the constructor."""
    # built on first use, emptied when keras_model changes
    _functions: dict | None
    _batch_functions: dict | None
    _loop_functions: dict | None

    def __init__(self, entry: registry.Entry, keras_model: keras.Model, preprocessor: dict,
                 metrics: dict | None = None, hparams: dict | None = None):
        global _TF_STARTED_IN
        _TF_STARTED_IN = _TF_STARTED_IN or os.getpid()
        self.entry, self.preprocessor = entry, preprocessor
        self._keras_model = None
        self.keras_model = keras_model          # the setter below: traced call, no caches yet
        self.source = entry.name        # what zoo.load was given (a bundle's folder), for messages
        self.metrics = metrics or {}
        self.history: list[dict] = []       # per-epoch records of the fine_tune that made it
        self.hparams = hparams or {}

    @property
    def keras_model(self) -> keras.Model:
        """The network itself, a plain keras.Model (summary, clone_model, save, fit ...).
        Another one may be put in its place (its inputs named as this one's), e.g.
        `m.keras_model = keras.saving.load_model("x.keras")`: predict and the rest use it.
        Its layers are registered with Keras by `zoo.load` (not by `import zoo`, which
        imports no TensorFlow): a fresh process loading `m.keras_model.save("x.keras")`
        first imports `zoo.layers` and the application's `zoo_pipelines.<app>.model` (else
        Keras names the class it cannot locate), or uses `m.save(DIR)` and `zoo.load(DIR)`."""
        return self._keras_model

    @keras_model.setter
    def keras_model(self, model) -> None:
        # m.keras_model = keras.saving.load_model(...) kept predicting with the old network,
        # traced once in __init__, while the host's constants (a CRF's transitions), save and
        # export took the new one: a silently mixed answer.
        if not isinstance(model, keras.Model):
            raise InputError(f"keras_model must be a keras.Model; got {type(model).__name__}")
        old, new = input_names(self._keras_model), input_names(model)
        if old is not None and new != old:
            raise InputError(f"keras_model: a network with the inputs {new or 'unknown'}; "
                             f"expected {self.entry.name}'s {old}")
        self._keras_model = model
        self._call = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
        self._functions = self._batch_functions = self._loop_functions = None
        self._host = self._constants = None

    def with_preprocessor(self, preprocessor: dict) -> "ZooModel":
        """The same weights (and the same traced call: no retrace) under another
        preprocessor config, e.g. a speech model normalised for one speaker."""
        if not isinstance(preprocessor, dict):      # a model whose every predict failed
            raise InputError(f"with_preprocessor() takes a dict (as m.preprocessor); got "
                             f"{type(preprocessor).__name__}")
        other = ZooModel(self.entry, self.keras_model, preprocessor, self.metrics, self.hparams)
        other._call, other.source = self._call, self.source
        return other

    # ---- copies: multiprocessing, joblib and scikit-learn pickle or deep-copy a model ----
    def __reduce_ex__(self, protocol):
        # "Can't pickle local object 'ZooModel.__init__.<locals>.<lambda>'" said nothing of
        # what to do; a traced TensorFlow function cannot travel to another process.
        raise TypeError(f"a ZooModel ({self.entry.name}) cannot be pickled: its TensorFlow "
                        f"functions do not travel between processes; expected its name or "
                        f"bundle folder ({self.source!r}) passed to the worker, which calls "
                        f"zoo.load itself (m.save(DIR) first for a model changed in memory)")

    def __copy__(self):
        other = object.__new__(ZooModel)
        other.__dict__.update(self.__dict__)
        return other

    @pinned
    def __deepcopy__(self, memo):
        """Weights of its own (fine-tune the copy, keep the original), as save() copies them."""
        check_process(f"copy.deepcopy of {self.entry.name}")
        bare = keras.Model.from_config(self.keras_model.get_config())
        bare.set_weights(self.keras_model.get_weights())
        other = ZooModel(self.entry, bare, *copy.deepcopy(
            (self.preprocessor, self.metrics, self.hparams), memo))
        other.history, other.source = copy.deepcopy(self.history, memo), self.source
        return other

    def __getattr__(self, name):
        """Task methods the application's host declares (TASK_METHODS, e.g. `generate`),
        driven by this model's exported functions (see `call_function`)."""
        if name.startswith("_") or "entry" not in self.__dict__:
            raise AttributeError(name)
        check_process(f"{self.entry.name} {name}")
        return pinned(task_method(self.host(), self.call_function, name))

    def __dir__(self):
        # `m.` + Tab in Jupyter or an IDE did not offer m.generate (music, charlm) or
        # m.stream (speech): they come from __getattr__, which dir() does not see
        # (the Host class's own list: dir() builds nothing, and never fails)
        import importlib

        host = importlib.import_module(self.entry.host_module).Host
        return sorted({*super().__dir__(), *getattr(host, "TASK_METHODS", ())})

    # ---- loading and saving -------------------------------------------------------------
    @classmethod
    @pinned
    def load(cls, name_or_path: str | os.PathLike[str]) -> "ZooModel":
        """The model of a registered name (its shipped weights) or of a bundle directory;
        `zoo.load` calls this (see help(zoo.load)).

        >>> ZooModel.load("ner-bilstm")
        ZooModel('ner-bilstm', params=3,294,382)
        """
        shown = os.fspath(name_or_path) if isinstance(name_or_path, os.PathLike) else name_or_path
        check_process(f"zoo.load({shown!r})")
        directory = bundle.resolve(name_or_path)
        manifest = bundle.check(directory)
        prep = bundle.read_json(directory / "preprocessor.json")
        entry = registry.get(manifest["model"])
        check_registrations(entry.module("model"))  # registers the application's layers
        try:
            model = keras.saving.load_model(directory / "model.keras", safe_mode=True, compile=False)
        except Exception as e:  # Keras raises many types for a damaged zip or another zoo's
            raise bundle.load_failure(directory, manifest, e) from None
        metrics = bundle.read_json(directory / "metrics.json")
        if not isinstance(prep.get("preprocessor"), dict):
            raise BundleError(f"{directory / 'preprocessor.json'}: no 'preprocessor' object; "
                              f"expected {{\"preprocessor\": {{...}}}} as ZooModel.save() writes it")
        zm = cls(entry, model, prep["preprocessor"], metrics, prep.get("hparams"))
        try:                # a preprocessor the host cannot use fails here, not at predict()
            zm.host()
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise BundleError(f"{directory / 'preprocessor.json'}: not usable by "
                              f"{entry.name}'s host ({type(e).__name__}: {e})"
                              f"{bundle.written_by(manifest)}") from None
        zm.source = str(shown)
        return zm

    @pinned
    def save(self, directory: str | os.PathLike[str], command: str | None = None,
             pictures: Iterable[str | os.PathLike[str]] = ()) -> Path:
        """Write a bundle (DESIGN.md "Bundle"); `zoo.load(directory)` gives it back.
        `pictures`: image files (a training run's curve) copied in beside the bundle's files,
        listed in its manifest and swapped in with them.

        >>> zoo.load("ner-bilstm").save("my-ner")        # doctest: +SKIP
        PosixPath('my-ner')
        """
        check_path(directory, "save() directory", "a folder to write the bundle in")
        check_process(f"{self.entry.name} save")      # reading its weights would hang there
        directory = Path(user_path(directory))
        # a file there was a raw FileExistsError; a folder of other files took the bundle in
        check_out_folder(directory, "the bundle", "save() directory")
        bundle.check_own_folder(directory, "save() directory")
        # A Keras model as a bare copy without optimizer state keeps the bundle small.
        bare = keras.Model.from_config(self.keras_model.get_config())
        bare.set_weights(self.keras_model.get_weights())
        if command:
            self.metrics["command"] = command
        try:
            # written whole beside `directory`, then swapped in: a reader (zoo serve, another
            # process's zoo.load) saw the files written in place one by one, a new
            # model.keras under the old manifest, and a crash left that mix for good
            with bundle.replacing(directory, keep=True) as staging:
                # in the staging folder, not copied over the earlier bundle's beforehand:
                # its pictures then did not match its manifest until the swap, for good
                # after a crash there
                for picture in pictures:
                    shutil.copy(picture, staging / Path(picture).name)
                bare.save(staging / "model.keras")
                bundle.reproducible_keras(staging / "model.keras")    # no date of saving
                (staging / "preprocessor.json").write_text(bundle.json_lines(
                    {"model": self.entry.name, "preprocessor": self.preprocessor,
                     "hparams": self.hparams}) + "\n", encoding="utf-8")
                self.write_card(staging, shown_as=directory)
        except BundleError as e:        # a full disk (replacing): the earlier bundle stays
            raise BundleError(f"{e} (zoo train and zoo fine-tune: the same command resumes "
                              f"from its checkpoint in {directory / 'train'} and writes the "
                              f"bundle)") from None
        return directory

    def write_card(self, directory: str | Path, shown_as: str | Path | None = None) -> Path:
        """Write metrics.json, card.md and the manifest of the bundle at `directory` (the
        weights are untouched): after `compare`, or to re-render an old bundle's card.
        `shown_as`: the folder the card describes, where `directory` stages it (save)."""
        from .card import render_card

        directory = Path(directory)
        self.metrics = portable_record(self.metrics)     # no machine's own paths in cards
        # JSON has no NaN (JavaScript's JSON.parse, jq and Go refuse Python's bare NaN): a
        # number undefined on the data is null, in the file and in memory alike
        self.metrics = json.loads(json.dumps(self.metrics), parse_constant=lambda _: None)
        # both files whole or neither (zoo compare on a full disk), then the manifest
        bundle.write_whole(directory / "metrics.json", json.dumps(self.metrics, indent=2) + "\n",
                           **{"card.md": render_card(self, directory, shown_as)})
        bundle.write_manifest(directory, self.entry.name)
        return directory

    def compare(self, directory: str | Path, variants: list) -> dict:
        """Record other trained runs of this model (an ablation, a baseline head), measured
        on the same validation split, in the bundle at `directory`: metrics.json gets a
        `variants` table (the valid metrics of each run, labelled by the hyper-parameters
        that differ) and the card shows it. Nothing is re-measured: every row is the
        evaluator's own numbers from that run's metrics.json.
        `zoo compare zoo_pipelines/saved_models/summarize-attn runs/ablation-seq2seq runs/ablation-copy`"""
        from .card import bundle_label, variants_table
        from .errors import ZooError

        runs, seen = {}, set()
        for d in variants:
            path = Path(d) / "metrics.json"
            if not path.is_file():
                raise ZooError(f"{d}: no metrics.json (expected a bundle written by zoo train)")
            if path.resolve() in seen:      # it was shown once, silently
                raise ZooError(f"{d}: named twice; expected each run once")
            seen.add(path.resolve())
            runs[str(d)] = bundle.read_json(path)
            if not isinstance(runs[str(d)], dict):      # a list was a raw AttributeError
                raise ZooError(f"{path}: expected a JSON object of metrics (as zoo train "
                               f"writes)")
        for d, m in runs.items():
            if m.get("model") != self.entry.name:
                raise ZooError(f"{d}: a {m.get('model')} run; expected {self.entry.name}")
            if m.get("split") != self.metrics.get("split"):
                raise ZooError(f"{d}: measured on {m.get('split')!r}, not on {self.metrics.get('split')!r}: "
                               "variants must be measured on the same validation split")
        self.metrics["variants"] = variants_table(self.metrics, runs,
                                                  bundle_label(self.entry, directory))
        self.write_card(Path(directory))
        return self.metrics["variants"]

    # ---- inference ----------------------------------------------------------------------
    def host_config(self) -> dict:
        """Everything the numpy host needs: the preprocessor plus constants from weights."""
        return {**self.preprocessor, **self.entry.module("model").host_constants(self.keras_model)}

    @pinned
    def host(self):
        """The numpy host, built once per model (it keeps caches, e.g. of tokenizations),
        and again only when the constants it takes from the weights change (training moves
        a CRF's transitions, a NADE's weights)."""
        constants = self.entry.module("model").host_constants(self.keras_model)
        if self._host is None or constants != self._constants:
            self._host = self.entry.module("host").Host({**self.preprocessor, **constants})
            self._constants = constants
        return self._host

    @pinned
    def predict_units(self, units, batch_size: int = 64) -> list[dict]:
        """The whole network run over the host's encoded units (`run_units`), one output
        dict per unit; predict() calls it for a host without a loop of its own."""
        def call(bucket, batch):
            return numpy_call(self._call, batch)

        # A long call (20,000 sentences: two minutes) showed no sign of life, where Keras's
        # predict shows a bar; only past PROGRESS_FROM units (see zoo.runtime).
        with contextlib.ExitStack() as stack:
            bar = None
            if len(units) > PROGRESS_FROM:
                from .monitor import progress

                bar = stack.enter_context(progress(total=len(units), unit="ex",
                                                   desc=f"{self.entry.name} predict"))
            return run_units(units, call, self.preprocessor.get("buckets"), batch_size,
                             stride=self.preprocessor.get("output_stride", 1),
                             done=bar.update if bar is not None else None)

    @pinned
    def functions(self) -> dict:
        """The application's named sub-models (an encoder, one recurrent step, ...) that
        share this model's weights, from `model.export_functions`; {} when it has none."""
        if self._functions is None:
            models = self.entry.module("model").export_functions(self.keras_model, self.preprocessor)
            self._functions = {name: (m, tf.function(lambda x, m=m: m(x, training=False)))
                               for name, m in models.items()}
        return self._functions

    @pinned
    def batch_functions(self) -> dict:
        """The same sub-models with any batch size, from `model.decode_functions`
        ({name: keras.Model}; {} when the application has none): the Keras loop and the
        ONNX export run them (zoo.export)."""
        if self._batch_functions is None:
            self._batch_functions = self.entry.module("model").decode_functions(
                self.keras_model, self.preprocessor)
        return self._batch_functions

    @pinned
    def loop_call(self):
        """The `call(name, inputs)` a host's loop drives (see `run` in zoo/contract.py). Where
        the application has `model.decode_functions` (its exported functions with any batch
        size) it runs them and says so with `call.batches`, so `zoo.beam.batched` gives
        them whole batches (a document's draws, a beam) in one call; else `call_function`,
        one row at a time like the TFLite export.

        >>> import zoo
        >>> zoo.load("summarize-attn").loop_call().batches
        True
        """
        models = self.batch_functions()
        if not models:
            return self.call_function
        if self._loop_functions is None:
            # One trace for every batch size (the live rows shrink as draws end).
            self._loop_functions = {
                name: tf.function(lambda x, m=m: m(x, training=False), input_signature=[
                    tf.nest.map_structure(lambda t: tf.TensorSpec(t.shape, t.dtype), m.input)])
                for name, m in models.items()}
        functions = self._loop_functions
        return takes_batches(lambda name, inputs: numpy_call(functions[name], inputs))

    @pinned
    def call_function(self, name: str, inputs: dict) -> dict:
        """Run one exported function on numpy inputs (batch 1): the host's loops call this,
        and `zoo.runtime` gives them the same call over TFLite or ONNX."""
        check_process(f"{self.entry.name} {name}")
        functions = self.functions()
        if name not in functions:
            raise InputError(f"{self.entry.name} has no function {name!r}; expected one of "
                             f"{sorted(functions) or 'none'}")
        return numpy_call(functions[name][1], inputs)

    @pinned
    def predict(self, inputs, batch_size: int = 64, **options) -> list:
        """Raw inputs in (sentences, token lists, ...), the task's Python answers out:
        always a list, one answer per input in order; one input alone (a sentence, a
        series) gives a list of one, as [input] does. The inputs: a list or tuple, a 1-d
        numpy array or a pandas Series (a DataFrame's column); a generator, an open file
        or a tf.data.Dataset is refused (list(...) of it: predict reads its inputs whole).
        `options` (e.g. `horizon=5`, `beam=4`) go to the application's host
        (help(m.host().encode) lists them). A host with `run(encoded, call)` drives its own
        loop over `call_function` (autoregressive models); otherwise the units run through
        the whole model in batches.

        >>> m = zoo.load("ner-bilstm")
        >>> m.predict("EU rejects German call to boycott British lamb .")[0]["tags"][:3]
        ['B-ORG', 'O', 'B-MISC']
        """
        check_process(f"{self.entry.name} predict")
        check_int(batch_size, "batch_size", 1, MAX_BATCH_SIZE)
        host = self.host()
        check_options(host.encode, options, f"{self.entry.name} predict")
        return host_predict(self.entry.module("host"), host, inputs, options, self.loop_call(),
                            lambda units: self.predict_units(units, batch_size))

    # ---- measuring, training, exporting -------------------------------------------------
    @pinned
    def evaluate(self, data, split: str | None = None, **kwargs) -> dict:
        """The application's metrics on a data file (or already-read examples); `split`
        picks one split of a file or folder that holds several (zoo.data.read_split).

        >>> m = zoo.load("ner-bilstm")
        >>> sorted(m.evaluate(zoo.dataset("ner-bilstm", "valid")[:20]))[:4]
        ['f1', 'per_type', 'precision', 'recall']
        """
        from .data import dataset_name, read_split

        check_process(f"{self.entry.name} evaluate")
        evaluator = self.entry.module("evaluate").evaluate
        # before any reading: a misspelt option was a raw TypeError after the data was read
        check_options(evaluator, kwargs, f"{self.entry.name} evaluate", skip=2)
        data = user_path(plain_paths(data))  # a file object with __fspath__ is a file, as a Path is
        if isinstance(data, (str, Path)):
            examples = (read_split(self.entry, data, split) if split
                        else self.entry.module("data").read(data))
            if not split:       # after the reader: its own refusal of a folder comes first
                refuse_whole_dataset(self.entry, data)
        else:
            examples = check_examples(data, self.entry.module("data").EXAMPLE_KEYS,
                                      f"{self.entry.name} evaluate()")
        # The recipe's evaluate part (e.g. a beam width) unless the caller says otherwise.
        declared = self.entry.accepted()["evaluate"]
        options = {**{k: v for k, v in self.hparams.items() if k in declared}, **kwargs}
        metrics = plain_numbers(evaluator(self, examples, **options))
        if isinstance(data, (str, Path)):
            metrics["data"] = dataset_name(data) + (f" [{split}]" if split else "")
        return metrics

    @pinned
    def fine_tune(self, data, validation=None, epochs: int = 3,
                  out: str | os.PathLike[str] | None = None, **overrides) -> "ZooModel":
        """Continue training on the user's files. New label types are added to the model's
        (`replace_labels=True` or `labels=[...]` replace them); `rehearse=True` (or a dataset folder) mixes the model's training data in, so it
        learns the new data without forgetting the old (`new_share`: the new data's part of
        the mix, 0.2); `callbacks=[...]` run beside the zoo's own, and the returned
        model's `history` has one record an epoch; see zoo.training.fine_tune.

        >>> zoo.load("ner-bilstm").fine_tune("mine.conll", epochs=3, out="my-ner")  # doctest: +SKIP
        ZooModel('ner-bilstm', params=3,294,382, bundle='my-ner')
        """
        check_process(f"{self.entry.name} fine_tune")
        if out is not None:     # a raw pathlib TypeError after the data was read
            check_path(out, "fine_tune() out", "a folder for the fine-tuned bundle")
        return fine_tune(self, user_path(plain_paths(data)),
                         validation=user_path(plain_paths(validation)), epochs=epochs,
                         out=user_path(plain_paths(out)), **overrides)

    @pinned
    def export(self, path: str | os.PathLike[str], quantize: str | None = None,
               overwrite: bool = False, min_agreement: float | None = None) -> dict:
        """Write `.tflite`, `.onnx` or a SavedModel folder; returns the parity report. An
        export that agrees with this model on less than `min_agreement` of the parity
        examples (default: the entry's `quantized_agreement`) is refused.

        >>> zoo.load("ner-bilstm").export("ner.tflite")["agreement"]     # doctest: +SKIP
        1.0
        """
        from .export import export

        check_process(f"{self.entry.name} export")
        check_path(path, "export() path", "a .tflite or .onnx file or a SavedModel folder")
        if not isinstance(overwrite, bool):     # overwrite="no" replaced the folder
            raise InputError(f"export() overwrite must be True or False; got {overwrite!r}")
        # tf2onnx, onnx, LiteRT or onnxruntime (the parity check) missing: one line naming
        # it and its pip command, as zoo.runtime says it (a raw ModuleNotFoundError here)
        with needing(f"{self.entry.name} export"):
            return export(self, Path(user_path(path)), quantize=quantize,
                          overwrite=overwrite, min_agreement=min_agreement)

    def parity_examples(self) -> list:
        """The raw inputs an export's parity check runs (kept in the preprocessor)."""
        return self.preprocessor.get("examples") or []

    def __repr__(self):
        # a fine-tune loaded from its folder says so: two models in a notebook read the same
        loaded = "" if self.source == self.entry.name else f", bundle={self.source!r}"
        return f"ZooModel({self.entry.name!r}, params={self.keras_model.count_params():,}{loaded})"

    def _repr_markdown_(self) -> str:
        """What `m` shows as a notebook cell's last line: the name, task and summary, the
        headline metric as metrics.json holds it (report split first), the parameters and
        the bundle it came from; zoo.info(NAME) has the whole card."""
        from .cli import measured_line

        measured = measured_line(self).split("; zoo info ")[0]    # the CLI's pointer, not Python's
        lines = [f"**{self.entry.name}** (task `{self.entry.task}`): {self.entry.summary}",
                 f"- {measured}" if measured else "- not measured (no headline number in its metrics)",
                 f"- {self.keras_model.count_params():,} parameters"]
        if self.source != self.entry.name:
            lines.append(f"- bundle `{self.source}`")
        return "\n".join(lines + [f"- `zoo.info({self.source!r})` has the card"])


def refuse_whole_dataset(entry, data) -> None:
    """An InputError when `data` is one of the zoo's datasets (under $ZOO_DATA) laid out in
    splits and given without one: FSDD's recordings, the emoji captions and Shakespeare's
    text were read whole, train split and all, and measured as if unseen ("fsdd", no split
    named). A user's own folder in the same layout is read whole, as the README says."""
    import warnings

    from .data import data_root, read_split
    from .errors import ZooError

    try:
        path, root = Path(data).resolve(), data_root().resolve()
        if not (path.exists() and path.is_relative_to(root)):
            return
        with warnings.catch_warnings():      # the readers' own warnings come with the real read
            warnings.simplefilter("ignore")
            split_laid_out = bool(read_split(entry, path, "valid"))
    except (ZooError, OSError, ValueError):  # no split layout here: read whole as before
        return
    if split_laid_out:
        raise InputError(f"{data} is a dataset of $ZOO_DATA holding the splits train, valid "
                         f"and report; read whole it would measure {entry.name} on its "
                         f"training data too; expected --split valid or --split report "
                         f"(split= in Python)")


def plain_numbers(value):
    """`value` with numpy scalars as Python numbers, through dicts and lists: evaluate()'s
    metrics printed as {'f1': np.float64(0.94), ...} in a notebook.

    >>> plain_numbers({"f1": np.float64(0.5), "per_type": [np.int64(3)]})
    {'f1': 0.5, 'per_type': [3]}
    """
    if isinstance(value, dict):
        return {k: plain_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(plain_numbers(v) for v in value)
    return value.item() if isinstance(value, np.generic) else value

