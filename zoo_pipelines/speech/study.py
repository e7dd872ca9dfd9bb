"""The synthetic-voice study of issue 17, measured on the bundles themselves and written
into a bundle's card (metrics.json `studies`, zoo.card.render_studies):

    python -m zoo_pipelines.speech.study zoo_pipelines/saved_models/speech-ctc \\
        --before runs/speech/before/speech-ctc --synth runs/speech/synth \\
        --loso jackson=runs/speech/synth-nojackson

- `before`: the bundle beside another (`--before`: a copy of the one it replaced, or with
  `--label` a run that was not shipped) on FSDD's selection split (official recordings 0-4; chose the epoch), its
  report split (5-9; chose nothing) and the synthetic voices never trained on nor
  chosen with (awb, ked: synth.HOLDOUT). FSDD numbers come from each bundle's
  metrics.json (the evaluator's, at training time); voices are scored here (synth.score);
- `voices`: both bundles on every synthetic voice;
- `loso`: FSDD speakers left out in turn. `--loso SPEAKER=BUNDLE` is a run of the same
  recipe without SPEAKER (synth `--drop-speaker`), scored here on all his recordings;
  rows recorded in either bundle's metrics.json `reports`, and this recipe's rows already
  in its card for a speaker not given here, are shown as they are. A speaker with no run
  says so.
"""
from __future__ import annotations

import argparse
import re
import shlex
import sys
from pathlib import Path

from zoo.errors import InputError, script

from . import data as D
from . import synth as S
from .evaluate import unadapted

NONE = "—"
# The training folder of the synthetic-voice recipe (`zoo train ... --data runs/speech/fsdd+synth`):
# FSDD plus other takes (seed 1) of the six voices that are not held out.
TRAIN_DATA = ("python -m zoo_pipelines.speech.synth --out runs/speech/synth-train --seed 1 "
              "--strings 10 --voices flite-kal,flite-kal16,flite-rms,flite-slt,festival-kal,"
              "festival-slt --mix $ZOO_DATA/fsdd --mix-out runs/speech/fsdd+synth")


def fsdd_row(split: str, new: dict, old: dict, label: str) -> dict:
    pick = lambda m, k: m[k] if m and k in m else NONE  # noqa: E731
    return {"split": split, "digit acc.": pick(new, "digit_accuracy"),
            "connected WER": pick(new, "connected_wer"),
            f"{label}: digit acc.": pick(old, "digit_accuracy"),
            f"{label}: connected WER": pick(old, "connected_wer")}


def recorded(zm, speaker: str) -> list:
    """(run, metrics) of the held-out-speaker runs recorded in a bundle's `reports`."""
    return [(k.split(": ")[-1], r) for k, r in zm.metrics.get("reports", {}).items()
            if re.match(rf"held-out speaker {speaker}\b", k)]


def earlier(zm, speaker: str) -> list[dict]:
    """This recipe's rows for `speaker` that the bundle's card already holds (a run measured
    in an earlier study, whose folder may be gone): kept as they are, not re-measured."""
    rows = zm.metrics.get("studies", {}).get("leave_one_speaker_out", {}).get("rows", [])
    return [r for r in rows if r["held-out speaker"] == speaker and r["recipe"] == "this bundle's"
            and r["digit acc."] != NONE]


