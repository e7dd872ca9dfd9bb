"""Synthetic digit voices, a reproducible recipe step: flite (and festival where installed)
speak single digits and connected digit strings (1-7 digits) in several voices, each voice
under seeded duration, pitch and vocal-tract variations, resampled to 8 kHz like FSDD.

    python -m zoo_pipelines.speech.synth --out runs/speech/synth        # about 2 minutes
    python -m zoo_pipelines.speech.synth --out runs/speech/synth --mix $ZOO_DATA/fsdd \\
        --mix-out runs/speech/fsdd+synth                                # a training folder
    python -m zoo_pipelines.speech.synth --out runs/speech/synth --score speech-ctc
    make speech-espeak          # the independent check: eight espeak-ng voices, both models scored

It writes (nothing of it belongs in the repository):
- `recordings/{digit}_{speaker}_{50 + variant}.wav`: single digits in FSDD's naming, so
  `data.read` reads them; speakers are `engine-voice` (`flite-kal`, `festival-ked`). Take
  numbers start at 50, past FSDD's 0-49, so under FSDD's split rule they are all "train"
  and a folder mixing them with FSDD keeps FSDD's own valid and report splits;
- `strings/transcripts.csv` (`path,text,speaker`): connected strings, read by
  `data.read_manifest`;
- `recipe.json`: engines and their versions, voices, variations, seed and what each
  engine actually applied (flite's rms ignores pitch; festival's HTS slt ignores duration
  and pitch; every voice gets the vocal-tract change, done here by resampling).

HOLDOUT speakers (awb, ked) are never mixed into training: they are the unseen-voice check,
and nothing is chosen on them. espeak-ng's voices (EVALUATION_VOICES: `espeak-en-us`, ...)
are reserved for independent evaluation: they are not in VOICES, so `mix` never takes them,
and nothing is trained, tuned or chosen on them (`make speech-espeak` writes and scores them).

>>> variants(3, seed=0)[0]
Variant(duration=1.0, pitch=1.0, tract=1.0)
>>> spoken("4 1 0")
'four one zero'
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from zoo.bundle import write_whole
from zoo.errors import InputError, script

from .audio import read_audio, resample
from .text import DIGIT_WORDS

RATE = 8000
FIRST_TAKE = 50                 # past FSDD's take numbers 0-49: always "train" (data.fsdd_split)
# speaker -> (engine, engine's voice name, person, controls the engine applies)
VOICES = {
    "flite-kal": ("flite", "kal", "kal", ("duration", "pitch")),
    "flite-kal16": ("flite", "kal16", "kal", ("duration", "pitch")),
    "flite-awb": ("flite", "awb", "awb", ("duration", "pitch")),
    "flite-rms": ("flite", "rms", "rms", ("duration",)),         # ignores f0_shift (measured)
    "flite-slt": ("flite", "slt", "slt", ("duration", "pitch")),
    "festival-kal": ("festival", "kal_diphone", "kal", ("duration", "pitch")),
    "festival-ked": ("festival", "ked_diphone", "ked", ("duration", "pitch")),
    "festival-slt": ("festival", "cmu_us_slt_arctic_hts", "slt", ()),
}
# Independent evaluation only, never in VOICES, so no training folder can hold them:
# espeak-ng's output is reserved for that (DEVELOPERS.md). Eight accents and variants,
# fixed before any was heard (speaker names spell + as -, which FSDD file names allow);
# espeak-ng changes duration with -s, pitch by the tract resampling.
EVALUATION_VOICES = {
    f"espeak-{v.replace('+', '-')}": ("espeak-ng", v, f"espeak-{v}", ("duration",))
    for v in ("en-us", "en-us+f3", "en-gb", "en-gb+f2", "en-gb-scotland", "en-029",
              "en-gb-x-rp+m3", "en-us-nyc+f4")}
HOLDOUT = ("awb", "ked")        # people (all their engines) never trained on
INSTALL = {"flite": "apt-get install flite",
           "festival": "apt-get install festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
           "espeak-ng": "apt-get install espeak-ng"}


class Variant(NamedTuple):
    duration: float             # x speaking time
    pitch: float                # x F0
    tract: float                # x formant frequencies (vocal-tract length 1 / tract)


def variants(n: int, seed: int = 0) -> list[Variant]:
    """The voice's own settings first, then n - 1 seeded draws."""
    rng = np.random.default_rng(seed)
    out = [Variant(1.0, 1.0, 1.0)]
    for _ in range(n - 1):
        out.append(Variant(*(round(float(rng.uniform(lo, hi)), 3)
                             for lo, hi in ((0.8, 1.35), (0.8, 1.25), (0.88, 1.12)))))
    return out


