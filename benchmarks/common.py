"""Pieces every benchmark shares: the machine and versions it ran on, thread settings,
latency timing, file sizes, and writing the Markdown + JSON report.

>>> from benchmarks.common import mb
>>> mb(3 * 2**20)
'3.00'
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
PACKAGES = ("tensorflow", "keras", "torch", "ai-edge-litert", "onnxruntime", "tf2onnx", "numpy")


def import_torch(threads: int | None, who: str = "this benchmark"):
    try:
        import torch
    except ImportError:
        sys.exit(f"{who} needs PyTorch: .venv/bin/pip install torch==2.13.0")
    if threads:
        torch.set_num_threads(threads)
    return torch


def set_tf_threads(threads: int | None) -> None:
    """Must run before TensorFlow executes anything."""
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "nproc": len(os.sched_getaffinity(0)), "platform": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def bundle_sizes(name: str) -> dict:
    from zoo.bundle import resolve

    directory = resolve(name).resolve()
    files = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}
    shown = directory.relative_to(REPO) if directory.is_relative_to(REPO) else directory
    return {"path": str(shown), "bytes": size_of(directory), "files": files}


def time_calls(call, inputs: list, warmup: list | None = None) -> dict:
    """Latency of `call(x)` over `inputs` (milliseconds), after one call on each of `warmup`
    (default: the first input)."""
    for x in warmup if warmup is not None else inputs[:1]:
        call(x)
    times = []
    for x in inputs:
        start = time.perf_counter()
        call(x)
        times.append(time.perf_counter() - start)
    ms = 1e3 * np.array(times)
    return {"calls": len(ms), "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean())}


def mb(n: int) -> str:
    return f"{n / 2**20:.2f}" if n >= 2**20 / 100 else "<0.01"


def busy_note(load_start: float, nproc: int) -> list[str]:
    """A warning when other work was running as the benchmark began (the load at the end
    includes the benchmark's own threads, so it says nothing about other work)."""
    if load_start < 0.5 * nproc:
        return []
    return [f"- **warning**: load average {load_start:.1f} on {nproc} cores: other "
            "processes shared the CPU, so these numbers are not representative (multi-threaded "
            "runtimes, PyTorch's OpenMP pool especially, suffer most)"]


def write(report: dict, markdown: str, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str) + "\n",
                                        encoding="utf-8")


def timed(fn, items) -> list[float]:
    """Milliseconds of one `fn(x)` call for each x of `items`."""
    out = []
    for x in items:
        t = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t) * 1000)
    return out


def stats(ms) -> dict:
    """p50 / p99 / mean of a list of milliseconds, and how many there were."""
    a = np.asarray(ms, np.float64)
    return {"p50": float(np.median(a)), "p99": float(np.percentile(a, 99)),
            "mean": float(a.mean()), "n": int(a.size)}


def numpy_batches(dataset, steps: int) -> list:
    """The first `steps` (features, targets) batches of a tf.data dataset as numpy dicts,
    so Keras and the PyTorch twin are fed the same arrays."""
    return [({k: v.numpy() for k, v in x.items()}, {k: v.numpy() for k, v in y.items()})
            for x, y in dataset.take(steps)]


def keras_training_copy(zm, jit_compile: bool = True):
    """A copy of the bundle's Keras model compiled as zoo/training.py compiles it (Adam,
    global clipnorm, the application's loss); the loaded model stays untouched."""
    import keras

    from zoo.model import ZooModel
    from zoo.training import compile_for_training

    copy = keras.Model.from_config(zm.keras_model.get_config())
    copy.set_weights(zm.keras_model.get_weights())
    compile_for_training(ZooModel(zm.entry, copy, zm.preprocessor, hparams=zm.hparams),
                         zm.hparams.get("learning_rate", 1e-3), zm.hparams.get("clipnorm", 5.0),
                         jit_compile)
    return copy
