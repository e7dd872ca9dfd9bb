"""NER data: CoNLL / JSONL readers, tag-scheme conversion, vocabularies, tf.data pipeline.

Readers accept CoNLL files (any number of space- or tab-separated columns, the tag last;
IOB1, IOB2 or BIOES, converted to IOB2; -DOCSTART- skipped) and JSON lines
`{"tokens": [...], "tags": [...]}`.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "tiny.conll")
>>> _ = open(path, "w").write("EU NNP B-NP I-ORG\\nrejects VBZ B-VP O\\n\\n")
>>> read(path)                       # IOB1 in, IOB2 out
[{'tokens': ['EU', 'rejects'], 'tags': ['B-ORG', 'O']}]
"""
from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
from pathlib import Path

import numpy as np

from zoo.data import (build_vocab, carve, data_root, existing, lines, plain, read_text,
                      split_name, unseen)
from zoo.errors import DataFormatError, InputError
from zoo.options import check_buckets, check_number

from .host import UNK, featurize, lower, output_tag, word_id

log = logging.getLogger("zoo")
TAG_RE = re.compile(r"O|[BIES]-\S+")
SCHEMES = ("IOB2", "BIOES")           # the tags a model is trained on (fit_preprocessor)
# What fit_preprocessor's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"tag_scheme": SCHEMES, "lowercase": (0.0, 1.0), "min_word_count": (0, None),
           "max_word_chars": (1, 1000)}


# What every example read() returns has: evaluate() checks examples passed in memory.
EXAMPLE_KEYS = ("tokens", "tags")


def read(path: str | Path) -> list[dict]:
    """Sentences as {"tokens": [...], "tags": [...]} with IOB2 tags."""
    path = existing(path, "NER data file")
    # lines(), not splitlines(): a U+2028 in a token split its line from its tag
    rows = lines(read_text(path, "a UTF-8 CoNLL or JSON-lines file, plain or gzipped"))
    first = next((ln for ln in rows if ln.strip()), "")
    read_rows = _read_jsonl if first.lstrip().startswith("{") else _read_conll
    sentences = read_rows(path, rows)
    _name_documents(sentences)
    if not sentences:
        raise DataFormatError(f"{path}: no sentences found; expected CoNLL lines "
                              f"'TOKEN ... TAG' or JSON lines {{\"tokens\": [...], \"tags\": [...]}}")
    return to_iob2(sentences)


def _name_documents(sentences: list[dict]) -> None:
    """Replace each sentence's document number ("doc", files with -DOCSTART- lines) by a
    hash of its whole document's text: the group the report split is carved by, so a
    repeated document falls on one side of it."""
    docs: dict = {}
    for s in sentences:
        if "doc" in s:
            docs.setdefault(s["doc"], []).append(" ".join(s["tokens"]))
    names = {d: hashlib.sha1("\n".join(t).encode()).hexdigest()[:16] for d, t in docs.items()}
    for s in sentences:
        if "doc" in s:
            s["doc"] = names[s["doc"]]


def columns(line: str) -> list[str]:
    r"""A CoNLL line's columns: split at tabs where it has any (a token may then hold a
    space), else at spaces. Only these: str.split() also split at a no-break space, U+2028
    or U+3000, and read "New\u00a0York NNP B-LOC" as the token "New".

    >>> columns("New\u00a0York NNP  B-LOC "), columns("New York\tNNP\tB-LOC")
    (['New\xa0York', 'NNP', 'B-LOC'], ['New York', 'NNP', 'B-LOC'])
    """
    cols = (c.strip(" ") for c in line.split("\t" if "\t" in line else " "))
    return [c for c in cols if c]


def _check_token(path: Path, n: int, token: str, i: int = 0) -> str:
    """`token` (the i-th of line n), if it is not blank: predict() refuses a blank token,
    and evaluate() on such a file failed with "input 3: ... none empty or blank", naming
    no line of the file."""
    if not token.strip():
        raise DataFormatError(f"{path}:{n}: token {i + 1} is blank ({token!r}); expected "
                              f"tokens with a visible character (leave whitespace tokens out)")
    return token


