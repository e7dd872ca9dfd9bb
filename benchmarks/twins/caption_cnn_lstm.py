"""The caption-cnn-lstm network written again in PyTorch, for benchmarks/caption_cnn_lstm.py:
the same depthwise-separable CNN with BatchNorm, the same attention LSTM decoder stepped in
a Python loop over the words, next-word cross-entropy + doubly stochastic attention loss."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

STYLE = "Python loop over words"


def make(km):
    """The same network in PyTorch with the Keras weights. TF's "same" padding with stride
    2 pads only bottom/right on even sizes, so strided convolutions pad explicitly."""
    enc, dec = km.get_layer("encoder"), km.get_layer("decoder")
    T = lambda a: torch.tensor(np.asarray(a))  

    def bn(layer):
        g, b, mean, var = layer.get_weights()
        m = nn.BatchNorm2d(len(g), eps=layer.epsilon, momentum=1 - layer.momentum)
        with torch.no_grad():
            m.weight.copy_(T(g)); m.bias.copy_(T(b))
            m.running_mean.copy_(T(mean)); m.running_var.copy_(T(var))
        return m

    class Conv(nn.Module):
        def __init__(self, layer, depthwise: bool):
            super().__init__()
            w = layer.get_weights()[0]                    # [kh, kw, in, out|mult]
            self.stride = layer.strides[0]
            k = w.shape[0]
            if depthwise:
                self.conv = nn.Conv2d(w.shape[2], w.shape[2], k, self.stride, groups=w.shape[2], bias=False)
                weight = np.transpose(w, (2, 3, 0, 1))    # [in, 1, kh, kw]
            else:
                self.conv = nn.Conv2d(w.shape[2], w.shape[3], k, self.stride, bias=False)
                weight = np.transpose(w, (3, 2, 0, 1))
            with torch.no_grad():
                self.conv.weight.copy_(T(weight))
            self.k = k

        def forward(self, x):
            if self.k > 1:
                total = self.k - 1 if self.stride == 1 else max(self.k - self.stride, 0)
                x = F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))
            return self.conv(x)

    def dense(layer, bias=True):
        w = layer.get_weights()
        m = nn.Linear(w[0].shape[0], w[0].shape[1], bias=bias)
        with torch.no_grad():
            m.weight.copy_(T(w[0].T))
            if bias:
                m.bias.copy_(T(w[1]))
        return m

    blocks = []
    convs = [l for l in enc.layers if type(l).__name__ in ("Conv2D", "DepthwiseConv2D")]
    for conv in convs:
        blocks += [Conv(conv, type(conv).__name__ == "DepthwiseConv2D"),
                   bn(enc.get_layer(conv.name.replace("_dw", "_dw_bn").replace("_pw", "_pw_bn")
                                    if conv.name != "stem" else "stem_bn")),
                   nn.ReLU6()]
    if dec.cell_type != "lstm":
        raise SystemExit("the PyTorch twin covers the LSTM decoder only")

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(*blocks)
            self.embedding = nn.Embedding(dec.vocab_size, dec.embed_dim)
            with torch.no_grad():
                self.embedding.weight.copy_(T(dec.embedding.get_weights()[0]))
            self.init = nn.ModuleList([dense(d) for d in dec.init_states])
            self.key, self.query = dense(dec.key), dense(dec.query, bias=False)
            self.v = nn.Parameter(T(dec.score.get_weights()[0][:, 0]))
            self.gate = dense(dec.gate)
            kernel, recurrent, bias = dec.cell.get_weights()
            self.cell = nn.LSTMCell(kernel.shape[0], dec.units)
            with torch.no_grad():
                self.cell.weight_ih.copy_(T(kernel.T)); self.cell.weight_hh.copy_(T(recurrent.T))
                self.cell.bias_ih.copy_(T(bias)); self.cell.bias_hh.zero_()
            self.drop = nn.Dropout(dec.dropout_rate)
            self.out = dense(dec.out)

        def forward(self, image, tokens):
            x = self.cnn(image.permute(0, 3, 1, 2) / 127.5 - 1.0)        # NHWC -> NCHW
            feats = x.flatten(2).transpose(1, 2)                          # [B, L, C]
            mean = feats.mean(1)
            h, c = [torch.tanh(d(mean)) for d in self.init]
            keys = self.key(feats)
            emb = self.embedding(tokens)
            logits, alphas = [], []
            for t in range(tokens.shape[1]):
                e = (torch.tanh(keys + self.query(h)[:, None]) * self.v).sum(-1)
                alpha = torch.softmax(e, -1)
                context = torch.sigmoid(self.gate(h)) * (alpha[..., None] * feats).sum(1)
                h, c = self.cell(torch.cat([emb[:, t], context], -1), (h, c))
                logits.append(self.out(self.drop(torch.cat([h, context, emb[:, t]], -1))))
                alphas.append(alpha)
            return torch.stack(logits, 1), torch.stack(alphas, 1)

    twin = Twin()
    twin.attention_reg = dec.attention_reg
    return twin


def loss(twin, x: dict, y: dict):
    logits, alphas = twin(x["image"], x["tokens"].long())
    target = y["logits"]
    mask = (target > 0).float()
    ce = F.cross_entropy(logits.transpose(1, 2), target.long(), reduction="none")
    nll = (ce * mask).sum() / mask.sum().clamp(min=1)
    total = (alphas * mask[..., None]).sum(1)
    return nll + twin.attention_reg * ((1 - total) ** 2).mean()


def check(twin, keras_model, x: dict, y: dict) -> dict:
    with torch.no_grad():
        logits, _ = twin(torch.tensor(x["image"]), torch.tensor(x["tokens"]).long())
    return {"logits_max_abs_diff": float(np.max(np.abs(
        np.asarray(keras_model(x, training=False)["logits"]) - logits.numpy())))}
