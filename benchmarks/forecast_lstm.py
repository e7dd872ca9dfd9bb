"""Speed and size of the shipped `forecast-lstm`: training throughput against the same
network in PyTorch, single-forecast latency in every runtime the zoo exports to, sizes.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.forecast_lstm   # full run, minutes
    .venv/bin/python -m benchmarks.forecast_lstm --quick                  # smoke test
    zoo bench forecast-lstm [--quick --threads 1]                         # the same, via the CLI

Needs the bench extra (`pip install torch==2.13.0`). Writes benchmarks/results/
forecast_lstm.md (forecast_lstm-quick.md with --quick) and the .json beside it.

What is timed:
- Training: one optimizer step on a batch of 256 windows from
  `pipelines.forecasting.data.make_dataset` (training tickers, shuffled, seed 0), converted
  to arrays once and fed to both frameworks. Keras: a copy of the shipped model compiled as
  zoo/training.py does (Adam, global_clipnorm, pinball loss, jit_compile=True), stepped with
  `train_on_batch`. PyTorch: the twin in benchmarks/forecast_lstm_torch.py (weights copied
  from Keras, checked to give the same quantiles) with Adam and `clip_grad_norm_`. Two
  warm-up steps are excluded.
- Latency: one forecast (batch 1: a 64-day window + context) per call over validation
  windows, features prepared by the host beforehand; only the model call is timed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .common import (RESULTS, bundle_sizes, busy_note, import_torch, machine, mb, set_tf_threads,
                     size_of, time_calls, versions, write)

NAME = "forecast-lstm"
EXPORTS = {"SavedModel": ("saved_model", None), "TFLite float32": ("model.tflite", None),
           "TFLite dynamic-range": ("model-dynamic.tflite", "dynamic"), "ONNX": ("model.onnx", None)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.forecast_lstm",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="few iterations; numbers not for quoting")
    p.add_argument("--out", type=Path)
    p.add_argument("--steps", type=int, help="timed training steps per framework")
    p.add_argument("--windows", type=int, help="forecasts timed per runtime")
    p.add_argument("--threads", type=int, help="threads for every framework and runtime")
    args = p.parse_args(argv)
    args.steps = args.steps or (3 if args.quick else 60)
    args.windows = args.windows or (10 if args.quick else 300)
    args.out = args.out or RESULTS / ("forecast_lstm-quick.md" if args.quick else "forecast_lstm.md")
    return args


def training_batches(m, steps: int, batch_size: int) -> list:
    from pipelines.forecasting import data
    from zoo.data import data_root, read_split

    series = read_split(m.entry, data_root() / m.entry.default_data, "train")[:60]
    ds = data.make_dataset(series, m.preprocessor, batch_size=batch_size, shuffle=True, seed=0,
                           drop_remainder=True)
    return [({k: v.numpy() for k, v in x.items()}, y["quantiles"].numpy())
            for x, y in ds.take(steps + 2)]


def timed_steps(step, batches: list) -> list[float]:
    import time

    for b in batches[:2]:
        step(*b)
    times = []
    for b in batches[2:]:
        start = time.perf_counter()
        step(*b)
        times.append(time.perf_counter() - start)
    return times


def keras_training(m, hp: dict, batches: list) -> list[float]:
    import keras

    from zoo.model import ZooModel
    from zoo.training import compile_for_training

    model = keras.Model.from_config(m.keras_model.get_config())
    model.set_weights(m.keras_model.get_weights())
    compile_for_training(ZooModel(m.entry, model, m.preprocessor), hp["learning_rate"], hp["clipnorm"])
    return timed_steps(lambda x, y: model.train_on_batch(x, {"quantiles": y}), batches)


def torch_training(torch, twin, hp: dict, batches: list) -> list[float]:
    twin.train()
    params = list(twin.parameters())
    opt = torch.optim.Adam(params, lr=hp["learning_rate"], eps=1e-7)
    tensors = [({k: torch.from_numpy(v) for k, v in x.items()}, torch.from_numpy(y)) for x, y in batches]

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = twin.loss(twin(**x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, hp["clipnorm"])
        opt.step()

    return timed_steps(step, tensors)


def latency_inputs(m, n: int) -> list[dict]:
    from zoo.data import data_root, read_split

    host = m.host()
    out = []
    for s in read_split(m.entry, data_root() / m.entry.default_data, "valid")[:n]:
        try:
            s = host.encode([s]).series[0]
        except Exception:
            continue
        out.append({k: v[None] for k, v in host.window_units(s, [len(s["close"]) - 1])[0].items()})
    return (out * (n // max(len(out), 1) + 1))[:n]


def runtimes(torch, m, work: Path, twin) -> dict:
    import tensorflow as tf

    from zoo.runtime import _Onnx, _TFLite

    calls = {"Keras eager `model(x)`": lambda x: m.keras_model(x, training=False),
             "tf.function (zoo predictor)": lambda x: m._call({k: tf.constant(v) for k, v in x.items()})}
    sig = tf.saved_model.load(str(work / "saved_model")).signatures["features"]
    calls["SavedModel `features` signature"] = lambda x: sig(**{k: tf.constant(v) for k, v in x.items()})
    for label, name in (("TFLite float32", "model.tflite"), ("TFLite dynamic-range", "model-dynamic.tflite")):
        backend = _TFLite(work / name, None)
        calls[label] = lambda x, b=backend: b(None, x)
    onnx = _Onnx(work / "model.onnx", None)
    calls["ONNX Runtime"] = lambda x: onnx(None, x)
    twin.eval()

    def torch_call(x):
        with torch.inference_mode():
            return twin(**{k: torch.from_numpy(v) for k, v in x.items()})

    calls["PyTorch twin (eval, inference_mode)"] = torch_call
    return calls


def run(args, work: Path) -> dict:
    set_tf_threads(args.threads)
    torch = import_torch(args.threads, "benchmarks.forecast_lstm")
    import zoo

    from .forecast_lstm_torch import TorchForecaster, copy_keras_weights

    report = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
              "machine": machine(), "versions": versions(), "threads": args.threads,
              "load_start": os.getloadavg(), "bundle": bundle_sizes(NAME)}
    m = zoo.load(NAME)
    hp = {**m.entry.recipe, **m.hparams}
    enc = m.keras_model.get_layer("encoder")
    report["architecture"] = {"cell": enc.cell, "units": enc.units, "layers": enc.depth,
                              "window": m.preprocessor["window"], "horizon": m.preprocessor["horizon"],
                              "params": m.keras_model.count_params()}
    batches = training_batches(m, args.steps, hp["batch_size"])
    twin = copy_keras_weights(TorchForecaster.like(m.keras_model), m.keras_model).eval()
    x0 = batches[0][0]
    with torch.inference_mode():
        ours = twin(**{k: torch.from_numpy(v) for k, v in x0.items()}).numpy()
    report["twin_max_abs_diff"] = float(np.abs(ours - m.keras_model(x0)["quantiles"].numpy()).max())
    print(f"training: {args.steps} steps per framework ...", flush=True)
    keras_t, torch_t = keras_training(m, hp, batches), torch_training(torch, twin, hp, batches)
    per_s = lambda t: hp["batch_size"] * len(t) / sum(t)  # noqa: E731
    report["training"] = {
        "Keras 3 / TensorFlow, jit_compile=True (zoo/training.py)":
            {"steps": len(keras_t), "windows_per_s": per_s(keras_t), "ms_per_step_p50": 1e3 * float(np.median(keras_t))},
        "PyTorch twin (eager)":
            {"steps": len(torch_t), "windows_per_s": per_s(torch_t), "ms_per_step_p50": 1e3 * float(np.median(torch_t))}}
    report["training_ratio"] = per_s(keras_t) / per_s(torch_t)
    report["exports"] = {}
    for label, (name, quantize) in EXPORTS.items():
        print(f"exporting {label} ...", flush=True)
        r = m.export(work / name, quantize=quantize)
        report["exports"][label] = {"agreement": r["agreement"], "max_abs_diff": r["max_abs_diff"],
                                    "bytes": size_of(work / name)}
    inputs = latency_inputs(m, args.windows)
    report["latency"] = {}
    for label, call in runtimes(torch, m, work, twin).items():
        print(f"timing {label} ...", flush=True)
        report["latency"][label] = time_calls(call, inputs)
    report["load_end"] = os.getloadavg()
    return report


def render(r: dict) -> str:
    a, mach = r["architecture"], r["machine"]
    lines = [f"# {NAME} benchmark{' (QUICK smoke test: numbers not for quoting)' if r['quick'] else ''}", "",
             f"- date: {r['date']}",
             f"- machine: {mach['cpu']}, nproc {mach['nproc']}; load average {r['load_start'][0]:.2f} "
             f"at start, {r['load_end'][0]:.2f} at end",
             f"- threads: {r['threads'] or 'each runtime default'}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- model: shipped `{NAME}`: {a['cell']} {a['layers']}x{a['units']}, window {a['window']}, "
             f"horizon {a['horizon']}, {a['params']:,} parameters",
             f"- PyTorch twin (benchmarks/forecast_lstm_torch.py), weights copied: max |quantile diff| "
             f"{r['twin_max_abs_diff']:.1e} on a real batch",
             *busy_note(r["load_start"][0], mach["nproc"]), "",
             "## Training throughput (batch 256 windows, compile/warm-up excluded)", "",
             "| framework | steps | windows/s | ms/step (p50) |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {t['steps']} | {t['windows_per_s']:,.0f} | {t['ms_per_step_p50']:.1f} |"
              for k, t in r["training"].items()]
    lines += ["", f"Ratio Keras / PyTorch (windows/s): **{r['training_ratio']:.2f}** (above 1: Keras is faster).",
              "", "## Single-forecast latency (batch 1, model call only)", "",
              "| runtime | p50 ms | p99 ms | mean ms | parity vs Keras (agreement, max abs diff) |",
              "|---|---:|---:|---:|---|"]
    for label, t in r["latency"].items():
        e = r["exports"].get(label.split(" `")[0]) or r["exports"].get(label.replace(" Runtime", ""))
        par = f"{e['agreement']:.4f}, {e['max_abs_diff']:.1e}" if e else "reference / twin"
        lines.append(f"| {label} | {t['p50_ms']:.3f} | {t['p99_ms']:.3f} | {t['mean_ms']:.3f} | {par} |")
    lines += ["", "## Sizes", "", "| artifact | MB |", "|---|---:|",
              f"| bundle (`{r['bundle']['path']}`) | {mb(r['bundle']['bytes'])} |"]
    lines += [f"| {label} export | {mb(e['bytes'])} |" for label, e in r["exports"].items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="forecast-bench-"))
    try:
        report = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    write(report, render(report), args.out)
    print(render(report))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
