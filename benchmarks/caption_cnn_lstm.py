"""Speed of the shipped `caption-cnn-lstm`: training throughput against the same network
in PyTorch, and caption latency per image for Keras, TFLite + host beam search, ONNX
Runtime and the SavedModel's in-graph greedy serving signature.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_cnn_lstm    # minutes
    .venv/bin/python -m benchmarks.caption_cnn_lstm --quick                    # smoke test
    zoo bench caption-cnn-lstm [--quick --threads 1]

What is timed (see benchmarks/harness.py for what every benchmark shares):
- Training: batches of augmented emoji train images with their captions from
  `zoo_pipelines.captioning.data.make_dataset` (seed 0). Keras with the recipe's
  jit_compile=False and with XLA; the twin is benchmarks/twins/caption_cnn_lstm.py (the
  attention LSTM decoder stepped in a Python loop over the words).
- Latency: one emoji valid image per call, `predict([image], beam=B)` end to end (image
  decoding, the encoder once, the step once per word and hypothesis, host beam search)
  on Keras, TFLite float32 and ONNX Runtime; the SavedModel `serving_default` (PNG bytes
  in, greedy caption out, the loop in the graph); and one `step` call alone per runtime.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .harness import Spec, run, timed, train_batches

DATA = ("captioning", "emoji")


def step_inputs(zm, image) -> dict:
    """The decoder "step" function's first inputs for one image: the encoder's outputs."""
    host = zm.host()
    enc = zm.call_function("encoder", {"image": host.encode([image]).units[0]["image"][None]})
    return {"word": np.array([1], np.int32), "features": enc["features"], "keys": enc["keys"],
            **{k: enc[k] for k in host.state}}


def latency(bench) -> dict:
    import tensorflow as tf

    from zoo_pipelines.captioning import data as D
    from zoo_pipelines.captioning import model as M
    from zoo.data import data_root

    zm = bench.zm
    images = [e["image"] for e in D.read_split(data_root().joinpath(*DATA), "valid")[:bench.calls]]
    table, answers = bench.predict_latency(images, beams=(1, 3))
    serve = bench.saved_model().signatures["serving_default"]
    png = [Path(p).read_bytes() for p in images]
    table["SavedModel serving_default (bytes in, in-graph greedy)"] = timed(
        lambda b: serve(images=tf.constant([b])), png, png[:1])
    start = time.perf_counter()
    served = M.serving_results(serve(images=tf.constant(png)))
    batch_ms = 1e3 * (time.perf_counter() - start)
    greedy = answers["Keras (ZooModel)", 1]
    agreement = np.mean([a["words"] == b["words"] for a, b in zip(served, greedy)])
    inputs = step_inputs(zm, images[0])
    return {"Caption latency, one image per call (image decoding to caption)": table,
            "SavedModel serving, one batch": f"SavedModel serving on all {len(png)} images in one "
            f"call: {batch_ms:.0f} ms; its greedy captions equal `predict(beam=1)` on "
            f"{agreement:.0%} of them.",
            "One decoder step (batch 1), as the host's beam search calls it": bench.step_latency(inputs)}


def describe(km, hp: dict) -> str:
    return (f"CNN widths {hp.get('widths')} on {hp.get('image_size')} px, {hp.get('cell')} "
            f"{hp.get('units')} + attention {hp.get('attention_dim')}, vocabulary "
            f"{km.get_layer('decoder').vocab_size}")


SPEC = Spec(name="caption-cnn-lstm", doc=__doc__, twin="caption_cnn_lstm", batches=train_batches,
            counts=lambda prep, x, y: {"images": len(y["logits"]), "words": int((y["logits"] > 0).sum())},
            latency=latency, describe=describe, data="emoji train, augmented", inputs="images",
            exports=("SavedModel", "TFLite float32", "ONNX"), both_jit=True)


def main(argv=None) -> int:
    return run(SPEC, argv)


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
