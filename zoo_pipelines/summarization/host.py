"""Summarization pre/post-processing and the decode loop, in numpy (no TensorFlow here).

Text is lower-cased (ASCII only), split into words and single punctuation marks, and each
word into WordPiece subwords (greedy longest match, "##" continuations, a word that
cannot be spelled becomes [UNK]). This is exactly what tensorflow-text's
FastWordpieceTokenizer does in the SavedModel serving graph (tested for equality on real
documents in tests/test_summarization.py), so python predict, training and serving share
one tokenizer.

The host drives the exported `encoder` (source ids -> memory, attention keys, initial
state) and `step` (previous token + state -> log-probabilities over the vocabulary,
attention, new state) functions on whichever backend calls them (Keras, TFLite, ONNX
Runtime), with beam search: length normalisation (score / length**alpha) and n-gram
blocking; `beam=1` is greedy decoding.

>>> vocab = ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "game", "##s", "of", "war", ","]
>>> tok = WordPiece(vocab)
>>> tok.tokenize("Games of WAR, wars")
['game', '##s', 'of', 'war', ',', 'war', '##s']
>>> detokenize(['game', '##s', 'of', 'war', ',', 'war', '##s'])
'games of war, wars'
"""
from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import takewhile
from pathlib import Path

import numpy as np

from zoo import contract
from zoo.beam import batched, beam_search, lcs_f1, minimum_bayes_risk, sample, units_a_call
from zoo.data import SPACES, decode_text, plain, wide_unicode
from zoo.errors import InputError, warn
from zoo.options import (as_batch, check_int, check_number, check_unicode, input_file, shown,
                         utf8_text, warn_markup)

EMPTY_INPUT = ""
RESERVED = ["[PAD]", "[UNK]", "[BOS]", "[EOS]"]
PAD, UNK, BOS, EOS = range(4)
# Words are runs of ASCII letters/digits; every other non-space character stands alone.
# The same expressions run in RE2 (tensorflow-text) and Python `re`: ASCII classes only.
# Unicode spaces are spaces too (zoo.data.SPACES): a non-breaking or zero-width space
# pasted from a web page was a [UNK] word of its own ("a\u00a0library": a, [UNK], library).
SPACE = f"[{SPACES}]+"
TOKEN = f"[A-Za-z0-9]+|[^A-Za-z0-9{SPACES}]"
TOKEN_RE = re.compile(TOKEN)
MAX_WORD_BYTES = 100           # FastWordpieceTokenizer's max_bytes_per_token default
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
NO_SPACE_BEFORE = set(".,;:!?)]}%-/")
NO_SPACE_AFTER = set("([{-/$")
QUOTES = {"'", '"'}
CONTRACTIONS = {"s", "t", "re", "ve", "ll", "d", "m"}      # he's, don't, we're, ...
MAX_FILE_BYTES = 10 << 20       # a document file for predict() (the model reads its start)
# Bounds of predict()'s options: time and memory grow with beam x max_len (a beam of 100000
# grew to 23.6 GB and was killed). The default beam is 4; 64 is far wider than any width
# that helps a summary and still runs in seconds. max_len (subword tokens) is at most 4 x
# the training limit: the model never learnt to write longer. Length normalisation divides
# by (length + 1)**alpha: above 1 it already favours the longest hypothesis; 5 keeps the
# power finite.
MAX_BEAM = 64
MAX_LEN_FACTOR = 4
MAX_ALPHA = 5.0
MAX_END_BONUS = 10.0
# Minimum Bayes risk decoding draws `mbr` samples a document, and its time grows with them
# (32 draws: about 7 x greedy's time in Keras; docs/models/summarize-attn.md, "MBR's cost").
MAX_MBR = 64
# Rows (documents x beams or draws) in one step call where the model takes batches (Keras, ONNX):
# more rows amortise the call; the search pads every row to max_source, so memory grows too.
ROWS_A_CALL = 32


def pretokenize(text: str) -> list[str]:
    """Lower-cased (ASCII) words and punctuation marks of the text as read (zoo.data.plain:
    "Cafe\u0301" was "cafe" and a [UNK] accent, "ﬁnance" one [UNK]), as the serving graph
    splits them."""
    return TOKEN_RE.findall(plain(text).translate(_LOWER))


