"""The contract between zoo/ and an application: what each of its four modules provides.

An application is one package, `zoo_pipelines/<app>/`, whose `__init__` registers an
`Entry` (zoo.registry) and whose four modules play these roles:

    data.py      read files into examples, carve splits, fit the preprocessor, make tf.data
    model.py     build the Keras model, its loss, its serving graph and exported functions
    evaluate.py  the metrics, and which one chooses the epoch
    host.py      numpy-only: raw input -> model units -> answers (runs without TensorFlow)

`ROLES` below lists every hook of every role: the required ones, and the optional ones
with the default zoo/ uses when an application leaves them out. `register()` checks the
required ones by reading the modules' source (nothing is imported, so `zoo list` stays
instant); `Entry.module(role)` gives the imported module wrapped in a `Role`, which
answers an optional hook the module lacks with its default. zoo/ never probes with
hasattr: it calls `entry.module("data").labels_of(examples)`, and an application without
labels gets None.

>>> ROLES["evaluate"].required
('evaluate', 'HEADLINE', 'GREATER_IS_BETTER')
>>> sorted(ROLES["data"].optional)
['EXAMPLE_KEYS', 'HPARAMS', 'grow_preprocessor', 'labels_of']

The recipe: an entry's default hyper-parameters come in parts, each fed to one function
(`data` to data.fit_preprocessor, `model` to model.build, `fit` to zoo.training.fit,
`evaluate` to evaluate.evaluate). A key no part takes is refused, naming those it takes:

>>> route({"units": 64, "epochs": 2}, {"data": {"buckets"}, "model": {"units"},
...        "fit": {"epochs"}, "evaluate": set()}, "ner-bilstm")
{'data': {}, 'model': {'units': 64}, 'fit': {'epochs': 2}, 'evaluate': {}}
>>> route({"unit": 64}, {"data": {"buckets"}, "model": {"units"}, "fit": {"epochs"},
...        "evaluate": set()}, "ner-bilstm")
Traceback (most recent call last):
zoo.errors.InputError: ner-bilstm: unknown hyper-parameter 'unit' (did you mean 'units'?); it takes data: buckets; model: units; fit: epochs
"""
from __future__ import annotations

import ast
import difflib
import functools
import importlib
import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, ZooError


class ContractError(ZooError):
    """An application that does not provide what zoo/ needs (a required hook missing)."""


def _none(*_):
    return None


def _nothing(*_):
    return []


def _no_functions(model, preprocessor):
    return {}


def _no_serving_predict(signature, examples, preprocessor):
    raise ContractError("this model has neither export_functions nor serving_predict, so its "
                        "SavedModel cannot be checked against Keras (zoo/contract.py)")


def copy_matching_weights(source, target) -> list[str]:
    """Copy Keras weights layer by layer (by name), weight by weight: equal shapes are
    copied; a weight that grew (a vocabulary or label set with entries appended, so the old
    ids keep their rows) gets the old values in its leading block and keeps its fresh
    initialisation in the new rows; anything else stays new. Returns the names of the layers
    left new or partly new (e.g. an output layer for a new label set).

    >>> import keras, numpy as np
    >>> a = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="head")])
    >>> b = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4, name="head")])
    >>> copy_matching_weights(a, b), bool(np.all(b.layers[0].kernel[:, :3] == a.layers[0].kernel))
    (['head'], True)
    """
    fresh = []
    for layer in target.layers:
        try:
            old = source.get_layer(layer.name).weights
        except ValueError:
            old = []
        new = layer.weights
        if not new:
            continue
        if len(old) != len(new):
            fresh.append(layer.name)
            continue
        partly = False
        for s, t in zip(old, new):
            if tuple(s.shape) == tuple(t.shape):
                t.assign(s)
            elif len(s.shape) == len(t.shape) and all(a <= b for a, b in zip(s.shape, t.shape)):
                grown = t.numpy()
                grown[tuple(slice(0, a) for a in s.shape)] = s.numpy()
                t.assign(grown)
                partly = True
            else:
                partly = True
        if partly:
            fresh.append(layer.name)
    return fresh


