"""Load test of `zoo serve` on 127.0.0.1: 1, 4 and 16 concurrent clients, each sending one
input per request back to back (closed loop), against servers with micro-batching (max
wait 0 and 5 ms) and one without (`--max-batch 1`), for ner-bilstm (one sentence a
request; Keras, and its TFLite export through zoo.runtime) and speech-ctc (one FSDD
recording a request, a base64 WAV); beside in-process predict() in this process, one
input a call and 32 a call, as the limit.

Every answer is checked against single-threaded in-process predict() of the same input:
the report counts requests without an answer, non-200 answers and answers that differ
(all must be 0). Bounded: each cell runs `--seconds` (default 4) after a half-second
warm-up, or `--max-requests`, whichever comes first (about 3 minutes in all).

    python -m benchmarks.serve_load            # results/serve_load.md and .json
    python -m benchmarks.serve_load --quick    # 1.5 s a cell: results/serve_load-quick.*

The load generator is a minimal asyncio HTTP/1.1 client (keep-alive, one connection per
client) so that it takes as little of the shared CPU as it can; it still runs on the
same cores as the server, so the numbers are those of a server and its clients on one
small machine.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from benchmarks.harness import RESULTS, machine, num, versions

REPO = Path(__file__).resolve().parent.parent
# Served name -> the registered model whose inputs it takes; "-tflite": its TFLite export
# (float32, exported here), served through zoo.runtime.
MODELS = {"ner-bilstm": "ner-bilstm", "ner-bilstm-tflite": "ner-bilstm", "speech-ctc": "speech-ctc"}
CLIENTS = (1, 4, 16)
SERVERS = {  # label -> (zoo serve flags, served names)
    "batching, wait 0 ms": (["--max-batch", "32", "--max-wait-ms", "0"], list(MODELS)),
    "batching, wait 5 ms": (["--max-batch", "32", "--max-wait-ms", "5"], ["ner-bilstm", "speech-ctc"]),
    "no batching": (["--max-batch", "1", "--max-wait-ms", "0"], list(MODELS)),
}
GOAL = "≥ 500 NER sentences/s at p99 ≤ 50 ms with 16 clients"


# ---- inputs and the in-process reference ------------------------------------------------------
def inputs(name: str, data: Path, n: int = 48) -> list:
    """(JSON instance, raw predict() input) pairs of real examples."""
    if name == "ner-bilstm":
        from zoo_pipelines.ner.data import read

        sentences = [" ".join(e["tokens"]) for e in read(data / "conll2003" / "valid.txt")]
        return [(s, s) for s in sentences[:n]]
    files = sorted((data / "fsdd" / "recordings").glob("*.wav"))[::50][:n]
    return [({"b64": base64.b64encode(f.read_bytes()).decode()}, f.read_bytes()) for f in files]


def in_process(model, raws: list, seconds: float) -> tuple[list, dict]:
    """The reference answers (one input a call), and predict()'s own speed."""
    from zoo.webio import to_json

    expected = [to_json(model.predict([raw]))[0] for raw in raws]
    lat, t0 = [], time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        raw = raws[len(lat) % len(raws)]
        t = time.perf_counter()
        model.predict([raw])
        lat.append(time.perf_counter() - t)
    one = {"inputs/s": len(lat) / (time.perf_counter() - t0), **percentiles(lat)}
    batch, n, t0 = (raws * 32)[:32], 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        model.predict(batch)
        n += 1
    many = {"inputs/s": 32 * n / (time.perf_counter() - t0), "p50": None, "p99": None}
    return expected, {"predict(), 1 input a call": one, "predict(), 32 inputs a call": many}


def percentiles(seconds: list) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


