"""The ner-bilstm network written again in PyTorch, for benchmarks/ner_bilstm.py.

Same architecture as zoo_pipelines/ner/model.py, with every size read from the loaded Keras
model: word Embedding; char Embedding -> Conv1d (tanh, "same") -> max over the word's
characters (padding characters pushed to -2 first, as zoo/layers/chars.py does); casing
Embedding; dropout; nn.LSTM / GRU / RNN over packed sequences (bidirectional or not,
any depth); dropout; Linear; a linear-chain CRF whose NLL uses the forward algorithm.
`copy_keras_weights` makes it compute the same function as the Keras model, which the
benchmark checks before timing anything.

>>> import zoo                                                  # doctest: +SKIP
>>> twin = make(zoo.load("ner-bilstm").keras_model)            # doctest: +SKIP
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .rnn_weights import keras_rnn_weights

RNNS = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}
STYLE = "packed sequences, CRF in torch"


class TorchTagger(nn.Module):
    def __init__(self, words, word_dim, chars, char_dim, char_filters, char_width, casings,
                 casing_dim, cell, units, layers, bidirectional, dropout, feature_dropout,
                 encoder_dropout, tags):
        super().__init__()
        self.word = nn.Embedding(words, word_dim, padding_idx=0)
        self.char = nn.Embedding(chars, char_dim)
        self.char_conv = nn.Conv1d(char_dim, char_filters, char_width, padding="same")
        self.casing = nn.Embedding(casings, casing_dim, padding_idx=0)
        self.feature_dropout = nn.Dropout(feature_dropout)
        self.rnn = RNNS[cell](word_dim + char_filters + casing_dim, units, num_layers=layers,
                              bidirectional=bidirectional, batch_first=True,
                              dropout=dropout if layers > 1 else 0.0)
        self.encoder_dropout = nn.Dropout(encoder_dropout)
        self.head = nn.Linear(units * (2 if bidirectional else 1), tags)
        self.transitions = nn.Parameter(torch.zeros(tags, tags))   # [from, to]
        self.start = nn.Parameter(torch.zeros(tags))
        self.end = nn.Parameter(torch.zeros(tags))

    @classmethod
    def like(cls, keras_model) -> TorchTagger:
        """A twin with the sizes of the Keras ner-bilstm model (layer names as in its builder)."""
        layer = keras_model.get_layer
        word, chars, case = layer("word_embedding"), layer("char_encoder"), layer("casing_embedding")
        enc = layer("encoder")
        return cls(word.input_dim, word.output_dim, chars.vocab_size, chars.dim, chars.filters,
                   chars.width, case.input_dim, case.output_dim, enc.cell, enc.units, enc.depth,
                   enc.bidirectional, enc.dropout, layer("feature_dropout").rate,
                   layer("encoder_dropout").rate, layer("head_emissions").units)

    def forward(self, word_ids, char_ids, casing):
        """Emissions [B, T, K]; padding (word id 0) must be at the end of each row."""
        b, t, c = char_ids.shape
        chars = self.char(char_ids.reshape(b * t, c)).transpose(1, 2)         # [BT, D, C]
        chars = torch.tanh(self.char_conv(chars)).transpose(1, 2).reshape(b, t, c, -1)
        present = (char_ids > 0).unsqueeze(-1).to(chars.dtype)
        chars = (chars * present - 2.0 * (1.0 - present)).amax(dim=2)
        x = torch.cat([self.word(word_ids), chars, self.casing(casing)], dim=-1)
        x = self.feature_dropout(x)
        lengths = (word_ids > 0).sum(dim=1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=t)
        return self.head(self.encoder_dropout(out))

    def nll(self, emissions, tags):
        """Mean CRF negative log-likelihood; tags [B, T] with -1 marking padding."""
        mask = tags >= 0
        maskf = mask.to(emissions.dtype)
        tags = tags.clamp(min=0)
        gold = (emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1) * maskf).sum(1)
        gold = gold + (self.transitions[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
        last = (mask.sum(1) - 1).clamp(min=0)
        gold = gold + self.start[tags[:, 0]] + self.end[tags.gather(1, last[:, None]).squeeze(1)]
        alpha = self.start + emissions[:, 0]                                    # forward algorithm
        for step in range(1, emissions.shape[1]):
            new = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, step]
            alpha = torch.where(mask[:, step, None], new, alpha)
        log_z = torch.logsumexp(alpha + self.end, dim=1)
        return (log_z - gold).mean()


def copy_keras_weights(twin: TorchTagger, keras_model) -> TorchTagger:
    """Load the Keras model's weights into `twin` (same function, checked by the benchmark)."""
    layer = keras_model.get_layer
    params = {}
    params["word.weight"] = layer("word_embedding").get_weights()[0]
    char_emb, conv_kernel, conv_bias = layer("char_encoder").get_weights()
    params["char.weight"] = char_emb
    params["char_conv.weight"] = conv_kernel[0].transpose(2, 1, 0)   # [1, w, in, out] -> [out, in, w]
    params["char_conv.bias"] = conv_bias
    params["casing.weight"] = layer("casing_embedding").get_weights()[0]
    enc = layer("encoder")
    weights = enc.get_weights()                 # per layer: forward (k, rk, b), then backward
    directions = ["", "_reverse"] if enc.bidirectional else [""]
    for i in range(enc.depth):
        for suffix in directions:
            w_ih, w_hh, b_ih, b_hh = keras_rnn_weights(weights[:3], enc.cell)
            weights = weights[3:]
            params.update({f"rnn.weight_ih_l{i}{suffix}": w_ih, f"rnn.weight_hh_l{i}{suffix}": w_hh,
                           f"rnn.bias_ih_l{i}{suffix}": b_ih, f"rnn.bias_hh_l{i}{suffix}": b_hh})
    kernel, bias = layer("head_emissions").get_weights()
    params["head.weight"], params["head.bias"] = kernel.T, bias
    crf = layer("head_crf")
    params.update(transitions=crf.transitions.numpy(), start=crf.start.numpy(), end=crf.end.numpy())
    state = {k: torch.from_numpy(np.ascontiguousarray(v, np.float32)) for k, v in params.items()}
    twin.load_state_dict(state, strict=True)
    return twin


def make(keras_model) -> TorchTagger:
    return copy_keras_weights(TorchTagger.like(keras_model), keras_model)


def predict(twin: TorchTagger, x: dict) -> dict:
    return {"emissions": twin(**{k: v.long() for k, v in x.items()}).numpy()}


def loss(twin: TorchTagger, x: dict, y: dict):
    return twin.nll(twin(**{k: v.long() for k, v in x.items()}), y["emissions"].long())


def check(twin: TorchTagger, keras_model, x: dict, y: dict) -> dict:
    """Emissions on real tokens and the CRF NLL, Keras vs twin."""
    from zoo.layers.crf import CRFLoss

    keras_em = np.asarray(keras_model(x, training=False)["emissions"])
    keras_nll = float(CRFLoss(keras_model.get_layer("head_crf"))(y["emissions"], keras_em))
    with torch.inference_mode():
        tensors = {k: torch.tensor(v) for k, v in x.items()}
        torch_em = predict(twin, tensors)["emissions"]
        torch_nll = float(twin.nll(torch.from_numpy(torch_em), torch.tensor(y["emissions"]).long()))
    real = y["emissions"] >= 0
    return {"emissions_max_abs_diff": float(np.abs(keras_em - torch_em)[real].max()),
            "nll_keras": keras_nll, "nll_torch": torch_nll}