def shorten(text: str, width: int = 100) -> str:
    """One line of at most `width` characters (a document, a data URI)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


def show_inputs(model, folder, data=None):
    """The default `demo` hook: the entry's demo_inputs, else the first three examples the
    bundle keeps for parity checks; each input (text, or which kept example) and what the
    host's `describe` makes of its result."""
    import json

    inputs = list(model.entry.demo_inputs) or model.parity_examples()[:3]
    host = model.host()
    for i, (item, r) in enumerate(zip(inputs, model.predict(inputs) if inputs else [])):
        yield {"in": shorten(item) if isinstance(item, str)
               else f"example {i} kept in the bundle (for export checks)",
               "out": host.describe(r) or shorten(json.dumps(r, default=str), 300)}


@dataclass(frozen=True)
class Spec:
    """One role: the names its module must define, and the optional ones with defaults."""

    required: tuple
    optional: dict = field(default_factory=dict)
    doc: str = ""


ROLES = {
    "data": Spec(
        required=("read", "read_split", "report_group", "REPORT_RULE", "fit_preprocessor",
                  "make_dataset", "parity_examples"),
        optional={"labels_of": _none, "grow_preprocessor": _nothing, "EXAMPLE_KEYS": (),
                  "HPARAMS": {}},
        doc="read(path) -> examples of a file, or of a folder laid out like default_data "
            "(`zoo evaluate --data FOLDER`); read_split(data_dir, split) -> examples of 'train', "
            "'valid' or 'report' (zoo.data.split_name refuses others); report_group(example) "
            "-> the group the report split is carved by, REPORT_RULE says how in words; "
            "fit_preprocessor(train, **data_recipe) -> (preprocessor dict, init or None); "
            "make_dataset(examples, prep, batch_size, shuffle, seed) -> tf.data; "
            "parity_examples(valid) -> raw JSON-able predict() inputs for export checks. "
            "Optional: labels_of(examples) -> the label set (None: the task has none), "
            "grow_preprocessor(prep, examples, **data_recipe keys it names) -> entries "
            "added to its vocabularies in place (fine-tuning on new words; [] by default); "
            "EXAMPLE_KEYS, the keys every example read() returns has, which examples "
            "passed to evaluate() in memory must have too (() by default: not checked); "
            "HPARAMS, {keyword: spec} of what fit_preprocessor's keywords accept, checked "
            "before the data is read (zoo.options.HPARAMS says the forms; {} by default: "
            "the zoo's shared specs, else the type of each default)"),
    "model": Spec(
        required=("build", "loss", "host_constants", "serving_function"),
        optional={"export_functions": _no_functions, "decode_functions": _no_functions,
                  "serving_predict": _no_serving_predict,
                  "transfer_weights": copy_matching_weights, "HPARAMS": {}},
        doc="build(prep, init, **model_recipe) -> keras.Model, its inputs and outputs dicts "
            "by name; loss(model) -> what keras compile(loss=) takes; "
            "host_constants(model) -> dict the host needs from the weights; "
            "serving_function(model, prep) -> a tf.Module whose `serve` tf.function takes raw "
            "input, for the SavedModel (None: no serving signature). "
            "Optional: export_functions(model, prep) -> {name: keras.Model} with batch-1 "
            "static shapes (an encoder, one recurrent step; {} by default), whose parity "
            "the host's loop checks; decode_functions(model, prep) -> the same functions "
            "with any batch size, which the Keras model's loop and the ONNX export then run "
            "a whole batch at a time ({} by default: row by row); else "
            "serving_predict(signature, raw_examples, prep) -> predict()-style results of "
            "the SavedModel's signature, for its parity; "
            "transfer_weights(source, target) -> the layers or weights left (partly) new, "
            "where copy_matching_weights (the default: by layer name, grown weights keep "
            "their old leading block) is not enough; HPARAMS, as data.py's, for build's "
            "keywords"),
    "evaluate": Spec(
        required=("evaluate", "HEADLINE", "GREATER_IS_BETTER"),
        optional={"EPOCH_OPTIONS": {}, "PREDICT_METRIC": None},
        doc="evaluate(zoo_model, examples, **options) -> {metric: value}; HEADLINE, the metric "
            "that chooses the epoch; GREATER_IS_BETTER (False for losses and error rates). "
            "Optional: EPOCH_OPTIONS, evaluate() keywords for the per-epoch check only; "
            "PREDICT_METRIC, the metric of predict()'s own decoding where HEADLINE scores "
            "another (what `zoo demo` quotes; None: HEADLINE)"),
    "host": Spec(
        required=("Host", "EMPTY_INPUT"),
        optional={"demo": show_inputs},
        doc="Host(config): a subclass of zoo.contract.Host (its methods and defaults are "
            "documented there); EMPTY_INPUT, a raw input predict() must refuse. "
            "Optional: demo(model, folder, data) -> one dict per example of what `zoo demo` "
            "prints ({'in': ..., 'ref': ..., 'out': ..., 'wrote': ...}), writing inputs and "
            "pictures a person opens into the existing `folder`; `data` is the entry's "
            "dataset folder under $ZOO_DATA, or None where absent (show_inputs by default: "
            "the entry's demo_inputs, else the bundle's first parity examples)"),
}

