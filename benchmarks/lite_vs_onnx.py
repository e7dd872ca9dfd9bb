"""Why TFLite is slower than ONNX Runtime on some exports: the operators each runtime runs.

For every shipped model, exports TFLite (float32) and ONNX into a temporary folder and
counts the operators of each: TFLite's per subgraph, where a WHILE loop's body and
condition run once per time step, and ONNX's nodes, where tf2onnx rewrites a Keras LSTM or
GRU loop into one fused `LSTM`/`GRU` node (one kernel call for the whole sequence). Trains
nothing; the latencies themselves are in each model's benchmark (benchmarks/results/).

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.lite_vs_onnx [NAME ...]

writes benchmarks/results/lite_vs_onnx.md (about a minute a model: every export is
parity-checked as always).
"""
from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "lite_vs_onnx.md"
FUSED = {"LSTM", "GRU", "RNN", "Loop", "Scan"}


def lite_ops(path: Path) -> list[tuple[str, collections.Counter]]:
    """(subgraph name, operator counts) for every subgraph of a .tflite file."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(str(path))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    # Codes over 127 live in builtinCode; the old int8 field keeps 127 for them.
    code = [names[max(c.builtinCode, c.deprecatedBuiltinCode)] for c in model.operatorCodes]
    return [(sg.name.decode(), collections.Counter(code[op.opcodeIndex] for op in sg.operators))
            for sg in model.subgraphs]


def onnx_ops(path: Path) -> collections.Counter:
    import onnx

    return collections.Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def describe(name: str, folder: Path) -> dict:
    """Operator counts of `name`'s exports, summed over their files (a model exported as
    several functions, e.g. an encoder and a decoder step, writes one ONNX file each)."""
    import zoo

    m = zoo.load(name)
    m.export(folder / "model.tflite")
    m.export(folder / "model.onnx")
    graphs = [g for f in sorted(folder.glob("model*.tflite")) for g in lite_ops(f)]
    # A loop's subgraphs are named after it ("..._cond", "..._body"); the rest run once.
    loops = collections.defaultdict(int)
    once = 0
    for sg, ops in graphs:
        if sg.endswith(("_body", "_cond")):
            loops[sg.rsplit("_", 1)[0]] += sum(ops.values())
        else:
            once += sum(ops.values())
    nodes = sum((onnx_ops(f) for f in sorted(folder.glob("model*.onnx"))), collections.Counter())
    return {"model": name, "lite_once": once, "lite_loops": sorted(loops.values(), reverse=True),
            "lite_fused": sorted({op for _, ops in graphs for op in ops if "SEQUENCE" in op}),
            "onnx_nodes": sum(nodes.values()),
            "onnx_fused": sorted(f"{op} × {nodes[op]}" for op in nodes if op in FUSED)}


def loops(sizes: list[int]) -> str:
    """'16 × 33': sixteen loops (one a signature and direction) of 33 operators a step."""
    return ", ".join(f"{n} × {k}" for k, n in collections.Counter(sizes).items()) or "—"


def table(rows: list[dict]) -> str:
    out = ["| model | TFLite ops run once | TFLite WHILE loops × ops a time step | TFLite fused "
           "sequence ops | ONNX nodes | ONNX recurrent nodes (LSTM, GRU: fused; Loop, Scan: generic) |",
           "|---|---:|---|---|---:|---|"]
    for r in rows:
        out.append(f"| {r['model']} | {r['lite_once']} | {loops(r['lite_loops'])} | "
                   f"{', '.join(r['lite_fused']) or '—'} | {r['onnx_nodes']} | "
                   f"{', '.join(r['onnx_fused']) or '—'} |")
    return "\n".join(out)


def main(argv=None):
    import zoo

    shipped = [n for n in zoo.list_models() if zoo.registry.get(n).shipped]
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", default=shipped)
    args = ap.parse_args(argv)
    from .harness import check_models

    check_models(args.names)
    rows = []
    for name in args.names:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(describe(name, Path(tmp)))
        print(table(rows[-1:]), flush=True)
    RESULTS.write_text(f"# TFLite and ONNX operators of each export\n\n{__doc__}\n\n{table(rows)}\n")


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
