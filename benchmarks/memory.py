"""Peak memory (resident set size) of what a user runs, for every shipped application:
`zoo predict NAME --input FILE` on the bundle's parity examples (load, predict, print),
and `zoo train NAME` for one short epoch of the recipe on its default data (read and
preprocess the data, build, train, evaluate the selection and report splits, check every
export, write the bundle). Each command runs in a process of its own, so its peak is its
own: the kernel's `ru_maxrss` of that process and whatever it waited for.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.memory          # every app, minutes
    .venv/bin/python -m benchmarks.memory ner-bilstm --steps 5             # one app

Writes benchmarks/results/memory.md and memory.json (`--out`). Memory does not depend on
the machine's load the way times do; the seconds are beside it only as context.

>>> mib(1536 * 1024)
1536.0
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from .harness import RESULTS, machine, num, versions


def mib(ru_maxrss_kib: int) -> float:
    return ru_maxrss_kib / 1024


def peak(command: list[str]) -> dict:
    """Run `command`; its peak RSS in MiB, wall seconds and exit code (output discarded)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = process.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    out = {"peak_rss_mib": mib(usage.ru_maxrss), "seconds": time.perf_counter() - start, "rc": code}
    if code:
        out["error"] = (stderr.strip().splitlines() or ["(no message)"])[-1]
    return out


def measure(name: str, steps: int, work: Path) -> dict:
    """Both commands for the registered model `name`."""
    import zoo
    from zoo import registry
    from zoo.data import data_root

    entry = registry.get(name)
    examples = zoo.load(name).parity_examples()
    inputs = work / f"{name}.jsonl"
    # One example a line: text as it is, structured inputs as JSON (zoo.cli.example_lines).
    inputs.write_text("".join((e if isinstance(e, str) else json.dumps(e)) + "\n" for e in examples),
                      encoding="utf-8")
    zoo_cli = [sys.executable, "-m", "zoo.cli"]
    print(f"{name}: zoo predict on {len(examples)} examples ...", flush=True)
    predict = peak([*zoo_cli, "predict", name, "--input", str(inputs), "--json"])
    print(f"{name}: zoo train, one epoch of {steps} steps ...", flush=True)
    train = peak([*zoo_cli, "train", name, "--data", str(data_root() / entry.default_data),
                  "--out", str(work / name), "--epochs", "1", "--steps-per-epoch", str(steps),
                  "--seeds", "0"])
    return {"date": now(), "load_start": os.getloadavg()[0], "examples": len(examples),
            "predict": predict, "train": train}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def render(report: dict) -> str:
    lines = ["# Peak memory (RSS) of `zoo predict` and `zoo train`", "",
             f"- date: {report['date']}; command: `{report['command']}` (each row's own date "
             "and load average are in the .json)",
             f"- machine: {report['machine']['cpu']}, nproc {report['machine']['nproc']}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()),
             f"- `zoo predict NAME --input FILE --json` on the bundle's parity examples; "
             f"`zoo train NAME --epochs 1 --steps-per-epoch {report['steps']} --seeds 0` on "
             "its default data (training, evaluation of the selection and report splits, "
             "every export check, the bundle written)", "",
             "| model | examples | predict: peak RSS MiB | predict: s | train: peak RSS MiB | train: s |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, r in report["models"].items():
        p, t = r["predict"], r["train"]
        cells = [f"{num(x['peak_rss_mib'])}" if not x["rc"] else f"failed: {x['error']}"
                 for x in (p, t)]
        lines.append(f"| {name} | {r['examples']} | {cells[0]} | {num(p['seconds'])} | "
                     f"{cells[1]} | {num(t['seconds'])} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory", description=__doc__.split("\n\n")[0])
    p.add_argument("names", nargs="*", help="registered models (default: every shipped one)")
    p.add_argument("--steps", type=int, default=20, help="training steps in the one epoch (20)")
    p.add_argument("--out", type=Path, default=RESULTS / "memory.md")
    args = p.parse_args(argv)
    import zoo
    from zoo.options import check_int

    # checked before any row is measured: a failed row replaced a measured one in the report
    check_int(args.steps, "--steps", 1)
    names = args.names or zoo.list_models()
    for name in names:                  # registered names only: each trains on its own data
        zoo.registry.get(name)
    saved = args.out.with_suffix(".json")
    # Naming models re-measures those rows of an existing report and keeps the others.
    kept = json.loads(saved.read_text())["models"] if args.names and saved.exists() else {}
    report = {"date": now(), "command": " ".join(["python -m benchmarks.memory", *argv]),
              "machine": machine(), "versions": versions(), "steps": args.steps,
              "models": {k: v for k, v in kept.items() if k not in names}}
    with tempfile.TemporaryDirectory(prefix="zoo-memory-") as work:
        for name in names:
            report["models"][name] = measure(name, args.steps, Path(work))
    report["models"] = dict(sorted(report["models"].items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render(report), encoding="utf-8")
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(render(report))
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
