"""zoo.layers.BatchNormalization: Keras's batch normalisation with a fused training pass.
Its outputs, gradients and moving statistics must be Keras's, and every case it does not
fuse must run Keras's own pass."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.layers import BatchNormalization


def pair(**kwargs):
    keras_bn, fused = keras.layers.BatchNormalization(**kwargs), BatchNormalization(**kwargs)
    rng = np.random.default_rng(0)
    x = (3.0 * rng.normal(size=(4, 6, 5, 3)) + 1.0).astype("float32")
    keras_bn.build(x.shape), fused.build(x.shape)
    # gamma and beta away from 1 and 0, so their gradients' paths are checked too
    keras_bn.set_weights([w + rng.uniform(0.1, 0.5, w.shape).astype("float32") if i < 2 else w
                          for i, w in enumerate(keras_bn.get_weights())])
    fused.set_weights(keras_bn.get_weights())
    return keras_bn, fused, x


def outputs_and_gradients(layer, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.sin(y) * tf.range(3, dtype="float32"))
    return [y, *tape.gradient(loss, [x, layer.gamma, layer.beta])]


def test_fused_training_pass_equals_keras():
    keras_bn, fused, x = pair(momentum=0.9)
    want, got = (outputs_and_gradients(layer, x) for layer in (keras_bn, fused))
    for name, a, b in zip(["outputs", "d_x", "d_gamma", "d_beta"], want, got):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=name)
    # the moving statistics take Keras's biased batch variance, not the kernel's unbiased one
    for a, b in zip(keras_bn.non_trainable_weights, fused.non_trainable_weights):
        np.testing.assert_allclose(b, a, rtol=1e-6, atol=1e-7, err_msg=a.name)
    assert not np.allclose(fused.moving_variance, 1.0)
    np.testing.assert_allclose(fused(x), keras_bn(x), atol=1e-5)   # inference


def test_what_it_does_not_fuse_runs_keras_pass(monkeypatch):
    def fused_pass(*args, **kwargs):
        raise RuntimeError("the fused pass ran")

    monkeypatch.setattr(tf.compat.v1.nn, "fused_batch_norm", fused_pass)
    for kwargs in ({"axis": 1}, {"center": False}, {"renorm": True}):
        _, fused, x = pair(**kwargs)
        fused(x, training=True)
    _, fused, x = pair()
    BatchNormalization()(x[:, :, 0, :], training=True)      # not 4-D
    fused(x, training=False)                 # inference (and so every export)
    with pytest.raises(RuntimeError, match="the fused pass ran"):
        fused(x, training=True)


def test_saved_and_loaded_as_itself(tmp_path):
    _, fused, x = pair()
    model = keras.Sequential([keras.Input(x.shape[1:]), fused])
    model.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras")
    assert type(back.layers[0]) is BatchNormalization
    np.testing.assert_allclose(back(x), model(x), atol=1e-6)
