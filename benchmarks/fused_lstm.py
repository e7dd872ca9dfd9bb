"""One LSTM layer's training pass (forward and backward, with the gradient of the inputs)
at each application's shapes: Keras's `keras.layers.LSTM` against `zoo.layers.LSTM` (the
fused training pass), TensorFlow's own fused CPU kernel (`BlockLSTMV2` and its gradient
`BlockLSTMGradV2`, the op under TF 1's LSTMBlockFusedCell, still in TensorFlow: one kernel
for the whole sequence) and PyTorch's `nn.LSTM`, in one process. It decides which
applications build with `zoo.layers.LSTM`: those where it is faster.

    .venv/bin/python -m benchmarks.fused_lstm          # about two minutes; writes results/fused_lstm.md
    .venv/bin/python -m benchmarks.fused_lstm --quick  # smoke test, results/fused_lstm-quick.md

The shapes (batch, steps, input width, units) are the recipes': music-lstm (8, 64, 88, 256),
charlm-lstm (64, 128, 64, 512), forecast-lstm (256, 64, 8, 64) and one direction of
summarize-attn's encoder (32, 64 and 128, 128, 128). Each cell is the best of two medians
of `steps` timed calls (three untimed calls first), ms.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from .harness import RESULTS, run_lines, write_markdown

SHAPES = {"music-lstm": (8, 64, 88, 256), "charlm-lstm": (64, 128, 64, 512),
          "forecast-lstm": (256, 64, 8, 64), "summarize-attn encoder, sources of 64": (32, 64, 128, 128),
          "summarize-attn encoder, sources of 128": (32, 128, 128, 128)}


def best_median(call, steps: int) -> float:
    for _ in range(3):
        call()
    medians = []
    for _ in range(2):
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        medians.append(float(np.median(times)) * 1e3)
    return min(medians)


def block_lstm(x, kernel, recurrent, bias):
    """Keras LSTM weights (gates i, f, c, o, the V2 op's order) through TensorFlow's fused
    BlockLSTMV2 kernel, zero initial state; the gradient is its BlockLSTMGradV2 (called
    here, since TensorFlow registers the V1 gradient op, BlockLSTMGrad, for V2 too)."""
    import tensorflow as tf
    from tensorflow.python.ops import gen_rnn_ops

    @tf.custom_gradient
    def run(x, w, b):
        xs = tf.transpose(x, [1, 0, 2])
        n = tf.cast(tf.shape(xs)[0], tf.int64)
        units = tf.shape(w)[1] // 4
        state = tf.zeros([tf.shape(xs)[1], units])
        peep = tf.zeros([units])                          # no peepholes
        args = (n, xs, state, state, w, peep, peep, peep, b)
        i, cs, f, o, ci, co, h = gen_rnn_ops.block_lstmv2(*args, cell_clip=0.0, use_peephole=False)

        def grad(dh):
            g = gen_rnn_ops.block_lstm_grad_v2(*args, i, cs, f, o, ci, co, h, tf.zeros_like(cs),
                                              tf.transpose(dh, [1, 0, 2]), use_peephole=False)
            return tf.transpose(g[0], [1, 0, 2]), g[3], g[7]
        return tf.transpose(h, [1, 0, 2]), grad

    return run(x, tf.concat([kernel, recurrent], 0), bias)


def measure(shape, steps: int) -> dict:
    import keras
    import tensorflow as tf
    import torch

    from zoo.layers import LSTM

    batch, length, width, units = shape
    x = np.random.default_rng(0).normal(size=(batch, length, width)).astype("float32")
    layers = {"Keras LSTM": keras.layers.LSTM(units, return_sequences=True),
              "zoo.layers.LSTM": LSTM(units, return_sequences=True)}
    for layer in layers.values():
        layer(x)
    layers["zoo.layers.LSTM"].set_weights(layers["Keras LSTM"].get_weights())
    xt = tf.constant(x)

    def train_pass(layer):
        @tf.function
        def run():
            with tf.GradientTape() as tape:
                tape.watch(xt)
                loss = tf.reduce_sum(layer(xt, training=True) ** 2)
            return tape.gradient(loss, [xt, *layer.trainable_variables])
        return run

    runs = {name: train_pass(layer) for name, layer in layers.items()}
    weights = layers["Keras LSTM"].trainable_variables

    @tf.function
    def block_pass():
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(block_lstm(xt, *weights) ** 2)
        return tape.gradient(loss, [xt, *weights])

    runs["TF BlockLSTMV2"] = block_pass
    want = runs["Keras LSTM"]()

    def error(name):
        return max(float(np.max(np.abs(a - b)) / np.max(np.abs(a)))
                   for a, b in zip(want, runs[name]()))

    errors = {name: error(name) for name in ("zoo.layers.LSTM", "TF BlockLSTMV2")}
    out = {name: best_median(run, steps) for name, run in runs.items()}
    twin = torch.nn.LSTM(width, units, batch_first=True)
    xp = torch.tensor(x, requires_grad=True)

    def torch_pass():
        twin.zero_grad(set_to_none=True)
        (twin(xp)[0] ** 2).sum().backward()

    out["PyTorch nn.LSTM"] = best_median(torch_pass, steps)
    return {**out, "errors": errors}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fused_lstm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few calls; writes fused_lstm-quick.md")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    rows = {app: measure(shape, 3 if args.quick else 12) for app, shape in SHAPES.items()}
    command = "python -m benchmarks.fused_lstm" + (" --quick" if args.quick else "")
    lines = ["# One LSTM layer's training pass: Keras, zoo.layers.LSTM, TF BlockLSTMV2, PyTorch", "",
             *run_lines(command, load, f", {os.getloadavg()[0]:.2f} at end; each framework's "
                                       "default threads"),
             "- forward and backward (gradients of the inputs and weights), ms, best of two medians",
             "- max rel. gradient diff: against Keras's gradients, zoo.layers.LSTM / BlockLSTMV2", "",
             "| application: batch, steps, inputs, units | Keras LSTM | zoo.layers.LSTM | "
             "TF BlockLSTMV2 | PyTorch nn.LSTM | Keras / zoo | max rel. gradient diff |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for app, r in rows.items():
        e = r["errors"]
        lines.append(f"| {app}: {', '.join(map(str, SHAPES[app]))} | {r['Keras LSTM']:.1f} | "
                     f"{r['zoo.layers.LSTM']:.1f} | {r['TF BlockLSTMV2']:.1f} | "
                     f"{r['PyTorch nn.LSTM']:.1f} | "
                     f"{r['Keras LSTM'] / r['zoo.layers.LSTM']:.2f}× | "
                     f"{e['zoo.layers.LSTM']:.1e} / {e['TF BlockLSTMV2']:.1e} |")
    write_markdown(RESULTS / f"fused_lstm{'-quick' if args.quick else ''}.md", lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
