"""zoo.optimizers.FusedAdam takes the steps Keras's Adam takes: the same weights after
several compiled training steps, with the zoo's clipping, a sparse (embedding) gradient,
the weights' moving average and XLA."""
import keras
import numpy as np
import pytest

from zoo.optimizers import FusedAdam


def tagger():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6,), dtype="int32"), keras.layers.Embedding(50, 8),
                             keras.layers.LSTM(8, return_sequences=True), keras.layers.Dense(3)])


@pytest.mark.parametrize("options", [{}, {"use_ema": True, "ema_momentum": 0.9},
                                     {"jit_compile": True}])
def test_fused_adam_takes_kerass_adam_steps(options):
    jit = options.pop("jit_compile", False)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 50, (16, 6)), rng.integers(0, 3, (16, 6))
    weights = {}
    for optimizer in (keras.optimizers.Adam, FusedAdam):
        model = tagger()
        # the first gradient's norm is 0.18: clipping to 0.1 is part of what both must apply
        model.compile(optimizer=optimizer(0.01, global_clipnorm=0.1, **options),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      jit_compile=jit)
        for _ in range(5):
            model.train_on_batch(x, y)
        if options:
            model.optimizer.finalize_variable_values(model.trainable_variables)
        weights[optimizer.__name__] = model.get_weights()
    moved = max(np.abs(a - b).max() for a, b in zip(weights["Adam"], tagger().get_weights()))
    assert moved > 0.01                                    # the steps did change the weights
    for a, b in zip(weights["Adam"], weights["FusedAdam"]):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_fused_adam_round_trips_its_config():
    opt = FusedAdam(0.002, global_clipnorm=5.0)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is FusedAdam and again.global_clipnorm == 5.0


def test_layer_lr_decay_scales_each_layers_steps():
    """layer_lr_decay (discriminative fine-tuning rates): the layer under the top one
    moves by decay times the top's Adam step, the top one by the full step; 1 is off."""
    from zoo.options import HPARAMS
    from zoo.training import layer_lr_scales

    x = keras.Input((4,))
    low = keras.layers.Dense(4, name="low")
    top = keras.layers.Dense(2, name="top")
    model = keras.Model(x, top(keras.layers.Dropout(0.1)(low(x))))
    scales = layer_lr_scales(model, 0.25)
    assert scales == {"low/kernel": 0.25, "low/bias": 0.25, "top/kernel": 1.0, "top/bias": 1.0}
    assert layer_lr_scales(model, 1.0) == {}
    assert HPARAMS["layer_lr_decay"] == (1e-9, 1.0)      # a known, bounded hyper-parameter
    before = [w.copy() for w in model.get_weights()]
    model.compile(optimizer=FusedAdam(0.01, lr_scales=scales), loss="mse")
    model.train_on_batch(np.ones((2, 4), "float32"), np.zeros((2, 2), "float32"))
    # Adam's first step moves every weight with a nonzero gradient by the rate itself
    low_bias, top_bias = (np.abs(model.get_weights()[i] - before[i]).max() for i in (1, 3))
    assert low_bias == pytest.approx(0.0025, rel=1e-3) and top_bias == pytest.approx(0.01, rel=1e-3)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(model.optimizer))
    assert again.lr_scales == scales
