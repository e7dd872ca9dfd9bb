"""Beam search over an exported decoder step, in numpy (no TensorFlow here).

Every autoregressive application's host (summaries, captions) drives its `step` function
with this search, on whichever backend runs the step (Keras, TFLite, ONNX Runtime), so a
phone decodes exactly as the server does. The TFLite export takes one row at a time
(static batch 1): `rowwise` turns such a function into one over a batch of rows, and
`batched` passes a whole batch to a function that takes one (the Keras model's and the
ONNX export's, marked by `takes_batches`).

A toy step whose next-token table depends only on the last token (0 = <start>, 1 = <end>):

>>> import numpy as np
>>> table = np.log(np.array([[.01, .01, .58, .40],    # after <start>: "a" or "b"
...                          [.25, .25, .25, .25],    # (after <end>: never used)
...                          [.01, .60, .01, .38],    # after "a": <end> or "b"
...                          [.01, .97, .01, .01]]))  # after "b": <end>
>>> def step(tokens, state):
...     return table[tokens], state, {}
>>> [h["ids"] for h in beam_search(step, {"h": np.zeros((1, 1))}, start=0, end=1, beam=1)]
[[2]]
>>> [h["ids"] for h in beam_search(step, {"h": np.zeros((1, 1))}, start=0, end=1, beam=2)]
[[3]]

Greedy decoding (beam=1) stops at "a" (p .58 x .60 = .35); the beam of two also keeps
"b", which ends with p .40 x .97 = .39 and wins. A negative `end_bonus` makes ending less
likely at every step, so greedy decoding goes on from "a" to "b" (log .60 - 1 < log .38):

>>> [h["ids"] for h in beam_search(step, {"h": np.zeros((1, 1))}, 0, 1, beam=1, end_bonus=-1)]
[[2, 3]]
"""
from __future__ import annotations

import numpy as np

from .cancel import check
from .decoding import log_softmax
from .errors import InputError


def rowwise(call, name: str):
    """`call(name, inputs)` of a batch-1 function, applied row by row to a batch:
    {input: [R, ...]} -> {output: [R, ...]}.

    >>> double = rowwise(lambda name, x: {"y": 2 * x["x"]}, "double")
    >>> double({"x": np.array([[1], [2]])})["y"].tolist()
    [[2], [4]]
    """
    def run(inputs: dict) -> dict:
        n = len(next(iter(inputs.values())))
        outs = [call(name, {k: v[i:i + 1] for k, v in inputs.items()}) for i in range(n)]
        return {k: np.concatenate([o[k] for o in outs]) for k in outs[0]}
    return run


def batched(call, name: str):
    """`call(name, inputs)` as a function of a batch of rows: one call where `call` takes
    any batch (it says so with `call.batches`: see `takes_batches`), else `rowwise` (the
    TFLite export takes batch 1).

    >>> def call(name, x):
    ...     return {"rows": np.array([len(x["x"])] * len(x["x"]))}
    >>> batched(call, "count")({"x": np.zeros((3, 1))})["rows"].tolist()
    [1, 1, 1]
    >>> call.batches = True
    >>> batched(call, "count")({"x": np.zeros((3, 1))})["rows"].tolist()
    [3, 3, 3]
    """
    if getattr(call, "batches", False):
        return lambda inputs: call(name, inputs)
    return rowwise(call, name)


