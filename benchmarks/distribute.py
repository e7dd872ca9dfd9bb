"""Training throughput of forecast-lstm at its recipe size (LSTM-64 over 64-day windows,
global batch 256, Adam, clipnorm 1) on one process and on two worker processes of
`MultiWorkerMirroredStrategy` (TF_CONFIG on 127.0.0.1, free ports) on this machine.

Each configuration trains the real training split through `zoo.distribute.fit_dataset`
and `zoo.training.compile_for_training`, as `zoo train` does: `--warmup` steps first
(tracing, XLA compilation, the collectives' first rendezvous), then `--steps` timed steps,
from the chief's clock (a callback's time stamps after the warm-up step and after the
last). A step is one global batch of 256 windows, whatever the worker count, so steps/s
compare directly. The configurations run in turn, `--repeats` rounds of all of them, and
the report gives each one's median and range: on a machine shared with other work one
round can differ from the next by half.

    python -m benchmarks.distribute            # results/distribute.md and .json
    python -m benchmarks.distribute --quick    # a few steps, one round: results/distribute-quick.*

The two workers share this machine's cores: they show what the strategy costs (the
all-reduce, XLA off) and what two processes on the same CPUs gain, not what two machines
would.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.harness import RESULTS, machine, num, versions

REPO = Path(__file__).resolve().parent.parent
NAME = "forecast-lstm"
# label -> (strategy, workers, jit_compile, environment of each worker)
CONFIGS = {
    "1 process, default strategy, no XLA (the recipe)": ("default", 1, False, {}),
    "1 process, default strategy, XLA": ("default", 1, True, {}),
    "2 processes, multi_worker (no XLA)": ("multi_worker", 2, False, {}),
    "2 processes, multi_worker, 1 intra-op thread each": (
        "multi_worker", 2, False, {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}),
}


def worker(strategy: str, jit: bool, warmup: int, steps: int) -> dict:
    """One process's part of a configuration; the chief returns the timing."""
    from zoo import distribute

    distribute.use(strategy)          # first: before TensorFlow runs anything
    import keras

    from zoo import registry
    from zoo.data import data_root, read_split
    from zoo.model import ZooModel
    from zoo.training import compile_for_training

    entry = registry.get(NAME)
    hp = entry.hparams()
    parts = entry.parts(hp)
    data, builder = entry.module("data"), entry.module("model")
    train = read_split(entry, data_root() / entry.default_data, "train")
    prep, init = data.fit_preprocessor(train, **parts["data"])
    keras.utils.set_random_seed(0)
    with distribute.current().scope():
        model = builder.build(prep, init=init, **parts["model"])
    zm = ZooModel(entry, model, prep, hparams=hp)
    fit = parts["fit"]
    compile_for_training(zm, fit["learning_rate"], fit["clipnorm"], jit)
    batch = fit["batch_size"]
    ds, n = distribute.fit_dataset(model, lambda: data.make_dataset(
        train, prep, batch_size=batch, shuffle=True, seed=0).repeat(), warmup + steps)

    class Clock(keras.callbacks.Callback):
        stamps: dict = {}

        def on_train_batch_end(self, b, logs=None):
            if b + 1 in (warmup, warmup + steps):
                self.stamps[b + 1] = time.perf_counter()

    clock = Clock()
    model.fit(ds, epochs=1, steps_per_epoch=n, callbacks=[clock], verbose=0)
    seconds = clock.stamps[warmup + steps] - clock.stamps[warmup]
    return {"steps": steps, "seconds": seconds, "steps_per_s": steps / seconds,
            "windows_per_s": steps * batch / seconds, "global_batch": batch,
            "per_replica_batch": batch // distribute.current().num_replicas_in_sync,
            "jit_compile": jit and strategy != "multi_worker", "params": model.count_params()}


