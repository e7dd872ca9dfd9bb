"""The one harness behind every speed benchmark. A benchmark module is a `Spec`: how to
get training batches, what a batch counts (tokens, windows, ...), which PyTorch twin in
benchmarks/twins/ to race, and which latency tables to time. The harness does the rest
the same way for all of them:

- threads (`--threads N` for every framework and runtime, else each one's default);
- the twin check: the twin (weights copied from Keras) must compute the Keras outputs on
  a real training batch, or the report warns that the comparison is not like for like;
- training throughput: one optimizer step per batch, the same numpy arrays for both.
  Keras: a copy of the shipped model compiled as zoo/training.py compiles it (Adam with
  global_clipnorm, the application's loss, the recipe's jit_compile), `train_on_batch`.
  PyTorch: Adam with Keras's epsilon, `clip_grad_norm_`, the twin's copy of the loss,
  eager and under `torch.compile`; the ratio is taken against the faster of the two.
  Every batch shape runs twice before timing, so compilation and first calls are excluded;
  then the frameworks take turns (four rounds, each timing a quarter of the batches), so a
  machine whose speed drifts during the run shifts all of them alike. Python's garbage
  collector is paused while a step or a call is timed, as `timeit` does, and collects
  between turns: with TensorFlow, Keras and PyTorch loaded, one full collection took up to
  0.34 s, and one that fell inside a timed 24 ms Keras step put 0.4 s into forecast-lstm's
  mean and its ratio from about 1.5 to 1.05-1.19 (2026-12-05);
- exports (zoo's own parity check against Keras on real examples) and file sizes;
- the latency tables, then `results/<module>.md` and the `.json` beside it (`--quick`: a
  few steps and calls, written to `<module>-quick.md` so real numbers are never replaced).

PyTorch (`pip install torch==2.13.0`, the bench extra) is imported only when a benchmark
runs, so every module here imports without it.

>>> num(0.027341), num(3.14159), num(226.4), num(12345.6)
('0.0273', '3.14', '226', '12,346')
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import importlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"
PACKAGES = ("tensorflow", "keras", "torch", "ai-edge-litert", "onnxruntime", "tf2onnx", "numpy")
EXPORTS = {"SavedModel": ("saved_model", None), "TFLite float32": ("model.tflite", None),
           "TFLite dynamic-range": ("model-dynamic.tflite", "dynamic"), "ONNX": ("model.onnx", None)}
TWIN_TOLERANCE = 1e-3    # a larger max |output diff| means the twin is not the same network


@dataclass(frozen=True)
class Spec:
    """What one benchmark measures; the harness measures it."""
    name: str            # the registered model
    doc: str             # the benchmark module's docstring (its --help)
    twin: str            # module in benchmarks/twins/: make(keras_model), loss, check
    batches: Callable    # (zm, hp, steps, quick) -> [(x, y)]: numpy dicts of the training pipeline
    counts: Callable     # (preprocessor, x, y) -> {unit: how many in that batch}, e.g. {"tokens": 812}
    latency: Callable    # (Bench) -> {section: {row: timing} or a sentence}
    describe: Callable   # (keras_model, hp) -> the architecture in a few words
    data: str            # the training batches in a few words, for the report
    inputs: str = "inputs"           # what a latency call takes (--inputs, alias --<inputs>)
    steps: tuple = (20, 3)           # timed training steps: full, --quick
    calls: tuple = (40, 4)           # latency inputs per runtime: full, --quick
    exports: tuple = ("TFLite float32", "ONNX")
    both_jit: bool = False           # also time Keras with the recipe's jit_compile flipped
    threads: int | None = None       # the default of --threads


# ---- timing -----------------------------------------------------------------------------
def timed(call, items, warmup=()) -> dict:
    """Milliseconds of `call(x)` for each x of `items` (p50, p99, mean, n), after one
    untimed call on each of `warmup`."""
    for x in warmup:
        call(x)
    with collector_paused():
        return stats([_ms(call, x) for x in items])


@contextlib.contextmanager
def collector_paused():
    """Collect garbage now, then keep the collector out of what is timed (as `timeit`)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _ms(call, x) -> float:
    start = time.perf_counter()
    call(x)
    return 1e3 * (time.perf_counter() - start)


def stats(ms: list) -> dict:
    a = np.asarray(ms)
    return {"p50": float(np.median(a)), "p99": float(np.percentile(a, 99)),
            "mean": float(a.mean()), "n": int(a.size)}


