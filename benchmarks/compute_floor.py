"""How fast could a training step be on this machine? The step's matrix products, counted
from the shipped bundle's shapes, at the rates this machine reaches: the products that
must run one time step after another at the rate of their own small shape, the others at
a 2048 x 2048 product's (TensorFlow and PyTorch, the faster); beside the step times of the
last `make bench` run (benchmarks/results/<name>.json and <name>-1thread.json).

It tells a model whose step is bound by arithmetic (no framework can beat the floor, so a
ratio against a twin already near it has a ceiling) from one bound by the loop around it.

    .venv/bin/python -m benchmarks.compute_floor              # under a minute; results/compute_floor.md
    .venv/bin/python -m benchmarks.compute_floor --threads 1  # results/compute_floor-1thread.md

The work counted is the recurrent and output layers' matrix products: forward 2 x B x T
x inputs x outputs FLOPs, and twice that again for the gradients of the inputs and the
weights (6 x for a training step). Element-wise work (gates, softmax, loss, Adam) is not
counted, so the floor is lower than any real step.

>>> [flops for flops, shape in lstm_flops(batch=1, steps=1, inputs=1, units=1)]
[8, 8, 32]
"""
from __future__ import annotations

import json
import os
import time

from .harness import RESULTS, import_torch, run_lines, set_tf_threads, write_markdown

KERAS_ROW = "Keras 3 / TensorFlow, jit_compile=False (zoo/training.py)"


def lstm_flops(batch: int, steps: int, inputs: int, units: int) -> list[tuple]:
    """One LSTM layer's matrix products in a training step, as (FLOPs, shape) parts: h @ U
    forward ([batch, units] @ [units, 4 units]) and its gradient dgates @ U^T run one time
    step after another, at their own small shape's rate; x @ W, its two gradients and the
    gradient of U can each be one product over all steps (shape None: the big rate)."""
    recurrent = 2 * batch * steps * units * 4 * units
    return [(recurrent, (batch, units, 4 * units)), (recurrent, (batch, 4 * units, units)),
            (3 * 2 * batch * steps * inputs * 4 * units + recurrent, None)]


def dense_flops(batch: int, steps: int, inputs: int, outputs: int) -> int:
    return 6 * batch * steps * inputs * outputs


def step_flops(name: str) -> tuple[list[tuple], str]:
    """((FLOPs, shape) parts as lstm_flops gives them, what they are) of one training step
    of the shipped bundle `name`."""
    import zoo

    zm = zoo.load(name)
    hp, km = zm.hparams, zm.keras_model
    if name == "charlm-lstm":
        b, t, e, u, v = hp["batch_size"], hp["seq_len"], hp["embed"], hp["units"], km.output_shape[-1]
        return (lstm_flops(b, t, e, u) + [(dense_flops(b, t, u, v), None)],
                f"batch {b}, windows of {t}: LSTM {e} -> {u}, softmax over {v}")
    if name == "forecast-lstm":
        b, u = hp["batch_size"], hp["units"]
        _, t, f = km.input["window"].shape
        return lstm_flops(b, t, f, u), f"batch {b}, windows of {t}: LSTM {f} -> {u} (the head not counted)"
    raise ValueError(f"no FLOP count for {name}")


def peak_gflops(size: int = 2048, calls: int = 5) -> dict:
    """GFLOP/s of a size x size float32 product, TensorFlow and PyTorch, best of `calls`."""
    import tensorflow as tf
    import torch

    a = tf.random.normal([size, size])
    matmul = tf.function(lambda: tf.linalg.matmul(a, a))
    ta = torch.randn(size, size)
    out = {}
    for label, call in (("TensorFlow", lambda: matmul().numpy()), ("PyTorch", lambda: ta @ ta)):
        call()
        best = min(_seconds(call) for _ in range(calls))
        out[label] = 2 * size ** 3 / best / 1e9
    return out


def shape_gflops(m: int, k: int, n: int, calls: int = 50, repeats: int = 5) -> float:
    """GFLOP/s of [m, k] @ [k, n] in PyTorch (its mm: the oneDNN/MKL product TensorFlow's
    CPU kernels also use), the best of `repeats` means over `calls`. Timed in PyTorch
    because a tf.function would merge repeated identical products into one."""
    import torch

    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(20):
        a @ b
    seconds = min(_seconds(lambda: [a @ b for _ in range(calls)]) for _ in range(repeats)) / calls
    return 2 * m * k * n / seconds / 1e9


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def bench_times(name: str, suffix: str) -> dict | None:
    """p50 ms of Keras's recipe row and of the twin's faster row in results/<name><suffix>.json."""
    path = RESULTS / f"{name.replace('-', '_')}{suffix}.json"
    if not path.exists():
        return None
    r = json.loads(path.read_text())
    rows = r["training"]
    twin = min((k for k in rows if k.startswith("PyTorch")), key=lambda k: rows[k]["ms_per_step"]["p50"])
    return {"date": r["date"], "keras": rows[KERAS_ROW]["ms_per_step"]["p50"],
            "twin": rows[twin]["ms_per_step"]["p50"]}


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m benchmarks.compute_floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for TensorFlow and PyTorch (unset: each one's default); "
                             "compared with the bench run of the same setting")
    args = parser.parse_args(argv)
    if args.threads is not None:
        from zoo.options import check_int

        check_int(args.threads, "--threads", 0)
    set_tf_threads(args.threads)
    import_torch(args.threads)
    suffix = f"-{args.threads}thread" if args.threads else ""
    load = os.getloadavg()[0]
    peak = peak_gflops()
    best = max(peak.values())
    command = "python -m benchmarks.compute_floor" + (f" --threads {args.threads}" if args.threads else "")
    threads = args.threads or "each framework's default"
    lines = ["# The arithmetic floor of a training step", "",
             *run_lines(command, load, f"; threads: {threads}"),
             "- best rate of a 2048 x 2048 float32 product: "
             + ", ".join(f"{k} {v:.0f}" for k, v in peak.items()) + " GFLOP/s",
             "- floor: the step's matrix products (FLOPs counted from the shapes): those that must run "
             "one time step after another (h @ U and its gradient) at the rates of their own shapes "
             "([batch, units] @ [units, 4 units] and [batch, 4 units] @ [4 units, units], PyTorch's mm), the rest at the 2048² rate; the step "
             f"times are p50s of the `make bench` run named (results/<name>{suffix}.json)", "",
             "| model | step's products | GFLOP sequential + batched | recurrent shapes' rates, GFLOP/s "
             "| floor ms | Keras ms (recipe) | twin ms (faster row) | Keras / floor | the most Keras / "
             "twin could be (twin / floor) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in ("charlm-lstm", "forecast-lstm"):
        t = bench_times(name, suffix)
        if t is None:
            continue
        parts, what = step_flops(name)
        rates = [shape_gflops(*shape) if shape else best for _, shape in parts]
        floor = sum(flops / rate for (flops, _), rate in zip(parts, rates)) / 1e6
        sequential = sum(flops for flops, shape in parts if shape)
        batched = sum(flops for flops, shape in parts if not shape)
        shaped = " / ".join(f"{r:.0f}" for (_, shape), r in zip(parts, rates) if shape)
        lines.append(f"| {name} ({t['date'][:16]} run) | {what} | {sequential / 1e9:.1f} + "
                     f"{batched / 1e9:.1f} | {shaped} | {floor:.0f} | {t['keras']:.0f} | "
                     f"{t['twin']:.0f} | {t['keras'] / floor:.2f}× | {t['twin'] / floor:.2f}× |")
    write_markdown(RESULTS / f"compute_floor{suffix}.md", lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
