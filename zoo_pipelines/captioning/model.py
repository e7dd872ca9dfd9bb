"""The caption-cnn-lstm network: Show, Attend and Tell (Xu et al. 2015) with a compact
CNN trained from scratch (MobileNet-style depthwise-separable blocks, `weights=None`: no
pretrained ImageNet weights can be had here) and an LSTM (or GRU) decoder with soft
(Bahdanau) attention over the CNN's feature grid, a gated context (Xu et al.'s beta) and a
deep output layer (word embedding + state + context -> logits).

Training runs the whole caption with teacher forcing (`keras.ops.scan` over the words);
the loss is the cross-entropy of the next word plus the doubly stochastic attention
regulariser `attention_reg * mean_i (1 - sum_t alpha_ti)^2` over the grid cells i (Xu et
al. eq. 14; averaged over cells rather than summed, as in common reimplementations).
Inference runs two exported functions (`export_functions`): "encoder" (image -> features,
attention keys, initial state) once, "step" (word + state + features -> log-probabilities,
attention, state) once per word and beam hypothesis, driven by the numpy host; the
SavedModel's serving graph (serving.py) loops over the same step in TensorFlow.

>>> prep = {"vocab": ["<pad>", "<start>", "<end>", "<unk>", "a"], "image_size": 16}
>>> m = build(prep, units=8, embed_dim=4, attention_dim=4, widths=(4, 8), grid=4)
>>> sorted(m.output)
['attention', 'logits']
>>> fns = export_functions(m, prep)
>>> sorted(fns["encoder"].output), sorted(fns["step"].output)
(['c', 'features', 'h', 'keys'], ['attention', 'c', 'h', 'log_probs'])
"""
from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

from zoo.layers import AdditiveAttention, BatchNormalization, LoopLSTM
from zoo.errors import InputError
from zoo.options import check_int, shown

# The model role's serving hooks (zoo.contract) live in serving.py.
from .serving import serving_function, serving_predict, serving_results  # noqa: F401

CELLS = {"lstm": layers.LSTMCell, "gru": layers.GRUCell}


def check_widths(value, what: str = "widths") -> list[int]:
    """The encoder's stage widths: a non-empty list of channel counts."""
    if not isinstance(value, (list, tuple)) or not value:
        raise InputError(f"{what} must be a list of channel counts, e.g. [64, 128, 256]; got "
                         f"{shown(value)}")
    return [check_int(w, f"each of {what}", 1, 8192) for w in value]


# What build's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"cell": tuple(CELLS), "embed_dim": (1, 8192), "attention_dim": (1, 8192),
           "widths": check_widths, "grid": (1, 64), "attention_reg": (0.0, None),
           "keyword_weight": (0.0, None), "label_smoothing": (0.0, 0.99), "mixstyle": (0.0, 1.0)}


def state_names(cell: str) -> list[str]:
    return ["h", "c"] if cell == "lstm" else ["h"]


