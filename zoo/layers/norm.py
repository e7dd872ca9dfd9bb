"""keras.layers.BatchNormalization whose training pass runs TensorFlow's fused kernel.

Keras 3 normalises a batch with generic ops (moments, then subtract, scale, shift) and
lets autodiff differentiate them; TensorFlow's `FusedBatchNormV3` and its gradient do the
same in one kernel each. On caption-cnn-lstm's encoder (batch 32, 64x64 images) the
forward and backward passes of its 13 normalisations, each with its ReLU6, take 26 ms
against 60 (`python -m benchmarks.caption_cnn_lstm`; issue 22). Same weights, same
moving-statistics update (Keras's biased batch variance), results within float rounding;
inference, and so every export, keeps Keras's path. It falls back to Keras's pass for
anything the kernel does not cover: not NHWC 4-D float32, a mask, renorm, synchronized,
no centre or scale, another backend.

>>> import numpy as np
>>> bn = BatchNormalization()
>>> x = np.random.default_rng(0).uniform(1, 2, size=(2, 4, 4, 3)).astype("float32")
>>> tuple(bn(x, training=True).shape)            # the fused kernel; moving mean updated
(2, 4, 4, 3)
>>> bool(np.all(bn.moving_mean.numpy() > 0.01))
True
"""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class BatchNormalization(keras.layers.BatchNormalization):
    """keras.layers.BatchNormalization (same arguments, weights and results) whose training
    pass is one fused kernel; see the module's docstring for when it falls back."""

    def _fused(self, inputs, training, mask) -> bool:
        return (bool(training) and self.trainable and mask is None
                and keras.backend.backend() == "tensorflow"
                and len(inputs.shape) == 4 and self.axis in (-1, 3)
                and inputs.dtype == "float32" and self.compute_dtype == "float32"
                and self.center and self.scale and not (self.renorm or self.synchronized))

    def call(self, inputs, training=None, mask=None):
        if not self._fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True)
        # The kernel returns the unbiased (n - 1) batch variance; Keras keeps the biased one
        n = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], "float32")
        variance = variance * (n - 1.0) / n
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs
