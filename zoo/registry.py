"""The model index: `Entry` records, `register()`, and name lookups with "did you mean".

Applications register entries from their package `__init__` (see zoo_pipelines/ner). The
entries name their code by import path, resolved on first use, so listing models never
imports TensorFlow; what the code must provide is zoo/contract.py, checked at
registration. Pipelines are discovered through the `zoo.pipelines` entry-point
group declared in pyproject.toml: zoo/ never imports an application by name.

>>> import zoo
>>> "ner-bilstm" in zoo.list_models()
True
>>> zoo.registry.get("ner-bilstm").task
'ner'
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import re
import threading
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from .contract import ContractError, Role, check_sources, parameters, route
from .errors import UnknownModelError, ZooError, warn
from .options import check_training

@dataclass(frozen=True)
class Entry:
    """One registered model: what it does and where its code, data and bundle live."""

    name: str
    task: str
    package: str                    # e.g. "zoo_pipelines.ner"; holds data/model/evaluate/host
    summary: str
    default_data: str               # folder under $ZOO_DATA the recipe trains on
    train_file: str                 # paths inside default_data (see zoo.data.read_split)
    valid_file: str
    # Default hyper-parameters of `zoo train`, in parts: "data" (fit_preprocessor),
    # "model" (build), "fit" (zoo.training.fit) and "evaluate" (evaluate(), e.g. a beam).
    recipe: dict = field(default_factory=dict)
    paper: dict = field(default_factory=dict)       # the papers' numbers, shown beside ours
    bundle_dir: str = ""            # shipped bundle, inside the application's top-level package
    # More shipped bundles of the same model, by name (KerasHub's presets): the same code
    # trained on other data, e.g. {"music-lstm-nottingham": "saved_models/music-lstm-nottingham"}.
    # zoo.load(name) finds them like registered names; they are listed under their entry.
    presets: dict = field(default_factory=dict)
    limits: str = ""                # the card's "intended use and limits" paragraph
    demo_inputs: tuple = ()         # raw inputs `zoo demo` runs the shipped model on
    tiny: dict = field(default_factory=dict)        # recipe overrides for a tiny test model
    # fine_tune's defaults, over the bundle's own hyper-parameters (a learning rate or a
    # patience for a few epochs on a user's data); the user's overrides go over both.
    fine_tune: dict = field(default_factory=dict)
    # Export parity: a quantized export must agree with Keras on at least this share of
    # the parity examples (generators set less: one token flipped by int8 weights changes
    # the rest of a summary); float exports within `parity_max_abs_diff` (raw outputs).
    quantized_agreement: float = 0.98
    parity_max_abs_diff: float = 1e-4
    benchmark: str = ""             # module whose main(argv) benchmarks it (`zoo bench`)
    # The card's sections a Hugging Face or KerasHub user looks for (Mitchell et al. 2019,
    # "Model Cards for Model Reporting"), rendered by zoo/card.py. `data`: one dict per
    # training dataset, {"name", "source", "license", "readme"}, as the section `readme` of
    # $ZOO_DATA/README.md says (a licence it does not give is not guessed at).
    data: tuple = ()
    citation: tuple = ()            # the model's and its data's papers, one string each
    out_of_scope: str = ""          # uses the card warns against, beside `limits`
    # predict()'s input in the card's 3-line usage example: a Python expression (numpy as
    # `np`) that runs as written, with no file of the checkout (tests/test_cards.py runs it).
    example: str = ""

    def __post_init__(self):
        unknown = set(self.recipe) - set(RECIPE_PARTS)
        if unknown:
            raise ContractError(f"{self.name}: recipe parts {sorted(unknown)}; expected "
                                f"{', '.join(RECIPE_PARTS)}")

    def _repr_pretty_(self, p, cycle):
        # IPython and Jupyter: the dataclass's repr was one line of ~2,700 characters (the
        # recipe, the limits, the citations); repr() and print() keep every field
        p.text(f"Entry({self.name!r}, task={self.task!r}, package={self.package!r}, "
               f"summary={self.summary!r})")

    def module(self, role: str) -> Role:
        """The application's module for `role` ('data', 'model', 'evaluate' or 'host'),
        with the defaults of the optional hooks it leaves out (zoo/contract.py)."""
        key = (self.package, role)
        if key not in _ROLES:
            _ROLES[key] = Role(self.package, role, self.name)
        return _ROLES[key]

    def accepted(self) -> dict[str, set]:
        """The hyper-parameters each recipe part takes: the keyword parameters of
        fit_preprocessor, build and zoo.training.fit, and the evaluate keys the recipe
        declares (an evaluator's own batch size is not a training choice)."""
        from .training import fit

        return {"data": parameters(self.module("data").fit_preprocessor, 1),
                "model": parameters(self.module("model").build, 2),
                "fit": parameters(fit, 5),
                "evaluate": set(self.recipe.get("evaluate", {}))}

    def hparams(self, *layers: dict, **overrides) -> dict:
        """The recipe as one flat dict, with `layers` (e.g. a bundle's own hyper-parameters)
        and `overrides` on top. An override no part takes is an InputError naming the ones
        they take; a layer's keys that no part takes any more (an older bundle) are dropped.

        >>> import zoo
        >>> zoo.registry.get("ner-bilstm").hparams(units=64)["units"]       # doctest: +SKIP
        64
        """
        accepted = self.accepted()
        every = set().union(*accepted.values())
        flat = {k: v for part in self.recipe.values() for k, v in part.items()}
        for layer in layers:
            flat.update({k: v for k, v in layer.items() if k in every})
        flat.update(overrides)
        route(flat, accepted, self.name)
        check_training(flat, self.name)
        return flat

    def parts(self, hparams: dict) -> dict[str, dict]:
        """`hparams` split by the function each key goes to (see zoo.contract.route)."""
        return route(hparams, self.accepted(), self.name)

    @property
    def bundle_path(self) -> Path | None:
        """The shipped bundle: `bundle_dir` inside the application's top-level package, so
        the weights travel with the code (a checkout, a wheel, an sdist)."""
        return self._in_package(self.bundle_dir) if self.bundle_dir else None

    def preset_path(self, name: str) -> Path:
        """The bundle directory of one of this entry's presets."""
        return self._in_package(self.presets[name])

    def _in_package(self, relative: str) -> Path:
        top = importlib.import_module(self.package.split(".")[0])
        return Path(top.__file__).resolve().parent / relative

    @property
    def shipped(self) -> bool:
        """Whether trained weights come with the package (`bundle_dir`)."""
        return self.bundle_path is not None and (self.bundle_path / "model.keras").exists()

    @property
    def host_module(self) -> str:
        """The host module's import path (zoo.runtime imports only registered ones)."""
        return f"{self.package}.host"


RECIPE_PARTS = ("data", "model", "fit", "evaluate")
_ENTRIES: dict[str, Entry] = {}
_ROLES: dict[tuple, Role] = {}
_discovered = False
# Two threads' first zoo.load at once: the second saw discovery under way and looked up a
# registry still half-filled ("unknown model 'summarize-attn'"); it now waits for the first.
_DISCOVERING = threading.RLock()
_complete = False


# A name is a CLI argument, a folder under $ZOO_HOME/bundles and part of serve's URLs
# (/v1/models/NAME:predict): "My Model!/x" and "" registered, and every use of them failed.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_BROKEN: dict[str, str] = {}     # entry point -> why its application failed to register


def register(entry: Entry | None = None, **fields) -> Entry:
    """Add an entry to the index: `register(Entry(...))` or `register(name=..., ...)`. An
    application that lacks a required hook (zoo/contract.py) fails here, naming it, as do
    an unknown or missing field, a malformed name and a name another package registered."""
    if entry is None:       # a misspelt field was a raw TypeError from the dataclass
        every = [f.name for f in dataclasses.fields(Entry)]
        needed = [f.name for f in dataclasses.fields(Entry) if f.default is dataclasses.MISSING
                  and f.default_factory is dataclasses.MISSING]
        who = fields.get("name", "register()")
        unknown = sorted(set(fields) - set(every))
        if unknown:
            close = difflib.get_close_matches(unknown[0], every, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ContractError(f"{who}: register() has no field {', '.join(unknown)}{hint}; "
                                f"expected the fields of zoo.registry.Entry")
        missing = [k for k in needed if k not in fields]
        if missing:
            raise ContractError(f"{who}: register() needs {', '.join(missing)}; expected "
                                f"{', '.join(needed)} (zoo.registry.Entry)")
        entry = Entry(**fields)
    elif not isinstance(entry, Entry) or fields:    # register(5): a raw AttributeError
        raise ContractError(f"register() takes an Entry or its fields as keywords "
                            f"(register(name=..., package=..., ...)); got {type(entry).__name__}"
                            f"{' and keywords' if fields else ''}")
    for name in (entry.name, *entry.presets):
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise ContractError(f"{entry.package}: model name {name!r}; expected 1-64 lowercase "
                                f"letters, digits, - or _, starting with a letter or digit "
                                f"(e.g. 'toy-gru')")
        # a second application under a shipped name silently replaced it (and the zoo's
        # own shadowed a plugin's, depending on the order the entry points came in)
        taken = next((e for e in _ENTRIES.values() if e.package != entry.package and
                      any(_folded(n) == _folded(name) for n in (e.name, *e.presets))), None)
        if taken:
            raise ContractError(f"{entry.package}: the name {name!r} is taken by {taken.name} "
                                f"({taken.package}); expected a name no other application "
                                f"registers (zoo list)")
    check_sources(entry.package, entry.name)
    _ENTRIES[entry.name] = entry
    return entry


def _load_plugin(ep) -> None:
    """Import one `zoo.pipelines` entry point's package (it registers its entries). One
    broken application of another distribution is a warning, and the rest of the zoo
    works: a syntax error or a missing dependency in it stopped `zoo list` and every
    model. The zoo's own applications still fail loudly (a broken install)."""
    try:
        importlib.import_module(ep.module)     # "pkg" or "pkg:attr": the package registers
    except Exception as e:      # noqa: BLE001 - third-party code may raise anything
        if ep.module == "zoo_pipelines":
            raise
        dist = getattr(getattr(ep, "dist", None), "name", None)
        missing = isinstance(e, ModuleNotFoundError) and e.name
        reason = (f"it names the module {ep.module!r}, which is not installed"
                  if missing and ep.module.startswith(e.name) else
                  f"it needs the package {e.name!r}, which is not installed" if missing else
                  " ".join(str(e).split())[:300] if isinstance(e, ZooError)
                  else f"{type(e).__name__}: {' '.join(str(e).split())[:300]}")
        _BROKEN[ep.name] = (f"the application {ep.module!r} (entry point {ep.name!r}"
                            f"{f' of {dist}' if dist else ''}) is skipped: {reason}")
        warn(_BROKEN[ep.name])


def _discover() -> None:
    global _discovered, _complete
    if _complete:
        return
    with _DISCOVERING:
        if _discovered:         # done by another thread, or this one's own imports asking
            return
        _discovered = True
        # the zoo's own first: a plugin that takes a shipped name is the one refused
        for ep in sorted(entry_points(group="zoo.pipelines"),
                         key=lambda ep: ep.module != "zoo_pipelines"):
            _load_plugin(ep)
        _complete = True


def names() -> list[str]:
    _discover()
    return sorted(_ENTRIES)


def get(name: str) -> Entry:
    """The entry called `name`, or an UnknownModelError that suggests the closest names."""
    _discover()
    if not isinstance(name, str):       # None or 3 was a raw AttributeError below
        raise UnknownModelError(f"a model name must be a string, e.g. 'ner-bilstm'; got "
                                f"{type(name).__name__}")
    if name in _ENTRIES:
        return _ENTRIES[name]
    owner = preset(name)
    if owner:                           # it suggested the very name it refused
        raise UnknownModelError(f"{name} is a preset bundle of {owner.name}, not a registered "
                                f"model; expected {owner.name} here (zoo.load({name!r}) loads "
                                f"the preset)")
    known = list(_ENTRIES) + [p for e in _ENTRIES.values() for p in e.presets]
    # "NER-BILSTM", " ner-bilstm", "ner bilstm": that name alone (difflib compares case
    # and spaces, and named two unrelated models before it, or none at all).
    same = same_name(name)
    close = [same] if same else difflib.get_close_matches(name.lower(), known, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    hint += _pulled_under(name)
    hint += "".join(f" Note: {why}." for why in _BROKEN.values())
    raise UnknownModelError(
        f"unknown model {name!r}: it is neither a registered model nor a bundle directory."
        f"{hint} Registered models: {', '.join(sorted(_ENTRIES)) or 'none'}."
    )


def _pulled_under(name: str) -> str:
    """A hint for a name `zoo pull` once stored a bundle under, which no model has now (an
    application renamed in a later zoo): the bundle is still in the cache, never read."""
    from .hub import home

    try:
        folder = home() / "bundles" / name
        if "/" in name or "\\" in name or not (folder / "manifest.json").is_file():
            return ""
    except (OSError, ValueError, ZooError):
        return ""
    return (f" A bundle zoo pull stored under {name} is at {folder}: load it by that path, "
            f"or pull it again under a registered name (zoo pull NAME --from {folder}).")


def _folded(name: str) -> str:
    return "-".join(str(name).lower().replace("_", "-").split())


def same_name(name: str) -> str | None:
    """The registered model or preset that `name` spells with other case, spaces or
    underscores ("NER_BiLSTM"), else None."""
    _discover()
    known = list(_ENTRIES) + [p for e in _ENTRIES.values() for p in e.presets]
    return next((k for k in known if _folded(k) == _folded(name)), None)


def preset(name: str) -> Entry | None:
    """The entry that ships a preset bundle called `name` (Entry.presets), else None.

    >>> import zoo
    >>> zoo.registry.preset("music-lstm-nottingham").name
    'music-lstm'
    """
    _discover()
    return next((e for e in _ENTRIES.values() if name in e.presets), None)


def repo_root() -> Path:
    """The folder above the `zoo` package: the checkout, or site-packages once installed."""
    return Path(__file__).resolve().parent.parent
