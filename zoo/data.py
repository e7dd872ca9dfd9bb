"""Shared tf.data pieces: length bucketing with padding, vocabularies, $ZOO_DATA.

>>> import numpy as np
>>> from zoo.data import bucket_boundaries, build_vocab
>>> bucket_boundaries([16, 32, 64])
[17, 33, 65]
>>> build_vocab(["a", "b", "a"], min_count=2)
{'a': 2}
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from .errors import DataFormatError


def data_root() -> Path:
    """$ZOO_DATA, or ../shared/data beside the checkout."""
    env = os.environ.get("ZOO_DATA")
    if env:
        return Path(env)
    from .registry import repo_root

    return repo_root().parent / "shared" / "data"


def dataset_name(path: str | Path) -> str:
    """How a bundle names a data file: relative to $ZOO_DATA when it lies there (the
    registry's `default_data/valid_file` form, the same on every machine), else as given.

    >>> dataset_name(data_root() / "poly" / "jsb.npz"), dataset_name("mine.csv")
    ('poly/jsb.npz', 'mine.csv')
    """
    try:
        return str(Path(path).resolve().relative_to(data_root().resolve()))
    except ValueError:
        return str(path)


def read_split(entry, data_dir: str | Path, split: str) -> list:
    """The examples of `split` ("train" or "valid") of a dataset folder laid out like the
    entry's default data: `data_dir / entry.train_file` (or valid_file) through the data
    module's `read`, or its `read_split(data_dir, split)` where one file or folder holds
    both splits (FSDD recordings, stock histories cut by date)."""
    data = entry.module("data")
    if hasattr(data, "read_split"):
        return data.read_split(Path(data_dir), split)
    if split not in ("train", "valid"):
        raise DataFormatError(f"{entry.name} reads one split per file ({entry.train_file}, "
                              f"{entry.valid_file}); got split {split!r}: pass the file itself")
    return data.read(existing(Path(data_dir) / getattr(entry, f"{split}_file")))


def existing(path: str | Path, what: str = "data file") -> Path:
    """`path` as a Path, or a DataFormatError saying which file is missing."""
    p = Path(path)
    if not p.exists():
        raise DataFormatError(f"{p}: no such {what}")
    return p


def build_vocab(items: Iterable[str], min_count: int = 1, reserved: int = 2) -> dict:
    """Map items seen at least `min_count` times to ids from `reserved` on (0 pad, 1 unknown),
    most frequent first."""
    counts = Counter(items)
    kept = [w for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if c >= min_count]
    return {w: i for i, w in enumerate(kept, start=reserved)}


def bucket_boundaries(buckets: list[int]) -> list[int]:
    """tf.data's exclusive boundaries for inclusive bucket sizes (a batch pads to boundary - 1)."""
    return [b + 1 for b in sorted(buckets)]


def batches_per_epoch(lengths: list[int], buckets: list[int], batch_size: int,
                      drop_remainder: bool) -> int:
    """How many batches `bucketed_batches` yields for examples of these lengths."""
    counts = Counter(next(b for b in sorted(buckets) if n <= b) for n in lengths if n <= max(buckets))
    div = (lambda c: c // batch_size) if drop_remainder else (lambda c: -(-c // batch_size))
    return sum(div(c) for c in counts.values())


def bucketed_batches(ds, length_fn, buckets: list[int], batch_size: int, pad_values,
                     drop_remainder: bool = False, lengths: list[int] | None = None):
    """Batch `ds` by length: every batch is padded to one of `buckets`, so a jit-compiled
    model sees only len(buckets) shapes (few recompilations, little wasted padding).
    Examples longer than the largest bucket are dropped; callers split them first.
    Given the examples' `lengths`, the dataset knows its size (progress bars show ETAs)."""
    import tensorflow as tf

    boundaries = bucket_boundaries(buckets)
    ds = ds.filter(lambda *ex: length_fn(*ex) <= max(buckets))
    ds = ds.bucket_by_sequence_length(
        element_length_func=length_fn,
        bucket_boundaries=boundaries,
        bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        padding_values=pad_values,
        pad_to_bucket_boundary=True,
        drop_remainder=drop_remainder,
    )
    if lengths is not None:
        n = batches_per_epoch(lengths, buckets, batch_size, drop_remainder)
        ds = ds.apply(tf.data.experimental.assert_cardinality(n))
    return ds