def loso_rows(m, before, loso: dict, fsdd: Path, label: str) -> list[dict]:
    import zoo
    from zoo.training import read_state

    examples = D.read(fsdd)
    speakers = sorted({e["speaker"] for e in examples})
    unknown = set(loso) - set(speakers)
    if unknown:
        raise InputError(f"--loso {', '.join(sorted(unknown))}: no such speaker in {fsdd} "
                         f"(expected one of {', '.join(speakers)})")
    rows = []
    for speaker in speakers:
        rows += [{"held-out speaker": speaker, "recipe": recipe, "run": run,
                  "digit acc.": r["digit_accuracy"], "connected WER": r["connected_wer"]}
                 for recipe, zm in ((label, before), ("this bundle's", m))
                 for run, r in recorded(zm, speaker)]
        if speaker not in loso:
            kept = earlier(m, speaker)
            rows += kept
            if not recorded(m, speaker) and not kept:
                rows.append({"held-out speaker": speaker, "recipe": "this bundle's",
                             "run": "not measured yet", "digit acc.": NONE, "connected WER": NONE})
            continue
        run = zoo.load(loso[speaker])
        if run.entry.name != m.entry.name:
            raise InputError(f"{loso[speaker]}: a {run.entry.name} run; expected {m.entry.name}")
        state = read_state(Path(loso[speaker]) / "train")
        r = run.evaluate([e for e in examples if e["speaker"] == speaker])
        differs = ", ".join(f"{k} {v}" for k, v in run.hparams.items()
                            if k != "seed" and m.hparams.get(k) != v)
        rows.append({"held-out speaker": speaker, "recipe": "this bundle's",
                     "run": f"{loso[speaker]} ({differs or 'the same hyper-parameters'}; "
                            f"best epoch {state.get('best_epoch', NONE)})",
                     "digit acc.": r["digit_accuracy"], "connected WER": r["connected_wer"]})
    return rows + mean_row(rows, speakers)


def mean_row(rows: list[dict], speakers: list) -> list[dict]:
    """The issue's measure, once every speaker has a run of this recipe: the mean over the
    speakers (of each speaker's first run)."""
    first = {}
    for r in rows:
        if r["recipe"] == "this bundle's" and r["digit acc."] != NONE:
            first.setdefault(r["held-out speaker"], r)
    if set(first) != set(speakers):
        return []
    mean = lambda k: sum(first[s][k] for s in speakers) / len(speakers)  # noqa: E731
    return [{"held-out speaker": f"mean of the {len(speakers)}", "recipe": "this bundle's",
             "run": "", "digit acc.": mean("digit acc."), "connected WER": mean("connected WER")}]


def study(m, before: str, synth_dir: str, loso: dict, fsdd: Path, command: str,
          label: str = "replaced") -> dict:
    """The three tables (metrics.json `studies`) for the loaded bundle `m`."""
    import zoo

    old = zoo.load(before)
    if old.entry.name != m.entry.name:
        raise InputError(f"--before {before}: a {old.entry.name} bundle; expected {m.entry.name}")
    new_v, old_v = S.score(m, synth_dir), S.score(old, synth_dir)
    held = [v for v in new_v if new_v[v]["held_out"]]
    voices = [{"voice": v, "held out": "yes" if new_v[v]["held_out"] else "no",
               "digit acc.": new_v[v]["digit_accuracy"],
               "connected WER": new_v[v]["connected_wer"],
               "strings exact": new_v[v]["strings_exact"],
               f"{label}: digit acc.": old_v[v]["digit_accuracy"],
               f"{label}: connected WER": old_v[v]["connected_wer"]} for v in new_v]
    trained_on = "".join(f"; {who} trained on it" for who, zm in (("this bundle", m), (label, old))
                         if not zm.metrics.get("report"))
    chose = m.metrics.get("splits", {}).get("valid", {}).get("chose", "the epoch")
    before_rows = [fsdd_row(f"FSDD official 0-4 (selection: chose {chose})", m.metrics["valid"],
                            old.metrics["valid"], label),
                   fsdd_row(f"FSDD 5-9 (report: chose nothing{trained_on})",
                            m.metrics.get("report"), old.metrics.get("report"), label)]
    before_rows += [fsdd_row(f"{v} (synthetic, held out)", new_v[v], old_v[v], label)
                    for v in held]
    if m.preprocessor.get("speaker_norm"):      # the rows above adapt to each speaker
        plain = unadapted(m)
        plain_v = S.score(plain, synth_dir)
        before_rows += [fsdd_row(f"{what}, predict() not adapted", new, None, label)
                        for what, new in (
                            ("FSDD official 0-4", plain.evaluate(D.read_split(fsdd, "valid"))),
                            ("FSDD 5-9", plain.evaluate(D.read_split(fsdd, "report"))),
                            *((f"{v} (synthetic, held out)", plain_v[v]) for v in held))]
    where = f"`{synth_dir}` (synth.py: 100 single digits and 40 connected strings a voice)"
    return {
        "synthetic_voices_before": {
            "title": ("Against the bundle it replaced" if label == "replaced"
                      else f"Against another bundle ({label})"),
            "note": (f"The synthetic-voice recipe's training data: `{TRAIN_DATA}`. This "
                     f"bundle: `{m.metrics.get('command')}`; {label}: "
                     f"`{old.metrics.get('command', before)}`. FSDD numbers are each "
                     f"bundle's own metrics.json; the synthetic voices are scored on {where}. "
                     f"Held-out voices ({', '.join(S.HOLDOUT)}) chose nothing."),
            "command": command, "rows": before_rows},
        "synthetic_voices": {
            "title": "Synthetic voices (flite, festival)",
            "note": (f"Scored on {where}. Voices not held out had other takes (seed 1) in "
                     "the synthetic-voice recipe's training data, so for a model trained on "
                     "it they measure fit, not generalisation; the held-out ones were never "
                     "trained on or chosen with."),
            "command": command, "rows": voices},
        "leave_one_speaker_out": {
            "title": "Leave one FSDD speaker out",
            "note": ("Each run trains a recipe on the other FSDD speakers (and, in the "
                     "synthetic-voice recipe, its six training voices) and is scored on all "
                     "500 recordings of the speaker left out; the epoch is chosen on the other "
                     "speakers' official recordings 0-4. Where a run's hyper-parameters differ "
                     "from this bundle's, the run column says how."),
            "command": command, "rows": loso_rows(m, old, loso, fsdd, label)},
    }


