"""The baseline a character model is compared with: an interpolated Kneser-Ney character
n-gram (Chen & Goodman 1999, one absolute discount per order, D = n1 / (n1 + 2 n2)),
fitted on the model's training data, its order chosen on the valid split.

Written here, not taken from a library, because none fits: nltk's KneserNeyInterpolated
took 24 s to fit 100 k characters on this machine and scored 5.3 bits per character on
valid (it mishandles unseen contexts), and KenLM needs its C++ `lmplz` binary, which no
pip package ships. This is 60 lines of counting, tested against a hand computation.

>>> lm = KneserNey("abababab", order=2, vocab=3)
>>> round(lm.logprob("b", "a"), 4) > round(lm.logprob("a", "a"), 4)
True
>>> round(sum(math.exp(lm.logprob(c, "a")) for c in "abx"), 6)      # x: the third symbol
1.0
"""
from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict

ORDERS = range(2, 11)


class KneserNey:
    """Interpolated Kneser-Ney over characters: `logprob(char, context)` in nats, for any
    order up to `order` (the highest uses raw counts, the lower ones continuation counts)."""

    def __init__(self, text: str, order: int, vocab: int, desc: str | None = None):
        self.order, self.vocab = order, vocab
        grams = [Counter(text[i:i + k] for i in range(len(text) - k + 1))
                 for k in _progress(range(order + 1), desc, "order")]
        # continuation counts: in how many distinct one-character-longer contexts a gram follows
        cont = [Counter() for _ in range(order + 1)]
        for k in range(1, order):
            for g in grams[k + 1]:
                cont[k][g[1:]] += 1
        self.raw, self.cont = grams, cont
        self.stats = {kind: [self._context_stats(c) for c in table]
                      for kind, table in (("raw", grams), ("cont", cont))}
        self.discount = {kind: [self._discount(c) for c in table]
                         for kind, table in (("raw", grams), ("cont", cont))}

    @staticmethod
    def _context_stats(counts: Counter) -> dict:
        """{context: (total count, distinct next characters)}"""
        stats = defaultdict(lambda: [0, 0])
        for g, n in counts.items():
            s = stats[g[:-1]]
            s[0] += n
            s[1] += 1
        return dict(stats)

    @staticmethod
    def _discount(counts: Counter) -> float:
        n = Counter(v for v in counts.values() if v <= 2)
        return n[1] / (n[1] + 2 * n[2]) if n[1] else 0.5

    def logprob(self, char: str, context: str, order: int | None = None) -> float:
        order = order or self.order
        context = context[len(context) - order + 1:] if order > 1 else ""
        p = 1.0 / self.vocab
        for k in range(1, len(context) + 2):         # from unigrams up to the full context
            h = context[len(context) - k + 1:]
            kind = "raw" if k == len(context) + 1 else "cont"
            total, types = self.stats[kind][k].get(h, (0, 0))
            if total:
                d = self.discount[kind][k]
                p = (max((self.raw if kind == "raw" else self.cont)[k][h + char] - d, 0) / total
                     + d * types / total * p)
        return math.log(p)

    def nats(self, text: str, order: int | None = None, desc: str | None = None) -> float:
        """Total negative log-likelihood of text[1:] given what precedes each character;
        `desc`: a progress bar's words (a megabyte is half a minute)."""
        order = order or self.order
        return -sum(self.logprob(text[i], text[max(0, i - order + 1):i], order)
                    for i in _progress(range(1, len(text)), desc, "char"))


def _progress(steps: range, desc: str | None, unit: str):
    """`steps` under zoo's progress bar where `desc` names the work (the baseline of `zoo
    evaluate charlm-lstm` ran silently for minutes on a big text), else as they are."""
    if desc is None:
        return steps
    from zoo.monitor import progress

    return progress(steps, desc=desc, unit=unit)


@functools.lru_cache(maxsize=2)
def fitted(train_text: str, valid_text: str, vocab: int,
           desc: str | None = None) -> tuple[KneserNey, int, dict]:
    """The model on the training text, and the order that scored best on the valid text;
    `desc`: the words of their progress bars."""
    lm = KneserNey(train_text, max(ORDERS), vocab, desc and f"{desc}: counting the train split")
    scores = {n: lm.nats(valid_text, n) / (len(valid_text) - 1)
              for n in _progress(ORDERS, desc and f"{desc}: choosing its order on valid", "order")}
    return lm, min(scores, key=scores.get), scores


def ngram_baseline(zoo_model, text: str) -> dict:
    """The n-gram's bits and nats per character on `text`, fitted on the train split of the
    entry's default data, order chosen on its valid split (labelled so in the metrics)."""
    from zoo.data import data_root, read_split

    from .data import encode_text, stream

    chars = zoo_model.preprocessor["chars"]
    folder = data_root() / zoo_model.entry.default_data

    def symbols(t):         # the model's alphabet: unseen characters become the unknown symbol
        return "".join(chars[i] for i in encode_text(t, chars))

    desc = f"{zoo_model.entry.name}: n-gram baseline"
    lm, order, _ = fitted(symbols(stream(read_split(zoo_model.entry, folder, "train"))),
                          symbols(stream(read_split(zoo_model.entry, folder, "valid"))), len(chars),
                          desc)
    nats = lm.nats(symbols(text), order, f"{desc}: scoring") / max(len(text) - 1, 1)
    return {"ngram_order": order, "ngram_nats_per_char": nats,
            "ngram_bits_per_char": nats / math.log(2),
            "ngram_fitted_on": f"{zoo_model.entry.default_data} train; order chosen on valid"}
