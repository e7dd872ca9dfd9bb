"""The music-lstm network: a recurrent stack over piano-roll frames and an output layer
for the notes of the next frame: RNN-NADE (Boulanger-Lewandowski et al. 2012: the
recurrent state gives the biases of a NADE over the 88 keys, so the notes of one frame
are modelled jointly) or independent sigmoids per key (the baseline, `head="sigmoid"`).

Training and evaluation run the whole sequence (teacher forcing; the NADE's conditionals
for all keys in parallel, as one triangular matmul). Generation runs one recurrent step at a
time (`export_functions`), and the host samples the NADE note by note in numpy.

>>> prep = {"keys": 88, "head": "nade"}
>>> m = build(prep, units=8, nade_hidden=4)
>>> sorted(m.output)
['logits']
>>> sorted(export_functions(m, prep)["step"].output)
['c_0', 'h_0', 'hidden_bias', 'visible_bias']
"""
from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from zoo.layers import LSTM

KEYS = 88
CELLS = {"rnn": keras.layers.SimpleRNN, "lstm": LSTM, "gru": keras.layers.GRU}
# What build's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"cell": tuple(CELLS), "nade_hidden": (1, 8192)}


@keras.saving.register_keras_serializable(package="music")
class NADE(keras.layers.Layer):
    """p(v_i = 1 | v_<i) = sigmoid(b_i + V_i . sigmoid(c + sum_{j<i} v_j W_j)): logits of
    every key given the true notes below it, from time-varying biases b [.., 88] and
    c [.., H] (the recurrent state's)."""

    def __init__(self, hidden: int, keys: int = KEYS, **kwargs):
        super().__init__(**kwargs)
        self.hidden, self.keys = hidden, keys

    def build(self, input_shape):
        init = keras.initializers.RandomNormal(stddev=0.05)
        self.W = self.add_weight(shape=(self.keys, self.hidden), initializer=init, name="W")
        self.V = self.add_weight(shape=(self.keys, self.hidden), initializer=init, name="V")

    def call(self, inputs):
        b, c, v = inputs
        fast = keras.backend.backend() == "tensorflow" and v.dtype == "float32"
        return b + (nade_tensorflow if fast else nade_sum)(c, v, self.W, self.V)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden, "keys": self.keys}


def nade_sum(c, v, W, V):
    """NADE.call without the visible bias, in Keras ops: sum_h V_ih sigmoid(c + sum_{j<i}
    v_j W_j)_h for every key i, [..., keys]."""
    keys = W.shape[0]
    # a_i = sum_{j<i} v_j W_j for every key i at once, as one matmul: the frame masked by a
    # strictly lower-triangular matrix [..., keys, keys] times W. A cumulative sum over
    # v_j W_j computes the same; on CPU it ran 3x slower, forward and backward.
    below = ops.tril(ops.ones((keys, keys), dtype=v.dtype), k=-1)     # [i, j]: j < i
    a = ops.matmul(v[..., None, :] * below, W)
    h = ops.sigmoid(c[..., None, :] + a)                              # [..., keys, H]
    return ops.sum(h * V, axis=-1)


def nade_tensorflow(c, v, W, V):
    """`nade_sum` on TensorFlow, with a hand-written backward pass: its element-wise parts
    (sigmoid, products, sums) run as two XLA functions, which fuse them; the two products
    by W stay with oneDNN, faster on CPU than XLA's. The frames v are data: no gradient
    flows to them. Equal to the numpy host's NADE:

    >>> import numpy as np
    >>> from zoo_pipelines.music.nade import nade_logits
    >>> rng = np.random.default_rng(0)
    >>> v = (rng.random((5, 88)) < 0.1).astype("float32")
    >>> c, W, V = (rng.normal(size=s).astype("float32") for s in [(5, 4), (88, 4), (88, 4)])
    >>> host = nade_logits(v, np.zeros((5, 88), np.float32), c, W, V)
    >>> bool(np.allclose(nade_tensorflow(c, v, W, V), host, atol=1e-5))
    True
    """
    keys, width = W.shape
    below = tf.constant(np.tril(np.ones((keys, keys), np.float32), -1))     # [i, j]: j < i
    masked = tf.reshape(tf.reshape(v, [-1, 1, keys]) * below, [-1, keys])  # row (n, i): v_n, j < i

    @tf.custom_gradient
    def sums(c, W, V):
        a = tf.reshape(tf.matmul(masked, W), [-1, keys, width])
        # stop_gradient: a recording tape must not differentiate the XLA functions itself
        s, h = _hidden(*map(tf.stop_gradient, (a, c, V)))

        def grad(g):
            da, dV, dc = _hidden_grad(*map(tf.stop_gradient, (g, h, V)))
            return dc, tf.matmul(masked, tf.reshape(da, [-1, width]), transpose_a=True), dV

        return s, grad

    s = sums(tf.reshape(c, [-1, width]), tf.convert_to_tensor(W), tf.convert_to_tensor(V))
    return tf.reshape(s, tf.shape(v))


@tf.function(jit_compile=True, reduce_retracing=True)
def _hidden(a, c, V):
    """a [N, keys, H] (sum_{j<i} v_j W_j), c [N, H] -> sum_h V_ih h_ih [N, keys], and h."""
    h = tf.sigmoid(c[:, None, :] + a)
    return tf.reduce_sum(h * V, -1), h