PAUSE = 1.0     # seconds between turns


def interleaved(contestants: dict, rounds: int = 4) -> dict:
    """{label: timed()-style milliseconds} of contestants {label: (step, items)}, warmed up
    already, taking turns: in each round a contestant waits PAUSE (the other framework's
    threads stop spinning), runs one untimed step, then times its next share of `items`.
    Timed one block after another, a machine that slows down or speeds up during the run
    puts its drift into the ratio: caption-cnn-lstm's read 1.06x and 1.50x in two runs
    seven minutes apart on 2026-12-04, and 1.33x and 1.38x taking turns."""
    ms = {label: [] for label in contestants}
    for r in range(rounds):
        for label, (step, items) in contestants.items():
            share = items[r * len(items) // rounds:(r + 1) * len(items) // rounds]
            if share:
                time.sleep(PAUSE)       # the other framework's threads stop spinning
                step(share[0])
                with collector_paused():
                    ms[label] += [_ms(step, x) for x in share]
    return {label: stats(m) for label, m in ms.items()}


def numpy_batches(dataset, steps: int) -> list:
    """The first `steps` (features, targets) batches of a tf.data dataset as numpy dicts,
    so Keras and the PyTorch twin are fed the same arrays."""
    return list(dataset.take(steps).as_numpy_iterator())


def train_batches(zm, hp: dict, steps: int, quick: bool, first: int | None = None) -> list:
    """`steps` shuffled batches of the recipe's batch size from the train split of the
    entry's default data (its first `first` examples when given), as the zoo trains."""
    from zoo.data import data_root, read_split

    train = read_split(zm.entry, data_root() / zm.entry.default_data, "train")[:first]
    return numpy_batches(zm.entry.module("data").make_dataset(
        train, zm.preprocessor, batch_size=int(hp["batch_size"]), shuffle=True, seed=0,
        drop_remainder=True), steps)


def one_per_shape(items: list, key: Callable) -> list:
    seen: dict = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())


def shapes(batch) -> tuple:
    """The shapes of a (x, y) batch or a unit, to warm up each once."""
    parts = batch if isinstance(batch, tuple) else (batch,)
    return tuple(np.shape(v) for part in parts for v in part.values())


