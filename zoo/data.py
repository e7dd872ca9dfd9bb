"""Shared tf.data pieces: length bucketing with padding, vocabularies, $ZOO_DATA.

>>> import numpy as np
>>> from zoo.data import bucket_boundaries, build_vocab
>>> bucket_boundaries([16, 32, 64])
[17, 33, 65]
>>> build_vocab(["a", "b", "a"], min_count=2)
{'a': 2}
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterable

from .errors import DataFormatError, InputError

log = logging.getLogger(__name__)


# Spaces as tokenizers split on them: every character Python's str.split() takes for one,
# and the zero-width ones text pasted from a web page or a word processor carries. As
# literal characters in a class, which Python `re` and RE2 (tensorflow-text's graphs) read
# alike: RE2's \s is ASCII only, Python's is Unicode, so a non-breaking space split a word
# in `predict()` and not in the exported SavedModel.
# Control characters (NUL, BEL, ESC: "Paris\x1b[31m" was one word, and an entity's text
# sent the escape to a terminal) are spaces too.
SPACES = (" \t\n\r\f\v\x1c-\x1f\x85\u00a0\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
          "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f")
# Format characters (Unicode category Cf) but the zero-width space (a space above): a soft
# hyphen, zero-width (non-)joiners, the word joiner, direction marks, a byte-order mark,
# emoji tags. Invisible, they change no word, yet "Ger\u00admany" was a word unknown to
# the model. Literal characters, read alike by Python `re` and RE2 (tests/test_unicode.py
# checks the class against unicodedata).
FORMAT = ("\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200c-\u200f"
          "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
          "\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
          "\U000e0020-\U000e007f")
_FORMAT_RE = re.compile(f"[{FORMAT}]")
# Typographic quotes and apostrophes as the ASCII ones every corpus here was written with:
# "O’Neill" was a word unknown to the tagger, where "O'Neill" was a person.
SINGLE_QUOTES, DOUBLE_QUOTES = "‘’‚‛′", "“”„‟″"
_QUOTES = str.maketrans(dict.fromkeys(SINGLE_QUOTES, "'") | dict.fromkeys(DOUBLE_QUOTES, '"'))


def plain(text: str) -> str:
    """Text as the text models read it: format characters dropped, then NFKC, so the
    same words typed another way read alike: decomposed accents (NFD "Cafe\u0301", as macOS
    file names and some keyboards give them), fullwidth "ＩＢＭ １９９６", ligatures "ﬁnance",
    a soft hyphen inside "Ger\u00admany", curly quotes "O’Neill". The SavedModels do the
    same (graph_plain).

    >>> plain("Cafe\u0301 ＩＢＭ ﬁnance Ger\u00admany O’Neill")
    "Café IBM finance Germany O'Neill"
    """
    import unicodedata

    if text.isascii():          # the common case: nothing to do (controls are spaces)
        return text
    return unicodedata.normalize("NFKC", _FORMAT_RE.sub("", text)).translate(_QUOTES)


def plain_spans(text: str) -> tuple[str, list[tuple[int, int]]]:
    """plain(text) and, for each of its characters, the (start, end) of the characters of
    `text` it came from, so answers index the text as given (a tagger's entity offsets).
    Normalised a base character and its combining marks at a time (NFKC joins no wider).

    >>> plain_spans("Ge\u00adr ﬁ")
    ('Ger fi', [(0, 1), (1, 2), (3, 4), (4, 5), (5, 6), (5, 6)])
    """
    import unicodedata

    if text.isascii():
        return text, [(i, i + 1) for i in range(len(text))]
    kept = [i for i, c in enumerate(text) if not _FORMAT_RE.match(c)]
    out, spans, k = [], [], 0
    while k < len(kept):
        j = k + 1               # marks, and Hangul vowel and final jamo, join their base
        while j < len(kept) and (unicodedata.combining(text[kept[j]])
                                 or "\u1160" <= text[kept[j]] <= "\u11ff"):
            j += 1
        piece = "".join(text[i] for i in kept[k:j])
        piece = unicodedata.normalize("NFKC", piece).translate(_QUOTES)
        out.append(piece)
        spans += [(kept[k], kept[j - 1] + 1)] * len(piece)
        k = j
    return "".join(out), spans


def graph_plain(texts):
    """plain() in a TensorFlow graph (a SavedModel's string input): RE2 drops the format
    characters, tensorflow-text's ICU normalises to NFKC, quotes become ASCII ones."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    # controls first (spaces to the tokenizers): ICU's normaliser ended a text at a NUL
    texts = tf.strings.regex_replace(texts, r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]", " ")
    texts = tf_text.normalize_utf8(tf.strings.regex_replace(texts, f"[{FORMAT}]", ""), "NFKC")
    texts = tf.strings.regex_replace(texts, f"[{SINGLE_QUOTES}]", "'")
    return tf.strings.regex_replace(texts, f"[{DOUBLE_QUOTES}]", '"')


def lines(text: str) -> list[str]:
    r"""The lines of a data file, split at line ends ("\n", "\r\n", "\r") only.
    str.splitlines() also splits at U+2028/U+2029, U+0085, \x0b, \x0c and \x1c-\x1e, which
    JSON keeps raw inside a string (json.dumps(ensure_ascii=False)) and word processors put
    inside a sentence: a JSON line broke in two, a CoNLL line lost its tag.

    >>> lines('{"t": "a\u2028b"}\r\nx\n')
    ['{"t": "a\u2028b"}', 'x']
    """
    out = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return out[:-1] if out[-1] == "" else out


def data_root() -> Path:
    """$ZOO_DATA, or ../shared/data beside the checkout."""
    env = os.environ.get("ZOO_DATA", "")
    if env.strip():             # blank, as empty, is unset (an invisible name in messages)
        return Path(env)
    from .registry import repo_root

    return repo_root().parent / "shared" / "data"


def dataset_name(path: str | Path) -> str:
    """How a bundle names a data file or folder, the same on every machine: relative to
    $ZOO_DATA when it lies there (the registry's `default_data/valid_file` form), else by
    its name and content hash, never by the absolute path of the machine that trained.

    >>> dataset_name(data_root() / "poly" / "jsb.npz"), dataset_name("mine.csv")
    ('poly/jsb.npz', 'mine.csv')
    """
    p = Path(path)
    try:
        return str(p.resolve().relative_to(data_root().resolve()))
    except ValueError:
        pass
    if p.is_file():
        with open(p, "rb") as f:
            return f"{p.name} (sha256 {hashlib.file_digest(f, 'sha256').hexdigest()[:12]})"
    if p.is_dir():                 # a folder: hash of its file names and sizes (cheap)
        listing = "\n".join(f"{f.relative_to(p)} {f.stat().st_size}"
                             for f in sorted(p.rglob("*")) if f.is_file())
        return f"{p.name}/ (sha256 {hashlib.sha256(listing.encode()).hexdigest()[:12]})"
    return p.name


def portable(text: str) -> str:
    """`text` (a recorded command, a data name) with this machine's data folder written as
    $ZOO_DATA, so cards read the same wherever they are rendered.

    >>> portable(f"zoo train x --data {data_root().resolve()}/fsdd")
    'zoo train x --data $ZOO_DATA/fsdd'
    """
    for prefix in (str(data_root().resolve()), str(data_root()), "../shared/data"):
        text = text.replace(prefix, "$ZOO_DATA")
    return text


def portable_record(obj, key: str = ""):
    """`obj` (metrics.json's contents) with every string made `portable`; data names
    ("data", "split") relative to $ZOO_DATA, as `dataset_name` writes them; an export's
    "path" (a temporary folder, once the check is done) by its file name; an absolute
    `--out` folder in a "command" by `runs/` and its name (where it was written on the
    machine that ran it says nothing to a reader).

    >>> portable_record({"data": f"{data_root().resolve()}/x/valid.txt", "n": 3})
    {'data': 'x/valid.txt', 'n': 3}
    >>> portable_record({"command": "zoo train charlm-lstm --out /scratch/me/gru4 --cell gru"})
    {'command': 'zoo train charlm-lstm --out runs/gru4 --cell gru'}
    """
    if isinstance(obj, dict):
        return {k: portable_record(v, k) for k, v in obj.items()}
    if isinstance(obj, list):
        return [portable_record(v, key) for v in obj]
    if isinstance(obj, str):
        if key == "path":
            return Path(obj).name
        text = portable(obj)
        if key == "command":
            text = re.sub(r"(--out[ =])(/\S+)", lambda m: f"{m[1]}runs/{Path(m[2]).name}", text)
        return text.removeprefix("$ZOO_DATA/") if key in ("data", "split") else text
    return obj


# Every dataset has three splits (DESIGN.md "Splits"): train; "valid", the selection split
# (epochs, hyper-parameters, decoding settings and seeds are chosen on it); and "report",
# an untouched split carved from train by a documented rule per dataset (by document,
# piece, speaker, ticker, base emoji), on which nothing is chosen.
SPLITS = ("train", "valid", "report")
SPLIT_ALIASES = {"val": "valid", "dev": "valid", "validation": "valid", "selection": "valid",
                 "heldout": "report"}
REPORT_SHARE = 10              # one group in ten goes to the report split


def split_name(split: str, where, test_hint: str = "") -> str:
    """The canonical name of `split`, or a DataFormatError naming the splits there are.

    >>> split_name("dev", "x"), split_name("heldout", "x")
    ('valid', 'report')
    """
    name = SPLIT_ALIASES.get(split, split) if isinstance(split, str) else split
    if name in SPLITS:
        return name
    hint = ""
    if split == "test":
        hint = (" The datasets' own test splits are kept aside and are not in $ZOO_DATA"
                + (f"; {test_hint}" if test_hint else "") + ".")
    raise DataFormatError(f"{where}: unknown split {split!r}; expected train, valid (the "
                          f"selection split; aliases val, dev) or report (untouched: nothing "
                          f"is chosen on it).{hint}")


def in_report(group: str) -> bool:
    """Whether a group (a document, a piece, a ticker, a base emoji) belongs to the report
    split: one in REPORT_SHARE, by CRC-32 of its key, so every machine carves the same.

    >>> [t for t in ["AAPL", "MSFT", "XOM", "GE", "A"] if in_report(t)]
    ['GE']
    """
    return zlib.crc32(group.encode("utf-8")) % REPORT_SHARE == 0


_PUNCT = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Text as the split de-duplication compares it: NFKC, lower-case, punctuation dropped,
    whitespace folded (a headline in capitals and the same headline in lower case are one
    example).

    >>> fold("  SOCCER - Results,\tENGLISH  league!")
    'soccer results english league'
    """
    import unicodedata

    return " ".join(_PUNCT.sub(" ", unicodedata.normalize("NFKC", text).lower()).split())


LEFT_OUT: dict = {}        # dataset name -> report examples left out as seen in train
_said: set = set()


def unseen(report: list, train: list, key, where,
           how: str = "lower-case, punctuation and spaces folded") -> list:
    """The report examples whose content, `fold(key(e))`, occurs in no training example.
    Groups keep a document or a package on one side, not its text: 202 of CoNLL-2003's
    1,272 report sentences (sports tables, datelines, headlines repeated across documents)
    and 284 of Debian's 5,501 report descriptions (shared by two source packages) were also
    in train, so the headline scored examples the model had learnt
    (benchmarks/results/split_overlap.md). The count is logged once and kept in
    LEFT_OUT[dataset_name(where)]. The selection split (valid) is left as it is: it
    chooses, it does not report.

    >>> unseen([{"t": "Hello, world"}, {"t": "new"}], [{"t": "hello world"}],
    ...        lambda e: e["t"], "x")
    [{'t': 'new'}]
    """
    seen = {fold(key(e)) for e in train}
    return left_out(report, [fold(key(e)) in seen for e in report], where, how)


def left_out(report: list, seen: list, where, how: str) -> list:
    """`report` without the examples `seen` in train: the count logged once, and kept in
    LEFT_OUT (see `unseen`)."""
    kept = [e for e, s in zip(report, seen) if not s]
    name = dataset_name(where)
    LEFT_OUT[name] = len(report) - len(kept)
    if len(kept) < len(report) and name not in _said:
        _said.add(name)
        log.info(
            "%s [report]: %d of %d examples also occur in train (%s) and are left out",
            name, len(report) - len(kept), len(report), how)
    return kept


def carve(examples: list, group, split: str) -> list:
    """The `split` ("train" or "report") part of examples read from a training file:
    the examples whose group `in_report`, or the others."""
    return [e for e in examples if in_report(group(e)) == (split == "report")]


def read_split(entry, data_dir: str | Path, split: str) -> list:
    """The examples of `split` (train, valid or report; see SPLITS) of a dataset folder
    laid out like the entry's default data, through the data module's
    `read_split(data_dir, split)`. Unknown split names are refused, never read as train."""
    if isinstance(data_dir, bool) or not isinstance(data_dir, (str, os.PathLike)) \
            or not str(data_dir).strip():      # data=3 was a raw TypeError
        raise InputError(f"{entry.name}: data must be a dataset folder laid out like "
                         f"$ZOO_DATA/{entry.default_data}; got {data_dir!r}")
    check_root(data_dir)
    if not os.path.lexists(data_dir):
        # the reader named a file the user never typed ("conll2003/train.txt: no such NER
        # data file"): the folder given is what is missing
        raise DataFormatError(f"{data_dir}: no such folder; expected a dataset folder laid "
                              f"out like $ZOO_DATA/{entry.default_data}")
    return entry.module("data").read_split(Path(data_dir), split)


def check_root(path: str | Path) -> None:
    """A DataFormatError naming $ZOO_DATA when `path` lies under the data folder and that
    folder is missing or a file: the readers named only a path below it ("…/README.md/
    conll2003/valid.txt: no such NER data file", or "a file where a dataset folder holding
    fsdd was expected; read a file without --split"), never the variable to set.

    >>> check_root("mine/train.txt")
    """
    root = data_root()
    if root.is_dir() or not Path(path).is_relative_to(root):
        return
    from .registry import repo_root

    given = os.environ.get("ZOO_DATA", "").strip()
    if not given and not (repo_root() / "pyproject.toml").is_file():
        # installed by pip, the default is a folder beside site-packages that no one made
        raise DataFormatError("$ZOO_DATA is not set, and an installed rnn-zoo has no data "
                              "folder of its own; set $ZOO_DATA to a folder holding the "
                              "datasets, or give your own data")
    how = ("$ZOO_DATA" if given
           else "the default, ../shared/data beside the checkout")
    what = "is a file" if root.exists() else "does not exist"
    raise DataFormatError(f"the data folder {root} ({how}) {what}; expected a folder holding "
                          f"the datasets (set $ZOO_DATA to it), or give your own data")


def holdout(examples: list, share: float = 0.1, minimum: int = 2) -> tuple[list, list]:
    """(train, validation): `share` of `examples` (at least `minimum`), spread evenly over
    them, held out to choose the epoch when a user fine-tunes without naming validation
    data. Deterministic: the same data gives the same slice.

    >>> train, valid = holdout(list(range(30)))
    >>> len(train), valid
    (27, [9, 19, 29])
    """
    k = max(minimum, round(share * len(examples)))
    step = len(examples) / k
    held = {int((j + 1) * step) - 1 for j in range(k)}
    return ([e for i, e in enumerate(examples) if i not in held],
            [e for i, e in enumerate(examples) if i in held])


def wide_unicode(raw: bytes) -> str | None:
    """"UTF-16" or "UTF-32" where `raw` starts with that encoding's byte-order mark."""
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if raw.startswith(bom):
            return name
    return None


def decode_text(raw: bytes, where: str, what: str = "a UTF-8 text file",
                error: type = DataFormatError) -> str:
    r"""`raw` as UTF-8 text, with or without a byte-order mark (Excel and Windows editors
    write one; it is no part of the first token); else `error` naming `where`, the line of
    the first byte that is not UTF-8 (a byte offset told a user nothing) or the UTF-16 /
    UTF-32 of Notepad's "Unicode" (was "invalid start byte" on line 1), and `what` was
    expected.

    >>> decode_text(b"\xef\xbb\xbfpath,text", "x.csv")
    'path,text'
    >>> decode_text(b"a\nb\xe9c", "x.txt")
    Traceback (most recent call last):
    zoo.errors.DataFormatError: x.txt:2: not UTF-8 text (invalid continuation byte); expected a UTF-8 text file (latin-1 and others: save it as UTF-8)
    """
    if wide_unicode(raw):
        raise error(f"{where}: {wide_unicode(raw)} text (its byte-order mark); expected {what} "
                    f"(save it as UTF-8)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = e.object[:e.start].count(b"\n") + 1    # e.object: after a BOM
        raise error(f"{where}:{line}: not UTF-8 text ({e.reason}); expected {what} "
                    f"(latin-1 and others: save it as UTF-8)") from None


def read_text(path: Path, what: str = "a UTF-8 text file") -> str:
    r"""The text of a data file, plain or `.gz`, as every reader takes it: UTF-8 with or
    without a byte-order mark (Excel and Windows editors write one; it is no part of the
    first token or column name); a DataFormatError names the line of a byte that is not
    UTF-8 (a byte offset told a user nothing), or a .gz that is not gzip.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.csv"
    >>> _ = p.write_bytes(b"\xef\xbb\xbfpath,text\nr\xe9sum\xe9,1\n")
    >>> read_text(p)
    Traceback (most recent call last):
    zoo.errors.DataFormatError: ...x.csv:2: not UTF-8 text (invalid continuation byte); expected a UTF-8 text file (latin-1 and others: save it as UTF-8)
    """
    import gzip

    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as e:      # a .gz that is not gzip, or cut short
        kind = "gzip file" if path.suffix == ".gz" else "file"
        raise DataFormatError(f"{path}: not a readable {kind} ({e}); expected {what}") from None
    return decode_text(raw, str(path), what)


def existing(path: str | Path, what: str = "data file", folder_ok: bool = False) -> Path:
    """`path` as a Path, or a DataFormatError saying which file is missing (or that it is a
    folder where a file was expected)."""
    p = Path(path)
    if not p.exists() and p.parent.is_file():      # a split asked of one file: say so
        # `zoo train --data FILE` lands here too, where "without --split" meant nothing
        raise DataFormatError(f"{p.parent}: a file where a dataset folder holding {p.name} "
                              f"was expected (zoo train, --split); a file of your own is read "
                              f"whole: zoo evaluate or zoo fine-tune --data FILE, without "
                              f"--split (split=)")
    if not p.exists():               # a dangling or looping symbolic link is named as one
        from .options import not_found

        raise DataFormatError(f"{p}: {not_found(p, what)}")
    if p.is_dir() and not folder_ok:
        # fine-tune has no --split: the hint says where it applies
        raise DataFormatError(f"{p}: is a folder; expected a {what} (a dataset folder's split: "
                              f"zoo evaluate --split train|valid|report)")
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
    """Batch `ds` by length: every batch is padded to one of `buckets`, so a compiled
    model sees only len(buckets) shapes (few retracings, little wasted padding).
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
