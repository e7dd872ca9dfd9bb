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
