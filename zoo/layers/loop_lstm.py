"""A Keras LSTMCell for the teacher-forced training loops of attention decoders, with its
weight gradients taken outside the loop (issue 22).

In an attention decoder the cell's input at word t is [known_t, carried_t]: known_t (the
embedded previous word, under teacher forcing) is known before the loop, carried_t (the
attention context) comes from the loop's own state. Autodiff of such a loop adds each
word's gradient of the cell's kernels inside the loop's backward pass: a [inputs, batch] x
[batch, 4 units] product per word that writes the whole kernel gradient each time, which
is memory-bound on a CPU; and its products with transposed kernels, which oneDNN runs 2-3
times slower than with a kernel transposed once (caption-cnn-lstm's decoder at batch 32:
22 ms of a 45 ms forward and backward pass; a TensorFlow profile's `_MklMatMul` rows).

`LoopLSTM` instead projects the known inputs in one product before the loop, reads the
kernels inside it with their gradient stopped, and feeds it its pre-activations through
an input that is zero in value: autodiff's gradient for that input is every word's dz, from
which each kernel's gradient is one product over all words and images (what
zoo.layers.LSTM does for a whole LSTM layer). The numbers are the cell's, within float
rounding. Only training loops use it; inference and exports keep the Keras cell. It pays
where the loop's products are large against its other work (caption's decoder 45 -> 37
ms, summarize's step 355 -> 297); as a small plain LSTM's whole training pass it does
not (forecast-lstm's 64 units at batch 256: 57 ms against Keras's own loop's 31).

>>> import keras, numpy as np, tensorflow as tf
>>> cell = keras.layers.LSTMCell(4); cell.build((None, 3 + 2))
>>> known = np.ones((2, 5, 3), "float32")                    # [B, T, known inputs]
>>> loop = LoopLSTM(cell, known)                             # loop.inputs: [T, B, 4 units]
>>> h = c = tf.zeros((2, 4)); carried = tf.ones((2, 2))
>>> h1, c1 = loop.step(loop.inputs[0], carried, h, c)
>>> _, (want, _) = cell(tf.concat([known[:, 0], carried], -1), [h, c])
>>> bool(np.allclose(h1, want, atol=1e-6))
True
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import activations


def _zeros_with_outside_gradient(k_carried, recurrent, shape, saved: dict):
    """Zeros of `shape` [T, B, 4U] whose gradient dz becomes the kernels' gradients,
    sum_t carried_t^T dz_t and sum_t h_{t-1}^T dz_t, one product each. `saved` gets
    carried and h_{t-1} after the loop has run (the gradient is taken later)."""
    @tf.custom_gradient
    def link(k, r):
        def grad(dz):
            return (tf.einsum("tbc,tbg->cg", saved["carried"], dz),
                    tf.einsum("tbu,tbg->ug", saved["h_prev"], dz))
        return tf.zeros(shape, k.dtype), grad

    return link(k_carried, recurrent)


def _times(x, w, w_t):
    """x @ w whose gradient for x is dz @ w_t (w transposed once, before the loop), and
    none for w (taken outside the loop)."""
    @tf.custom_gradient
    def times(x):
        return x @ w, lambda dz: dz @ w_t

    return times(x)


class LoopLSTM:
    """`cell` (a built keras.layers.LSTMCell whose input is [known, carried]) prepared for a
    loop over known [B, T, K]: `inputs` [T, B, 4U] is what step t takes, `step` runs the
    cell, `done` must be called after the loop with every step's carried input and
    previous h, time-major."""

    @staticmethod
    def supports(cell) -> bool:
        """Keras's LSTMCell as the decoders build it (the math `step` repeats)."""
        return (isinstance(cell, keras.layers.LSTMCell) and keras.backend.backend() == "tensorflow"
                and cell.use_bias and not (cell.dropout or cell.recurrent_dropout)
                and cell.activation is activations.tanh
                and cell.recurrent_activation is activations.sigmoid)

    def __init__(self, cell, known):
        kernel = tf.convert_to_tensor(cell.kernel)
        recurrent = tf.convert_to_tensor(cell.recurrent_kernel)
        width = known.shape[-1]
        words = tf.einsum("btk,kg->tbg", known, kernel[:width]) + cell.bias
        self._saved: dict = {}
        self.inputs = words + _zeros_with_outside_gradient(kernel[width:], recurrent,
                                                           tf.shape(words), self._saved)
        self._k, self._r = tf.stop_gradient(kernel[width:]), tf.stop_gradient(recurrent)
        self._k_t, self._r_t = tf.transpose(self._k), tf.transpose(self._r)

    def step(self, z_in, carried, h, c):
        """One word: z_in = inputs[t], carried [B, C], the previous h, c -> new h, c."""
        z = z_in + _times(carried, self._k, self._k_t) + _times(h, self._r, self._r_t)
        i, f, g, o = tf.split(z, 4, axis=-1)
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)            # Keras's LSTMCell
        return tf.sigmoid(o) * tf.tanh(c), c

    def done(self, carried, h_prev):
        """carried [T, B, C] and h_{t-1} [T, B, U]: every step's inputs, after the loop."""
        self._saved.update(carried=tf.stop_gradient(carried), h_prev=tf.stop_gradient(h_prev))