@keras.saving.register_keras_serializable(package="captioning")
class AttentionDecoder(layers.Layer):
    """[features [B, L, C], tokens [B, T]] -> (logits [B, T, V], attention [B, T, L])."""

    def __init__(self, vocab_size: int, units: int = 256, embed_dim: int = 128,
                 attention_dim: int = 128, cell: str = "lstm", dropout: float = 0.3,
                 attention_reg: float = 1.0, label_smoothing: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
        self.vocab_size, self.units, self.embed_dim = vocab_size, units, embed_dim
        self.attention_dim, self.cell_type, self.dropout_rate = attention_dim, cell, dropout
        # training-only settings kept here so that loss(model) finds them in a saved model
        self.attention_reg, self.label_smoothing = attention_reg, label_smoothing
        self.embedding = layers.Embedding(vocab_size, embed_dim, name="embedding")
        self.init_states = [layers.Dense(units, activation="tanh", name=f"init_{s}")
                            for s in state_names(cell)]
        self.key = layers.Dense(attention_dim, name="attention_key")           # W_a f_i
        self.query = layers.Dense(attention_dim, use_bias=False, name="attention_query")
        self.score = layers.Dense(1, use_bias=False, name="attention_score")    # v_a
        self.attention = AdditiveAttention(name="attention")
        self.gate = layers.Dense(1, activation="sigmoid", name="context_gate")  # beta
        self.cell = CELLS[cell](units, recurrent_initializer="orthogonal", name="cell")
        self.drop = layers.Dropout(dropout)
        self.out = layers.Dense(vocab_size, name="logits")

    def build(self, input_shape):
        (_, L, C), _ = input_shape
        self.embedding.build((None,))
        for d in self.init_states:
            d.build((None, C))
        self.key.build((None, L, C))
        self.query.build((None, self.units))
        self.score.build((None, L, self.attention_dim))
        self.gate.build((None, self.units))
        self.cell.build((None, self.embed_dim + C))
        self.out.build((None, self.units + C + self.embed_dim))
        self.built = True

    # ---- pieces shared by training and the exported functions ---------------------------
    def initial(self, features):
        """Attention keys [B, L, A] and the initial state from the mean feature."""
        mean = ops.mean(features, axis=1)
        return self.key(features), [d(mean) for d in self.init_states]

    def attend(self, h, features, keys):
        """The gated context [B, C] and the attention [B, L] of the previous h."""
        context, alpha = self.attention(self.query(h), keys, features, self.score.kernel[:, 0])
        return self.gate(h) * context, alpha

    def advance(self, emb, states, features, keys):
        """One word: attend with the previous h, then run the cell on [word, context]."""
        context, alpha = self.attend(states[0], features, keys)
        h, new = self.cell(ops.concatenate([emb, context], axis=-1), list(states))
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        return h, context, alpha, new

    def logits(self, h, context, emb, training=False):
        return self.out(self.drop(ops.concatenate([h, context, emb], axis=-1), training=training))

    def call(self, inputs, training=False):
        features, tokens = inputs
        emb = self.embedding(tokens)                                        # [B, T, E]
        keys, states = self.initial(features)
        if training and LoopLSTM.supports(self.cell):      # the same loop, a faster backward
            hs, contexts, alphas = self.teacher_forced(emb, states, features, keys)
            return self.logits(hs, contexts, emb, training), alphas

        # tf.scan, not keras.ops.scan: it bounds the while loop (maximum_iterations), which
        # XLA needs for the gradient. The carry is one flat tensor [states..., context,
        # alpha] and is also each word's output (h = states[0]).
        U, C = self.units, features.shape[-1]
        n = len(states)
        start = ops.concatenate(states + [ops.zeros_like(features[:, 0]),
                                          ops.zeros_like(features[:, :, 0])], axis=-1)

        def body(carry, x):
            prev = [carry[:, i * U:(i + 1) * U] for i in range(n)]
            _, context, alpha, new = self.advance(x, prev, features, keys)
            return ops.concatenate(new + [context, alpha], axis=-1)

        ys = tf.scan(body, ops.transpose(emb, (1, 0, 2)), initializer=start)
        ys = ops.transpose(ys, (1, 0, 2))
        hs, contexts, alphas = ys[..., :U], ys[..., n * U:n * U + C], ys[..., n * U + C:]
        return self.logits(hs, contexts, emb, training), alphas

    def teacher_forced(self, emb, states, features, keys):
        """call's loop for training an LSTM: the same numbers, the cell's weight gradients
        taken outside the loop (zoo.layers.LoopLSTM). -> h [B, T, U], context [B, T, C],
        attention [B, T, L]."""
        lstm, units, width = LoopLSTM(self.cell, emb), self.units, features.shape[-1]

        def body(carry, z_in):
            h, c = carry[:, :units], carry[:, units:2 * units]
            context, alpha = self.attend(h, features, keys)
            return tf.concat([*lstm.step(z_in, context, h, c), context, alpha], -1)

        h0, c0 = states
        start = tf.concat([h0, c0, tf.zeros_like(features[:, 0]),
                           tf.zeros_like(features[:, :, 0])], -1)
        ys = tf.scan(body, lstm.inputs, initializer=start)                    # [T, B, .]
        hs, contexts = ys[..., :units], ys[..., 2 * units:2 * units + width]
        alphas = ys[..., 2 * units + width:]
        lstm.done(contexts, tf.concat([h0[None], hs[:-1]], 0))
        return tuple(tf.transpose(y, (1, 0, 2)) for y in (hs, contexts, alphas))

    def compute_output_shape(self, input_shape):
        (b, L, _), (_, T) = input_shape
        return (b, T, self.vocab_size), (b, T, L)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "units": self.units,
                "embed_dim": self.embed_dim, "attention_dim": self.attention_dim,
                "cell": self.cell_type, "dropout": self.dropout_rate,
                "attention_reg": self.attention_reg, "label_smoothing": self.label_smoothing}


