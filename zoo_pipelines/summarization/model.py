"""The summarize-attn network (See et al. 2017, "Get To The Point"): a BiLSTM encoder over
subword embeddings, an LSTM decoder with additive (Bahdanau) attention and input feeding,
an optional pointer-generator copy distribution (`copy=True`: p_gen mixes the vocabulary
softmax with the attention over the source tokens) and optional coverage (`coverage=True`:
the sum of past attention enters the attention scores, and the coverage loss
sum_i min(a_i, coverage_i) is added with weight `coverage_weight`).

Training is teacher-forced over the whole target (a fixed max_target + 1 steps). Decoding
runs one step at a time through `export_functions`: an `encoder` (source ids ->
memory, attention keys, initial state) and a `step` (previous token + state -> log
probabilities, attention, new state), batch 1 with a fixed source length, which the
numpy host drives with beam search (zoo_pipelines/summarization/host.py); the SavedModel's
serving graph (serving.py) loops over the same step in TensorFlow.

>>> prep = {"vocab": ["[PAD]", "[UNK]", "[BOS]", "[EOS]", "a", "b"], "max_source": 8,
...         "max_target": 4}
>>> m = build(prep, embed=4, enc_units=4, dec_units=8, attn_units=4)
>>> sorted(m.output)
['coverage', 'log_probs']
>>> sorted(export_functions(m, prep))
['encoder', 'step']
"""
from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from zoo.layers import AdditiveAttention, LoopLSTM

# The model role's serving hooks (zoo.contract) live in serving.py.
from .serving import serving_function, serving_predict, serving_results  # noqa: F401

EPS = 1e-9
# What build's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"embed": (1, 8192), "enc_units": (1, 8192), "dec_units": (1, 8192),
           "attn_units": (1, 8192)}


@keras.saving.register_keras_serializable(package="summarization")
class AttentionStep(keras.layers.Layer):
    """One decoder step: [x (embedded previous token), h, c, context, coverage, memory,
    keys, mask] -> [h, c, context, coverage, attention, features, p_gen]."""

    # The encoder's padding mask rides on `memory`; attention applies it explicitly, so the
    # Keras mask is consumed here (no warning, and no mask reaches the loss).
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def __init__(self, units: int, attn_units: int, embed: int, coverage: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.attn_units, self.embed, self.use_coverage = units, attn_units, embed, coverage
        self.lstm = keras.layers.LSTMCell(units, name="lstm_cell")
        self.query = keras.layers.Dense(attn_units, name="query")
        self.features = keras.layers.Dense(embed, activation="tanh", name="features")
        self.p_gen = keras.layers.Dense(1, name="p_gen")
        self.attention = AdditiveAttention(name="attention")

    def build(self, input_shape):
        x, _, _, context = input_shape[:4]
        self.lstm.build((None, x[-1] + context[-1]))
        self.query.build((None, self.units))
        self.features.build((None, self.units + context[-1]))
        self.p_gen.build((None, self.units + context[-1] + x[-1]))
        self.w_cov = self.add_weight(shape=(self.attn_units,), initializer="zeros", name="w_cov")
        # The score vector v of v . tanh(...) (a weight, not a Dense: tensordot on the
        # dynamic source length does not compile under XLA inside the decoder loop).
        self.v = self.add_weight(shape=(self.attn_units,), initializer="glorot_uniform", name="v")

    def call(self, inputs):
        x, h, c, context, coverage, memory, keys, mask = inputs
        _, (h, c) = self.lstm(ops.concatenate([x, context], -1), [h, c])
        return self.attend(x, h, c, coverage, memory, keys, mask)

    def attend(self, x, h, c, coverage, memory, keys, mask):
        """The step after the cell: attention with its new h, the output features, p_gen."""
        cov = coverage[:, :, None] * self.w_cov if self.use_coverage else None
        context, attn = self.attention(self.query(h), keys, memory, self.v, valid=mask,
                                       coverage=cov)
        feat = self.features(ops.concatenate([h, context], -1))
        p_gen = ops.sigmoid(self.p_gen(ops.concatenate([context, h, x], -1)))
        return [h, c, context, coverage + attn, attn, feat, p_gen]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "attn_units": self.attn_units,
                "embed": self.embed, "coverage": self.use_coverage}


