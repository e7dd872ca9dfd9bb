"""Speech data: readers, splits, feature statistics and the augmenting tf.data pipeline.

Two layouts are read:
- a folder in the Free Spoken Digit Dataset convention, `{digit}_{speaker}_{index}.wav`
  (or a folder holding such a `recordings/` folder);
- audio files plus a transcripts CSV: a `.csv` file with a header `path,text` (paths
  relative to the CSV), or a folder holding one (`transcripts.csv`, or LJ Speech's
  `metadata.csv`, `id|raw text|normalized text`, audio in `wavs/`).

Training on single-digit recordings builds connected-digit utterances on the fly: 1-8
recordings joined with random pauses, all of it augmented freshly every epoch
(zoo_pipelines/speech/augment.py). An FSDD-style folder may also hold `train_extra.csv`
(`path,text`): more training utterances, such as synthetic connected strings
(zoo_pipelines/speech/synth.py), never in valid or report; longer utterances are trained
on as they are, beside the joined single digits.

>>> ex = read(data_root() / "fsdd" / "recordings")          # doctest: +SKIP
>>> ex[0]                                                   # doctest: +SKIP
{'audio': '.../0_george_0.wav', 'text': '0', 'digit': 0, 'speaker': 'george', 'index': 0}
"""
from __future__ import annotations

import csv
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from zoo.data import data_root, existing, read_text, split_name  # noqa: F401  (data_root: doctest)
from zoo.errors import DataFormatError, InputError, warn
from zoo.options import check_buckets
from zoo.runtime import pick_bucket

from .audio import load_waveform
from .augment import (add_noise, channel, connected, perturb, random_eq, spec_augment, stretch,
                      warped_mel)
from .features import (HOP_MS, WHOLE_UTTERANCE, LogMelFeatures, log_mel, mel_matrix, num_frames,
                       speaker_config, spread_scale, utterance_norm, voice_stats)
from .host import SUBSAMPLE
from .synth import VOICES
from .text import CHARS, normalize_text, tokens_of

FSDD_RE = re.compile(r"(\d)_([A-Za-z0-9-]+)_(\d+)\.(wav|flac|ogg)$", re.I)    # AUDIO_SUFFIXES
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
FSDD_TEST_INDICES = 5          # FSDD's official test set: indices 0-4 of each speaker/digit
TRAIN_EXTRA = "train_extra.csv"


# ---- readers -----------------------------------------------------------------------------
# What every example read() returns has: evaluate() checks examples passed in memory.
EXAMPLE_KEYS = ("audio", "text")


def read(path: str | Path) -> list[dict]:
    """Examples {"audio": path, "text": transcript, ...} from an FSDD-style folder, a folder
    with a transcripts CSV, or the CSV itself."""
    path = existing(path, "speech data folder or transcripts CSV", folder_ok=True)
    if path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES:
        raise DataFormatError(f"{path}: an audio file alone has no transcript; expected a "
                              f"folder of FSDD-named recordings or a transcripts CSV (path,text)")
    if path.is_file():
        return read_manifest(path)
    if (path / "recordings").is_dir():
        path = path / "recordings"
    fsdd = read_fsdd(path)
    if fsdd:
        return fsdd
    for name in ("transcripts.csv", "metadata.csv"):
        if (path / name).is_file():
            return read_manifest(path / name)
    csvs = sorted(path.glob("*.csv"))
    if len(csvs) == 1:
        return read_manifest(csvs[0])
    raise DataFormatError(f"{path}: found neither recordings named {{digit}}_{{speaker}}_{{n}}.wav "
                          f"nor a transcripts CSV (path,text); expected one of the two layouts")


def read_fsdd(folder: Path) -> list[dict]:
    out = []
    for p in sorted(folder.iterdir()):
        m = FSDD_RE.fullmatch(p.name)
        if m:
            out.append({"audio": str(p), "text": m.group(1), "digit": int(m.group(1)),
                        "speaker": m.group(2), "index": int(m.group(3))})
    return out


