"""speech-ctc adapted to a new speaker from his audio alone (`speaker_norm`): each
leave-one-speaker-out run scored on the FSDD speaker it never heard, three ways:

- not adapted: his features normalised with the training speakers' average band means;
- adapted from 20 of his recordings (drawn with seed 0; audio only, no transcripts), scored
  on his other 480: what a user with a few recordings of a new voice gets;
- adapted from his own test audio (`evaluate()`: up to 60 of the 500 it scores);
- the last two again with vocal tract length normalisation (`adapted(..., warps=VTLN_WARPS)`:
  the mel filters' warp, 0.88-1.12, whose transcripts of the adaptation audio are surest).

Trains nothing. The runs are bundles of `zoo train speech-ctc --data
runs/speech/fsdd+synth-noNAME --hparam speaker_norm=true ...` (docs/models/speech-ctc.md, "Per-speaker adaptation").

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.speech_ctc_adapt \\
        george=runs/speech/spknorm-nogeorge jackson=runs/speech/spknorm-nojackson

Writes benchmarks/results/speech_ctc_adapt.md (and .json). `--official BUNDLE` instead
prints a full run's FSDD 0-4 and 5-9 numbers, adapted per speaker and not.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from zoo.data import data_root
from zoo.errors import InputError
from zoo_pipelines.speech import data as D
from zoo_pipelines.speech import evaluate as E

FEW = 20


def scores(run, held: list[dict]) -> dict:
    """Digit accuracy / connected WER of `run` on one speaker's recordings, three ways."""
    rng = np.random.default_rng(0)
    order = rng.permutation(len(held))
    few, rest = [held[i] for i in order[:FEW]], [held[i] for i in order[FEW:]]
    few_name = f"adapted from {FEW} (scored on the other {len(rest)})"
    out = {"not adapted": E.evaluate(E.unadapted(run), held),
           few_name: E.evaluate(E.adapted(run, few), rest),
           "adapted from his test audio": E.evaluate(E.adapted(run, held), held),
           few_name + ", VTLN": E.evaluate(E.adapted(run, few, E.VTLN_WARPS), rest),
           "adapted from his test audio, VTLN": E.evaluate(E.adapted(run, held, E.VTLN_WARPS), held)}
    return {k: {"digit_accuracy": v["digit_accuracy"], "connected_wer": v["connected_wer"]}
            for k, v in out.items()}


def official(bundle: str, data: str = "runs/speech/fsdd+synth") -> dict:
    """FSDD's official recordings 0-4 (selection) and 5-9 (report) of the training folder
    `data`, adapted to each speaker (evaluate(), as training measured them) and as
    predict() gives them with no adaptation."""
    import zoo

    run = zoo.load(bundle)
    plain = E.unadapted(run)
    out = {}
    for split in ("valid", "report"):
        examples = [e for e in D.read_split(Path(data), split) if "digit" in e]
        for way, m in (("adapted", run), ("not adapted", plain)):
            r = E.evaluate(m, examples)
            out[f"{split} {way}"] = {"digit_accuracy": r["digit_accuracy"],
                                     "connected_wer": r["connected_wer"]}
    return out


def held_out(items: list[str]) -> list[tuple]:
    """(speaker, bundle path, all his FSDD recordings) for each SPEAKER=BUNDLE argument,
    every one checked (its bundle too) before the first is measured: a typo in the last
    was found only after the others' minutes of work."""
    from .harness import check_models

    if not items:       # `next(iter({}))` failed with a raw StopIteration
        raise InputError("no runs; expected SPEAKER=BUNDLE arguments, e.g. "
                         "george=runs/speech/spknorm-nogeorge")
    fsdd = D.read(data_root() / "fsdd")
    out = []
    for item in items:
        speaker, _, path = item.partition("=")
        held = [e for e in fsdd if e["speaker"] == speaker]
        if not held or not path:
            raise InputError(f"{item!r}: expected SPEAKER=BUNDLE with an FSDD speaker")
        out.append((speaker, path, held))
    check_models([path for _, path, _ in out])
    return out


def write_table(out: str, title: str, intro: str, table: dict, ways: list[str],
                run: str = "run", describe=lambda r: r["run"]) -> None:
    """`table` (speaker -> {"run": ..., way: {digit_accuracy, connected_wer}, ...}) as a
    markdown table with a mean row, at `out` (and its .json beside it); the second column,
    headed `run`, holds `describe(row)`."""
    lines = [f"# {title}", "", intro, "",
             f"| held-out speaker | {run} | "
             + " | ".join(f"{w}: digit acc. / connected WER" for w in ways) + " |",
             "|---|---|" + "---:|" * len(ways)]
    for s, r in table.items():
        lines.append(f"| {s} | {describe(r)} | " + " | ".join(
            f"{r[w]['digit_accuracy']:.3f} / {r[w]['connected_wer']:.3f}" for w in ways) + " |")
    lines.append(f"| mean of {len(table)} | | " + " | ".join(
        f"{np.mean([r[w]['digit_accuracy'] for r in table.values()]):.3f} / "
        f"{np.mean([r[w]['connected_wer'] for r in table.values()]):.3f}" for w in ways) + " |")
    Path(out).write_text("\n".join(lines) + "\n")
    Path(out).with_suffix(".json").write_text(json.dumps(table, indent=1))
    print("\n".join(lines))


def main(argv=None):
    import zoo
    from zoo.training import read_state

    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="*", metavar="SPEAKER=BUNDLE")
    ap.add_argument("--out", default="benchmarks/results/speech_ctc_adapt.md")
    ap.add_argument("--official", metavar="BUNDLE",
                    help="instead: FSDD 0-4 and 5-9 of a full run, adapted and not (prints JSON)")
    args = ap.parse_args(argv)
    if args.official:
        print(json.dumps(official(args.official), indent=1))
        return
    table = {}
    for speaker, path, held in held_out(args.runs):
        state = read_state(Path(path) / "train")
        sel = next(h for h in state["history"] if h["epoch"] == state["best_epoch"])["val_wer"]
        table[speaker] = {"run": path, "best_epoch": state["best_epoch"], "selection_wer": sel,
                          **scores(zoo.load(path), held)}
        print(json.dumps({speaker: table[speaker]}), flush=True)
    ways = [k for k, v in next(iter(table.values())).items() if isinstance(v, dict)]
    write_table(args.out, "speech-ctc adapted to a speaker it never heard (speaker_norm)",
                __doc__.split("\n\n")[1].strip(), table, ways,
                run="run (best epoch; selection WER)",
                describe=lambda r: f"{r['run']} ({r['best_epoch']}; {r['selection_wer']:.3f})")


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