def run_config(strategy: str, workers: int, jit: bool, env: dict, warmup: int,
               steps: int) -> dict:
    """Start the configuration's processes and return the chief's timing."""
    from zoo.distribute import local_cluster

    configs = local_cluster(workers)
    procs = []
    for i in range(workers):
        environ = {**os.environ, **env, "TF_CPP_MIN_LOG_LEVEL": "3"}
        environ.pop("TF_CONFIG", None)
        if workers > 1:
            environ["TF_CONFIG"] = configs[i]
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "benchmarks.distribute", "--worker", strategy,
             "--jit", str(jit).lower(), "--warmup", str(warmup), "--steps", str(steps)],
            env=environ, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=1800) for p in procs]
    for p, (_, err) in zip(procs, outs):
        if p.returncode:
            raise SystemExit(f"a worker failed ({p.returncode}): {err[-2000:]}")
    return json.loads(outs[0][0].strip().splitlines()[-1])


def median(values: list) -> float:
    return float(np.median(values))


def report(results: dict, meta: dict) -> str:
    base = median(next(iter(results.values()))["steps_per_s_rounds"])
    lines = ["# Multi-worker training throughput: forecast-lstm", "",
             __doc__.split("\n\n")[0].replace("\n", " "), "",
             f"Machine: {meta['machine']['cpu']}, {meta['machine']['nproc']} cores; "
             f"TensorFlow {meta['versions']['tensorflow']}, Keras {meta['versions']['keras']}; "
             f"{meta['steps']} timed steps after {meta['warmup']} warm-up steps; {meta['date']}; "
             f"1-minute load average {min(meta['load_average_1min']):.1f} to "
             f"{max(meta['load_average_1min']):.1f}"
             + (" (other work shared the cores)." if min(meta["load_average_1min"])
                >= 0.5 * meta["machine"]["nproc"] else "."),
             "", f"Median of {meta['repeats']} rounds (range in brackets).", "",
             "| configuration | steps/s | windows/s | per-replica batch | vs the recipe |",
             "|---|---:|---:|---:|---:|"]
    for label, r in results.items():
        rounds = r["steps_per_s_rounds"]
        lines.append(f"| {label} | {num(median(rounds))} ({num(min(rounds))}-{num(max(rounds))})"
                     f" | {num(median(rounds) * r['global_batch'])} | {r['per_replica_batch']} | "
                     f"{median(rounds) / base:.2f}x |")
    lines += ["", "Reproduce: `python -m benchmarks.distribute`."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a few steps; -quick files")
    p.add_argument("--steps", type=int, help="timed steps (40; --quick 5)")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeats", type=int, help="rounds of all configurations (3; --quick 1)")
    p.add_argument("--worker", help=argparse.SUPPRESS)        # one process of a configuration
    p.add_argument("--jit", default="true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    from zoo.options import check_int

    # 0 was read as the default; -1 failed in a worker with a raw KeyError
    steps = check_int((5 if args.quick else 40) if args.steps is None else args.steps, "--steps", 1)
    check_int(args.warmup, "--warmup", 0)
    if args.repeats is not None:
        check_int(args.repeats, "--repeats", 1)
    if args.worker:
        print(json.dumps(worker(args.worker, args.jit == "true", args.warmup, steps)), flush=True)
        return
    repeats = args.repeats or (1 if args.quick else 3)
    results, load = {}, [os.getloadavg()[0]]
    for _ in range(repeats):
        for label, (strategy, workers, jit, env) in CONFIGS.items():
            r = run_config(strategy, workers, jit, env, args.warmup, steps)
            rounds = results.get(label, {}).get("steps_per_s_rounds", []) + [r["steps_per_s"]]
            results[label] = {**r, "steps_per_s_rounds": rounds}
            load.append(os.getloadavg()[0])
            print(f"{label}: {r['steps_per_s']:.2f} steps/s", flush=True)
    meta = {"model": NAME, "machine": machine(), "versions": versions(), "steps": steps,
            "repeats": repeats,
            "warmup": args.warmup, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "load_average_1min": load}
    stem = "distribute" + ("-quick" if args.quick else "")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
    (RESULTS / f"{stem}.md").write_text(report(results, meta))
    print(f"wrote {RESULTS / stem}.md")


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
