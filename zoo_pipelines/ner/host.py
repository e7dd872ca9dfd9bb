"""NER pre/post-processing in numpy: tokenize, featurize, chunk, CRF Viterbi (zoo.decoding),
entities.

Shared by the Keras predictor and zoo.runtime (no TensorFlow here). The tokenizer's
regular expression avoids look-arounds so the SavedModel's in-graph RE2 tokenizer
(zoo_pipelines/ner/model.py) splits text exactly the same way.

>>> host = Host({"words": {"eu": 2}, "chars": {"E": 2}, "labels": ["O", "B-ORG", "I-ORG"],
...              "max_word_chars": 4, "buckets": [8], "crf": None})
>>> tokenize("EU's U.N. envoy don't.")[0]
['EU', "'s", 'U.N.', 'envoy', 'do', "n't", '.']
>>> enc = host.encode(["EU rejects it ."])
>>> enc.units[0]["word_ids"].tolist()
[2, 1, 1, 1]
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo import contract
from zoo.data import SPACES, plain, plain_spans
from zoo.decoding import crf_marginals, log_softmax, viterbi
from zoo.errors import BundleError, InputError, warn
from zoo.options import as_batch, check_unicode, shown, warn_markup
from zoo.runtime import PROGRESS_FROM, progress

PAD, UNK = 0, 1
# ASCII punctuation plus common Unicode quotes and dashes; anything else non-space is "word".
_PUNCT = r"!-/:-@\[-`{-~“”‘’«»–—…"
# Spaces are zoo.data.SPACES, not \s: RE2 (the SavedModel's tokenizer) reads \s as ASCII,
# Python as Unicode, so "New\u00a0York" was two tokens in predict() and one in the graph.
_W = rf"[^{SPACES}{_PUNCT}]"
_ABBREV = ("Mr|Mrs|Ms|Dr|St|Jr|Sr|Inc|Corp|Co|Ltd|Bros|vs|Gen|Sen|Rep|Gov|Lt|Col|Capt|Sgt|"
           "Prof|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|No|Mt|Ft|Ave|etc")
# Alternatives are tried left to right (Python re and RE2 agree on this: leftmost-first).
TOKEN_PATTERN = "|".join([
    r"(?:[A-Za-z]\.){2,}",                        # U.S.  U.N.
    rf"(?:{_ABBREV})\.",                          # Mr.  vs.  Corp.
    r"[A-Z]\.",                                   # initials: M.
    r"^[0-9]{1,2}\.",                              # a ranking list's "3." (sentence start)
    r"[0-9]+(?:[.,/:][0-9]+)+",                   # 1,000  3.5  1/2  10:30
    r"\.[0-9]+",                                  # batting averages: .496
    r"[A-Z]+\$",                                  # currencies: C$  US$
    r"['’](?:s|S|re|RE|m|M|ve|VE|ll|LL|d|D)\b",   # clitics: 's 're
    r"n['’]t|N['’]T",
    rf"[A-Za-z]['’][A-Z]{_W}*",                   # O'Brien, O’Brien (one word either way)
    rf"{_W}+(?:-{_W}+)*",                         # words, numbers, German-born, 1996-08-22
    r"\.\.\.|--+",
    rf"[^{SPACES}]",                              # any other single symbol
])
# CoNLL splits "don't" into "do n't"; RE2 has no look-ahead, so a space goes in first.
# A typographic apostrophe too: "isn’t" was "isn", "’", "t".
NEGATION_PATTERN = r"([A-Za-z])(n['’]t|N['’]T)\b"
_TOKEN_RE = re.compile(TOKEN_PATTERN)
_NEGATION_RE = re.compile(NEGATION_PATTERN)
# Casing classes (Reimers & Gurevych 2017), tested in order; 0 is padding.
CASING_PATTERNS = [
    r"[0-9.,/:-]*[0-9][0-9.,/:-]*",   # 1 numeric
    r"[a-z]+",                        # 2 lower
    r"[A-Z]+",                        # 3 upper
    r"[A-Z][a-z]+",                   # 4 title
    r".*[0-9].*",                     # 5 contains a digit
    r"[^A-Za-z0-9]+",                 # 6 punctuation / symbols
]
CASING_OTHER = len(CASING_PATTERNS) + 1
# Scripts written without spaces between words: Thai, Lao, Myanmar, Khmer, kana, Han. The
# tokenizer splits at spaces and punctuation, so "東京に行きました" was one token, tagged O
# with no word said (Hangul is written with spaces).
UNSPACED = ("\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3005-\u3007\u3040-\u30ff\u31f0-\u31ff"
            "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f")
_UNSPACED_RE = re.compile(f"[{UNSPACED}]{{2,}}")
_CASING_RE = [re.compile(p) for p in CASING_PATTERNS]
_DIGIT_RE = re.compile("[0-9]")


def tokenize(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """CoNLL-style tokens of `text` as the model reads it (zoo.data.plain: "Cafe\u0301"
    and "Café" are one word) and their (start, end) character offsets in `text` as given."""
    norm, spans = plain_spans(text)
    spaced = _NEGATION_RE.sub(r"\1 \2", norm)
    tokens = _TOKEN_RE.findall(spaced)
    offsets, pos = [], 0
    for tok in tokens:                 # tokens are substrings of the normalised text, in order
        start = norm.find(tok, pos)
        offsets.append((spans[start][0], spans[start + len(tok) - 1][1]))
        pos = start + len(tok)
    return tokens, offsets


def warn_unspaced(tokens: list[str], what: str) -> None:
    """A ZooWarning when a token holds words of a script written without spaces (UNSPACED):
    the tagger reads it as one word (its offsets stay those of the text as given)."""
    word = next((t for t in tokens if _UNSPACED_RE.search(t)), None)
    if word is not None:
        warn(f"{what}: {shown(word, 24)} is read as one token: words are split at spaces and "
             f"punctuation, and Chinese, Japanese or Thai text puts no space between words; "
             f"pass the sentence as a list of its words (from a segmenter); the shipped "
             f"ner-bilstm reads English")


def casing(token: str) -> int:
    for i, rx in enumerate(_CASING_RE, start=1):
        if rx.fullmatch(token):
            return i
    return CASING_OTHER


def lower(token: str) -> str:
    """A word as the vocabulary holds it: lower case, where "İstanbul" is "istanbul" (Python
    and ICU write "i\u0307stanbul", a word GloVe lacks); the graph does the same."""
    return token.lower().replace("i\u0307", "i")


def word_id(token: str, words: dict) -> int:
    low = lower(token)
    return words.get(low) or words.get(_DIGIT_RE.sub("0", low)) or UNK


def featurize(tokens: list[str], config: dict) -> dict:
    """Model inputs for one token list: word_ids [n], char_ids [n, C], casing [n]."""
    words, chars, width = config["words"], config["chars"], config["max_word_chars"]
    tokens = [plain(t) for t in tokens]      # token lists and training data: as text is read
    char_ids = np.zeros((len(tokens), width), np.int32)
    for i, tok in enumerate(tokens):
        ids = [chars.get(c, UNK) for c in tok[:width]]
        char_ids[i, :len(ids)] = ids
    return {
        "word_ids": np.array([word_id(t, words) for t in tokens], np.int32),
        "char_ids": char_ids,
        "casing": np.array([casing(t) for t in tokens], np.int32),
    }


def output_tag(label: str) -> str:
    """The IOB2 tag a model's label stands for: a BIOES model's (data.to_bioes) S- is B-
    and E- is I-, token by token; IOB2 labels stay as they are.

    >>> [output_tag(t) for t in ["S-LOC", "B-PER", "E-PER", "O"]]
    ['B-LOC', 'B-PER', 'I-PER', 'O']
    """
    return {"S-": "B-", "E-": "I-"}.get(label[:2], label[:2]) + label[2:]


def entities(text: str | None, tokens: list[str], offsets, tags: list[str],
             confidence=None) -> list[dict]:
    """Spans from IOB2 tags; an I- tag that starts a span is read as B- (lenient). With
    `confidence` (each token's probability of its tag), a span's confidence is the mean
    over its tokens (what Flair reports), rounded to 3 places."""
    spans, current = [], None
    for i, tag in enumerate(tags + ["O"]):
        kind = tag[2:] if tag != "O" else None
        if current and (tag == "O" or tag.startswith("B-") or kind != current["type"]):
            spans.append(current)
            current = None
        if kind and current is None:
            current = {"type": kind, "first": i}
        if current:
            current["last"] = i
    out = []
    for s in spans:
        start, end = offsets[s["first"]][0], offsets[s["last"]][1]
        surface = text[start:end] if text is not None else " ".join(tokens[s["first"]:s["last"] + 1])
        span = {"text": surface, "type": s["type"], "start": start, "end": end,
                "tokens": [s["first"], s["last"] + 1]}
        if confidence is not None:
            span["confidence"] = round(float(np.mean(confidence[s["first"]:s["last"] + 1])), 3)
        out.append(span)
    return out


EMPTY_INPUT = ""           # the contract test checks it is refused with a clear error


@dataclass
class Encoded:
    units: list            # feature dicts, one per chunk of at most max(buckets) tokens
    sentences: list        # (text or None, tokens, offsets, [unit indices])


class Host(contract.Host):
    """Raw sentences (str) or token lists (list[str]) in; entities and tags out."""

    def __init__(self, config: dict):
        self.config = config
        self.labels = [output_tag(t) for t in config["labels"]]      # what predict() answers
        self.max_len = max(config["buckets"])
        crf = config.get("crf")
        self.crf = {k: np.asarray(v, np.float32) for k, v in crf.items()} if crf else None
        if self.crf is not None and self.crf["transitions"].shape != (len(self.labels),) * 2:
            raise ValueError(f"{len(self.labels)} labels but CRF transitions of shape "
                             f"{self.crf['transitions'].shape}; the two must agree")

    def encode(self, inputs) -> Encoded:
        inputs = as_batch(inputs, (str, bytes), "sentences (str) or token lists (list[str])")
        units, sentences = [], []
        for i, item in enumerate(inputs):
            text, tokens, offsets = self._tokens(i, item)
            idx = []
            for s in range(0, len(tokens), self.max_len):   # long sentences: split, never fail
                idx.append(len(units))
                units.append(featurize(tokens[s:s + self.max_len], self.config))
            sentences.append((text, tokens, offsets, idx))
        return Encoded(units, sentences)

    def _tokens(self, i: int, item):
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"input {i}: bytes are not valid UTF-8 ({e.reason} at byte "
                                 f"{e.start}); pass text decoded from its real encoding") from None
        if isinstance(item, str):
            # a lone surrogate was tagged as a word, and came back in answers no client reads
            tokens, offsets = tokenize(check_unicode(item, f"input {i}"))
            warn_markup(item, f"input {i}")
            warn_unspaced(tokens, f"input {i}")
            if not tokens:
                raise InputError(f"input {i}: empty sentence; expected text with at least one token")
            return item, tokens, offsets
        # a blank token (" ") was tagged as a word, where a sentence of blanks is refused
        if (isinstance(item, (list, tuple)) and item
                and all(isinstance(t, str) and t.strip() for t in item)):
            check_unicode(" ".join(item), f"input {i}")
            pos, offsets = 0, []
            for t in item:                     # offsets into " ".join(tokens)
                offsets.append((pos, pos + len(t)))
                pos += len(t) + 1
            return None, list(item), offsets
        if isinstance(item, Path):     # batch-predict's whole files: "got PosixPath('...')"
            raise InputError(f"input {i}: {item}: a file; expected a sentence (str) or a list "
                             f"of tokens (text files: .txt or .jsonl, a sentence a line)")
        raise InputError(f"input {i}: expected a sentence (str) or a non-empty list of "
                         f"token strings, none empty or blank; got {shown(item)}")

    def tag_ids(self, emissions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The best tags and each one's marginal probability (CRF forward-backward, or the
        softmax of a head without a CRF)."""
        if emissions.shape[-1] != len(self.labels):   # labels edited apart from the model
            raise BundleError(f"the model scores {emissions.shape[-1]} tags but its "
                              f"preprocessor lists {len(self.labels)} labels; the two must agree")
        if self.crf is None:
            probs = np.exp(log_softmax(emissions))
            ids = emissions.argmax(-1)
        else:
            crf = (self.crf["transitions"], self.crf["start"], self.crf["end"])
            ids, probs = viterbi(emissions, *crf), crf_marginals(emissions, *crf)
        return ids, probs[np.arange(len(ids)), ids]

    def decode(self, encoded: Encoded, outputs: list[dict]) -> list[dict]:
        results, sentences = [], encoded.sentences
        # CRF decoding after the model's batches: 20,000 sentences sat at the predict bar's
        # 100 % for a silent while; a bar of its own past the same PROGRESS_FROM
        with contextlib.ExitStack() as stack:
            if len(sentences) > PROGRESS_FROM:
                sentences = stack.enter_context(progress(sentences, desc="ner decoding",
                                                         unit="sentence"))
            for text, tokens, offsets, idx in sentences:
                ids, conf = map(np.concatenate,
                                zip(*(self.tag_ids(outputs[j]["emissions"]) for j in idx)))
                tags = [self.labels[k] for k in ids]
                results.append({"entities": entities(text, tokens, offsets, tags, conf),
                                "tokens": tokens, "tags": tags})
        return results

    @staticmethod
    def describe(result: dict) -> str:
        """One line for people: `Angela Merkel [PER]; Paris [LOC]`."""
        return "; ".join(f"{e['text']} [{e['type']}]" for e in result["entities"]) or "(no entities)"

    @staticmethod
    def agreement(a: list[dict], b: list[dict]) -> float:
        """Fraction of tokens tagged the same by two predictions (export parity)."""
        pairs = [(x, y) for ra, rb in zip(a, b) for x, y in zip(ra["tags"], rb["tags"])]
        return sum(x == y for x, y in pairs) / max(len(pairs), 1)
