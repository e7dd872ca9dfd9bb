"""Retrieval-augmented caption choice, in numpy (no TensorFlow here): the host uses it
after its search, the study (benchmarks/caption_retrieval.py) uses the same functions.

The bundle keeps a retrieval memory (preprocessor "retrieval", built by
evaluate.build_retrieval): the L2-normalised mean encoder feature of every training
image (float16) and its first caption, the same features the nearest-neighbour baseline
uses. For a new image the candidates are the model's own caption and the captions of its
`k` nearest training images (cosine similarity), and with the memory's `recombine` every
base of these names with every modifier part (recombine); each is scored

    log p(caption | image) / (len + 1)^alpha                  the model, teacher-forced
    + consensus * sum_j s_j overlap(caption, caption_j) / sum_j s_j    Devlin et al. 2015
    + model_bonus  (the model's own caption only)

over the k neighbours j with similarity s_j, and the best is the answer. The overlap is
the mean over n = 1..4 of the n-gram F1 of the two captions (orders neither has are
skipped). Emoji names are compositional, so a neighbour's caption ("woman cook") is
often closer to the truth than what the model composes; the model's likelihood decides
which neighbour fits this image, the consensus how many neighbours agree. The shipped
setting and what it measured: benchmarks/results/caption_retrieval.md.

>>> overlap("woman cook", "man cook")       # unigrams 1/2, bigrams 0
0.25
>>> overlap("flag: japan", "flag: japan")
1.0
>>> m = pack_memory(np.eye(3, dtype=np.float32), ["a", "b", "c"])
>>> [(i, round(s, 3)) for i, s in neighbours(m, np.array([1.0, 0.2, 0.0]), 2)]
[(0, 0.981), (1, 0.196)]
"""
from __future__ import annotations

import base64
from collections import Counter

import numpy as np


def pack_memory(features: np.ndarray, captions: list[str], **settings) -> dict:
    """A JSON-able memory: unit-length rows of `features` [N, C] as float16 base64, each
    row's caption as an index into the distinct captions, and the scoring `settings`."""
    f = np.asarray(features, np.float32)
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-9)
    distinct = list(dict.fromkeys(captions))
    index = {c: i for i, c in enumerate(distinct)}
    return {"features": base64.b64encode(f.astype("<f2").tobytes()).decode("ascii"),
            "shape": list(f.shape), "captions": distinct,
            "caption_of": [index[c] for c in captions], **settings}


def memory_matrix(memory: dict) -> np.ndarray:
    """The memory's features as float32 [N, C] (decoded once per host)."""
    raw = base64.b64decode(memory["features"])
    return np.frombuffer(raw, "<f2").astype(np.float32).reshape(memory["shape"])


def neighbours(memory: dict, pooled: np.ndarray, k: int,
               matrix: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The `k` training images most similar to the mean feature `pooled` (cosine), as
    (caption index, similarity), most similar first."""
    matrix = memory_matrix(memory) if matrix is None else matrix
    q = np.asarray(pooled, np.float32)
    q = q / max(float(np.linalg.norm(q)), 1e-9)
    sims = matrix @ q
    k = min(int(k), len(sims))
    top = np.argpartition(-sims, k - 1)[:k]
    top = top[np.argsort(-sims[top], kind="stable")]
    return [(int(memory["caption_of"][i]), float(sims[i])) for i in top]


def _ngrams(words: list[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def overlap(a, b) -> float:
    """Mean n-gram F1 (n = 1..4) of two captions (strings or token lists); an order that
    only one of them has counts 0, one neither has is skipped."""
    from .host import tokenize          # host.py imports this module

    a = tokenize(a) if isinstance(a, str) else a
    b = tokenize(b) if isinstance(b, str) else b
    scores = []
    for n in range(1, 5):
        x, y = _ngrams(a, n), _ngrams(b, n)
        if not x and not y:
            continue
        total = sum(x.values()) + sum(y.values())
        scores.append(2.0 * sum((x & y).values()) / total)
    return float(np.mean(scores)) if scores else 0.0


def consensus(candidate, found: list[tuple[str, float]]) -> float:
    """Similarity-weighted mean overlap of `candidate` with the neighbours' captions
    `found` [(caption, similarity)]."""
    weights = np.array([max(s, 0.0) for _, s in found]) + 1e-9
    return float(np.dot(weights, [overlap(candidate, c) for c, _ in found]) / weights.sum())


def split_name(caption: str) -> tuple[str, str | None]:
    """A CLDR-style name's base and modifiers: the parts before and after its first ':'.

    >>> split_name("woman juggling: medium skin tone"), split_name("flag: japan")
    (('woman juggling', 'medium skin tone'), ('flag', 'japan'))
    >>> split_name("red apple")
    ('red apple', None)
    """
    head, colon, tail = caption.partition(":")
    return head.strip(), (tail.strip() or None) if colon else None


def recombine(captions: list[str]) -> list[str]:
    """Every base of `captions` with every modifier part of them (and with none): edits
    that copy a neighbour's modifiers ("...: dark skin tone") onto another base, so an
    emoji never seen can still get its exact name.

    >>> recombine(["man cook: dark skin tone", "woman cook"])
    ['man cook: dark skin tone', 'man cook', 'woman cook: dark skin tone', 'woman cook']
    """
    parts = [split_name(c) for c in captions]
    heads = list(dict.fromkeys(h for h, _ in parts if h))
    tails = list(dict.fromkeys([t for _, t in parts if t] + [None]))
    return [f"{h}: {t}" if t else h for h in heads for t in tails]


def choose(candidates: list[dict], found: list[tuple[str, float]], alpha: float,
           weight: float, model_bonus: float) -> int:
    """Index of the best of `candidates` [{"words", "log_prob", "model": bool}] given the
    neighbours `found`: the module docstring's score."""
    def score(c):
        s = c["log_prob"] / (len(c["words"]) + 1) ** alpha
        if weight:
            s += weight * consensus(c["words"], found)
        return s + (model_bonus if c["model"] else 0.0)

    return int(np.argmax([score(c) for c in candidates]))