# ---- what a benchmark's latency function gets ---------------------------------------------
@dataclass
class Bench:
    zm: object
    torch: object
    twin: object
    twin_module: object
    calls: int
    quick: bool
    threads: int | None
    paths: dict                       # export label -> path (temporary)
    loaded: dict = field(default_factory=dict)

    def runtime(self, label: str):
        """The zoo.runtime model over one export."""
        from zoo import runtime

        if label not in self.loaded:
            self.loaded[label] = runtime.load(self.paths[label], threads=self.threads)
        return self.loaded[label]

    def models(self) -> dict:
        """label -> an object with predict / call_function: Keras, then each runtime export."""
        return {"Keras (ZooModel)": self.zm,
                **{label: self.runtime(label) for label in self.paths if label != "SavedModel"}}

    def saved_model(self):
        import tensorflow as tf

        try:
            import tensorflow_text  # noqa: F401  (ops of string serving signatures)
        except ImportError:
            pass
        return tf.saved_model.load(str(self.paths["SavedModel"]))

    def unit_latency(self, units: list) -> dict:
        """One unit (host features, batch 1) per call, the model call alone, outputs fetched
        to numpy: padded to the length bucket where that runtime's zoo path pads
        (`input: bucket`), else at its own length (`exact`)."""
        import tensorflow as tf

        from zoo.runtime import run_units

        km, buckets = self.zm.keras_model, self.zm.preprocessor.get("buckets")
        bucket = "bucket" if buckets else "exact"

        def numpy_out(fn):
            return lambda b, x: {k: np.asarray(v) for k, v in fn(x).items()}

        rows = {"Keras eager `model(x)`":
                (lambda u: run_units([u], numpy_out(lambda x: km(x, training=False)), buckets, 1), bucket),
                "tf.function (ZooModel.predict_units)": (lambda u: self.zm.predict_units([u], 1), bucket)}
        if "SavedModel" in self.paths:
            sig = self.saved_model().signatures["features"]
            saved = numpy_out(lambda x: sig(**{k: tf.constant(v) for k, v in x.items()}))
            rows["SavedModel `features` signature"] = (lambda u: run_units([u], saved, None, 1), "exact")
        for label in self.paths:
            if label != "SavedModel":
                rt = self.runtime(label)
                rows[f"{label} (zoo.runtime)"] = (lambda u, rt=rt: rt.predict_units([u]),
                                                  "bucket" if rt.buckets else "exact")
        if hasattr(self.twin_module, "predict"):
            torch, twin = self.torch, self.twin

            def twin_call(b, x):
                with torch.inference_mode():
                    return self.twin_module.predict(twin, {k: torch.from_numpy(v) for k, v in x.items()})

            rows["PyTorch twin (eval, inference_mode)"] = (lambda u: run_units([u], twin_call, None, 1),
                                                           "exact")
        out = {}
        for label, (row, length) in rows.items():
            print(f"timing {label} ...", flush=True)
            out[label] = {**timed(row, units, one_per_shape(units, shapes)), "input": length}
        return out

    def predict_latency(self, inputs: list, beams) -> tuple[dict, dict]:
        """End to end, one raw input per call: `predict([x], beam=B)` in every runtime.
        Also returns the answers, {(runtime, beam): [answer per input]}."""
        table, answers = {}, {}
        for beam in beams:
            for label, m in self.models().items():
                print(f"timing {label}, beam {beam} ...", flush=True)
                out: list = []
                table[f"{label}, beam {beam}"] = timed(
                    lambda x, m=m, out=out, beam=beam: out.extend(m.predict([x], beam=beam)),
                    inputs, inputs[:2])
                answers[label, beam] = out[len(inputs[:2]):]
        return table, answers

    def generate_latency(self, steps: int, per: int, skip=(), **options) -> dict:
        """Milliseconds of a whole `generate(steps=..., seed=1, **options)` divided by `per`
        (the steps the host loop runs), in every runtime but `skip`, after a short call."""
        out = {}
        for label, m in self.models().items():
            if label not in skip:
                m.generate(steps=4, **options)
                start = time.perf_counter()
                m.generate(steps=steps, seed=1, **options)
                out[label] = 1e3 * (time.perf_counter() - start) / per
        return out

    def step_latency(self, inputs: dict, function: str = "step") -> dict:
        """One exported function (a decoder or recurrent step) per call, batch 1, as the
        host's loop calls it, in every runtime."""
        n = 20 if self.quick else 200
        return {label: timed(lambda _, m=m: m.call_function(function, inputs), range(n), range(5))
                for label, m in self.models().items()}


# ---- the command line ---------------------------------------------------------------------
from zoo.bundle import write_whole  # noqa: E402
from zoo.errors import script  # noqa: E402,F401  every benchmark's `python -m` exit code


def check_models(names) -> None:
    """Every model name or bundle folder in `names` exists (zoo.bundle.resolve's error, with
    its did-you-mean, otherwise), checked before the first is measured: a typo in the last
    one failed only after minutes of work on the others."""
    from zoo.bundle import resolve

    for name in names:
        resolve(name)


# ---- the run ------------------------------------------------------------------------------
def parse_args(spec: Spec, prog: str, argv):
    p = argparse.ArgumentParser(prog=f"python -m {prog}", description=spec.doc.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="few steps and calls: a smoke test "
                   "whose numbers are not for quoting (written to <name>-quick.md)")
    p.add_argument("--steps", type=int, help=f"timed training steps per framework "
                   f"(default {spec.steps[0]}, --quick {spec.steps[1]})")
    p.add_argument("--inputs", f"--{spec.inputs}", dest="calls", type=int,
                   help=f"{spec.inputs} timed per runtime (default {spec.calls[0]}, --quick {spec.calls[1]})")
    p.add_argument("--threads", type=int, default=spec.threads,
                   help="threads for every framework and runtime (0 or unset: each one's default)")
    p.add_argument("--bundle", default=spec.name, help="registered name or bundle directory")
    p.add_argument("--out", type=Path, help="Markdown report; the .json goes beside it")
    args = p.parse_args(argv)
    from zoo.options import check_int

    # 0 was read as "unset" (the default), a negative count failed deep in the run
    args.steps = check_int(spec.steps[args.quick] if args.steps is None else args.steps, "--steps", 1)
    args.calls = check_int(spec.calls[args.quick] if args.calls is None else args.calls,
                           f"--{spec.inputs}", 1)
    if args.threads is not None:
        check_int(args.threads, "--threads", 0)
    stem = prog.rsplit(".", 1)[-1]
    args.out = args.out or RESULTS / f"{stem}{'-quick' if args.quick else ''}.md"
    if args.out.is_dir():           # found only when the report was written, minutes later
        from zoo.errors import InputError

        raise InputError(f"--out {args.out}: a folder; expected the report's .md file name")
    return args


