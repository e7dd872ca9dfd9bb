"""Speed of the shipped `caption-cnn-lstm`: training throughput against the same network
in PyTorch, and caption latency per image for Keras, TFLite + host beam search, ONNX
Runtime and the SavedModel's in-graph greedy serving signature.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_cnn_lstm    # minutes
    .venv/bin/python -m benchmarks.caption_cnn_lstm --quick                    # smoke test
    zoo bench caption-cnn-lstm [--quick]

Needs torch (`pip install torch==2.13.0`, imported only here). Writes
benchmarks/results/caption_cnn_lstm.md (caption_cnn_lstm-quick.md with --quick) and the
.json beside it.

What is timed:
- Training: one optimizer step on a batch of 32 augmented emoji train images with their
  captions from `pipelines.captioning.data.make_dataset` (seed 0), converted to arrays
  once and fed to both frameworks. Keras: a copy of the shipped model compiled as
  zoo/training.py does (Adam, global clipnorm, next-word cross-entropy + doubly stochastic
  attention loss), `train_on_batch`, with the recipe's jit_compile=False and with XLA. PyTorch: a twin (the same
  depthwise-separable CNN with BatchNorm, the same attention LSTM decoder stepped in a
  Python loop over the words, the same losses) with the Keras weights copied in and
  checked to compute the same logits. Every batch shape runs once before timing.
- Latency: one emoji valid image per call, `predict([image], beam=B)` end to end (image
  decoding, the encoder once, the step once per word and hypothesis, host beam search)
  on Keras (ZooModel, tf.function per call), TFLite float32 and ONNX Runtime through
  zoo.runtime; the SavedModel `serving_default` (PNG bytes in, greedy caption out, the
  loop in the graph); and one `step` call alone per runtime.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .common import (busy_note, import_torch, keras_training_copy, machine, numpy_batches,
                     set_tf_threads, stats, timed, versions, write)

NAME = "caption-cnn-lstm"
REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.caption_cnn_lstm")
    p.add_argument("--quick", action="store_true", help="few iterations (numbers not for quoting)")
    p.add_argument("--steps", type=int, help="timed training steps per framework")
    p.add_argument("--images", type=int, help="images captioned per runtime")
    p.add_argument("--threads", type=int, help="threads for every framework (default: their own)")
    p.add_argument("--bundle", default=NAME, help="registered name or bundle directory")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    args.steps = args.steps or (3 if args.quick else 20)
    args.images = args.images or (4 if args.quick else 40)
    args.out = args.out or RESULTS / ("caption_cnn_lstm-quick.md" if args.quick else "caption_cnn_lstm.md")
    return args


def torch_twin(zm, torch):
    """The same network in PyTorch with the Keras weights. TF's "same" padding with stride
    2 pads only bottom/right on even sizes, so strided convolutions pad explicitly."""
    nn, F = torch.nn, torch.nn.functional
    km = zm.keras_model
    enc, dec = km.get_layer("encoder"), km.get_layer("decoder")
    T = lambda a: torch.tensor(np.asarray(a))          # noqa: E731

    def bn(layer):
        g, b, mean, var = layer.get_weights()
        m = nn.BatchNorm2d(len(g), eps=layer.epsilon, momentum=1 - layer.momentum)
        with torch.no_grad():
            m.weight.copy_(T(g)); m.bias.copy_(T(b))
            m.running_mean.copy_(T(mean)); m.running_var.copy_(T(var))
        return m

    class Conv(nn.Module):
        def __init__(self, layer, depthwise: bool):
            super().__init__()
            w = layer.get_weights()[0]                    # [kh, kw, in, out|mult]
            self.stride = layer.strides[0]
            k = w.shape[0]
            if depthwise:
                self.conv = nn.Conv2d(w.shape[2], w.shape[2], k, self.stride, groups=w.shape[2], bias=False)
                weight = np.transpose(w, (2, 3, 0, 1))    # [in, 1, kh, kw]
            else:
                self.conv = nn.Conv2d(w.shape[2], w.shape[3], k, self.stride, bias=False)
                weight = np.transpose(w, (3, 2, 0, 1))
            with torch.no_grad():
                self.conv.weight.copy_(T(weight))
            self.k = k

        def forward(self, x):
            if self.k > 1:
                total = self.k - 1 if self.stride == 1 else max(self.k - self.stride, 0)
                x = F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))
            return self.conv(x)

    def dense(layer, bias=True):
        w = layer.get_weights()
        m = nn.Linear(w[0].shape[0], w[0].shape[1], bias=bias)
        with torch.no_grad():
            m.weight.copy_(T(w[0].T))
            if bias:
                m.bias.copy_(T(w[1]))
        return m

    blocks = []
    convs = [l for l in enc.layers if type(l).__name__ in ("Conv2D", "DepthwiseConv2D")]
    for conv in convs:
        blocks += [Conv(conv, type(conv).__name__ == "DepthwiseConv2D"),
                   bn(enc.get_layer(conv.name.replace("_dw", "_dw_bn").replace("_pw", "_pw_bn")
                                    if conv.name != "stem" else "stem_bn")),
                   nn.ReLU6()]
    if dec.cell_type != "lstm":
        raise SystemExit("the PyTorch twin covers the LSTM decoder only")

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(*blocks)
            self.embedding = nn.Embedding(dec.vocab_size, dec.embed_dim)
            with torch.no_grad():
                self.embedding.weight.copy_(T(dec.embedding.get_weights()[0]))
            self.init = nn.ModuleList([dense(d) for d in dec.init_states])
            self.key, self.query = dense(dec.key), dense(dec.query, bias=False)
            self.v = nn.Parameter(T(dec.score.get_weights()[0][:, 0]))
            self.gate = dense(dec.gate)
            kernel, recurrent, bias = dec.cell.get_weights()
            self.cell = nn.LSTMCell(kernel.shape[0], dec.units)
            with torch.no_grad():
                self.cell.weight_ih.copy_(T(kernel.T)); self.cell.weight_hh.copy_(T(recurrent.T))
                self.cell.bias_ih.copy_(T(bias)); self.cell.bias_hh.zero_()
            self.drop = nn.Dropout(dec.dropout_rate)
            self.out = dense(dec.out)

        def forward(self, image, tokens):
            x = self.cnn(image.permute(0, 3, 1, 2) / 127.5 - 1.0)        # NHWC -> NCHW
            feats = x.flatten(2).transpose(1, 2)                          # [B, L, C]
            mean = feats.mean(1)
            h, c = [torch.tanh(d(mean)) for d in self.init]
            keys = self.key(feats)
            emb = self.embedding(tokens)
            logits, alphas = [], []
            for t in range(tokens.shape[1]):
                e = (torch.tanh(keys + self.query(h)[:, None]) * self.v).sum(-1)
                alpha = torch.softmax(e, -1)
                context = torch.sigmoid(self.gate(h)) * (alpha[..., None] * feats).sum(1)
                h, c = self.cell(torch.cat([emb[:, t], context], -1), (h, c))
                logits.append(self.out(self.drop(torch.cat([h, context, emb[:, t]], -1))))
                alphas.append(alpha)
            return torch.stack(logits, 1), torch.stack(alphas, 1)

    return Twin(), dec.attention_reg


def torch_loss(torch, logits, alphas, target, reg):
    F = torch.nn.functional
    mask = (target > 0).float()
    ce = F.cross_entropy(logits.transpose(1, 2), target.long(), reduction="none")
    nll = (ce * mask).sum() / mask.sum().clamp(min=1)
    total = (alphas * mask[..., None]).sum(1)
    return nll + reg * ((1 - total) ** 2).mean()


def main(argv=None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    load_start = os.getloadavg()[0]
    set_tf_threads(args.threads)
    torch = import_torch(args.threads, "benchmarks.caption_cnn_lstm")
    import tensorflow as tf

    import pipelines.captioning  # noqa: F401  (registers the entry)
    import zoo
    from pipelines.captioning import data as D
    from pipelines.captioning import model as M
    from zoo.data import data_root

    zm = zoo.load(args.bundle)
    hp, prep = zm.hparams, zm.preprocessor
    root = data_root() / "captioning" / "emoji"
    train, valid = D.read_split(root, "train"), D.read_split(root, "valid")
    batch = int(hp.get("batch_size", 32))
    batches = numpy_batches(D.make_dataset(train, prep, batch_size=batch, shuffle=True, seed=0,
                                           drop_remainder=True), args.steps)
    words = sum(int((y["logits"] > 0).sum()) for _, y in batches)

    # ---- training ---------------------------------------------------------------------
    twin, reg = torch_twin(zm, torch)
    twin.eval()
    x0, _ = batches[0]
    with torch.no_grad():
        t_logits, _ = twin(torch.tensor(x0["image"]), torch.tensor(x0["tokens"]).long())
    k_logits = np.asarray(zm.keras_model(x0, training=False)["logits"])
    twin_diff = float(np.max(np.abs(k_logits - t_logits.numpy())))
    twin.train()

    shapes = {}
    for x, y in batches:                               # one compilation per shape
        shapes.setdefault(x["tokens"].shape, (x, y))
    k_ms = {}
    for jit in (False, True):       # the recipe's setting (jit_compile False) and XLA
        copy = keras_training_copy(zm, jit)
        for x, y in shapes.values():
            copy.train_on_batch(x, y)
        k_ms[f"keras_jit_{jit}".lower()] = timed(lambda b: copy.train_on_batch(*b), batches)

    opt = torch.optim.Adam(twin.parameters(), lr=hp.get("learning_rate", 1e-3), eps=1e-7)

    def torch_step(b):
        x, y = b
        opt.zero_grad()
        logits, alphas = twin(torch.tensor(x["image"]), torch.tensor(x["tokens"]).long())
        loss = torch_loss(torch, logits, alphas, torch.tensor(y["logits"]), reg)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), hp.get("clipnorm", 5.0))
        opt.step()

    for b in list(shapes.values())[:2]:
        torch_step(b)
    t_ms = timed(torch_step, batches)
    n_img = batch * len(batches)
    training = {k: {"ms_per_step": stats(ms), "images_per_s": n_img / (sum(ms) / 1000),
                    "words_per_s": words / (sum(ms) / 1000)}
                for k, ms in (*k_ms.items(), ("torch", t_ms))}
    training.update(batch=batch, steps=len(batches), twin_max_abs_logit_diff=twin_diff)

    # ---- caption latency -----------------------------------------------------------------
    images = [e["image"] for e in valid[:args.images]]
    work = Path(tempfile.mkdtemp(prefix="caption-bench-"))
    latency, parity, step = {}, {}, {}
    try:
        runners = {"Keras (ZooModel, tf.function per call)": zm}
        for label, target in (("TFLite float32 + host beam", "m.tflite"),
                              ("ONNX Runtime + host beam", "m.onnx")):
            report = zm.export(work / target)
            parity[label] = {k: report[k] for k in ("agreement", "max_abs_diff", "size_mb")}
            runners[label] = zoo.runtime.load(work / target)
        for beam in (1, 3):
            for label, m in runners.items():
                m.predict(images[:2], beam=beam)
                latency[f"{label}, beam {beam}"] = stats(timed(lambda p: m.predict([p], beam=beam), images))
        zm.export(work / "sm")
        serve = tf.saved_model.load(str(work / "sm")).signatures["serving_default"]
        png = [open(p, "rb").read() for p in images]
        serve(images=tf.constant(png[:1]))
        latency["SavedModel serving_default (bytes in, in-graph greedy)"] = stats(
            timed(lambda b: serve(images=tf.constant([b])), png))
        t = time.perf_counter()
        served = M.serving_results(serve(images=tf.constant(png)))
        batch_ms = (time.perf_counter() - t) * 1000
        greedy = zm.predict(images, beam=1)
        serving_agreement = float(np.mean([a["words"] == b["words"] for a, b in zip(served, greedy)]))
        # one decoder step per runtime, with real encoder outputs
        enc = zm.call_function("encoder", {"image": zm.host().encode([images[0]]).units[0]["image"][None]})
        inputs = {"word": np.array([1], np.int32), "features": enc["features"], "keys": enc["keys"],
                  **{k: enc[k] for k in zm.host().state}}
        for label, m in runners.items():
            for _ in range(5):
                m.call_function("step", inputs)
            step[label.replace(" + host beam", "")] = stats(
                timed(lambda _: m.call_function("step", inputs), range(200 if not args.quick else 20)))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": {**machine(), "load_start": load_start, "load_end": os.getloadavg()[0]},
              "versions": versions(), "threads": args.threads,
              "model": {"bundle": args.bundle, "params": zm.keras_model.count_params(), "hparams": hp,
                        "vocab": len(prep["vocab"])},
              "training": training, "caption_latency_ms": latency, "step_latency_ms": step,
              "serving_batch": {"images": len(png), "ms": batch_ms,
                                "agreement_with_predict_beam1": serving_agreement},
              "parity": parity, "quick": args.quick}
    write(result, report_markdown(result, load_start), args.out)
    print(report_markdown(result, load_start))
    return result


def report_markdown(r: dict, load_start: float) -> str:
    tr, hp, m = r["training"], r["model"]["hparams"], r["machine"]
    lines = [f"# {NAME} benchmark", "",
             f"- date: {r['date']}; {'QUICK smoke run (not for quoting)' if r['quick'] else 'full run'}",
             f"- machine: {m['cpu']}, {m['nproc']} cores, load average {m['load_start']:.2f} at "
             f"start, {m['load_end']:.2f} at end; threads: {r['threads'] or 'framework defaults'}",
             *busy_note(load_start, m["nproc"]),
             "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- model: `{r['model']['bundle']}`, CNN widths {hp.get('widths')} on "
             f"{hp.get('image_size')} px, {hp.get('cell')} {hp.get('units')} + attention "
             f"{hp.get('attention_dim')}, vocabulary {r['model']['vocab']}, "
             f"{r['model']['params']:,} parameters",
             f"- PyTorch twin: weights copied from Keras, max |logit diff| "
             f"{tr['twin_max_abs_logit_diff']:.1e} on a training batch (inference mode)", "",
             f"## Training ({tr['steps']} steps of batch {tr['batch']}, emoji train, augmented; "
             f"compilation / warm-up excluded)", "",
             "| framework | ms/step p50 | images/s | words/s |", "|---|---:|---:|---:|"]
    for label, k in (("Keras 3 / TF, jit_compile=False (the recipe, zoo/training.py)", "keras_jit_false"),
                     ("Keras 3 / TF, jit_compile=True (XLA)", "keras_jit_true"),
                     ("PyTorch twin (eager, Python loop over words)", "torch")):
        lines.append(f"| {label} | {tr[k]['ms_per_step']['p50']:.1f} | "
                     f"{tr[k]['images_per_s']:.1f} | {tr[k]['words_per_s']:.0f} |")
    ratio = tr["keras_jit_false"]["images_per_s"] / tr["torch"]["images_per_s"]
    lines += ["", f"Ratio Keras (recipe) / PyTorch (images/s): **{ratio:.2f}** (above 1: Keras is "
              "faster).", "",
              "## Caption latency, one image per call (ms; image decoding to caption)", "",
              "| runtime | p50 | p99 | mean |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['p50']:.1f} | {v['p99']:.1f} | {v['mean']:.1f} |"
              for k, v in r["caption_latency_ms"].items()]
    sb = r["serving_batch"]
    lines += ["", f"SavedModel serving on all {sb['images']} images in one call: {sb['ms']:.0f} ms; "
              f"its greedy captions equal `predict(beam=1)` on {sb['agreement_with_predict_beam1']:.0%} "
              f"of them.", "", "## One decoder step (batch 1), as the host's beam search calls it", "",
              "| runtime | p50 ms | p99 ms | mean ms |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['p50']:.3f} | {v['p99']:.3f} | {v['mean']:.3f} |"
              for k, v in r["step_latency_ms"].items()]
    lines += ["", "Export parity (host beam search on both backends over the bundle's 16 images):", "",
              "| export | agreement | max abs diff | size MB |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['agreement']:.4f} | {v['max_abs_diff']:.1e} | {v['size_mb']:.3f} |"
              for k, v in r["parity"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
