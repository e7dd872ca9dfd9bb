"""Keras recurrent weights in PyTorch's layout, for the benchmarks' PyTorch twins.

>>> import numpy as np
>>> k, r, b = np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8)
>>> [w.shape for w in keras_rnn_weights([k, r, b], "lstm")]
[(8, 3), (8, 2), (8,), (8,)]
"""
from __future__ import annotations

import numpy as np

RNN_CLASSES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}


def gru_gates(a: np.ndarray) -> np.ndarray:
    """Keras GRU gate blocks z, r, h (last axis) in torch's order r, z, n."""
    z, r, h = np.split(a, 3, axis=-1)
    return np.concatenate([r, z, h], axis=-1)


def keras_rnn_weights(keras_weights: list[np.ndarray], cell: str):
    """(weight_ih, weight_hh, bias_ih, bias_hh) for torch from a Keras cell's weights."""
    kernel, recurrent, bias = keras_weights
    if cell == "gru":                 # Keras: gates z, r, h, two biases (reset_after=True)
        kernel, recurrent, bias = gru_gates(kernel), gru_gates(recurrent), gru_gates(bias)
        return kernel.T, recurrent.T, bias[0], bias[1]
    # LSTM gates i, f, c(g), o in both; SimpleRNN has one block. Keras has one bias.
    return kernel.T, recurrent.T, bias, np.zeros_like(bias)