HOST_METHODS = ("encode", "decode", "agreement")


class Result(dict):
    """One result: a plain dict (what JSON, pickle and `==` see) whose repr, at a prompt and
    in a notebook, shows each key of SHAPE_ONLY as its array's shape: an attention map was
    thousands of characters of it (summarize-attn's 460 lines); `result[key]` keeps it all.

    >>> class Answer(Result): SHAPE_ONLY = ("attention",)
    >>> Answer(text="hi", attention=[[0.5, 0.5]])
    {'text': 'hi', 'attention': <1 x 2 attention weights>}
    """

    SHAPE_ONLY: tuple = ()

    def shown(self) -> dict:
        """This result as its repr shows it: a plain dict, each SHAPE_ONLY value a _Shape."""
        import numpy as np      # not at `import zoo`, which is instant

        return {k: _Shape(f"<{' x '.join(map(str, np.shape(v)))} {k} weights>")
                if k in self.SHAPE_ONLY else v for k, v in self.items()}

    def __repr__(self):
        return repr(self.shown())

    def _repr_pretty_(self, p, cycle):      # IPython / Jupyter: laid out as a plain dict is
        p.pretty(self.shown())


class _Shape(str):
    """A value Result shows by its shape, without quotes."""

    def __repr__(self):
        return str(self)


