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

import re

import jiwer
import numpy as np

from zoo.errors import InputError, warn
from zoo.monitor import predict_with_progress
from zoo.options import MAX_BATCH_SIZE, check_int

from . import data as D
from .features import PER_SPEAKER, speaker_adapted
from .text import normalize_text


HEADLINE = "wer"
GREATER_IS_BETTER = False


def error_rates(refs: list[str], hyps: list[str]) -> dict:
    return {"cer": float(jiwer.cer(refs, hyps)), "wer": float(jiwer.wer(refs, hyps))}


def evaluate(model, examples: list[dict], batch_size: int = 64, beam: int = 0,
             connected: bool = True) -> dict:
    """Transcribe `examples` ({"audio", "text"}) with `model` and score them. A model
    trained with `speaker_norm` and not adapted yet is adapted to each speaker's examples
    first (`adapted`: his recordings' audio, never their transcripts), and connected
    strings join one speaker's recordings."""
    prep = model.preprocessor
    alphabet, rate = prep["alphabet"], prep["sample_rate"]
    batch_size = check_int(batch_size, "batch_size", 1, MAX_BATCH_SIZE)   # 0: a raw range() error
    adapt = not_adapted_yet(model)
    groups = {}
    for e in examples:
        groups.setdefault(D.speaker_of(e) if adapt else "", []).append(e)
    fsdd = bool(examples) and all("digit" in e for e in examples) and alphabet == "digits"
    outside = check_references(examples, alphabet, model.entry.name)
    refs, hyps, c_refs, c_hyps = [], [], [], []
    for group in groups.values():
        m = adapted(model, group) if adapt else model
        refs += [normalize_text(e["text"], alphabet) for e in group]
        hyps += transcribe(m, [e["audio"] for e in group], "transcribing", batch_size, beam)
        # one recording makes a "string" of one digit: connected_wer was single-digit WER
        if fsdd and connected and len(group) > 1:
            strings = D.connected_strings(group, rate)
            c_refs += [s["text"] for s in strings]
            c_hyps += transcribe(m, [s["audio"] for s in strings], "connected strings",
                                 batch_size, beam)
    metrics = {**error_rates(refs, hyps), "utterances": len(examples)}
    if outside:
        metrics["words_outside_alphabet"] = outside
    if fsdd:
        metrics["digit_accuracy"] = sum(r == h for r, h in zip(refs, hyps)) / len(refs)
        if connected and c_refs:
            metrics.update({f"connected_{k}": v for k, v in error_rates(c_refs, c_hyps).items()},
                           connected_strings=len(c_refs))
        elif connected:
            metrics["note"] = ("connected-digit strings need at least 2 recordings (of one "
                               "speaker, for a speaker_norm model); not scored")
    return metrics


def check_references(examples: list[dict], alphabet: str, name: str) -> int:
    """How many reference words the model cannot write (a digits model: any word not a
    digit), with a warning: they count as errors. Transcripts that are all empty are
    refused: WER and CER divide by the reference's words and characters (jiwer gave 1.0).

    >>> check_references([{"text": "three apples"}], "digits", "speech-ctc")
    1
    """
    refs = [normalize_text(e["text"], alphabet) for e in examples]
    if examples and not any(r.strip() for r in refs):
        raise InputError(f"every transcript of the {len(refs)} example(s) is empty (in the "
                         f"{alphabet} alphabet); WER and CER divide by the reference's words, "
                         f"so there is nothing to score; expected transcripts of the speech")
    if alphabet == "digits":
        bad = [w for r in refs for w in r.split() if not w.isdigit()]
    else:      # chars: digits and other symbols are dropped from the reference, not scored
        bad = [w for e in examples for w in str(e["text"]).split() if re.search(r"[0-9]", w)]
    if bad:
        shown = ", ".join(sorted(set(bad))[:5]) + (" ..." if len(set(bad)) > 5 else "")
        warn(f"{len(bad)} reference word(s) are outside {name}'s {alphabet} alphabet ({shown}); "
             + ("they count as errors" if alphabet == "digits" else
                "their digits are left out of the reference (spell numbers out)"))
    return len(bad)


def transcribe(model, audio: list, what: str, batch_size: int, beam: int) -> list[str]:
    # chunks of batch_size: the batches predict() would make, under a progress bar
    return [r["text"] for r in predict_with_progress(model, audio, what, chunk=batch_size,
                                                     batch_size=batch_size, beam=beam)]


