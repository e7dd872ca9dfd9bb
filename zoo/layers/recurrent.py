"""A stack of recurrent layers: cell = rnn | lstm | gru, depth, bidirectional, dropout.

Recurrent dropout stays off so Keras can use its fast kernels; dropout is applied between
layers instead. Recurrent kernels start orthogonal (Saxe et al. 2014), which keeps early
gradients from vanishing or exploding.

>>> import numpy as np
>>> stack = RecurrentStack(cell="lstm", units=4, layers=2, bidirectional=True)
>>> tuple(stack(np.zeros((2, 5, 3), "float32")).shape)
(2, 5, 8)
"""
from __future__ import annotations

import keras

CELLS = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentStack(keras.layers.Layer):
    def __init__(self, cell="lstm", units=100, layers=1, bidirectional=True, dropout=0.0,
                 return_sequences=True, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
        self.cell, self.units, self.depth = cell, units, layers
        self.bidirectional, self.dropout, self.return_sequences = bidirectional, dropout, return_sequences
        self.supports_masking = True
        self.rnns, self.drops = [], []
        for i in range(layers):
            last = i == layers - 1
            rnn = CELLS[cell](units, return_sequences=return_sequences or not last,
                              recurrent_initializer="orthogonal", name=f"{cell}_{i}")
            if bidirectional:
                rnn = keras.layers.Bidirectional(rnn, name=f"bi{cell}_{i}")
            self.rnns.append(rnn)
            self.drops.append(keras.layers.Dropout(dropout) if dropout and not last else None)

    def build(self, input_shape):
        shape = input_shape
        for rnn in self.rnns:
            rnn.build(shape)
            shape = rnn.compute_output_shape(shape)
        self.built = True

    def call(self, x, mask=None, training=None):
        for rnn, drop in zip(self.rnns, self.drops):
            x = rnn(x, mask=mask, training=training)
            if drop is not None:
                x = drop(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        width = self.units * (2 if self.bidirectional else 1)
        if self.return_sequences:
            return (*input_shape[:-1], width)
        return (input_shape[0], width)

    def compute_mask(self, inputs, mask=None):
        return mask if self.return_sequences else None

    def get_config(self):
        return {**super().get_config(), "cell": self.cell, "units": self.units,
                "layers": self.depth, "bidirectional": self.bidirectional,
                "dropout": self.dropout, "return_sequences": self.return_sequences}