def spoken(digits: str, sep: str = " ") -> str:
    return sep.join(DIGIT_WORDS[int(d)] for d in digits.split())


def applied(speaker: str, v: Variant) -> Variant:
    """What the audio gets from `v`: where the engine ignores a control, the vocal-tract
    resampling alone moves it (duration 1 / tract, pitch x tract)."""
    controls = voice(speaker)[3]
    return Variant(v.duration if "duration" in controls else round(1 / v.tract, 3),
                   v.pitch if "pitch" in controls else v.tract, v.tract)


def voice(speaker: str) -> tuple:
    """(engine, engine's voice name, person, controls) of a training or evaluation voice."""
    return VOICES[speaker] if speaker in VOICES else EVALUATION_VOICES[speaker]


def trainable(speaker: str) -> bool:
    """Whether a synthetic speaker may go into training: one of VOICES, not a HOLDOUT person.

    >>> trainable("flite-kal"), trainable("flite-awb"), trainable("espeak-en-us")
    (True, False, False)
    """
    return speaker in VOICES and VOICES[speaker][2] not in HOLDOUT


def require(engine: str) -> str:
    exe = shutil.which(engine)
    if not exe:
        raise InputError(f"{engine} is not installed; synthetic voices need it: {INSTALL[engine]}")
    return exe


