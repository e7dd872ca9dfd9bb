"""The summarize-attn network written again in PyTorch, for benchmarks/summarize_attn.py:
zoo_pipelines/summarization/model.py mirrored layer by layer (shared embedding, packed BiLSTM
encoder, tanh/linear bridges, an LSTMCell decoder stepped in a Python loop with additive
attention, coverage and input feeding, pointer-generator copy mix, dropout on memory and
target embeddings), token NLL + coverage loss."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from zoo_pipelines.summarization.model import loss as loss_weights

from .rnn_weights import keras_rnn_weights

STYLE = "Python loop over target steps"


def make(km):
    """The same network in PyTorch with the Keras weights (zoo_pipelines/summarization/model.py
    mirrored layer by layer; LSTM gate order i, f, c, o is the same in both)."""
    T = lambda a: torch.tensor(np.asarray(a, np.float32))
    enc = km.get_layer("encoder")
    dec = km.get_layer("decoder")
    cell = dec.cell
    copy_mix = km.get_layer("copy_mix")
    emb = np.asarray(km.get_layer("embedding").embeddings)
    dropout = float(km.get_layer("memory_dropout").rate)

    def dense(layer, bias=True):
        w = [np.asarray(a) for a in layer.get_weights()]
        m = nn.Linear(w[0].shape[0], w[0].shape[1], bias=bias)
        with torch.no_grad():
            m.weight.copy_(T(w[0].T))
            if bias:
                m.bias.copy_(T(w[1]))
        return m

    def set_lstm(params, weights):
        with torch.no_grad():
            for p, w in zip(params, keras_rnn_weights([np.asarray(a) for a in weights], "lstm")):
                p.copy_(T(w))

    class Twin(nn.Module):
        def __init__(self):
            super().__init__()
            V, E = emb.shape
            U = enc.forward_layer.units
            self.embedding = nn.Embedding(V, E)
            self.encoder = nn.LSTM(E, U, batch_first=True, bidirectional=True)
            self.bridge_h = dense(km.get_layer("bridge_h"))
            self.bridge_c = dense(km.get_layer("bridge_c"))
            self.attn_keys = dense(km.get_layer("attn_keys"), bias=False)
            self.cell = nn.LSTMCell(E + 2 * U, cell.units)
            self.query = dense(cell.query)
            self.features = dense(cell.features)
            self.p_gen = dense(cell.p_gen)
            self.w_cov = nn.Parameter(T(cell.w_cov))
            self.v = nn.Parameter(T(cell.v))
            self.vocab = dense(km.get_layer("vocab"))
            self.use_coverage, self.copy = dec.use_coverage, copy_mix.copy
            self.coverage_weight = float(loss_weights(km)["coverage"].weight)
            with torch.no_grad():
                self.embedding.weight.copy_(T(emb))
            e = self.encoder
            set_lstm([e.weight_ih_l0, e.weight_hh_l0, e.bias_ih_l0, e.bias_hh_l0],
                     enc.forward_layer.get_weights())
            set_lstm([e.weight_ih_l0_reverse, e.weight_hh_l0_reverse, e.bias_ih_l0_reverse,
                      e.bias_hh_l0_reverse], enc.backward_layer.get_weights())
            c = self.cell
            set_lstm([c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh],
                     [cell.lstm.kernel, cell.lstm.recurrent_kernel, cell.lstm.bias])

        def forward(self, source, target_in):
            """-> log_probs [B, T, V], coverage loss [B, T]."""
            mask = (source != 0).float()
            lengths = (source != 0).sum(1).clamp(min=1).cpu()
            x = self.embedding(source)
            packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                       enforce_sorted=False)
            seq, (hn, cn) = self.encoder(packed)
            memory, _ = nn.utils.rnn.pad_packed_sequence(seq, batch_first=True,
                                                         total_length=source.shape[1])
            h = torch.tanh(self.bridge_h(torch.cat([hn[0], hn[1]], -1)))
            c = self.bridge_c(torch.cat([cn[0], cn[1]], -1))
            keys = self.attn_keys(memory)
            memory = F.dropout(memory, dropout, self.training)
            y = F.dropout(self.embedding(target_in), dropout, self.training)
            context = torch.zeros_like(memory[:, 0])
            coverage = torch.zeros_like(mask)
            penalty = (1.0 - mask) * -1e9
            feats, attns, gens, covs = [], [], [], []
            for t in range(target_in.shape[1]):
                xt = y[:, t]
                h, c = self.cell(torch.cat([xt, context], -1), (h, c))
                e = keys + self.query(h)[:, None, :]
                if self.use_coverage:
                    e = e + coverage[:, :, None] * self.w_cov
                attn = torch.softmax((torch.tanh(e) * self.v).sum(-1) + penalty, -1)
                context = (attn[:, :, None] * memory).sum(1)
                feats.append(torch.tanh(self.features(torch.cat([h, context], -1))))
                gens.append(torch.sigmoid(self.p_gen(torch.cat([context, h, xt], -1))))
                covs.append(torch.minimum(attn, coverage).sum(-1))
                attns.append(attn)
                coverage = coverage + attn
            logits = self.vocab(torch.stack(feats, 1))
            if not self.copy:
                return torch.log_softmax(logits, -1), torch.stack(covs, 1)
            attn, p_gen = torch.stack(attns, 1), torch.stack(gens, 1)
            B, Tn, S = attn.shape
            copied = torch.zeros_like(logits).scatter_add(
                2, source[:, None, :].expand(B, Tn, S), attn)
            mixed = p_gen * torch.softmax(logits, -1) + (1.0 - p_gen) * copied
            return torch.log(mixed + 1e-9), torch.stack(covs, 1)

    return Twin()


def loss(twin, x: dict, y: dict):
    """TokenNLL + weight x CoverageLoss (zoo_pipelines/summarization/model.py)."""
    log_probs, cov = twin(x["source"].long(), x["target_in"].long())
    target = y["log_probs"].long()
    mask = (target != 0).float()
    denom = mask.sum().clamp(min=1.0)
    nll = -log_probs.gather(-1, target[..., None]).squeeze(-1)
    return (nll * mask).sum() / denom + twin.coverage_weight * (cov * mask).sum() / denom


def check(twin, keras_model, x: dict, y: dict) -> dict:
    with torch.no_grad():
        log_probs, cov = twin(torch.tensor(x["source"]).long(), torch.tensor(x["target_in"]).long())
    out = keras_model(x, training=False)
    return {"log_prob_max_abs_diff": float(np.max(np.abs(np.asarray(out["log_probs"]) - log_probs.numpy()))),
            "coverage_max_abs_diff": float(np.max(np.abs(np.asarray(out["coverage"]) - cov.numpy())))}