class WordPiece:
    """Greedy longest-match-first WordPiece over a vocabulary list (ids = positions)."""

    def __init__(self, vocab: list[str]):
        self.vocab = list(vocab)
        self.ids = {p: i for i, p in enumerate(self.vocab)}
        self.word = lru_cache(maxsize=200_000)(self._word)

    def _word(self, word: str) -> tuple:
        if len(word.encode("utf-8")) > MAX_WORD_BYTES:
            return ("[UNK]",)
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    break
                end -= 1
            else:
                return ("[UNK]",)
            pieces.append(piece)
            start = end
        return tuple(pieces)

    def tokenize(self, text: str) -> list[str]:
        return [p for w in pretokenize(text) for p in self.word(w)]

    def encode(self, text: str) -> list[int]:
        return [self.ids[p] for p in self.tokenize(text)]


def inside_number(text: str, piece: str) -> bool:
    """Whether `piece` goes on a number's separator without a space: 2,478 (three digits
    after a comma) and 2.5 (a decimal point after at most three digits, so that a sentence
    ending in a year, "in 2004. 2005 ...", keeps its space).

    >>> inside_number("2,", "478"), inside_number("2019,", "20"), inside_number("in 2004.", "2005")
    (True, False, False)
    """
    digits = len(text[:-1]) - len(text[:-1].rstrip("0123456789"))
    if not piece.isdigit() or not digits:
        return False
    return len(piece) == 3 if text[-1] == "," else text[-1] == "." and digits <= 3


def detokenize(pieces: list[str]) -> str:
    """Subwords back to readable text: "##" pieces glued on, no space before punctuation
    nor inside numbers, quotes closed on the word they follow, apostrophes of contractions
    and plural possessives kept on their word. (Written here, not taken from Moses or NLTK:
    those detokenizers expect their own tokens, "'s" and ``, where this tokenizer splits
    every punctuation character.)

    >>> detokenize("he ' s at the farmers ' protests : ' 2 , 478 cases ' , 2 . 5 %".split())
    "he's at the farmers' protests: '2,478 cases', 2.5%"
    >>> detokenize(['"', 'situation', 'is', 'concerning', '"', ':', 'pm'])
    '"situation is concerning": pm'
    >>> detokenize(['situation', 'is', 'concerning', '"', ':', 'reported', '2', ',', '47', '##8'])
    'situation is concerning": reported 2,478'
    """
    out, open_quotes, glue = "", set(), True       # glue: no space before the next piece
    for i, p in enumerate(pieces):
        after = pieces[i + 1] if i + 1 < len(pieces) else ""
        if p.startswith("##"):
            out, glue = out + p[2:], False
        elif p == "'" and out[-1:].isalnum() and p not in open_quotes and (
                after in CONTRACTIONS or out.endswith("s")):
            out, glue = out + p, after in CONTRACTIONS     # he's; farmers' protests
        elif p in QUOTES:      # opens before a word, else closes (a summary may lack the opener)
            opening = p not in open_quotes and after[:1].isalnum()
            open_quotes = open_quotes | {p} if opening else open_quotes - {p}
            out, glue = out + ("" if glue or not opening else " ") + p, opening
        else:
            rest = takewhile(lambda q: q.startswith("##"), pieces[i + 1:])
            word = p + "".join(q[2:] for q in rest)          # 478 written as 47 ##8
            out += p if glue or p in NO_SPACE_BEFORE or inside_number(out, word) else " " + p
            glue = p in NO_SPACE_AFTER
    return out


def blocked_tokens(seq: list[int], n: int) -> set[int]:
    """Tokens that would repeat an n-gram already in `seq` (n-gram blocking)."""
    if n <= 0 or len(seq) < n - 1:
        return set()
    prefix = tuple(seq[len(seq) - n + 1:]) if n > 1 else ()
    return {seq[i + n - 1] for i in range(len(seq) - n + 1)
            if tuple(seq[i:i + n - 1]) == prefix}


def default_max_len(config: dict) -> int:
    """How many subwords a summary may have unless the caller says: the preprocessor's
    `max_len` (a decoding default chosen on the selection split and kept in the bundle; a
    model trained on cut long summaries goes on past the cut), else the training limit."""
    return int(config.get("max_len") or config["max_target"])


@dataclass
class Encoded:
    units: list                    # per document: {"source": int32 ids [S]}
    texts: list = field(default_factory=list)
    beam: int = 1
    max_len: int = 24
    min_len: int = 1
    alpha: float = 0.8
    block_ngram: int = 0
    attention: bool = False
    end_bonus: float = 0.0
    mbr: int = 0
    epsilon: float = 0.05
    seed: int = 0