@tf.function(jit_compile=True, reduce_retracing=True)
def _hidden_grad(g, h, V):
    """d(sums) g [N, keys] -> d(a) [N, keys, H], d(V), d(c)."""
    da = g[..., None] * V * h * (1.0 - h)
    return da, tf.reduce_sum(g[..., None] * h, 0), tf.reduce_sum(da, 1)


def state_names(cell: str, layers: int) -> list[str]:
    per = ["h", "c"] if cell == "lstm" else ["h"]
    return [f"{s}_{i}" for i in range(layers) for s in per]


def build(prep: dict, init=None, cell: str = "lstm", units: int = 256, layers: int = 1,
          dropout: float = 0.3, input_dropout: float = 0.0, nade_hidden: int = 150) -> keras.Model:
    """Previous frames [B, T, 88] (and, for the NADE, the frames themselves, which it
    conditions on key by key) -> {"logits": [B, T, 88]} of each frame's notes."""
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
    head = prep.get("head", "nade")
    prev = keras.Input((None, KEYS), name="prev")
    x = keras.layers.Dropout(input_dropout, name="input_dropout")(prev) if input_dropout else prev
    for i in range(layers):
        x = CELLS[cell](units, return_sequences=True, recurrent_initializer="orthogonal",
                        name=f"rnn_{i}")(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    inputs = {"prev": prev}
    if head == "nade":
        frame = keras.Input((None, KEYS), name="frame")
        inputs["frame"] = frame
        b = keras.layers.Dense(KEYS, name="visible_bias")(x)
        c = keras.layers.Dense(nade_hidden, name="hidden_bias")(x)
        logits = NADE(nade_hidden, name="nade")([b, c, frame])
    elif head == "sigmoid":
        logits = keras.layers.Dense(KEYS, name="visible_bias")(x)
    else:
        raise ValueError(f"head must be 'nade' or 'sigmoid'; got {head!r}")
    return keras.Model(inputs, {"logits": logits}, name="music_lstm")


class FrameNLL(keras.losses.Loss):
    """Negative log-likelihood of each frame (sum over the 88 keys, nats), averaged over the
    real (unpadded: target -1) time steps."""

    def __init__(self, name="frame_nll", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        mask = ops.cast(y_true[..., 0] >= 0, y_pred.dtype)
        y = ops.maximum(y_true, 0.0)
        bce = ops.maximum(y_pred, 0) - y_pred * y + ops.log1p(ops.exp(-ops.abs(y_pred)))
        per_step = ops.sum(bce, axis=-1) * mask
        return ops.sum(per_step) / ops.maximum(ops.sum(mask), 1.0)


def loss(model):
    return {"logits": FrameNLL()}


def _rnn_layers(model):
    return sorted((l for l in model.layers if l.name.startswith("rnn_")), key=lambda l: l.name)


def _cell_name(layer) -> str:
    # Keras's classes: a bundle saved before zoo.layers.LSTM holds keras.layers.LSTM
    return ("lstm" if isinstance(layer, keras.layers.LSTM)
            else "gru" if isinstance(layer, keras.layers.GRU) else "rnn")


def export_functions(model, prep: dict) -> dict:
    """One recurrent step, batch 1: {"frame": the previous frame [1, 88], "h_0", "c_0", ...:
    state} -> {"visible_bias" [1, 88], "hidden_bias" [1, H] (NADE) or "visible_bias" as the
    sigmoid logits; the new state under the same names}. Shares the trained layers."""
    rnns = _rnn_layers(model)
    cell = _cell_name(rnns[0])
    frame = keras.Input(batch_shape=(1, KEYS), name="frame")
    inputs, outputs, x = {"frame": frame}, {}, frame
    for i, rnn in enumerate(rnns):
        names = [f"{s}_{i}" for s in (("h", "c") if cell == "lstm" else ("h",))]
        states = [keras.Input(batch_shape=(1, rnn.units), name=n) for n in names]
        inputs.update(zip(names, states))
        rnn.cell.name = f"{rnn.name}_cell"      # every layer's cell is "lstm_cell" otherwise
        x, new = rnn.cell(x, states if cell == "lstm" else states[0])
        new = new if isinstance(new, (list, tuple)) else [new]
        # Identity layers give the state outputs their own names (keys = state input names).
        outputs.update({n: keras.layers.Identity(name=f"{n}_out")(s) for n, s in zip(names, new)})
    outputs["visible_bias"] = model.get_layer("visible_bias")(x)
    if prep.get("head", "nade") == "nade":
        outputs["hidden_bias"] = model.get_layer("hidden_bias")(x)
    return {"step": keras.Model(inputs, outputs, name="music_step")}


def host_constants(model) -> dict:
    """What the numpy host needs: the NADE weights and the recurrent state's layout."""
    rnns = _rnn_layers(model)
    cell = _cell_name(rnns[0])
    out = {"state": {n: rnns[int(n.split("_")[1])].units for n in state_names(cell, len(rnns))}}
    try:
        nade = model.get_layer("nade")
    except ValueError:
        return out
    W, V = (w.tolist() for w in nade.get_weights())
    return {**out, "nade": {"W": W, "V": V}}


def serving_function(model, prep: dict):
    """No raw-input signature: generation is a host loop over the `step` signature."""
    return None
