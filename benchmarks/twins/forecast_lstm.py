"""The forecast-lstm network written again in PyTorch, for benchmarks/forecast_lstm.py.

Same computation as zoo_pipelines/forecasting/model.py, sizes read from the Keras model:
window standardisation (returns / their std, log volume / its own mean and std, log std
as a feature), nn.LSTM / GRU / RNN (any depth), last state + context -> Linear + ReLU ->
Linear -> sorted quantiles scaled by sigma * sqrt(h); pinball loss with per-window weights.

>>> import zoo                                                  # doctest: +SKIP
>>> twin = make(zoo.load("forecast-lstm").keras_model)         # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .rnn_weights import RNN_CLASSES, keras_rnn_weights


class TorchForecaster(nn.Module):
    def __init__(self, features, context, cell, units, layers, horizon, quantiles):
        super().__init__()
        self.horizon, self.quantiles = horizon, list(quantiles)
        self.median = self.quantiles.index(0.5)
        self.rnn = getattr(nn, RNN_CLASSES[cell])(features + 1, units, layers, batch_first=True)
        self.mix = nn.Linear(units + context, units)
        self.head = nn.Linear(units, horizon * len(self.quantiles))
        self.register_buffer("steps", torch.sqrt(torch.arange(1, horizon + 1, dtype=torch.float32)))

    @classmethod
    def like(cls, km) -> TorchForecaster:
        enc, head = km.get_layer("encoder"), km.get_layer("head_quantiles")
        return cls(km.input["window"].shape[-1], km.input["context"].shape[-1], enc.cell,
                   enc.units, enc.depth, head.horizon, head.quantiles)

    def forward(self, window, context):
        r, lv, rest = window[..., :1], window[..., 1:2], window[..., 2:]
        sigma = torch.sqrt(((r - r.mean(1, keepdim=True)) ** 2).mean(1, keepdim=True)) + 1e-4
        lv_mean = lv.mean(1, keepdim=True)
        lv_std = torch.sqrt(((lv - lv_mean) ** 2).mean(1, keepdim=True))
        level = torch.log(sigma) + 4.0 + torch.zeros_like(r)
        x = torch.cat([r / sigma, (lv - lv_mean) / (lv_std + 1e-3), rest, level], -1)
        out, _ = self.rnn(x)
        h = torch.relu(self.mix(torch.cat([out[:, -1], context], -1)))
        raw = self.head(h).view(-1, self.horizon, len(self.quantiles))
        mid = raw[..., self.median:self.median + 1]
        up, down = [mid], [mid]
        for j in range(self.median + 1, len(self.quantiles)):
            up.append(up[-1] + nn.functional.softplus(raw[..., j:j + 1]))
        for j in range(self.median - 1, -1, -1):
            down.append(down[-1] - nn.functional.softplus(raw[..., j:j + 1]))
        q = torch.cat(down[:0:-1] + up, -1)
        return q * sigma.view(-1, 1, 1) * self.steps[None, :, None]

    def loss(self, q, y):
        target, weight = y[..., :1], y[..., 1:2]
        levels = torch.tensor(self.quantiles, dtype=q.dtype)
        diff = target - q
        return (torch.maximum(levels * diff, (levels - 1) * diff) * weight).mean()


def copy_keras_weights(twin: TorchForecaster, km) -> TorchForecaster:
    enc = km.get_layer("encoder")
    weights = enc.get_weights()
    params = {}
    for i in range(enc.depth):
        w_ih, w_hh, b_ih, b_hh = keras_rnn_weights(weights[3 * i:3 * i + 3], enc.cell)
        params.update({f"rnn.weight_ih_l{i}": w_ih, f"rnn.weight_hh_l{i}": w_hh,
                       f"rnn.bias_ih_l{i}": b_ih, f"rnn.bias_hh_l{i}": b_hh})
    for name, layer in (("mix", "mix"), ("head", "head_quantiles")):
        kernel, bias = km.get_layer(layer).get_weights()
        params[f"{name}.weight"], params[f"{name}.bias"] = kernel.T, bias
    state = twin.state_dict()
    for k, v in params.items():
        state[k] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
    twin.load_state_dict(state)
    return twin


def make(keras_model) -> TorchForecaster:
    return copy_keras_weights(TorchForecaster.like(keras_model), keras_model)


def predict(twin: TorchForecaster, x: dict) -> dict:
    return {"quantiles": twin(**x).numpy()}


def loss(twin: TorchForecaster, x: dict, y: dict):
    return twin.loss(twin(**x), y["quantiles"])


def check(twin: TorchForecaster, keras_model, x: dict, y: dict) -> dict:
    with torch.inference_mode():
        ours = predict(twin, {k: torch.tensor(v) for k, v in x.items()})["quantiles"]
    return {"quantiles_max_abs_diff": float(np.abs(ours - keras_model(x)["quantiles"].numpy()).max())}