def read_text_file(path: Path, what: str) -> str:
    """A UTF-8 text file's contents; binary or non-UTF-8 files are refused."""
    try:
        path = input_file(path, "text file")
    except InputError as e:
        raise InputError(f"{what}: {e}") from None
    if path.stat().st_size > MAX_FILE_BYTES:
        raise InputError(f"{what}: {path}: {path.stat().st_size:,} bytes; expected a text file "
                         f"of at most {MAX_FILE_BYTES:,} bytes")
    data = path.read_bytes()
    if b"\x00" in data and not wide_unicode(data):     # UTF-16's NULs: decode_text says so
        raise InputError(f"{what}: {path}: a binary file (it holds NUL bytes); expected UTF-8 text")
    return decode_text(data, f"{what}: {path}", error=InputError)


class Summary(contract.Result):
    """One result; with `attention=True` its map ([summary, source] floats, 460 lines of a
    notebook's output) shown by its shape."""

    SHAPE_ONLY = ("attention",)


class Host(contract.Host):
    OPTION_BOUNDS = {"beam": f"1..{MAX_BEAM}",
                     "max_len": f"1..{MAX_LEN_FACTOR} x the training limit (default: the "
                                f"bundle's max_len, else the limit)",
                     "min_len": "0..max_len", "alpha": f"0..{MAX_ALPHA:g}",
                     "block_ngram": ">= 0 (0: off)",
                     "end_bonus": f"-{MAX_END_BONUS:g}..{MAX_END_BONUS:g} (0: off)",
                     "mbr": f"0..{MAX_MBR} samples (0: off)",
                     "epsilon": "0..0.5", "seed": ">= 0"}

    def __init__(self, config: dict):
        self.config = config
        self.tokenizer = WordPiece(config["vocab"])
        # subwords of English words (ASCII letters or digits): a document needs one
        self.latin = {i for i, p in enumerate(self.tokenizer.vocab)
                      if p not in RESERVED and re.search("[A-Za-z0-9]", p)}
        self.max_source = int(config["max_source"])
        self.max_target = int(config["max_target"])
        self.max_len = default_max_len(config)
        self.state = config["state"]           # {"h": units, "c": units, "context": dim}

    # ---- raw input -> ids ------------------------------------------------------------------
    def source_ids(self, i: int, text) -> np.ndarray:
        # A string is always the text itself, even one that names a file: a service that
        # summarizes user text must not read "/etc/passwd". Files come as pathlib.Path
        # (the CLI turns its file arguments into paths).
        if isinstance(text, Path):
            text = read_text_file(text, f"input {i}")
        if not isinstance(text, str):
            raise InputError(f"input {i}: expected a document (a string); got {type(text).__name__}")
        check_unicode(text, f"input {i}")
        warn_markup(text, f"input {i}")
        ids = self.tokenizer.encode(text)
        if not ids:
            raise InputError(f"input {i}: empty document: there is nothing to summarize "
                             f"(expected text with at least one word)")
        if not self.latin.intersection(ids):   # emoji, control characters, another script:
            # the decoder wrote 96 quotation marks for them, also where the vocabulary
            # happens to hold a few of a script's letters (Hebrew, Arabic, Cyrillic)
            raise InputError(f"input {i}: no word of it is in the model's vocabulary ("
                             f"{len(self.tokenizer.vocab):,} English subwords); nothing to "
                             f"summarize (expected English text)")
        if len(ids) > self.max_source:
            warn(f"input {i}: {len(ids)} subword tokens; the model reads the first "
                 f"{self.max_source}, the rest is ignored")
            ids = ids[:self.max_source]
        return np.asarray(ids, np.int32)

    # Defaults chosen on the selection split (general.py's sweep, in the bundle's card):
    # greedy beat beam 4 (alpha 0.8, trigram blocking) by 2.2 ROUGE-L points on average.
    def encode(self, inputs, beam: int = 1, max_len: int | None = None, min_len: int = 1,
               alpha: float = 0.8, block_ngram: int = 0, attention: bool = False,
               end_bonus: float = 0.0, mbr: int = 0, epsilon: float = 0.05,
               seed: int = 0) -> Encoded:
        """Options: `beam` width (1 = greedy), `max_len` subword tokens out (default: the
        bundle's `max_len`, chosen on its selection split, else the training limit),
        `min_len`, length-normalisation exponent `alpha`, `block_ngram` (no repeated
        n-gram in a summary; 0 turns it off), `end_bonus` (added to the log-probability of
        ending at every step: > 0 shorter summaries, < 0 longer; docs/models/summarize-attn.md,
        "A bonus for ending", has its effect per corpus), `attention` (return the
        attention map), `mbr` (minimum Bayes risk: draw this many summaries by epsilon
        sampling with cut-off `epsilon`, seeded by `seed` and the document, and return,
        of them and the beam's summary, the one with the highest mean ROUGE-L against the
        draws; 0, the default, returns the beam's summary; docs/models/summarize-attn.md,
        "Minimum Bayes risk decoding", has its measurements). A string is the document; a
        pathlib.Path is read as a UTF-8 text file."""
        inputs = [utf8_text(t, f"input {i}") for i, t in
                  enumerate(as_batch(inputs, (str, bytes, Path), "documents (strings)"))]
        beam = check_int(beam, "beam", 1, MAX_BEAM)
        max_len = check_int(self.max_len if max_len is None else max_len, "max_len", 1,
                            MAX_LEN_FACTOR * self.max_target)
        min_len = check_int(min_len, "min_len", 0, max_len)
        block_ngram = check_int(block_ngram, "block_ngram", 0)
        alpha = check_number(alpha, "alpha", 0, MAX_ALPHA)
        end_bonus = check_number(end_bonus, "end_bonus", -MAX_END_BONUS, MAX_END_BONUS)
        mbr = check_int(mbr, "mbr", 0, MAX_MBR)
        epsilon = check_number(epsilon, "epsilon", 0, 0.5)
        seed = check_int(seed, "seed", 0)
        units = [{"source": self.source_ids(i, t)} for i, t in enumerate(inputs)]
        return Encoded(units, list(inputs), beam, max_len, min_len, alpha, block_ngram,
                       bool(attention), float(end_bonus), mbr, float(epsilon), seed)

    # ---- the loop over the exported functions ------------------------------------------------
    def run(self, encoded: Encoded, call, rows: int = ROWS_A_CALL, chunks=iter) -> list[dict]:
        """Beam search over the model's functions (`call(name, inputs)`): one document at a
        time on the batch-1 TFLite export; where `call` takes batches (Keras, ONNX),
        several documents share each call, up to `rows` rows of beams or draws. `chunks`
        wraps the range of chunk starts (the evaluator's progress bar)."""
        encoder, step = batched(call, "encoder"), batched(call, "step")
        per_call = units_a_call(call, max(encoded.beam, encoded.mbr), rows)
        units = encoded.units
        return [h for s in chunks(range(0, len(units), per_call))
                for h in self.search(encoded, units[s:s + per_call], encoder, step)]

    def search(self, enc: Encoded, units: list, encoder, step) -> list[dict]:
        """Beam search (zoo.beam) for several documents at once: `encoder(inputs)` and
        `step(inputs)` take batches (rows = documents, then documents x beams)."""
        S, K = self.max_source, enc.beam
        source = np.zeros((len(units), S), np.int32)
        for n, u in enumerate(units):
            source[n, :len(u["source"])] = u["source"]
        e = encoder({"source": source})

        # Per-document constants, repeated once per hypothesis (zoo.beam keeps each
        # document's hypotheses in its own rows, so they never need reordering).
        rows = np.repeat(np.arange(len(units)), K)
        consts = {"memory": e["memory"][rows], "keys": e["keys"][rows], "source": source[rows]}

        def advance(tokens, state):
            o = step({"token": tokens, **state, **consts})
            return o["log_probs"], {k: o[k] for k in state}, o

        state = {"h": e["h"], "c": e["c"],
                 "context": np.zeros((len(units), self.state["context"]), np.float32),
                 "coverage": np.zeros((len(units), S), np.float32)}

        def forbid(logp, seqs):
            logp[:, [PAD, BOS, UNK]] = -np.inf
            if enc.block_ngram:
                for r, seq in enumerate(seqs):
                    banned = blocked_tokens(seq, enc.block_ngram)
                    if banned:
                        logp[r, list(banned)] = -np.inf

        hyps = beam_search(advance, state, BOS, EOS, K, enc.max_len, enc.alpha,
                           enc.min_len, adjust=forbid, trace=("attention",),
                           end_bonus=enc.end_bonus)
        if enc.mbr:
            # A document's draws depend on the seed and its own words only, so a summary
            # is the same whichever batch (or backend) decodes it.
            seeds = [(enc.seed, zlib.crc32(u["source"].tobytes())) for u in units]
            # Samples leave the batch as they end, so the constants travel in the state.
            def carry(tokens, state):
                o = step({"token": tokens, **state})
                return o["log_probs"], {k: o.get(k, state[k]) for k in state}, o

            both = {**state, "memory": e["memory"], "keys": e["keys"], "source": source}
            draws = sample(carry, both, BOS, EOS, enc.mbr, enc.max_len, enc.epsilon, seeds,
                           enc.min_len, adjust=forbid, trace=("attention",))
            hyps = [self.choose(d, h) for d, h in zip(draws, hyps)]
        return [{"ids": h["ids"], "score": h["score"], "log_prob": h["log_prob"],
                 "attention": np.asarray(h["attention"], np.float32).reshape(-1, S),
                 **({"mbr": h["mbr"]} if "mbr" in h else {})} for h in hyps]

    def choose(self, draws: list[dict], beam: dict) -> dict:
        """Minimum Bayes risk: of the draws and the beam's summary, the one whose words
        agree best (ROUGE-L F1) with the other draws."""
        words = [self.words(h["ids"]) for h in draws + [beam]]
        best, expected = minimum_bayes_risk(words, len(draws))
        h = (draws + [beam])[best]
        return {**h, "score": h.get("score", h["log_prob"] / (len(h["ids"]) + 1)),
                "mbr": {"samples": len(draws), "expected_rouge_l": round(expected, 4),
                        "chose": "sample" if best < len(draws) else "beam"}}

    def words(self, ids: list[int]) -> list[str]:
        """A summary's words as ROUGE counts them (letters and digits; punctuation dropped)."""
        return re.findall(r"[a-z0-9]+", detokenize([self.tokenizer.vocab[i] for i in ids]))

    # ---- outputs -> text -----------------------------------------------------------------------
    def decode(self, encoded: Encoded, outputs: list[dict]) -> list[dict]:
        vocab = self.tokenizer.vocab
        results = []
        for unit, out in zip(encoded.units, outputs):
            pieces = [vocab[i] for i in out["ids"]]
            r = Summary(summary=detokenize(pieces), tokens=pieces, score=out["score"])
            if "mbr" in out:
                r["mbr"] = out["mbr"]
            if encoded.attention:
                r["source_tokens"] = [vocab[i] for i in unit["source"]]
                r["attention"] = out["attention"][:, :len(unit["source"])].tolist()
            results.append(r)
        return results

    @staticmethod
    def describe(result: dict) -> str:
        return result["summary"]

    def plot(self, results: list[dict], path: str | Path, max_source: int = 60) -> Path:
        """Attention map of the first result as a PNG (plot.py); predict with
        `attention=True` (`--attention true`)."""
        from .plot import plot_results

        return plot_results(results, path, max_source)

    def web_view(self, predict, inputs: list, options: dict, folder: Path) -> dict:
        """The web page's view (the contract's hook): the default's, with the attention
        returned for plot's attention map."""
        if not isinstance(options.get("attention", True), bool):     # was overridden unread
            raise InputError(f"option attention must be true or false; got "
                             f"{shown(options['attention'])}")
        return super().web_view(predict, inputs, {**options, "attention": True}, folder)

    @staticmethod
    def agreement(a: list[dict], b: list[dict]) -> float:
        """Mean LCS F1 between the two runs' summary tokens (1.0 when all are identical)."""
        scores = [lcs_f1(ra["tokens"], rb["tokens"]) for ra, rb in zip(a, b)]
        return float(np.mean(scores)) if scores else 1.0


def demo(model, folder: Path, data: Path | None = None):
    """`zoo demo` (the contract's optional hook): the entry's demo texts, and a document
    of the validation split under $ZOO_DATA with its reference summary; the attention map
    of each summary (which source subwords each summary subword looked at) goes to
    `folder`."""
    from zoo.contract import shorten

    items = [(text, None) for text in model.entry.demo_inputs]
    if data is not None:
        valid = model.entry.module("data").read_split(data, "valid")
        items += [(e["document"], e["summary"]) for e in valid[:1]]
    results = model.predict([doc for doc, _ in items], attention=True)
    host = model.host()
    for i, ((doc, ref), r) in enumerate(zip(items, results)):
        example = {"in": shorten(doc, 160) + ("  (validation split)" if ref else "")}
        if ref:
            example["ref"] = ref
        example["out"] = host.describe(r)
        picture = host.plot([r], folder / f"{model.entry.name}-attention-{i}.png")
        example["picture"] = (f"{picture}  (which source words each summary word looked at; "
                              "dark = attended)")
        yield example