def _separable(x, filters: int, stride: int, name: str):
    """MobileNet block: 3x3 depthwise + BN + ReLU6, 1x1 pointwise + BN + ReLU6."""
    x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu")(BatchNormalization(name=f"{name}_dw_bn")(x))
    x = layers.Conv2D(filters, 1, use_bias=False, name=f"{name}_pw")(x)
    return layers.ReLU(6.0, name=f"{name}_pw_relu")(BatchNormalization(name=f"{name}_pw_bn")(x))


@keras.saving.register_keras_serializable(package="captioning")
class MixStyle(layers.Layer):
    """MixStyle (Zhou et al. 2021), a feature-level style augmentation: while training, on
    a share `p` of the batches, each image's feature maps take a mix of its own per-channel
    mean and spread and those of another image of the batch (weights drawn from Beta(alpha,
    alpha)); early CNN statistics carry much of an image's style. Identity at inference,
    so exports never see it.

    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    >>> mix = MixStyle(p=1.0, seed=0)
    >>> bool(np.allclose(mix(x), x)), bool(np.allclose(mix(x, training=True), x))
    (True, False)
    """

    def __init__(self, p: float = 0.5, alpha: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.p, self.alpha, self.seed = p, alpha, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=None):
        if not training or self.p <= 0:
            return x
        mean = ops.stop_gradient(ops.mean(x, axis=(1, 2), keepdims=True))
        std = ops.stop_gradient(ops.sqrt(ops.var(x, axis=(1, 2), keepdims=True) + 1e-6))
        batch = ops.shape(x)[0]
        lam = keras.random.beta((batch, 1, 1, 1), self.alpha, self.alpha, seed=self.seed_generator)
        other = keras.random.shuffle(ops.arange(batch), seed=self.seed_generator)
        mixed = (((x - mean) / std) * (lam * std + (1 - lam) * ops.take(std, other, axis=0))
                 + lam * mean + (1 - lam) * ops.take(mean, other, axis=0))
        use = keras.random.uniform((), seed=self.seed_generator) < self.p
        return ops.where(use, mixed, x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "p": self.p, "alpha": self.alpha, "seed": self.seed}


def build_encoder(image_size: int, widths=(64, 128, 256), grid: int = 8, stem: int = 32,
                  mixstyle: float = 0.0, mixstyle_stem: bool = True) -> keras.Model:
    """image [S, S, 3] (0..255) -> features [grid * grid, widths[-1]]. The image is halved
    log2(S / grid) times, the first halvings in the first stages. `mixstyle` > 0: a MixStyle
    layer with that share after the stem (unless `mixstyle_stem` is False: the stem's
    channel means are close to the image's colours, which skin-tone names need) and after
    each of the first two stages, where the paper puts it (the early layers, whose
    statistics are style more than content)."""
    halvings = math.log2(image_size / grid)
    if halvings < 0 or halvings != int(halvings):
        raise ValueError(f"image_size / grid must be a power of two; got {image_size} / {grid}")
    image = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="scale")(image)
    x = layers.Conv2D(stem, 3, padding="same", use_bias=False, name="stem")(x)
    x = layers.ReLU(6.0, name="stem_relu")(BatchNormalization(name="stem_bn")(x))
    if mixstyle > 0 and mixstyle_stem:
        x = MixStyle(mixstyle, name="stem_mixstyle")(x)
    strides = [2 if i < int(halvings) else 1 for i in range(max(len(widths), int(halvings)))]
    widths = list(widths) + [widths[-1]] * (len(strides) - len(widths))
    for i, (w, s) in enumerate(zip(widths, strides)):
        x = _separable(x, w, s, f"block{i}a")
        x = _separable(x, w, 1, f"block{i}b")
        if mixstyle > 0 and i < 2:
            x = MixStyle(mixstyle, name=f"block{i}_mixstyle")(x)
    x = layers.Reshape((grid * grid, widths[-1]), name="grid")(x)
    return keras.Model(image, x, name="encoder")