# Test-time vocal tract length normalisation (VTLN, Lee & Rose 1996): the mel filters
# warped as training's VTLP warps them, over the usual grid of warp factors.
VTLN_WARPS = tuple(round(0.88 + 0.02 * i, 2) for i in range(13))


def audio_of(recordings: list) -> list:
    """Paths or waveforms, from paths, waveforms or examples ({"audio": ...})."""
    return [r["audio"] if isinstance(r, dict) and "audio" in r else r for r in recordings]


def adapted(model, recordings: list, warps=(1.0,)):
    """A model trained with `speaker_norm`, adapted to one speaker: its features normalised
    with his band means over (up to 60 of) `recordings` (paths, waveforms or examples;
    no transcripts needed), the same model weights. With several `warps` (VTLN_WARPS:
    vocal tract length normalisation) each warp of the mel filters gets its own band means,
    and the one whose transcripts of those recordings are surest (mean `confidence`) is kept.

    >>> m = adapted(zoo.load("runs/speech/spknorm"), my_20_recordings)   # doctest: +SKIP
    >>> m.predict(["my_digits.wav"])                                      # doctest: +SKIP
    """
    prep = model.preprocessor
    if not prep.get("speaker_norm"):
        raise InputError(f"{model.entry.name} was trained without speaker_norm; there is "
                         f"nothing to adapt (expected a model trained with --hparam speaker_norm=true)")
    if not recordings:
        raise InputError("no recordings to adapt to; expected a few of the speaker's recordings")
    # one speaker, whatever speaker names the examples carry; the same draw of up to
    # PER_SPEAKER recordings as predict(..., same_speaker=True) makes
    rate = prep["sample_rate"]
    audio = audio_of(recordings)
    waves = [audio[i] for i in np.random.default_rng(0).permutation(len(audio))[:PER_SPEAKER]]
    waves = [D.waveform({"audio": a}, rate) for a in waves]
    candidates = [_normalised(model, waves, float(w)) for w in warps]
    if len(candidates) == 1:
        return candidates[0]
    sureness = [np.mean([r["confidence"] for r in m.predict(waves, batch_size=64)]) for m in candidates]
    return candidates[int(np.argmax(sureness))]


SELF_TRAIN = {"new_share": 0.4, "epochs": 15, "steps_per_epoch": 10, "learning_rate": 5e-4}


def surer(said: list[dict], keep: float = 0.5, balanced: bool = False) -> list[int]:
    """Indices of the surer `keep` of non-empty transcripts by `confidence` (ties at the floor
    stay); with `balanced`, the surer `keep` of each transcribed text separately.

    >>> surer([{"text": "1", "confidence": .9}, {"text": "1", "confidence": .8},
    ...        {"text": "2", "confidence": .3}, {"text": "", "confidence": .99}], balanced=True)
    [0, 2]
    """
    groups = {}
    for i, r in enumerate(said):
        if r["text"]:
            groups.setdefault(r["text"] if balanced else "", []).append(i)
    chosen = []
    for group in groups.values():
        floor = np.quantile([said[i]["confidence"] for i in group], 1 - keep)
        chosen += [i for i in group if said[i]["confidence"] >= floor]
    return sorted(chosen)


