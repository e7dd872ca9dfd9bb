"""Polyphonic music metrics: negative log-likelihood per time step (Boulanger-Lewandowski
et al. 2012; Chung et al. 2014: the frame's NLL summed over the 88 keys, in nats,
averaged over all time steps of all sequences, each sequence run from a zero state) and
frame-level accuracy of the most likely next frame given the true history (Bay et al.
2009: TP / (TP + FP + FN) over all frames).

>>> import numpy as np
>>> frame_accuracy(np.eye(3), np.eye(3))
1.0
"""
from __future__ import annotations

import logging

import numpy as np

from zoo.errors import InputError, warn
from zoo.options import check_int

from .data import roll_at
from .host import Host
from .nade import softplus

log = logging.getLogger("zoo")
HEADLINE = "nll_per_step"
GREATER_IS_BETTER = False


def frame_accuracy(truth, pred) -> float | None:
    """TP / (TP + FP + FN); None when that is 0/0 (no note sounds in the truth nor in the
    predictions: silence predicted as silence read as accuracy 0.0).

    >>> frame_accuracy(np.zeros((4, 88)), np.zeros((4, 88))) is None
    True
    """
    tp = float(np.sum((truth > 0) & (pred > 0)))
    wrong = float(np.sum((truth > 0) != (pred > 0)))
    return tp / (tp + wrong) if tp + wrong else None


def _biases_model(zoo_model):
    """The trained model with its NADE biases as extra outputs (built once per model)."""
    import keras
    import tensorflow as tf

    km = zoo_model.keras_model
    cached = zoo_model.__dict__.get("_eval_fn")
    if cached is not None and cached[0] is km:
        return cached[1]
    outputs = {"logits": km.output["logits"], "visible_bias": km.get_layer("visible_bias").output}
    if "frame" in km.input:
        outputs["hidden_bias"] = km.get_layer("hidden_bias").output
    model = keras.Model(km.input, outputs)
    fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    zoo_model.__dict__["_eval_fn"] = (km, fn)
    return fn


def _roll(host: Host, i: int, roll) -> np.ndarray:
    """Example `i`'s roll checked as predict() checks one (the host's `piece`): a wrong
    width or no steps was a raw Keras shape error, NaN scored as nll_per_step nan."""
    try:
        roll = host.piece(i, roll)
        if not len(roll):
            raise InputError(f"input {i}: an empty piece (0 time steps); expected a piano roll of "
                             f"at least one step")
    except InputError as e:
        raise InputError(str(e).replace(f"input {i}", f"example {i}", 1)) from None
    return roll


_SAID: dict = {}


def evaluate(zoo_model, examples: list[dict], batch_size: int = 16, pad_to: int = 64) -> dict:
    """Whole sequences, teacher-forced, in batches of similar length (padding ignored)."""
    prep = zoo_model.preprocessor
    if any(not e.get("steps_per_quarter") for e in examples) and not _SAID.get("step"):
        _SAID["step"] = True        # once: a fine-tune said it again at every epoch
        log.info("the data does not say its time step; scoring at the bundle's own: "
                 "steps_per_quarter=%d", prep["steps_per_quarter"])
    host = Host(zoo_model.host_config())
    batch_size, pad_to = check_int(batch_size, "batch_size", 1), check_int(pad_to, "pad_to", 1)
    fn = _biases_model(zoo_model)
    rolls = [_roll(host, i, roll_at(e, prep["steps_per_quarter"])) for i, e in enumerate(examples)]
    order = sorted(range(len(rolls)), key=lambda i: len(rolls[i]))
    nll_sum, steps, truth, preds = 0.0, 0, [], []
    from zoo.monitor import progress

    for s in progress(range(0, len(order), batch_size), desc="scoring pieces", unit="batch"):
        batch = [rolls[i] for i in order[s:s + batch_size]]
        width = -(-max(len(r) for r in batch) // pad_to) * pad_to
        frame = np.zeros((len(batch), width, rolls[0].shape[1]), np.float32)
        for j, r in enumerate(batch):
            frame[j, :len(r)] = r
        prev = np.concatenate([np.zeros_like(frame[:, :1]), frame[:, :-1]], axis=1)
        x = {"prev": prev, "frame": frame} if host.W is not None else {"prev": prev}
        out = {k: np.asarray(v) for k, v in fn(x).items()}
        for j, r in enumerate(batch):
            n = len(r)
            logits = out["logits"][j, :n]
            nll_sum += float(np.sum(softplus(logits) - r * logits))
            steps += n
            c = out["hidden_bias"][j, :n] if "hidden_bias" in out else None
            preds.append(host.most_likely(out["visible_bias"][j, :n], c))
            truth.append(r)
    truth, preds = np.concatenate(truth), np.concatenate(preds)
    out = {"nll_per_step": nll_sum / max(steps, 1),
           "frame_accuracy": frame_accuracy(truth, preds),
           "notes_per_step": float(truth.sum() / max(steps, 1)),
           "sequences": len(rolls), "steps": steps}
    if out["frame_accuracy"] is None:
        out["note"] = ("no note sounds in the pieces nor in the predicted frames: frame "
                       "accuracy is 0/0, reported as None")
        warn(out["note"])
    return out