def import_torch(threads: int | None):
    try:
        import torch
    except ImportError:
        sys.exit("the benchmarks need PyTorch: .venv/bin/pip install torch==2.13.0")
    if threads:
        torch.set_num_threads(threads)
    return torch


def set_tf_threads(threads: int | None) -> None:
    """Must run before TensorFlow executes anything."""
    import tensorflow as tf

    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def keras_training_copy(zm, jit_compile: bool):
    """A copy of the bundle's Keras model compiled as zoo/training.py compiles it; the
    loaded model stays untouched."""
    import keras

    from zoo.model import ZooModel
    from zoo.training import compile_for_training

    copy = keras.Model.from_config(zm.keras_model.get_config())
    copy.set_weights(zm.keras_model.get_weights())
    compile_for_training(ZooModel(zm.entry, copy, zm.preprocessor, hparams=zm.hparams),
                         zm.hparams.get("learning_rate", 1e-3), zm.hparams.get("clipnorm", 5.0),
                         jit_compile)
    return copy


def training(spec: Spec, zm, hp: dict, torch, twin, twin_module, batches: list) -> dict:
    from zoo.training import graph_optimizer

    units = {}
    for x, y in batches:
        for unit, n in spec.counts(zm.preprocessor, x, y).items():
            units[unit] = units.get(unit, 0) + n
    warmup = one_per_shape(batches, shapes) * 2

    def throughput(t: dict) -> dict:
        seconds = t["mean"] * t["n"] / 1e3
        return {"steps": t["n"], "ms_per_step": t, "steps_per_s": t["n"] / seconds,
                **{f"{unit}_per_s": n / seconds for unit, n in units.items()}}

    contestants, failed = {}, {}
    # How the recipe trains today (a bundle trained before may record otherwise)
    fit = zm.entry.recipe["fit"]
    jit = bool(fit.get("jit_compile", False))
    for flag in (jit, not jit) if spec.both_jit else (jit,):
        label = (f"Keras 3 / TensorFlow, jit_compile={flag} (zoo/training.py"
                 f"{'' if flag == jit else ': not the recipe'})")
        print(f"warming up {label} ...", flush=True)
        copy = keras_training_copy(zm, flag)
        step = lambda b, copy=copy: copy.train_on_batch(*b)          # noqa: E731
        with graph_optimizer(fit.get("grappler", True)):     # as zoo.training.fit runs it
            for batch in warmup:
                step(batch)
        contestants[label] = (step, batches)
    twin.train()
    params = list(twin.parameters())
    # Keras's epsilon; fused=True (one kernel a step, as zoo.optimizers.FusedAdam) was the
    # fastest of torch's three Adam implementations for 4 of the 7 twins on 2026-12-06 and
    # for none more than 2 % slower than the default in both orders (docs/speed.md, "Adam's
    # update as one kernel a variable")
    opt = torch.optim.Adam(params, lr=hp.get("learning_rate", 1e-3), eps=1e-7, fused=True)

    def tensors(d: dict) -> dict:
        return {k: torch.from_numpy(np.array(v)) for k, v in d.items()}    # writable copies

    torch_batches = [(tensors(x), tensors(y)) for x, y in batches]
    style = f", {twin_module.STYLE}" if hasattr(twin_module, "STYLE") else ""
    eager = functools.partial(twin_module.loss, twin)
    # A good PyTorch user tries torch.compile (forward, loss and backward through
    # AOTAutograd; graph breaks where it cannot trace) and keeps it where it is faster:
    # both are timed, and the ratio is taken against the faster.
    for label, loss in ((f"PyTorch twin (eager{style})", eager),
                        (f"PyTorch twin (torch.compile{style})", torch.compile(eager))):
        def step(batch, loss=loss):
            opt.zero_grad(set_to_none=True)
            loss(*batch).backward()
            torch.nn.utils.clip_grad_norm_(params, hp.get("clipnorm", 5.0))    # = global_clipnorm
            opt.step()

        print(f"warming up {label} ...", flush=True)
        try:
            for batch in one_per_shape(torch_batches, shapes) * 2:
                step(batch)
            contestants[label] = (step, torch_batches)
        except Exception as e:     # e.g. inductor on shapes it cannot handle: the report says so
            failed[label] = {"failed": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}
            print(f"{label} failed: {failed[label]['failed']}", flush=True)
    print(f"training, taking turns: {len(batches)} steps each of {len(contestants)} ...", flush=True)
    with graph_optimizer(fit.get("grappler", True)):     # Keras's steps run as fit runs them
        times = interleaved(contestants)
    twin.eval()
    return {**{label: throughput(t) for label, t in times.items()}, **failed}