def self_trained(model, recordings: list, rehearse, validation, keep: float = 0.5,
                 balanced: bool = True, rounds: int = 1, out=None, teacher=None, **overrides):
    """`model` taught one new speaker from his recordings alone (self-training; no
    transcripts): the model, adapted to him where it was trained with `speaker_norm`,
    transcribes them; the surer `keep` of its transcripts (by `confidence`; with `balanced`,
    of each transcribed text, so the digits it reads less surely are taught too) become
    labels, and the model as trained is fine-tuned on them with its training data `rehearse`d
    (a dataset folder, or True for its default data) so it keeps the voices it knew; the
    epoch is chosen on `validation` (examples or a folder of other speakers). With `rounds`
    above 1 the fine-tuned model transcribes them again and the model as trained is
    fine-tuned on those labels instead. With a `teacher` (another model of the same alphabet,
    as trained) the first round's transcripts are the teacher's, adapted to him where it can
    be: speech-ctc teaching speech-ctc-stream, which reads a new voice less well. Returns the
    last fine-tuned model, adapted to the same recordings where it can be. Over the five FSDD
    speakers left out of training in turn, one balanced round took digit accuracy from 0.807
    (adapted() alone) to 0.860 (docs/models/speech-ctc.md, "Self-training on his own
    transcripts").

    >>> m2 = self_trained(zoo.load("speech-ctc"), his_recordings, rehearse=True,
    ...                   validation=other_speakers_examples)              # doctest: +SKIP
    """
    if not 0 < keep <= 1:
        raise InputError(f"keep is the share of transcripts kept as labels; expected a number "
                         f"in (0, 1], got {keep!r}")
    if not (isinstance(rounds, int) and rounds >= 1):
        raise InputError(f"rounds is how many times to transcribe and fine-tune; expected a "
                         f"whole number of at least 1, got {rounds!r}")
    for m in [m for m in (model, teacher) if m is not None]:
        if "adapted_from" in m.preprocessor:
            raise InputError("self_trained() starts from models as trained, not adapted yet; "
                             "expected zoo.load(...) of the bundle")
    if teacher is not None and teacher.preprocessor["alphabet"] != model.preprocessor["alphabet"]:
        raise InputError(f"the teacher writes {teacher.preprocessor['alphabet']!r} transcripts; "
                         f"expected the student's alphabet, {model.preprocessor['alphabet']!r}")
    audio = audio_of(recordings)
    labeller = heard_by(model if teacher is None else teacher, recordings)
    for r in range(1, rounds + 1):
        said = labeller.predict(audio, batch_size=64)
        pseudo = [{"audio": audio[i], "text": said[i]["text"], "speaker": "self-trained"}
                  for i in surer(said, keep, balanced)]
        if not pseudo:
            raise InputError("self-training found no transcript to learn from; expected "
                             "recordings of speech the model can read")
        if model.preprocessor["alphabet"] == "digits" and \
                sum(len(p["text"].split()) > 1 for p in pseudo) > len(pseudo) / 2:
            warn("self-training: most of these recordings were read as strings of several "
                 "digits; on connected strings it lowered digit accuracy by 8-9 points where "
                 "measured, on single digits it raised it by 5 (docs/models/speech-ctc.md, "
                 "\"Self-training on his own transcripts\")")
        # Each round's bundle has a folder of its own: a finished folder is reused, not retrained.
        into = out if r == rounds or out is None else f"{out}-round{r}"
        tuned = model.fine_tune(pseudo, validation=validation, rehearse=rehearse, out=into,
                                **{**SELF_TRAIN, **overrides})
        labeller = heard_by(tuned, recordings)
    return labeller


def load_speech(name: str):
    """zoo.load(name), refused in one line unless it is a speech model (the commands'
    models and teachers)."""
    import zoo

    model = zoo.load(name)
    if model.entry.package != __package__:
        raise InputError(f"{name} is a {model.entry.task} model; expected a speech model "
                         f"(speech-ctc, speech-ctc-stream or a bundle of one)")
    return model


def heard_by(model, recordings: list):
    """`model` adapted to the speaker of `recordings` where it was trained with
    `speaker_norm`, else as it is (speech-ctc-stream adapts to nobody).

    >>> heard_by(zoo.load("speech-ctc"), his_recordings).predict(his_recordings)  # doctest: +SKIP
    """
    return adapted(model, recordings) if model.preprocessor.get("speaker_norm") else model


def not_adapted_yet(model) -> bool:
    """A `speaker_norm` model that evaluate() (and synth.score) adapt to each speaker."""
    prep = model.preprocessor
    return bool(prep.get("speaker_norm")) and "adapted_from" not in prep


def unadapted(model):
    """A `speaker_norm` model as predict() uses it when nobody adapted it: every voice
    normalised with the training speakers' average band means (evaluate() would adapt it).

    >>> unadapted(zoo.load("speech-ctc")).evaluate(examples)     # doctest: +SKIP
    """
    return model.with_preprocessor({**model.preprocessor, "speaker_norm": False})


def _normalised(model, waves: list[np.ndarray], warp: float):
    prep = speaker_adapted({**model.preprocessor, "warp": warp}, waves)
    return model.with_preprocessor({**prep, "adapted_from": len(waves)})


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
