"""The music-lstm network written again in PyTorch, for benchmarks/music_lstm.py: nn.LSTM
+ the same NADE over 88 keys (LSTM gate order i, f, c, o is the same in both; Keras has
one bias, PyTorch two), frame NLL as the loss, and the step the host's generation loop
calls."""
from __future__ import annotations

import numpy as np
import torch

STYLE = "nn.LSTM"


def make(km):
    rnn = km.get_layer("rnn_0")
    kernel, recurrent, bias = rnn.get_weights()
    units = rnn.units
    W, V = km.get_layer("nade").get_weights()
    vb_k, vb_b = km.get_layer("visible_bias").get_weights()
    hb_k, hb_b = km.get_layer("hidden_bias").get_weights()

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(88, units, batch_first=True)
            self.vb = torch.nn.Linear(units, 88)
            self.hb = torch.nn.Linear(units, W.shape[1])
            self.W = torch.nn.Parameter(torch.tensor(W))
            self.V = torch.nn.Parameter(torch.tensor(V))
            self.register_buffer("below", torch.tril(torch.ones(88, 88), -1))
            with torch.no_grad():
                self.lstm.weight_ih_l0.copy_(torch.tensor(kernel.T))
                self.lstm.weight_hh_l0.copy_(torch.tensor(recurrent.T))
                self.lstm.bias_ih_l0.copy_(torch.tensor(bias))
                self.lstm.bias_hh_l0.zero_()
                self.vb.weight.copy_(torch.tensor(vb_k.T)); self.vb.bias.copy_(torch.tensor(vb_b))
                self.hb.weight.copy_(torch.tensor(hb_k.T)); self.hb.bias.copy_(torch.tensor(hb_b))

        def forward(self, prev, frame):
            x, _ = self.lstm(prev)
            b, c = self.vb(x), self.hb(x)
            # keys below each key as one matmul, as the Keras NADE does (faster than cumsum)
            a = (frame[..., None, :] * self.below) @ self.W
            return b + (torch.sigmoid(c[..., None, :] + a) * self.V).sum(-1)

        def step(self, frame, h, c):
            h, c = self.lstm(frame[:, None], (h[None], c[None]))[1]
            out = h[0]
            return self.vb(out), self.hb(out), h[0], c[0]

    return Twin()


def loss(twin, x: dict, y: dict):
    logits, target = twin(x["prev"], x["frame"]), y["logits"]
    mask = (target[..., 0] >= 0).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target.clamp(min=0),
                                                               reduction="none")
    return (bce.sum(-1) * mask).sum() / mask.sum().clamp(min=1)


def check(twin, keras_model, x: dict, y: dict) -> dict:
    with torch.no_grad():
        logits = twin(torch.tensor(x["prev"]), torch.tensor(x["frame"])).numpy()
    return {"logits_max_abs_diff": float(np.max(np.abs(
        np.asarray(keras_model(x, training=False)["logits"]) - logits)))}
