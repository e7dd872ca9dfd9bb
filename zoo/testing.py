"""The harness every registered model passes without trained weights (keras-hub's
`run_task_test`, timm's `pretrained=False`): a tiny model of the entry is trained for a
few steps on a real slice of its data, saved and loaded, exported to TFLite (builtin ops
only, float and int8 weights), ONNX and SavedModel with parity, run by `zoo.runtime` in a
process without TensorFlow, and fed bad input.

A new application gets all of it by giving its `register(...)` a `tiny={...}`: recipe
overrides that make the model small (units, layers, embedding sizes, buckets), so that
it trains two steps in seconds. tests/test_harness.py runs every check below over
`zoo.list_models()`; to run them by hand on one entry:

>>> from zoo import testing
>>> zm = testing.tiny_model("forecast-lstm", "/tmp/tiny-forecast")       # doctest: +SKIP
>>> testing.check_all(zm, "/tmp/tiny-forecast/checks")                   # doctest: +SKIP

or both at once, `testing.check_entry("forecast-lstm", "/tmp/tiny-forecast")`.
"""
from __future__ import annotations

import importlib
import math
import pickle
import re
import subprocess
import sys
from pathlib import Path

from . import registry
from .data import data_root, read_split
from .errors import InputError

# Two steps of one epoch; no gradient plots, no XLA (compiling costs more than it saves).
FEW_STEPS = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "patience": 1,
             "monitor_gradients": False, "jit_compile": False}
SLICE = {"train": 64, "valid": 32}      # examples read from each split of the real data
UNTRAINED_AGREEMENT = 0.9       # int8 exports of a model trained two steps
EXPORTS = (("model.tflite", None), ("model-dynamic.tflite", "dynamic"), ("model.onnx", None),
           ("saved_model", None))


def tiny_data(entry, data_dir: str | Path | None = None) -> tuple[list, list]:
    """(train, valid): the first SLICE examples of each split of the entry's default data
    under `data_dir` (default: $ZOO_DATA)."""
    folder = Path(data_dir or data_root()) / entry.default_data
    return tuple(read_split(entry, folder, split)[:n] for split, n in SLICE.items())


def train_tiny(entry, train_ex: list, valid_ex: list, work: Path):
    """Train a tiny model of `entry` from scratch, its recipe with FEW_STEPS and the entry's
    `tiny` overrides, and check that one epoch ran with a finite loss and validation score.
    (The one place the harness calls the training code.)"""
    from .recipes import train_on
    from .training import read_state

    zm = train_on(entry, entry.hparams(**{**FEW_STEPS, **entry.tiny}), train_ex, valid_ex,
                  Path(work))
    [epoch] = read_state(Path(work))["history"]
    headline = f"val_{entry.module('evaluate').HEADLINE}"
    assert math.isfinite(epoch["loss"]) and math.isfinite(epoch[headline]), epoch
    return zm


def tiny_model(name: str, work: str | Path, data_dir: str | Path | None = None):
    """A tiny `name` model trained a few steps on a slice of real data (a ZooModel)."""
    entry = registry.get(name)
    return train_tiny(entry, *tiny_data(entry, data_dir), Path(work))


def check_entry(name: str, work: str | Path, data_dir: str | Path | None = None) -> dict:
    """What tests/test_harness.py checks of every registered entry, on one (an
    application of your own, before it has ever been trained): a tiny model trained on
    `data_dir` (default: $ZOO_DATA) laid out as the entry's `default_data`, then
    `check_all`. Returns the export parity reports; a failed check raises."""
    entry = registry.get(name)
    if not entry.tiny:      # the harness's model would be the full recipe's, for minutes
        raise InputError(f"{name}: register(..., tiny={{...}}) is empty; expected recipe "
                         f"overrides that make a model of a few thousand weights")
    return check_all(tiny_model(name, Path(work) / "tiny", data_dir), Path(work) / "checks")


def tolerances(entry) -> dict:
    """Export parity bounds for a tiny model: float exports give the Keras answers, raw
    outputs within the entry's `parity_max_abs_diff` (more where its outputs are logs of
    tiny sums). With int8 weights an untrained model's near-ties flip more often than a
    trained model's (whose floor, the entry's `quantized_agreement`, the exporter applies
    to the shipped bundles), so here the floor is UNTRAINED_AGREEMENT at most: below it an
    export is broken, not merely quantized."""
    return {"max_abs_diff": entry.parity_max_abs_diff,
            "quantized_agreement": min(UNTRAINED_AGREEMENT, entry.quantized_agreement)}


def check_save_load(zm, directory: str | Path):
    """save() then zoo.load() gives a model with the same weights and answers."""
    import numpy as np

    from .model import ZooModel

    examples = zm.parity_examples()[:4]
    assert examples, "the model keeps real examples for its export checks"
    loaded = ZooModel.load(zm.save(directory))
    assert all(np.array_equal(a, b) for a, b in zip(zm.keras_model.get_weights(),
                                                    loaded.keras_model.get_weights()))
    first, again = zm.predict(examples), loaded.predict(examples)
    assert len(first) == len(examples)
    assert zm.host().agreement(again, first) == 1.0
    return loaded


