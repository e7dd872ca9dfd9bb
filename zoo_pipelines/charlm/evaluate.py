"""Bits and nats per character of the model on a text, read as one stream: B contiguous
slices read window by window with the recurrent state carried across windows, so every
character is predicted from everything before it in its slice (only the first character
of each slice starts from nothing). Characters never seen in training count through the
unknown symbol, and their number is reported. A Kneser-Ney character n-gram model
(baselines.py) is scored on the same characters in the same run.

>>> import math
>>> round(bits(math.log(2) * 3, 3), 3)
1.0
"""
from __future__ import annotations

import math

import numpy as np

from zoo.errors import warn

from .data import encode_text, stream

HEADLINE = "bits_per_char"
GREATER_IS_BETTER = False
# The per-epoch check needs only the model's number: the n-gram baseline is fitted once.
EPOCH_OPTIONS = {"baseline": False}


def bits(nats: float, chars: int) -> float:
    return nats / max(chars, 1) / math.log(2)


def model_nats(zoo_model, ids: np.ndarray, slices: int = 32, window: int = 256) -> float:
    """The model's total negative log-likelihood (nats) of ids[1:] given what precedes."""
    import tensorflow as tf

    from .model import stateful_view

    n = (len(ids) - 1) // slices * slices
    if n < slices:
        slices, n = 1, len(ids) - 1
    x = ids[:n].reshape(slices, -1)
    y = ids[1:n + 1].reshape(slices, -1)
    view = stateful_view(zoo_model.keras_model)
    run = tf.function(lambda inputs: view(inputs, training=False), reduce_retracing=True)
    state = {k: np.zeros((slices, u), np.float32) for k, u in zoo_model.host_config()["state"].items()}
    total = 0.0
    # a 10 MB held-out text is minutes of windows: a progress line as other long steps show
    from zoo.monitor import progress

    for s in progress(range(0, x.shape[1], window), desc=f"{zoo_model.entry.name}: scoring "
                      f"{len(ids):,} characters", unit="window"):
        out = run({"ids": x[:, s:s + window], **state})
        state = {k: out[k] for k in state}
        logp = tf.nn.log_softmax(out["logits"], axis=-1)
        total -= float(tf.reduce_sum(tf.gather(logp, y[:, s:s + window], batch_dims=2)))
    # the characters left over by the reshape (fewer than `slices`): one more short pass
    if n + 1 < len(ids):
        rest = ids[n:]
        out = run({"ids": rest[None, :-1], **{k: np.zeros((1, v.shape[1]), np.float32)
                                              for k, v in state.items()}})
        logp = tf.nn.log_softmax(out["logits"][0], axis=-1).numpy()
        total -= float(np.sum(logp[np.arange(len(rest) - 1), rest[1:]]))
    return total


def evaluate(zoo_model, passages: list[dict], baseline: bool = True) -> dict:
    """Bits and nats per character of `passages` (the stream the model reads), and of the
    n-gram baseline fitted on the model's training data when `baseline`."""
    text = stream(passages)
    chars = zoo_model.preprocessor["chars"]
    ids = encode_text(text, chars)
    nats = model_nats(zoo_model, ids)
    scored = len(ids) - 1
    metrics = {"bits_per_char": bits(nats, scored), "nats_per_char": nats / max(scored, 1),
               "chars": scored, "unknown_chars": int(np.sum(ids[1:] == 0)),
               "passages": len(passages)}
    if metrics["unknown_chars"]:      # the count alone did not say how they were scored
        known = set(chars[1:])
        unseen = sorted({c for c in text[1:] if c not in known})
        shown = " ".join(map(repr, unseen[:8])) + (" ..." if len(unseen) > 8 else "")
        warn(f"{metrics['unknown_chars']} of {scored} characters are outside "
             f"{zoo_model.entry.name}'s alphabet ({shown}); each is scored as its one unknown "
             f"symbol, so bits per character is lower than a model that spelt them out would get")
    if baseline:
        from .baselines import ngram_baseline

        metrics.update(ngram_baseline(zoo_model, text))
    return metrics