def _read_conll(path: Path, lines: list[str]) -> list[dict]:
    """Sentences; in files with -DOCSTART- lines each also says its document ("doc")."""
    sentences, tokens, tags, doc = [], [], [], None
    for n, line in enumerate(lines + [""], start=1):
        cols = columns(line) if line.strip() else []
        if not cols or cols[0] == "-DOCSTART-":
            if tokens:
                sentences.append({"tokens": tokens, "tags": tags}
                                 | ({"doc": doc} if doc is not None else {}))
                tokens, tags = [], []
            if cols:
                doc = 0 if doc is None else doc + 1
            continue
        if len(cols) < 2 or not TAG_RE.fullmatch(cols[-1]):
            space = next((c for c in line if c.isspace() and c not in " \t"), "")
            hint = (f" (columns are split at spaces and tabs, not at {space!r})"
                    if space and TAG_RE.fullmatch(line.split()[-1]) else "")
            raise DataFormatError(f"{path}:{n}: expected 'TOKEN [columns ...] TAG' with a tag "
                                  f"like O, B-PER, I-LOC, E-ORG or S-MISC last; got "
                                  f"{line!r:.80}{hint}")
        tokens.append(_check_token(path, n, cols[0]))
        tags.append(cols[-1])
    return sentences


def _read_jsonl(path: Path, lines: list[str]) -> list[dict]:
    sentences = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
            tokens, tags = obj["tokens"], obj["tags"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise DataFormatError(f"{path}:{n}: expected a JSON object with \"tokens\" and "
                                  f"\"tags\" lists ({type(e).__name__}: {e})") from None
        except RecursionError:      # [[[[...: the parser's stack (a raw RecursionError)
            raise DataFormatError(f"{path}:{n}: its JSON nests lists too deeply to read; "
                                  f"expected an object with \"tokens\" and \"tags\" lists"
                                  ) from None
        if not isinstance(tokens, list) or not isinstance(tags, list):
            # a string passed the length check: tags "OO" for two tokens, "Paris" as 5 tokens
            raise DataFormatError(f"{path}:{n}: expected \"tokens\" and \"tags\" to be lists; "
                                  f"got {type(tokens).__name__} and {type(tags).__name__}")
        bad = [t for t in tags if not isinstance(t, str) or not TAG_RE.fullmatch(t)]
        if len(tokens) != len(tags) or not tokens or bad:
            raise DataFormatError(f"{path}:{n}: expected equally long, non-empty token and tag "
                                  f"lists with tags like O or B-PER; got {len(tokens)} tokens, "
                                  f"{len(tags)} tags{', bad tag ' + repr(bad[0]) if bad else ''}")
        odd = [t for t in tokens if isinstance(t, bool) or not isinstance(t, (str, int, float))]
        if odd:       # null was the token "None"
            raise DataFormatError(f"{path}:{n}: expected tokens that are strings (or numbers); "
                                  f"got {odd[0]!r:.40}")
        sentences.append({"tokens": [_check_token(path, n, str(t), i) for i, t in enumerate(tokens)],
                          "tags": tags})
    return sentences


def detect_scheme(sentences: list[dict]) -> str:
    """'BIOES' if E-/S- tags occur, 'IOB1' if an entity starts with I-, else 'IOB2'."""
    tags = [t for s in sentences for t in s["tags"]]
    if any(t[:2] in ("E-", "S-") for t in tags):
        return "BIOES"
    for s in sentences:
        prev = "O"
        for t in s["tags"]:
            if t.startswith("I-") and prev[2:] != t[2:]:
                return "IOB1"
            prev = t
    return "IOB2"


def to_bioes(tags: list[str]) -> list[str]:
    """One sentence's IOB2 tags in BIOES: a span's last token E-, a one-token span S-. A
    model trained on them (fit_preprocessor's `tag_scheme`) learns where spans end as well
    as where they begin; host.output_tag maps its tags back to IOB2 token by token.

    >>> to_bioes(["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC"])
    ['B-PER', 'I-PER', 'E-PER', 'O', 'S-LOC', 'S-LOC']
    """
    out = []
    for tag, after in zip(tags, tags[1:] + ["O"]):
        goes_on = after == "I-" + tag[2:]
        if tag.startswith("B-") and not goes_on:
            tag = "S-" + tag[2:]
        elif tag.startswith("I-") and not goes_on:
            tag = "E-" + tag[2:]
        out.append(tag)
    return out


def to_iob2(sentences: list[dict]) -> list[dict]:
    """The sentences with IOB2 tags (evaluate.as_iob2, sentence by sentence). Each one,
    not the file's one detected scheme: a BIOES file with a stray I- after O kept it, and
    strict IOB2 (evaluate, a BIOES model's to_bioes) reads no span starting there."""
    from .evaluate import as_iob2

    out = [{**s, "tags": as_iob2(s["tags"])} for s in sentences]
    changed = sum(a["tags"] != s["tags"] for a, s in zip(out, sentences))
    if changed:
        log.info("tag scheme %s detected; %d sentence(s) converted to IOB2",
                 detect_scheme(sentences), changed)
    return out


# The report split (nothing is chosen on it): one CoNLL document in ten, by a hash of the
# document's text, carved from train.txt; valid.txt (eng.testa) is the selection split.
REPORT_RULE = ("one document in ten of train.txt (a CRC-32 of the document's text; files "
               "without -DOCSTART- lines: one sentence in ten); report sentences whose "
               "text (case and punctuation folded) is also in train are left out")
TRAIN_FILE, VALID_FILE = "train.txt", "valid.txt"


def report_group(sentence: dict) -> str:
    """The group the report split holds out together: the sentence's document (a hash of
    its text), or the sentence itself in files without -DOCSTART- lines."""
    return sentence.get("doc") or " ".join(sentence["tokens"])


def read_split(data_dir: Path, split: str) -> list[dict]:
    """`split` of a folder holding train.txt and valid.txt (CoNLL-2003's layout): train and
    report are carved from train.txt (REPORT_RULE); valid is valid.txt."""
    split = split_name(split, data_dir)
    if split == "valid":
        return read(Path(data_dir) / VALID_FILE)
    sentences = read(Path(data_dir) / TRAIN_FILE)
    train = carve(sentences, report_group, "train")
    if split == "train":
        return train
    # a sentence repeated in another document (a results line, a dateline) was trained on
    return unseen(carve(sentences, report_group, "report"), train, sentence_text, data_dir)


def sentence_text(sentence: dict) -> str:
    """What makes two sentences the same example (zoo.data.unseen): their tokens."""
    return " ".join(sentence["tokens"])


def load_vectors(path: Path) -> tuple[list[str], np.ndarray]:
    """Words and vectors of a GloVe text file (optionally gzipped)."""
    path = existing(path, "word-vector file")
    words, rows = [], []
    with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip().split(" ")
            words.append(parts[0])
            rows.append(np.asarray(parts[1:], np.float32))
    return words, np.stack(rows)


def fit_preprocessor(train: list[dict], embeddings: str = "glove/glove.6B.50d.filtered.txt.gz",
                     min_word_count: int = 2, max_word_chars: int = 20,
                     buckets=(8, 16, 24, 32, 48, 64, 96, 128), seed: int = 0,
                     lowercase: float = 0.0, tag_scheme: str = "IOB2") -> tuple[dict, dict]:
    """Vocabularies and label map from training sentences; GloVe rows as initial weights.

    Every GloVe word is kept (so words unseen in training still get a meaning), plus the
    training words GloVe lacks that occur `min_word_count` times (random init).
    `lowercase`: the share of training sentences shown lower-cased each epoch
    (make_dataset), so text without capitals is not a new language to the model.
    `tag_scheme` "BIOES": the model tags in BIOES (to_bioes) and answers in IOB2 like any
    other; data files stay IOB2 (or anything read() converts)."""
    if tag_scheme not in SCHEMES:
        raise InputError(f"tag_scheme must be one of {list(SCHEMES)}; got {tag_scheme!r}")
    glove_words, vectors = load_vectors(data_root() / embeddings)
    words = {w: i for i, w in enumerate(glove_words, start=2)}
    lowered = [lower(plain(t)) for s in train for t in s["tokens"]]     # as featurize reads them
    for w in build_vocab(lowered, min_count=min_word_count):
        words.setdefault(w, len(words) + 2)
    rng = np.random.default_rng(seed)
    scale = float(vectors.std())
    matrix = rng.normal(0, scale, (len(words) + 2, vectors.shape[1])).astype(np.float32)
    matrix[0] = 0.0
    matrix[2:2 + len(glove_words)] = vectors
    chars = build_vocab([c for s in train for t in s["tokens"] for c in plain(t)], min_count=2)
    prep = {"words": words, "chars": chars, "labels": labels_of(train),
            "max_word_chars": max_word_chars, "buckets": check_buckets(buckets)}
    # Only when asked: bundles trained without these keep their preprocessor as it was.
    if lowercase:
        prep["lowercase"] = check_number(lowercase, "lowercase", 0, 1)
    if tag_scheme == "BIOES":
        prep["tag_scheme"] = tag_scheme
        prep["labels"] = scheme_labels(prep)
    return prep, {"word_vectors": matrix}


def scheme_labels(prep: dict) -> list[str]:
    """prep's labels with, for a BIOES model, the B-, I-, E- and S- label of every type
    they name, the missing ones appended (the ids it has stay, as a fine-tune's merged
    label set needs).

    >>> scheme_labels({"labels": ["O", "B-PER", "I-PER"], "tag_scheme": "BIOES"})
    ['O', 'B-PER', 'I-PER', 'E-PER', 'S-PER']
    """
    labels = list(prep["labels"])
    if prep.get("tag_scheme") == "BIOES":
        kinds = sorted({t[2:] for t in labels if t != "O"})
        labels += [f"{p}-{k}" for k in kinds for p in "BIES" if f"{p}-{k}" not in labels]
    return labels


def grow_preprocessor(prep: dict, sentences: list[dict], min_word_count: int = 2,
                      lowercase: float | None = None, tag_scheme: str | None = None) -> list[str]:
    """fine_tune's hook (zoo.training.fine_tune), with the fine-tune's data
    hyper-parameters: append the new data's words seen `min_word_count` times (characters:
    twice) that the vocabularies lack (a word is known if it or its digits-as-0 form is),
    so a new domain's frequent names get rows of their own instead of sharing the unknown
    word's (how many words, and what share of the tokens, stay unknown is said); a `lowercase` share replaces the bundle's (fit_preprocessor). Old ids stay, so
    the old rows carry over (zoo.contract.copy_matching_weights); returns the new words.
    A BIOES model's label set gains the E- and S- labels of new types (scheme_labels); a
    fine-tune keeps the model's `tag_scheme` (another one is an InputError).

    Every word of the GloVe file is already in the vocabulary (fit_preprocessor), so a new
    word has no pretrained vector: its row starts random and is learnt from the new data.

    >>> prep = {"words": {"paris": 2}, "chars": {"P": 2}}
    >>> grow_preprocessor(prep, [{"tokens": ["Oslo", "Paris", "Oslo"]}])
    ['oslo']
    >>> prep["words"]["oslo"], sorted(prep["chars"])
    (3, ['O', 'P', 'l', 'o', 's'])
    """
    own = prep.get("tag_scheme", "IOB2")
    if tag_scheme not in (None, own):
        raise InputError(f"tag_scheme: this model tags in {own} and a fine-tune keeps it; got "
                         f"{tag_scheme!r} (train from scratch with --hparam tag_scheme={tag_scheme})")
    words, chars = dict(prep["words"]), dict(prep["chars"])
    known = lambda w: word_id(w, words) != UNK        # noqa: E731
    tokens = [lower(plain(t)) for s in sentences for t in s["tokens"]]
    added = [w for w in build_vocab(tokens, min_word_count) if not known(w)]
    for w in added:
        words[w] = len(words) + 2
    # the rest were seen too rarely: each reads as the one unknown word, which was unsaid.
    # A line beside the new entries', not a warning: nearly every corpus has such words,
    # and a warning every fine-tune gives teaches a user to ignore warnings
    if rare := [w for w in tokens if not known(w)]:
        print(f"fine_tune: {len(set(rare)):,} word(s) of the new data ({len(rare) / len(tokens):.1%} "
             f"of its tokens) occur fewer than min_word_count={min_word_count} times and stay "
             f"unknown, sharing one vector; min_word_count=1 (--hparam min_word_count=1) "
             f"gives each a row of its own", flush=True)
    new_chars = [c for s in sentences for t in s["tokens"] for c in plain(t)]
    for c in build_vocab(new_chars, min_count=2):
        chars.setdefault(c, len(chars) + 2)
    prep["words"], prep["chars"] = words, chars
    if prep.get("tag_scheme"):
        prep["labels"] = scheme_labels(prep)
    if lowercase is not None:
        prep["lowercase"] = check_number(lowercase, "lowercase", 0, 1)
    return added


def lower_cased(sentence: dict) -> dict:
    """The sentence as if typed without capitals (case augmentation; how
    docs/models/ner-bilstm.md measures a tagger on such text).

    >>> lower_cased({"tokens": ["Angela", "Merkel"], "tags": ["B-PER", "I-PER"]})
    {'tokens': ['angela', 'merkel'], 'tags': ['B-PER', 'I-PER']}
    """
    return {**sentence, "tokens": [lower(t) for t in sentence["tokens"]]}      # "İ": "i"


def chunks(sentence: dict, size: int):
    for s in range(0, len(sentence["tokens"]), size):
        yield {k: v[s:s + size] for k, v in sentence.items()}


def make_dataset(sentences: list[dict], prep: dict, batch_size: int = 32, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False):
    """(features, tag ids) batches bucketed by length; tags padded with -1. While training
    (`shuffle`), the preprocessor's `lowercase` share of the sentences is lower-cased,
    drawn afresh each epoch (its seed): the characters and casing features then look like
    text typed without capitals, the words (looked up lower-cased) stay the same."""
    import tensorflow as tf

    from zoo.data import bucketed_batches

    label_ids = {t: i for i, t in enumerate(prep["labels"])}
    pieces = [c for s in sentences for c in chunks(s, max(prep["buckets"]))]
    if prep.get("tag_scheme") == "BIOES":
        pieces = [{**p, "tags": to_bioes(p["tags"])} for p in pieces]
    if shuffle and prep.get("lowercase"):
        rng = np.random.default_rng(seed)
        pieces = [lower_cased(p) if rng.random() < prep["lowercase"] else p for p in pieces]
    from zoo.monitor import progress

    # a sign of life while a big file is turned into ids (200k sentences: a minute, silent)
    feats = [featurize(p["tokens"], prep)
             for p in progress(pieces, desc="reading sentences", unit="sentences")]
    try:
        tags = [np.array([label_ids[t] for t in p["tags"]], np.int32) for p in pieces]
    except KeyError as e:
        raise DataFormatError(f"tag {e.args[0]!r} is not in the model's label set "
                              f"{prep['labels']}; fine_tune() rebuilds the output layer for "
                              f"new labels") from None

    def ragged(rows, inner=()):
        # the same tensor as tf.ragged.constant(rows), which walked every number in Python:
        # minutes, and gigabytes, for a 200k-sentence file
        values = np.concatenate(rows) if rows else np.zeros((0, *inner), np.int32)
        return tf.RaggedTensor.from_row_lengths(values.astype(np.int32, copy=False),
                                                np.array([len(r) for r in rows], np.int64))

    x = {k: ragged([f[k] for f in feats], inner)
         for k, inner in (("word_ids", ()), ("char_ids", (prep["max_word_chars"],)), ("casing", ()))}
    ds = tf.data.Dataset.from_tensor_slices((x, ragged(tags)))
    ds = ds.map(lambda f, y: (f, {"emissions": y}))
    if shuffle:
        ds = ds.shuffle(len(pieces), seed=seed, reshuffle_each_iteration=True)
    ds = bucketed_batches(ds, lambda f, y: tf.shape(y["emissions"])[0], prep["buckets"], batch_size,
                          pad_values=({"word_ids": 0, "char_ids": 0, "casing": 0}, {"emissions": -1}),
                          drop_remainder=drop_remainder, lengths=[len(t) for t in tags])
    return ds.prefetch(tf.data.AUTOTUNE)


def parity_examples(sentences: list[dict], n: int = 64) -> list[str]:
    """Raw sentences (tokens joined by spaces) the bundle keeps for export parity checks."""
    return [" ".join(s["tokens"]) for s in sentences[:n]]


def labels_of(sentences: list[dict]) -> list[str]:
    """The label list a model needs for these sentences ("O" first, then sorted)."""
    return ["O"] + sorted({t for s in sentences for t in s["tags"]} - {"O"})
