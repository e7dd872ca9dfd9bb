"""The charlm-lstm network written again in PyTorch, for benchmarks/charlm_lstm.py:
nn.Embedding -> fused nn.LSTM / nn.GRU / nn.RNN (the recipe's cell, weights copied from
Keras) -> nn.Linear, cross-entropy over every position of the window (no padding: the
windows are full), and the one-character step the host's generation loop calls."""
from __future__ import annotations

import numpy as np
import torch

from .rnn_weights import RNN_CLASSES, keras_rnn_weights

STYLE = "fused nn.LSTM/GRU/RNN"


def make(km):
    cells = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}
    rnns = sorted((lyr for lyr in km.layers if lyr.name.startswith("rnn_")), key=lambda lyr: lyr.name)
    cell = cells[type(rnns[0]).__name__]
    emb = km.get_layer("embed").get_weights()[0]
    dense_k, dense_b = km.get_layer("logits").get_weights()

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(*emb.shape)
            kind = getattr(torch.nn, RNN_CLASSES[cell])
            extra = {"nonlinearity": "tanh"} if cell == "rnn" else {}
            self.rnn = kind(emb.shape[1], rnns[0].units, num_layers=len(rnns), batch_first=True,
                            **extra)
            self.out = torch.nn.Linear(*dense_k.shape)
            with torch.no_grad():
                self.embed.weight.copy_(torch.tensor(emb))
                for i, layer in enumerate(rnns):
                    w = keras_rnn_weights(layer.get_weights(), cell)
                    for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), w):
                        getattr(self.rnn, f"{name}_l{i}").copy_(torch.tensor(np.ascontiguousarray(value)))
                self.out.weight.copy_(torch.tensor(dense_k.T))
                self.out.bias.copy_(torch.tensor(dense_b))

        def forward(self, ids, state=None):
            x, state = self.rnn(self.embed(ids), state)
            return self.out(x), state

    return Twin()


def loss(twin, x: dict, y: dict):
    logits, _ = twin(x["ids"].long())
    return torch.nn.functional.cross_entropy(logits.flatten(0, 1), y["logits"].long().flatten())


def check(twin, keras_model, x: dict, y: dict) -> dict:
    with torch.no_grad():
        logits = twin(torch.tensor(x["ids"]).long())[0].numpy()
    return {"logits_max_abs_diff": float(np.max(np.abs(
        np.asarray(keras_model(x, training=False)["logits"]) - logits)))}
