"""speech-ctc with its CTC posteriors averaged over mel-filter warps at test time (an
ensemble over vocal-tract lengths: VTLP's warp, 0.90-1.10, applied when transcribing),
on the leave-one-speaker-out runs: each scored on all 500 recordings of the FSDD speaker it
never heard, adapted from his own audio (each warp with its own band means) and not.

Trains nothing. The rule, written before any number: the average over the five warps
becomes a recommended option iff the mean adapted digit accuracy reaches the single
warp's + 0.02 and no speaker loses more than 0.02 (docs/models/speech-ctc.md, "Levers tried: averaging over warps").

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.speech_ctc_warp_average \\
        george=runs/speech/share50-nogeorge jackson=runs/speech/share50-nojackson ...

Writes benchmarks/results/speech_ctc_warp_average.md (and .json).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.speech_ctc_adapt import held_out
from zoo.decoding import ctc_collapse, log_softmax
from zoo_pipelines.speech import evaluate as E
from zoo_pipelines.speech.text import normalize_text

WARPS = (0.90, 0.95, 1.0, 1.05, 1.10)
COLUMNS = {"warp 1.0 (as shipped)": (1.0,), "average of 5 warps (the lever)": WARPS,
           "average of 0.95-1.05": (0.95, 1.0, 1.05), **{f"warp {w}": (w,) for w in WARPS if w != 1.0}}


def posteriors(run, paths: list[str], warp: float, adapt: bool) -> list[np.ndarray]:
    m = (E.adapted(run, paths, (warp,)) if adapt else
         run.with_preprocessor({**run.preprocessor, "speaker_norm": False, "warp": warp}))
    return [np.exp(log_softmax(r["logits"])) for r in m.predict(paths, logits=True, batch_size=64)]


def accuracies(run, held: list[dict], adapt: bool) -> dict:
    paths = [e["audio"] for e in held]
    refs = [normalize_text(e["text"], "digits") for e in held]
    probs = {w: posteriors(run, paths, w, adapt) for w in WARPS}
    tokens = run.preprocessor["tokens"]
    out = {}
    for name, warps in COLUMNS.items():
        hyps = [" ".join(tokens[k - 1] for k in ctc_collapse(
            np.mean([probs[w][i] for w in warps], axis=0).argmax(-1))) for i in range(len(paths))]
        out[name] = float(np.mean([h == r for h, r in zip(hyps, refs)]))
    return out


def main(argv=None):
    import zoo

    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", metavar="SPEAKER=BUNDLE")
    ap.add_argument("--out", default="benchmarks/results/speech_ctc_warp_average.md")
    args = ap.parse_args(argv)
    table = {}
    for speaker, path, held in held_out(args.runs):
        run = zoo.load(path)
        table[speaker] = {way: accuracies(run, held, way == "adapted")
                          for way in ("adapted", "not adapted")}
        print(json.dumps({speaker: table[speaker]}), flush=True)
    lines = ["# speech-ctc: CTC posteriors averaged over test-time mel warps", "",
             __doc__.split("\n\n")[0].strip(), ""]
    for way in ("adapted", "not adapted"):
        lines += [f"| digit accuracy, {way} | " + " | ".join(table) + " | mean |",
                  "|---|" + "---:|" * (len(table) + 1)]
        for col in COLUMNS:
            vals = [table[s][way][col] for s in table]
            lines.append(f"| {col} | " + " | ".join(f"{v:.3f}" for v in vals)
                         + f" | {np.mean(vals):.3f} |")
        lines.append("")
    Path(args.out).write_text("\n".join(lines))
    Path(args.out).with_suffix(".json").write_text(json.dumps(table, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
