"""Speed of the shipped `music-lstm`: training throughput against the same network in
PyTorch, and the per-step generation latency of each runtime the zoo exports to.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.music_lstm          # minutes
    .venv/bin/python -m benchmarks.music_lstm --quick                          # smoke test
    zoo bench music-lstm [--quick]

Needs the bench extra (`pip install torch==2.13.0`; torch is imported only here). Writes
benchmarks/results/music_lstm.md (music_lstm-quick.md with --quick) and the .json beside it.

What is timed:
- Training: one optimizer step on a batch of JSB Chorales train chunks from
  `pipelines.music.data.make_dataset` (the recipe's batch size and chunk length, with
  transposition), converted to arrays once and fed to both frameworks. Keras: a copy of
  the shipped model compiled as zoo/training.py does (Adam, global clipnorm, frame NLL,
  jit_compile=True) stepped with `train_on_batch`. PyTorch: the twin below (nn.LSTM +
  the same NADE, weights copied from Keras, Adam, clip_grad_norm_). Two warm-up steps.
- Generation: one call of the exported `step` function (previous frame + LSTM state ->
  NADE biases + state), batch 1, as the host's loop makes it, on Keras (the tf.function
  ZooModel uses), TFLite float32 and dynamic-range, ONNX Runtime and the PyTorch twin;
  plus the numpy NADE sampling of one frame (88 keys, the same for every runtime) and a
  whole `generate()` per step.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .common import machine, versions

NAME = "music-lstm"
REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.music_lstm")
    p.add_argument("--quick", action="store_true", help="few steps: a smoke test")
    p.add_argument("--bundle", default=NAME, help="registered name or bundle directory")
    p.add_argument("--out", help="Markdown report path")
    return p.parse_args(argv)


def torch_twin(zm):
    """The same network in PyTorch with the Keras weights (LSTM gate order i, f, c, o is
    the same in both; Keras has one bias, PyTorch two)."""
    import torch

    km = zm.keras_model
    rnn = km.get_layer("rnn_0")
    kernel, recurrent, bias = rnn.get_weights()
    units = rnn.units
    W, V = km.get_layer("nade").get_weights()
    vb_k, vb_b = km.get_layer("visible_bias").get_weights()
    hb_k, hb_b = km.get_layer("hidden_bias").get_weights()

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(88, units, batch_first=True)
            self.vb = torch.nn.Linear(units, 88)
            self.hb = torch.nn.Linear(units, W.shape[1])
            self.W = torch.nn.Parameter(torch.tensor(W))
            self.V = torch.nn.Parameter(torch.tensor(V))
            with torch.no_grad():
                self.lstm.weight_ih_l0.copy_(torch.tensor(kernel.T))
                self.lstm.weight_hh_l0.copy_(torch.tensor(recurrent.T))
                self.lstm.bias_ih_l0.copy_(torch.tensor(bias))
                self.lstm.bias_hh_l0.zero_()
                self.vb.weight.copy_(torch.tensor(vb_k.T)); self.vb.bias.copy_(torch.tensor(vb_b))
                self.hb.weight.copy_(torch.tensor(hb_k.T)); self.hb.bias.copy_(torch.tensor(hb_b))

        def forward(self, prev, frame):
            x, _ = self.lstm(prev)
            b, c = self.vb(x), self.hb(x)
            contrib = frame[..., :, None] * self.W
            a = torch.cumsum(contrib, dim=-2) - contrib
            return b + (torch.sigmoid(c[..., None, :] + a) * self.V).sum(-1)

        def step(self, frame, h, c):
            h, c = self.lstm(frame[:, None], (h[None], c[None]))[1]
            out = h[0]
            return self.vb(out), self.hb(out), h[0], c[0]

    return Twin()


def frame_nll_torch(logits, target):
    import torch

    mask = (target[..., 0] >= 0).float()
    y = target.clamp(min=0)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (bce.sum(-1) * mask).sum() / mask.sum().clamp(min=1)


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def stats(ms: list[float]) -> dict:
    a = np.asarray(ms)
    return {"p50": float(np.median(a)), "p99": float(np.percentile(a, 99)), "mean": float(a.mean()), "n": len(a)}


def main(argv=None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import torch

    import pipelines.music  # noqa: F401
    import zoo
    from pipelines.music import data as D
    from zoo.data import data_root
    from zoo.training import compile_for_training

    steps, calls = (3, 20) if args.quick else (30, 300)
    load_start = os.getloadavg()[0]
    zm = zoo.load(args.bundle)
    hp, prep = zm.hparams, zm.preprocessor
    train = D.read_split(data_root() / "polyphonic", "train")
    batches = [(x, y) for x, y in D.make_dataset(train, prep, batch_size=hp.get("batch_size", 8),
                                                 shuffle=True, seed=0).take(steps + 2)]
    batches = [({k: v.numpy() for k, v in x.items()}, {k: v.numpy() for k, v in y.items()})
               for x, y in batches]
    frames_per_batch = [int((y["logits"][..., 0] >= 0).sum()) for _, y in batches]

    # ---- training: Keras (the zoo's compiled step) vs the PyTorch twin --------------------
    copy = keras.Model.from_config(zm.keras_model.get_config())
    copy.set_weights(zm.keras_model.get_weights())
    keras_zm = zoo.model.ZooModel(zm.entry, copy, prep, hparams=hp)
    compile_for_training(keras_zm, hp.get("learning_rate", 1e-3), hp.get("clipnorm", 5.0))
    twin = torch_twin(zm)
    x0, y0 = batches[0]
    with torch.no_grad():
        t_logits = twin(torch.tensor(x0["prev"]), torch.tensor(x0["frame"]))
    k_logits = np.asarray(zm.keras_model(x0, training=False)["logits"])
    twin_diff = float(np.max(np.abs(k_logits - t_logits.numpy())))
    for x, y in batches[:2]:
        copy.train_on_batch(x, y)
    k_ms = [0.0] * steps
    for i, (x, y) in enumerate(batches[2:]):
        t = time.perf_counter()
        copy.train_on_batch(x, y)
        k_ms[i] = (time.perf_counter() - t) * 1000
    opt = torch.optim.Adam(twin.parameters(), lr=hp.get("learning_rate", 1e-3), eps=1e-7)

    def torch_step(x, y):
        opt.zero_grad()
        loss = frame_nll_torch(twin(torch.tensor(x["prev"]), torch.tensor(x["frame"])),
                               torch.tensor(y["logits"]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(twin.parameters(), hp.get("clipnorm", 5.0))
        opt.step()

    for x, y in batches[:2]:
        torch_step(x, y)
    t_ms = [0.0] * steps
    for i, (x, y) in enumerate(batches[2:]):
        t = time.perf_counter()
        torch_step(x, y)
        t_ms[i] = (time.perf_counter() - t) * 1000
    real = sum(frames_per_batch[2:])
    training = {"keras": {"ms_per_step": stats(k_ms), "frames_per_s": real / (sum(k_ms) / 1000),
                          "steps_per_s": steps / (sum(k_ms) / 1000)},
                "torch": {"ms_per_step": stats(t_ms), "frames_per_s": real / (sum(t_ms) / 1000),
                          "steps_per_s": steps / (sum(t_ms) / 1000)},
                "batch": list(x0["prev"].shape), "twin_max_abs_logit_diff": twin_diff}

    # ---- generation: one step function call per runtime -----------------------------------
    host = zm.host()
    state = {k: np.zeros((1, n), np.float32) for k, n in host.state.items()}
    rng = np.random.default_rng(0)
    inputs = [{"frame": (rng.random((1, 88)) < 0.05).astype(np.float32), **state} for _ in range(calls)]
    work = Path(tempfile.mkdtemp(prefix="music-bench-"))
    latency, parity = {}, {}
    try:
        runtimes = {"Keras (tf.function, ZooModel.call_function)": zm.call_function}
        for label, target, q in (("TFLite float32", "m.tflite", None),
                                 ("TFLite dynamic-range", "mq.tflite", "dynamic"),
                                 ("ONNX Runtime", "m.onnx", None)):
            report = zm.export(work / target, quantize=q)
            parity[label] = {k: report[k] for k in ("agreement", "max_abs_diff", "size_mb")}
            runtimes[label] = zoo.runtime.load(work / target).call_function
        for label, call in runtimes.items():
            for i in inputs[:5]:
                call("step", i)
            it = iter(inputs)
            latency[label] = stats(timed(lambda: call("step", next(it)), calls))
        names = list(host.state)

        def torch_call(i):
            with torch.inference_mode():
                return twin.step(torch.tensor(i["frame"]), torch.tensor(i[names[0]]),
                                 torch.tensor(i[names[1]]))

        for i in inputs[:5]:
            torch_call(i)
        it = iter(inputs)
        latency["PyTorch twin (eager, nn.LSTM)"] = stats(timed(lambda: torch_call(next(it)), calls))
        out = zm.call_function("step", inputs[0])
        u = rng.random((1, 88))
        latency["host NADE sampling of one frame (numpy)"] = stats(
            timed(lambda: host.sample(out, u, 1.0), calls))
        per_step = {}
        n_gen = 16 if args.quick else 128
        for label in ("Keras (tf.function, ZooModel.call_function)", "TFLite float32", "ONNX Runtime"):
            m = zm if label.startswith("Keras") else zoo.runtime.load(
                work / ("m.tflite" if label.startswith("TFLite") else "m.onnx"))
            m.generate(steps=4)
            t = time.perf_counter()
            m.generate(steps=n_gen, seed=1)
            per_step[label] = (time.perf_counter() - t) * 1000 / n_gen
    finally:
        shutil.rmtree(work, ignore_errors=True)

    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "machine": {**machine(), "load_start": load_start, "load_end": os.getloadavg()[0]},
              "versions": versions(),
              "model": {"bundle": args.bundle, "params": zm.keras_model.count_params(), "hparams": hp},
              "training": training, "step_latency_ms": latency, "generate_ms_per_step": per_step,
              "parity": parity, "quick": args.quick}
    write_report(result, Path(args.out) if args.out else
                 RESULTS / f"music_lstm{'-quick' if args.quick else ''}.md")
    return result


def write_report(r: dict, path: Path) -> None:
    tr, hp = r["training"], r["model"]["hparams"]
    lines = [f"# {NAME} benchmark", "",
             f"- date: {r['date']}; {'QUICK smoke run' if r['quick'] else 'full run'}",
             f"- machine: {r['machine']['cpu']}, {r['machine']['nproc']} cores, load average "
             f"{r['machine']['load_start']:.2f} at start, {r['machine']['load_end']:.2f} at end "
             f"(the machine is shared: absolute times are noisy, ratios less so)",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- model: `{r['model']['bundle']}`, {hp.get('cell')} {hp.get('layers')}x"
             f"{hp.get('units')} + NADE {hp.get('nade_hidden')} hidden, "
             f"{r['model']['params']:,} parameters",
             f"- PyTorch twin: weights copied from Keras, max |logit diff| "
             f"{tr['twin_max_abs_logit_diff']:.1e} on a training batch", "",
             f"## Training (batch {tr['batch'][0]} x {tr['batch'][1]} steps, JSB train, "
             f"compile/warm-up excluded)", "",
             "| framework | ms/step p50 | steps/s | frames/s |", "|---|---:|---:|---:|"]
    for label, k in (("Keras 3 / TF, jit_compile=True (zoo/training.py)", "keras"),
                     ("PyTorch twin (eager)", "torch")):
        lines.append(f"| {label} | {tr[k]['ms_per_step']['p50']:.1f} | {tr[k]['steps_per_s']:.2f} | "
                     f"{tr[k]['frames_per_s']:,.0f} |")
    lines += ["", f"Ratio Keras / PyTorch (steps/s): **{tr['keras']['steps_per_s'] / tr['torch']['steps_per_s']:.2f}** "
              "(above 1: Keras is faster).", "",
              "## Generation: one recurrent step (batch 1), as the host loop calls it", "",
              "| runtime | p50 ms | p99 ms | mean ms |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['p50']:.3f} | {v['p99']:.3f} | {v['mean']:.3f} |"
              for k, v in r["step_latency_ms"].items()]
    lines += ["", "Whole `generate()` (step call + NADE sampling + bookkeeping), ms per generated step:", "",
              "| runtime | ms/step |", "|---|---:|"]
    lines += [f"| {k} | {v:.2f} |" for k, v in r["generate_ms_per_step"].items()]
    lines += ["", "Export parity (host loop on the parity pieces; agreement of note decisions, "
              "max abs diff of replayed step outputs):", "",
              "| export | agreement | max abs diff | size MB |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {v['agreement']:.4f} | {v['max_abs_diff']:.1e} | {v['size_mb']:.3f} |"
              for k, v in r["parity"].items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    path.with_suffix(".json").write_text(json.dumps(r, indent=1) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
