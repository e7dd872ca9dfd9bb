"""Where one call's time goes in TFLite and ONNX Runtime: the exported graph cut after
named layers, each cut converted as `zoo export` converts it and timed alone at batch 1.

LiteRT's Python API has no per-operator profiler; timing the graph up to each cut is the
next best thing (the difference between two rows is what the layers between them cost).
For a recurrent model it also times its recurrent products alone, each direction's
`h @ recurrent_kernel` (and `x @ kernel`) in a WHILE loop of the same length: the floor
no element-wise work can go under.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.lite_parts [NAME ...]

writes benchmarks/results/lite_parts.md (a minute or two; nothing is trained).
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from .harness import RESULTS, run_lines, timed, write_markdown

CALLS = 300


def ner_inputs(zm) -> tuple[dict, int]:
    """The first CoNLL valid sentence of 30 tokens, padded to the len_32 signature."""
    from zoo.data import data_root, read_split
    from zoo.runtime import pad_to

    tokens = next(ex["tokens"] for ex in read_split(zm.entry, data_root() / zm.entry.default_data,
                                                    "valid") if len(ex["tokens"]) == 30)
    unit = zm.host().encode([tokens]).units[0]
    return {k: pad_to(np.asarray(v, np.int32), 32)[None] for k, v in unit.items()}, 32


def summarize_inputs(zm) -> tuple[dict, None]:
    """The first decoder step of a Debian valid document."""
    from zoo.data import data_root
    from zoo_pipelines.summarization import data as D

    from .summarize_attn import first_step_inputs

    doc = D.read_split(data_root() / zm.entry.default_data, "valid")[0]["document"]
    return first_step_inputs(zm, doc), None


# name: (exported function or None for the model, layers to cut after (None: whole), inputs)
CUTS = {"ner-bilstm": (None, ["features", "encoder", None], ner_inputs),
        "summarize-attn": ("step", ["step", "vocab", None], summarize_inputs)}


def p50_ms(call) -> float:
    return timed(lambda _: call(), range(CALLS), range(20))["p50"]


def runners(keras_model, inputs: dict, length: int | None, folder: Path) -> dict:
    """{runtime: call} for `keras_model` converted as zoo.export converts it."""
    import onnxruntime as ort
    from ai_edge_litert.interpreter import Interpreter

    from zoo import export as E

    shapes = E._input_shapes(keras_model, length) if length else E._static_shapes(keras_model)
    lite = E.tflite_bytes(keras_model, {"part": E._signature_fn(keras_model, shapes, "part")})
    E._onnx_one(keras_model, folder / "part.onnx", batch=None if length else 1)
    out = {}
    for label, threads in (("TFLite", None), ("TFLite, 1 thread", 1)):
        interpreter = Interpreter(model_content=lite, num_threads=threads)
        run = interpreter.get_signature_runner(list(interpreter.get_signature_list())[0])
        out[label] = lambda run=run: run(**inputs)
    session = ort.InferenceSession(str(folder / "part.onnx"), providers=["CPUExecutionProvider"])
    feed = {i.name: inputs[i.name] for i in session.get_inputs()}
    out["ONNX Runtime"] = lambda: session.run(None, feed)
    return out


def recurrent_floor(keras_model, length: int) -> dict | None:
    """{label: call}: each LSTM direction's products alone, in WHILE loops of `length` steps."""
    import keras
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    cells = [l.cell for l in keras_model._flatten_layers() if isinstance(l, keras.layers.LSTM)]
    if not cells:
        return None
    inner = [(tf.constant(c.kernel.numpy()), tf.constant(c.recurrent_kernel.numpy())) for c in cells]
    calls = {}
    for label, with_inputs in (("recurrent products h @ U alone", False),
                               ("recurrent and input products alone", True)):
        @tf.function(input_signature=[])
        def fn(with_inputs=with_inputs):
            total = tf.zeros(())
            for kernel, recurrent in inner:
                x = tf.ones((length, 1, kernel.shape[0])) * 0.01

                def body(t, h, kernel=kernel, recurrent=recurrent, x=x):
                    z = h @ recurrent + (x[t] @ kernel if with_inputs else 0.0)
                    return t + 1, tf.tanh(z[:, :recurrent.shape[0]])
                _, h = tf.while_loop(lambda t, h: t < length, body,
                                     (0, tf.zeros((1, recurrent.shape[0]))))
                total += tf.reduce_sum(h)
            return {"total": total}
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], tf.Module())
        interpreter = Interpreter(model_content=conv.convert())
        run = interpreter.get_signature_runner(list(interpreter.get_signature_list())[0])
        calls[f"{label} ({len(cells)} × {length}-step loops)"] = lambda run=run: run()
    return calls


def cut_after(model, layer: str):
    """`model` up to `layer`'s outputs in this model's graph (a layer shared with the
    training model has a node in each), as a dict, which the export's signatures return."""
    import keras

    ours = {id(n) for nodes in model._nodes_by_depth.values() for n in nodes}
    node = next(n for n in model.get_layer(layer)._inbound_nodes if id(n) in ours)
    return keras.Model(model.inputs, {f"out_{i}": t for i, t in enumerate(node.output_tensors)})


def measure(name: str) -> str:
    import zoo

    zm = zoo.load(name)
    function, cuts, make_inputs = CUTS[name]
    inputs, length = make_inputs(zm)
    whole = zm.functions()[function][0] if function else zm.keras_model
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for cut in cuts:
            part = whole if cut is None else cut_after(whole, cut)
            calls = runners(part, inputs, length, Path(tmp))
            rows.append((f"up to `{cut}`" if cut else "whole", {k: p50_ms(c) for k, c in calls.items()}))
    floor = recurrent_floor(whole, length) if length else None
    lines = [f"## {name}{f' `{function}`' if function else f' `len_{length}`'}", "",
             "| graph | TFLite, default threads | TFLite, 1 thread | ONNX Runtime |",
             "|---|---:|---:|---:|"]
    lines += [f"| {label} | {t['TFLite']:.3f} | {t['TFLite, 1 thread']:.3f} | {t['ONNX Runtime']:.3f} |"
              for label, t in rows]
    for label, call in (floor or {}).items():
        lines.append(f"| {label} | {p50_ms(call):.3f} | | |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.lite_parts")
    ap.add_argument("names", nargs="*", default=sorted(CUTS), help=f"of {sorted(CUTS)}")
    args = ap.parse_args(argv)
    if set(args.names) - set(CUTS):
        ap.error(f"no cuts for {sorted(set(args.names) - set(CUTS))}; expected some of {sorted(CUTS)}")
    why = __doc__.split("\n\n")[1]          # the docstring's second paragraph
    lines = ["# Where one call goes: TFLite and ONNX Runtime, cut after layers", "", why, "",
             *run_lines(f"python -m benchmarks.lite_parts {' '.join(args.names)}", os.getloadavg()[0]),
             f"- p50 ms of {CALLS} calls at batch 1", "", *(measure(n) for n in args.names)]
    write_markdown(RESULTS / "lite_parts.md", lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
