"""Character-level text: UTF-8 files (or folders of .txt files) as passages, one character
vocabulary, and tf.data windows of next-character targets.

An example is a passage {"text": str, "source": file name}: the text between blank lines
(a speech, in Shakespeare's plays). The model reads the passages as one stream, each
followed by a blank line (`stream`), so nothing is lost between them.

Splits: train and report are carved from train.txt by passage (REPORT_RULE); valid is
valid.txt (the selection split).

>>> from zoo.data import data_root
>>> folder = data_root() / "text" / "tinyshakespeare"
>>> train, report = read_split(folder, "train"), read_split(folder, "report")
>>> train[0]["text"].splitlines()[0], len(report) * 12 > len(train) > len(report) * 8
('First Citizen:', True)
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np

from zoo.data import carve, decode_text, existing, plain, split_name
from zoo.errors import DataFormatError

REPORT_RULE = "one passage in ten of train.txt (a CRC-32 of its text), never trained on"
TRAIN_FILE, VALID_FILE = "train.txt", "valid.txt"
UNKNOWN = "\ufffd"             # vocabulary entry 0: every character never seen in training
SEPARATOR = "\n\n"             # what follows each passage in the stream
MAX_FILE_BYTES = 200 << 20
CHUNK = 1 << 22                # characters encoded at a time (encode_text)


# What every example read() returns has: evaluate() checks examples passed in memory.
EXAMPLE_KEYS = ("text",)
# What fit_preprocessor's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"seq_len": (1, 1 << 16), "min_count": (1, None)}


def read(path: str | Path) -> list[dict]:
    """Passages of a UTF-8 text file, or of every .txt file under a folder (sorted)."""
    path = existing(path, "text file", folder_ok=True)
    files = sorted(p for p in path.rglob("*.txt") if p.is_file()) if path.is_dir() else [path]
    if not files:
        raise DataFormatError(f"{path}: no .txt files; expected UTF-8 text files")
    passages = []
    for f in files:
        if f.stat().st_size > MAX_FILE_BYTES:
            raise DataFormatError(f"{f}: {f.stat().st_size >> 20} MB; expected at most "
                                  f"{MAX_FILE_BYTES >> 20} MB a file")
        raw = f.read_bytes()
        if raw[:2] == b"\x1f\x8b":           # read as text, gzip failed as "not UTF-8"
            raise DataFormatError(f"{f}: a gzip-compressed file; expected plain UTF-8 text "
                                  f"(gunzip it first)")
        text = decode_text(raw, str(f))    # a byte-order mark is not a character to learn
        text = plain(text)      # as prompts are read (host.encode): "O’er" is "O'er"
        # Windows (CRLF) and old Mac (CR) line ends: the model knows "\n" only, and a
        # CR-only file was one passage
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        passages += [{"text": p.strip("\n"), "source": f.name}
                     for p in re.split(r"\n(?:[ \t]*\n)+", text) if p.strip()]
    if not passages:
        raise DataFormatError(f"{path}: no text; expected UTF-8 text")
    return passages


def report_group(passage: dict) -> str:
    return passage["text"]


def read_split(data_dir: str | Path, split: str) -> list[dict]:
    """`split` of a folder holding train.txt and valid.txt."""
    if split_name(split, data_dir) == "valid":
        return read(Path(data_dir) / VALID_FILE)
    return carve(read(Path(data_dir) / TRAIN_FILE), report_group, split)


def stream(passages: list[dict]) -> str:
    """The passages as the one text the model reads."""
    return "".join(p["text"] + SEPARATOR for p in passages)


def fit_preprocessor(train: list[dict], seq_len: int = 128, min_count: int = 1) -> tuple[dict, None]:
    """The character vocabulary (most frequent first; characters seen fewer than
    `min_count` times map to UNKNOWN, id 0) and the training window length."""
    counts = Counter(stream(train))
    chars = [c for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= min_count]
    return {"chars": [UNKNOWN] + chars, "seq_len": int(seq_len)}, None


def encode_text(text: str, chars: list[str], dtype=np.int32) -> np.ndarray:
    """Each character's id (0 for one not in `chars`). Through a table indexed by code
    point: a dictionary look-up a character took 20 s for a 100 MB file, every epoch. In
    pieces of CHUNK characters: the whole text as UTF-32 was 4 bytes a character at once.

    >>> encode_text("abz", ["<unk>", "a", "b"]).tolist()
    [1, 2, 0]
    """
    table = np.zeros(0x110000, dtype)
    for i, c in enumerate(chars):
        if len(c) == 1:         # an entry of several characters never matches one
            table[ord(c)] = i
    out = np.empty(len(text), dtype)
    for k in range(0, len(text), CHUNK):
        piece = text[k:k + CHUNK].encode("utf-32-le", "surrogatepass")
        out[k:k + CHUNK] = table[np.frombuffer(piece, np.uint32)]
    return out


def make_dataset(passages: list[dict], prep: dict, batch_size: int = 64, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False):
    """({"ids": [B, T]}, {"logits": [B, T]}) batches: windows of T = seq_len characters and
    the character after each. Shuffled, the windows start at a random offset each epoch,
    so a character does not always sit at the same place in its window."""
    import tensorflow as tf

    # The text is held once, a byte a character where the alphabet allows, and each batch
    # cut from it: windows and targets as int32 tensors, and a shuffle buffer holding them
    # all again, took 3 GB for a 100 MB text (16 bytes a character). The same batches.
    small = np.uint8 if len(prep["chars"]) <= 256 else np.int32
    ids, t = encode_text(stream(passages), prep["chars"], small), prep["seq_len"]
    if len(ids) < t + 1:
        raise DataFormatError(f"{len(ids)} characters of text: too few for one window of "
                              f"{t} (the model's seq_len) and the character after it; expected "
                              f"at least {t + 1} characters")
    # Offsets that leave a whole window (a text under 2 x seq_len failed on some seeds only)
    offset = int(np.random.default_rng(seed).integers(min(t, len(ids) - t))) if shuffle else 0
    n = (len(ids) - 1 - offset) // t
    text = tf.constant(ids[offset:offset + n * t + 1])
    span = tf.range(t + 1, dtype=tf.int64)

    def windows(k):        # [B] window numbers -> the windows and their next characters
        w = tf.cast(tf.gather(text, k[:, None] * t + span[None]), tf.int32)
        return {"ids": w[:, :-1]}, {"logits": w[:, 1:]}

    ds = tf.data.Dataset.range(n)
    if shuffle:         # the order a shuffle of the windows themselves drew
        ds = ds.shuffle(n, seed=seed)
    return ds.batch(batch_size, drop_remainder=drop_remainder).map(windows).prefetch(2)


def parity_examples(valid: list[dict], n: int = 16) -> list[str]:
    """Prompts for export checks: the first line of the first `n` passages."""
    return [p["text"].splitlines()[0][:40] for p in valid[:n]]
