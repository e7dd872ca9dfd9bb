"""Speed and size of the shipped `ner-bilstm`: training throughput against the same network
in PyTorch, single-sentence latency in every runtime the zoo exports to, and file sizes.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.ner_bilstm    # full run, minutes
    .venv/bin/python -m benchmarks.ner_bilstm --quick                   # smoke test
    .venv/bin/python -m benchmarks.ner_bilstm --threads 1               # everything single-threaded
    zoo bench ner-bilstm [--quick ...]                                  # the same, through the CLI

Needs the bench extra (`pip install torch==2.13.0`; torch is imported only here). Writes a
Markdown report to --out (default benchmarks/results/ner_bilstm.md; ner_bilstm-quick.md with
--quick, so a smoke test never overwrites real numbers), the raw numbers to the .json
beside it, and prints the report. Exports go to a temporary folder that is removed after.

What is timed:
- Training: one optimizer step on a batch of 32 CoNLL-2003 train sentences from
  `pipelines.ner.data.make_dataset` (bucketed, shuffled, seed 0), converted to arrays once
  and fed to both frameworks. Keras: a copy of the shipped model compiled exactly as
  zoo/training.py does (Adam with global_clipnorm, CRF NLL, jit_compile=True), stepped with
  `train_on_batch` (the same compiled step `fit` runs). PyTorch: the twin in
  benchmarks/ner_bilstm_torch.py (weights copied from Keras) with Adam (Keras's epsilon),
  `clip_grad_norm_`, packed sequences. Every batch shape runs twice before timing, so XLA
  compilation and first-call costs are excluded. Tokens/s counts real (non-pad) tokens.
- Latency: one sentence per call (batch 1) over validation sentences; features are
  computed by the host beforehand and only the model call is timed, outputs fetched to
  numpy. Each runtime gets the input its zoo code path gives it: padded to the length
  bucket (Keras, tf.function, TFLite) or the sentence's exact length (SavedModel, ONNX,
  PyTorch). Every input shape runs once before timing.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .common import (RESULTS, bundle_sizes, busy_note, import_torch, machine, mb, set_tf_threads,
                     size_of, versions, write)

NAME = "ner-bilstm"
TWIN_TOLERANCE = 1e-3      # max |emissions diff| above which the twin is not the same network
SETTINGS = {"full": {"steps": 100, "sentences": 300, "train_sentences": None},
            "quick": {"steps": 3, "sentences": 12, "train_sentences": 1500}}
EXPORTS = {"SavedModel": ("saved_model", None), "TFLite float32": ("model.tflite", None),
           "TFLite dynamic-range": ("model-dynamic.tflite", "dynamic"), "ONNX": ("model.onnx", None)}


# ---- setup ------------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ner_bilstm",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="few iterations: a smoke test whose numbers are not for quoting")
    p.add_argument("--out", type=Path, help="Markdown report; the .json goes beside it "
                   "(default benchmarks/results/ner_bilstm.md, or ner_bilstm-quick.md with --quick)")
    p.add_argument("--steps", type=int, help="timed training steps per framework")
    p.add_argument("--sentences", type=int, help="validation sentences timed per runtime")
    p.add_argument("--threads", type=int,
                   help="threads for every framework and runtime (default: each one's own default)")
    args = p.parse_args(argv)
    preset = SETTINGS["quick" if args.quick else "full"]
    args.steps = args.steps or preset["steps"]
    args.sentences = args.sentences or preset["sentences"]
    args.train_sentences = preset["train_sentences"]
    args.out = args.out or RESULTS / ("ner_bilstm-quick.md" if args.quick else "ner_bilstm.md")
    return args


def architecture(m) -> dict:
    """What the benchmark runs, read from the loaded model's layers (not the recipe)."""
    enc, km = m.keras_model.get_layer("encoder"), m.keras_model
    return {"cell": enc.cell, "units": enc.units, "layers": enc.depth,
            "bidirectional": enc.bidirectional, "params": km.count_params(),
            "words": km.get_layer("word_embedding").input_dim,
            "word_dim": km.get_layer("word_embedding").output_dim,
            "tags": km.get_layer("head_emissions").units, "hparams": m.hparams}


# ---- the PyTorch twin -------------------------------------------------------------------
def make_twin(keras_model):
    from .ner_bilstm_torch import TorchTagger, copy_keras_weights

    return copy_keras_weights(TorchTagger.like(keras_model), keras_model)


def to_torch(torch, x: dict, y=None):
    feats = {k: torch.from_numpy(v.astype(np.int64)) for k, v in x.items()}
    return feats if y is None else (feats, torch.from_numpy(y.astype(np.int64)))