class Host:
    """Base of every application's numpy-only host: `class Host(zoo.contract.Host)` in
    zoo_pipelines/<app>/host.py. It must define `encode(inputs, **options) -> encoded` (with
    `encoded.units`), `decode(encoded, outputs) -> results` and `agreement(a, b) -> [0, 1]`;
    the rest has defaults.

    `TASK_METHODS` names methods `name(call, **options)` that loaded models expose as
    `m.name(**options)` (e.g. music's "generate"); `NO_INPUT_METHOD` is the one of them that
    `zoo predict NAME --opt v` runs when given no inputs (a generator's; None: inputs are
    needed, as for speech's "stream"); `OPTION_BOUNDS` says in words which values each option of
    encode and the task methods allows, for `zoo predict --help`. `ECHO`: encode and the
    task methods take `echo=True` and then write the output to stdout as it is produced
    (a generator's characters); `zoo predict` turns it on for one input without --json.
    `WHOLE_REQUEST_OPTIONS`: options under which each result depends on all the inputs of
    the call (speech's `same_speaker`), so `zoo serve` never merges a request that sets one
    with another request. `PER_INPUT_OPTIONS`: options that take one value per input as
    well as one for all (a generator's `seed`: s stands for s, s+1, ... in input order,
    zoo.options.seeds), so `zoo serve` merges requests with each input's own value and each
    answers as it would alone."""

    TASK_METHODS: tuple = ()
    NO_INPUT_METHOD: str | None = None
    OPTION_BOUNDS: dict = {}
    WHOLE_REQUEST_OPTIONS: tuple = ()
    PER_INPUT_OPTIONS: tuple = ()
    ECHO: bool = False
    NO_INPUT_ARG: str = ""      # NO_INPUT_METHOD's parameter that predict()'s input stands for

    def __init__(self, config: dict):
        self.config = config

    def __repr__(self):
        # `m.host()` in a notebook showed <zoo_pipelines.ner.host.Host at 0x7f...>: what it
        # is and what a user calls on it instead (its config holds whole vocabularies)
        offered = ["encode", "decode", *self.TASK_METHODS, *(["plot"] if self.draws() else [])]
        return f"<{type(self).__module__}.{type(self).__qualname__}: {', '.join(offered)}>"

    def no_input(self, **options) -> tuple[list, dict]:
        """The predict() call that `NO_INPUT_METHOD(**options)` is, its defaults filled in:
        `zoo predict NAME --json` with no input answers with predict's keys, as with one
        (charlm's generate answered a bare text, music's an extra song_steps)."""
        params = inspect.signature(getattr(self, self.NO_INPUT_METHOD)).parameters
        options = {**{k: p.default for k, p in params.items() if k != "call"}, **options}
        return [options.pop(self.NO_INPUT_ARG)], options

    def run(self, encoded, call):
        """The outputs for `decode`, where the host drives its own loop over the model's
        exported functions, `call(name, {input: array}) -> {output: array}` (autoregressive
        models). None (the default): the units run through the whole model in batches."""
        return None

    def plot(self, results: list, path):
        """Draw `results` into the picture file `path` and return its path (`zoo predict
        --plot`). The default draws nothing, and `draws()` says so."""
        raise InputError(f"{type(self).__module__} draws no picture of its predictions; expected "
                         f"a model whose host draws one (zoo predict --help lists --plot)")

    @classmethod
    def draws(cls) -> bool:
        return cls.plot is not Host.plot

    def describe(self, result) -> str | None:
        """A human-readable form of one result for the CLI (None: print it as JSON)."""
        return None

    # ---- `zoo serve` (zoo/serve.py, zoo/webio.py): JSON in, the web page's view out --------
    def from_json(self, i: int, item):
        """The raw input `encode` takes for JSON instance number `i` (a file sent as TF
        Serving's `{"b64": ...}` arrives here decoded, as bytes). A host that reads a
        string as a file name must refuse it (InputError, one line saying which JSON forms
        it takes): a server reads no files for a client. The default, for text: `item` as
        it is (the server then caps strings at its text size limit)."""
        return item

    def web_example(self, examples: list):
        """A JSON instance the web page offers to start from, made from `examples` (the
        entry's demo_inputs, else the bundle's parity examples); None: the page asks for
        an upload. The default: the first, where its JSON is under 200 kB."""
        import json

        ex = examples[0]
        return ex if len(json.dumps(ex, default=str)) < 200_000 else None

    def web_view(self, predict, inputs: list, options: dict, folder: Path) -> dict:
        """What the web page shows for raw `inputs` (NAME:plot): `{"predictions":
        predict(inputs, **options)}` plus files written into the existing `folder` (a
        picture, a MIDI file), which the server sends as data URIs under their keys. The
        default: the predictions and, where the host `draws()`, its plot as "picture"."""
        results = predict(inputs, **options)
        if not self.draws():
            return {"predictions": results}
        return {"predictions": results, "picture": self.plot(results, Path(folder) / "picture.png")}


