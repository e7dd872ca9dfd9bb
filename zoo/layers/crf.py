"""Linear-chain CRF (Lafferty 2001; Lample 2016): transition scores, NLL loss, Viterbi.

The layer passes emissions through unchanged and owns the transition weights; the loss
(`CRFLoss`) scores whole tag paths with them. Decoding runs on the host in numpy
(zoo.decoding.viterbi) for Keras, TFLite and ONNX alike; `viterbi_decode` here is the TensorFlow
twin used inside SavedModel serving graphs.

>>> import numpy as np
>>> crf = CRF(num_tags=3)
>>> em = np.zeros((1, 4, 3), "float32")
>>> tuple(crf(em).shape)
(1, 4, 3)
>>> float(CRFLoss(crf)(np.array([[0, 1, 2, -1]]), em)) > 0
True
"""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class CRF(keras.layers.Layer):
    def __init__(self, num_tags, **kwargs):
        super().__init__(**kwargs)
        self.num_tags = num_tags
        self.supports_masking = True

    def build(self, input_shape):
        init = keras.initializers.Zeros()
        k = self.num_tags
        self.transitions = self.add_weight(name="transitions", shape=(k, k), initializer=init)
        self.start = self.add_weight(name="start", shape=(k,), initializer=init)
        self.end = self.add_weight(name="end", shape=(k,), initializer=init)
        self.built = True

    def call(self, emissions, mask=None):
        # A new tensor, so the input's Keras mask does not ride along into the loss.
        return tf.identity(emissions)

    def compute_mask(self, inputs, mask=None):
        return None   # the loss reads padding from the targets (-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags}

    def params(self) -> dict:
        """Transition weights as lists, for the numpy decoder in a host config."""
        return {"transitions": self.transitions.numpy().tolist(),
                "start": self.start.numpy().tolist(), "end": self.end.numpy().tolist()}


def crf_log_likelihood(emissions, tags, mask, transitions, start, end):
    """log p(tags | emissions) per sequence; padding (mask False) must be at the end."""
    emissions = tf.convert_to_tensor(emissions)
    maskf = tf.cast(mask, emissions.dtype)
    tags = tf.where(mask, tags, 0)
    # Score of the gold path.
    em_score = tf.reduce_sum(tf.gather(emissions, tags, batch_dims=2) * maskf, axis=1)
    pair = tf.gather(tf.reshape(transitions, [-1]), tags[:, :-1] * tf.shape(transitions)[0] + tags[:, 1:])
    tr_score = tf.reduce_sum(pair * maskf[:, 1:], axis=1)
    last = tf.maximum(tf.reduce_sum(tf.cast(mask, tf.int32), axis=1) - 1, 0)
    last_tag = tf.gather(tags, last, batch_dims=1)
    gold = em_score + tr_score + tf.gather(start, tags[:, 0]) + tf.gather(end, last_tag)

    # Partition function by the forward algorithm over time.
    def step(alpha, inputs):
        em_t, m_t = inputs
        new = tf.reduce_logsumexp(alpha[:, :, None] + transitions[None], axis=1) + em_t
        return tf.where(m_t[:, None], new, alpha)

    alpha0 = start[None] + emissions[:, 0]
    rest = (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(mask[:, 1:]))
    alpha = tf.foldl(step, rest, initializer=alpha0)
    log_z = tf.reduce_logsumexp(alpha + end[None], axis=1)
    return gold - log_z


class CRFLoss(keras.losses.Loss):
    """Mean negative log-likelihood; targets are tag ids with -1 marking padding."""

    def __init__(self, crf: CRF, name="crf_nll"):
        super().__init__(name=name)
        self.crf = crf

    def call(self, y_true, y_pred):
        tags = tf.cast(y_true, tf.int32)
        mask = tags >= 0
        return -crf_log_likelihood(y_pred, tags, mask, self.crf.transitions,
                                   self.crf.start, self.crf.end)


def viterbi_decode(emissions, mask, transitions, start, end):
    """Best tag ids [B, T] (TensorFlow); positions past each sequence's end repeat its last tag."""
    k = tf.shape(transitions)[0]
    identity = tf.broadcast_to(tf.range(k)[None], tf.shape(emissions[:, 0]))

    def step(carry, inputs):
        score, _ = carry
        em_t, m_t = inputs
        total = score[:, :, None] + transitions[None]
        back = tf.argmax(total, axis=1, output_type=tf.int32)
        new = tf.reduce_max(total, axis=1) + em_t
        return (tf.where(m_t[:, None], new, score), tf.where(m_t[:, None], back, identity))

    score0 = start[None] + emissions[:, 0]
    rest = (tf.transpose(emissions[:, 1:], [1, 0, 2]), tf.transpose(mask[:, 1:]))
    scores, backs = tf.scan(step, rest, initializer=(score0, identity))
    final = tf.concat([score0[None], scores], 0)[-1] + end[None]
    best_last = tf.argmax(final, axis=1, output_type=tf.int32)

    def back_step(tag, back_t):
        return tf.gather(back_t, tag, batch_dims=1)

    earlier = tf.scan(back_step, backs, initializer=best_last, reverse=True)   # [T-1, B]
    path = tf.concat([earlier, best_last[None]], 0)
    return tf.transpose(path)
