"""Sequence decoders in numpy: CTC (greedy collapse, prefix beam search, alignment) and
linear-chain CRF Viterbi.

They run on a model's outputs after the graph, so a prediction through Keras, TFLite or
ONNX Runtime decodes the same way (hosts import them; no TensorFlow here). The token beam
search of generative models (captions, summaries) is zoo.beam.

CTC class 0 is the blank by default:

>>> import numpy as np
>>> ctc_collapse([0, 3, 3, 0, 3, 2, 2])
[3, 3, 2]
>>> ctc_alignment([0, 3, 3, 0, 3, 2, 2])
[(3, 1, 2), (3, 4, 4), (2, 5, 6)]
>>> logp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))   # greedy: blank, blank
>>> ctc_collapse(logp.argmax(-1)), ctc_beam_search(logp, beam=4)
([], [1])
>>> emissions = np.array([[3.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
>>> emissions.argmax(-1).tolist()             # per position, ignoring the transitions
[0, 1, 1]
>>> viterbi(emissions, np.array([[0.0, -5.0], [0.0, 0.0]]), np.zeros(2), np.zeros(2)).tolist()
[0, 0, 0]
"""
from __future__ import annotations

import numpy as np

from .cancel import check

BLANK = 0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis.

    >>> np.exp(log_softmax(np.array([0.0, np.log(3.0)]))).round(2).tolist()
    [0.25, 0.75]
    """
    z = logits - logits.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def ctc_collapse(ids, blank: int = BLANK) -> list[int]:
    """Greedy CTC over a best path: merge repeats, drop blanks."""
    out, prev = [], None
    for i in ids:
        if i != prev and i != blank:
            out.append(int(i))
        prev = i
    return out


def ctc_beam_search(logp: np.ndarray, beam: int = 8, blank: int = BLANK) -> list[int]:
    """CTC prefix beam search (Hannun et al. 2014) without a language model. `logp` [T, K]
    log-probabilities; returns the most probable label sequence, summed over its paths
    (greedy takes the most probable path, which may spell a less probable sequence)."""
    beams = {(): (0.0, -np.inf)}          # prefix -> (log p ending in blank, ending in label)
    for t in range(logp.shape[0]):
        check()                           # serve's --request-timeout (zoo.cancel)
        row = logp[t]
        top = np.argsort(row)[::-1][:beam]
        nxt: dict = {}
        for prefix, (pb, pnb) in beams.items():
            total = np.logaddexp(pb, pnb)
            for k in top:
                p = row[k]
                if k == blank:
                    _extend(nxt, prefix, total + p, -np.inf)
                    continue
                new = prefix + (int(k),)
                if prefix and prefix[-1] == k:
                    _extend(nxt, new, -np.inf, pb + p)           # a repeat needs a blank between
                    _extend(nxt, prefix, -np.inf, pnb + p)       # or merges into the last label
                else:
                    _extend(nxt, new, -np.inf, total + p)
        beams = dict(sorted(nxt.items(), key=lambda kv: -np.logaddexp(*kv[1]))[:beam])
    return list(max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))[0])


def _extend(beams: dict, prefix: tuple, pb: float, pnb: float) -> None:
    """Add the probability of more paths (ending in blank, in a label) to a prefix."""
    ob, onb = beams.get(prefix, (-np.inf, -np.inf))
    beams[prefix] = (np.logaddexp(ob, pb), np.logaddexp(onb, pnb))


def ctc_alignment(ids, blank: int = BLANK) -> list[tuple[int, int, int]]:
    """(label, first frame, last frame) of each label a greedy CTC path emits."""
    spans, prev = [], blank
    for t, i in enumerate(ids):
        i = int(i)
        if i != blank and i != prev:
            spans.append([i, t, t])
        elif i != blank and i == prev:
            spans[-1][2] = t
        prev = i
    return [tuple(s) for s in spans]


def viterbi(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray,
            end: np.ndarray) -> np.ndarray:
    """Best tag path [n] under a linear-chain CRF: emissions [n, K], transitions [K, K]
    (from, to), start and end scores [K]. zoo.layers.crf.viterbi_decode is the same in
    TensorFlow (the SavedModel's serving graph)."""
    score = start + emissions[0]
    back = np.zeros(emissions.shape, np.int32)
    for t in range(1, emissions.shape[0]):
        total = score[:, None] + transitions          # [from, to]
        back[t] = total.argmax(0)
        score = total.max(0) + emissions[t]
    best = [int((score + end).argmax())]
    for t in range(emissions.shape[0] - 1, 0, -1):
        best.append(int(back[t, best[-1]]))
    return np.array(best[::-1], np.int32)


def crf_marginals(emissions: np.ndarray, transitions: np.ndarray, start: np.ndarray,
                  end: np.ndarray) -> np.ndarray:
    """P(tag of token t = k | sentence) [n, K] under the same CRF as `viterbi`: the
    forward-backward algorithm in log space; each row sums to 1.

    >>> m = crf_marginals(np.array([[2., 0.], [0., 2.]]), np.zeros((2, 2)), np.zeros(2), np.zeros(2))
    >>> m.round(3).tolist()
    [[0.881, 0.119], [0.119, 0.881]]
    """
    n = emissions.shape[0]
    alpha = np.empty(emissions.shape)
    beta = np.empty(emissions.shape)
    alpha[0] = start + emissions[0]
    for t in range(1, n):
        alpha[t] = _logsumexp(alpha[t - 1][:, None] + transitions, axis=0) + emissions[t]
    beta[-1] = end
    for t in range(n - 2, -1, -1):
        beta[t] = _logsumexp(transitions + (emissions[t + 1] + beta[t + 1])[None, :], axis=1)
    joint = alpha + beta
    return np.exp(joint - _logsumexp(joint, axis=1)[:, None])


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    top = x.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=axis, keepdims=True))).squeeze(axis)
