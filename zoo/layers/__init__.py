"""Shared, serializable building blocks (registered under the Keras package "zoo").

>>> from zoo.layers import RecurrentStack
>>> RecurrentStack(cell="gru", units=8, layers=2).get_config()["cell"]
'gru'
"""
from .chars import CharEncoder
from .crf import CRF, crf_log_likelihood
from .recurrent import RecurrentStack

__all__ = ["CharEncoder", "CRF", "RecurrentStack", "crf_log_likelihood"]
