"""Exports: TFLite (builtin ops only, one signature per length: lite_buckets), ONNX (dynamic
shapes, via tf2onnx), SavedModel (a serving signature on raw input where the application
provides one). Models with exported functions (`model.export_functions`: an encoder, one
recurrent step) get one TFLite signature (batch 1; where the application has
`decode_functions`, also `<function>_rows<N>` for each of ROW_BATCHES, so a beam's rows
take one call), one SavedModel signature and one ONNX file (`<stem>.<function>.onnx`; any
batch where the application has `decode_functions`) per function, and a parity check that
drives the host's loop on both backends. Every export is followed by a parity check
against the Keras model on real examples; the report is returned and kept in the model's
metrics (and card). What a user of plain LiteRT / ONNX Runtime / TF Serving finds in each
(README, "Using an export in another program"): the sidecar's versions and sha256, ONNX
metadata_props and named `batch` / `time` axes, a lone TFLite signature under its
function's name, the SavedModel's assets/zoo.json.

>>> import zoo
>>> report = zoo.load("ner-bilstm").export("/tmp/ner.tflite")          # doctest: +SKIP
>>> report["agreement"]                                                # doctest: +SKIP
1.0
"""
from __future__ import annotations

import functools
import glob
import importlib
import json
import logging
import os
import shutil
import tempfile
import uuid
import warnings
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from .bundle import WRITE_ERRORS, json_lines, lock_file, sha256, swap_in, versions, writing
from .monitor import progress
from .errors import ExportError
from .options import check_number
from .runtime import load as runtime_load, sidecar_path

log = logging.getLogger("zoo")
# Batch sizes of the extra TFLite signatures of applications whose host loop sends a batch
# of rows (a beam, a document's draws; `decode_functions`): zoo.runtime pads a call's rows
# up to the next one. A caption step takes 0.27 ms for one row, 0.31 for three and 0.79
# for twelve (benchmarks/results/lite_step_batch.md), so rows are cheaper together.
ROW_BATCHES = (4, 16)


def export_versions(fmt: str) -> dict:
    """The library versions that wrote an export, recorded beside it (sidecar, ONNX
    metadata_props, the SavedModel's assets/zoo.json): a file taken to another program
    said nothing of what made it."""
    tools = {"tflite": ("tensorflow",), "onnx": ("tensorflow", "tf2onnx", "onnx"),
             "saved_model": ("tensorflow", "keras")}[fmt]
    return versions("rnn-zoo", *tools)


def _signature_fn(model, shapes: dict, name: str = "features"):
    """A tf.function over named tensor inputs of the given shapes, returning the dict output.
    `name` becomes the TFLite signature key."""
    specs = {k: tf.TensorSpec(shape, dtype, name=k) for k, (shape, dtype) in shapes.items()}

    def fn(inputs):
        return model(inputs, training=False)

    fn.__name__ = name
    return tf.function(fn, input_signature=[specs])


def _frozen(fn, key: str):
    """`fn` with its weights frozen into constants, keeping its name and output names.

    Left as resource variables, the recurrent WHILE loops fail at run time in LiteRT
    (READ_VARIABLE: variable != nullptr); freezing alone renames every function "pruned"
    and the outputs "output_0", so the frozen graph is wrapped again under `key`."""
    concrete = fn.get_concrete_function()
    frozen = convert_variables_to_constants_v2(concrete)
    specs = concrete.structured_input_signature[0][0]
    out_keys = sorted(concrete.structured_outputs)

    def wrapped(inputs):
        outs = frozen(*[inputs[k] for k in sorted(inputs)])
        return dict(zip(out_keys, outs))

    wrapped.__name__ = key
    return tf.function(wrapped, input_signature=[specs]).get_concrete_function()


def _input_shapes(model, length):
    """Model inputs with batch 1 and axis 1 fixed to `length` (None keeps it dynamic)."""
    shapes = {}
    for t in model.inputs:
        shape = list(t.shape)
        shape[0] = 1 if length else None
        if len(shape) > 1 and shape[1] is None and length:
            shape[1] = length
        shapes[t.name] = (shape, t.dtype)
    return shapes


def builtin_op_names(tflite_path: Path) -> list[str]:
    """Operator names in a .tflite file; Flex (Select TF) ops show up as FlexXxx / CUSTOM."""
    from ai_edge_litert.interpreter import Interpreter

    ops = Interpreter(model_path=str(tflite_path))._get_ops_details()
    return sorted({op["op_name"] for op in ops})


