"""Polyphonic music data: the .npz piano rolls of ../shared/data/polyphonic and folders of
MIDI files, as piano-roll sequences; tf.data batches with transposition augmentation.

An example is a dict {"name": str, "roll": uint8 [T, 88], "steps_per_quarter": int | None}.
The time step comes from the data, never from a file's name: MIDI files are read at a
step the caller chooses, and a .npz says its step in a `steps_per_quarter` key. The
classic .npz files (../shared/data/polyphonic) have no such key (None): training then
takes the recipe's `steps_per_quarter` (JSB Chorales: quarter notes, 1; the other three
datasets: eighth notes, 2 — Boulanger-Lewandowski et al. 2012), and evaluation the
bundle's own step, with a log line saying so.

Splits: train, valid (selection) and report, carved from train by piece (REPORT_RULE).

>>> from zoo.data import data_root
>>> train = read_split(data_root() / "polyphonic", "train")     # JSB Chorales by default
>>> len(train), len(read_split(data_root() / "polyphonic", "report")), train[0]["roll"].shape[1]
(208, 21, 88)
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from zoo.data import SPLITS, carve, split_name
from zoo.errors import DataFormatError, warn
from zoo.runtime import progress

from .midi import KEYS, PITCH_MIN, MidiError, read_midi

log = logging.getLogger("zoo")
DEFAULT_DATASET = "jsb_chorales.npz"
MIDI_SUFFIXES = (".mid", ".midi", ".kar")
SHOWN_BAD = 10               # unusable files named in a warning, then a count
REPORT_RULE = ("one piece in ten of the train split (a CRC-32 of a hash of the piece's "
               "notes; MIDI folders: of the pieces under train/)")


def npz_splits(path: Path) -> list[str]:
    with _open_npz(path) as z:
        return sorted(k[:-len("_seq_offsets")] for k in z.files if k.endswith("_seq_offsets"))


def _open_npz(path: Path):
    try:
        return np.load(path)          # allow_pickle=False: object arrays are refused
    except FileNotFoundError:         # was "not a readable .npz file (FileNotFoundError)"
        raise DataFormatError(f"{path}: no such file; expected a NumPy .npz archive of piano "
                              f"rolls") from None
    except Exception as e:
        raise DataFormatError(f"{path}: not a readable .npz file ({type(e).__name__}); "
                              f"expected a NumPy .npz archive of piano rolls") from None


def _member(z, path: Path, key: str, kind: str) -> np.ndarray:
    """One array of an open .npz, checked to be a 1-D array of integers (kind "ints") or
    an integer scalar (kind "int"); a damaged member (bad CRC, truncated, pickled objects)
    is a DataFormatError naming it."""
    try:
        a = np.asarray(z[key])
    except Exception as e:     # zipfile.BadZipFile (CRC), zlib.error, EOFError, ValueError (pickle)
        raise DataFormatError(f"{path}: member {key} cannot be read ({type(e).__name__}: "
                              f"{str(e)[:120]}); expected numeric arrays (the file is damaged or "
                              f"holds Python objects)"
                              ) from None
    want = "an integer" if kind == "int" else "a 1-D array of integers"
    if a.ndim != (0 if kind == "int" else 1) or a.dtype.kind not in "iuf":
        raise DataFormatError(f"{path}: {key} is a {a.dtype} array of shape {a.shape}; "
                              f"expected {want}")
    if a.dtype.kind == "f":
        if not np.isfinite(a).all() or (a != np.round(a)).any():
            raise DataFormatError(f"{path}: {key} holds values that are not whole numbers "
                                  f"(NaN, infinite or fractional); expected {want}")
        a = a.astype(np.int64)
    return a


def read_npz(path: str | Path, split: str) -> list[dict]:
    """Sequences of one split of a .npz file (keys `<split>_notes`, `<split>_step_offsets`,
    `<split>_seq_offsets`)."""
    path = Path(path)
    with _open_npz(path) as z:
        keys = [f"{split}_notes", f"{split}_step_offsets", f"{split}_seq_offsets"]
        missing = [k for k in keys if k not in z.files]
        if missing:
            splits = sorted(k[:-len("_seq_offsets")] for k in z.files if k.endswith("_seq_offsets"))
            raise DataFormatError(f"{path}: no split {split!r} (missing {', '.join(missing)}); "
                                  f"expected one of this file's splits: {', '.join(splits) or 'none'}")
        spq = (int(_member(z, path, "steps_per_quarter", "int"))
               if "steps_per_quarter" in z.files else None)
        notes, steps, seqs = (_member(z, path, k, "ints") for k in keys)
        pmin = int(_member(z, path, "pitch_min", "int")) if "pitch_min" in z.files else PITCH_MIN
    if spq is not None and spq < 1:
        raise DataFormatError(f"{path}: steps_per_quarter is {spq}; expected an integer >= 1")
    keys_of_notes = notes.astype(np.int64) - PITCH_MIN
    if notes.size and (keys_of_notes.min() < 0 or keys_of_notes.max() >= KEYS):
        raise DataFormatError(f"{path}: {split}_notes holds pitches outside the piano "
                              f"(pitch_min={pmin}); expected MIDI pitches "
                              f"{PITCH_MIN}..{PITCH_MIN + KEYS - 1}")
    if (not len(steps) or not len(seqs) or steps[0] != 0 or seqs[0] != 0
            or (np.diff(steps) < 0).any() or (np.diff(seqs) < 0).any()):
        raise DataFormatError(f"{path}: {split}_step_offsets and {split}_seq_offsets must be "
                              f"non-empty, start at 0 and never decrease")
    if steps[-1] != len(notes) or seqs[-1] != len(steps) - 1:
        raise DataFormatError(f"{path}: {split} offsets do not match the note and step counts "
                              f"(expected step_offsets[-1] == len(notes), seq_offsets[-1] == "
                              f"n_steps)")
    if len(seqs) < 2:
        raise DataFormatError(f"{path}: split {split!r} holds no sequences; expected at least one")
    if (np.diff(seqs) == 0).any():
        i = int(np.argmax(np.diff(seqs) == 0))
        raise DataFormatError(f"{path}: {split} sequence {i} has no time steps; expected at "
                              f"least one")
    step_of_note = np.repeat(np.arange(len(steps) - 1), np.diff(steps))
    out = []
    for i in range(len(seqs) - 1):
        a, b = int(seqs[i]), int(seqs[i + 1])
        roll = np.zeros((b - a, KEYS), np.uint8)
        sel = slice(steps[a], steps[b])
        roll[step_of_note[sel] - a, keys_of_notes[sel]] = 1
        out.append({"name": f"{path.stem}/{split}/{i}", "roll": roll, "steps_per_quarter": spq})
    return out


def read_midi_folder(folder: str | Path, steps_per_quarter: int = 2) -> list[dict]:
    """Every MIDI file under `folder`; files that cannot be used are reported by name."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES)
    if not files:
        raise DataFormatError(f"{folder}: no MIDI files in this folder; expected *.mid or *.midi "
                              f"files in it or its subfolders")
    out, bad = [], []
    # a sign of life while thousands of files are read (5,000 MIDIs: minutes, silent)
    for p in progress(files, desc=f"reading {folder.name or folder}", unit="files"):
        try:
            out.append({"name": str(p.relative_to(folder)), "roll": read_midi(p, steps_per_quarter),
                        "steps_per_quarter": steps_per_quarter})
        except MidiError as e:
            bad.append(f"{p.name} ({e})")
    # the first names only: 2,000 bad files among 5,000 made one line of 2,000 reasons
    named = "; ".join(bad[:SHOWN_BAD]) + (f"; and {len(bad) - SHOWN_BAD} more"
                                          if len(bad) > SHOWN_BAD else "")
    if bad:
        warn(f"{folder}: skipped {len(bad)} of {len(files)} MIDI files: {named}")
    if not out:
        raise DataFormatError(f"{folder}: none of the {len(files)} MIDI files could be used: "
                              f"{named}")
    return out