@keras.saving.register_keras_serializable(package="captioning")
class KeywordHead(layers.Dense):
    """Keyword logits from the mean encoder feature: the auxiliary multi-label target
    (training only; it carries its loss weight, which `loss(model)` reads)."""

    def __init__(self, units, loss_weight: float = 1.0, **kwargs):
        super().__init__(units, **kwargs)
        self.loss_weight = loss_weight

    def get_config(self):
        return {**super().get_config(), "loss_weight": self.loss_weight}


def build(prep: dict, init=None, cell: str = "lstm", units: int = 256, embed_dim: int = 128,
          attention_dim: int = 128, widths=(64, 128, 256), grid: int = 8, dropout: float = 0.3,
          attention_reg: float = 1.0, keyword_weight: float = 0.0,
          label_smoothing: float = 0.0, mixstyle: float = 0.0,
          mixstyle_stem: bool = True) -> keras.Model:
    """{"image": [S, S, 3] float 0..255, "tokens": [T] int <start> w1 ..} ->
    {"logits": [T, V] of the next words, "attention": [T, grid * grid]} (+ "keywords": [K]
    logits when `keyword_weight` > 0 and prep has keyword labels: an auxiliary target that
    teaches the encoder the CLDR keywords, skin tones among them; the exports and the
    captions do not use it). `label_smoothing` moves that share of each next word's target
    mass evenly onto the vocabulary (Szegedy et al. 2016). `mixstyle`: the share of training
    batches whose early feature statistics are mixed between images (MixStyle; 0: off), with
    or without a layer after the stem (`mixstyle_stem`)."""
    size = int(prep["image_size"])
    encoder = build_encoder(size, tuple(widths), grid, mixstyle=mixstyle, mixstyle_stem=mixstyle_stem)
    image = keras.Input((size, size, 3), name="image")
    tokens = keras.Input((None,), dtype="int32", name="tokens")
    decoder = AttentionDecoder(len(prep["vocab"]), units, embed_dim, attention_dim, cell,
                               dropout, attention_reg, label_smoothing, name="decoder")
    features = encoder(image)
    logits, attention = decoder([features, tokens])
    outputs = {"logits": logits, "attention": attention}
    if keyword_weight > 0 and prep.get("keywords"):
        pooled = layers.GlobalAveragePooling1D(name="keyword_pool")(features)
        pooled = layers.Dropout(dropout, name="keyword_dropout")(pooled)
        # Bias -5 (p = 0.7 %): most keywords are absent, so the start is near the prior.
        outputs["keywords"] = KeywordHead(len(prep["keywords"]), keyword_weight,
                                          bias_initializer=keras.initializers.Constant(-5.0),
                                          name="keywords")(pooled)
    return keras.Model({"image": image, "tokens": tokens}, outputs, name="caption_cnn_lstm")