def main(argv=None):
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("bundle", help="the bundle whose card gets the study")
    ap.add_argument("--before", required=True, help="the other bundle: a copy of the one it replaced")
    ap.add_argument("--label", default="replaced", help="what --before is, in the tables")
    ap.add_argument("--synth", required=True, help="synthetic voices (synth.py --out)")
    ap.add_argument("--loso", nargs="*", default=[], metavar="SPEAKER=BUNDLE",
                    help="runs with one FSDD speaker left out")
    ap.add_argument("--fsdd", default=None, help="FSDD folder (default $ZOO_DATA/fsdd)")
    args = ap.parse_args(argv)
    from zoo.data import data_root

    loso = {}
    for item in args.loso:
        if "=" not in item:
            ap.error(f"--loso {item!r}: expected SPEAKER=BUNDLE")
        speaker, path = item.split("=", 1)
        loso[speaker] = path
    fsdd = Path(args.fsdd) if args.fsdd else data_root() / "fsdd"
    command = "python -m zoo_pipelines.speech.study " + " ".join(
        [args.bundle, "--before", args.before, "--synth", args.synth]
        + (["--label", shlex.quote(args.label)] if args.label != "replaced" else [])
        + (["--loso", *args.loso] if args.loso else []))
    import zoo
    from zoo.bundle import resolve
    from zoo.data import existing

    # every path checked before the minutes of scoring: a typo failed after them, and a
    # registered name was written to as a folder of that name in the current one
    folder = resolve(args.bundle)
    for other in (args.before, *loso.values()):
        resolve(other)
    existing(Path(args.synth) / "recipe.json", "file (--synth: a folder synth.py --out wrote)")
    existing(fsdd, "FSDD folder", folder_ok=True)
    m = zoo.load(args.bundle)
    m.metrics.setdefault("studies", {}).update(
        study(m, args.before, args.synth, loso, fsdd, command, args.label))
    m.write_card(folder)
    print(f"{args.bundle}: studies {', '.join(m.metrics['studies'])} written into card.md")


if __name__ == "__main__":
    sys.exit(script(main, "zoo_pipelines.speech.study"))
