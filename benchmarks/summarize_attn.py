"""Speed of the shipped `summarize-attn`: training throughput against the same network in
PyTorch, and summary latency per document for Keras, the SavedModel's in-graph greedy
serving signature, TFLite + host beam search and ONNX Runtime + host beam search.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.summarize_attn      # minutes
    .venv/bin/python -m benchmarks.summarize_attn --quick                      # smoke test
    .venv/bin/python -m benchmarks.summarize_attn --threads 2

Needs torch (`pip install torch==2.13.0`, imported only here). Writes
benchmarks/results/summarize_attn.md (summarize_attn-quick.md with --quick) and the .json
beside it.

What is timed:
- Training: one optimizer step on a batch of 32 Debian train pairs from
  `pipelines.summarization.data.make_dataset` (the recipe's batch size, length-bucketed
  sources, seed 0), converted to arrays once and fed to both frameworks. Keras: a copy of
  the shipped model compiled as zoo/training.py does (Adam, global clipnorm, token NLL +
  coverage loss, jit_compile=True, the recipe's setting) stepped with `train_on_batch`.
  PyTorch: a twin (shared embedding, packed BiLSTM encoder, tanh/linear bridges, an
  LSTMCell decoder stepped in a Python loop with additive attention, coverage and input
  feeding, pointer-generator copy mix, the same two losses, dropout 0.1 on memory and
  target embeddings) with the Keras weights copied in and checked to compute the same
  log-probabilities in inference mode. Every batch shape runs once before timing (XLA
  compiles once per source-length bucket).
- Latency: one Debian valid document per call, `predict([doc], beam=B)` end to end
  (tokenizing, the encoder once, the step once per token and hypothesis, host beam search)
  for B = 4 and 1 on Keras (ZooModel), TFLite float32 and ONNX Runtime through
  zoo.runtime; the SavedModel `serving_default` (raw string in, greedy summary out, the
  tokenizer and the loop in the graph); and one `step` call alone per runtime.
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
from .torch_rnn import keras_rnn_weights

NAME = "summarize-attn"
REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.summarize_attn")
    p.add_argument("--quick", action="store_true", help="few iterations (numbers not for quoting)")
    p.add_argument("--steps", type=int, help="timed training steps per framework")
    p.add_argument("--docs", type=int, help="documents summarized per runtime and beam")
    p.add_argument("--threads", type=int, default=1,
                   help="threads for every framework (default 1; 0: their own defaults)")
    p.add_argument("--bundle", default=NAME, help="registered name or bundle directory")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    args.steps = args.steps or (3 if args.quick else 20)
    args.docs = args.docs or (3 if args.quick else 40)
    args.out = args.out or RESULTS / ("summarize_attn-quick.md" if args.quick else "summarize_attn.md")
    return args


def torch_twin(zm, torch):
    """The same network in PyTorch with the Keras weights (pipelines/summarization/model.py
    mirrored layer by layer; LSTM gate order i, f, c, o is the same in both)."""
    nn, F = torch.nn, torch.nn.functional
    km = zm.keras_model
    T = lambda a: torch.tensor(np.asarray(a, np.float32))        # noqa: E731
    enc = km.get_layer("encoder")
    dec = km.get_layer("decoder")
    cell = dec.cell
    copy_mix = km.get_layer("copy_mix")
    emb = np.asarray(km.get_layer("embedding").embeddings)
    dropout = float(km.get_layer("memory_dropout").rate)

    def dense(layer, bias=True):
        w = [np.asarray(a) for a in layer.get_weights()]
        m = nn.Linear(w[0].shape[0], w[0].shape[1], bias=bias)
        with torch.no_grad():
            m.weight.copy_(T(w[0].T))
            if bias:
                m.bias.copy_(T(w[1]))
        return m

    def set_lstm(params, weights):
        with torch.no_grad():
            for p, w in zip(params, keras_rnn_weights([np.asarray(a) for a in weights], "lstm")):
                p.copy_(T(w))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            V, E = emb.shape
            U = enc.forward_layer.units
            self.embedding = nn.Embedding(V, E)
            self.encoder = nn.LSTM(E, U, batch_first=True, bidirectional=True)
            self.bridge_h = dense(km.get_layer("bridge_h"))
            self.bridge_c = dense(km.get_layer("bridge_c"))
            self.attn_keys = dense(km.get_layer("attn_keys"), bias=False)
            self.cell = nn.LSTMCell(E + 2 * U, cell.units)
            self.query = dense(cell.query)
            self.features = dense(cell.features)
            self.p_gen = dense(cell.p_gen)
            self.w_cov = nn.Parameter(T(cell.w_cov))
            self.v = nn.Parameter(T(cell.v))
            self.vocab = dense(km.get_layer("vocab"))
            self.use_coverage, self.copy = dec.use_coverage, copy_mix.copy
            with torch.no_grad():
                self.embedding.weight.copy_(T(emb))
            e = self.encoder
            set_lstm([e.weight_ih_l0, e.weight_hh_l0, e.bias_ih_l0, e.bias_hh_l0],
                     enc.forward_layer.get_weights())
            set_lstm([e.weight_ih_l0_reverse, e.weight_hh_l0_reverse, e.bias_ih_l0_reverse,
                      e.bias_hh_l0_reverse], enc.backward_layer.get_weights())
            c = self.cell
            set_lstm([c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh],
                     [cell.lstm.kernel, cell.lstm.recurrent_kernel, cell.lstm.bias])

        def forward(self, source, target_in):
            """-> log_probs [B, T, V], coverage loss [B, T]."""
            mask = (source != 0).float()
            lengths = (source != 0).sum(1).clamp(min=1).cpu()
            x = self.embedding(source)
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                       enforce_sorted=False)
            seq, (hn, cn) = self.encoder(packed)
            memory, _ = nn.utils.rnn.pad_packed_sequence(seq, batch_first=True,
                                                         total_length=source.shape[1])
            h = torch.tanh(self.bridge_h(torch.cat([hn[0], hn[1]], -1)))
            c = self.bridge_c(torch.cat([cn[0], cn[1]], -1))
            keys = self.attn_keys(memory)
            memory = F.dropout(memory, dropout, self.training)
            y = F.dropout(self.embedding(target_in), dropout, self.training)
            context = torch.zeros_like(memory[:, 0])
            coverage = torch.zeros_like(mask)
            penalty = (1.0 - mask) * -1e9
            feats, attns, gens, covs = [], [], [], []
            for t in range(target_in.shape[1]):
                xt = y[:, t]
                h, c = self.cell(torch.cat([xt, context], -1), (h, c))
                e = keys + self.query(h)[:, None, :]
                if self.use_coverage:
                    e = e + coverage[:, :, None] * self.w_cov
                attn = torch.softmax((torch.tanh(e) * self.v).sum(-1) + penalty, -1)
                context = (attn[:, :, None] * memory).sum(1)
                feats.append(torch.tanh(self.features(torch.cat([h, context], -1))))
                gens.append(torch.sigmoid(self.p_gen(torch.cat([context, h, xt], -1))))
                covs.append(torch.minimum(attn, coverage).sum(-1))
                attns.append(attn)
                coverage = coverage + attn
            logits = self.vocab(torch.stack(feats, 1))
            if not self.copy:
                return torch.log_softmax(logits, -1), torch.stack(covs, 1)
            attn, p_gen = torch.stack(attns, 1), torch.stack(gens, 1)
            B, Tn, S = attn.shape
            copied = torch.zeros_like(logits).scatter_add(
                2, source[:, None, :].expand(B, Tn, S), attn)
            mixed = p_gen * torch.softmax(logits, -1) + (1.0 - p_gen) * copied
            return torch.log(mixed + 1e-9), torch.stack(covs, 1)

    return Twin()


def torch_loss(torch, log_probs, cov, target, weight: float):
    """TokenNLL + weight x CoverageLoss (pipelines/summarization/model.py)."""
    mask = (target != 0).float()
    denom = mask.sum().clamp(min=1.0)
    nll = -log_probs.gather(-1, target[..., None]).squeeze(-1)
    return (nll * mask).sum() / denom + weight * (cov * mask).sum() / denom


def main(argv=None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    load_start = os.getloadavg()[0]
    set_tf_threads(args.threads)
    torch = import_torch(args.threads, "benchmarks.summarize_attn")
    import tensorflow as tf

    import zoo
    from pipelines.summarization import data as D     # registers the entry too
    from pipelines.summarization import model as M
    from zoo.data import data_root

    zm = zoo.load(args.bundle)
    hp, prep = zm.hparams, zm.preprocessor
    root = data_root() / "summarization" / "debian_descriptions"
    train, valid = D.read_split(root, "train"), D.read_split(root, "valid")
    batch = int(hp.get("batch_size", 32))
    batches = numpy_batches(D.make_dataset(train, prep, batch_size=batch, shuffle=True, seed=0,
                                           drop_remainder=True), args.steps)
    tokens = sum(int((y["log_probs"] > 0).sum()) for _, y in batches)
    src_tokens = sum(int((x["source"] > 0).sum()) for x, _ in batches)

    # ---- training ---------------------------------------------------------------------
    twin = torch_twin(zm, torch)
    twin.eval()
    diffs = []
    for x, _ in batches[:2]:
        with torch.no_grad():
            t_lp, t_cov = twin(torch.tensor(x["source"]).long(), torch.tensor(x["target_in"]).long())
        k_out = zm.keras_model(x, training=False)
        diffs.append((float(np.max(np.abs(np.asarray(k_out["log_probs"]) - t_lp.numpy()))),
                      float(np.max(np.abs(np.asarray(k_out["coverage"]) - t_cov.numpy())))))
    twin_diff, cov_diff = max(d[0] for d in diffs), max(d[1] for d in diffs)
    twin.train()

    shapes = {}
    for x, y in batches:                               # one compilation per shape
        shapes.setdefault(x["source"].shape, (x, y))
    jit = bool(hp.get("jit_compile", True))
    copy = keras_training_copy(zm, jit)
    cov_weight = float(M.loss(copy)["coverage"].weight)
    t0 = time.perf_counter()
    for x, y in shapes.values():
        copy.train_on_batch(x, y)
    compile_s = time.perf_counter() - t0
    k_ms = timed(lambda b: copy.train_on_batch(*b), batches)

    opt = torch.optim.Adam(twin.parameters(), lr=hp.get("learning_rate", 1e-3), eps=1e-7)

    def torch_step(b):
        x, y = b
        opt.zero_grad()
        lp, cov = twin(torch.tensor(x["source"]).long(), torch.tensor(x["target_in"]).long())
        loss = torch_loss(torch, lp, cov, torch.tensor(y["log_probs"]).long(), cov_weight)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), hp.get("clipnorm", 5.0))
        opt.step()

    for b in list(shapes.values())[:2]:
        torch_step(b)
    t_ms = timed(torch_step, batches)
    n_pairs = batch * len(batches)
    training = {k: {"ms_per_step": stats(ms), "pairs_per_s": n_pairs / (sum(ms) / 1000),
                    "target_tokens_per_s": tokens / (sum(ms) / 1000)}
                for k, ms in (("keras", k_ms), ("torch", t_ms))}
    training.update(batch=batch, steps=len(batches), jit_compile=jit,
                    source_shapes=[list(s) for s in shapes], keras_compile_s=compile_s,
                    mean_source_tokens=src_tokens / n_pairs, mean_target_tokens=tokens / n_pairs,
                    coverage_weight=cov_weight, twin_max_abs_log_prob_diff=twin_diff,
                    twin_max_abs_coverage_diff=cov_diff)

    # ---- summary latency -----------------------------------------------------------------
    docs = D.parity_examples(valid, args.docs)
    work = Path(tempfile.mkdtemp(prefix="summarize-bench-"))
    latency, parity, step, agreement = {}, {}, {}, {}
    try:
        runners = {"Keras (ZooModel.predict)": zm}
        for label, target in (("TFLite float32 + host beam", "m.tflite"),
                              ("ONNX Runtime + host beam", "m.onnx")):
            report = zm.export(work / target)
            parity[label] = {k: report.get(k) for k in ("agreement", "max_abs_diff", "size_mb")}
            runners[label] = zoo.runtime.load(work / target)
        greedy = {}
        for beam in (4, 1):
            for label, m in runners.items():
                m.predict(docs[:1], beam=beam)
                outs = []
                latency[f"{label}, beam {beam}"] = stats(
                    timed(lambda d: outs.extend(m.predict([d], beam=beam)), docs))
                if beam == 1:
                    greedy[label] = [o["summary"] for o in outs]
        zm.export(work / "sm")
        serve = tf.saved_model.load(str(work / "sm")).signatures["serving_default"]
        arg = next(iter(serve.structured_input_signature[1]))
        serve(**{arg: tf.constant(docs[:1])})
        served = []
        latency["SavedModel serving_default (string in, in-graph greedy)"] = stats(
            timed(lambda d: served.extend(M.serving_results(serve(**{arg: tf.constant([d])}))), docs))
        keras_greedy = greedy["Keras (ZooModel.predict)"]
        agreement = {label: float(np.mean([a == b for a, b in zip(g, keras_greedy)]))
                     for label, g in greedy.items() if not label.startswith("Keras")}
        # the serving loop has no n-gram blocking: compare with predict(block_ngram=0)
        plain = [o["summary"] for o in zm.predict(docs, beam=1, block_ngram=0)]
        agreement["SavedModel serving_default (vs beam 1, block_ngram=0)"] = float(np.mean(
            [a["summary"] == b for a, b in zip(served, plain)]))
        # one decoder step per runtime, with real encoder outputs
        host = zm.host()
        S = host.max_source
        ids = host.source_ids(0, docs[0])
        src = np.zeros((1, S), np.int32)
        src[0, :len(ids)] = ids
        enc = zm.call_function("encoder", {"source": src})
        inputs = {"token": np.array([2], np.int32), "h": enc["h"], "c": enc["c"],
                  "context": np.zeros((1, enc["memory"].shape[-1]), np.float32),
                  "coverage": np.zeros((1, S), np.float32), "memory": enc["memory"],
                  "keys": enc["keys"], "source": src}
        for label, m in runners.items():
            for _ in range(5):
                m.call_function("step", inputs)
            short = label.replace(" + host beam", "").replace("predict", "call_function")
            step[short] = stats(
                timed(lambda _: m.call_function("step", inputs), range(20 if args.quick else 200)))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": {**machine(), "load_start": load_start, "load_end": os.getloadavg()[0]},
              "versions": versions(), "threads": args.threads,
              "model": {"bundle": args.bundle, "params": zm.keras_model.count_params(), "hparams": hp,
                        "vocab": len(prep["vocab"])},
              "training": training, "summary_latency_ms": latency, "step_latency_ms": step,
              "greedy_agreement_with_keras": agreement, "documents": len(docs),
              "mean_document_words": float(np.mean([len(d.split()) for d in docs])),
              "parity": parity, "quick": args.quick}
    md = report_markdown(result, load_start)
    write(result, md, args.out)
    print(md)
    return result


def report_markdown(r: dict, load_start: float) -> str:
    tr, hp, m = r["training"], r["model"]["hparams"], r["machine"]
    lines = [f"# {NAME} benchmark", "",
             f"- date: {r['date']}; {'QUICK smoke run (not for quoting)' if r['quick'] else 'full run'}",
             f"- machine: {m['cpu']}, {m['nproc']} cores, load average {m['load_start']:.2f} at "
             f"start, {m['load_end']:.2f} at end; threads: {r['threads'] or 'framework defaults'}",
             *busy_note(load_start, m["nproc"]),
             "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- model: `{r['model']['bundle']}`, embedding {hp.get('embed')}, BiLSTM "
             f"2x{hp.get('enc_units')}, LSTM decoder {hp.get('dec_units')} + additive attention "
             f"{hp.get('attn_units')}, copy {hp.get('copy')}, coverage {hp.get('coverage')}, "
             f"vocabulary {r['model']['vocab']}, {r['model']['params']:,} parameters",
             f"- PyTorch twin: weights copied from Keras, max |log-prob diff| "
             f"{tr['twin_max_abs_log_prob_diff']:.1e}, max |coverage-loss diff| "
             f"{tr['twin_max_abs_coverage_diff']:.1e} on two training batches (inference mode)", "",
             f"## Training ({tr['steps']} steps of batch {tr['batch']}, Debian train, "
             f"{tr['mean_source_tokens']:.0f} source / {tr['mean_target_tokens']:.1f} target "
             f"subwords per pair on average, source buckets {sorted({s[1] for s in tr['source_shapes']})}; "
             f"compilation / warm-up excluded)", "",
             "| framework | ms/step p50 | pairs/s | target tokens/s |", "|---|---:|---:|---:|"]
    for label, k in ((f"Keras 3 / TF, jit_compile={tr['jit_compile']} (zoo/training.py)", "keras"),
                     ("PyTorch twin (eager, Python loop over target steps)", "torch")):
        lines.append(f"| {label} | {tr[k]['ms_per_step']['p50']:.0f} | "
                     f"{tr[k]['pairs_per_s']:.1f} | {tr[k]['target_tokens_per_s']:.0f} |")
    ratio = tr["keras"]["pairs_per_s"] / tr["torch"]["pairs_per_s"]
    lines += ["", f"Ratio Keras / PyTorch (pairs/s): **{ratio:.2f}** (above 1: Keras is faster). "
              f"Keras XLA compilation of the {len(tr['source_shapes'])} bucket shape(s): "
              f"{tr['keras_compile_s']:.0f} s.", "",
              f"## Summary latency, one document per call (ms; {r['documents']} Debian valid "
              f"documents, {r['mean_document_words']:.0f} words on average; text to summary)", "",
              "| runtime | p50 | p99 | mean |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['p50']:.1f} | {v['p99']:.1f} | {v['mean']:.1f} |"
              for k, v in r["summary_latency_ms"].items()]
    lines += ["", "Greedy summaries equal to Keras `predict(beam=1)`: " + ", ".join(
        f"{k} {v:.0%}" for k, v in r["greedy_agreement_with_keras"].items()) + ".", "",
              "## One decoder step (batch 1), as the host's beam search calls it", "",
              "| runtime | p50 ms | p99 ms | mean ms |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['p50']:.3f} | {v['p99']:.3f} | {v['mean']:.3f} |"
              for k, v in r["step_latency_ms"].items()]
    lines += ["", "Export parity (zoo's export check on real documents):", "",
              "| export | agreement | max abs diff | size MB |", "|---|---:|---:|---:|"]

    def num(v, fmt):
        return format(v, fmt) if isinstance(v, (int, float)) else str(v)

    lines += [f"| {k} | {num(v['agreement'], '.4f')} | {num(v['max_abs_diff'], '.1e')} | "
              f"{num(v['size_mb'], '.3f')} |" for k, v in r["parity"].items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