def read_manifest(path: Path) -> list[dict]:
    """A `path,text` CSV with a header (an optional `speaker` column is kept), or LJ
    Speech's pipe-separated metadata.csv."""
    lines = read_text(path, "a UTF-8 transcripts CSV").splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    base = path.parent
    out = []
    if "|" in first and "," not in first.split("|")[0]:         # LJ Speech: id|raw|normalized
        audio_dir = base / "wavs" if (base / "wavs").is_dir() else base
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            cols = line.split("|")
            if len(cols) < 2:
                raise DataFormatError(f"{path}:{n}: expected 'id|text[|normalized text]'; got {line!r:.80}")
            out.append({"audio": str(audio_dir / f"{cols[0]}.wav"), "text": cols[-1]})
    else:
        rows = list(csv.reader(lines))
        header = [h.strip().lower() for h in rows[0]] if rows else []
        if "path" not in header or "text" not in header:
            raise DataFormatError(f"{path}:1: expected a CSV header with columns 'path' and "
                                  f"'text'; got {rows[0] if rows else 'an empty file'}")
        ip, it = header.index("path"), header.index("text")
        ispk = header.index("speaker") if "speaker" in header else None
        for n, row in enumerate(rows[1:], start=2):
            if not row:
                continue
            if len(row) <= max(ip, it) or not row[ip].strip():
                raise DataFormatError(f"{path}:{n}: expected a path and a text; got {row}")
            if "\0" in row[ip]:
                raise DataFormatError(f"{path}:{n}: a NUL byte in the audio path; expected a file "
                                      f"path (is the manifest text?)")
            audio = Path(row[ip].strip())
            out.append({"audio": str(audio if audio.is_absolute() else base / audio),
                        "text": row[it]})
            if ispk is not None and len(row) > ispk and row[ispk].strip():
                out[-1]["speaker"] = row[ispk].strip()
    missing = [e["audio"] for e in out if not Path(e["audio"]).is_file()]
    if missing:
        raise DataFormatError(f"{path}: {len(missing)} audio files listed but missing, e.g. "
                              f"{missing[0]}; expected paths relative to {path.parent} or "
                              f"absolute")
    if not out:
        raise DataFormatError(f"{path}: no utterances listed; expected a row (path,text) or a "
                              f"line (id|text) per recording")
    return out


REPORT_RULE = ("FSDD: recordings 5-9 of every speaker and digit (250, never trained on); "
               "valid is FSDD's official test set, recordings 0-4. Other data: one "
               "utterance in ten (index mod 10 = 8)")
TEST_HINT = ("FSDD's official test recordings (0-4 of each speaker and digit) are the "
             "'valid' split here")
FSDD_REPORT_INDICES = range(5, 10)


def read_split(data_dir: Path, split: str, holdout_speaker: str | None = None) -> list[dict]:
    """The examples of `split` (train, valid or report; see REPORT_RULE).

    FSDD folders follow the dataset's official convention: recordings 0-4 of every
    speaker and digit are its test set, which is our "valid" (selection; the real
    held-out test is a sixth speaker we do not have); recordings 5-9 are the report
    split. `holdout_speaker` removes one speaker from every split, to estimate
    speaker-independent accuracy on that speaker afterwards. A `train_extra.csv` manifest
    beside the recordings adds training utterances (train only).
    Other data: every 10th utterance is valid, the one before it report; under 50
    utterances (a smoke test such as the LJ Speech sample) there is too little to hold
    out, so valid and report are the first 8 training utterances and measure fitting,
    not generalisation (a warning says so)."""
    split = split_name(split, data_dir, TEST_HINT)
    examples = read(data_dir)
    if examples and "digit" in examples[0]:
        if holdout_speaker and holdout_speaker not in {e["speaker"] for e in examples}:
            raise DataFormatError(f"{data_dir}: no speaker {holdout_speaker!r} to hold out; "
                                  f"expected one of {sorted({e['speaker'] for e in examples})}")
        kept = [e for e in examples if e["speaker"] != holdout_speaker]
        extra = Path(data_dir) / TRAIN_EXTRA
        more = read_manifest(extra) if split == "train" and extra.is_file() else []
        return [e for e in kept if fsdd_split(e["index"]) == split] + more
    if len(examples) < 50:
        if split != "train":        # one message for valid and report: a run says it once
            warn(f"{data_dir}: only {len(examples)} utterances, too few to hold any out: the "
                 f"valid and report splits are the first 8 training utterances (a fitting "
                 f"check, not a held-out measurement); give 50 or more")
        return examples if split == "train" else examples[:8]
    which = {9: "valid", 8: "report"}
    return [e for i, e in enumerate(examples) if which.get(i % 10, "train") == split]


