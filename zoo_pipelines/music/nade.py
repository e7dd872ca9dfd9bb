"""The NADE output distribution over the 88 keys of one time step, in numpy (Larochelle &
Murray 2011; the RNN-NADE of Boulanger-Lewandowski et al. 2012): p(v_i = 1 | v_<i) =
sigmoid(b_i + V_i . sigmoid(c + sum_{j<i} v_j W_j)), keys lowest first. The recurrent
model gives the biases b [N, 88] and c [N, H] at every step; W, V [88, H] are the NADE's
weights (zoo_pipelines/music/model.py has the same in Keras, for training).

With no hidden influence every key is a coin flip, so a frame costs 88 log 2 nats:

>>> import numpy as np
>>> b, c = np.zeros((1, 88), np.float32), np.zeros((1, 2), np.float32)
>>> W, V = np.zeros((88, 2), np.float32), np.zeros((88, 2), np.float32)
>>> bool(np.isclose(nade_nll(np.zeros((1, 88)), b, c, W, V)[0], 88 * np.log(2)))
True
"""
from __future__ import annotations

import numpy as np

from .midi import KEYS


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def nade_logits(v, b, c, W, V, chunk: int = 256) -> np.ndarray:
    """Teacher-forced NADE logits [N, 88] of frames v given biases b [N, 88], c [N, H]."""
    out = np.empty(v.shape, np.float32)
    for s in range(0, len(v), chunk):
        contrib = v[s:s + chunk, :, None] * W                  # [n, 88, H]
        a = np.cumsum(contrib, axis=1) - contrib
        out[s:s + chunk] = b[s:s + chunk] + np.sum(sigmoid(c[s:s + chunk, None, :] + a) * V, -1)
    return out


def nade_nll(v, b, c, W, V) -> np.ndarray:
    """-log p(frame) per frame (nats, summed over keys)."""
    logits = nade_logits(np.asarray(v, np.float32), b, c, W, V)
    return np.sum(softplus(logits) - v * logits, axis=-1)


def nade_decode(b, c, W, V, uniforms=None, temperature: float = 1.0) -> np.ndarray:
    """Frames [N, 88] drawn key by key (uniforms [N, 88] given) or the most likely note
    at each key given the keys below (uniforms None)."""
    a = np.array(c, np.float32)
    v = np.zeros(b.shape, np.float32)
    for i in range(KEYS):
        logit = b[:, i] + sigmoid(a) @ V[i]
        on = logit > 0 if uniforms is None else uniforms[:, i] < sigmoid(logit / temperature)
        v[:, i] = on
        a += np.outer(on, W[i])
    return v