def check_twin(torch, m, twin, x: dict, y: np.ndarray) -> dict:
    """The twin computes the Keras function: emissions and CRF NLL on one real batch."""
    from zoo.layers.crf import CRFLoss

    km = m.keras_model
    keras_em = np.asarray(km(x, training=False)["emissions"])
    keras_nll = float(CRFLoss(km.get_layer("head_crf"))(y, keras_em))
    twin.eval()
    with torch.inference_mode():
        feats, tags = to_torch(torch, x, y)
        torch_em = twin(**feats)
        torch_nll = float(twin.nll(torch_em, tags))
    real = y >= 0
    return {"emissions_max_abs_diff": float(np.abs(keras_em - torch_em.numpy())[real].max()),
            "nll_keras": keras_nll, "nll_torch": torch_nll}


# ---- training throughput ----------------------------------------------------------------
def training_batches(m, hp: dict, steps: int, limit: int | None) -> list[tuple[dict, np.ndarray]]:
    """The first `steps` (features, tag ids) batches of the training pipeline, as numpy."""
    from pipelines.ner import data
    from zoo.data import data_root

    sentences = data.read(data_root() / m.entry.default_data / m.entry.train_file)[:limit]
    ds = data.make_dataset(sentences, m.preprocessor, batch_size=hp["batch_size"], shuffle=True,
                           seed=0, drop_remainder=True)
    batches = [(x, y["emissions"]) for x, y in ds.take(steps).as_numpy_iterator()]
    if len(batches) < steps:
        raise SystemExit(f"only {len(batches)} training batches for {steps} steps")
    return batches


def one_per_shape(items: list, shape) -> list:
    seen = {}
    for item in items:
        seen.setdefault(tuple(shape(item)), item)
    return list(seen.values())


def time_training(step, batches: list) -> list[float]:
    """Seconds per step over `batches`, after two warm-up steps on every batch shape."""
    for batch in one_per_shape(batches, lambda b: b[0]["word_ids"].shape) * 2:
        step(*batch)
    times = []
    for batch in batches:
        start = time.perf_counter()
        step(*batch)
        times.append(time.perf_counter() - start)
    return times


def keras_training(m, hp: dict, batches: list) -> list[float]:
    import keras
    import tensorflow as tf

    from zoo.model import ZooModel
    from zoo.training import compile_for_training

    model = keras.Model.from_config(m.keras_model.get_config())   # the shipped weights stay as they are
    model.set_weights(m.keras_model.get_weights())
    compile_for_training(ZooModel(m.entry, model, m.preprocessor), hp["learning_rate"], hp["clipnorm"])
    tensors = [({k: tf.constant(v) for k, v in x.items()}, {"emissions": tf.constant(y)})
               for x, y in batches]
    return time_training(lambda x, y: model.train_on_batch(x, y), tensors)