def report_group(example: dict) -> str:
    """What the report split holds out: an FSDD take (speaker and recording number, all
    ten digits), or an utterance's audio file."""
    return f"{example['speaker']}/{example['index']}" if "index" in example else example["audio"]


def fsdd_split(index: int) -> str:
    """The split of FSDD recording number `index` (0-49) of a speaker and digit."""
    if index < FSDD_TEST_INDICES:
        return "valid"
    return "report" if index in FSDD_REPORT_INDICES else "train"


# ---- preprocessor ------------------------------------------------------------------------
@lru_cache(maxsize=8192)
def _cached_wave(path: str, rate: int) -> np.ndarray:
    return load_waveform(path, rate, what="audio file", clipping=False)


def waveform(example: dict, rate: int) -> np.ndarray:
    audio = example["audio"]
    if isinstance(audio, (str, Path)):
        try:
            return _cached_wave(str(audio), rate)
        except InputError as e:
            raise DataFormatError(str(e)) from None
    return load_waveform(audio, rate, clipping=False)


# What fit_preprocessor's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"alphabet": ("digits", "chars"), "sample_rate": (1000, 192000), "n_mels": (1, 256),
           "max_digits": (1, 64), "subsample": (1, 16), "vtlp": (0.0, 0.49), "eq_db": (0.0, 30.0),
           "tempo": (0.0, 0.49), "speaker_norm_share": (0.0, 1.0), "channel": (0.0, 1.0)}


