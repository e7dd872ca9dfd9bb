"""Speed of the shipped `summarize-attn`: training throughput against the same network in
PyTorch, and summary latency per document for Keras, the SavedModel's in-graph greedy
serving signature, TFLite + host beam search and ONNX Runtime + host beam search.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.summarize_attn      # minutes
    .venv/bin/python -m benchmarks.summarize_attn --quick                      # smoke test
    .venv/bin/python -m benchmarks.summarize_attn --threads 0                  # framework defaults

One thread per framework unless --threads says otherwise. What is timed (see
benchmarks/harness.py for what every benchmark shares):
- Training: batches of Debian train pairs from `zoo_pipelines.summarization.data.make_dataset`
  (length-bucketed sources, seed 0; XLA compiles once per source-length bucket); the twin
  is benchmarks/twins/summarize_attn.py (an LSTMCell decoder stepped in a Python loop).
- Latency: one Debian valid document per call, `predict([doc], beam=B)` end to end
  (tokenizing, the encoder once, the step once per token and hypothesis, host beam search)
  for B = 4 and 1 on Keras, TFLite float32 and ONNX Runtime; the SavedModel
  `serving_default` (raw string in, greedy summary out, the tokenizer and the loop in the
  graph); one `step` call alone per runtime; and minimum Bayes risk decoding (32 draws)
  per document in every runtime, on Keras also one draw a step call.
"""
from __future__ import annotations

import numpy as np

from .harness import Spec, run, timed, train_batches

DATA = ("summarization", "debian_descriptions")


def first_step_inputs(zm, doc: str) -> dict:
    """The decoder step's inputs for `doc`'s first word, as the host's beam search calls it."""
    host = zm.host()
    ids = host.source_ids(0, doc)
    source = np.zeros((1, host.max_source), np.int32)
    source[0, :len(ids)] = ids
    enc = zm.call_function("encoder", {"source": source})
    return {"token": np.array([2], np.int32), "h": enc["h"], "c": enc["c"],
            "context": np.zeros((1, enc["memory"].shape[-1]), np.float32),
            "coverage": np.zeros((1, host.max_source), np.float32), "memory": enc["memory"],
            "keys": enc["keys"], "source": source}


def latency(bench) -> dict:
    import tensorflow as tf

    from zoo_pipelines.summarization import data as D
    from zoo_pipelines.summarization import model as M
    from zoo.data import data_root

    zm = bench.zm
    docs = D.parity_examples(D.read_split(data_root().joinpath(*DATA), "valid"), bench.calls)
    table, answers = bench.predict_latency(docs, beams=(4, 1))
    serve = bench.saved_model().signatures["serving_default"]
    arg = next(iter(serve.structured_input_signature[1]))
    served: list = []
    table["SavedModel serving_default (string in, in-graph greedy)"] = timed(
        lambda d: served.extend(M.serving_results(serve(**{arg: tf.constant([d])}))), docs, docs[:1])
    greedy = {label: [o["summary"] for o in out] for (label, beam), out in answers.items() if beam == 1}
    keras = greedy.pop("Keras (ZooModel)")
    agreement = {label: np.mean([a == b for a, b in zip(g, keras)]) for label, g in greedy.items()}
    # the serving loop has no n-gram blocking: compare with predict(block_ngram=0)
    plain = [o["summary"] for o in zm.predict(docs, beam=1, block_ngram=0)]
    agreement["SavedModel serving_default (vs beam 1, block_ngram=0)"] = np.mean(
        [a["summary"] == b for a, b in zip(served[1:], plain)])    # served[0]: the warm-up call
    inputs = first_step_inputs(zm, docs[0])
    few = docs[:2 if bench.quick else 10]
    mbr = mbr_latency(bench, few)
    words = np.mean([len(d.split()) for d in docs])
    return {f"Summary latency, one document per call ({len(docs)} Debian valid documents, "
            f"{words:.0f} words on average; text to summary)": table,
            "Greedy agreement": "Greedy summaries equal to Keras `predict(beam=1)`: " + ", ".join(
                f"{k} {v:.0%}" for k, v in agreement.items()) + ".",
            "One decoder step (batch 1), as the host's beam search calls it": bench.step_latency(inputs),
            f"Minimum Bayes risk ({MBR['mbr']} draws, epsilon {MBR['epsilon']}), one document "
            f"per call (the first {len(few)} documents)": mbr}


MBR = {"mbr": 32, "epsilon": 0.05}


def mbr_latency(bench, docs: list) -> dict:
    """`predict([doc], **MBR)` in every runtime, and on Keras also row by row as the
    TFLite export's batch-1 step runs it (`call_function`; Keras's and ONNX's `predict`
    give a document's draws to the step in one call a step)."""
    table = {}
    for label, m in bench.models().items():
        print(f"timing {label}, MBR ...", flush=True)
        table[label] = timed(lambda d, m=m: m.predict([d], **MBR), docs, docs[:1])
    zm, host = bench.zm, bench.zm.host()

    def rows(d):
        encoded = host.encode([d], **MBR)
        host.decode(encoded, host.run(encoded, zm.call_function))
    table["Keras (ZooModel), one draw a step call"] = timed(rows, docs, docs[:1])
    return table


def describe(km, hp: dict) -> str:
    return (f"embedding {hp.get('embed')}, BiLSTM 2x{hp.get('enc_units')}, LSTM decoder "
            f"{hp.get('dec_units')} + additive attention {hp.get('attn_units')}, copy "
            f"{hp.get('copy')}, coverage {hp.get('coverage')}")


SPEC = Spec(name="summarize-attn", doc=__doc__, twin="summarize_attn", batches=train_batches,
            counts=lambda prep, x, y: {"pairs": len(y["log_probs"]),
                                       "target_tokens": int((y["log_probs"] > 0).sum())},
            latency=latency, describe=describe, data="Debian train, length-bucketed sources",
            inputs="docs", calls=(40, 3), threads=1, exports=("SavedModel", "TFLite float32", "ONNX"),
            both_jit=True)


def main(argv=None) -> int:
    return run(SPEC, argv)


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
