"""Where a training step's time goes: TensorFlow's profiler over a bundle's training steps,
summed by operation type and, for the heaviest types, by operation (issue 22: "profile
before changing"). The step is the one the speed benchmarks time: a copy of the bundle
compiled as zoo/training.py compiles it, `train_on_batch` on the benchmark's batches.

    .venv/bin/python -m benchmarks.profile_step caption-cnn-lstm    # a minute or two
    .venv/bin/python -m benchmarks.profile_step summarize-attn --steps 4 --top 20

writes benchmarks/results/profile_<name>.md. Times are the sum of each operation's time on
its thread (2 cores: two operations can overlap, so the sum can exceed the step); the
executor's own events around them are left out. The calls of XLA-compiled functions
(zoo.layers.LSTM's loops, music-lstm's NADE) count as one type, `XLA`.

>>> summarize({"a/MatMul:_MklMatMul": [2e9, 1e9], "b:Mul": [1e9]}, steps=1)["types"]
{'_MklMatMul': [3.0, 2], 'Mul': [1.0, 1]}
"""
from __future__ import annotations

import argparse
import collections
import importlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .harness import (RESULTS, check_models, keras_training_copy, run_lines, train_batches,
                      write_markdown)


def op_durations(logdir: str) -> dict:
    """{"op name:OpType": [duration ps, ...]} from the profiler's XSpace file(s) in logdir."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    out = collections.defaultdict(list)
    for path in Path(logdir).rglob("*.xplane.pb"):
        space = xplane_pb2.XSpace()
        space.ParseFromString(path.read_bytes())
        for plane in space.planes:
            for line in plane.lines:
                for event in line.events:
                    name = plane.event_metadata[event.metadata_id].name
                    if name == "CpuExecutable::ExecuteAsyncOnStream":    # an XLA function
                        name = "XLA-compiled functions:XLA"
                    # "name:Type" is an operation; "Class::Method" and "EagerLocalExecute:
                    # fn" are the executor around them
                    if ":" in name and "::" not in name and not name.startswith("EagerLocal"):
                        out[name].append(event.duration_ps)
    return out


def summarize(durations: dict, steps: int) -> dict:
    """ms a step and calls a step by operation type, and by operation."""
    types: dict = collections.defaultdict(lambda: [0.0, 0])
    ops = {}
    for name, ps in durations.items():
        kind = name.rsplit(":", 1)[1]
        types[kind][0] += sum(ps) / 1e9 / steps
        types[kind][1] += len(ps) // steps
        ops[name] = sum(ps) / 1e9 / steps
    order = sorted(types, key=lambda k: -types[k][0])
    return {"types": {k: types[k] for k in order}, "ops": ops}


def speed_batches(name: str):
    """The batches function of the model's speed benchmark (its Spec), so the profile sees
    the steps the benchmark times; the recipe's batches where there is no benchmark."""
    try:
        return importlib.import_module(f"benchmarks.{name.replace('-', '_')}").SPEC.batches
    except ModuleNotFoundError:
        return train_batches


def profile(name: str, steps: int) -> tuple[float, dict]:
    """(p50 ms a step unprofiled, durations of `steps` profiled steps)."""
    import tensorflow as tf

    import zoo
    from zoo.training import graph_optimizer

    zm = zoo.load(name)
    fit = zm.entry.recipe["fit"]
    model = keras_training_copy(zm, bool(fit.get("jit_compile", False)))
    batches = speed_batches(zm.entry.name)(zm, zm.hparams, steps, False)
    with graph_optimizer(fit.get("grappler", True)):
        for batch in batches * 2:                                  # traces, warm-up
            model.train_on_batch(*batch)
        times = []
        for batch in batches:
            start = time.perf_counter()
            model.train_on_batch(*batch)
            times.append(1e3 * (time.perf_counter() - start))
        with tempfile.TemporaryDirectory() as logdir:
            tf.profiler.experimental.start(logdir)
            for batch in batches:
                model.train_on_batch(*batch)
            tf.profiler.experimental.stop()
            return float(np.median(times)), op_durations(logdir)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="registered model or bundle directory")
    parser.add_argument("--steps", type=int, default=6, help="profiled training steps (6)")
    parser.add_argument("--top", type=int, default=15, help="rows of each table (15)")
    args = parser.parse_args(argv)
    from zoo.options import check_int

    check_models([args.name])
    check_int(args.steps, "--steps", 1)
    check_int(args.top, "--top", 1)
    load = os.getloadavg()[0]
    step_ms, durations = profile(args.name, args.steps)
    s = summarize(durations, args.steps)
    total = sum(ms for ms, _ in s["types"].values())
    lines = [f"# Where a training step of {args.name} goes", "",
             *run_lines(f"python -m benchmarks.profile_step {args.name} --steps {args.steps}", load),
             f"- a step unprofiled: p50 {step_ms:.1f} ms over {args.steps} steps; operations "
             f"sum to {total:.1f} ms a step (two cores overlap)", "",
             "| operation type | ms a step | share | calls a step |", "|---|---:|---:|---:|"]
    for kind, (ms, calls) in list(s["types"].items())[:args.top]:
        lines.append(f"| {kind} | {ms:.2f} | {ms / total:.0%} | {calls} |")
    for kind in list(s["types"])[:2]:
        lines += ["", f"The heaviest {kind} operations:", "",
                  "| operation | ms a step |", "|---|---:|"]
        named = sorted(((ms, n) for n, ms in s["ops"].items() if n.endswith(f":{kind}")),
                       reverse=True)[:args.top]
        lines += [f"| `{n.rsplit(':', 1)[0][-110:]}` | {ms:.2f} |" for ms, n in named]
    write_markdown(RESULTS / f"profile_{Path(args.name).name}.md", lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
