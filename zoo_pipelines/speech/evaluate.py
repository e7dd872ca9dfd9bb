"""Speech metrics: character and word error rates (jiwer), and for recordings in the FSDD
naming convention also single-digit accuracy and the WER of connected-digit strings.

- `cer`, `wer`: over the utterances as given (corpus level, jiwer);
- `digit_accuracy`: FSDD-style recordings transcribed exactly (one digit, nothing else);
- `connected_wer`, `connected_cer`: strings of 2-7 of the same recordings joined with
  100-300 ms pauses, built deterministically (seed 0) so every run scores the same audio.

HEADLINE is `wer` (lower is better): it exists for every alphabet and dataset, and on FSDD
folders it equals 1 - digit_accuracy up to insertions.

>>> from zoo_pipelines.speech.evaluate import error_rates
>>> error_rates(["4 1 5 9"], ["4 1 5 8"])["wer"]
0.25
"""
from __future__ import annotations

import jiwer

from zoo.monitor import predict_with_progress

from . import data as D
from .text import normalize_text

HEADLINE = "wer"
GREATER_IS_BETTER = False


def error_rates(refs: list[str], hyps: list[str]) -> dict:
    return {"cer": float(jiwer.cer(refs, hyps)), "wer": float(jiwer.wer(refs, hyps))}


def evaluate(model, examples: list[dict], batch_size: int = 64, beam: int = 0,
             connected: bool = True) -> dict:
    """Transcribe `examples` ({"audio", "text"}) with `model` and score them."""
    prep = model.preprocessor
    alphabet, rate = prep["alphabet"], prep["sample_rate"]
    refs = [normalize_text(e["text"], alphabet) for e in examples]
    # chunks of batch_size: the batches predict() would make, under a progress bar
    hyps = [r["text"] for r in predict_with_progress(model, [e["audio"] for e in examples],
                                                     "transcribing", chunk=batch_size,
                                                     batch_size=batch_size, beam=beam)]
    metrics = {**error_rates(refs, hyps), "utterances": len(examples)}
    if examples and all("digit" in e for e in examples) and alphabet == "digits":
        metrics["digit_accuracy"] = sum(r == h for r, h in zip(refs, hyps)) / len(refs)
        if connected:
            strings = D.connected_strings(examples, rate)
            c_hyps = [r["text"] for r in predict_with_progress(
                model, [s["audio"] for s in strings], "connected strings", chunk=batch_size,
                batch_size=batch_size, beam=beam)]
            c = error_rates([s["text"] for s in strings], c_hyps)
            metrics.update(connected_wer=c["wer"], connected_cer=c["cer"],
                           connected_strings=len(strings))
    return metrics


def calibrate_ood(bundle_dir, data_dir, split: str = "valid", percentile: float = 1.0) -> dict:
    """Set the bundle's out-of-distribution floor: the `percentile`-th percentile of
    `token_confidence` on `split` of `data_dir` (the selection split: the floor is a choice),
    written into preprocessor.json (`ood`) and the manifest re-hashed. Predictions under
    the floor carry a `warning` (Host.warning).

        python -c 'from zoo_pipelines.speech.evaluate import calibrate_ood as c; c("zoo_pipelines/saved_models/speech-ctc", "../shared/data/fsdd")'
    """
    from pathlib import Path

    import numpy as np

    import zoo
    from zoo.bundle import set_preprocessor_fields

    m = zoo.load(str(bundle_dir))
    examples = D.read_split(Path(data_dir), split)
    conf = [r["confidence"] for r in m.predict([e["audio"] for e in examples])]
    ood = {"min_confidence": round(float(np.percentile(conf, percentile)), 3),
           "chosen_on": f"{Path(data_dir).name} {split}", "percentile": percentile}
    set_preprocessor_fields(bundle_dir, ood=ood)
    return ood
