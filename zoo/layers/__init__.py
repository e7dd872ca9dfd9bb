"""Shared, serializable building blocks (registered under the Keras package "zoo").
`zoo.layers.greedy` (the in-graph greedy loop of serving graphs) is imported on its own.

>>> from zoo.layers import RecurrentStack
>>> RecurrentStack(cell="gru", units=8, layers=2).get_config()["cell"]
'gru'
"""
from .attention import AdditiveAttention
from .chars import CharEncoder
from .crf import CRF, crf_log_likelihood
from .dropout import TokenDropout
from .fused import LSTM, lstm_sequence
from .loop_lstm import LoopLSTM
from .norm import BatchNormalization
from .recurrent import RecurrentStack

__all__ = ["CRF", "LSTM", "AdditiveAttention", "BatchNormalization", "CharEncoder", "LoopLSTM",
           "RecurrentStack", "TokenDropout", "crf_log_likelihood", "lstm_sequence"]
