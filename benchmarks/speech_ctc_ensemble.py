"""Ensembling two speech-ctc runs by averaging their frame posteriors, held-out speaker by
held-out speaker (issue 17's "ensembling" lever). Trains nothing: it reads the
leave-one-speaker-out bundles RUNS/{a}-no{speaker} and RUNS/{b}-no{speaker} (docs/models/
speech-ctc.md: the `ema` and `cmn` runs) and scores each model alone and the pair, greedy,
on all 500 recordings of the speaker each pair never heard and on their connected strings.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.speech_ctc_ensemble ema cmn

About 5 minutes on 2 cores. Prints one line per speaker and the means.
"""
from __future__ import annotations

import argparse
import json

import jiwer
import numpy as np

SPEAKERS = ("george", "jackson", "lucas", "nicolas", "yweweler")
RATE = 8000            # FSDD's sample rate


def combine(a: np.ndarray, b: np.ndarray, how: str) -> np.ndarray:
    """Frame posteriors of two models' logits [frames, 1 + tokens], averaged as log
    probabilities ("log") or as probabilities ("prob")."""
    from zoo.decoding import log_softmax

    la, lb = log_softmax(a), log_softmax(b)
    n = min(len(la), len(lb))
    return (la[:n] + lb[:n]) / 2 if how == "log" else np.exp(la[:n]) + np.exp(lb[:n])


def transcripts(models, audio: list) -> dict[str, list[str]]:
    """Each model's own greedy transcripts ("a", "b") and the pair's, decoded as the host
    decodes one model's logits."""
    from zoo_pipelines.speech.text import join_tokens

    outs = [m.predict(audio, logits=True, batch_size=64) for m in models]
    host = models[0].host()
    hyps = {"a": [r["text"] for r in outs[0]], "b": [r["text"] for r in outs[1]]}
    for how in ("log", "prob"):
        hyps[how] = [join_tokens([host.tokens[k - 1] for k in host.decode_logits(
            combine(ra["logits"], rb["logits"], how))], host.alphabet) for ra, rb in zip(*outs)]
    return hyps


def main(argv=None):
    import zoo
    from zoo.data import data_root
    from zoo_pipelines.speech import data as D

    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("a", help="one run's name: its bundles are RUNS/A-noSPEAKER, e.g. ema")
    ap.add_argument("b", help="the other run's name, e.g. cmn")
    ap.add_argument("--runs", default="runs/speech", help="the folder of the runs (runs/speech)")
    args = ap.parse_args(argv)
    from .harness import check_models

    # every speaker's two runs, before the first is scored
    check_models([f"{args.runs}/{k}-no{name}" for name in SPEAKERS for k in (args.a, args.b)])
    everyone = D.read(data_root() / "fsdd")
    scores = {}
    for name in SPEAKERS:
        mine = [e for e in everyone if e["speaker"] == name]
        strings = D.connected_strings(mine, RATE)
        models = [zoo.load(f"{args.runs}/{k}-no{name}") for k in (args.a, args.b)]
        single = transcripts(models, [e["audio"] for e in mine])
        joined = transcripts(models, [s["audio"] for s in strings])
        scores[name] = {k: {"digit_accuracy": float(np.mean([e["text"] == h for e, h in zip(mine, hs)])),
                            "connected_wer": float(jiwer.wer([s["text"] for s in strings], joined[k]))}
                        for k, hs in single.items()}
        print(name, json.dumps(scores[name]), flush=True)
    means = {k: np.mean([s[k]["digit_accuracy"] for s in scores.values()]) for k in ("a", "b", "log", "prob")}
    print("mean digit accuracy", {k: round(float(v), 4) for k, v in means.items()})


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