# ---- the server and the clients ----------------------------------------------------------------
def start(flags: list[str], names: list[str], specs: dict, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.Popen([sys.executable, "-m", "zoo.serve", *(specs[n] for n in names),
                             *flags, "--port", "0"], cwd=REPO, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def wait_ready(proc, names: list[str], log: Path, timeout: float = 300) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text()
        if proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{text}")
        if all(f"{n} ready" in text for n in names):
            return int(text.split("http://127.0.0.1:")[1].split("/")[0])
        time.sleep(0.5)
    raise RuntimeError(f"server not ready in {timeout} s:\n{log.read_text()}")


class Connection:
    """One keep-alive HTTP/1.1 connection: post() -> (status, body)."""

    async def open(self, port: int) -> "Connection":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        return self

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                          f"application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        return int(head.split(b" ", 2)[1]), await self.reader.readexactly(length)

    def close(self):
        self.writer.close()


async def clients(port: int, path: str, bodies: list[bytes], n: int, seconds: float,
                  max_requests: int) -> tuple[list, list, float]:
    """`n` clients, each posting bodies back to back; (latencies, (input, status, body)
    of every request, elapsed seconds)."""
    conns = [await Connection().open(port) for _ in range(n)]
    latencies, answers, sent = [], [], [0]
    stop = time.perf_counter() + seconds

    async def client(conn):
        while time.perf_counter() < stop and sent[0] < max_requests:
            k = sent[0] % len(bodies)
            sent[0] += 1
            t = time.perf_counter()
            try:
                status, data = await conn.post(path, bodies[k])
            except (OSError, asyncio.IncompleteReadError) as e:
                status, data = None, repr(e).encode()
            latencies.append(time.perf_counter() - t)
            answers.append((k, status, data))

    t0 = time.perf_counter()
    await asyncio.gather(*(client(c) for c in conns))
    elapsed = time.perf_counter() - t0
    for c in conns:
        c.close()
    return latencies, answers, elapsed


def batch_sizes(port: int) -> dict:
    """Per model: (instances, predict calls) so far, from the server's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    import httpx

    out = {}
    for family in text_string_to_metric_families(httpx.get(f"http://127.0.0.1:{port}/metrics").text):
        for s in family.samples:
            if s.name in ("zoo_batch_instances_sum", "zoo_batch_instances_count"):
                out.setdefault(s.labels["model"], [0, 0])[s.name.endswith("count")] = s.value
    return out


def cell(port: int, name: str, bodies: list[bytes], expected: list, n: int, seconds: float,
         max_requests: int) -> dict:
    path = f"/v1/models/{name}:predict"
    asyncio.run(clients(port, path, bodies, n, 0.5, max_requests))          # warm-up
    before = batch_sizes(port).get(name, [0, 0])
    lat, answers, elapsed = asyncio.run(clients(port, path, bodies, n, seconds, max_requests))
    after = batch_sizes(port).get(name, [0, 0])
    errors = sum(status != 200 for _, status, _ in answers)
    differ = sum(status == 200 and json.loads(data)["predictions"][0] != expected[k]
                 for k, status, data in answers)
    calls = after[1] - before[1]
    return {"clients": n, "requests": len(answers), "inputs/s": len(answers) / elapsed,
            **percentiles(lat), "mean batch": (after[0] - before[0]) / calls if calls else None,
            "errors": errors, "differ": differ}


# ---- the report --------------------------------------------------------------------------------
def render(r: dict) -> str:
    lines = ["# `zoo serve` load test", "",
             f"- date: {r['date']}",
             f"- machine: {r['machine']['cpu']}, nproc {r['machine']['nproc']}; load average "
             f"{r['load'][0]:.2f} at start, {r['load'][1]:.2f} at end. {r['note']}",
             "- versions: " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()
                                          if v != "not installed"),
             f"- method: {r['method']}", "",
             f"Goal: {GOAL}. {r['verdict']}", ""]
    for name, m in r["models"].items():
        lines += [f"## {name} ({m['unit']} a request)", "",
                  "| server | clients | requests | inputs/s | p50 ms | p99 ms | mean batch | errors | differ |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for server, rows in m["served"].items():
            for c in rows:
                lines.append(f"| {server} | {c['clients']} | {c['requests']:,} | {num(c['inputs/s'])} | "
                             f"{num(c['p50'])} | {num(c['p99'])} | "
                             f"{num(c['mean batch']) if c['mean batch'] else '-'} | {c['errors']} | {c['differ']} |")
        for label, c in m["in_process"].items():
            lines.append(f"| in process: {label} | - | - | {num(c['inputs/s'])} | "
                         f"{num(c['p50']) if c['p50'] else '-'} | {num(c['p99']) if c['p99'] else '-'} | - | - | - |")
        lines.append("")
    lines += ["`errors`: requests without a 200 answer; `differ`: answers not equal to "
              "single-threaded in-process predict() of the same input. `mean batch`: "
              "instances per predict() call in the server, from its /metrics.", "",
              "Micro-batching at 16 clients against none: " + "; ".join(
                  f"{name} {gain(m):.1f}x the requests/s" for name, m in r["models"].items())
              + ". The server's own work (HTTP parsing, JSON, one event loop) runs "
              "on the same cores as the model and the clients.", ""]
    return "\n".join(lines)


def gain(m: dict) -> float:
    """Best micro-batched requests/s at 16 clients over unbatched."""
    at16 = {label: next(c["inputs/s"] for c in rows if c["clients"] == 16)
            for label, rows in m["served"].items()}
    return max(v for k, v in at16.items() if k != "no batching") / at16["no batching"]


def verdict(r: dict) -> str:
    ner = {n: m for n, m in r["models"].items() if n.startswith("ner-bilstm")}
    best_name, best = max(((n, c) for n, m in ner.items() for rows in m["served"].values()
                           for c in rows if c["clients"] == 16), key=lambda nc: nc[1]["inputs/s"])
    met = best["inputs/s"] >= 500 and best["p99"] <= 50
    limits = "; ".join(f"{n} {m['in_process']['predict(), 32 inputs a call']['inputs/s']:.0f} "
                       f"(32 a call) and {m['in_process']['predict(), 1 input a call']['inputs/s']:.0f}"
                       f" (1 a call)" for n, m in ner.items())
    return (f"{'Met' if met else 'Not met'}: the best with 16 clients is {best_name}, "
            f"{best['inputs/s']:.0f} sentences/s at p99 {best['p99']:.1f} ms. "
            + ("" if met else "The measured reason: the CPU. On the same cores, in-process "
               f"predict() with no HTTP at all runs {limits} sentences/s, below the goal "
               f"before a byte is served."))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.serve_load", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1.5 s a cell, written to *-quick.*")
    p.add_argument("--seconds", type=float, default=4.0, help="measured seconds a cell")
    p.add_argument("--max-requests", type=int, default=20_000, help="most requests a cell")
    p.add_argument("--note", default="", help="a sentence about the machine's other load")
    p.add_argument("--render", action="store_true", help="rewrite the .md from the .json only")
    args = p.parse_args(argv)
    from zoo.options import check_int, check_number

    check_number(args.seconds, "--seconds", above=0, high=600)     # nan, 0 or -1: no cell
    check_int(args.max_requests, "--max-requests", 1)
    if args.render:         # e.g. after the report's wording changed; nothing is re-measured
        stem = RESULTS / ("serve_load-quick" if args.quick else "serve_load")
        report = json.loads(stem.with_suffix(".json").read_text())
        report["verdict"] = verdict(report)
        stem.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
        stem.with_suffix(".md").write_text(render(report))
        return 0
    seconds = 1.5 if args.quick else args.seconds
    data = Path(os.environ.get("ZOO_DATA", REPO.parent / "shared" / "data"))
    logs = Path(tempfile.mkdtemp(prefix="serve_load-"))
    load0 = os.getloadavg()[0]
    report = {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
              "versions": {k: v for k, v in versions().items() if k != "torch"},
              "method": f"closed loop, one connection a client, {seconds:g} s a cell after a "
                        f"0.5 s warm-up (at most {args.max_requests:,} requests); servers "
                        f"`python -m zoo.serve` (uvicorn, one worker)",
              "note": args.note, "models": {}}
    import zoo

    tflite = logs / "ner-bilstm.tflite"
    zoo.load("ner-bilstm").export(tflite)
    specs = {"ner-bilstm": "ner-bilstm", "speech-ctc": "speech-ctc",
             "ner-bilstm-tflite": f"ner-bilstm-tflite={tflite}"}
    servers = {label: start(flags, names, specs, logs / f"{i}.log")
               for i, (label, (flags, names)) in enumerate(SERVERS.items())}
    try:
        # All servers load first (in parallel), so nothing else runs while this measures.
        ports = {label: wait_ready(servers[label], names, logs / f"{i}.log")
                 for i, (label, (_, names)) in enumerate(SERVERS.items())}
        pairs = {name: inputs(name, data) for name in set(MODELS.values())}
        for name, registered in MODELS.items():
            model = zoo.runtime.load(tflite) if name.endswith("-tflite") else zoo.load(name)
            expected, limit = in_process(model, [raw for _, raw in pairs[registered]], seconds)
            report["models"][name] = {"unit": "one sentence" if registered == "ner-bilstm" else
                                      "one FSDD recording", "in_process": limit, "served": {},
                                      "expected": expected}
        for label, port in ports.items():
            for name in SERVERS[label][1]:
                bodies = [json.dumps({"instances": [j]}).encode() for j, _ in pairs[MODELS[name]]]
                m = report["models"][name]
                m["served"][label] = [cell(port, name, bodies, m["expected"], n, seconds,
                                           args.max_requests) for n in CLIENTS]
                print(label, name, [f"{c['inputs/s']:.0f}/s p99 {c['p99']:.0f} ms"
                                    for c in m["served"][label]], flush=True)
            servers[label].terminate()        # an idle server takes no CPU, but memory
    finally:
        for proc in servers.values():
            proc.terminate()
    for m in report["models"].values():
        del m["expected"]
    report["load"] = [load0, os.getloadavg()[0]]
    report["verdict"] = verdict(report)
    stem = "serve_load-quick" if args.quick else "serve_load"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / f"{stem}.md").write_text(render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