@keras.saving.register_keras_serializable(package="summarization")
class AttentionDecoder(keras.layers.Layer):
    """Teacher-forced decoder over the target steps. Returns features [B, T, E], attention [B, T, S], p_gen [B, T, 1],
    coverage loss per step [B, T]."""

    # The encoder's padding mask rides on `memory`; attention applies it explicitly, so the
    # Keras mask is consumed here (no warning, and no mask reaches the loss).
    supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None

    def __init__(self, units: int, attn_units: int, embed: int, coverage: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.units, self.attn_units, self.embed, self.use_coverage = units, attn_units, embed, coverage
        self.cell = AttentionStep(units, attn_units, embed, coverage, name="step")

    def build(self, input_shape):
        x, h, c, memory = input_shape[:4]
        ctx = (None, memory[-1])
        self.cell.build([(None, x[-1]), h, c, ctx, (None, memory[1]), memory,
                         (None, memory[1], self.attn_units), (None, memory[1])])

    def call(self, inputs, training=None):
        x, h, c, memory, keys, mask = inputs
        context = ops.zeros_like(memory[:, 0, :])
        coverage = ops.zeros_like(mask)
        steps = x.shape[1]
        # Training runs the cell with its weight gradients outside the loop (the same
        # numbers, a faster backward pass: zoo.layers.LoopLSTM); inference runs Keras's.
        cell = self.cell.lstm
        lstm = LoopLSTM(cell, x) if training and LoopLSTM.supports(cell) else None
        # Per-step inputs as TensorArrays: their gradient is one stacked tensor, where
        # x[:, t]'s would add a zero-padded [B, T, E] tensor at every step.
        words = tf.TensorArray(x.dtype, size=steps).unstack(tf.transpose(x, (1, 0, 2)))
        z_in = tf.TensorArray(x.dtype, size=steps).unstack(lstm.inputs) if lstm else None
        outputs = 6 if lstm else 4          # + each step's previous context and h

        def body(t, h, c, context, coverage, *arrays):
            x_t = words.read(t)
            if lstm:
                h_new, c_new = lstm.step(z_in.read(t), context, h, c)
                new = self.cell.attend(x_t, h_new, c_new, coverage, memory, keys, mask)
            else:
                new = self.cell([x_t, h, c, context, coverage, memory, keys, mask])
            h_new, c_new, context_new, new_cov, attn, feat, p_gen = new
            cov_loss = ops.sum(ops.minimum(attn, coverage), axis=-1)
            values = (feat, attn, p_gen, cov_loss, context, h)[:outputs]
            arrays = [a.write(t, v) for a, v in zip(arrays, values)]
            return (t + 1, h_new, c_new, context_new, new_cov, *arrays)

        # One while loop rather than an unrolled Python loop: XLA compiles the step once.
        arrays = [tf.TensorArray(tf.float32, size=steps) for _ in range(outputs)]
        out = tf.while_loop(lambda t, *_: t < steps, body,
                            (tf.constant(0), h, c, context, coverage, *arrays),
                            shape_invariants=(tf.TensorShape([]), h.shape, c.shape, context.shape,
                                              coverage.shape, *[tf.TensorShape(None)] * outputs),
                            maximum_iterations=steps)
        feats, attns, gens, covs, *cell_inputs = (a.stack() for a in out[5:])
        if lstm:
            lstm.done(*cell_inputs)
        return (ops.transpose(feats, (1, 0, 2)), ops.transpose(attns, (1, 0, 2)),
                ops.transpose(gens, (1, 0, 2)), ops.transpose(covs, (1, 0)))

    def compute_output_shape(self, input_shape):
        x, memory = input_shape[0], input_shape[3]
        b, t = x[0], x[1]
        return ((b, t, self.embed), (b, t, memory[1]), (b, t, 1), (b, t))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "attn_units": self.attn_units,
                "embed": self.embed, "coverage": self.use_coverage}


def copy_distribution(attn, source, vocab_size: int):
    """sum_{i: source_i = w} attn_i for every word w: [B, T, V] from attention [B, T, S]
    over source ids [B, S]; the same numbers as attn @ one_hot(source, V).

    Each source word's attention is summed over its repeats first (a [S, S] product), then
    written once, at the word's first position; its later positions write into a spare slot
    V that is cut off. So no scatter index repeats: TFLite's and ONNX's scatters disagree
    on repeated indices (TensorFlow's adds them). The one-hot product this replaces built a
    [B, S, V] tensor every decoder step: 94 % of summarize-attn's step in TFLite and ONNX
    Runtime (docs/speed.md).

    >>> import numpy as np
    >>> attn = np.array([[[0.5, 0.2, 0.3]]], "float32"); source = np.array([[4, 2, 4]])
    >>> print(np.round(copy_distribution(attn, source, 6).numpy(), 2))
    [[[0.  0.  0.2 0.  0.8 0. ]]]
    """
    same = ops.cast(ops.equal(source[:, :, None], source[:, None, :]), attn.dtype)   # [B, S, S]
    totals = ops.matmul(attn, same)                                    # [B, T, S]
    positions = ops.arange(ops.shape(source)[1])
    earlier = ops.cast(positions[None, :] < positions[:, None], attn.dtype)   # [i, j]: j < i
    repeat = ops.max(same * earlier[None], axis=-1) > 0                # [B, S]
    slot = ops.where(repeat, vocab_size, source)
    return add_at_words(totals, slot, vocab_size + 1)[..., :vocab_size]


