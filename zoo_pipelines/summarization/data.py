"""Summarization data: CSV / JSONL readers (plain or gzipped), the subword vocabulary,
and the tf.data pipeline (length-bucketed source, fixed-length teacher-forced target).

A pair is {"document": str, "summary": str, "group": str}: the group is what the report
split holds out together (REPORT_RULE). Files: JSON lines or CSV with a header, plain or
`.gz`; the columns are `document` / `summary`, else the first of DOCUMENT_COLUMNS /
SUMMARY_COLUMNS present (any case: `Article`, `highlights`), or others named with
`read(path, document="story", summary="lead")`.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "pairs.csv")
>>> _ = open(path, "w").write('text,headline,id\\n"A long text, with commas.",Short,7\\n')
>>> read(path, document="text", summary="headline")
[{'document': 'A long text, with commas.', 'summary': 'Short', 'group': '7'}]
"""
from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np

from zoo.data import bucketed_batches, carve, existing, lines, read_text, split_name, unseen
from zoo.errors import DataFormatError
from zoo.options import check_int

from .host import BOS, EOS, RESERVED, WordPiece, pretokenize

log = logging.getLogger("zoo")
DATASETS = ("debian_descriptions", "inshorts_news", "bbc_news_summary")


# What every example read() returns has: evaluate() checks examples passed in memory.
EXAMPLE_KEYS = ("document", "summary")
# What fit_preprocessor's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"vocab_size": (len(RESERVED) + 1, 1 << 20), "max_source": (1, 1 << 16),
           "max_target": (1, 1 << 12)}


def read(path: str | Path, document: str = "document", summary: str = "summary") -> list[dict]:
    """Pairs {"document", "summary"} from a JSONL or CSV file (`.gz` or plain).
    Rows with an empty document or summary are errors (file:line), not silently dropped."""
    path = existing(path, "summarization data file")
    text = read_text(path, "a UTF-8 JSON-lines or CSV file, plain or gzipped")
    stem = path.name[:-3] if path.name.endswith(".gz") else path.name
    first = text.lstrip()[:1]
    rows = _jsonl(path, text) if stem.endswith((".jsonl", ".json")) or first == "{" else _csv(path, text)
    pairs = []
    for line, row in rows:
        cols = [_column(row, document, "document", DOCUMENT_COLUMNS),
                _column(row, summary, "summary", SUMMARY_COLUMNS)]
        if None in cols:
            kind, name, aliases = (("document", document, DOCUMENT_COLUMNS) if cols[0] is None
                                   else ("summary", summary, SUMMARY_COLUMNS))
            names = "/".join(aliases) + " (any case)" if name == kind else repr(name)
            raise DataFormatError(f"{path}:{line}: no {kind} column; expected one named "
                                  f"{names}, got {sorted(map(str, row))} (in Python, read(path, "
                                  f"document=..., summary=...) names others)")
        doc, summ = row[cols[0]], row[cols[1]]
        if not isinstance(doc, str) or not isinstance(summ, str) or not doc.strip() or not summ.strip():
            raise DataFormatError(f"{path}:{line}: {cols[0]!r} and {cols[1]!r} must be "
                                  f"non-empty strings; got {doc!r:.40} / {summ!r:.40}")
        # The group the report split is carved by: a Debian source package (all its binary
        # packages share descriptions), else the item's id, else the document itself.
        group = row.get("source_package") or row.get("id") or doc
        pairs.append({"document": doc, "summary": summ, "group": str(group)})
    if not pairs:
        raise DataFormatError(f"{path}: no pairs found; expected JSON lines "
                              f"{{\"{document}\": ..., \"{summary}\": ...}} or a CSV with those columns")
    return pairs


# What a file without a `document` / `summary` column names them (the first one present,
# in any case): other corpora's names (CNN/DailyMail: article, highlights; news: text,
# headline), read rather than refused, as the forecaster reads Date or Close. fine_tune()
# and the CLI read files with the default names, so they have no other way to say them.
DOCUMENT_COLUMNS = ("document", "text", "article", "content", "body")
SUMMARY_COLUMNS = ("summary", "highlights", "headline", "title", "abstract")


def _column(row: dict, name: str, default: str, aliases: tuple) -> str | None:
    """The key of `row` that holds `name`: itself, else (for the default name) the first
    of `aliases` in any case; None if there is none."""
    if name in row:
        return name
    if name != default:                   # a name the caller chose: that one only
        return None
    lower = {str(k).strip().lower(): k for k in row}
    return next((lower[a] for a in aliases if a in lower), None)


