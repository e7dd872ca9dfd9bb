"""What a TFLite decoder step with a batch of rows would cost: caption-cnn-lstm's "step"
converted as `zoo export` converts it, with every input's batch fixed at 1, 3 or 12 (a
beam, or a beam's rerank candidates), timed in LiteRT with one thread.

The host used to send a beam's hypotheses to TFLite's batch-1 step one row a call and to
ONNX Runtime in one call, which is why ONNX Runtime led the beam searches even with one
thread (benchmarks/results/lite_threads.md). This measured whether a step with a batch of
rows would pay; it did, and exports now carry such steps (zoo.export.ROW_BATCHES).

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.lite_step_batch

writes benchmarks/results/lite_step_batch.md (a minute; nothing is trained).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from .harness import RESULTS, collector_paused, run_lines, write_markdown

BATCHES, CALLS = (1, 3, 12), 300


def step_at_batch(zm, batch: int):
    """The caption step's TFLite signature runner with every input's batch fixed at `batch`."""
    from ai_edge_litert.interpreter import Interpreter

    from zoo.export import _signature_fn, _static_shapes, tflite_bytes
    from zoo_pipelines.captioning.model import export_functions

    fn = export_functions(zm.keras_model, zm.preprocessor, batch=batch)["step"]
    lite = tflite_bytes(zm.keras_model, {"step": _signature_fn(fn, _static_shapes(fn, batch), "step")})
    return Interpreter(model_content=lite, num_threads=1).get_signature_runner()


def main(argv=None) -> int:
    # no options; a parser all the same: --help (or a typo) ran the benchmark and rewrote
    # its results file
    argparse.ArgumentParser(prog="python -m benchmarks.lite_step_batch",
                            description=__doc__.split("\n\n")[0]).parse_args(argv)
    import zoo

    from .caption_cnn_lstm import step_inputs
    from .lite_threads import caption_images

    load = os.getloadavg()[0]
    zm = zoo.load("caption-cnn-lstm")
    one = step_inputs(zm, caption_images(zm, 1)[0])
    lines = ["# A TFLite decoder step with a batch of rows", "", __doc__.split("\n\n")[0], "",
             *run_lines("python -m benchmarks.lite_step_batch", load), "",
             f"| caption-cnn-lstm step, rows a call | p50 ms a call ({CALLS} calls) | ms a row |",
             "|---:|---:|---:|"]
    for batch in BATCHES:
        run = step_at_batch(zm, batch)
        rows = {k: np.repeat(v, batch, axis=0) for k, v in one.items()}
        run(**rows)
        ms = []
        with collector_paused():
            for _ in range(CALLS):
                start = time.perf_counter()
                run(**rows)
                ms.append(1e3 * (time.perf_counter() - start))
        p50 = float(np.median(ms))
        lines.append(f"| {batch} | {p50:.3f} | {p50 / batch:.3f} |")
        print(lines[-1], flush=True)
    write_markdown(RESULTS / "lite_step_batch.md", lines)
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
