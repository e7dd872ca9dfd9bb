"""Additive (Bahdanau) attention: the one attention computation of every decoder here
(captioning over an image's feature grid, summarization over the source tokens).

    e_i = v . tanh(k_i + q (+ c_i)),   a = softmax(e) over the real positions,
    context = sum_i a_i x_i

The layer holds no weights: the query projection q = W h, the keys k_i = W_k x_i
(computed once per input, outside the decoding loop) and the score vector v belong to
the decoder that calls it, so each decoder keeps the weight layout its trained bundles
were saved with. `v . tanh(...)` is a product-sum: a Dense on a 3-D tensor inside the
loop becomes a Tensordot with dynamic shapes, which XLA cannot compile in the gradient.

>>> import numpy as np
>>> keys = np.array([[[1., 0.], [0., 1.], [0., 0.]]], "float32")       # [B=1, L=3, A=2]
>>> values = np.array([[[1.], [2.], [3.]]], "float32")                 # [1, 3, D=1]
>>> context, weights = AdditiveAttention()(np.zeros((1, 2), "float32"), keys, values,
...                                        np.array([20., 0.], "float32"),
...                                        valid=np.array([[1., 1., 0.]], "float32"))
>>> np.round(np.asarray(weights), 2).tolist()       # the padded third position gets nothing
[[1.0, 0.0, 0.0]]
>>> np.round(np.asarray(context), 2).tolist()
[[1.0]]
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class AdditiveAttention(keras.layers.Layer):
    """call(query [B, A], keys [B, L, A], values [B, L, D], v [A], valid [B, L] (1: a
    real position, 0: padding; None: all real), coverage [B, L, A] (a term added before
    the tanh, e.g. See et al.'s coverage features; None: none)) -> (context [B, D],
    weights [B, L])."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.built = True            # no weights of its own

    def call(self, query, keys, values, v, valid=None, coverage=None):
        e = keys + query[:, None, :]
        if coverage is not None:
            e = e + coverage
        e = ops.sum(ops.tanh(e) * v, axis=-1)
        if valid is not None:
            e = e + (1.0 - valid) * -1e9
        weights = ops.softmax(e, axis=-1)
        return ops.sum(weights[:, :, None] * values, axis=1), weights

    def compute_output_shape(self, query_shape, keys_shape, values_shape, *_, **__):
        return (values_shape[0], values_shape[-1]), keys_shape[:2]
