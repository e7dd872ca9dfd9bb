"""caption-cnn-lstm's training pass: the attention decoder's teacher-forced loop with the
LSTM's weight gradients taken outside the loop (issue 22).

Autodiff of the loop in `AttentionDecoder.call` adds each word's gradient of the cell's
kernels inside the loop's backward pass: a [384, 32] x [32, 1024] product per word that
writes the whole kernel gradient each time, memory-bound (22 of a 45 ms decoder step at 8
words, batch 32; `_MklMatMul` in a TensorFlow profile). Here the loop reads the kernels
with their gradient stopped and takes its pre-activations through an input that is zero
in value (`_gradient_outside`); autodiff's gradient for that input is every word's dz,
from which the kernels' gradients are one product over all words and images each
(what zoo.layers.LSTM does for a plain LSTM). The words' share of the input projection is
one product before the loop. The same numbers as the loop it replaces, within float
rounding (tests/test_captioning.py); only training uses it: inference, beam search and
every export run `AttentionDecoder.advance` with Keras's cell.

>>> import numpy as np
>>> from zoo_pipelines.captioning.model import build
>>> prep = {"vocab": ["<pad>", "<start>", "<end>", "<unk>", "a"], "image_size": 16}
>>> m = build(prep, units=8, embed_dim=4, attention_dim=4, widths=(4, 8), grid=4, dropout=0)
>>> decoder = m.get_layer("decoder")
>>> x = [np.random.default_rng(0).normal(size=(2, 16, 8)).astype("float32"),   # features
...      np.ones((2, 3), "int32")]                                               # words
>>> bool(np.allclose(decoder(x, training=True)[0], decoder(x)[0], atol=1e-5))  # logits
True
"""
from __future__ import annotations

import tensorflow as tf
from keras import ops


def _gradient_outside(k_context, recurrent, shape, saved: dict):
    """Zeros of `shape` [T, B, 4U] whose gradient dz becomes the kernels' gradients:
    sum_t context_t^T dz_t and sum_t h_{t-1}^T dz_t, each one product. `saved` holds
    contexts and h_{t-1} [T, B, .], which the loop writes after this runs (the gradient is
    taken later, when they exist)."""
    @tf.custom_gradient
    def link(k, r):
        def grad(dz):
            return (tf.einsum("tbc,tbg->cg", saved["contexts"], dz),
                    tf.einsum("tbu,tbg->ug", saved["h_prev"], dz))
        return tf.zeros(shape, k.dtype), grad

    return link(k_context, recurrent)


def _times(x, w, w_t):
    """x @ w, whose gradient for x is dz @ w_t with w transposed once, before the loop
    (oneDNN's product with a transposed operand, which autodiff would use, is 2-3 times
    slower at these shapes), and none for w (taken outside the loop)."""
    @tf.custom_gradient
    def times(x):
        return x @ w, lambda dz: dz @ w_t

    return times(x)


def teacher_forced(decoder, emb, states, features, keys):
    """emb [B, T, E], states [h0, c0], features [B, L, C], keys [B, L, A] ->
    h [B, T, U], context [B, T, C], attention [B, T, L]: `AttentionDecoder.call`'s loop."""
    cell, units, width = decoder.cell, decoder.units, features.shape[-1]
    kernel = ops.convert_to_tensor(cell.kernel)
    k_word, k_context = kernel[:decoder.embed_dim], kernel[decoder.embed_dim:]
    recurrent = ops.convert_to_tensor(cell.recurrent_kernel)
    words = tf.einsum("bte,eg->tbg", emb, k_word) + cell.bias                 # [T, B, 4U]
    saved: dict = {}
    inputs = words + _gradient_outside(k_context, recurrent, tf.shape(words), saved)
    k_context, recurrent = tf.stop_gradient(k_context), tf.stop_gradient(recurrent)
    k_context_t, recurrent_t = tf.transpose(k_context), tf.transpose(recurrent)

    def body(carry, z_in):
        h, c = carry[:, :units], carry[:, units:2 * units]
        context, alpha = decoder.attention(decoder.query(h), keys, features,
                                           decoder.score.kernel[:, 0])
        context = decoder.gate(h) * context
        z = z_in + _times(context, k_context, k_context_t) + _times(h, recurrent, recurrent_t)
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)      # Keras's LSTMCell
        h = tf.sigmoid(o) * tf.tanh(c)
        return tf.concat([h, c, context, alpha], axis=-1)

    h0, c0 = states
    start = tf.concat([h0, c0, tf.zeros_like(features[:, 0]), tf.zeros_like(features[:, :, 0])], -1)
    ys = tf.scan(body, inputs, initializer=start)                              # [T, B, .]
    hs, contexts = ys[..., :units], ys[..., 2 * units:2 * units + width]
    saved["contexts"] = tf.stop_gradient(contexts)
    saved["h_prev"] = tf.stop_gradient(tf.concat([h0[None], hs[:-1]], 0))
    batch_major = (ys[..., :units], contexts, ys[..., 2 * units + width:])
    return tuple(tf.transpose(y, (1, 0, 2)) for y in batch_major)
