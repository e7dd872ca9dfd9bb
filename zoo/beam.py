"""Beam search over an exported decoder step, in numpy (no TensorFlow here).

Every autoregressive application's host (summaries, captions) drives its `step` function
with this search, on whichever backend runs the step (Keras, TFLite, ONNX Runtime), so a
phone decodes exactly as the server does. Exports take one row at a time (static batch
1): `rowwise` turns such a function into one over a batch of rows.

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