def _jsonl(path: Path, text: str):
    # lines(), not splitlines(): JSON keeps a U+2028 raw inside a string, a line broke there
    for n, line in enumerate(lines(text), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataFormatError(f"{path}:{n}: not valid JSON ({e.msg}); expected one object "
                                  f"per line") from None
        except RecursionError:      # [[[[...: the parser's stack (a raw RecursionError)
            raise DataFormatError(f"{path}:{n}: its JSON nests lists or objects too deeply "
                                  f"to read; expected one flat object per line") from None
        if not isinstance(row, dict):
            raise DataFormatError(f"{path}:{n}: expected a JSON object per line; got {line!r:.60}")
        yield n, row


def _csv(path: Path, text: str):
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        raise DataFormatError(f"{path}: empty CSV file (expected a header row)")
    for row in reader:
        if None in row:
            raise DataFormatError(f"{path}:{reader.line_num}: more fields than the header "
                                  f"{reader.fieldnames}; expected {len(reader.fieldnames)} "
                                  f"(quote a field that holds a comma)")
        yield reader.line_num, row


REPORT_RULE = ("one source package in ten of the train file (a CRC-32 of `source_package`, "
               "else of the item's `id`, else of the document), so a package's near-copies "
               "stay on one side; valid is the valid file; report pairs whose document (case "
               "and punctuation folded) is also in train are left out")


def report_group(pair: dict) -> str:
    """What the report split holds out together (see REPORT_RULE)."""
    return pair["group"]


def read_split(data_dir: str | Path, split: str) -> list[dict]:
    """`split` (train, valid or report) of a summarization folder: `data_dir/train.jsonl.gz`
    and `valid.jsonl.gz` (one dataset), or, given the summarization root, its
    debian_descriptions dataset; report is carved from the train file (REPORT_RULE)."""
    data_dir, split = Path(data_dir), split_name(split, data_dir)
    stem = "valid" if split == "valid" else "train"
    if not any(data_dir.glob(f"{stem}.*")) and (data_dir / DATASETS[0]).is_dir():
        data_dir = data_dir / DATASETS[0]
    for name in (f"{stem}.jsonl.gz", f"{stem}.jsonl", f"{stem}.csv.gz", f"{stem}.csv"):
        if (data_dir / name).exists():
            pairs = read(data_dir / name)
            if split != "report":
                return pairs if split == "valid" else carve(pairs, report_group, "train")
            # a description shared by two source packages (Debian) was trained on
            return unseen(carve(pairs, report_group, "report"),
                          carve(pairs, report_group, "train"), lambda p: p["document"],
                          data_dir)
    raise DataFormatError(f"{data_dir}: no {stem}.jsonl(.gz) or {stem}.csv(.gz); expected one "
                          f"of them, or a dataset under $ZOO_DATA/summarization: "
                          f"{', '.join(DATASETS)}")


def learn_vocab(texts: list[str], vocab_size: int = 8000) -> list[str]:
    """A WordPiece vocabulary learnt by tensorflow-text's bert_vocab_from_dataset on our
    pre-tokenized words (so its words are exactly the ones the tokenizer splits)."""
    from tensorflow_text.tools.wordpiece_vocab import wordpiece_tokenizer_learner_lib as learner

    # bert_vocab_from_dataset counts words with tf.data (minutes on our CPU); a Counter
    # gives the same counts to the same learner in seconds.
    counts = Counter(w for t in texts for w in pretokenize(t))
    return list(learner.learn(list(counts.items()), vocab_size, RESERVED,
                              max_unique_chars=500))


def _json_vocab(path: Path, text: str) -> list:
    """The "vocab" list of a JSON file (`vocab_from`); JSON without one was a raw KeyError,
    TypeError, JSONDecodeError or RecursionError."""
    try:
        vocab = json.loads(text)
        vocab = vocab.get("vocab") if isinstance(vocab, dict) else None
    except (ValueError, RecursionError) as e:
        raise DataFormatError(f"{path}: not readable JSON ({str(e)[:100]}); expected a "
                              f"JSON object with a \"vocab\" list") from None
    if not isinstance(vocab, list) or not all(isinstance(w, str) for w in vocab):
        raise DataFormatError(f"{path}: no \"vocab\" list of strings; expected a JSON "
                              f"object with one (or a text file, a subword a line)")
    return vocab


def fit_preprocessor(train: list[dict], vocab_size: int = 8000, max_source: int = 128,
                     max_target: int = 24, vocab_from: str | None = None) -> tuple[dict, None]:
    """The vocabulary (learnt on documents and summaries; minutes on 56k pairs) and the
    length limits. `vocab_from`: reuse the "vocab" of a preprocessor.json (or a text file,
    one subword per line) instead of learning one."""
    if vocab_from:
        path = existing(vocab_from, "vocabulary file")
        text = read_text(path)
        vocab = _json_vocab(path, text) if path.suffix == ".json" else lines(text)
        if vocab[:len(RESERVED)] != RESERVED:
            raise DataFormatError(f"{path}: a vocabulary must start with {RESERVED}")
    else:
        vocab = learn_vocab([p["document"] for p in train] + [p["summary"] for p in train],
                            vocab_size)
    log.info("vocabulary: %d subwords", len(vocab))
    # Two source-length buckets: each is one XLA compilation of the whole model.
    buckets = sorted({min(64, max_source), max_source})
    return {"vocab": vocab, "max_source": max_source, "max_target": max_target,
            "buckets": buckets}, None


def grow_preprocessor(prep: dict, examples: list[dict], max_target: int | None = None) -> list:
    """Fine-tuning keeps the vocabulary (the embedding, output and copy layers are sized by
    it) and may change `max_target`, how many subwords of each summary training teaches:
    `--hparam max_target=40` lets summaries longer than the bundle's limit learn where
    they end (a cut one is taught no [EOS]). Returns the entries added: none.

    >>> prep = {"max_target": 24}
    >>> grow_preprocessor(prep, [], max_target=40), prep["max_target"]
    ([], 40)
    """
    if max_target is not None:
        prep["max_target"] = check_int(max_target, "max_target", 1)
    return []


def encode_pairs(examples: list[dict], prep: dict):
    """(source ids truncated to max_source, target ids: the summary + [EOS], or, for a
    summary longer than max_target, its first max_target + 1 subwords and no [EOS]: a cut
    must not teach the model to stop there, so a long-summary corpus (BBC) learns to go on
    and `max_len` above the training limit writes the rest)."""
    tok = WordPiece(prep["vocab"])
    S, T = prep["max_source"], prep["max_target"]
    src = [tok.encode(p["document"])[:S] or [EOS] for p in examples]
    tgt = [ids + [EOS] if len(ids) <= T else ids[:T + 1]
           for ids in (tok.encode(p["summary"]) for p in examples)]
    return src, tgt


def make_dataset(examples: list[dict], prep: dict, batch_size: int = 32, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False):
    """({"source": [B, S_bucket], "target_in": [B, T+1]}, {"log_probs": [B, T+1],
    "coverage": [B, T+1]}) batches; targets are padded with 0 (ignored by the loss)."""
    import tensorflow as tf

    src, tgt = encode_pairs(examples, prep)
    T = prep["max_target"] + 1
    tin = np.zeros((len(tgt), T), np.int32)
    tout = np.zeros((len(tgt), T), np.int32)
    for i, t in enumerate(tgt):
        tin[i, 0], tin[i, 1:len(t)] = BOS, t[:-1]
        tout[i, :len(t)] = t
    dense = np.zeros((len(src), prep["max_source"]), np.int32)
    for i, s in enumerate(src):
        dense[i, :len(s)] = s
    lengths = np.array([len(s) for s in src], np.int32)
    ds = tf.data.Dataset.from_tensor_slices((dense, lengths, tin, tout))
    if shuffle:
        ds = ds.shuffle(len(src), seed=seed, reshuffle_each_iteration=True)
    ds = ds.map(lambda s, n, i, o: (s[:n], i, o))
    ds = bucketed_batches(ds, lambda s, i, o: tf.shape(s)[0], prep["buckets"], batch_size,
                          pad_values=(0, 0, 0), drop_remainder=drop_remainder,
                          lengths=[len(s) for s in src])
    return ds.map(lambda s, i, o: ({"source": s, "target_in": i},
                                   {"log_probs": o, "coverage": o})).prefetch(2)


def parity_examples(valid: list[dict], n: int = 16) -> list[str]:
    """Documents from the validation split, spread over it (raw predict() inputs)."""
    step = max(1, len(valid) // n)
    return [p["document"] for p in valid[::step][:n]]