class NextWordLoss(keras.losses.Loss):
    """Cross-entropy of the next word over the real (non-pad: target 0) positions, with
    `smoothing` of the target spread evenly over the vocabulary."""

    def __init__(self, smoothing: float = 0.0, name="next_word", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        mask = ops.cast(y_true > 0, y_pred.dtype)
        ce = keras.losses.sparse_categorical_crossentropy(y_true, y_pred, from_logits=True)
        if self.smoothing:
            uniform = -ops.mean(ops.log_softmax(y_pred, axis=-1), axis=-1)
            ce = (1.0 - self.smoothing) * ce + self.smoothing * uniform
        return ops.sum(ce * mask) / ops.maximum(ops.sum(mask), 1.0)


class DoublyStochastic(keras.losses.Loss):
    """weight * mean over images and cells i of (1 - sum_t alpha_ti)^2, real words only."""

    def __init__(self, weight: float = 1.0, name="attention_reg", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight = weight

    def call(self, y_true, y_pred):
        mask = ops.cast(ops.cast(y_true, "int32") > 0, y_pred.dtype)
        total = ops.sum(y_pred * mask[..., None], axis=1)                   # [B, L]
        return self.weight * ops.mean(ops.square(1.0 - total))


class KeywordLoss(keras.losses.Loss):
    """weight * sigmoid cross-entropy summed over the keywords, divided by the image's
    number of keywords (a per-keyword scale, whatever K), averaged over the images that
    have keywords (target rows of -1 are skipped)."""

    def __init__(self, weight: float = 1.0, name="keyword_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight = weight

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        has = ops.cast(ops.min(y_true, axis=-1) >= 0, y_pred.dtype)                 # [B]
        target = ops.maximum(y_true, 0.0)
        bce = ops.sum(_sigmoid_ce(target, y_pred), axis=-1)
        per = bce / ops.maximum(ops.sum(target, axis=-1), 1.0)
        return self.weight * ops.sum(per * has) / ops.maximum(ops.sum(has), 1.0)


def _sigmoid_ce(labels, logits):
    # max(x, 0) - x z + log(1 + exp(-|x|)): the stable form of the logistic loss.
    return ops.relu(logits) - logits * labels + ops.log1p(ops.exp(-ops.abs(logits)))


def loss(model):
    decoder = model.get_layer("decoder")
    out = {"logits": NextWordLoss(decoder.label_smoothing),
           "attention": DoublyStochastic(decoder.attention_reg)}
    if "keywords" in model.output:
        out["keywords"] = KeywordLoss(model.get_layer("keywords").loss_weight)
    return out


class _Initial(layers.Layer):
    def __init__(self, decoder, **kwargs):
        super().__init__(**kwargs)
        self.decoder = decoder

    def call(self, features):
        keys, states = self.decoder.initial(features)
        return [keys, *states]


class _Step(layers.Layer):
    def __init__(self, decoder, **kwargs):
        super().__init__(**kwargs)
        self.decoder = decoder

    def call(self, word, states, features, keys):
        emb = self.decoder.embedding(word)
        h, context, alpha, new = self.decoder.advance(emb, states, features, keys)
        log_probs = ops.log_softmax(self.decoder.logits(h, context, emb), axis=-1)
        return [log_probs, alpha, *new]


def decode_functions(model, prep: dict) -> dict:
    """The same encoder and step with any batch size: the Keras model's predict() runs a
    beam's hypotheses, or the neighbours' captions, in one step call."""
    return export_functions(model, prep, batch=None)


def export_functions(model, prep: dict, batch: int | None = 1) -> dict:
    """Functions sharing the trained layers (batch 1 for TFLite; `batch=None` for the
    SavedModel serving loop):
    "encoder": {"image" [1, S, S, 3]} -> {"features" [1, L, C], "keys" [1, L, A], "h", "c"};
    "step": {"word" [1] int32, "h", "c", "features", "keys"} -> {"log_probs" [1, V],
    "attention" [1, L], "h", "c"} (no "c" for a GRU)."""
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    names = state_names(decoder.cell_type)
    size = int(prep["image_size"])
    L, C = encoder.output_shape[1:]
    image = keras.Input(batch_shape=(batch, size, size, 3), name="image")
    feats = encoder(image)
    keys, *states = _Initial(decoder, name="initial")(feats)
    enc_out = {"features": layers.Identity(name="features_out")(feats),
               "keys": layers.Identity(name="keys_out")(keys)}
    enc_out.update({n: layers.Identity(name=f"{n}_out")(s) for n, s in zip(names, states)})

    word = keras.Input(batch_shape=(batch,), dtype="int32", name="word")
    st = [keras.Input(batch_shape=(batch, decoder.units), name=n) for n in names]
    f_in = keras.Input(batch_shape=(batch, L, C), name="features")
    k_in = keras.Input(batch_shape=(batch, L, decoder.attention_dim), name="keys")
    log_probs, alpha, *new = _Step(decoder, name="step")(word, st, f_in, k_in)
    step_out = {"log_probs": layers.Identity(name="log_probs_out")(log_probs),
                "attention": layers.Identity(name="attention_out")(alpha)}
    step_out.update({n: layers.Identity(name=f"{n}_out")(s) for n, s in zip(names, new)})
    return {"encoder": keras.Model({"image": image}, enc_out, name="caption_encoder"),
            "step": keras.Model({"word": word, **dict(zip(names, st)), "features": f_in,
                                 "keys": k_in}, step_out, name="caption_step")}


def feature_model(model) -> keras.Model:
    """image [B, S, S, 3] -> mean encoder feature [B, C] (the nearest-neighbour baseline)."""
    encoder = model.get_layer("encoder")
    image = keras.Input(encoder.input_shape[1:], name="image")
    return keras.Model(image, ops.mean(encoder(image), axis=1))


def host_constants(model) -> dict:
    decoder, encoder = model.get_layer("decoder"), model.get_layer("encoder")
    grid = round(math.sqrt(encoder.output_shape[1]))
    return {"state": {n: decoder.units for n in state_names(decoder.cell_type)}, "grid": grid}
