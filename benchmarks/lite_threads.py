"""Single-example latency by thread count: TFLite (float and dynamic-range) and ONNX
Runtime at batch 1, each with its default threads, one thread and two.

zoo.runtime leaves LiteRT's `num_threads` unset, and XNNPACK then runs one thread; ONNX
Runtime's default uses every core. This separates the runtimes from their thread counts:
for each model it exports TFLite float, TFLite dynamic-range and ONNX into a temporary
folder, loads each at each thread count through `zoo.runtime`, and times the same call in
turns (four rounds, each runtime and count after a pause), reporting p10 and p50.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.lite_threads [NAME ...]

writes benchmarks/results/lite_threads.md (about a minute a model; nothing is trained).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .harness import PAUSE, RESULTS, collector_paused, run_lines, write_markdown

ROUNDS, CALLS = 4, 100          # calls per round for each runtime and thread count
EXPORTS = {"TFLite float": ("model.tflite", None), "TFLite dynamic-range":
           ("model-dynamic.tflite", "dynamic"), "ONNX Runtime": ("model.onnx", None)}
THREADS = (None, 1, 2)          # None: the runtime's default


def ner_calls(zm):
    """Every CoNLL valid sentence of 30 tokens, `predict_units` (the issue's latency goal)."""
    from zoo.data import data_root, read_split

    valid = read_split(zm.entry, data_root() / zm.entry.default_data, "valid")
    units = zm.host().encode([ex["tokens"] for ex in valid if len(ex["tokens"]) == 30]).units
    return units, lambda model, unit: model.predict_units([unit])


def step_calls(inputs: dict):
    return [inputs], lambda model, x: model.call_function("step", x)


def caption_calls(zm):
    from zoo.data import data_root
    from zoo_pipelines.captioning import data as D

    from .caption_cnn_lstm import step_inputs

    image = D.read_split(data_root() / zm.entry.default_data, "valid")[0]["image"]
    return step_calls(step_inputs(zm, image))


def charlm_calls(zm):
    from .charlm_lstm import step_inputs

    return step_calls(step_inputs(zm))


def music_calls(zm):
    from .music_lstm import step_inputs

    return step_calls(step_inputs(zm))


# name: what is timed, and (items, call(model, item)) for it
CALLS_OF = {"ner-bilstm": ("a 30-token sentence", ner_calls),
            "caption-cnn-lstm": ("one decoder step", caption_calls),
            "charlm-lstm": ("one recurrent step", charlm_calls),
            "music-lstm": ("one recurrent step", music_calls)}


def measure(name: str) -> list[str]:
    import zoo
    from zoo import runtime

    zm = zoo.load(name)
    what, make = CALLS_OF[name]
    items, call = make(zm)
    with tempfile.TemporaryDirectory() as tmp:
        models = {}
        for label, (file, quantize) in EXPORTS.items():
            zm.export(Path(tmp) / file, quantize=quantize)
            for threads in THREADS:
                models[label, threads] = runtime.load(Path(tmp) / file, threads=threads)
        ms = {key: [] for key in models}
        for key, model in models.items():
            call(model, items[0])                           # warm-up
        for _ in range(ROUNDS):
            for key, model in models.items():
                time.sleep(PAUSE)       # the previous runtime's threads stop spinning
                with collector_paused():
                    for i in range(CALLS):
                        start = time.perf_counter()
                        call(model, items[i % len(items)])
                        ms[key].append(1e3 * (time.perf_counter() - start))
    head = "| runtime | " + " | ".join(f"{'default' if t is None else t} thread{'s' if t != 1 else ''}"
                                       " p50 (p10)" for t in THREADS) + " |"
    lines = [f"## {name}, {what} (ms, {ROUNDS * CALLS} calls each)", "", head,
             "|---|" + "---:|" * len(THREADS)]
    for label in EXPORTS:
        cells = [f"{np.median(ms[label, t]):.3f} ({np.percentile(ms[label, t], 10):.3f})"
                 for t in THREADS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    print("\n".join(lines), flush=True)
    return lines + [""]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.lite_threads")
    ap.add_argument("names", nargs="*", default=list(CALLS_OF), help=f"of {list(CALLS_OF)}")
    args = ap.parse_args(argv)
    if set(args.names) - set(CALLS_OF):
        ap.error(f"not measured here: {sorted(set(args.names) - set(CALLS_OF))}; "
                 f"expected some of {list(CALLS_OF)}")
    lines = ["# Single-example latency by thread count: TFLite and ONNX Runtime", "",
             __doc__.split("\n\n")[1], "",
             *run_lines(f"python -m benchmarks.lite_threads {' '.join(args.names)}",
                        os.getloadavg()[0]), ""]
    for name in args.names:
        lines += measure(name)
    write_markdown(RESULTS / "lite_threads.md", lines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