def _static_shapes(model, batch: int = 1) -> dict:
    """Inputs with batch `batch` and the model's other dimensions."""
    return {t.name: ([batch, *t.shape[1:]], t.dtype) for t in model.inputs}


def lite_buckets(buckets):
    """The lengths of a TFLite export's signatures: the training buckets, plus halfway
    between each pair that doubles (or more) and half the smallest, rounded up to a
    multiple of 8 (a speech front end's stride divides it). TFLite runs batch 1 at a fixed
    length, so a sentence pads up to the next signature: ner-bilstm len_8 takes 0.27 ms
    against 0.50 for len_16. Buckets already that fine get no more: the converter holds
    every signature at once (ner-bilstm: 1.4 GB with one, 4.3 GB with eight).

    >>> lite_buckets([16, 32, 64, 128])
    [8, 16, 24, 32, 48, 64, 96, 128]
    >>> lite_buckets([8, 16, 24, 32, 48, 64, 96, 128])
    [8, 16, 24, 32, 48, 64, 96, 128]
    """
    if not buckets:
        return buckets
    b = sorted(buckets)
    extra = [b[0] // 2] + [(x + y) // 2 for x, y in zip(b, b[1:]) if y >= 2 * x]
    return sorted({*b, *(-(-e // 8) * 8 for e in extra if e >= 8)})


def tflite_bytes(model, sigs: dict, quantize: str | None = None) -> bytes:
    """The TFLite flatbuffer of signatures {name: _signature_fn(...)} over `model`'s
    weights, builtin ops only (no Flex: phones)."""
    module = tf.Module()
    module.model = model
    conv = tf.lite.TFLiteConverter.from_concrete_functions(
        [_frozen(fn, key) for key, fn in sigs.items()], module)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize in ("dynamic", "float16"):
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        conv.target_spec.supported_types = [tf.float16]
    try:
        lite = conv.convert()
    except Exception as e:
        raise ExportError(f"TFLite conversion with builtin ops only failed: {str(e)[:400]}") from None
    (key,) = sigs if len(sigs) == 1 else ("serving_default",)
    if key != "serving_default":
        # the converter names a lone signature "serving_default": music-lstm's `step` was
        # not in get_signature_list() of a plain Interpreter, though the docs name it
        from tensorflow.lite.tools import flatbuffer_utils

        flat = flatbuffer_utils.read_model_from_bytearray(bytearray(lite))
        flat.signatureDefs[0].signatureKey = key.encode()
        lite = bytes(flatbuffer_utils.convert_object_to_bytearray(flat))
    return lite


def to_tflite(zm, path: Path, quantize: str | None = None) -> None:
    model, buckets = zm.keras_model, lite_buckets(zm.preprocessor.get("buckets")) or [None]
    sigs = {}
    functions = zm.functions()
    if functions:            # one signature per function (encoder, step, ...), batch 1
        for key, (fn_model, _) in functions.items():
            sigs[key] = _signature_fn(fn_model, _static_shapes(fn_model), key)
        for key, fn_model in zm.batch_functions().items():     # and at ROW_BATCHES rows
            for rows in ROW_BATCHES:
                sigs[f"{key}_rows{rows}"] = _signature_fn(fn_model, _static_shapes(fn_model, rows),
                                                          f"{key}_rows{rows}")
    for b in [] if functions else buckets:
        key = f"len_{b}" if b else "serving_default"
        shapes = _input_shapes(model, b) if b else _static_shapes(model)
        sigs[key] = _signature_fn(model, shapes, key)
    path.write_bytes(tflite_bytes(model, sigs, quantize))
    bad = [op for op in builtin_op_names(path) if op.startswith("Flex") or op == "CUSTOM"]
    if bad:
        raise ExportError(f"{path}: non-builtin ops {bad}; mobile runtimes would need TF ops")


def function_onnx_path(path: Path, name: str) -> Path:
    """Where the ONNX export of function `name` goes: `music.onnx` -> `music.step.onnx`."""
    return path.with_name(f"{path.stem}.{name}.onnx")


def to_onnx(zm, path: Path) -> list[str] | dict:
    """Write the model (or, for function models, one file per function); return the
    output names in graph order (a dict per function for function models). Functions
    take any batch where the application has `decode_functions` (the runtime then gives
    a beam, or a document's draws, to one call), else batch 1."""
    functions = zm.functions()
    if functions:
        batch = zm.batch_functions()        # the same functions (names), any batch
        models = batch or {key: fn_model for key, (fn_model, _) in functions.items()}
        return {key: _onnx_one(model, function_onnx_path(path, key), function=True,
                               batch=None if batch else 1, about=(zm.entry.name, path))
                for key, model in models.items()}
    return _onnx_one(zm.keras_model, path, about=(zm.entry.name, path))


def _onnx_one(model, path: Path, function: bool = False, batch: int | None = None,
              about: tuple | None = None) -> list[str]:
    import tf2onnx

    names = [t.name for t in model.inputs]
    specs = [tf.TensorSpec([batch, *t.shape[1:]], t.dtype, name=t.name) for t in model.inputs]

    @tf.function(input_signature=specs)
    def fn(*args):
        out = model(dict(zip(names, args)), training=False)
        # Graph outputs must not reuse input names (a recurrent step's state "h" in and
        # out); the order (sorted keys) is what the sidecar maps back to our names.
        return {f"out_{k}": v for k, v in out.items()} if function else out

    try:
        tf2onnx.convert.from_function(fn, input_signature=specs, opset=17, output_path=str(path))
    except Exception as e:
        raise ExportError(f"ONNX conversion failed: {str(e)[:400]}") from None
    if about:
        _describe_onnx(path, *about)
    return sorted(model.output.keys()) if isinstance(model.output, dict) else ["output"]


def _describe_onnx(path: Path, name: str, main: Path) -> None:
    """Name the free axes and say what the file is, for a user of plain onnxruntime:
    tf2onnx leaves the axes "unk__111" and no metadata_props, so neither the batch and time
    axes nor the sidecar holding the labels / vocabulary / scaler could be found from the
    file. Inputs' axis 0 is "batch" and axis 1 "time" (every sequence input); an output's
    free axes are "batch" and "<output>_<axis>" (speech's time is subsampled). Nodes and
    constants are named by what they compute (zoo.onnx_names): the same weights export to
    the same bytes, not to names from TensorFlow's and tf2onnx's counters."""
    import onnx

    from .onnx_names import canonicalize

    m = onnx.load(str(path))
    canonicalize(m)
    for group, is_input in ((m.graph.input, True), (m.graph.output, False)):
        for value in group:
            for i, dim in enumerate(value.type.tensor_type.shape.dim):
                if dim.HasField("dim_value"):
                    continue
                dim.dim_param = ("batch" if i == 0 else "time" if is_input and i == 1
                                 else f"{value.name}_{i}")
    props = {"zoo.model": name, "zoo.sidecar": sidecar_path(main).name,
             "zoo.versions": json.dumps(export_versions("onnx"))}
    del m.metadata_props[:]
    for key, value in props.items():
        m.metadata_props.add(key=key, value=value)
    m.graph.name = name         # Netron and onnx.helper.printable_graph showed "tf2onnx"
    m.doc_string = (f"rnn-zoo export of {name}; the host configuration (labels, vocabulary, "
                    f"scaler) is in {props['zoo.sidecar']}")
    onnx.save(m, str(path))


def to_saved_model(zm, path: Path) -> None:
    model = zm.keras_model
    module = tf.Module()
    module.model = model
    sigs = {"features": _signature_fn(model, _input_shapes(model, None))}
    module.function_models = [m for m, _ in zm.functions().values()]   # tracks their weights
    for key, (fn_model, _) in zm.functions().items():
        sigs[key] = _signature_fn(fn_model, _static_shapes(fn_model), key)
    serving = zm.entry.module("model").serving_function(model, zm.preprocessor)
    if serving is not None:             # a tf.Module with a `serve` tf.function on raw input
        module.serving = serving
        sigs["serving_default"] = serving.serve
    tf.saved_model.save(module, str(path), signatures=sigs)
    (path / "assets").mkdir(exist_ok=True)
    # the versions and the sha256 of the graph and weights, as a bundle's manifest has them:
    # the folder taken to TF Serving or another machine said nothing of what wrote it
    # (not TensorFlow's fingerprint.pb, a random uuid each save: two identical exports
    # then differed in this file too; the graph's and weights' hashes are in it anyway)
    files = {p.relative_to(path).as_posix(): sha256(p) for p in sorted(path.rglob("*"))
             if p.is_file() and p.name != "fingerprint.pb"}
    (path / "assets" / "zoo.json").write_text(json_lines(
        {"model": zm.entry.name, "host": zm.entry.host_module, "config": zm.host_config(),
         "signatures": sorted(sigs), "versions": export_versions("saved_model"),
         "sha256": files}) + "\n", encoding="utf-8")


def _is_saved_model_export(path: Path) -> bool:
    return (path / "saved_model.pb").is_file() and (path / "assets" / "zoo.json").is_file()


def _staging_folder(path: Path, overwrite: bool) -> Path:
    """An empty folder beside `path` to write a SavedModel into. `path` itself must be
    absent, an empty folder or an earlier SavedModel export: anything else (a folder of
    the user's files) is only replaced with `overwrite=True`."""
    if not overwrite and (path.exists() or path.is_symlink()):
        ours = path.is_dir() and not path.is_symlink() and (
            not any(path.iterdir()) or _is_saved_model_export(path))
        if not ours:
            raise ExportError(f"{path}: exists and is not an empty folder or an earlier "
                              f"SavedModel export; pass overwrite=True (zoo export "
                              f"--overwrite) to replace it")
    staging = _beside(path, "tmp")
    staging.mkdir()                   # not mkdtemp: its 0700 would stay on the export
    return staging


def clear_staged(path: Path) -> None:
    """Clear what exports to `path` killed (SIGKILL, a power cut) left beside it: their
    staging folders (`_beside`, a whole unchecked model each) are removed, and an earlier
    export swap_in had moved aside goes back to `path` if nothing took its place. Hidden,
    they were never taken for the export, but every kill left one for good. Only under
    `path`'s lock (zoo.bundle.writing): no other export to `path` is running."""
    for tag in ("old", "tmp"):
        for left in sorted(path.parent.glob(f".{glob.escape(path.name)}.{tag}-*")):
            if tag == "old" and not (path.exists() or path.is_symlink()):
                os.rename(left, path)
            elif left.is_dir() and not left.is_symlink():
                shutil.rmtree(left, ignore_errors=True)
            else:
                left.unlink(missing_ok=True)


def _beside(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{tag}-{uuid.uuid4().hex[:8]}")


def _write_sidecar(zm, path: Path, fmt: str, quantize, outputs=None) -> None:
    """`zoo.runtime` reads the host module and config from here, and refuses model files
    whose sha256 differs from the one recorded (a string, or one per ONNX function file)."""
    buckets = zm.preprocessor.get("buckets")
    meta = {"model": zm.entry.name, "format": fmt, "quantize": quantize,
            "host": zm.entry.host_module, "config": zm.host_config(),
            "buckets": lite_buckets(buckets) if fmt == "tflite" else buckets,
            "outputs": outputs, "versions": export_versions(fmt)}
    meta["sha256"] = sha256(path) if path.exists() else None
    if zm.functions():      # TFLite: signature names; ONNX: the file of each function
        names = list(zm.functions())
        meta["functions"] = (names if fmt == "tflite" else
                             {k: function_onnx_path(path, k).name for k in names})
        if fmt == "tflite" and zm.batch_functions():
            meta["row_batches"] = list(ROW_BATCHES)
        if fmt == "onnx":
            meta["sha256"] = {f: sha256(path.parent / f) for f in meta["functions"].values()}
    # a line a key, as a bundle's preprocessor.json (diffs of two exports' sidecars)
    sidecar_path(path).write_text(json_lines(meta) + "\n", encoding="utf-8")


def bundle_examples(check):
    """`check` run without the hosts' warnings about its inputs: the parity examples are
    the bundle's own, and "input 8: 160 subword tokens; the model reads the first 128"
    read as if the user's exports had been given long input."""
    @functools.wraps(check)
    def quiet(*args, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return check(*args, **kwargs)
    return quiet


@bundle_examples
def function_parity(zm, other_call, examples=None) -> dict:
    """Parity for models whose host drives a loop over exported functions: the host loop
    runs once on each backend (agreement of task outputs), and every function call the
    Keras loop made is replayed on the other backend with the same inputs (max abs diff)."""
    examples = examples or zm.parity_examples()
    if not examples:
        raise ExportError("no parity examples: the bundle's preprocessor has no 'examples'; "
                          "expected a list of raw inputs there, as zoo train writes it")
    host, calls = zm.host(), []

    def recording(name, inputs):
        out = zm.call_function(name, inputs)
        calls.append((name, inputs, out))
        return out

    encoded = host.encode(examples)
    ours = host.decode(encoded, host.run(encoded, recording))
    encoded = host.encode(examples)
    theirs = host.decode(encoded, host.run(encoded, other_call))
    diff = max((float(np.max(np.abs(out[k] - other_call(name, inputs)[k])))
                for name, inputs, out in calls for k in out), default=float("nan"))
    return {"agreement": float(host.agreement(ours, theirs)), "examples": len(examples),
            "max_abs_diff": diff, "function_calls": len(calls)}


@bundle_examples
def parity(zm, other_predict, other_units=None, examples=None) -> dict:
    """Agreement of task outputs (and max abs diff of raw outputs) against the Keras model."""
    examples = examples or zm.parity_examples()
    if not examples:
        raise ExportError("no parity examples: the bundle's preprocessor has no 'examples'; "
                          "expected a list of raw inputs there, as zoo train writes it")
    host = zm.host()
    ours = zm.predict(examples)
    theirs = other_predict(examples)
    report = {"agreement": float(host.agreement(ours, theirs)), "examples": len(examples),
              "max_abs_diff": None}     # None: only task outputs compared (a SavedModel's)
    if other_units is not None:
        units = host.encode(examples).units
        a, b = zm.predict_units(units), other_units(units)
        report["max_abs_diff"] = float(max(np.max(np.abs(x[k] - y[k])) for x, y in zip(a, b) for k in x))
    return report


# What an export imports to convert and to check parity (zoo.runtime), by its suffix: one
# not installed was a ModuleNotFoundError after the conversion (minutes for a large model).
CONVERTERS = {".tflite": ("ai_edge_litert.interpreter",),
              ".onnx": ("tf2onnx", "onnx", "onnxruntime")}


def export(zm, path: Path, quantize: str | None = None, overwrite: bool = False,
           min_agreement: float | None = None) -> dict:
    """Write `path` (.tflite, .onnx, or a SavedModel folder) and check parity. A SavedModel
    is written beside `path` and moved into place after its parity check, so a failed
    export leaves the old folder as it was; a folder that is not an earlier export is
    refused unless `overwrite=True`."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind in (".tflite", ".onnx") and path.suffix != kind:      # was a SavedModel folder
        raise ExportError(f"{path}: write the suffix in lower case ({kind}); zoo.runtime, "
                          f"serve and batch-predict know an export by it")
    if kind in (".tflite", ".onnx"):    # failed only after the conversion and parity check
        if path.is_dir():
            raise ExportError(f"{path}: is a folder; expected the {kind} file to write, e.g. "
                              f"{path / ('model' + kind)}")
        if len(os.fsencode(path.name + ".json")) > 255:        # its sidecar's name
            raise ExportError(f"{path.name[:60]}... ({len(os.fsencode(path.name))} bytes): "
                              f"too long a file name; expected at most 250 bytes")
    if min_agreement is not None:       # a string was a raw TypeError after the export
        check_number(min_agreement, "min_agreement", 0, 1)
    if quantize not in (None, "dynamic", "float16"):
        raise ExportError(f"quantize must be 'dynamic' or 'float16'; got {quantize!r}")
    if quantize and path.suffix != ".tflite":
        raise ExportError(f"quantize applies to TFLite exports only; {path.name} would be a "
                          f"float32 {'ONNX' if path.suffix == '.onnx' else 'SavedModel'}; "
                          f"expected a .tflite path, or no quantize")
    for module in CONVERTERS.get(kind, ()):
        importlib.import_module(module)     # missing: found before the work, not after it
    path.parent.mkdir(parents=True, exist_ok=True)
    # one writer at a time: two exports to one file at once left a model whose sidecar
    # records the other's sha256 (not loadable), and both said "exported"
    with writing(path, lock_file(path, "export")):
        clear_staged(path)
        try:
            return _write(zm, path, quantize, overwrite, min_agreement)
        except (OSError, tf.errors.OpError) as e:
            # a full disk (the folder's, or the converters' temp folder's) was a bare "error:
            # File too large" naming no file, or TensorFlow's traceback from SaveV2 (an
            # OutOfRangeError saying "File too large"); the staging copy is gone, `path` as it was
            code = e.errno if isinstance(e, OSError) else next(
                (c for c in WRITE_ERRORS if os.strerror(c) in str(e)), None)
            if code not in WRITE_ERRORS:
                raise
            where = f" (writing {e.filename})" if getattr(e, "filename", None) else ""
            kept = (f"the earlier export at {path} is unchanged" if path.exists() else
                    f"nothing was written at {path}")
            raise ExportError(f"{path}: cannot write the export{where}: "
                              f"{WRITE_ERRORS[code]}; {kept}; free some space (the temp "
                              f"folder {tempfile.gettempdir()} too) and export again") from None


def _write(zm, path: Path, quantize, overwrite: bool, min_agreement) -> dict:
    functions = bool(zm.functions())
    kind = {".tflite": "TFLite", ".onnx": "ONNX"}.get(path.suffix, "SavedModel")
    bar = progress(total=2, desc=f"export: writing {kind}", unit="stage")
    checking = f"export: parity of {kind} with Keras on {len(zm.parity_examples())} examples"
    if path.suffix in (".tflite", ".onnx"):
        fmt = path.suffix[1:]
        # Written and checked in a folder beside `path`, then moved into place (the sidecar
        # last): a failed parity check left its model and sidecar over the earlier export,
        # loadable as if it had passed, and a failed write left half a file
        staging = _beside(path, "tmp")
        try:
            staging.mkdir()
        except OSError as e:    # a read-only folder: name the file asked for, not the staging
            raise OSError(e.errno, e.strerror, str(path)) from None
        try:
            staged = staging / path.name
            if fmt == "tflite":
                to_tflite(zm, staged, quantize)
                _write_sidecar(zm, staged, fmt, quantize)
            else:
                _write_sidecar(zm, staged, fmt, quantize, to_onnx(zm, staged))
            bar.update(), bar.set_description_str(checking)   # (set_description adds ": ")
            rt = runtime_load(staged)
            report = (function_parity(zm, rt.loop_call()) if functions
                      else parity(zm, rt.predict, rt.predict_units))
            check_parity(zm.entry, report, path, quantize, min_agreement)
            sidecar = sidecar_path(staged)
            for f in [*(f for f in staging.iterdir() if f != sidecar), sidecar]:
                os.replace(f, path.with_name(f.name))
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    else:
        fmt = "saved_model"
        staging = _staging_folder(path.resolve(), overwrite)
        try:
            to_saved_model(zm, staging)
            bar.update(), bar.set_description_str(checking)   # (set_description adds ": ")
            report = (function_parity(zm, _saved_model_caller(staging)) if functions
                      else parity(zm, _saved_model_predictor(zm, staging)))
            check_parity(zm.entry, report, path, quantize, min_agreement)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        swap_in(staging, path.resolve())
    bar.update(), bar.close()
    report.update(format=fmt + (f"-{quantize}" if quantize else ""), path=str(path),
                  size_mb=round(artifact_size(path) / 2**20, 3))
    diff = report["max_abs_diff"]       # None where only task outputs are compared
    log.info("exported %s: agreement %.4f on %d examples%s", path, report["agreement"],
             report["examples"], "" if diff is None else f", max abs diff {diff:.2e}")
    zm.metrics.setdefault("parity", {})[report["format"]] = report
    return report


def check_parity(entry, report: dict, path: Path, quantize: str | None,
                 min_agreement: float | None = None) -> None:
    """The entry's tolerances (zoo.registry.Entry): every export agrees with the Keras
    model's answers on at least `quantized_agreement` of the parity examples, and a float
    export's raw outputs are within `parity_max_abs_diff` of Keras's (its answers can then
    differ only where two were tied that closely: a barely trained model's tags, say)."""
    floor = entry.quantized_agreement if min_agreement is None else min_agreement
    if report["agreement"] < floor:
        raise ExportError(f"{path}: parity check failed, agreement {report['agreement']:.3f} "
                          f"with the Keras model; expected at least {floor} ({entry.name}'s "
                          f"floor)")
    diff = report["max_abs_diff"]
    if not quantize and diff is not None and diff > entry.parity_max_abs_diff:
        raise ExportError(f"{path}: parity check failed, raw outputs differ by {diff:.2e} from "
                          f"the Keras model's; expected at most {entry.parity_max_abs_diff:.0e}")


def _saved_model_predictor(zm, path: Path):
    import tensorflow_text  # noqa: F401  (registers the ops the serving graph uses)

    loaded = tf.saved_model.load(str(path))
    fn = loaded.signatures.get("serving_default")
    module = zm.entry.module("model")
    return lambda examples: module.serving_predict(fn, examples, zm.preprocessor)


def _saved_model_caller(path: Path):
    """`call(name, inputs)` over a SavedModel's per-function signatures."""
    loaded = tf.saved_model.load(str(path))

    def call(name, inputs):
        out = loaded.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
        return {k: v.numpy() for k, v in out.items()}

    return call


def artifact_size(path: Path) -> int:
    """Bytes of an export: a file, a SavedModel folder, or the ONNX files of its functions."""
    if not path.exists():          # ONNX function models: one file per function
        return sum(p.stat().st_size for p in path.parent.glob(f"{path.stem}.*.onnx"))
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size
