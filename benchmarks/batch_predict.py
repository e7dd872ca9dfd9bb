"""Throughput of `zoo batch-predict` (Apache Beam RunInference over a zoo.runtime export)
against in-process predict(), for ner-bilstm (5,000 CoNLL-2003 train sentences, one text
file, one a line) and speech-ctc (all 2,500 FSDD recordings, one file each).

Rows, each timed once end to end on the same inputs:
- in process, Keras: `zoo.load(NAME).predict(inputs)`, 64 a call;
- in process, TFLite / ONNX: `zoo.runtime.load(export).predict(inputs)`, 64 a call (what
  the Beam workers run);
- Beam DirectRunner, 1 worker (in memory) and 2 workers (multi_processing), for each
  export: the whole `batch_predict(export, glob, out)`: pipeline start, reading, batching
  (at most 64), writing the shards, dead letters and manifest. Exports are made beforehand
  and not timed (`zoo batch-predict NAME` adds one: ner-bilstm about 19 s to TFLite);
- Beam start-up: the same over a single input, the fixed cost of a run.
Every Beam run's predictions are checked against in-process predict() of the same export
(`differ`, by key: 0 means identical).

    python -m benchmarks.batch_predict            # results/batch_predict.md and .json
    python -m benchmarks.batch_predict --quick    # 500 sentences, 100 files: -quick.*
    (about 6 minutes on 2 busy cores)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.harness import RESULTS, machine, num, versions

REPO = Path(__file__).resolve().parent.parent


def ner_inputs(data: Path, n: int, folder: Path) -> tuple[list, str]:
    from zoo_pipelines.ner.data import read

    out = [" ".join(e["tokens"]) for e in read(data / "conll2003" / "train.txt")][:n]
    (folder / "sentences.txt").write_text("\n".join(out) + "\n")
    return out, str(folder / "sentences.txt")


def speech_inputs(data: Path, n: int, folder: Path) -> tuple[list, str]:
    wavs = sorted((data / "fsdd" / "recordings").glob("*.wav"))
    wavs = wavs[::max(1, len(wavs) // n)][:n]
    for w in wavs:
        shutil.copy(w, folder / w.name)
    return sorted(str(folder / w.name) for w in wavs), str(folder / "*.wav")


def timed_predict(predict, inputs: list, chunk: int = 64) -> tuple[float, list]:
    from zoo.webio import to_json

    t = time.perf_counter()
    out = []
    for s in range(0, len(inputs), chunk):
        out += predict(inputs[s:s + chunk])
    seconds = time.perf_counter() - t
    return seconds, to_json(out)


def beam_run(export: str, glob: str, out: Path, workers: int, expected: dict) -> dict:
    from zoo.batch_predict import batch_predict

    t = time.perf_counter()
    manifest = batch_predict(export, glob, str(out), workers=workers)
    seconds = time.perf_counter() - t
    rows = [json.loads(line) for s in manifest["shards"]
            for line in (out / s["file"]).read_text().splitlines()]
    got = {r["key"]: r["prediction"] for r in rows}
    differ = sum(got.get(k) != e for k, e in expected.items()) + len(set(got) - set(expected))
    return {"seconds": seconds, "predictions": manifest["predictions"],
            "dead letters": manifest["dead_letters"], "differ": differ}


def bench(name: str, inputs: list, glob: str, work: Path) -> dict:
    import zoo
    from zoo.batch_predict import batch_predict

    m = zoo.load(name)
    timed_predict(m.predict, inputs[:64])          # warm-up: first calls, tracing
    rows = {"in process, Keras predict()": {"seconds": timed_predict(m.predict, inputs)[0]}}
    keys = [f"{glob}:{n}" for n in range(1, len(inputs) + 1)] if glob.endswith(".txt") else inputs
    for fmt in ("tflite", "onnx"):
        export = str(work / f"{name}.{fmt}")
        m.export(export)
        rt = zoo.runtime.load(export)
        timed_predict(rt.predict, inputs[:64])
        seconds, expected = timed_predict(rt.predict, inputs)
        rows[f"in process, {fmt} zoo.runtime predict()"] = {"seconds": seconds}
        for workers in (1, 2):
            label = f"Beam DirectRunner, {fmt}, {workers} worker" + (
                "s (multi_processing)" if workers > 1 else " (in memory)")
            rows[label] = beam_run(export, glob, work / f"out-{fmt}-{workers}", workers,
                                   dict(zip(keys, expected)))
    for r in rows.values():
        r["examples/s"] = len(inputs) / r["seconds"]
    one = work / "one"                 # the fixed cost: a run over a single input
    one.mkdir()
    if glob.endswith(".txt"):
        (one / Path(glob).name).write_text(inputs[0] + "\n")
    else:
        shutil.copy(inputs[0], one / Path(inputs[0]).name)
    glob_one = str(one / Path(glob).name)
    for workers in (1, 2):
        t = time.perf_counter()
        batch_predict(str(work / f"{name}.tflite"), glob_one, str(work / f"one-{workers}"),
                      workers=workers)
        rows[f"Beam start-up: tflite, {workers} worker{'s' * (workers > 1)}, 1 input"] = {
            "seconds": time.perf_counter() - t}
    return {"examples": len(inputs), "rows": rows}


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.batch_predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--note", default="", help="a sentence on the machine's state, for the report")
    args = p.parse_args(argv)
    data = Path(os.environ.get("ZOO_DATA", REPO.parent / "shared" / "data"))
    sizes = (500, 100) if args.quick else (5000, 2500)
    started, load_start = datetime.now(UTC), load()
    results = {}
    with tempfile.TemporaryDirectory(prefix="zoo-batch-bench-") as tmp:
        for name, make, n in (("ner-bilstm", ner_inputs, sizes[0]),
                              ("speech-ctc", speech_inputs, sizes[1])):
            work = Path(tmp) / name
            (work / "in").mkdir(parents=True)
            inputs, glob = make(data, n, work / "in")
            results[name] = bench(name, inputs, glob, work)
            print(name, json.dumps(results[name]), flush=True)
    report = {"date": started.strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "load average (1, 5, 15 min)": {"start": load_start, "end": load()},
              "note": args.note, "versions": versions(), "results": results}
    stem = "batch_predict-quick" if args.quick else "batch_predict"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    md = ["# `zoo batch-predict` throughput", "",
          f"- date: {report['date']}",
          f"- machine: {report['machine']['cpu']}, nproc {report['machine']['nproc']}; load "
          f"average {load_start} at start, {load()} at end (1, 5, 15 min). {args.note}".rstrip(),
          "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()
                                     if k != "torch"),
          ("- method: each row once, end to end, on the same inputs; Beam rows include "
           "pipeline start, reading and writing; the exports are made beforehand (not "
           "timed); predict() 64 inputs a call. `differ`: Beam predictions not equal (by "
           "key) to in-process predict() of the same export."), ""]
    for name, r in results.items():
        what = "sentences" if name == "ner-bilstm" else "FSDD recordings"
        md += [f"## {name} ({r['examples']:,} {what})", "",
               "| path | seconds | examples/s | dead letters | differ |",
               "|---|---:|---:|---:|---:|"]
        md += [f"| {label} | {num(row['seconds'])} | {num(row.get('examples/s', '-'))} | "
               f"{row.get('dead letters', '-')} | {row.get('differ', '-')} |"
               for label, row in r["rows"].items()]
        md.append("")
    (RESULTS / f"{stem}.md").write_text("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
