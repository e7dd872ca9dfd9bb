"""Single-example latency by thread count: TFLite (float and dynamic-range) and ONNX
Runtime at batch 1, each with its default threads, one thread and two: the single steps,
ner-bilstm's 30-token sentence, a caption's and a summary's beam search, and a
summary's MBR.

zoo.runtime leaves LiteRT's `num_threads` unset, and XNNPACK then runs one thread; ONNX
Runtime's default uses every core. This separates the runtimes from their thread counts:
for each row it exports TFLite float, TFLite dynamic-range (not for the beam searches)
and ONNX into a temporary folder, loads each at each thread count through `zoo.runtime`,
and times the same call in turns (four rounds, each runtime and count after a pause),
reporting p10 and p50.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.lite_threads [NAME ...]

writes benchmarks/results/lite_threads.md (about a minute a row; nothing is trained).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from .harness import PAUSE, RESULTS, collector_paused, run_lines, write_markdown

ROUNDS = 4
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


def caption_images(zm, n: int) -> list[str]:
    from zoo.data import data_root
    from zoo_pipelines.captioning import data as D

    return [e["image"] for e in D.read_split(data_root() / zm.entry.default_data, "valid")[:n]]


def caption_step(zm):
    from .caption_cnn_lstm import step_inputs

    return step_calls(step_inputs(zm, caption_images(zm, 1)[0]))


def caption_beam(zm):
    """`predict([image], beam=3)` on 20 valid images (the default decoding)."""
    return caption_images(zm, 20), lambda model, image: model.predict([image], beam=3)


def summarize_docs(n: int) -> list[str]:
    """The first `n` Debian valid documents (benchmarks.summarize_attn's)."""
    from zoo.data import data_root
    from zoo_pipelines.summarization import data as D

    from .summarize_attn import DATA

    return D.parity_examples(D.read_split(data_root().joinpath(*DATA), "valid"), n)


def summarize_beam(zm):
    """`predict([document], beam=4)` on 20 documents."""
    return summarize_docs(20), lambda model, doc: model.predict([doc], beam=4)


def summarize_mbr(zm):
    """`predict([document], mbr=32, epsilon=0.05)` on 5 documents (its 32 draws a step)."""
    from .summarize_attn import MBR

    return summarize_docs(5), lambda model, doc: model.predict([doc], **MBR)


def charlm_step(zm):
    from .charlm_lstm import step_inputs

    return step_calls(step_inputs(zm))


def music_step(zm):
    from .music_lstm import step_inputs

    return step_calls(step_inputs(zm))


ALL, FLOAT_AND_ONNX = tuple(EXPORTS), ("TFLite float", "ONNX Runtime")
# (model, what is timed, its (items, call(model, item)), exports, calls a round for each
# runtime and thread count, cycling through the items): the single steps, the ner-bilstm
# goal's sentence, and the beam searches that trail ONNX Runtime on the Intel machine
ROWS = [("ner-bilstm", "a 30-token sentence", ner_calls, ALL, 100),
        ("caption-cnn-lstm", "one decoder step", caption_step, ALL, 100),
        ("charlm-lstm", "one recurrent step", charlm_step, ALL, 100),
        ("music-lstm", "one recurrent step", music_step, ALL, 100),
        ("caption-cnn-lstm", "one image, beam 3", caption_beam, FLOAT_AND_ONNX, 20),
        ("summarize-attn", "one document, beam 4", summarize_beam, FLOAT_AND_ONNX, 20),
        ("summarize-attn", "one document, MBR 32 draws", summarize_mbr, FLOAT_AND_ONNX, 5)]


def measure(name: str, what: str, make, exports: tuple, calls: int) -> list[str]:
    import zoo
    from zoo import runtime

    zm = zoo.load(name)
    items, call = make(zm)
    with tempfile.TemporaryDirectory() as tmp:
        models = {}
        for label in exports:
            file, quantize = EXPORTS[label]
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
                    for i in range(calls):
                        start = time.perf_counter()
                        call(model, items[i % len(items)])
                        ms[key].append(1e3 * (time.perf_counter() - start))
    head = "| runtime | " + " | ".join(f"{'default' if t is None else t} thread{'s' if t != 1 else ''}"
                                       " p50 (p10)" for t in THREADS) + " |"
    lines = [f"## {name}, {what} (ms, {ROUNDS * calls} calls each)", "", head,
             "|---|" + "---:|" * len(THREADS)]
    for label in exports:
        cells = [f"{np.median(ms[label, t]):.3f} ({np.percentile(ms[label, t], 10):.3f})"
                 for t in THREADS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    print("\n".join(lines), flush=True)
    return lines + [""]


def main(argv=None) -> int:
    names = list(dict.fromkeys(row[0] for row in ROWS))
    ap = argparse.ArgumentParser(prog="python -m benchmarks.lite_threads")
    ap.add_argument("names", nargs="*", default=names, help=f"of {names}")
    args = ap.parse_args(argv)
    if set(args.names) - set(names):
        ap.error(f"not measured here: {sorted(set(args.names) - set(names))}; "
                 f"expected some of {names}")
    lines = ["# Single-example latency by thread count: TFLite and ONNX Runtime", "",
             __doc__.split("\n\n")[1], "",
             *run_lines(f"python -m benchmarks.lite_threads {' '.join(args.names)}",
                        os.getloadavg()[0]), ""]
    for row in ROWS:
        if row[0] in args.names:
            lines += measure(*row)
    write_markdown(RESULTS / "lite_threads.md", lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