def add_at_words(values, words, width: int):
    """values [B, T, S] added into zeros [B, T, width] at word ids words [B, S] by
    TensorFlow's scatter (a repeated id gets the sum). Differentiated, it is a gather."""
    b, t, s = ops.shape(values)[0], ops.shape(values)[1], ops.shape(values)[2]
    grid = [ops.broadcast_to(i, (b, t, s)) for i in (
        ops.arange(b)[:, None, None], ops.arange(t)[None, :, None], words[:, None, :])]
    return tf.scatter_nd(ops.stack(grid, -1), values, (b, t, width))


@keras.saving.register_keras_serializable(package="summarization")
class CopyMix(keras.layers.Layer):
    """log p(w) = log(p_gen P_vocab(w) + (1 - p_gen) sum_{i: source_i = w} a_i) with
    `copy`; log P_vocab(w) otherwise. Inputs logits [B, T, V], attention [B, T, S],
    p_gen [B, T, 1], source ids [B, S]."""

    def __init__(self, vocab_size: int, copy: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.copy = vocab_size, copy

    def call(self, inputs, training=None):
        logits, attn, p_gen, source = inputs
        if not self.copy:
            return ops.log_softmax(logits, axis=-1)
        # Training adds repeated words in TensorFlow's own scatter (as the twin's
        # scatter_add; a step 8-15 % faster than the one-hot product, 7 % faster than
        # copy_distribution, which decoding, serving and every export run).
        copied = add_at_words(attn, source, self.vocab_size) if training else copy_distribution(
            attn, source, self.vocab_size)
        mixed = p_gen * ops.softmax(logits, axis=-1) + (1.0 - p_gen) * copied
        return ops.log(mixed + EPS)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "copy": self.copy}


def _encode(layers: dict, source):
    """Source ids -> (memory, keys, h0, c0, mask) with the model's layers."""
    mask = ops.cast(ops.not_equal(source, 0), "float32")
    x = layers["embedding"](source)
    seq, fh, fc, bh, bc = layers["encoder"](x, mask=ops.not_equal(source, 0))
    h0 = layers["bridge_h"](ops.concatenate([fh, bh], -1))
    c0 = layers["bridge_c"](ops.concatenate([fc, bc], -1))
    return seq, layers["attn_keys"](seq), h0, c0, mask


def build(prep: dict, init=None, embed: int = 128, enc_units: int = 128, dec_units: int = 256,
          attn_units: int = 256, copy: bool = True, coverage: bool = True,
          dropout: float = 0.1) -> keras.Model:
    """{"source": [B, S] ids (0 = pad), "target_in": [B, T+1] ([BOS] + summary)} ->
    {"log_probs": [B, T+1, V] of the next token, "coverage": [B, T+1] coverage loss}."""
    V, T = len(prep["vocab"]), prep["max_target"] + 1
    layers = {"embedding": keras.layers.Embedding(V, embed, name="embedding"),
              "encoder": keras.layers.Bidirectional(
                  keras.layers.LSTM(enc_units, return_sequences=True, return_state=True),
                  name="encoder"),
              "bridge_h": keras.layers.Dense(dec_units, activation="tanh", name="bridge_h"),
              "bridge_c": keras.layers.Dense(dec_units, name="bridge_c"),
              "attn_keys": keras.layers.Dense(attn_units, use_bias=False, name="attn_keys")}
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((T,), dtype="int32", name="target_in")
    memory, keys, h0, c0, mask = _encode(layers, source)
    memory = keras.layers.Dropout(dropout, name="memory_dropout")(memory)
    x = keras.layers.Dropout(dropout, name="target_dropout")(layers["embedding"](target_in))
    feats, attn, p_gen, cov = AttentionDecoder(dec_units, attn_units, embed, coverage,
                                               name="decoder")([x, h0, c0, memory, keys, mask])
    logits = keras.layers.Dense(V, name="vocab")(feats)
    log_probs = CopyMix(V, copy, name="copy_mix")([logits, attn, p_gen, source])
    cov = keras.layers.Identity(name="coverage")(cov)
    return keras.Model({"source": source, "target_in": target_in},
                       {"log_probs": log_probs, "coverage": cov}, name="summarize_attn")