def run(spec: Spec, argv=None, prog: str | None = None) -> int:
    """Run the benchmark `spec` with command-line options `argv`; writes and prints the report."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    prog = prog or f"benchmarks.{spec.name.replace('-', '_')}"
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(spec, prog, argv)
    check_models([args.bundle])
    load_start = os.getloadavg()
    set_tf_threads(args.threads)
    torch = import_torch(args.threads)
    twin_module = importlib.import_module(f"benchmarks.twins.{spec.twin}")
    import zoo
    from zoo.export import artifact_size

    zm = zoo.load(args.bundle)
    hp = zm.entry.hparams(zm.hparams)
    batches = spec.batches(zm, hp, args.steps, args.quick)
    if len(batches) < args.steps:
        sys.exit(f"only {len(batches)} training batches for {args.steps} steps")
    twin = twin_module.make(zm.keras_model).eval()
    report = {"name": spec.name, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
              "quick": args.quick, "command": " ".join(["python -m " + prog, *argv]),
              "machine": machine(), "versions": versions(), "threads": args.threads,
              "torch_threads": torch.get_num_threads(), "load_start": load_start,
              "bundle": bundle_sizes(zm, args.bundle),
              "model": {"describe": spec.describe(zm.keras_model, hp),
                        "params": zm.keras_model.count_params(), "hparams": zm.hparams},
              "twin_check": twin_module.check(twin, zm.keras_model, *batches[0]),
              "batch": len(next(iter(batches[0][0].values()))), "data": spec.data}
    report["training"] = training(spec, zm, hp, torch, twin, twin_module, batches)
    work = Path(tempfile.mkdtemp(prefix=f"{spec.name}-bench-"))
    try:
        paths, report["exports"] = {}, {}
        for label in spec.exports:
            print(f"exporting {label} ...", flush=True)
            file, quantize = EXPORTS[label]
            parity = zm.export(work / file, quantize=quantize)
            paths[label] = work / file
            report["exports"][label] = {"agreement": parity.get("agreement"),
                                        "max_abs_diff": parity.get("max_abs_diff"),
                                        "bytes": artifact_size(work / file)}
        report["latency"] = spec.latency(Bench(zm, torch, twin, twin_module, args.calls, args.quick,
                                               args.threads, paths))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report["load_end"] = os.getloadavg()
    markdown = render(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # both whole or neither (zoo.bundle.write_whole): a run stopped mid-write left a table
    # cut short under the results' name, or a new .md beside the old .json
    write_whole(args.out, markdown, **{args.out.with_suffix(".json").name: json.dumps(
        report, indent=1, default=str) + "\n"})
    print(markdown)
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")
    return 0


# ---- the machine and the files ----------------------------------------------------------
def machine() -> dict:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "nproc": len(os.sched_getaffinity(0)), "platform": platform.platform(),
            "python": platform.python_version()}


def versions() -> dict:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def bundle_sizes(zm, bundle: str) -> dict:
    from zoo.bundle import resolve
    from zoo.export import artifact_size

    directory = resolve(bundle).resolve()
    shown = directory.relative_to(REPO) if directory.is_relative_to(REPO) else directory
    return {"path": str(shown), "bytes": artifact_size(directory),
            "files": {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file()}}


# ---- the report -----------------------------------------------------------------------------
def run_lines(command: str, load: float, machine_note: str = "") -> list[str]:
    """A report's date and command, machine (with the load average when the run began, then
    `machine_note`) and versions lines, for a report made in this process."""
    m = machine()
    return [f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; command: `{command}`",
            f"- machine: {m['cpu']}, nproc {m['nproc']}; load average {load:.2f} at start"
            + machine_note,
            "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items())]


def write_markdown(path: Path, lines: list[str]) -> Path:
    """Write a report's markdown `lines` to `path` and show them."""
    write_whole(path, "\n".join(lines) + "\n")      # whole, or the earlier one as it was
    print("\n".join(lines), f"\nwrote {path}", sep="\n")
    return path