def fit_preprocessor(train: list[dict], alphabet: str = "digits", sample_rate: int = 8000,
                     n_mels: int = 40, buckets=(100, 200, 400, 800), augment: bool = True,
                     max_digits: int = 8, subsample: int = SUBSAMPLE, bidirectional: bool = True,
                     level_norm: bool = False, vtlp: float = 0.0, eq_db: float = 0.0,
                     tempo: float = 0.0, cmn: bool = False, speaker_norm: bool = False,
                     speaker_norm_share: float = 1.0, speaker_norm_var: bool = False,
                     channel: float = 0.0, channel_synthetic: bool = False,
                     seed: int = 0) -> tuple[dict, None]:
    """Token list, feature parameters and per-mel-bin mean/std over (a sample of) the
    training audio; these normalize features for training and prediction alike.

    Speaker/channel robustness (recipe hparams, off by default): `level_norm` subtracts
    each utterance's level from its log-mels (gain-invariant features; whole utterance, so
    bidirectional models only); `cmn` subtracts each mel band's mean over the utterance
    instead (features.utterance_norm; bidirectional only too); `vtlp` = a warps the mel
    filterbank by a factor drawn from [1 - a, 1 + a] per training utterance; `eq_db` adds
    a random spectral tilt and bump of up to that many dB to training log-mels; `tempo` = a
    stretches training log-mels in time by a factor drawn from [1 - a, 1 + a] (a slower or
    faster talker at the same pitch); `channel` = p puts a training utterance in a
    synthetic room with probability p and through a telephone codec (mu-law, A-law, GSM,
    ADPCM) with p (augment.channel); with `channel_synthetic`, only the synthetic voices'
    utterances (synth.VOICES). The last four change training only.
    `speaker_norm` subtracts each speaker's long-term band means (speaker_stats) from his
    features, in training and when measuring (evaluate.adapted: a new speaker's from his
    own recordings, no transcripts needed); `mean` is then the training speakers' average,
    for audio of a speaker not adapted to, and `speaker_mean` the statistics' centre.
    `speaker_norm_share` is the share of training utterances normalised with their own
    speaker's band means; the others get that average, as predict() on a model not adapted
    to its speaker does, so the model learns to read both. `speaker_norm_var` also scales
    each speaker's band spreads to the training speakers' average (features.speaker_config)."""
    if alphabet not in ("digits", "chars"):
        raise DataFormatError(f"alphabet must be 'digits' or 'chars'; got {alphabet!r}")
    for name, on in zip(WHOLE_UTTERANCE, (level_norm, cmn)):
        if on and not bidirectional:
            raise DataFormatError(f"{name} needs the whole utterance, so a streaming "
                                  f"(unidirectional) model cannot use it; expected {name} false")
    if not (0 <= vtlp < 0.5 and 0 <= eq_db <= 30 and 0 <= tempo < 0.5
            and 0 <= speaker_norm_share <= 1 and 0 <= channel <= 1):
        raise DataFormatError(f"expected 0 <= vtlp < 0.5, 0 <= eq_db <= 30, 0 <= tempo < 0.5, "
                              f"0 <= speaker_norm_share <= 1 and 0 <= channel <= 1; got vtlp={vtlp}, "
                              f"eq_db={eq_db}, tempo={tempo}, speaker_norm_share={speaker_norm_share}, "
                              f"channel={channel}")
    buckets = check_buckets(buckets)
    tokens = [str(d) for d in range(10)] if alphabet == "digits" else list(CHARS)
    check_texts(train, alphabet, tokens)
    rng = np.random.default_rng(seed)
    sample = [train[i] for i in rng.permutation(len(train))[:400]]
    mel = mel_matrix(sample_rate, n_mels)
    lms = [log_mel(waveform(e, sample_rate), sample_rate, mel) for e in sample]
    feats = [utterance_norm(lm, level_norm, cmn) for lm in lms]
    if speaker_norm_var and not speaker_norm:
        raise DataFormatError("speaker_norm_var scales each speaker's spreads after his means "
                              "are off; expected speaker_norm true with it")
    stats = {}
    if speaker_norm:
        stats = speaker_stats(train, {"sample_rate": sample_rate, "n_mels": n_mels,
                                      "level_norm": level_norm, "cmn": cmn})
        var = {"speaker_norm_var": speaker_norm_var,
               "speaker_spread": np.mean([sd for _, sd in stats.values()], axis=0)}
        feats = [(f - stats[s][0]) / spread_scale(var, stats[s][1])
                 for f, s in zip(feats, map(speaker_of, sample))]
    feats = np.concatenate(feats)
    buckets = holding_the_longest(buckets, train, sample_rate)
    prep = {"alphabet": alphabet, "tokens": tokens, "sample_rate": sample_rate,
            "n_mels": n_mels, "mean": feats.mean(0).tolist(),
            "std": np.maximum(feats.std(0), 1e-3).tolist(), "buckets": buckets,
            "augment": bool(augment), "max_digits": int(max_digits), "subsample": int(subsample),
            "output_stride": int(subsample),      # zoo.runtime cuts padded logits with it
            "streaming": not bidirectional, "level_norm": bool(level_norm), "cmn": bool(cmn),
            "vtlp": float(vtlp), "eq_db": float(eq_db), "tempo": float(tempo),
            "speaker_norm": bool(speaker_norm), "channel": float(channel)}
    if channel_synthetic:
        prep["channel_synthetic"] = True
    if speaker_norm:
        prep["speaker_norm_share"] = float(speaker_norm_share)
        prep["speaker_mean"] = prep["mean"]
        average = np.mean([offset for offset, _ in stats.values()], axis=0)
        prep["mean"] = (np.asarray(prep["mean"]) + average).tolist()
        if speaker_norm_var:
            prep.update(speaker_norm_var=True, speaker_spread=var["speaker_spread"].tolist())
    return prep, None


def speaker_of(example: dict) -> str:
    return example.get("speaker", "")


def speaker_stats(examples: list[dict], prep: dict, seed: int = 0) -> dict[str, tuple]:
    """Each speaker's long-term band means and spreads (features.voice_stats: over up to
    PER_SPEAKER of his utterances, drawn with `seed`); examples without a speaker are one
    group, ""."""
    groups: dict[str, list] = {}
    for e in examples:
        groups.setdefault(speaker_of(e), []).append(e)
    rate, rng = prep["sample_rate"], np.random.default_rng(seed)
    return {s: voice_stats(group, prep, lambda e: waveform(e, rate), rng)
            for s, group in groups.items()}


