"""caption-cnn-lstm on emoji it has never seen, and on an art style it was never trained on
(issue 17): one table from finished `zoo train` and `zoo fine-tune` runs, each row one run.

Splits (zoo_pipelines/captioning/data.py): train is the emoji corpus' train split without
the report split; valid (580 images of 170 base emoji never trained on) is the selection
split: it chose each run's epoch and, across rows, the shipped recipe; report is one base
emoji in ten of the train split (CRC-32 of its code points, both art styles: 584 images of
163 emoji), on which nothing is chosen. Every BLEU-4 is NLTK corpus BLEU of greedy captions, with the
nearest-neighbour baseline of the same run in brackets (the caption of the closest
training image by the run's own encoder features, over the styles it was trained on).

Cross-style rows (`--hparam styles=google`) train on one art style and choose their epoch
on that style's valid images; the other style's columns are then images of a style never
trained on: of unseen emoji (valid, report) and of the emoji it was trained on in the
other style (`other style, seen emoji`: the train split drawn in the other style, which
this script measures and keeps in the run's folder as cross_style.json).

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_generalize [--record]
    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.caption_generalize \
        --out benchmarks/results/caption_generalize-flat.md "runs/captioning/x=what it changes"

writes benchmarks/results/caption_generalize.md (the RUNS below) or, given runs, the
table of those runs to --out; `--record` also puts the table into the shipped bundle's
metrics.json (`studies.generalize`) and card. The runs of the 16-epoch
recipe shipped before (stroke_blur among them) are in caption_generalize-16epochs.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from zoo.bundle import write_whole

RESULTS = Path(__file__).parent / "results" / "caption_generalize.md"
# run folder -> what it changes over the shipped command's recipe (30 epochs a run)
RUNS = {"runs/captioning/soup": "a greedy soup of four 10-epoch continuations of the recipe "
                                 "(plain seeds 1-3, distilled seed 1; shipped)",
        "runs/captioning/ft-s2": "the recipe, then 10 epochs more through `zoo fine-tune`, "
                                  "seed 2 (shipped briefly before the soup)",
        "runs/captioning/ft-s1": "the same continuation, seed 1 (shipped 2026-12-04)",
        "runs/captioning/ft-s0": "the same continuation, seed 0",
        "runs/captioning/ft-s3": "the same continuation, seed 3",
        "runs/captioning/ls01": "the recipe (both styles; label_smoothing 0.1; the bundle before)",
        "runs/captioning/e30": "label_smoothing 0 (the 30-epoch bundle before)",
        "runs/captioning/cross-google-30": "styles=google (cross-style: Noto only; "
                                           "label_smoothing 0)"}
STYLES = ("google", "twitter")


def cross_style(run: Path) -> dict | None:
    """BLEU-4 (and NN) on the train split drawn in the styles the run was not trained on."""
    import zoo
    from zoo.data import data_root, read_split
    from zoo_pipelines.captioning import evaluate as E
    from zoo_pipelines.captioning.data import style_of

    store = run / "cross_style.json"
    if store.exists():
        return json.loads(store.read_text())
    zm = zoo.load(str(run))
    own = zm.preprocessor.get("styles")
    if not own:
        return None
    train = read_split(zm.entry, data_root() / zm.entry.default_data, "train")
    other = [e for e in train if style_of(e) not in own]
    m = E.evaluate(zm, other, compare_beam=None)
    out = {k: m[k] for k in ("bleu4", "nn_bleu4", "exact_match", "nn_exact_match", "images")}
    write_whole(store, json.dumps(out, indent=1))     # a cut-short cache: JSONDecodeError
    return out


def row(where: str, label: str) -> dict | None:
    run = Path(where)
    if not (run / "metrics.json").exists():
        return None
    m = json.loads((run / "metrics.json").read_text())
    states = run / "train" / "train_state.json"
    state = json.loads(states.read_text()) if states.exists() else None     # a soup has none
    r = {"run": label, "trained on": m["hparams"].get("styles") or "both styles",
         "epoch": f"{state['best_epoch']} of {len(state['history'])}" if state else "—",
         "valid (selection)": _cell(m["valid"])}
    for split in ("valid", "report"):
        for s in STYLES:
            r[f"{split} {s}"] = _cell(m[split]["by_folder"][s])
    r["report"] = _cell(m["report"])
    seen = cross_style(run)
    r["other style, seen emoji"] = _cell(seen) if seen else "—"
    return r


def _cell(m: dict) -> str:
    return f"{m['bleu4']:.4f} ({m['nn_bleu4']:.4f})"


def table(rows: list[dict]) -> str:
    cols = list(rows[0])
    return "\n".join([f"| {' | '.join(cols)} |", "|---" * len(cols) + "|",
                      *[f"| {' | '.join(str(r[c]) for c in cols)} |" for r in rows]])


NOTE = ("Greedy BLEU-4 with the nearest-neighbour baseline of the same run in brackets. "
        "valid (580 images of 170 unseen emoji) is the selection split: it chose each "
        "run's epoch (a cross-style run: on its own style's valid images only) and the "
        "shipped row; report (584 images of 163 base emoji, one in ten, carved from train by "
        "CRC-32, never trained on) chose nothing. A cross-style run's other-style columns "
        "are a style it never saw; `other style, seen emoji` is the train split drawn in "
        "that style. ")
RUNS_NOTE = ("Every run: 30 epochs of the shipped command, one seed (the 16-epoch runs of the "
             "bundle before, stroke_blur among them: "
             "benchmarks/results/caption_generalize-16epochs.md).")


def main(argv=None):
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="*", help="RUN=LABEL (default: the RUNS of the card's study)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--record", action="store_true",
                    help="write the table into the shipped bundle's metrics.json and card")
    args = ap.parse_args(argv)
    bad = [r for r in args.runs if "=" not in r]
    if bad:
        ap.error(f"{bad[0]!r}: expected RUN=LABEL (a run folder and its row's label)")
    runs = dict(r.split("=", 1) for r in args.runs) if args.runs else RUNS
    rows = [r for r in (row(w, label) for w, label in runs.items()) if r]
    if not rows:        # a checkout has none of the runs (table() failed with an IndexError)
        from zoo.errors import InputError

        raise InputError(f"no run folder with a metrics.json among {', '.join(runs)}; expected "
                         f"the study's runs (RUN=LABEL names others)")
    note = NOTE + ("One seed a run, its epochs as labelled." if args.runs else RUNS_NOTE)
    args.out.write_text(f"# caption-cnn-lstm on unseen emoji and an unseen art style\n\n"
                        f"{__doc__}\n\n{note}\n\n{table(rows)}\n")
    print(table(rows))
    if args.record:
        import zoo

        from .caption_retrieval import VALID_CHOSE

        m = zoo.load("caption-cnn-lstm")
        m.metrics["splits"]["valid"]["chose"] = VALID_CHOSE
        m.metrics.setdefault("studies", {})["generalize"] = {
            "title": "Unseen emoji and an unseen art style (issue 17)", "note": note,
            "command": "python -m benchmarks.caption_generalize --record", "rows": rows}
        m.write_card(m.entry.bundle_path)


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
