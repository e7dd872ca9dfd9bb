"""Why does speech-ctc miss on an unseen speaker? Per-speaker audio statistics of FSDD, the
confusions of a model trained without one speaker on all of that speaker's recordings, and
the same model on that speaker's audio transformed (louder, sped up or slowed down,
re-tilted), which tells a level, vocal-tract or microphone mismatch apart, and with his
features moved to the training speakers' statistics (speaker CMVN). Trains nothing.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.speech_ctc_speakers \\
        runs/speech/holdout-yweweler --speaker yweweler          # about 3 minutes

The model is a bundle of `zoo train speech-ctc --data FOLDER` where FOLDER holds FSDD
without the speaker (see docs/models/speech-ctc.md, "Speaker independence"). Writes benchmarks/results/speech_ctc_speakers.md.
"""
from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np

from zoo_pipelines.speech import augment as A
from zoo_pipelines.speech import data as D
from zoo_pipelines.speech import features as F
from zoo.data import data_root

RATE = 8000


def speaker_stats(examples: list[dict]) -> list[str]:
    mel = F.mel_matrix(RATE, 40)
    rows, spec = collections.defaultdict(list), collections.defaultdict(list)
    for e in examples:
        w = D.waveform(e, RATE)
        lm = F.log_mel(w, RATE, mel)
        en = lm.mean(1)
        active = np.flatnonzero(en > en.max() - 4.0)        # within ~17 dB of the loudest frame
        rows[e["speaker"]].append([w.size / RATE, (active[-1] - active[0] + 1) * 0.01,
                                   20 * np.log10(np.sqrt(np.mean(w ** 2)) + 1e-9),
                                   (en.max() - np.percentile(en, 10)) * 10 / np.log(10)])
        spec[e["speaker"]].append(lm[active].mean(0))
    out = ["| speaker | seconds | speech seconds | RMS dBFS | peak frame - 10th pct. frame (dB) |",
           "|---|---|---|---|---|"]
    for s, v in rows.items():
        m = np.mean(v, 0)
        out.append(f"| {s} | {m[0]:.2f} | {m[1]:.2f} | {m[2]:.1f} | {m[3]:.1f} |")
    avg = {s: np.mean(v, 0) for s, v in spec.items()}
    mean = np.mean(list(avg.values()), 0)
    centres = F.mel_matrix(RATE, 40).argmax(0) * RATE / 256
    out += ["", ("Long-term speech spectrum (speech frames, log-mel) minus the five speakers' "
                 "mean, dB, every 4th mel band:"), "",
            "| speaker | " + " | ".join(f"{c:.0f} Hz" for c in centres[::4]) + " |",
            "|---|" + "---|" * len(centres[::4])]
    for s, v in avg.items():
        out.append(f"| {s} | " + " | ".join(f"{x * 10 / np.log(10):+.1f}" for x in (v - mean)[::4]) + " |")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("model", help="bundle trained without --speaker")
    ap.add_argument("--speaker", default="yweweler")
    ap.add_argument("--out", default="benchmarks/results/speech_ctc_speakers.md")
    args = ap.parse_args(argv)
    from scipy.signal import lfilter

    from zoo.model import ZooModel

    from .harness import check_models

    check_models([args.model])
    examples = D.read(data_root() / "fsdd" / "recordings")
    speakers = sorted({e["speaker"] for e in examples})
    if args.speaker not in speakers:
        from zoo.errors import InputError

        raise InputError(f"--speaker {args.speaker!r}: not an FSDD speaker; expected one of "
                         f"{', '.join(speakers)}")
    lines = [f"# speech-ctc on an unseen speaker ({args.speaker}): diagnosis", "",
             f"`python -m benchmarks.speech_ctc_speakers {args.model} --speaker {args.speaker}`",
             "", "## FSDD speakers", ""] + speaker_stats(examples)
    m = ZooModel.load(args.model)
    held = [e for e in examples if e["speaker"] == args.speaker]
    waves = [D.waveform(e, RATE) for e in held]

    def transcribe(ws):
        # a probe that would clip (louder, brighter) is scaled back under full scale: the
        # host refuses float samples past 1
        ws = [w / max(1.0, float(np.abs(w).max())) for w in ws]
        return [r["text"] for r in m.predict([{"array": w, "sampling_rate": RATE} for w in ws],
                                             batch_size=64)]

    hyps = transcribe(waves)
    errors = collections.Counter((e["text"], h) for e, h in zip(held, hyps) if h != e["text"])
    lines += ["", f"## Errors of `{args.model}` on {len(held)} recordings of {args.speaker}", "",
              (f"digit accuracy {np.mean([h == e['text'] for e, h in zip(held, hyps)]):.3f}; "
               f"deletions {sum(n for (r, h), n in errors.items() if not h)}, insertions "
               f"{sum(n for (r, h), n in errors.items() if len(h.split()) > 1)}, substitutions "
               f"{sum(n for (r, h), n in errors.items() if len(h.split()) == 1)}"), "",
              "| said | heard | times |", "|---|---|---|"]
    lines += [f"| {r} | {h or '(nothing)'} | {n} |" for (r, h), n in errors.most_common(15)]
    probes = {"as recorded": waves,
              "+14 dB (his level to the others')": [w * 5 for w in waves],
              "RMS normalised to -24 dBFS": [w / np.sqrt(np.mean(w ** 2)) * 0.06 for w in waves]}
    for f in (0.9, 0.95, 1.05, 1.1):
        probes[f"speed x{f} (pitch and formants x{f})"] = [A.speed(w, f) for w in waves]
    probes["pre-emphasis 0.7 (brighter)"] = [lfilter([1, -0.7], [1], w).astype(np.float32) * 3 for w in waves]
    probes["de-emphasis 0.7 (duller)"] = [lfilter([1], [1, -0.7], w).astype(np.float32) for w in waves]
    lines += ["", "## The same model on his audio transformed", "", "| audio | digit accuracy |", "|---|---|"]
    for name, ws in probes.items():
        lines.append(f"| {name} | {np.mean([h == e['text'] for e, h in zip(held, transcribe(ws))]):.3f} |")
    lines += speaker_cmvn(m, held, waves, [e for e in examples if e["speaker"] != args.speaker
                                           and e["index"] >= 10][::4], transcribe)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def speaker_cmvn(m, held: list[dict], waves: list, others: list[dict], transcribe) -> list[str]:
    """Test-time speaker normalisation (no labels): his model features, per mel band, moved to
    the mean and spread of the training speakers' (every 4th of their training recordings),
    with his statistics from all his recordings or from 20 of them."""
    host = m.host()
    plain = host.features

    def stats(ws):
        f = np.concatenate([plain(w) for w in ws])
        return f.mean(0), f.std(0)

    ref_mean, ref_std = stats([D.waveform(e, RATE) for e in others])
    few = np.random.default_rng(0).choice(len(waves), 20, replace=False)
    lines = ["", "## The same model with his features normalised to the training speakers'",
             "", "| his statistics from | digit accuracy |", "|---|---|"]
    for name, ws in (("all his recordings", waves), ("20 of his recordings", [waves[i] for i in few])):
        mean, std = stats(ws)
        host.features = lambda w, mean=mean, std=std: (
            (plain(w) - mean) * (ref_std / std) + ref_mean).astype(np.float32)
        try:
            hyps = transcribe(waves)
        finally:
            host.features = plain
        lines.append(f"| {name} | {np.mean([h == e['text'] for e, h in zip(held, hyps)]):.3f} |")
    return lines


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