def defined_names(source_file: str | None) -> set[str] | None:
    """The top-level names a module's source defines, read without importing it (None
    when it cannot tell: no Python source, or `from x import *`)."""
    if not source_file or not source_file.endswith(".py"):
        return None
    with open(source_file, encoding="utf-8") as f:
        tree = ast.parse(f.read(), source_file)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Host" and len(node.bases) == 1 \
                and ast.unparse(node.bases[0]) in ("Host", "contract.Host", "zoo.contract.Host"):
            # its methods, where its base is zoo's (nothing in between to inherit them from):
            # a Host without decode registered, and predict failed with an AttributeError
            names.update(f"Host.{n.name}" for n in node.body
                         if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
            names.add("Host.*")
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(a.name == "*" for a in node.names):
                return None
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def check_sources(package: str, name: str) -> None:
    """At registration: every role module of `package` exists and defines its required
    hooks, else a ContractError naming what is missing."""
    for role, spec in ROLES.items():
        module = f"{package}.{role}"
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError as e:    # `package` itself misspelt: "pip install it"
            if not e.name or not package.startswith(e.name):
                raise
            raise ContractError(f"{name}: register(package={package!r}) names no importable "
                                f"package; expected the import path of the package holding "
                                f"{', '.join(f'{r}.py' for r in ROLES)}") from None
        if found is None:
            raise ContractError(f"{name}: {module} does not exist; an application has "
                                f"{', '.join(f'{r}.py' for r in ROLES)} (zoo/contract.py)")
        try:
            names = defined_names(found.origin)
        except (SyntaxError, ValueError) as e:     # a raw SyntaxError from ast, no name
            where = f", line {e.lineno}" if getattr(e, "lineno", None) else ""
            raise ContractError(f"{name}: {module} ({found.origin}{where}) is not valid "
                                f"Python: {getattr(e, 'msg', e)}") from None
        missing = [h for h in spec.required if names is not None and h not in names]
        if role == "host" and names and "Host.*" in names:
            missing += [f"Host.{m}" for m in HOST_METHODS if f"Host.{m}" not in names]
        if missing:
            raise ContractError(_missing(name, module, role, missing))


def _missing(name: str, module: str, role: str, missing: list) -> str:
    methods = f" with {', '.join(HOST_METHODS)}" if role == "host" else ""
    return (f"{name}: {module} has no {', '.join(missing)}; the {role} role requires "
            f"{', '.join(ROLES[role].required)}{methods} (see ROLES in zoo/contract.py)")


class Role:
    """An application's module as zoo/ sees it: its own names, and the defaults of the
    optional hooks it leaves out. Imported and checked on first use."""

    def __init__(self, package: str, role: str, name: str):
        self._spec, self._path = ROLES[role], f"{package}.{role}"
        self._name, self._role = name, role
        self._module = importlib.import_module(self._path)
        missing = [h for h in self._spec.required if not hasattr(self._module, h)]
        if role == "host" and not missing:
            cls = self._module.Host
            missing = [f"Host.{m}" for m in HOST_METHODS if not callable(getattr(cls, m, None))]
            if not (inspect.isclass(cls) and issubclass(cls, Host)):
                missing.append("Host as a subclass of zoo.contract.Host")
        if missing:
            raise ContractError(_missing(name, self._path, role, missing))
        for hook, args in CALLS.get(role, {}).items():
            check_call(getattr(self._module, hook), args, f"{name}: {self._path}.{hook}")
        if role == "evaluate":      # "yes" was taken as True; a number, as a metric's name
            m = self._module
            if not isinstance(m.HEADLINE, str) or not isinstance(m.GREATER_IS_BETTER, bool):
                raise ContractError(f"{name}: {self._path} has HEADLINE = {m.HEADLINE!r}, "
                                    f"GREATER_IS_BETTER = {m.GREATER_IS_BETTER!r}; expected a "
                                    f"metric's name and True or False")

    def __getattr__(self, hook: str):
        value = self._hook(hook)
        check = RESULTS.get((self._role, hook))
        if check is None or not callable(value):
            return value

        @functools.wraps(value)
        def checked(*args, **kwargs):
            return self.check_result(hook, value(*args, **kwargs))

        return checked

    def check_result(self, hook: str, result):
        """`result` of this role's `hook` (a module function, or "Host.encode" / "Host.decode"
        of a host's instance), or a ContractError naming the hook and what RESULTS expects:
        a mistake named where zoo/ calls it, not a KeyError deep in training or predict."""
        wrong = RESULTS[(self._role, hook)](result, self._module)
        if wrong:
            raise ContractError(f"{self._name}: {self._path}.{hook} returned {wrong} "
                                f"(ROLES in zoo/contract.py)")
        return result

    def _hook(self, hook: str):
        try:
            return getattr(self._module, hook)
        except AttributeError:
            if hook in self._spec.optional:
                return self._spec.optional[hook]
            raise AttributeError(f"{self._path} has no {hook!r}") from None

    def __repr__(self):
        return f"Role({self._path!r})"


# How zoo/ calls each required function (its data arguments, by position; recipe keywords
# follow): a `build(prep, units=32)` without `init` took `units` as init, and then refused
# --units as "an unknown hyper-parameter".
CALLS = {
    "data": {"read": ("path",), "read_split": ("data_dir", "split"),
             "report_group": ("example",), "fit_preprocessor": ("train",),
             "make_dataset": ("examples", "prep", "batch_size=", "shuffle=", "seed="),
             "parity_examples": ("valid",)},
    "model": {"build": ("prep", "init"), "loss": ("model",), "host_constants": ("model",),
              "serving_function": ("model", "prep")},
    "evaluate": {"evaluate": ("zoo_model", "examples")},
}


def _number(value) -> bool:
    import numbers

    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _prep_result(result, module) -> str | None:
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], dict):
        return None
    return f"{type(result).__name__} {shorten(repr(result), 60)}; expected (preprocessor dict, init or None)"


