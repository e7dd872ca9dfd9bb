"""The forecast-lstm network: a window of daily features -> recurrent encoder ->
multi-horizon quantiles of the cumulative log return (MQ-RNN style, Wen et al. 2017).

Scale-free by construction: the model divides the window's returns by their standard
deviation and multiplies its quantiles back by it (times sqrt(h)), so one global model
serves calm utilities and volatile biotechs alike, and the exported file maps a raw window
straight to quantiles.

>>> from zoo_pipelines.forecasting.model import build
>>> prep = {"window": 8, "horizon": 3, "quantiles": [0.1, 0.5, 0.9], "n_features": 10,
...         "n_context": 2}
>>> {k: tuple(v.shape) for k, v in build(prep, units=4).output.items()}
{'quantiles': (None, 3, 3)}
"""
from __future__ import annotations

import keras
from keras import ops

from zoo.layers import RecurrentStack

EPS = 1e-4


@keras.saving.register_keras_serializable(package="zoo.forecasting")
class WindowScaler(keras.layers.Layer):
    """Standardise a window: returns / their std, log volume / its own mean and std; the
    log of the return std itself becomes a feature (calm vs volatile regime)."""

    def call(self, x):
        r, lv, rest = x[..., :1], x[..., 1:2], x[..., 2:]
        sigma = ops.sqrt(ops.mean(ops.square(r - ops.mean(r, axis=1, keepdims=True)),
                                  axis=1, keepdims=True)) + EPS                 # [B, 1, 1]
        lv_mean = ops.mean(lv, axis=1, keepdims=True)
        lv_std = ops.sqrt(ops.mean(ops.square(lv - lv_mean), axis=1, keepdims=True))
        level = ops.log(sigma) + 4.0 + ops.zeros_like(r)    # ~0 for a 2 % daily std
        feats = ops.concatenate([r / sigma, (lv - lv_mean) / (lv_std + 1e-3), rest, level], -1)
        return feats, sigma[:, 0, :]

    def compute_output_shape(self, shape):
        return (*shape[:-1], shape[-1] + 1), (shape[0], 1)


@keras.saving.register_keras_serializable(package="zoo.forecasting")
class QuantileHead(keras.layers.Layer):
    """Encoder state -> [B, horizon, quantiles], sorted by construction (median plus
    cumulative softplus steps outwards), in log-return units (scaled by sigma * sqrt(h))."""

    def __init__(self, horizon, quantiles, **kwargs):
        super().__init__(**kwargs)
        self.horizon, self.quantiles = horizon, list(quantiles)
        self.median = self.quantiles.index(0.5)
        self.dense = keras.layers.Dense(horizon * len(self.quantiles), name="dense")

    def build(self, shapes):
        self.dense.build(shapes[0])

    def call(self, inputs):
        state, sigma = inputs
        q = len(self.quantiles)
        raw = ops.reshape(self.dense(state), (-1, self.horizon, q))
        mid = raw[..., self.median:self.median + 1]
        up = [mid]
        for j in range(self.median + 1, q):
            up.append(up[-1] + ops.softplus(raw[..., j:j + 1]))
        down = [mid]
        for j in range(self.median - 1, -1, -1):
            down.append(down[-1] - ops.softplus(raw[..., j:j + 1]))
        sorted_q = ops.concatenate(down[:0:-1] + up, -1)
        steps = ops.sqrt(ops.arange(1, self.horizon + 1, dtype="float32"))[None, :, None]
        return sorted_q * sigma[:, :, None] * steps

    def compute_output_shape(self, shapes):
        return (shapes[0][0], self.horizon, len(self.quantiles))

    def get_config(self):
        return {**super().get_config(), "horizon": self.horizon, "quantiles": self.quantiles}


