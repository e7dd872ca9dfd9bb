"""Token dropout (Lample et al. 2016's unknown-word replacement): while training, each
present id becomes the unknown id with probability `rate`, so the features beside the word
embedding (characters, casing) learn to carry a word the vocabulary lacks. Identity at
inference, so exports never see it.

>>> import numpy as np
>>> ids = np.array([[5, 6, 7, 0]], "int32")
>>> drop = TokenDropout(rate=0.5, unknown=1, seed=0)
>>> out = np.asarray(drop(ids, training=True))
>>> set(out[0, :3].tolist()) <= {1, 5, 6, 7}, int(out[0, 3])     # a word or unknown; padding stays
(True, 0)
>>> np.asarray(drop(ids)).tolist()
[[5, 6, 7, 0]]
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class TokenDropout(keras.layers.Layer):
    def __init__(self, rate: float, unknown: int = 1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.unknown, self.seed = rate, unknown, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=None):
        if not training or self.rate <= 0:
            return ids
        hit = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        return ops.where(hit & (ids != 0), ops.cast(self.unknown, ids.dtype), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "unknown": self.unknown,
                "seed": self.seed}