def _model_result(result, module) -> str | None:
    import keras

    return None if isinstance(result, keras.Model) else \
        f"a {type(result).__name__}; expected a keras.Model"


def _metrics_result(result, module) -> str | None:
    if not isinstance(result, dict):
        return f"a {type(result).__name__}; expected a dict {{metric name: number}}"
    if not _number(result.get(module.HEADLINE)):
        got = (f"{module.HEADLINE} = {shorten(repr(result[module.HEADLINE]), 40)}"
               if module.HEADLINE in result else f"no {module.HEADLINE!r} (keys: "
               f"{shorten(', '.join(map(str, result)), 80)})")
        return f"{got}; expected HEADLINE's metric as a number"
    return None


def _encoded_result(result, module) -> str | None:
    import numpy as np

    units = getattr(result, "units", None)
    if isinstance(units, (list, tuple)) and all(
            isinstance(u, dict) and u and all(isinstance(v, np.ndarray) for v in u.values())
            for u in units):
        return None
    got = (f"units {shorten(repr(units), 60)}" if hasattr(result, "units")
           else f"{type(result).__name__} {shorten(repr(result), 60)}")
    return (f"{got}; expected an object whose .units is a list of {{input name: numpy array}}, "
            f"one per model call (or a run(encoded, call) of its own)")


def _decoded_result(result, module) -> str | None:
    return None if isinstance(result, list) else \
        f"a {type(result).__name__}; expected a list, one result per input"


# What each hook's result must be, checked where zoo/ calls it (a mistake named there, not
# a KeyError in the training loop, or an AttributeError in zoo.runtime.run_units).
RESULTS = {("data", "fit_preprocessor"): _prep_result, ("model", "build"): _model_result,
           ("evaluate", "evaluate"): _metrics_result, ("host", "Host.encode"): _encoded_result,
           ("host", "Host.decode"): _decoded_result}


def check_call(fn, args: tuple, what: str) -> None:
    """A ContractError when `fn` cannot be called with `args` as zoo/ calls it (too few
    or too many positional parameters, a keyword ("name=") it lacks, or not a function)."""
    expected = f"expected {what.rsplit('.', 1)[-1]}({', '.join(args)}, ...) (ROLES in zoo/contract.py)"
    keywords = {a[:-1]: None for a in args if a.endswith("=")}
    args = tuple(a for a in args if not a.endswith("="))
    if not callable(fn):
        raise ContractError(f"{what} is a {type(fn).__name__}, not a function; {expected}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):       # a builtin without one: nothing to check
        return
    try:
        signature.bind(*args, **keywords)
        # a recipe keyword in a data argument's place (build(prep, units=32) took init
        # as units, then refused --units as an unknown hyper-parameter)
        taken = [p for p, a in zip(signature.parameters.values(), args)
                 if p.default is not p.empty and p.name != a and p.kind != p.VAR_POSITIONAL]
        if taken:
            raise TypeError
    except TypeError:
        raise ContractError(f"{what}{signature} cannot be called as zoo/ calls it; "
                            f"{expected}") from None


def parameters(fn, skip: int) -> set[str]:
    """The named keyword parameters of `fn` after its first `skip` (data) arguments;
    `**kwargs` takes nothing here, so a catch-all never hides a typo."""
    params = list(inspect.signature(fn).parameters.values())[skip:]
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def route(hparams: dict, accepted: dict[str, set], name: str) -> dict[str, dict]:
    """Split flat hyper-parameters into the recipe's parts by which function takes each
    key (a key several take, e.g. `seed`, goes to each); an unknown key is an InputError
    naming the accepted ones, with the closest as a hint."""
    parts = {part: {k: v for k, v in hparams.items() if k in keys} for part, keys in accepted.items()}
    every = set().union(*accepted.values())
    for key in hparams:
        if key not in every:
            close = difflib.get_close_matches(key, sorted(every), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            takes = "; ".join(f"{p}: {', '.join(sorted(k))}" for p, k in accepted.items() if k)
            raise InputError(f"{name}: unknown hyper-parameter {key!r}{hint}; it takes {takes}")
    return parts
