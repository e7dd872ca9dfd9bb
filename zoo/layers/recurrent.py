"""A stack of recurrent layers: cell = rnn | lstm | gru, depth, bidirectional, dropout.

Recurrent dropout stays off so Keras can use its fast kernels; dropout is applied between
layers instead. Recurrent kernels start orthogonal (Saxe et al. 2014), which keeps early
gradients from vanishing or exploding.

`batch_parts` runs a training batch as that many slices through the stack, one recurrent
loop each. A loop's steps are small operations one after another, which two CPU threads
run hardly faster than one, so TensorFlow's executor gains most by running independent
loops side by side: forecast-lstm's training step on 2 cores, 35.3 -> 25.6 ms. Each row's
numbers are the same; only the gradient's sum is taken in another order. `None` (the
default) takes 2 for a one-directional stack where TensorFlow may run two operations at
once, else 1: a bidirectional stack already runs two loops side by side (in slices,
ner-bilstm's step went 37 -> 42 ms and speech-ctc's 176 -> 236), and with one thread the
slices only queue (forecast-lstm 41.8 -> 43.6 ms). Inference, and so every export, runs
the batch whole.

`unroll=True` unrolls the recurrent loops in training, for sequences of a fixed, short
length: the steps become one graph with no while loop, which TensorFlow's executor
schedules across steps and differentiates without the loop's per-step bookkeeping.
forecast-lstm's 64-day windows trained 15-21 % faster so (its step 28.4 -> 24.0 ms and
31.3 -> 24.7 ms in two interleaved rounds). Inference keeps the loop, so the exports and
their parity are what they were.

A bidirectional LSTM layer trains through `zoo.layers.fused.bidirectional_lstm` (each
direction one `lstm_sequence`: inputs projected before the loop, back-propagation through
time by hand, the weight gradients as one product), which gives Keras's outputs for the
right-padded, masked batches the pipelines feed. Inference keeps Keras's Bidirectional.

>>> import numpy as np
>>> stack = RecurrentStack(cell="lstm", units=4, layers=2, bidirectional=True)
>>> tuple(stack(np.zeros((2, 5, 3), "float32")).shape)
(2, 5, 8)
"""
from __future__ import annotations

import os

import keras
from keras import ops

from .fused import bidirectional_lstm, fusable_bidirectional

CELLS = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


@keras.saving.register_keras_serializable(package="zoo")
class RecurrentStack(keras.layers.Layer):
    def __init__(self, cell="lstm", units=100, layers=1, bidirectional=True, dropout=0.0,
                 return_sequences=True, batch_parts=None, unroll=False, **kwargs):
        super().__init__(**kwargs)
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}; got {cell!r}")
        if not isinstance(layers, int) or layers < 1:     # 0 built a stack that passed its input on
            raise ValueError(f"layers must be a positive integer; got {layers!r}")
        if batch_parts is not None and (not isinstance(batch_parts, int) or batch_parts < 1):
            raise ValueError(f"batch_parts must be a positive integer or None; got {batch_parts!r}")
        self.batch_parts, self.unroll = batch_parts, unroll
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
        parts = self.batch_parts or (1 if self.bidirectional else executor_threads())
        rows = ops.shape(x)[0]
        # a known batch smaller than the parts runs whole (eager Keras cells fail on 0 rows;
        # in a graph, where the batch is unknown, an empty slice runs and returns nothing)
        if not training or parts == 1 or (isinstance(rows, int) and rows < parts):
            return self.run_stack(x, mask, training)
        cuts = [i * rows // parts for i in range(parts + 1)]
        return ops.concatenate([self.run_stack(x[a:b], None if mask is None else mask[a:b], training)
                                for a, b in zip(cuts, cuts[1:])], axis=0)

    def run_stack(self, x, mask=None, training=None):
        for rnn, drop in zip(self.rnns, self.drops):
            # read by Keras when the call is traced: training graphs unroll, inference loops
            for layer in (rnn.forward_layer, rnn.backward_layer) if self.bidirectional else (rnn,):
                layer.unroll = bool(self.unroll and training)
            if training and fusable_bidirectional(rnn):     # ner-bilstm: see the module doc
                x = bidirectional_lstm(rnn, x, mask)
            else:
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
                "dropout": self.dropout, "return_sequences": self.return_sequences,
                "batch_parts": self.batch_parts, "unroll": self.unroll}


def executor_threads() -> int:
    """2 where TensorFlow's executor may run two operations at once, else 1. Not more:
    forecast's LSTM in 4 slices was slower than in 2 on 2 cores (26 against 21 ms forward
    and backward), and no bigger machine was measured."""
    import tensorflow as tf

    # unset, TensorFlow sizes its pool by the cores this process may run on (its affinity)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = tf.config.threading.get_inter_op_parallelism_threads() or cores or 1
    return min(threads, 2)
