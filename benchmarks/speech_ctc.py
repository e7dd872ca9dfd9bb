"""Speed of the shipped `speech-ctc`: training throughput against the same network in
PyTorch, and latency per second of audio (real-time factor) for Keras, TFLite and ONNX
Runtime; with `speech-ctc-stream` shipped, also its latency per 80 ms streaming step.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.speech_ctc     # a few minutes
    .venv/bin/python -m benchmarks.speech_ctc --quick                    # smoke test
    zoo bench speech-ctc [--quick]

Needs torch (`pip install torch==2.13.0`, imported only here). Writes
benchmarks/results/speech_ctc.md (speech_ctc-quick.md with --quick) and the .json beside it.

What is timed:
- Training: one optimizer step on a batch of 32 augmented connected-digit utterances from
  `pipelines.speech.data.make_dataset` (seed 0), the same arrays for both frameworks.
  Keras: a copy of the shipped model compiled as zoo/training.py does (Adam, global
  clipnorm, CTC loss, jit_compile=True), `train_on_batch`. PyTorch: a twin (Conv1d x2,
  LayerNorm, packed bidirectional GRU, Linear, `F.ctc_loss`) with the Keras weights copied
  in, checked to compute the same logits. Every batch shape runs twice before timing.
  Throughput is seconds of audio trained per second.
- Latency: one utterance per call (batch 1): FSDD valid recordings joined into 1-8 digit
  strings (the evaluator's connected strings). Host features are computed beforehand;
  the model call alone is timed, padded to the length bucket (Keras tf.function, TFLite)
  or at its exact length (ONNX Runtime). Real-time factor = compute time / audio time.
  "end to end" adds reading, features and CTC decoding (ZooModel.predict).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import machine, versions
from .torch_rnn import keras_rnn_weights

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.speech_ctc")
    p.add_argument("--quick", action="store_true", help="few iterations (numbers not for quoting)")
    p.add_argument("--steps", type=int, help="timed training steps per framework")
    p.add_argument("--utterances", type=int, help="utterances timed per runtime")
    p.add_argument("--threads", type=int, help="threads for every framework (default: their own)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    args.steps = args.steps or (3 if args.quick else 20)
    args.utterances = args.utterances or (6 if args.quick else 40)
    args.out = args.out or RESULTS / ("speech_ctc-quick.md" if args.quick else "speech_ctc.md")
    return args


def ms_stats(times) -> dict:
    ms = 1e3 * np.asarray(times)
    return {"calls": len(ms), "p50_ms": float(np.median(ms)), "mean_ms": float(ms.mean()),
            "p99_ms": float(np.percentile(ms, 99))}


# ---- the PyTorch twin -------------------------------------------------------------------
def make_twin(torch, km):
    """The Keras network in PyTorch with the same weights."""
    from torch import nn
    from torch.nn import functional as F

    enc = km.get_layer("encoder")
    convs = [l for l in km.layers if isinstance(l, __import__("keras").layers.Conv1D)]

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv1d(c.kernel.shape[1], c.filters, 5, stride=2)
                                       for c in convs)
            self.norm = nn.LayerNorm(convs[-1].filters, eps=km.get_layer("front_norm").epsilon)
            self.rnns = nn.ModuleList()
            width = convs[-1].filters
            for _ in range(enc.depth):
                self.rnns.append(nn.GRU(width, enc.units, batch_first=True, bidirectional=True))
                width = 2 * enc.units
            head = km.get_layer("head_logits")
            self.head = nn.Linear(width, head.units)

        def forward(self, x, frames):
            x = x.transpose(1, 2)
            for i, conv in enumerate(self.convs):       # the Keras model's explicit padding
                x = F.relu(conv(F.pad(x, (1, 3))))
                valid = -(-frames // 2 ** (i + 1))      # zero what comes from padding
                x = x * (torch.arange(x.shape[2])[None] < valid[:, None])[:, None].to(x.dtype)
            x = self.norm(x.transpose(1, 2))
            lengths = -(-frames // 2 ** len(self.convs))
            for rnn in self.rnns:
                packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                                           enforce_sorted=False)
                x = nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], batch_first=True,
                                                     total_length=x.shape[1])[0]
            return self.head(x), lengths

    twin = Twin()

    with torch.no_grad():
        for conv, c in zip(twin.convs, convs):
            k, b = c.get_weights()
            conv.weight.copy_(torch.from_numpy(k.transpose(2, 1, 0).copy()))
            conv.bias.copy_(torch.from_numpy(b))
        g, b = km.get_layer("front_norm").get_weights()
        twin.norm.weight.copy_(torch.from_numpy(g))
        twin.norm.bias.copy_(torch.from_numpy(b))
        for rnn, bi in zip(twin.rnns, enc.rnns):
            for suffix, layer in (("", bi.forward_layer), ("_reverse", bi.backward_layer)):
                w_ih, w_hh, b_ih, b_hh = keras_rnn_weights(layer.get_weights(), "gru")
                for name, w in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih),
                                ("bias_hh", b_hh)):
                    getattr(rnn, f"{name}_l0{suffix}").copy_(torch.from_numpy(w.copy()))
        k, b = km.get_layer("head_logits").get_weights()
        twin.head.weight.copy_(torch.from_numpy(k.T.copy()))
        twin.head.bias.copy_(torch.from_numpy(b))
    return twin


def torch_ctc(torch, logits, lengths, y):
    from torch.nn import functional as F

    labels = torch.from_numpy(y[:, 1:].astype(np.int64))
    return F.ctc_loss(F.log_softmax(logits, -1).transpose(0, 1), labels, lengths,
                      (labels > 0).sum(1), blank=0, reduction="none", zero_infinity=True).mean()


# ---- parts ------------------------------------------------------------------------------
def training(m, args, torch) -> dict:
    import keras
    import tensorflow as tf

    from pipelines.speech import data as D
    from zoo.data import data_root
    from zoo.model import ZooModel
    from zoo.training import compile_for_training

    hp, prep = m.hparams, m.preprocessor
    train = D.read_split(data_root() / "fsdd", "train")
    ds = D.make_dataset(train, prep, batch_size=hp.get("batch_size", 32), shuffle=True, seed=0)
    batches = [(x["features"], y["logits"]) for x, y in ds.take(args.steps).as_numpy_iterator()]
    audio_s = sum(float((y[:, 0] * prep["subsample"]).sum()) * 0.01 for _, y in batches)

    model = keras.Model.from_config(m.keras_model.get_config())
    model.set_weights(m.keras_model.get_weights())
    compile_for_training(ZooModel(m.entry, model, prep), hp["learning_rate"], hp["clipnorm"])
    twin = make_twin(torch, m.keras_model)
    x0, y0 = batches[0]
    frames0 = torch.from_numpy((np.abs(x0).sum(-1) > 0).sum(1))
    twin.eval()
    with torch.no_grad():
        t_logits, t_len = twin(torch.from_numpy(x0), frames0)
    k_logits = np.asarray(m.keras_model({"features": x0}, training=False)["logits"])
    diff = max(float(np.abs(k_logits[i, :n] - t_logits[i, :n].numpy()).max())
               for i, n in enumerate(t_len.tolist()))
    twin.train()
    opt = torch.optim.Adam(twin.parameters(), lr=hp["learning_rate"], eps=1e-7)

    def torch_step(x, y):
        opt.zero_grad(set_to_none=True)
        frames = torch.from_numpy((np.abs(x).sum(-1) > 0).sum(1))
        logits, lengths = twin(torch.from_numpy(x), frames)
        loss = torch_ctc(torch, logits, lengths, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), hp["clipnorm"])
        opt.step()

    out = {"twin_logits_max_abs_diff": diff, "batches": len(batches), "audio_seconds": audio_s}
    for name, step, prepare in (
            ("Keras (jit_compile)", lambda x, y: model.train_on_batch({"features": x}, {"logits": y}),
             lambda x, y: (tf.constant(x), tf.constant(y))),
            ("PyTorch", torch_step, lambda x, y: (x, y))):
        data = [prepare(x, y) for x, y in batches]
        seen = set()
        for x, y in data:                            # warm up every shape twice
            if x.shape not in seen:
                seen.add(x.shape)
                step(x, y)
                step(x, y)
        times = []
        for x, y in data:
            s = time.perf_counter()
            step(x, y)
            times.append(time.perf_counter() - s)
        out[name] = {**ms_stats(times), "audio_s_per_s": audio_s / sum(times)}
        print(name, out[name], flush=True)
    return out


def latency(m, args) -> dict:
    import zoo
    from pipelines.speech import data as D
    from zoo.data import data_root

    valid = D.read_split(data_root() / "fsdd", "valid")
    strings = D.connected_strings(valid, m.preprocessor["sample_rate"])[:args.utterances]
    host = m.host()
    units = [host.encode([s["audio"]]).units[0] for s in strings]
    seconds = [s["audio"]["array"].size / m.preprocessor["sample_rate"] for s in strings]
    work = Path(tempfile.mkdtemp(prefix="speech-bench-"))
    out = {"utterances": len(units), "audio_seconds_mean": float(np.mean(seconds))}
    try:
        runners = {"Keras (tf.function)": lambda u: m.predict_units([u], 1)}
        for label, name, q in (("TFLite float32", "m.tflite", None),
                               ("TFLite dynamic-range", "m-dyn.tflite", "dynamic"),
                               ("ONNX Runtime", "m.onnx", None)):
            print("exporting", label, flush=True)
            report = m.export(work / name, quantize=q)
            rt = zoo.runtime.load(work / name)
            runners[label] = lambda u, rt=rt: rt.predict_units([u])
            out.setdefault("parity", {})[label] = {k: report[k] for k in ("agreement", "max_abs_diff")}
        for label, call in runners.items():
            for u in units[:3]:
                call(u)
            times = []
            for u in units:
                s = time.perf_counter()
                call(u)
                times.append(time.perf_counter() - s)
            rtf = float(np.sum(times) / np.sum(seconds))
            out[label] = {**ms_stats(times), "ms_per_audio_second": 1e3 * rtf, "rtf": rtf}
            print(label, out[label], flush=True)
        times = []
        for s in strings:
            t = time.perf_counter()
            m.predict([s["audio"]])
            times.append(time.perf_counter() - t)
        rtf = float(np.sum(times) / np.sum(seconds))
        out["Keras end to end (predict)"] = {**ms_stats(times), "ms_per_audio_second": 1e3 * rtf,
                                             "rtf": rtf}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def streaming(args) -> dict | None:
    import zoo
    from zoo.bundle import resolve
    from pipelines.speech import data as D
    from zoo.data import data_root

    try:
        resolve("speech-ctc-stream")
        m = zoo.load("speech-ctc-stream")
    except Exception:
        return None
    valid = D.read_split(data_root() / "fsdd", "valid")
    strings = D.connected_strings(valid, m.preprocessor["sample_rate"])[:max(3, args.utterances // 4)]
    work = Path(tempfile.mkdtemp(prefix="speech-bench-"))
    out = {}
    try:
        m.export(work / "s.tflite")
        rt = zoo.runtime.load(work / "s.tflite")
        for label, model in (("Keras step", m), ("TFLite step", rt)):
            times = []
            for s in strings:
                wave = s["audio"]["array"]
                stream = model.stream()
                for c in range(0, wave.size, 800):          # 100 ms chunks
                    t = time.perf_counter()
                    stream.feed(wave[c:c + 800])
                    times.append(time.perf_counter() - t)
                stream.finish()
            out[label] = {**ms_stats(times), "chunk_ms": 100}
            print(label, out[label], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def render(r: dict) -> str:
    lines = ["# speech-ctc benchmark", "", f"- machine: {r['machine']}",
             f"- load average at start: {r['load']:.1f} on {r['machine']['nproc']} cores"
             + (" (other processes shared the CPU: numbers are noisy)" if r["load"] > 0.5 * r["machine"]["nproc"] else ""),
             f"- versions: {r['versions']}", f"- command: `{r['command']}`", ""]
    t = r["training"]
    lines += ["## Training throughput (batch 32, augmented connected digits)", "",
              f"PyTorch twin vs Keras logits max abs diff: {t['twin_logits_max_abs_diff']:.2e} "
              f"(same weights); {t['batches']} timed steps, {t['audio_seconds']:.0f} s of audio.", "",
              "| framework | ms / step (p50) | seconds of audio trained / s |", "|---|---|---|"]
    for k in ("Keras (jit_compile)", "PyTorch"):
        lines.append(f"| {k} | {t[k]['p50_ms']:.0f} | {t[k]['audio_s_per_s']:.1f} |")
    lt = r["latency"]
    lines += ["", f"## Latency, batch 1 ({lt['utterances']} connected-digit utterances, mean "
              f"{lt['audio_seconds_mean']:.2f} s of audio)", "",
              "| runtime | p50 ms / utterance | ms per second of audio | real-time factor |",
              "|---|---|---|---|"]
    for k, v in lt.items():
        if isinstance(v, dict) and "rtf" in v:
            lines.append(f"| {k} | {v['p50_ms']:.1f} | {v['ms_per_audio_second']:.1f} | {v['rtf']:.4f} |")
    lines += ["", "Export parity on the bundle's examples: " + "; ".join(
        f"{k}: agreement {v['agreement']:.3f}, max abs diff {v['max_abs_diff']:.1e}"
        for k, v in lt.get("parity", {}).items())]
    if r.get("streaming"):
        lines += ["", "## Streaming (speech-ctc-stream), 100 ms chunks", "",
                  "| runtime | p50 ms / chunk | p99 ms / chunk |", "|---|---|---|"]
        for k, v in r["streaming"].items():
            lines.append(f"| {k} | {v['p50_ms']:.2f} | {v['p99_ms']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import torch
    except ImportError:
        raise SystemExit("this benchmark needs PyTorch: .venv/bin/pip install torch==2.13.0")
    import tensorflow as tf

    import zoo

    if args.threads:           # before TensorFlow runs anything
        torch.set_num_threads(args.threads)
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    m = zoo.load("speech-ctc")
    report = {"machine": machine(), "load": os.getloadavg()[0], "versions": versions(),
              "command": " ".join(["python -m benchmarks.speech_ctc", *argv])}
    report["training"] = training(m, args, torch)
    report["latency"] = latency(m, args)
    report["streaming"] = streaming(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(report), encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(render(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