# What every example read() returns has: evaluate() checks examples passed in memory.
EXAMPLE_KEYS = ("roll",)
# What fit_preprocessor's keywords accept, checked before any data is read (zoo.options.HPARAMS).
# head: "nade" or "sigmoid" (model.build); any other name trained the sigmoid head unsaid
HPARAMS = {"head": ("nade", "sigmoid"), "seq_len": (1, 1 << 16), "transpose": (0, KEYS - 1),
           "steps_per_quarter": (1, 96)}


def read(path: str | Path, steps_per_quarter: int = 2) -> list[dict]:
    """A MIDI file, a folder of MIDI files, or a one-split .npz (use read_split for more)."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(f"{path}: no such file or folder; expected a MIDI file, a folder "
                              f"of them or a .npz piano-roll file")
    if path.is_dir():
        return read_midi_folder(path, steps_per_quarter)
    if path.suffix.lower() == ".npz":
        splits = npz_splits(path)
        if len(splits) != 1:
            # fine-tune has no --split: say what it reads
            raise DataFormatError(f"{path} holds the splits {splits}; pick one with "
                                  f"read_split(path, split) or `zoo evaluate --split`; "
                                  f"fine-tuning reads a .npz of one split, a MIDI file or a "
                                  f"folder of them")
        return read_npz(path, splits[0])
    if path.suffix.lower() in MIDI_SUFFIXES:
        try:
            return [{"name": path.name, "roll": read_midi(path, steps_per_quarter),
                     "steps_per_quarter": steps_per_quarter}]
        except MidiError as e:
            raise DataFormatError(f"{path}: {e}") from None
    raise DataFormatError(f"{path}: expected a .npz piano-roll file, a .mid file or a folder "
                          f"of MIDI files")


def read_split(data_dir: str | Path, split: str) -> list[dict]:
    """`split` (train, valid or report) of a .npz file, of the default dataset (JSB
    Chorales) in a folder of .npz files, or of a MIDI folder with train/ and valid/
    sub-folders; report is carved from train (REPORT_RULE)."""
    data_dir = Path(data_dir)
    if data_dir.suffix.lower() == ".npz" and split not in SPLITS and split in npz_splits(data_dir):
        return read_npz(data_dir, split)        # a split the file itself has, e.g. test
    split = split_name(split, data_dir)
    if data_dir.suffix.lower() == ".npz" or (data_dir / DEFAULT_DATASET).exists():
        path = data_dir if data_dir.suffix.lower() == ".npz" else data_dir / DEFAULT_DATASET
        if split == "valid":
            return read_npz(path, "valid")
        return carve(read_npz(path, "train"), report_group, split)
    folder = data_dir / ("valid" if split == "valid" else "train")
    if folder.is_dir():
        pieces = read_midi_folder(folder)
        return pieces if split == "valid" else carve(pieces, report_group, split)
    raise DataFormatError(f"{data_dir}: expected a .npz file, a folder holding "
                          f"{DEFAULT_DATASET}, or a folder with train/ and valid/ sub-folders "
                          f"of MIDI files")


def report_group(example: dict) -> str:
    """What the report split holds out: a piece (a hash of its notes)."""
    return hashlib.sha1(np.ascontiguousarray(example["roll"]).tobytes()).hexdigest()


def roll_at(example: dict, steps_per_quarter: int) -> np.ndarray:
    """The example's roll at the model's time step (repeat or subsample frames)."""
    roll, spq = example["roll"], example.get("steps_per_quarter") or steps_per_quarter
    if spq == steps_per_quarter:
        return roll
    if spq > steps_per_quarter:
        return roll[::spq // steps_per_quarter]
    return np.repeat(roll, steps_per_quarter // spq, axis=0)


def fit_preprocessor(train: list[dict], seq_len: int = 128, transpose: int = 6,
                     head: str = "nade", steps_per_quarter: int | None = None) -> tuple[dict, None]:
    """Nothing to learn from the data but its time step (the recipe's where the data does
    not say it); the rest are settings the host and the data pipeline share."""
    said = [e["steps_per_quarter"] for e in train if e.get("steps_per_quarter")]
    spq = max(set(said), key=said.count) if said else steps_per_quarter
    if not spq:
        raise DataFormatError("the training data does not say its time step (no "
                              "steps_per_quarter key in the .npz); pass --hparam "
                              "steps_per_quarter=N (1: quarter notes, 2: eighth notes)")
    if not said:
        log.info("the data does not say its time step; training at the recipe's "
                 "steps_per_quarter=%d", spq)
    return {"keys": KEYS, "pitch_min": PITCH_MIN, "head": head, "seq_len": seq_len,
            "transpose": transpose, "steps_per_quarter": int(spq)}, None


def chunks(examples: list[dict], prep: dict):
    """(previous frames, frames) cut into seq_len pieces, zero-padded; padded targets -1.
    Each piece's first previous frame is the true one, so only the state starts fresh."""
    n = prep["seq_len"]
    prevs, frames, targets = [], [], []
    for e in examples:
        roll = roll_at(e, prep["steps_per_quarter"])
        prev = np.vstack([np.zeros((1, KEYS), np.uint8), roll[:-1]])
        for s in range(0, len(roll), n):
            f, p = roll[s:s + n], prev[s:s + n]
            pad = ((0, n - len(f)), (0, 0))
            prevs.append(np.pad(p, pad))
            frames.append(np.pad(f, pad))
            targets.append(np.pad(f.astype(np.int8), pad, constant_values=-1))
    return np.stack(prevs), np.stack(frames), np.stack(targets)


