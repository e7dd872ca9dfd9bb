"""An LSTM layer that trains faster on CPU: Keras's LSTM, with its training pass run as
one fused sequence function with a hand-written backward pass (what cuDNN and oneDNN do,
and what PyTorch's nn.LSTM runs on CPU).

Keras 3 on TensorFlow runs an LSTM without a GPU as a generic while loop over its cell, and
autodiff differentiates that loop: every step multiplies the input by the kernel and, on
the way back, adds each step's weight gradients one matmul at a time. `lstm_sequence`
instead projects all inputs in one matmul before the loop, keeps only `h @ recurrent` in
it, runs back-propagation through time as a second loop that keeps only
`dz @ recurrent.T`, and takes the three weight gradients as one matmul over the whole
sequence. XLA compiles both loops (they hold no all-reduce and no host op). The weights,
their layout (gates i, f, c, o) and the numbers are Keras's: outputs agree to 1e-6.

Only training uses it: inference keeps Keras's loop, so exports (TFLite, ONNX, SavedModel)
and their parity checks are what they were. A layer with a mask, recurrent dropout,
go_backwards, unroll, other activations, no bias, a GPU (where Keras runs cuDNN) or
another backend runs Keras's loop.

It pays where the recurrent matmul is large against the batch: music-lstm's and
charlm-lstm's layers train 1.8x and 2.0x faster; at forecast-lstm's batch 256 and 64
units the gates' element-wise work dominates and it is 1.3x slower, so forecast keeps
Keras's LSTM (`python -m benchmarks.fused_lstm`, benchmarks/results/fused_lstm.md).
`bidirectional_lstm` runs a masked Bidirectional LSTM's training pass the same way, two
`lstm_sequence` calls on right-padded rows; RecurrentStack trains its bidirectional LSTM
layers through it (ner-bilstm's step 11-23 % faster, docs/speed.md).

>>> import numpy as np
>>> layer = LSTM(4, return_sequences=True)
>>> x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
>>> inference, training = layer(x), layer(x, training=True)   # Keras's loop, then fused
>>> bool(np.allclose(inference, training, atol=1e-5))
True
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import activations


def _split4(z):
    return tf.split(z, 4, axis=-1)


@tf.function(jit_compile=True)
def _forward(xw, h0, c0, recurrent):
    """xw [T, B, 4U] (inputs @ kernel + bias) -> h, c [T, B, U] and gates [T, B, 4U]."""
    n = tf.shape(xw)[0]

    def step(t, h, c, hs, cs, gates):
        i, f, g, o = _split4(xw[t] + tf.matmul(h, recurrent))
        i, f, g, o = tf.sigmoid(i), tf.sigmoid(f), tf.tanh(g), tf.sigmoid(o)
        c = f * c + i * g
        h = o * tf.tanh(c)
        return (t + 1, h, c, hs.write(t, h), cs.write(t, c),
                gates.write(t, tf.concat([i, f, g, o], -1)))

    arrays = [tf.TensorArray(xw.dtype, size=n) for _ in range(3)]
    _, _, _, hs, cs, gates = tf.while_loop(lambda t, *_: t < n, step, (0, h0, c0, *arrays),
                                           maximum_iterations=n)
    return hs.stack(), cs.stack(), gates.stack()


@tf.function(jit_compile=True)
def _backward(dh_seq, dh_last, dc_last, c0, cs, gates, recurrent):
    """Back-propagation through time: d(outputs) [T, B, U] and d(last h, last c) ->
    d(pre-activations) [T, B, 4U] and d(h0), d(c0)."""
    n = tf.shape(dh_seq)[0]
    c_prev = tf.concat([c0[None], cs[:-1]], 0)
    tanh_c = tf.tanh(cs)
    recurrent_t = tf.transpose(recurrent)

    def step(s, dh_next, dc_next, dzs):
        t = n - 1 - s
        i, f, g, o = _split4(gates[t])
        dh = dh_seq[t] + dh_next
        dc = dc_next + dh * o * (1.0 - tanh_c[t] * tanh_c[t])
        dz = tf.concat([dc * g * i * (1.0 - i), dc * c_prev[t] * f * (1.0 - f),
                        dc * i * (1.0 - g * g), dh * tanh_c[t] * o * (1.0 - o)], -1)
        return s + 1, tf.matmul(dz, recurrent_t), dc * f, dzs.write(t, dz)

    _, dh0, dc0, dzs = tf.while_loop(lambda s, *_: s < n, step,
                                     (0, dh_last, dc_last, tf.TensorArray(dh_seq.dtype, size=n)),
                                     maximum_iterations=n)
    return dzs.stack(), dh0, dc0


@tf.custom_gradient
def _lstm(x, h0, c0, kernel, recurrent, bias):
    xs = tf.transpose(x, [1, 0, 2])                                   # time-major
    # The loops are differentiated by hand (grad): stop_gradient keeps a recording tape
    # from building autodiff's own loop accumulators, which XLA cannot pass out.
    hs, cs, gates = _forward(*map(tf.stop_gradient, (
        tf.einsum("tbk,kg->tbg", xs, kernel) + bias, h0, c0, recurrent)))

    def grad(d_outputs, d_h, d_c):
        dz, dh0, dc0 = _backward(*map(tf.stop_gradient, (
            tf.transpose(d_outputs, [1, 0, 2]), d_h, d_c, c0, cs, gates, recurrent)))
        # the three weight gradients as one product: [x, h_prev, 1]^T @ dz over all steps
        width, units = kernel.shape[0], recurrent.shape[0]
        rows = tf.concat([xs, tf.concat([h0[None], hs[:-1]], 0), tf.ones_like(xs[..., :1])], -1)
        dw = tf.matmul(tf.reshape(rows, [-1, width + units + 1]),
                       tf.reshape(dz, [-1, 4 * units]), transpose_a=True)
        return (tf.transpose(tf.einsum("tbg,kg->tbk", dz, kernel), [1, 0, 2]), dh0, dc0,
                dw[:width], dw[width:width + units], dw[-1])

    return (tf.transpose(hs, [1, 0, 2]), hs[-1], cs[-1]), grad


def lstm_sequence(x, h0, c0, kernel, recurrent, bias):
    """x [B, T, K], initial state h0, c0 [B, U]; Keras LSTM weights (gates i, f, c, o) ->
    (outputs [B, T, U], last h, last c), differentiable in every argument."""
    return _lstm(x, h0, c0, *(tf.convert_to_tensor(w) for w in (kernel, recurrent, bias)))


def fusable(layer) -> bool:
    """Whether `lstm_sequence` computes what this Keras LSTM layer computes, left to right
    and without a mask (the callers handle direction, masks and input dropout)."""
    return (isinstance(layer, keras.layers.LSTM) and keras.backend.backend() == "tensorflow"
            and layer.compute_dtype == "float32"
            and not (layer.recurrent_dropout or layer.unroll)
            and layer.use_bias and layer.cell.activation is activations.tanh
            and layer.cell.recurrent_activation is activations.sigmoid
            and not tf.config.list_logical_devices("GPU"))        # there Keras runs cuDNN


def bidirectional_lstm(layer, x, mask=None):
    """What `keras.layers.Bidirectional(LSTM(..., return_sequences=True))` returns for
    right-padded sequences x [B, T, K] with `mask` [B, T] (a prefix of each row; None: no
    padding), run by `lstm_sequence` in training. Left to right, the padding comes after
    every token, so the unmasked pass gives Keras's outputs where the mask is on; right to
    left, each row is reversed within its own length (`tf.reverse_sequence`), run left to
    right and reversed back, which is Keras's backward pass that skips the padding first.
    The padded steps' outputs are zeroed, as Bidirectional's `zero_output_for_mask` does.
    A mask with holes would be read otherwise than Keras reads it: it stops training.

    >>> import numpy as np, keras
    >>> bi = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))
    >>> x = np.random.default_rng(0).normal(size=(2, 4, 2)).astype("float32")
    >>> mask = np.array([[1, 1, 1, 0], [1, 1, 0, 0]], bool)
    >>> keras_out = bi(x, mask=mask)
    >>> bool(np.allclose(bidirectional_lstm(bi, x, mask), keras_out, atol=1e-5))
    True
    """
    steps = tf.shape(x)[1]
    if mask is None:
        lengths = tf.fill(tf.shape(x)[:1], steps)
    else:
        lengths = tf.reduce_sum(tf.cast(mask, "int32"), 1)
        tf.debugging.assert_equal(tf.cast(mask, "bool"), tf.sequence_mask(lengths, steps), message=(
            "bidirectional_lstm: the mask must mark right-padded sequences (ones, then zeros)"))

    def run(rnn, seq):
        zeros = tf.zeros([tf.shape(seq)[0], rnn.units], seq.dtype)
        return lstm_sequence(seq, zeros, zeros, rnn.cell.kernel, rnn.cell.recurrent_kernel,
                             rnn.cell.bias)[0]

    def flip(seq):
        return tf.reverse_sequence(seq, lengths, seq_axis=1, batch_axis=0)

    on = tf.sequence_mask(lengths, steps, dtype=x.dtype)[..., None]
    return tf.concat([run(layer.forward_layer, x) * on,
                      flip(run(layer.backward_layer, flip(x))) * on], -1)


def fusable_bidirectional(layer) -> bool:
    """Whether `bidirectional_lstm` computes this Bidirectional layer's outputs."""
    return (isinstance(layer, keras.layers.Bidirectional) and layer.merge_mode == "concat"
            and layer.return_sequences and not layer.return_state
            and all(fusable(l) and not l.dropout for l in (layer.forward_layer, layer.backward_layer)))


@keras.saving.register_keras_serializable(package="zoo")
class LSTM(keras.layers.LSTM):
    """keras.layers.LSTM (same arguments, weights and results) whose training pass runs
    `lstm_sequence`; see the module's docstring for when it falls back to Keras's loop."""

    def _fused(self, mask, training) -> bool:
        return training and mask is None and not self.go_backwards and fusable(self)

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if not self._fused(mask, training):
            return super().inner_loop(sequences, initial_state, mask, training=training)
        if self.dropout:     # one mask for every step, as Keras's cell applies it
            sequences = sequences * self.cell.get_dropout_mask(sequences[:, 0, :])[:, None, :]
        outputs, h, c = lstm_sequence(sequences, initial_state[0], initial_state[1],
                                      self.cell.kernel, self.cell.recurrent_kernel,
                                      self.cell.bias)
        return h, outputs, [h, c]