def version(engine: str) -> str:
    flag = "--version"
    out = subprocess.run([require(engine), flag], capture_output=True, text=True, timeout=30)
    lines = [ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    line = next((ln for ln in lines if "version" in ln.lower() or "2." in ln), lines[-1] if lines else "?")
    # espeak-ng also prints where its data lies: a machine's path, not the engine's version
    return line.replace(require(engine) + ":", engine + ":").split("  Data at")[0]


def _engine_waves(speaker: str, v: Variant, texts: list[str], tmp: Path) -> list[Path]:
    """Engine output files (engine rate) for `texts`, synthesized at duration x tract and
    pitch / tract, so that playing them tract times faster gives v."""
    engine, name, _, _ = voice(speaker)
    d, p = v.duration * v.tract, v.pitch / v.tract
    paths = [tmp / f"{speaker}-{i}.wav" for i in range(len(texts))]
    if engine == "flite":
        for text, path in zip(texts, paths):
            subprocess.run([require("flite"), "-voice", name, "--setf", f"duration_stretch={d:.4f}",
                            "--setf", f"f0_shift={p:.4f}", "-t", text, "-o", str(path)],
                           check=True, capture_output=True, timeout=60)
        return paths
    if engine == "espeak-ng":   # 175 words a minute is its default speed
        for text, path in zip(texts, paths):
            subprocess.run([require("espeak-ng"), "-v", name, "-s", str(round(175 / d)), "-w", str(path),
                            text], check=True, capture_output=True, timeout=60)
        return paths
    lines = [f"(voice_{name})", f"(Parameter.set 'Duration_Stretch {d:.4f})",
             "(if (and (boundp 'int_lr_params) (assoc 'target_f0_mean int_lr_params)) "
             "(set! int_lr_params (cons (list 'target_f0_mean (* %.4f (car (cdr (assoc "
             "'target_f0_mean int_lr_params))))) int_lr_params)))" % p]
    lines += [f"(utt.save.wave (utt.synth (Utterance Text {json.dumps(t)})) {json.dumps(str(path))} 'riff)"
              for t, path in zip(texts, paths)]
    script = tmp / f"{speaker}.scm"
    script.write_text("\n".join(lines) + "\n")
    subprocess.run([require("festival"), "-b", str(script)], check=True, capture_output=True, timeout=600)
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise InputError(f"festival wrote no {missing[0].name} for voice {name}; is its voice "
                         f"package installed? ({INSTALL['festival']})")
    return paths


def to_8k(path: Path, tract: float) -> np.ndarray:
    """The engine's wave played `tract` times faster (formants, pitch and tempo x tract),
    at 8 kHz, peak 0.5."""
    wave, rate = read_audio(path)
    wave = resample(wave, int(round(rate * tract / 100)) * 100, RATE)
    return (0.5 * wave / max(float(np.abs(wave).max()), 1e-6)).astype(np.float32)


def synthesize(out: str | Path, speakers=tuple(VOICES), n_variants: int = 10,
               strings_per_variant: int = 4, seed: int = 0) -> dict:
    """Write recordings/, strings/transcripts.csv and recipe.json under `out`; returns the
    recipe. Speakers whose engine is missing are an error (see INSTALL)."""
    out = Path(out)
    unknown = [s for s in speakers if s not in VOICES and s not in EVALUATION_VOICES]
    if unknown:
        raise InputError(f"unknown voice {unknown[0]!r}; expected one of "
                         f"{', '.join([*VOICES, *EVALUATION_VOICES])}")
    engines = sorted({voice(s)[0] for s in speakers})
    for e in engines:
        require(e)
    # recipe.json says the folder is whole (run() skips the synthesis when it names the same
    # command): an earlier run's stayed while this one, killed midway, wrote over its files,
    # and re-running the earlier command took the mixed folder as finished. It goes first,
    # and is written last.
    (out / "recipe.json").unlink(missing_ok=True)
    # and so do the voices an earlier run wrote there (a killed run's, another command's:
    # `mix` and `data.read` took every WAV in recordings/ as part of this recipe)
    for old in [*out.glob("recordings/*.wav"), *out.glob("strings/*.wav"),
                *out.glob("*/.*.wav.tmp")]:
        stem = old.name.removeprefix(".").removesuffix(".tmp").removesuffix(".wav")
        if set(stem.split("_")) & {*VOICES, *EVALUATION_VOICES}:      # not a user's file
            old.unlink()
    (out / "recordings").mkdir(parents=True, exist_ok=True)
    (out / "strings").mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for si, speaker in enumerate(speakers):
            rng = np.random.default_rng([seed, si])
            for k, v in enumerate(variants(n_variants, seed=seed * 1000 + si)):
                strings = [" ".join(str(d) for d in rng.integers(0, 10, int(rng.integers(1, 8))))
                           for _ in range(strings_per_variant)]
                seps = [", " if rng.random() < 0.3 else " " for _ in strings]
                texts = DIGIT_WORDS + [spoken(s, sep) for s, sep in zip(strings, seps)]
                waves = _engine_waves(speaker, v, texts, Path(tmp))
                take = FIRST_TAKE + k
                for d, path in enumerate(waves[:10]):
                    name = f"recordings/{d}_{speaker}_{take}.wav"
                    write_wav(out / name, to_8k(path, v.tract))
                for j, (text, path) in enumerate(zip(strings, waves[10:])):
                    name = f"strings/{speaker}_{take}_{j}.wav"
                    write_wav(out / name, to_8k(path, v.tract))
                    rows.append((name.split("/")[1], text, speaker))
    table = io.StringIO(newline="")
    csv.writer(table, lineterminator="\n").writerows([("path", "text", "speaker"), *rows])
    write_whole(out / "strings" / "transcripts.csv", table.getvalue())
    recipe = {"engines": {e: version(e) for e in engines}, "sample_rate": RATE, "seed": seed,
              "voices": {s: dict(zip(("engine", "voice", "person", "controls"), voice(s)))
                         for s in speakers},
              "holdout_people": list(HOLDOUT), "first_take": FIRST_TAKE,
              "variants": {s: [applied(s, v)._asdict() for v in variants(n_variants, seed * 1000 + i)]
                           for i, s in enumerate(speakers)},
              "strings_per_variant": strings_per_variant,
              "command": command(out, speakers, n_variants, strings_per_variant, seed)}
    write_whole(out / "recipe.json", json.dumps(recipe, indent=1) + "\n")
    return recipe


def write_wav(path: Path, wave: np.ndarray) -> None:
    """`wave` as 16-bit PCM at RATE, written beside `path` and renamed over it: a run killed
    mid-write left a WAV cut short under its final name, read by `data.read` as a
    recording. A name starting with '.' and not ending in .wav: no reader takes it."""
    import soundfile as sf

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        sf.write(tmp, wave, RATE, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def command(out, speakers, n_variants, strings_per_variant, seed) -> str:
    return (f"python -m zoo_pipelines.speech.synth --out {out} --voices {','.join(speakers)} "
            f"--variants {n_variants} --strings {strings_per_variant} --seed {seed}")


def mix(synth_dir: str | Path, fsdd: str | Path, out: str | Path, drop_speaker: str | None = None) -> int:
    """A training folder: `out/recordings` holds symbolic links to every FSDD recording
    (all splits: FSDD's valid and report stay as they are; without `drop_speaker`) and to
    the synthetic single digits of every person not in HOLDOUT; `out/train_extra.csv` lists
    their connected strings and voices (training only, see data.read_split). Returns the number of
    synthetic utterances."""
    from .data import TRAIN_EXTRA, read

    fsdd_ex = read(fsdd)
    if drop_speaker and drop_speaker not in {e["speaker"] for e in fsdd_ex}:
        raise InputError(f"{fsdd}: no speaker {drop_speaker!r} to drop; expected one of "
                         f"{sorted({e['speaker'] for e in fsdd_ex})}")
    synth = [e for e in read(Path(synth_dir) / "recordings") if trainable(e["speaker"])]
    if not synth:
        raise InputError(f"{synth_dir}/recordings: no synthetic recordings of a training voice; "
                         f"expected the output of python -m zoo_pipelines.speech.synth --out DIR")
    rec = Path(out) / "recordings"
    rec.mkdir(parents=True, exist_ok=True)
    for e in [e for e in fsdd_ex if e["speaker"] != drop_speaker] + synth:
        link = rec / Path(e["audio"]).name
        if not link.exists():
            link.symlink_to(Path(e["audio"]).resolve())
    rows = [r for r in csv.DictReader(open(Path(synth_dir) / "strings" / "transcripts.csv"))
            if trainable(r["speaker"])]
    table = io.StringIO(newline="")     # whole or not at all: training reads it (write_whole)
    csv.writer(table, lineterminator="\n").writerows([("path", "text", "speaker"), *[
        (str((Path(synth_dir) / "strings" / r["path"]).resolve()), r["text"], r["speaker"])
        for r in rows]])
    write_whole(Path(out) / TRAIN_EXTRA, table.getvalue())
    return len(synth) + len(rows)


def score(model, synth_dir: str | Path, beam: int = 0) -> dict:
    """Per synthetic speaker: single-digit accuracy and connected-string WER (jiwer). A
    model trained with `speaker_norm` and not adapted yet is adapted to each voice from
    that voice's audio (evaluate.adapted, as evaluate() does for each FSDD speaker)."""
    from .data import read, read_manifest
    from .evaluate import adapted, error_rates, not_adapted_yet

    synth_dir = Path(synth_dir)
    singles = read(synth_dir / "recordings")
    strings = read_manifest(synth_dir / "strings" / "transcripts.csv")
    who = {r["path"]: r["speaker"] for r in csv.DictReader(open(synth_dir / "strings" / "transcripts.csv"))}
    for e in strings:
        e["speaker"] = who[Path(e["audio"]).name]
    adapt = not_adapted_yet(model)
    out = {}
    for s in sorted({e["speaker"] for e in singles}):
        one = [e for e in singles if e["speaker"] == s]
        many = [e for e in strings if e["speaker"] == s]
        m = adapted(model, [e["audio"] for e in one + many]) if adapt else model
        hyp1 = [r["text"] for r in m.predict([e["audio"] for e in one], batch_size=64, beam=beam)]
        hyp2 = [r["text"] for r in m.predict([e["audio"] for e in many], batch_size=32, beam=beam)]
        out[s] = {"digit_accuracy": float(np.mean([e["text"] == h for e, h in zip(one, hyp1)])),
                  "connected_wer": error_rates([e["text"] for e in many], hyp2)["wer"] if many else None,
                  "strings_exact": float(np.mean([e["text"] == h for e, h in zip(many, hyp2)])) if many else None,
                  "singles": len(one), "strings": len(many),
                  "words": sum(len(e["text"].split()) for e in many),
                  "held_out": not trainable(s)}
    return out


def pooled(scores: dict) -> dict:
    """`score`'s numbers over all its voices: digits and strings counted alike, WER over
    every string's words (what jiwer gives for one list of all the strings).

    >>> one = lambda acc, wer, words: {"digit_accuracy": acc, "connected_wer": wer,  # noqa: E731
    ...     "strings_exact": 1 - wer, "singles": 10, "strings": 2, "words": words}
    >>> pooled({"a": one(1.0, 0.0, 6), "b": one(0.5, 0.5, 2)})["connected_wer"]   # 1 error in 8 words
    0.125
    """
    def mean(key, weight, rs):
        return sum(r[key] * r[weight] for r in rs) / sum(r[weight] for r in rs)

    rows = [r for r in scores.values() if r["strings"]]
    return {"digit_accuracy": mean("digit_accuracy", "singles", scores.values()),
            "connected_wer": mean("connected_wer", "words", rows),
            "strings_exact": mean("strings_exact", "strings", rows),
            **{k: sum(r[k] for r in scores.values()) for k in ("singles", "strings", "words")}}


def print_scores(models, synth_dir, card: bool = False) -> None:
    """A table a model (and, for a `speaker_norm` model, also `predict()` not adapted) with
    its numbers as one JSON line; with `card`, the table also goes into the bundle's card
    (metrics.json `studies`: "independent_voices" for EVALUATION_VOICES, else "scored_voices")."""
    from zoo.bundle import resolve

    from .evaluate import load_speech, unadapted

    recipe = json.loads((Path(synth_dir) / "recipe.json").read_text())
    reserved = all(s in EVALUATION_VOICES for s in recipe["voices"])
    for name in models:
        m = load_speech(name)
        runs = [("predict()", m)] + ([("predict() not adapted", unadapted(m))]
                                     if m.preprocessor.get("speaker_norm") else [])
        rows = []
        for how, model in runs:
            res = score(model, synth_dir)
            every = pooled(res)
            rows += [{"voice": s, "model": how, "digit acc.": r["digit_accuracy"],
                      "connected WER": r["connected_wer"], "strings exact": r["strings_exact"]}
                     for s, r in [*res.items(), (f"all {len(res)}", every)]]
            print(json.dumps({"model": name, "how": how, "voices": res, "all": every}))
        print(f"## {name} on {synth_dir}\n\n| {' | '.join(rows[0])} |\n|---|---|---:|---:|---:|")
        for r in rows:
            print("| " + " | ".join(v if isinstance(v, str) else f"{v:.3f}" for v in r.values()) + " |")
        if card:
            m.metrics.setdefault("studies", {})["independent_voices" if reserved else "scored_voices"] = \
                card_study(name, synth_dir, recipe, rows, reserved)
            m.write_card(resolve(name))


def card_study(name: str, synth_dir, recipe: dict, rows: list[dict], reserved: bool) -> dict:
    """The card's table of `print_scores`' rows (zoo.card.render_studies)."""
    voices, takes = len(recipe["voices"]), len(next(iter(recipe["variants"].values())))
    return {"title": ("Voices never trained, tuned or chosen on (espeak-ng)" if reserved
                      else f"Synthetic voices ({synth_dir})"),
            "note": (f"{voices} voices of {', '.join(recipe['engines'].values())}: "
                     f"{voices * takes * len(DIGIT_WORDS)} single digits and "
                     f"{voices * takes * recipe['strings_per_variant']} connected strings of 1-7 "
                     f"digits at 8 kHz, written by `{recipe['command']}`. "
                     + ("espeak-ng is reserved for independent evaluation: nothing was trained, "
                        "tuned or chosen on it (synth.EVALUATION_VOICES). " if reserved else
                        f"The people {', '.join(HOLDOUT)} were never trained on. ")
                     + "`predict()` adapts a speaker_norm model to each voice from its audio."),
            "command": f"python -m zoo_pipelines.speech.synth --out {synth_dir} --score {name} --card",
            "rows": rows}


def main(argv=None):
    ap = argparse.ArgumentParser(prog=f"python -m {__spec__.name}", description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="folder of the synthetic voices (runs/...)")
    ap.add_argument("--voices", default=",".join(VOICES),
                    help=f"speakers, comma-separated, of {', '.join(VOICES)}; for evaluation "
                         f"only: {', '.join(EVALUATION_VOICES)}")
    ap.add_argument("--variants", type=int, default=10)
    ap.add_argument("--strings", type=int, default=4, help="connected strings per variant")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mix", help="FSDD folder: also write a training folder (--mix-out)")
    ap.add_argument("--mix-out")
    ap.add_argument("--drop-speaker", help="an FSDD speaker left out of the mix (leave-one-out)")
    ap.add_argument("--score", nargs="*", help="models (names or bundles) to score on --out")
    ap.add_argument("--card", action="store_true",
                    help="with --score: write the table into each bundle's card")
    args = ap.parse_args(argv)
    if args.card and not args.score:
        ap.error("--card writes --score's table into the scored bundles' cards; expected --score too")
    if args.mix and not args.mix_out:
        ap.error("--mix needs --mix-out")
    try:
        run(args)
    except KeyboardInterrupt:   # (and SIGTERM: zoo.errors.script) where the folder stands
        where = (f"the voices in {args.out} are whole (recipe.json) and are not written "
                 f"again" if (Path(args.out) / "recipe.json").is_file() else
                 f"{args.out} is unfinished, with no recipe.json; it is written again")
        raise KeyboardInterrupt(f"re-run the same command ({where})") from None


def run(args) -> None:
    from zoo.bundle import resolve
    from zoo.data import existing
    from zoo.options import check_int

    # before any voice is synthesized (minutes): --variants -1 wrote an empty recipe, and a
    # typo in --score or --mix failed only after the synthesis
    check_int(args.variants, "--variants", 1)
    check_int(args.strings, "--strings", 0)
    for name in args.score or ():
        resolve(name)
    if args.mix:
        existing(args.mix, "FSDD folder (--mix)", folder_ok=True)
    recipe = Path(args.out) / "recipe.json"
    voices = args.voices.split(",")
    if args.score:      # an existing folder is scored as it is; a missing one is made first
        if not recipe.is_file():
            synthesize(args.out, voices, args.variants, args.strings, args.seed)
        print_scores(args.score, args.out, args.card)
        return
    if not recipe.is_file() or json.loads(recipe.read_text())["command"] != command(
            args.out, voices, args.variants, args.strings, args.seed):
        synthesize(args.out, voices, args.variants, args.strings, args.seed)
    if args.mix:
        n = mix(args.out, args.mix, args.mix_out, args.drop_speaker)
        print(f"{args.mix_out}/recordings: FSDD + {n} synthetic utterances (held out: {', '.join(HOLDOUT)})")


if __name__ == "__main__":
    sys.exit(script(main, "zoo_pipelines.speech.synth"))