def make_dataset(examples: list[dict], prep: dict, batch_size: int = 16, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False):
    """({"prev", "frame"}, {"logits": frame, -1 on padding}) batches of seq_len steps.
    Training batches are transposed by a random shift within +-prep["transpose"]
    semitones that keeps every note on the keyboard."""
    import tensorflow as tf

    if not examples:
        raise DataFormatError("no sequences to make a dataset from; expected at least one piece")
    prev, frame, target = chunks(examples, prep)
    ds = tf.data.Dataset.from_tensor_slices((prev, frame, target))
    if shuffle:
        ds = ds.shuffle(len(prev), seed=seed, reshuffle_each_iteration=True)
    limit = int(prep.get("transpose", 0)) if shuffle else 0
    features = ["prev", "frame"] if prep.get("head", "nade") == "nade" else ["prev"]

    def to_example(p, f, t, draw=None):
        p, f, t = tf.cast(p, tf.float32), tf.cast(f, tf.float32), tf.cast(t, tf.float32)
        if limit:
            on = tf.reduce_any(tf.concat([p, f], 0) > 0, axis=0)
            idx = tf.where(on)[:, 0]
            lo = tf.cast(tf.reduce_min(tf.concat([idx, [KEYS - 1]], 0)), tf.int32)
            hi = tf.cast(tf.reduce_max(tf.concat([idx, [0]], 0)), tf.int32)
            shift = tf.random.stateless_uniform([], draw, tf.maximum(-limit, -lo),
                                                tf.minimum(limit, KEYS - 1 - hi) + 1, tf.int32)
            p, f = tf.roll(p, shift, axis=1), tf.roll(f, shift, axis=1)
            t = tf.where(t[:, :1] < 0, t, tf.roll(t, shift, axis=1))
        x = {"prev": p, "frame": f}
        return {k: x[k] for k in features}, {"logits": t}

    if limit:
        # Each chunk's shift from its own seed, in order: a stateful draw (tf.random.uniform)
        # in a parallel map went to whichever chunk a thread ran first, so the same command
        # trained on other transpositions, to other weights, in every process.
        draws = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        ds = tf.data.Dataset.zip((ds, draws)).map(lambda ex, draw: (*ex, draw))
    ds = ds.map(to_example, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)


def parity_examples(valid: list[dict], n: int = 16, steps: int = 32) -> list[list[list[int]]]:
    """The first `steps` time steps of `n` validation pieces as lists of MIDI pitches."""
    return [[[int(k) + PITCH_MIN for k in np.nonzero(row)[0]] for row in e["roll"][:steps]]
            for e in valid[:n]]