def check_export(zm, path: str | Path, quantize: str | None = None) -> dict:
    """Export to `path` (.tflite, .onnx or a SavedModel folder) and check the parity report
    against `tolerances`; a .tflite file must use builtin ops only. Returns the report."""
    from .export import builtin_op_names

    path = Path(path)
    bounds = tolerances(zm.entry)
    report = zm.export(path, quantize=quantize, min_agreement=bounds["quantized_agreement"])
    assert report["examples"] == len(zm.parity_examples()), report
    if quantize:
        assert report["agreement"] >= bounds["quantized_agreement"], report
    else:
        assert report["agreement"] == 1.0, report
        if report["max_abs_diff"] is not None:     # a SavedModel's is not measured
            assert report["max_abs_diff"] < bounds["max_abs_diff"], report
    if path.suffix == ".tflite":
        ops = builtin_op_names(path)
        assert ops and not [o for o in ops if o.startswith("Flex") or o == "CUSTOM"], ops
        # TFLite leaves weights under 1024 values in float: a tiny recipe needs one larger
        # matrix (e.g. units 16: a 16 x 64 recurrent kernel), or this export tests nothing.
        assert (quantize == "dynamic") == bool(int8_tensors(path)), (
            f"{path.name}: int8 weights iff quantize='dynamic'; got {bool(int8_tensors(path))} "
            f"(TFLite keeps weights under 1024 values in float: register(tiny=...) needs one "
            f"larger matrix)")
    return report


def int8_tensors(tflite_path: Path) -> list[str]:
    """Names of the int8 tensors (quantized weights) in every subgraph of a .tflite file
    (the interpreter lists the main graph only; recurrent weights live in loop bodies)."""
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(Path(tflite_path).read_bytes(), 0)
    return [g.Tensors(i).Name().decode() for g in map(model.Subgraphs, range(model.SubgraphsLength()))
            for i in range(g.TensorsLength()) if g.Tensors(i).Type() == schema.TensorType.INT8]


# Runs in a fresh interpreter: loads each export with zoo.runtime, predicts, and proves
# that TensorFlow was never imported (a phone or a server without it can run the export).
RUNTIME_SCRIPT = r'''
import pickle, sys
import zoo.runtime

examples = pickle.load(open(sys.argv[1], "rb"))
answers = [zoo.runtime.load(p).predict(examples) for p in sys.argv[3:]]
assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "TensorFlow was imported"
pickle.dump(answers, open(sys.argv[2], "wb"))
'''


def check_runtime_without_tensorflow(zm, paths: list, work: str | Path) -> None:
    """zoo.runtime, in a process that never imports TensorFlow, gives each export in
    `paths` (.tflite / .onnx) the answers it gives here (where export parity compared
    them with the Keras model's)."""
    from . import runtime

    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    examples = zm.parity_examples()[:4]
    (work / "examples.pkl").write_bytes(pickle.dumps(examples))
    done = subprocess.run([sys.executable, "-c", RUNTIME_SCRIPT, str(work / "examples.pkl"),
                           str(work / "answers.pkl"), *map(str, paths)],
                          check=False, capture_output=True, text=True, timeout=300,
                          cwd=registry.repo_root())
    assert done.returncode == 0, done.stderr[-3000:]
    host = zm.host()
    for path, answers in zip(paths, pickle.loads((work / "answers.pkl").read_bytes()), strict=True):
        assert host.agreement(answers, runtime.load(path).predict(examples)) == 1.0, path


def check_bad_inputs(zm) -> None:
    """No inputs, and the host's EMPTY_INPUT (an empty sentence, waveform, image, ...), are
    refused with the project's InputError, not a traceback from deep inside."""
    empty = importlib.import_module(zm.entry.host_module).EMPTY_INPUT
    expect_error(InputError, "non-empty", zm.predict, [])
    expect_error(InputError, "input 0", zm.predict, [empty])
    expect_error(InputError, "unknown", zm.predict, zm.parity_examples()[:1], no_such_option=1)


def expect_error(error: type, match: str, call, *args, **kwargs) -> None:
    """`call(*args, **kwargs)` raises `error` with a message that matches `match` (like
    pytest.raises, without needing pytest)."""
    try:
        call(*args, **kwargs)
    except error as e:
        assert re.search(match, str(e)), f"{error.__name__} {str(e)!r} does not match {match!r}"
        return
    raise AssertionError(f"{call.__name__} did not raise {error.__name__} ({match!r})")


def check_all(zm, work: str | Path) -> dict:
    """Every check above on one model; returns the export parity reports by file name."""
    work = Path(work)
    check_save_load(zm, work / "bundle")
    reports = {target: check_export(zm, work / target, quantize) for target, quantize in EXPORTS}
    check_runtime_without_tensorflow(
        zm, [work / t for t, _ in EXPORTS if t.endswith((".tflite", ".onnx"))], work / "runtime")
    check_bad_inputs(zm)
    return reports
