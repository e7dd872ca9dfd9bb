"""The speech-ctc network written again in PyTorch, for benchmarks/speech_ctc.py: Conv1d x2
(the Keras model's explicit padding, padded frames zeroed), LayerNorm, packed
bidirectional GRUs, Linear; `F.ctc_loss`."""
from __future__ import annotations

import keras
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .rnn_weights import keras_rnn_weights

STYLE = "packed bidirectional nn.GRU, F.ctc_loss"


def make(km):
    """The Keras network in PyTorch with the same weights."""
    enc = km.get_layer("encoder")
    convs = [l for l in km.layers if isinstance(l, keras.layers.Conv1D)]

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv1d(c.kernel.shape[1], c.filters, 5, stride=2)
                                       for c in convs)
            self.norm = nn.LayerNorm(convs[-1].filters, eps=km.get_layer("front_norm").epsilon)
            self.rnns = nn.ModuleList()
            width = convs[-1].filters
            for _ in range(enc.depth):
                self.rnns.append(nn.GRU(width, enc.units, batch_first=True, bidirectional=True))
                width = 2 * enc.units
            head = km.get_layer("head_logits")
            self.head = nn.Linear(width, head.units)

        def forward(self, x, frames):
            x = x.transpose(1, 2)
            for i, conv in enumerate(self.convs):       # the Keras model's explicit padding
                x = F.relu(conv(F.pad(x, (1, 3))))
                valid = -(-frames // 2 ** (i + 1))      # zero what comes from padding
                x = x * (torch.arange(x.shape[2])[None] < valid[:, None])[:, None].to(x.dtype)
            x = self.norm(x.transpose(1, 2))
            lengths = -(-frames // 2 ** len(self.convs))
            for rnn in self.rnns:
                packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True,
                                                           enforce_sorted=False)
                x = nn.utils.rnn.pad_packed_sequence(rnn(packed)[0], batch_first=True,
                                                     total_length=x.shape[1])[0]
            return self.head(x), lengths

    twin = Twin()

    with torch.no_grad():
        for conv, c in zip(twin.convs, convs):
            k, b = c.get_weights()
            conv.weight.copy_(torch.from_numpy(k.transpose(2, 1, 0).copy()))
            conv.bias.copy_(torch.from_numpy(b))
        g, b = km.get_layer("front_norm").get_weights()
        twin.norm.weight.copy_(torch.from_numpy(g))
        twin.norm.bias.copy_(torch.from_numpy(b))
        for rnn, bi in zip(twin.rnns, enc.rnns):
            for suffix, layer in (("", bi.forward_layer), ("_reverse", bi.backward_layer)):
                w_ih, w_hh, b_ih, b_hh = keras_rnn_weights(layer.get_weights(), "gru")
                for name, w in (("weight_ih", w_ih), ("weight_hh", w_hh), ("bias_ih", b_ih),
                                ("bias_hh", b_hh)):
                    getattr(rnn, f"{name}_l0{suffix}").copy_(torch.from_numpy(w.copy()))
        k, b = km.get_layer("head_logits").get_weights()
        twin.head.weight.copy_(torch.from_numpy(k.T.copy()))
        twin.head.bias.copy_(torch.from_numpy(b))
    return twin


def frames_of(features):
    """Real (non-padding) frames per utterance."""
    return (features.abs().sum(-1) > 0).sum(1)


def loss(twin, x: dict, y: dict):
    logits, lengths = twin(x["features"], frames_of(x["features"]))
    labels = y["logits"][:, 1:].long()
    return F.ctc_loss(F.log_softmax(logits, -1).transpose(0, 1), labels, lengths,
                      (labels > 0).sum(1), blank=0, reduction="none", zero_infinity=True).mean()


def check(twin, keras_model, x: dict, y: dict) -> dict:
    """Logits on every utterance's real output steps."""
    features = torch.tensor(x["features"])
    with torch.no_grad():
        logits, lengths = twin(features, frames_of(features))
    keras_logits = np.asarray(keras_model(x, training=False)["logits"])
    return {"logits_max_abs_diff": max(float(np.abs(keras_logits[i, :n] - logits[i, :n].numpy()).max())
                                       for i, n in enumerate(lengths.tolist()))}