def build(prep: dict, init=None, cell: str = "lstm", units: int = 64, layers: int = 1,
          dropout: float = 0.1) -> keras.Model:
    """A forecaster for `prep`'s window length, horizon and quantiles."""
    window = keras.Input((prep["window"], prep["n_features"]), name="window")
    context = keras.Input((prep["n_context"],), name="context")
    x, sigma = WindowScaler(name="scaler")(window)
    # the window's length is fixed, so training may unroll it (zoo/layers/recurrent.py);
    # a long one would make a big graph
    x = RecurrentStack(cell, units, layers, bidirectional=False, dropout=dropout,
                       return_sequences=False, unroll=prep["window"] <= 128, name="encoder")(x)
    x = keras.layers.Concatenate(name="with_context")([x, context])
    x = keras.layers.Dense(units, activation="relu", name="mix")(x)
    x = keras.layers.Dropout(dropout, name="encoder_dropout")(x)
    q = QuantileHead(prep["horizon"], prep["quantiles"], name="head_quantiles")([x, sigma])
    return keras.Model({"window": window, "context": context}, {"quantiles": q},
                       name="forecast_lstm")


@keras.saving.register_keras_serializable(package="zoo.forecasting")
class PinballLoss(keras.losses.Loss):
    """Mean pinball (quantile) loss. `y_true` is [B, H, 2]: the cumulative log return and a
    weight (1 / the series' mean absolute return), so volatile series do not dominate."""

    def __init__(self, quantiles, name="pinball", **kwargs):
        super().__init__(name=name, **kwargs)
        self.quantiles = list(quantiles)

    def call(self, y_true, y_pred):
        target, weight = y_true[..., :1], y_true[..., 1:2]
        q = ops.convert_to_tensor(self.quantiles, dtype=y_pred.dtype)
        diff = target - y_pred
        return ops.mean(ops.maximum(q * diff, (q - 1) * diff) * weight, axis=(-1, -2))

    def get_config(self):
        return {"quantiles": self.quantiles, "name": self.name}


def loss(model):
    return {"quantiles": PinballLoss(model.get_layer("head_quantiles").quantiles)}


def host_constants(model) -> dict:
    return {}


def serving_function(model, prep: dict):
    """SavedModel signature on raw prices: `close`, `volume` (all zero when unknown) and
    `weekday` (0 = Monday), each [B, T] with T >= window + 1 days of history (the last
    750 returns feed the long-run context) -> `prices` [B, horizon, quantiles]."""
    import tensorflow as tf

    from .host import LONG_RUN, RETURN_CLIP

    w = prep["window"]
    spec = lambda name, dtype: tf.TensorSpec([None, None], dtype, name=name)  # noqa: E731

    @tf.function(input_signature=[spec("close", tf.float32), spec("volume", tf.float32),
                                  spec("weekday", tf.int32)])
    def serve(close, volume, weekday):
        r = tf.clip_by_value(tf.math.log(close[:, 1:] / close[:, :-1]), -RETURN_CLIP, RETURN_CLIP)
        long = r[:, -LONG_RUN:]
        mean = tf.reduce_mean(long, 1)
        std = tf.sqrt(tf.maximum(tf.reduce_mean(tf.square(long), 1) - mean ** 2, 0.0))
        context = tf.stack([tf.math.log(std + 1e-4) + 4.0, 100 * mean], -1)
        r, volume, weekday = r[:, -w:], volume[:, -w - 1:], weekday[:, -w:]
        has = tf.cast(tf.reduce_any(volume > 0, axis=1, keepdims=True), tf.float32)
        lv = tf.math.log1p(tf.maximum(volume[:, 1:], 0.0)) * has
        x = tf.concat([r[..., None], lv[..., None], (has + 0 * r)[..., None],
                       tf.one_hot(weekday, 7)], -1)
        q = model({"window": x, "context": context}, training=False)["quantiles"]
        return {"prices": close[:, -1:, None] * tf.exp(q)}

    module = tf.Module()
    module.serve = serve
    return module


def serving_predict(serve, examples: list, prep: dict) -> list:
    """Call the serving signature on raw series (export parity): predict()-style frames."""
    import numpy as np
    import tensorflow as tf

    from .host import Host

    host = Host(prep)
    enc = host.encode(examples)
    outputs = []
    for s in enc.series:                  # one call per series: histories differ in length
        vol = s["volume"] if s["volume"] is not None else np.zeros(len(s["close"]))
        prices = serve(close=tf.constant(s["close"][None], tf.float32),
                       volume=tf.constant(vol[None], tf.float32),
                       weekday=tf.constant(((s["dates"].astype(np.int64) + 3) % 7)[None],
                                           tf.int32))["prices"].numpy()[0]
        outputs.append({"quantiles": np.log(prices / s["close"][-1])})
    return host.decode(enc, outputs)