class TokenNLL(keras.losses.Loss):
    """Mean negative log-likelihood of the target tokens (id 0 = padding, ignored)."""

    def __init__(self, name="token_nll", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y = ops.cast(y_true, "int32")
        mask = ops.cast(ops.not_equal(y, 0), y_pred.dtype)
        # A one-hot product, not take_along_axis: the same numbers, and its gradient is
        # one element-wise product where a gather's is a scatter-add into [B, T, V] that
        # took a tenth of a training step (issue 22)
        nll = -ops.sum(y_pred * ops.one_hot(y, ops.shape(y_pred)[-1], dtype=y_pred.dtype), -1)
        return ops.sum(nll * mask) / ops.maximum(ops.sum(mask), 1.0)


class CoverageLoss(keras.losses.Loss):
    """weight x mean coverage loss over the target steps (See et al. eq. 12)."""

    def __init__(self, weight: float = 1.0, name="coverage_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight = weight

    def call(self, y_true, y_pred):
        mask = ops.cast(ops.not_equal(ops.cast(y_true, "int32"), 0), y_pred.dtype)
        return self.weight * ops.sum(y_pred * mask) / ops.maximum(ops.sum(mask), 1.0)


def loss(model):
    use = model.get_layer("decoder").use_coverage
    weight = getattr(model, "coverage_weight", 1.0) if use else 0.0
    return {"log_probs": TokenNLL(), "coverage": CoverageLoss(weight)}


def _layers(model) -> dict:
    return {n: model.get_layer(n) for n in ("embedding", "encoder", "bridge_h", "bridge_c",
                                             "attn_keys")}


def export_functions(model, prep: dict) -> dict:
    """`encoder`: {"source": [1, S]} -> {"memory", "keys", "h", "c"}; `step`: {"token": [1],
    "h", "c", "context", "coverage", "memory", "keys", "source"} -> {"log_probs": [1, V],
    "attention": [1, S], "h", "c", "context", "coverage"}. S = max_source (pad with 0)."""
    return _functions(model, prep, 1)


def _functions(model, prep: dict, batch) -> dict:
    S = prep["max_source"]
    layers = _layers(model)
    cell = model.get_layer("decoder").cell
    src = keras.Input(batch_shape=(batch, S), dtype="int32", name="source")
    memory, keys, h0, c0, _ = _encode(layers, src)
    encoder = keras.Model({"source": src}, {
        "memory": keras.layers.Identity(name="memory")(memory),
        "keys": keras.layers.Identity(name="keys")(keys),
        "h": keras.layers.Identity(name="h")(h0), "c": keras.layers.Identity(name="c")(c0)},
        name="summarize_encoder")

    U, D, A = cell.units, memory.shape[-1], keys.shape[-1]
    ins = {"token": keras.Input(batch_shape=(batch,), dtype="int32", name="token"),
           "h": keras.Input(batch_shape=(batch, U), name="h"),
           "c": keras.Input(batch_shape=(batch, U), name="c"),
           "context": keras.Input(batch_shape=(batch, D), name="context"),
           "coverage": keras.Input(batch_shape=(batch, S), name="coverage"),
           "memory": keras.Input(batch_shape=(batch, S, D), name="memory"),
           "keys": keras.Input(batch_shape=(batch, S, A), name="keys"),
           "source": keras.Input(batch_shape=(batch, S), dtype="int32", name="source")}
    mask = ops.cast(ops.not_equal(ins["source"], 0), "float32")
    x = layers["embedding"](ins["token"])
    h, c, context, coverage, attn, feat, p_gen = cell(
        [x, ins["h"], ins["c"], ins["context"], ins["coverage"], ins["memory"], ins["keys"], mask])
    logits = model.get_layer("vocab")(feat[:, None, :])
    log_probs = model.get_layer("copy_mix")([logits, attn[:, None, :], p_gen[:, None, :],
                                             ins["source"]])
    outs = {"log_probs": keras.layers.Reshape((-1,), name="log_probs")(log_probs),
            "attention": keras.layers.Identity(name="attention")(attn)}
    for name, t in (("h", h), ("c", c), ("context", context), ("coverage", coverage)):
        outs[name] = keras.layers.Identity(name=f"{name}_out")(t)
    step = keras.Model(ins, outs, name="summarize_step")
    return {"encoder": encoder, "step": step}


def decode_functions(model, prep: dict) -> dict:
    """The same encoder and step with any batch size (the evaluator decodes many documents
    at once on the Keras model): {name: keras.Model}."""
    return _functions(model, prep, None)


def host_constants(model) -> dict:
    cell = model.get_layer("decoder").cell
    D = 2 * model.get_layer("encoder").forward_layer.units
    return {"state": {"h": cell.units, "c": cell.units, "context": D}}
