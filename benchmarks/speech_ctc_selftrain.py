"""speech-ctc self-trained on a speaker it never heard, from his audio alone
(`zoo_pipelines.speech.evaluate.self_trained`): each leave-one-speaker-out run transcribes
the held-out FSDD speaker's recordings adapted to him, is fine-tuned on the surer half of
each digit it transcribed with its training folder rehearsed, and is scored again, two ways:

- his test audio: all 500 recordings self-trained on and scored (beside "adapted from his
  test audio", the same base run);
- a half: self-trained on 250 (drawn with seed 0), scored on the other 250 (beside the
  base run adapted from the same 250).

His transcripts are used only to score. The runs are bundles of `zoo train speech-ctc
--data runs/speech/fsdd+synth-noNAME ...` (docs/models/speech-ctc.md, "Per-speaker
adaptation"); each fine-tune rehearses that folder (never the full FSDD, which holds him)
and chooses its epoch on that folder's valid split (the other speakers' recordings 0-4).

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.speech_ctc_selftrain \\
        george=runs/speech/share50-nogeorge nicolas=runs/speech/share50-nonicolas

The runs may be speech-ctc-stream's (no speaker_norm): its "adapted" columns are then the
run as trained, and self-training skips the adaptation.

Writes benchmarks/results/speech_ctc_selftrain.md (and .json); each fine-tune's bundle
goes to runs/speech/selftrain-RUN-{all,half}, RUN the base run's folder name (with
`-unbalanced` after it for `--no-balanced`, stop 62's setting: the surer half of all
transcripts, not of each digit; `-Nrounds` for `--rounds N`).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.speech_ctc_adapt import held_out, write_table
from zoo_pipelines.speech import data as D
from zoo_pipelines.speech import evaluate as E

WAYS = ("adapted from his test audio", "self-trained on his test audio",
        "adapted from a half, scored on the other", "self-trained on a half, scored on the other")
# --connected: self-trained on the connected-digit strings evaluate() joins from his recordings
STRING_WAYS = ("adapted from his test audio", "self-trained on his connected strings")


def brief(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("digit_accuracy", "connected_wer")}


def scores(run, held: list[dict], folder: Path, name: str, balanced: bool = True,
           rounds: int = 1, connected: bool = False, keep: float = 0.5,
           teacher=lambda protocol: None) -> dict:
    """The four columns of WAYS (with `connected`, the two of STRING_WAYS) for one held-out
    speaker, and each fine-tune's selection score; the fine-tunes go to
    runs/speech/selftrain-NAME-... (`name`: the base run's). `teacher(protocol)`: the path
    of the bundle that writes the labels of "all", "half" or "strings", or None."""
    from zoo import load

    valid = D.read_split(folder, "valid")
    order = np.random.default_rng(0).permutation(len(held))
    half, rest = [held[i] for i in order[:len(held) // 2]], [held[i] for i in order[len(held) // 2:]]

    # A model without speaker_norm (speech-ctc-stream) has nothing to adapt: its "adapted"
    # columns are the model as trained.
    out = {WAYS[0]: brief(E.evaluate(E.heard_by(run, held), held))}
    if connected:
        fine_tunes = [(STRING_WAYS[1], D.connected_strings(held, run.preprocessor["sample_rate"]),
                       held, "strings")]
    else:
        out[WAYS[2]] = brief(E.evaluate(E.heard_by(run, half), rest))
        fine_tunes = [(WAYS[1], held, held, "all"), (WAYS[3], half, rest, "half")]
    for way, pool, scored, protocol in fine_tunes:
        taught_by = teacher(protocol)
        tag = protocol + ("" if balanced else "-unbalanced")
        tag += (f"-{rounds}rounds" if rounds > 1 else "") + (f"-keep{keep:g}" if keep != 0.5 else "")
        tag += "" if taught_by is None else f"-taught-by-{Path(taught_by).name}"
        tuned = E.self_trained(run, pool, rehearse=str(folder), validation=valid,
                               balanced=balanced, rounds=rounds, keep=keep,
                               teacher=taught_by and load(taught_by),
                               out=f"runs/speech/selftrain-{name}-{tag}")
        out[way] = brief(E.evaluate(tuned, scored))
        out[way]["selection_digit_accuracy"] = tuned.metrics["valid"]["digit_accuracy"]
    return out


def main(argv=None):
    import zoo

    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", metavar="SPEAKER=BUNDLE")
    ap.add_argument("--balanced", action=argparse.BooleanOptionalAction, default=True,
                    help="keep the surer half of each transcribed digit (the default), or with "
                         "--no-balanced of all transcripts (stop 62's setting)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="transcribe and fine-tune this many times")
    ap.add_argument("--keep", type=float, default=0.5,
                    help="the share of transcripts kept as labels (of each digit with --balanced)")
    ap.add_argument("--connected", action="store_true",
                    help="self-train on the connected-digit strings joined from his recordings "
                         "(each recording once, as evaluate() joins them), scored on his "
                         "recordings")
    ap.add_argument("--teacher", metavar="BUNDLE_PATTERN",
                    help="label with another run, adapted where it can be: a bundle path with "
                         "{speaker} for the held-out speaker and {protocol} for all, half or "
                         "strings, e.g. runs/speech/share50-no{speaker}")
    ap.add_argument("--out", default="benchmarks/results/speech_ctc_selftrain.md")
    args = ap.parse_args(argv)
    from zoo.errors import InputError
    from zoo.options import check_int, check_number

    # checked before the first speaker's minutes of work (self_trained checks them later)
    check_int(args.rounds, "--rounds", 1)
    check_number(args.keep, "--keep", above=0, high=1)
    try:
        if args.teacher:
            args.teacher.format(speaker="s", protocol="all")
    except (KeyError, IndexError, ValueError) as e:
        raise InputError(f"--teacher {args.teacher!r}: {type(e).__name__} {e}; expected a "
                         f"bundle path with {{speaker}} and {{protocol}} only") from None
    table, plain = {}, []
    for speaker, path, held in held_out(args.runs):
        folder, run = Path(f"runs/speech/fsdd+synth-no{speaker}"), zoo.load(path)
        if not run.preprocessor.get("speaker_norm"):
            plain.append(speaker)
        def teacher(protocol, speaker=speaker):
            return args.teacher and args.teacher.format(speaker=speaker, protocol=protocol)

        table[speaker] = {"run": path, **scores(run, held, folder, Path(path).name,
                                                args.balanced, args.rounds, args.connected,
                                                args.keep, teacher)}
        print(json.dumps({speaker: table[speaker]}), flush=True)
    share = "half" if args.keep == 0.5 else f"{args.keep:g}"
    kept = "of each transcribed text" if args.balanced else "of all transcripts (--no-balanced)"
    intro = (__doc__.split("\n\n")[1].strip() + f"\n- labels: the surer {share} {kept}; "
             f"rounds: {args.rounds}.")
    if plain:
        intro += (f"\n- no speaker_norm in the runs for {', '.join(plain)}: their \"adapted\" "
                  f"columns are the run as trained.")
    if args.teacher:
        intro += f"\n- labels written by the teacher {args.teacher} (round 1)."
    if args.connected:
        intro += "\n- --connected: self-trained on his connected strings, not his recordings."
    write_table(args.out, "speech-ctc self-trained on a speaker it never heard", intro, table,
                list(STRING_WAYS if args.connected else WAYS))


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