def speaker_features(examples: list[dict], prep: dict) -> dict[str, LogMelFeatures]:
    """speaker -> the features of his audio, normalised with his own statistics."""
    return {s: LogMelFeatures(speaker_config(prep, st))
            for s, st in speaker_stats(examples, prep).items()}


def check_texts(examples: list[dict], alphabet: str, tokens: list[str]) -> None:
    for e in examples:
        text = normalize_text(e["text"], alphabet)
        bad = [t for t in tokens_of(text, alphabet) if t not in tokens]
        if bad or not text:
            # A model's alphabet is its output layer: a fine-tune keeps it, so the advice
            # is a new model (fine-tune --alphabet chars was ignored and failed again)
            hint = ("a digits model hears digits only; for sentences train a model with "
                    "`zoo train speech-ctc --alphabet chars`" if alphabet == "digits" else
                    f"the model's characters are {''.join(tokens)!r}")
            raise DataFormatError(f"{e['audio']}: transcript {e['text']!r} does not fit the "
                                  f"{alphabet!r} alphabet ({'token ' + repr(bad[0]) if bad else 'empty'}); "
                                  f"{hint}")


def holding_the_longest(buckets: list[int], examples: list[dict], rate: int) -> list[int]:
    """`buckets` and, where the longest of `examples` is longer than the largest, one more
    that holds it (in steps of 200 frames, 2 s): long sentences are trained on whole, not
    cut to the largest bucket (a cut one loses its speech past the cut, not its words)."""
    longest = max(num_frames(waveform(e, rate).size, rate) for e in examples)
    return [*buckets, -(-longest // 200) * 200] if longest > max(buckets) else list(buckets)


def grow_preprocessor(prep: dict, examples: list[dict]) -> list:
    """fine_tune's hook (zoo.training.fine_tune): the alphabet is the output layer, which a
    fine-tune keeps, so no token is added; the transcripts are checked against it here,
    before anything runs. A word outside it ('five hello' for a digits model) was refused
    only once training began, after the model fine-tuned from had been scored on it (and
    warned that it counted as an error). The length buckets grow as fit_preprocessor's do:
    utterances longer than the largest were cut for training, their transcripts whole, so
    the model learnt words it never heard. The network does not depend on the buckets; a
    bidirectional bundle's predict() then splits audio only past the new largest. Returns the entries
    added: none (fine_tune records the buckets' change in the bundle's card)."""
    check_texts(examples, prep["alphabet"], prep["tokens"])
    prep["buckets"] = holding_the_longest(prep["buckets"], examples, prep["sample_rate"])
    return []


def label_ids(text: str, prep: dict) -> list[int]:
    index = {t: i + 1 for i, t in enumerate(prep["tokens"])}     # 0 is the CTC blank
    alphabet = prep["alphabet"]
    return [index[t] for t in tokens_of(normalize_text(text, alphabet), alphabet)]


# ---- tf.data -----------------------------------------------------------------------------
def _pad_batch(items, bucket: int, n_mels: int, width: int, subsample: int):
    x = np.zeros((len(items), bucket, n_mels), np.float32)
    y = np.zeros((len(items), 1 + width), np.int32)
    for r, (feats, labels) in enumerate(items):
        x[r, :feats.shape[0]] = feats
        y[r, 0] = -(-feats.shape[0] // subsample)            # output frames, for the CTC loss
        y[r, 1:1 + len(labels)] = labels
    return x, y


def warn_cut(examples: list[dict], waves: list[np.ndarray], rate: int, buckets: list[int]) -> None:
    """One warning, counted, for the utterances longer than the largest length bucket, which
    the training pipeline cuts to it (a log line an utterance, every epoch, before):
    fit_preprocessor and grow_preprocessor add a bucket for the longest of the data they
    see, so these are examples they did not (a fine-tune's rehearsal data).
    Lengths as given, not augmented, so that every epoch of a run says the same, once."""
    max_frames, frames = max(buckets), [num_frames(w.size, rate) for w in waves]
    cut = [i for i, n in enumerate(frames) if n > max_frames]
    if not cut:
        return
    longest = max(cut, key=frames.__getitem__)
    audio = examples[longest]["audio"]
    name = Path(audio).name if isinstance(audio, (str, Path)) else f"utterance {longest}"
    more = ",".join(map(str, [*sorted(buckets), max_frames * -(-frames[longest] // max_frames)]))
    warn(f"{len(cut)} of {len(examples)} utterances are longer than the largest length "
         f"bucket, {max_frames} frames ({max_frames * HOP_MS / 1000:g} s), and are cut to it "
         f"for training: their speech past the cut is lost (the longest, {name}: "
         f"{frames[longest]} frames). Split them into shorter recordings, or add a bucket "
         f"that holds them: --hparam 'buckets=[{more}]'")


def make_dataset(examples: list[dict], prep: dict, batch_size: int = 32, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False):
    """Batches ({"features": [B, T, n_mels]}, {"logits": [B, 1 + L]}) padded to a length
    bucket. The targets pack the CTC output length in column 0 and the label ids (0 =
    padding/blank) after it (see model.CTCLoss).

    With `shuffle` (training), single-digit recordings become connected-digit utterances
    of 1-`max_digits` digits (longer utterances stay as they are) and all audio is
    augmented, freshly every epoch; without it, the examples as they are. With the
    recipe's `speaker_norm`, a string joins recordings of one speaker, and each speaker's
    features are normalised with his own band means."""
    import tensorflow as tf

    rate, buckets, n_mels = prep["sample_rate"], prep["buckets"], prep["n_mels"]
    features = LogMelFeatures(prep)
    check_texts(examples, prep["alphabet"], prep["tokens"])
    waves = [waveform(e, rate) for e in examples]
    warn_cut(examples, waves, rate, buckets)
    labels = [label_ids(e["text"], prep) for e in examples]
    singles = np.flatnonzero([len(lb) == 1 for lb in labels]) if prep["alphabet"] == "digits" else []
    by_speaker = prep.get("speaker_norm", False)
    share = prep.get("speaker_norm_share", 1.0) if shuffle else 1.0
    if by_speaker:
        speakers = [speaker_of(e) for e in examples]
        of_speaker = speaker_features(examples, prep)
        singles_of = {s: np.asarray([j for j in singles if speakers[j] == s]) for s in of_speaker}
    synth = shuffle and len(singles) > 0
    augment = shuffle and prep.get("augment", True)
    max_digits = prep.get("max_digits", 8)
    width = max(max(len(lb) for lb in labels), max_digits if synth else 0)
    max_frames = max(buckets)
    # Utterances per epoch: as many as there are examples (a recording is heard about
    # 4.5 times an epoch when they are joined into strings).
    n_utts = len(examples)
    n_batches = (n_utts // batch_size if drop_remainder else -(-n_utts // batch_size)) or 1
    epoch = [0]

    def utterance(rng, i):
        if synth and len(labels[i]) == 1:
            k = 1 if rng.random() < 0.25 else int(rng.integers(2, max_digits + 1))
            pool = singles_of[speakers[i]] if by_speaker else singles
            while True:                   # fewer digits until it fits the largest bucket
                pick = pool[rng.integers(0, len(pool), k)]
                wave = connected([waves[j] for j in pick], rate, rng, augment)
                if augment:
                    wave = add_noise(wave, rate, rng)
                if num_frames(wave.size, rate) <= max_frames or k == 1:
                    break
                k -= 1
            lab = [labels[j][0] for j in pick]
        else:
            wave = perturb(waves[i], rng) if augment else waves[i]
            if augment:
                wave = add_noise(wave, rate, rng)
            lab = labels[i]
        if augment and prep.get("channel") and (
                not prep.get("channel_synthetic") or speaker_of(examples[i]) in VOICES):
            wave = channel(wave, rate, rng, prep["channel"])     # (drawn only when asked for)
        mel = eq = None         # speaker/channel augmentation (only drawn when asked for)
        if augment and prep.get("vtlp"):
            alpha = round(float(rng.uniform(1 - prep["vtlp"], 1 + prep["vtlp"])), 2)
            mel = warped_mel(rate, n_mels, alpha)
        if augment and prep.get("eq_db"):
            eq = random_eq(n_mels, prep["eq_db"], rng)
        # (no draw at share 1: the same random stream as before the option)
        own = by_speaker and (share >= 1 or rng.random() < share)
        feats = (of_speaker[speakers[i]] if own else features)(wave, mel=mel, eq=eq)
        if augment and prep.get("tempo"):      # never stretched past the largest bucket
            slowest = max(1 - prep["tempo"], feats.shape[0] / max_frames)
            feats = stretch(feats, float(rng.uniform(slowest, max(slowest, 1 + prep["tempo"]))))
        # (warn_cut counted the utterances as given; one that augmentation's slowing and
        # added silence take past the bucket is cut unsaid, a little differently each epoch)
        feats = feats[:max_frames]
        if augment:
            feats = spec_augment(feats, rng)
        return feats, lab

    def batches():
        rng = np.random.default_rng([seed, epoch[0]])
        epoch[0] += 1
        order = rng.permutation(n_utts) if shuffle else np.arange(n_utts)
        pool_size = batch_size * (8 if shuffle else 1)
        out = []
        for s in range(0, n_utts, pool_size):
            items = [utterance(rng, i) for i in order[s:s + pool_size]]
            if shuffle:                      # similar lengths together: less padding
                items.sort(key=lambda it: it[0].shape[0])
            for b in range(0, len(items), batch_size):
                chunk = items[b:b + batch_size]
                if drop_remainder and len(chunk) < batch_size:
                    continue
                out.append(chunk)
            if shuffle:
                rng.shuffle(out)
            for chunk in out:
                bucket = pick_bucket(max(f.shape[0] for f, _ in chunk), buckets)
                x, y = _pad_batch(chunk, bucket, n_mels, width, prep.get("subsample", SUBSAMPLE))
                yield {"features": x}, {"logits": y}
            out = []

    ds = tf.data.Dataset.from_generator(batches, output_signature=(
        {"features": tf.TensorSpec([None, None, n_mels], tf.float32)},
        {"logits": tf.TensorSpec([None, 1 + width], tf.int32)}))
    ds = ds.apply(tf.data.experimental.assert_cardinality(n_batches))
    return ds.prefetch(2)


def parity_examples(valid: list[dict], n: int = 16) -> list[dict]:
    """Raw predict() inputs kept in the bundle for export checks: real held-out audio as
    int16 samples at the model rate ({"array", "sampling_rate"}, JSON-able), at most 2 s
    each; for digit recordings also 4 connected strings of 3 recordings."""
    rate = 8000
    step = max(1, len(valid) // n)
    picked = [valid[(i * step) % len(valid)] for i in range(n)]

    def pcm(wave):
        return {"array": np.round(np.clip(wave[:2 * rate], -1, 1) * 32767).astype(int).tolist(),
                "sampling_rate": rate}

    out = [pcm(waveform(e, rate)) for e in picked]
    if valid and "digit" in valid[0]:
        rng = np.random.default_rng(0)
        for k in range(4):
            group = [waveform(picked[(3 * k + j) % n], rate) for j in range(3)]
            out.append(pcm(connected(group, rate, rng, augment=False)[:2 * rate]))
    return out


def connected_strings(examples: list[dict], rate: int, seed: int = 0) -> list[dict]:
    """Deterministic connected-digit strings built from FSDD-style recordings: each
    recording used once, strings of 2-7 recordings with 100-300 ms pauses; the last string
    takes what is left, so it may hold one recording (kept as it is: the shipped cards'
    connected-digit numbers were measured with it)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(examples))
    out, s = [], 0
    while s < len(order):
        k = int(rng.integers(2, 8))
        group = [examples[i] for i in order[s:s + k]]
        s += k
        parts = []
        for j, e in enumerate(group):
            if j:
                parts.append(np.zeros(int(rng.uniform(0.1, 0.3) * rate), np.float32))
            parts.append(waveform(e, rate))
        out.append({"audio": {"array": np.concatenate(parts), "sampling_rate": rate},
                    "text": " ".join(e["text"] for e in group)})
    return out


def seconds(examples: list[dict], rate: int) -> float:
    return sum(waveform(e, rate).size for e in examples) / rate