def units_a_call(call, width: int, rows: int) -> int:
    """How many units (documents, images) share one call, each `width` rows wide (its beam
    or its draws): as many as fit in `rows` where `call` takes batches, else one.

    >>> units_a_call(takes_batches(lambda name, x: x), width=3, rows=32)
    10
    >>> units_a_call(lambda name, x: x, width=3, rows=32)
    1
    """
    return max(1, rows // max(width, 1)) if getattr(call, "batches", False) else 1


def takes_batches(call):
    """`call(name, inputs)` marked as taking any batch of rows (`call.batches`), so
    `batched` gives it whole batches: the Keras model's `loop_call` and an ONNX export's.

    >>> takes_batches(lambda name, x: x).batches
    True
    """
    def whole(name: str, inputs: dict) -> dict:
        return call(name, inputs)
    whole.batches = True
    return whole


def beam_search(step, state: dict, start: int, end: int, beam: int = 4, max_len: int = 24,
                alpha: float = 1.0, min_len: int = 0, adjust=None, trace: tuple = (),
                narrow: bool = False, prefer_ended: bool = False,
                end_bonus: float = 0.0) -> list[dict]:
    """Decode every row of `state` (axis 0: one row per sequence, e.g. per document) with
    a beam of `beam` hypotheses; `beam=1` is greedy decoding.

    `step(tokens, state) -> (log_probs, new_state, outputs)` advances all hypotheses by
    one token: `tokens` int32 [R], `state` {name: [R, ...]} with R = rows x beam (each row
    repeated `beam` times, so per-row constants can be repeated once by the caller),
    `log_probs` [R, V]. The arrays of `outputs` named in `trace` (e.g. "attention") are
    kept per token of each hypothesis. `adjust(log_probs, seqs)` may edit the
    log-probabilities in place before the choice (forbid tokens, n-gram blocking); `seqs`
    are the R hypotheses' token lists. <end> is forbidden for the first `min_len` tokens;
    after that `end_bonus` is added to its log-probability at every step (> 0: shorter
    outputs; the bonus counts in the ended hypothesis's score).

    Finished hypotheses are ranked by log p / (length + 1)^alpha (the +1 counts <end>;
    alpha=0 favours short outputs, alpha=1 is the mean per token). A row stops when
    `beam` hypotheses have finished or `max_len` tokens were produced (those cut there
    are kept, with "ended": False). `narrow=True`: each finished hypothesis narrows the
    beam by one, as in Xu et al.'s caption decoder (the default keeps `beam` hypotheses
    live). `prefer_ended=True`: hypotheses cut at max_len compete only when none ended
    (with length normalisation a long unfinished one could otherwise win). Returns, per
    row, the best: {"ids" (without <start>/<end>), "score", "log_prob", "ended", and one
    array [len(ids), ...] per `trace` name}."""
    if beam < 1:
        raise InputError(f"beam must be >= 1; got {beam}")
    if max_len < 1:
        raise InputError(f"max_len must be >= 1; got {max_len}")
    K = int(beam)
    N = len(next(iter(state.values())))
    state = {k: np.asarray(v)[np.repeat(np.arange(N), K)] for k, v in state.items()}
    scores = np.full((N, K), -np.inf)
    scores[:, 0] = 0.0                     # one live hypothesis per row to start with
    seqs = [[] for _ in range(N * K)]
    kept = {name: None for name in trace}  # per name: [R, tokens so far, ...]
    finished = [[] for _ in range(N)]
    done = np.zeros(N, bool)
    tokens = np.full(N * K, start, np.int32)
    for t in range(max_len):
        check()                            # serve's --request-timeout (zoo.cancel)
        log_probs, new_state, outputs = step(tokens, state)
        logp = np.array(log_probs, np.float64)
        if t < min_len:
            logp[:, end] = -np.inf
        else:
            logp[:, end] += end_bonus
        if adjust is not None:
            adjust(logp, seqs)
        V = logp.shape[1]
        total = (scores.reshape(-1, 1) + logp).reshape(N, K * V)
        history = {name: np.asarray(outputs[name])[:, None] if kept[name] is None else
                   np.concatenate([kept[name], np.asarray(outputs[name])[:, None]], axis=1)
                   for name in trace}
        parents, tokens = np.zeros(N * K, int), np.full(N * K, end, np.int32)
        new_scores = np.full((N, K), -np.inf)
        last = t == max_len - 1
        for n in range(N):
            if done[n]:
                parents[n * K:(n + 1) * K] = n * K
                continue
            top = np.argpartition(-total[n], 2 * K)[:2 * K] if K * V > 2 * K else np.arange(K * V)
            top = top[np.argsort(-total[n, top], kind="stable")]
            live = 0
            for idx in top:
                score = total[n, idx]
                if not np.isfinite(score):
                    break
                k, tok = divmod(int(idx), V)
                r = n * K + k
                if tok == end or last:
                    ids = seqs[r] + ([] if tok == end else [tok])
                    finished[n].append({"ids": ids, "score": float(score / (len(ids) + 1) ** alpha),
                                        "log_prob": float(score), "ended": tok == end,
                                        **{name: history[name][r, :len(ids)] for name in trace}})
                else:
                    parents[n * K + live], tokens[n * K + live] = r, tok
                    new_scores[n, live] = score
                    live += 1
                if live >= K - (len(finished[n]) if narrow else 0):
                    break
            if len(finished[n]) >= K or last or live == 0:
                done[n] = True
            parents[n * K + live:(n + 1) * K] = n * K     # unused slots stay dead (-inf)
        if done.all():
            break
        seqs = [seqs[p] + [int(tok)] for p, tok in zip(parents, tokens)]
        kept = {name: history[name][parents] for name in trace}
        state = {k: np.asarray(v)[parents] for k, v in new_state.items()}
        scores = new_scores
    empty = {"ids": [], "score": 0.0, "log_prob": 0.0, "ended": False}
    if prefer_ended:
        finished = [[h for h in f if h["ended"]] or f for f in finished]
    return [max(f, key=lambda h: h["score"]) if f else
            {**empty, **{name: np.zeros((0,) + np.shape(kept[name])[2:]) for name in trace}}
            for f in finished]


def sample(step, state: dict, start: int, end: int, samples: int = 16, max_len: int = 24,
           epsilon: float = 0.05, seeds=(0,), min_len: int = 0, adjust=None,
           trace: tuple = ()) -> list[list[dict]]:
    """Draw `samples` outputs for every row of `state` by epsilon sampling (each token
    drawn from the step's distribution with the tokens under probability `epsilon` cut
    off; Hewitt et al. 2022, the sampler Freitag et al. 2023 found best for MBR).

    `step`, `state`, `adjust` and `trace` are as in `beam_search`; the state's rows are
    repeated `samples` times here, and a row leaves the state when its sample ends, so
    per-row constants travel in the state (`step` passes them through). `seeds` gives
    each row a seed (an int or a tuple of ints), so a row's draws do not depend on the
    other rows of the batch. A long sample costs only its own steps. Returns, per row,
    `samples` dicts {"ids" (without <start>/<end>), "log_prob", "ended", one array per
    `trace` name}.

    >>> table = np.log(np.array([[.01, .01, .58, .40], [.25, .25, .25, .25],
    ...                          [.01, .60, .01, .38], [.01, .97, .01, .01]]))
    >>> draws = sample(lambda tok, s: (table[tok], s, {}), {"h": np.zeros((1, 1))}, 0, 1,
    ...                samples=200)[0]
    >>> sorted({tuple(d["ids"]) for d in draws})      # "a", "a b", "b": all likely paths
    [(2,), (2, 3), (3,)]
    """
    if samples < 1:
        raise InputError(f"samples must be >= 1; got {samples}")
    N = len(next(iter(state.values())))
    rows = np.repeat(np.arange(N), samples)
    state = {k: np.asarray(v)[rows] for k, v in state.items()}
    rngs = [np.random.default_rng([*np.ravel(seeds[n]).tolist(), k])
            for n in range(N) for k in range(samples)]
    out = [{"ids": [], "log_prob": 0.0, "ended": False, **{t: [] for t in trace}}
           for _ in range(N * samples)]
    live = np.arange(N * samples)                       # rows still writing, in `state` order
    tokens = np.full(len(live), start, np.int32)
    for t in range(max_len):
        check()                            # serve's --request-timeout (zoo.cancel)
        log_probs, new_state, outputs = step(tokens, state)
        logp = np.array(log_probs, np.float64)
        if t < min_len:
            logp[:, end] = -np.inf
        if adjust is not None:
            adjust(logp, [out[r]["ids"] for r in live])
        p = np.exp(log_softmax(logp))
        p[p < np.minimum(epsilon, p.max(1, keepdims=True))] = 0.0     # the top token stays
        p /= p.sum(1, keepdims=True)
        # Generator.choice(n, p=row) draws cdf.searchsorted(uniform, "right"), cdf the
        # row's cumsum over its last value: here for all rows at once, the same draws.
        cdf = p.cumsum(1)
        cdf /= cdf[:, -1:]
        uniform = np.array([rngs[r].random() for r in live])
        tokens = (cdf <= uniform[:, None]).sum(1).astype(np.int32)
        for i, (r, tok) in enumerate(zip(live, tokens)):
            out[r]["log_prob"] += float(logp[i, tok])
            out[r]["ended"] = bool(tok == end)
            if tok != end:
                out[r]["ids"].append(int(tok))
                for name in trace:
                    out[r][name].append(np.asarray(outputs[name][i]))
        keep = np.flatnonzero(tokens != end)
        if not len(keep):
            break
        state = new_state
        if len(keep) < len(live):       # (copying the constants costs as much as a step)
            live, tokens = live[keep], tokens[keep]
            state = {k: np.asarray(v)[keep] for k, v in state.items()}
    for o in out:
        for name in trace:
            o[name] = np.asarray(o[name])
    return [out[n * samples:(n + 1) * samples] for n in range(N)]


def lcs(a: list, b: list) -> int:
    """Length of the longest common subsequence.

    >>> lcs("the cat sat".split(), "a cat sat down".split())
    2
    """
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def lcs_f1(a: list, b: list) -> float:
    """ROUGE-L's F1 between two token lists (1.0 for two empty lists)."""
    if not a or not b:
        return float(a == b)
    return 2 * lcs(a, b) / (len(a) + len(b))


def minimum_bayes_risk(candidates: list[list], references: int) -> tuple[int, float]:
    """Minimum Bayes risk choice (Kumar & Byrne 2004; with samples, Eikema & Aziz 2020):
    the candidate with the highest mean `lcs_f1` against the first `references`
    candidates (the model's samples, standing in for the unknown reference), not counting
    itself. Returns its index and that mean.

    >>> minimum_bayes_risk([["a", "b"], ["a", "b", "c"], ["x"], ["a", "b", "c"]], 3)
    (3, 0.6)
    """
    words = [tuple(c) for c in candidates]
    known = {}                  # draws repeat, and lcs_f1 is symmetric: each pair once

    def f1(a, b):
        key = (a, b) if a <= b else (b, a)
        if key not in known:
            known[key] = lcs_f1(a, b)
        return known[key]

    best, best_score = 0, -1.0
    for i, c in enumerate(words):
        others = [j for j in range(references) if j != i]
        score = sum(f1(c, words[j]) for j in others) / max(len(others), 1)
        if score > best_score + 1e-12:
            best, best_score = i, score
    return best, best_score
