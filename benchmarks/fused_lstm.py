"""One LSTM layer's training pass (forward and backward, with the gradient of the inputs)
at each application's shapes: Keras's `keras.layers.LSTM` against `zoo.layers.LSTM` (the
fused training pass) and PyTorch's `nn.LSTM`, in one process. It decides which
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
import sys
import time
from datetime import UTC, datetime

import numpy as np

from .harness import RESULTS, machine, versions

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
    want, got = runs["Keras LSTM"](), runs["zoo.layers.LSTM"]()
    error = max(float(np.max(np.abs(a - b)) / np.max(np.abs(a))) for a, b in zip(want, got))
    out = {name: best_median(run, steps) for name, run in runs.items()}
    twin = torch.nn.LSTM(width, units, batch_first=True)
    xp = torch.tensor(x, requires_grad=True)

    def torch_pass():
        twin.zero_grad(set_to_none=True)
        (twin(xp)[0] ** 2).sum().backward()

    out["PyTorch nn.LSTM"] = best_median(torch_pass, steps)
    return {**out, "max relative gradient difference": error}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fused_lstm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few calls; writes fused_lstm-quick.md")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    rows = {app: measure(shape, 3 if args.quick else 12) for app, shape in SHAPES.items()}
    m = machine()
    lines = ["# One LSTM layer's training pass: Keras, zoo.layers.LSTM, PyTorch", "",
             f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `python -m benchmarks.fused_lstm"
             f"{' --quick' if args.quick else ''}`",
             f"- machine: {m['cpu']}, nproc {m['nproc']}; load average {load:.2f} at start, "
             f"{os.getloadavg()[0]:.2f} at end; each framework's default threads",
             f"- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
             "- forward and backward (gradients of the inputs and weights), ms, best of two medians", "",
             "| application: batch, steps, inputs, units | Keras LSTM | zoo.layers.LSTM | "
             "PyTorch nn.LSTM | Keras / zoo | max rel. gradient diff |",
             "|---|---:|---:|---:|---:|---:|"]
    for app, r in rows.items():
        lines.append(f"| {app}: {', '.join(map(str, SHAPES[app]))} | {r['Keras LSTM']:.1f} | "
                     f"{r['zoo.layers.LSTM']:.1f} | {r['PyTorch nn.LSTM']:.1f} | "
                     f"{r['Keras LSTM'] / r['zoo.layers.LSTM']:.2f}× | "
                     f"{r['max relative gradient difference']:.1e} |")
    path = RESULTS / f"fused_lstm{'-quick' if args.quick else ''}.md"
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines), f"\nwrote {path}", sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
