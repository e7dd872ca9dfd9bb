"""Speed of the shipped `speech-ctc`: training throughput against the same network in
PyTorch, and latency per second of audio (real-time factor) for Keras, TFLite and ONNX
Runtime; with `speech-ctc-stream` shipped, also its latency per 100 ms streaming chunk.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.speech_ctc     # a few minutes
    .venv/bin/python -m benchmarks.speech_ctc --quick                    # smoke test
    zoo bench speech-ctc [--quick --threads 1 --steps 8 --utterances 20]

What is timed (see benchmarks/harness.py for what every benchmark shares):
- Training: batches of augmented connected-digit utterances from
  `zoo_pipelines.speech.data.make_dataset` (seed 0); the twin is benchmarks/twins/speech_ctc.py.
  Throughput is seconds of audio trained per second.
- Latency: one utterance per call (batch 1): FSDD valid recordings joined into 1-8 digit
  strings (the evaluator's connected strings). Host features are computed beforehand;
  the model call alone is timed. Real-time factor = compute time / audio time. "end to
  end" adds reading, features and CTC decoding (ZooModel.predict).
"""
from __future__ import annotations

from .harness import Spec, run, timed, train_batches


def audio_seconds(prep: dict, x: dict, y: dict) -> dict:
    """The targets' first column is each utterance's output steps (10 ms frames / subsample)."""
    return {"audio_seconds": float((y["logits"][:, 0] * prep["subsample"]).sum()) * 0.01}


def connected_strings(zm, n: int) -> list:
    from zoo_pipelines.speech import data as D
    from zoo.data import data_root

    valid = D.read_split(data_root() / "fsdd", "valid")
    return D.connected_strings(valid, zm.preprocessor["sample_rate"])[:n]


def latency(bench) -> dict:
    zm = bench.zm
    strings = connected_strings(zm, bench.calls)
    seconds = sum(s["audio"]["array"].size for s in strings) / zm.preprocessor["sample_rate"]
    units = [zm.host().encode([s["audio"]]).units[0] for s in strings]
    table = bench.unit_latency(units)
    table["Keras end to end (ZooModel.predict)"] = timed(lambda s: zm.predict([s["audio"]]), strings,
                                                         strings[:1])
    for row in table.values():
        row["ms_per_audio_second"] = row["mean"] * row["n"] / seconds
        row["rtf"] = row["ms_per_audio_second"] / 1e3
    out = {f"Latency, batch 1 ({len(units)} connected-digit utterances, mean "
           f"{seconds / len(units):.2f} s of audio)": table}
    stream = streaming(bench, strings[:max(3, bench.calls // 4)])
    if stream:
        out["Streaming (speech-ctc-stream), one 100 ms chunk per call"] = stream
    return out


def streaming(bench, strings: list) -> dict | None:
    """`stream().feed(chunk)` per 100 ms chunk, Keras and TFLite; None without the bundle."""
    import zoo
    from zoo.bundle import resolve
    from zoo.errors import ZooError

    try:
        resolve("speech-ctc-stream")
    except ZooError:
        return None
    m = zoo.load("speech-ctc-stream")
    path = bench.paths["TFLite float32"].with_name("stream.tflite")
    m.export(path)
    out = {}
    for label, model in (("Keras step", m), ("TFLite step", zoo.runtime.load(path, threads=bench.threads))):
        chunks = []
        for s in strings:
            stream = model.stream()
            wave = s["audio"]["array"]
            chunks += [(stream, wave[c:c + 800]) for c in range(0, wave.size, 800)]
        out[label] = timed(lambda sc: sc[0].feed(sc[1]), chunks)
    return out


def describe(km, hp: dict) -> str:
    enc = km.get_layer("encoder")
    return f"Conv1d front end, {enc.depth}x bidirectional GRU {enc.units}, CTC"


SPEC = Spec(name="speech-ctc", doc=__doc__, twin="speech_ctc", batches=train_batches, counts=audio_seconds,
            latency=latency, describe=describe, data="FSDD train, augmented connected digits",
            inputs="utterances", steps=(20, 3), calls=(40, 6),
            exports=("TFLite float32", "TFLite dynamic-range", "ONNX"))


def main(argv=None) -> int:
    return run(SPEC, argv)


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
