"""The model index: `Entry` records, `register()`, and name lookups with "did you mean".

Applications register entries from their package `__init__` (see pipelines/ner). The
entries name their code by import path, resolved on first use, so listing models never
imports TensorFlow. Pipelines are discovered through the `zoo.pipelines` entry-point
group declared in pyproject.toml: zoo/ never imports an application by name.

>>> import zoo
>>> "ner-bilstm" in zoo.list_models()
True
>>> zoo.registry.get("ner-bilstm").task
'ner'
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from .errors import UnknownModelError

# The modules every application provides (DESIGN.md, "the same files in each"):
#   data      read(path) -> examples; fit_preprocessor(examples, **hp) -> (prep, init);
#             make_dataset(examples, preprocessor, batch_size, shuffle, seed) -> tf.data;
#             parity_examples(valid_examples) -> raw, JSON-able predict() inputs kept in
#             the bundle for export checks; optional labels_of(examples)
#   model     build(preprocessor, **hp) -> keras.Model; loss(model); host_constants(model) -> dict;
#             serving_function(model, preprocessor) -> tf.function on raw input, or None;
#             serving_results(outputs) -> predict()-style results for string signatures,
#             or serving_predict(signature, raw_examples, preprocessor) -> results where
#             the signature takes arrays (SavedModel export parity uses whichever exists)
#   evaluate  evaluate(zoo_model, examples) -> {"metric": value, ...}; HEADLINE (metric name),
#             optional GREATER_IS_BETTER = False for losses and errors (NLL, MASE, WER)
#   host      Host(config): numpy-only encode(inputs, **options) / decode(encoded, outputs),
#             agreement(a, b) in [0, 1]; module constant EMPTY_INPUT (a raw input that
#             must be refused, e.g. "" or an empty waveform)
#
# Autoregressive models (music, captioning, summarization, streaming speech) add:
#   model     export_functions(model, preprocessor) -> {name: keras.Model}: sub-models that
#             share the trained layers (an "encoder", one recurrent "step": frame + state in,
#             distribution + state out), static shapes with batch 1 so TFLite converts them
#             to builtins. Each becomes a TFLite signature, a SavedModel signature and an
#             ONNX file `<stem>.<name>.onnx`; export parity drives the host loop on both.
#   host      run(encoded, call) -> outputs for decode(): the numpy loop, where
#             call(name, {input: array}) -> {output: array} runs one function on whichever
#             backend (Keras, TFLite, ONNX Runtime); predict() uses it when present.
#             TASK_METHODS = ("generate", ...): Host methods `generate(call, **kw)` that
#             ZooModel and zoo.runtime models expose as `m.generate(**kw)`; `zoo predict
#             NAME --opt value` with no inputs runs the first one.


@dataclass(frozen=True)
class Entry:
    """One registered model: what it does and where its code, data and bundle live."""

    name: str
    task: str
    package: str                    # e.g. "pipelines.ner"; holds data/model/evaluate/host
    summary: str
    default_data: str               # folder under $ZOO_DATA the recipe trains on
    train_file: str                 # paths inside default_data (see zoo.data.read_split)
    valid_file: str
    recipe: dict = field(default_factory=dict)      # default hyper-parameters of `zoo train`
    paper: dict = field(default_factory=dict)       # the papers' numbers, shown beside ours
    bundle_dir: str = ""            # shipped bundle, relative to the repository root
    limits: str = ""                # the card's "intended use and limits" paragraph
    demo_inputs: tuple = ()         # raw inputs `zoo demo` runs the shipped model on
    tiny: dict = field(default_factory=dict)        # recipe overrides for a tiny test model

    def module(self, part: str):
        """Import one of the application's modules: 'data', 'model', 'evaluate' or 'host'."""
        return importlib.import_module(f"{self.package}.{part}")

    @property
    def host_module(self) -> str:
        return f"{self.package}.host"


_ENTRIES: dict[str, Entry] = {}
_discovered = False


def register(entry: Entry | None = None, **fields) -> Entry:
    """Add an entry to the index: `register(Entry(...))` or `register(name=..., ...)`."""
    entry = entry or Entry(**fields)
    _ENTRIES[entry.name] = entry
    return entry


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for ep in entry_points(group="zoo.pipelines"):
        importlib.import_module(ep.value)


def names() -> list[str]:
    _discover()
    return sorted(_ENTRIES)


def get(name: str) -> Entry:
    """The entry called `name`, or an UnknownModelError that suggests the closest names."""
    _discover()
    if name in _ENTRIES:
        return _ENTRIES[name]
    close = difflib.get_close_matches(name, list(_ENTRIES), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownModelError(
        f"unknown model {name!r}: it is neither a registered model nor a bundle directory."
        f"{hint} Registered models: {', '.join(sorted(_ENTRIES)) or 'none'}."
    )


def repo_root() -> Path:
    """The checkout the zoo runs from (saved_models/ lives here)."""
    return Path(__file__).resolve().parent.parent