def torch_training(torch, m, hp: dict, batches: list) -> list[float]:
    twin = make_twin(m.keras_model).train()
    params = list(twin.parameters())
    opt = torch.optim.Adam(params, lr=hp["learning_rate"], eps=1e-7)   # Keras Adam's epsilon

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = twin.nll(twin(**x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, hp["clipnorm"])   # = Keras global_clipnorm
        opt.step()
        return loss.item()

    return time_training(step, [to_torch(torch, x, y) for x, y in batches])


def throughput(times: list[float], batches: list) -> dict:
    tokens = int(sum((y >= 0).sum() for _, y in batches))
    return {"steps": len(times), "tokens": tokens, "seconds": sum(times),
            "tokens_per_s": tokens / sum(times), "ms_per_step_p50": 1e3 * float(np.median(times))}


# ---- exports and sizes ------------------------------------------------------------------
def make_exports(m, work: Path) -> dict:
    """Each export's parity report (zoo.export checks it against Keras on real sentences)."""
    reports = {}
    for label, (name, quantize) in EXPORTS.items():
        print(f"exporting {label} ...", flush=True)
        report = m.export(work / name, quantize=quantize)
        reports[label] = {k: report[k] for k in ("path", "agreement", "max_abs_diff", "examples")}
        reports[label]["bytes"] = size_of(work / name)
    return reports


# ---- latency ----------------------------------------------------------------------------
def validation_units(m, n: int) -> tuple[list[dict], list[int]]:
    """Host features of the first `n` validation sentences (the bundle's examples if the
    file is missing), and each sentence's token count."""
    from pipelines.ner import data
    from zoo.data import data_root

    path = data_root() / m.entry.default_data / m.entry.valid_file
    sentences = ([s["tokens"] for s in data.read(path)[:n]] if path.exists()
                 else m.parity_examples()[:n])
    encoded = m.host().encode(sentences)
    return encoded.units, [len(s[1]) for s in encoded.sentences]


def single_batches(units: list[dict], buckets) -> list[tuple[int | None, dict]]:
    """(bucket, batch of 1) per unit, padded to its bucket (buckets=None: exact length)."""
    from zoo.runtime import pad_to, pick_bucket

    out = []
    for unit in units:
        n = len(unit["word_ids"])
        bucket = pick_bucket(n, buckets)
        out.append((bucket, {k: pad_to(v, bucket or n)[None] for k, v in unit.items()}))
    return out


def runtimes(torch, m, exports: dict, threads: int | None) -> dict:
    """label -> (call(bucket, batch) -> outputs, padded to bucket?, export label or None)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (the SavedModel's serving signature uses its ops)

    from zoo import runtime

    km = m.keras_model
    compiled = tf.function(lambda x: km(x, training=False), reduce_retracing=True)  # = ZooModel._call
    features = tf.saved_model.load(exports["SavedModel"]["path"]).signatures["features"]
    twin = make_twin(km).eval()

    def tensors(x):
        return {k: tf.constant(v) for k, v in x.items()}

    def torch_call(bucket, x):
        with torch.inference_mode():
            return twin(**{k: torch.from_numpy(v) for k, v in x.items()}).numpy()

    calls = {
        "Keras eager `model(x)`":
            (lambda b, x: np.asarray(km(x, training=False)["emissions"]), True, None),
        "tf.function (ZooModel.predict_units)":
            (lambda b, x: compiled(tensors(x))["emissions"].numpy(), True, None),
        "SavedModel `features` signature":
            (lambda b, x: features(**tensors(x))["emissions"].numpy(), False, "SavedModel"),
    }
    for label in ("TFLite float32", "TFLite dynamic-range", "ONNX"):   # zoo.runtime's backends
        backend = runtime.load(exports[label]["path"], threads=threads).backend
        calls[label] = (backend, label != "ONNX", label)
    calls["PyTorch (twin, eval, inference_mode)"] = (torch_call, False, None)
    return calls


def time_latency(call, batches: list) -> dict:
    for bucket, x in one_per_shape(batches, lambda b: b[1]["word_ids"].shape):
        call(bucket, x)
    times = []
    for bucket, x in batches:
        start = time.perf_counter()
        call(bucket, x)
        times.append(time.perf_counter() - start)
    ms = 1e3 * np.array(times)
    return {"calls": len(ms), "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean())}


def latencies(torch, m, exports: dict, units: list, threads: int | None) -> dict:
    buckets = m.preprocessor.get("buckets")
    padded, exact = single_batches(units, buckets), single_batches(units, None)
    out = {}
    for label, (call, bucketed, export) in runtimes(torch, m, exports, threads).items():
        print(f"timing {label} ...", flush=True)
        out[label] = {**time_latency(call, padded if bucketed else exact),
                      "input": "bucket" if bucketed else "exact", "export": export}
    return out


# ---- report -----------------------------------------------------------------------------
def parity_cell(r: dict, label: str, export: str | None) -> str:
    if export is None:
        return "weights copied, see above" if label.startswith("PyTorch") else "reference"
    p = r["exports"][export]
    diff = "tags only (raw-text signature)" if p["max_abs_diff"] != p["max_abs_diff"] else \
        f"{p['max_abs_diff']:.1e}"                                            # NaN: not measured
    return f"{p['agreement']:.4f}, {diff}"


def twin_note(r: dict) -> list[str]:
    diff = r["twin_check"]["emissions_max_abs_diff"]
    if diff <= TWIN_TOLERANCE:
        return []
    return [f"- **warning**: the PyTorch twin differs from the Keras model (max |emissions diff| "
            f"{diff:.2g} > {TWIN_TOLERANCE}): benchmarks/ner_bilstm_torch.py no longer matches "
            "pipelines/ner/model.py, so the comparison is not like for like"]


def render(r: dict) -> str:
    a, mach, train = r["architecture"], r["machine"], r["training"]
    threads = (f"{r['threads']} for every framework and runtime" if r["threads"] else
               f"each runtime's default (TensorFlow/XLA: all cores; PyTorch: {r['torch_threads']}; "
               "LiteRT and ONNX Runtime: their defaults)")
    lines = [f"# {NAME} benchmark{' (QUICK smoke test: numbers not for quoting)' if r['quick'] else ''}",
             "",
             f"- date: {r['date']}",
             f"- machine: {mach['cpu']}, nproc {mach['nproc']}, {mach['platform']}; "
             f"load average {r['load_start'][0]:.2f} at start, {r['load_end'][0]:.2f} at end",
             f"- threads: {threads}",
             "- versions: python " + mach["python"] + ", " +
             ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- model: shipped `{NAME}` ({r['bundle']['path']}): {'bi' if a['bidirectional'] else ''}"
             f"{a['cell']} {a['layers']}x{a['units']} units, {a['words']:,} words x {a['word_dim']}-d, "
             f"{a['tags']} tags, {a['params']:,} parameters",
             f"- PyTorch twin: same architecture (benchmarks/ner_bilstm_torch.py), weights copied from "
             f"Keras: max |emissions diff| {r['twin_check']['emissions_max_abs_diff']:.1e} on real tokens, "
             f"CRF NLL {r['twin_check']['nll_keras']:.4f} (Keras) vs {r['twin_check']['nll_torch']:.4f} (torch)",
             *twin_note(r), *busy_note(r["load_start"][0], mach["nproc"]),
             "",
             f"## Training throughput (batch {r['batch_size']}, CoNLL-2003 train, length-bucketed, "
             "compile/warm-up excluded)",
             "",
             "| framework | steps | real tokens | tokens/s | ms/step (p50) |",
             "|---|---:|---:|---:|---:|"]
    for label, t in train.items():
        lines.append(f"| {label} | {t['steps']} | {t['tokens']:,} | {t['tokens_per_s']:,.0f} | "
                     f"{t['ms_per_step_p50']:.1f} |")
    lines += ["", f"Ratio Keras / PyTorch (tokens/s): **{r['training_ratio']:.2f}** (above 1: Keras is faster).",
              "",
              f"## Single-sentence latency (batch 1, {r['latency_units']} validation sentences, "
              f"{r['latency_mean_tokens']:.1f} tokens on average; model call only)",
              "",
              "| runtime | input length | p50 ms | p99 ms | mean ms | parity vs Keras (tag agreement, max abs diff) |",
              "|---|---|---:|---:|---:|---|"]
    for label, t in r["latency"].items():
        lines.append(f"| {label} | {t['input']} | {t['p50_ms']:.2f} | {t['p99_ms']:.2f} | "
                     f"{t['mean_ms']:.2f} | {parity_cell(r, label, t['export'])} |")
    lines += ["", "Input length: `bucket` = padded to the preprocessor's length bucket as the zoo's "
              "predictor and TFLite runtime do; `exact` = the sentence's own length (dynamic shapes).",
              "", "## Sizes", "", "| artifact | MB |", "|---|---:|",
              f"| bundle directory (`{r['bundle']['path']}`) | {mb(r['bundle']['bytes'])} |"]
    lines += [f"| &nbsp;&nbsp;{name} | {mb(n)} |" for name, n in r["bundle"]["files"].items()]
    lines += [f"| {label} export | {mb(e['bytes'])} |" for label, e in r["exports"].items()]
    return "\n".join(lines) + "\n"


# ---- main -------------------------------------------------------------------------------
def run(args, work: Path) -> dict:
    set_tf_threads(args.threads)
    torch = import_torch(args.threads)
    import zoo

    report = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
              "machine": machine(), "versions": versions(), "threads": args.threads,
              "torch_threads": torch.get_num_threads(), "load_start": os.getloadavg()}
    m = zoo.load(NAME)
    hp = {**m.entry.recipe, **m.hparams}
    report.update(architecture=architecture(m), batch_size=hp["batch_size"], bundle=bundle_sizes(NAME))

    print(f"training: {args.steps} steps per framework ...", flush=True)
    batches = training_batches(m, hp, args.steps, args.train_sentences)
    report["twin_check"] = check_twin(torch, m, make_twin(m.keras_model), *batches[0])
    keras_t = throughput(keras_training(m, hp, batches), batches)
    torch_t = throughput(torch_training(torch, m, hp, batches), batches)
    rnn = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}[report["architecture"]["cell"]]
    report["training"] = {"Keras 3 / TensorFlow, jit_compile=True (zoo/training.py)": keras_t,
                          f"PyTorch twin (eager, packed nn.{rnn}, CRF in torch)": torch_t}
    report["training_ratio"] = keras_t["tokens_per_s"] / torch_t["tokens_per_s"]

    report["exports"] = make_exports(m, work)
    units, lengths = validation_units(m, args.sentences)
    report["latency_units"], report["latency_mean_tokens"] = len(units), float(np.mean(lengths))
    report["latency"] = latencies(torch, m, report["exports"], units, args.threads)
    report["load_end"] = os.getloadavg()
    return report


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ner-bench-"))
    try:
        report = run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for export in report["exports"].values():
        export["path"] = Path(export["path"]).name        # the temporary folder is gone
    write(report, render(report), args.out)
    print(render(report))
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
