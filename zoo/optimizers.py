"""Keras's Adam with each variable's update as TensorFlow's fused kernel.

Keras 3's Adam writes a variable's update as about ten element-wise operations (the
moments, the bias correction, the step), each a separate TensorFlow op with its own
dispatch and its own pass over the tensor; caption-cnn-lstm's step ran 1,662 of them, 8 %
of its operation time (benchmarks/results/profile_caption-cnn-lstm-intel.md). FusedAdam
hands the same update to `ResourceApplyAdam`, one kernel a variable (the op behind TF 1's
AdamOptimizer), with the same formula, Keras's ε outside the square root included. The
moments are Keras's own variables, so checkpoints, `use_ema`, clipping, schedules and
distribution strategies work as with Adam; AMSGrad falls back to Keras's update.

`lr_scales` (a variable's path -> a factor) scales the learning rate of those variables:
discriminative fine-tuning rates (zoo.training.layer_lr_scales). Adam's step does not
depend on the gradient's scale, so the rate is the only place such a factor acts.

>>> import numpy as np, keras
>>> w = keras.Variable(np.ones(3, "float32"))
>>> opt = FusedAdam(0.1)
>>> opt.apply([np.array([1.0, -1.0, 0.0], "float32")], [w])
>>> keras.ops.convert_to_numpy(w).astype(float).round(3).tolist()
[0.9, 1.1, 1.0]
"""
from __future__ import annotations

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="zoo")
class FusedAdam(keras.optimizers.Adam):
    """`keras.optimizers.Adam`, same arguments and numbers (within float rounding), and
    `lr_scales`: {variable path: factor on the learning rate}, 1 for a path not named."""

    def __init__(self, *args, lr_scales: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lr_scales = dict(lr_scales or {})

    def get_config(self):
        return {**super().get_config(), "lr_scales": self.lr_scales}

    def build(self, variables):
        super().build(variables)
        # by index: update_step may be handed the backend's variable, which has no path
        self._scales = [self.lr_scales.get(v.path, 1.0) for v in variables]

    def update_step(self, gradient, variable, learning_rate):
        if (scale := self._scales[self._get_variable_index(variable)]) != 1.0:
            learning_rate = learning_rate * scale
        if self.amsgrad or keras.backend.backend() != "tensorflow":
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        step = tf.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = tf.constant(self.beta_1, dtype), tf.constant(self.beta_2, dtype)
        tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.value.handle, v=v.value.handle,
            beta1_power=tf.pow(beta_1, step), beta2_power=tf.pow(beta_2, step),
            lr=tf.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
            epsilon=tf.constant(self.epsilon, dtype),
            grad=tf.convert_to_tensor(tf.cast(gradient, dtype)))   # sparse rows: dense, as Adam
