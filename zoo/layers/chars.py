"""Character-level word encoder (Ma & Hovy 2016): embed chars, convolve, max-pool per word.

>>> import numpy as np
>>> enc = CharEncoder(vocab_size=10, dim=4, filters=6, width=3)
>>> tuple(enc(np.ones((2, 5, 7), "int32")).shape)    # [batch, words, chars] -> [batch, words, filters]
(2, 5, 6)
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class CharEncoder(keras.layers.Layer):
    def __init__(self, vocab_size, dim=30, filters=30, width=3, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size, self.dim, self.filters, self.width = vocab_size, dim, filters, width
        # Its parts take its own dtype policy and channels-last layout, not Keras's global
        # ones: a keras.json "channels_first" made the shipped ner-bilstm fail to load.
        self.embed = keras.layers.Embedding(vocab_size, dim, name="char_embedding",
                                            dtype=self.dtype_policy)
        # A (1, width) 2-D convolution slides over the characters of every word at once.
        self.conv = keras.layers.Conv2D(filters, (1, width), padding="same", activation="tanh",
                                        data_format="channels_last", name="char_conv",
                                        dtype=self.dtype_policy)

    def build(self, input_shape):
        self.embed.build(input_shape)
        self.conv.build((*input_shape, self.dim))
        self.built = True

    def call(self, char_ids):
        x = self.conv(self.embed(char_ids))            # [B, T, C, F]
        present = ops.expand_dims(ops.cast(char_ids > 0, x.dtype), -1)
        # Padding characters must not win the max: push them far below any tanh output.
        return ops.max(x * present - 2.0 * (1.0 - present), axis=2)

    def compute_mask(self, char_ids, mask=None):
        # A word is present when it has characters; Concatenate ORs masks, so every
        # feature beside the word embedding must carry the padding mask too.
        return ops.any(char_ids > 0, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:2], self.filters)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim,
                "filters": self.filters, "width": self.width}