def num(v) -> str:
    """Three significant figures, no exponent, thousands separated."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return str(v)
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.1e}"


def mb(n: int) -> str:
    return f"{n / 2**20:.2f}" if n >= 2**20 / 100 else "<0.01"


def table(rows: dict, first: str = "runtime") -> list[str]:
    """A Markdown table of {row label: {column: value}}; time columns are milliseconds."""
    columns = [c for c in dict.fromkeys(k for r in rows.values() for k in r) if c != "n"]
    heads = [f"{c} ms" if c in ("p50", "p99", "mean") else c.replace("_", " ") for c in columns]
    lines = [f"| {first} | {' | '.join(heads)} |", "|---|" + "---:|" * len(columns)]
    lines += [f"| {label} | " + " | ".join(num(r.get(c, "")) for c in columns) + " |"
              for label, r in rows.items()]
    return lines


def warnings(r: dict) -> list[str]:
    out = [f"- **warning**: the PyTorch twin differs from the Keras model ({k} {v:.2g} > "
           f"{TWIN_TOLERANCE}): the comparison is not like for like"
           for k, v in r["twin_check"].items() if k.endswith("diff") and v > TWIN_TOLERANCE]
    load, nproc = r["load_start"][0], r["machine"]["nproc"]
    if load >= 0.5 * nproc:   # the load at the end includes the benchmark's own threads
        out.append(f"- **warning**: load average {load:.1f} on {nproc} cores as the benchmark "
                   "began: other processes shared the CPU, so these numbers are not representative")
    return out


def render(r: dict) -> str:
    mach, train = r["machine"], r["training"]
    threads = (f"{r['threads']} for every framework and runtime" if r["threads"] else
               f"each runtime's default (PyTorch: {r['torch_threads']})")
    lines = [f"# {r['name']} benchmark{' (QUICK smoke test: numbers not for quoting)' if r['quick'] else ''}",
             "", f"- date: {r['date']}; command: `{r['command']}`",
             (f"- machine: {mach['cpu']}, nproc {mach['nproc']}, {mach['platform']}; load average "
              f"{r['load_start'][0]:.2f} at start, {r['load_end'][0]:.2f} at end"),
             f"- threads: {threads}",
             f"- versions: python {mach['python']}, " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()),
             f"- model: `{r['bundle']['path']}`: {r['model']['describe']}, {r['model']['params']:,} parameters",
             "- PyTorch twin (benchmarks/twins/), weights copied from Keras, on a training batch: "
             + ", ".join(f"{k.replace('_', ' ')} {num(v)}" for k, v in r["twin_check"].items()),
             *warnings(r), "",
             (f"## Training throughput (batch {r['batch']}, {r['data']}; "
              "compilation and warm-up excluded; the frameworks take turns, four rounds)"), ""]
    failed = {label: t["failed"] for label, t in train.items() if "failed" in t}
    train = {label: t for label, t in train.items() if label not in failed}
    rows = {label: {"steps": t["steps"], "ms/step p50": t["ms_per_step"]["p50"],
                    **{k.replace("_per_s", "/s"): v for k, v in t.items() if k.endswith("_per_s")}}
            for label, t in train.items()}
    lines += table(rows, "framework") + [f"\n{label}: failed ({why})." for label, why in failed.items()]
    keras = next(iter(train.values()))
    unit = next(k for k in keras if k.endswith("_per_s") and k != "steps_per_s")
    fastest = max((label for label in train if label.startswith("PyTorch")), key=lambda l: train[l][unit])
    lines += ["", (f"Ratio Keras (recipe) / PyTorch, its faster row ({fastest}; "
                   f"{unit.replace('_per_s', '/s')}): **{keras[unit] / train[fastest][unit]:.2f}** "
                   "(above 1: Keras is faster).")]
    for title, section in r["latency"].items():
        lines += ["", f"## {title}", ""] + (table(section) if isinstance(section, dict) else [section])
    lines += ["", "## Exports and sizes (parity: zoo's export check against Keras)", "",
              "| artifact | agreement | max abs diff | MB |", "|---|---:|---:|---:|",
              f"| bundle (`{r['bundle']['path']}`) | | | {mb(r['bundle']['bytes'])} |"]
    lines += [f"| {label} | {num(e['agreement'])} | {num(e['max_abs_diff'])} | {mb(e['bytes'])} |"
              for label, e in r["exports"].items()]
    return "\n".join(lines) + "\n"
