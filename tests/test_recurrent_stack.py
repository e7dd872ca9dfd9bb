"""zoo.layers.RecurrentStack's batch slices: a training batch run as independent recurrent
loops must give the whole batch's outputs and gradients, masks and odd sizes included;
inference runs the batch whole."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.layers import RecurrentStack
from zoo.layers.recurrent import executor_threads


def outputs_and_gradients(stack, x, mask=None):
    with tf.GradientTape() as tape:
        y = stack(x, mask=mask, training=True)
        loss = tf.reduce_sum(tf.sin(y))
    return [y, *tape.gradient(loss, stack.trainable_weights)]


@pytest.mark.parametrize("cell,bidirectional,rows", [("lstm", False, 7), ("gru", True, 5),
                                                     ("lstm", False, 1)])
def test_slices_give_the_whole_batch_numbers(cell, bidirectional, rows):
    x = tf.constant(np.random.default_rng(0).normal(size=(rows, 6, 3)).astype("float32"))
    mask = tf.constant(np.arange(6)[None, :] < np.arange(rows)[:, None] % 6 + 1)
    whole = RecurrentStack(cell, 4, layers=2, bidirectional=bidirectional, batch_parts=1)
    whole(x)
    for parts in (2, 3):
        sliced = RecurrentStack(cell, 4, layers=2, bidirectional=bidirectional, batch_parts=parts)
        sliced(x)
        sliced.set_weights(whole.get_weights())
        for a, b in zip(outputs_and_gradients(whole, x, mask), outputs_and_gradients(sliced, x, mask)):
            np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


def test_default_slices_one_direction_only_and_inference_runs_whole(monkeypatch):
    calls = []
    stack = RecurrentStack("lstm", 4, bidirectional=False, return_sequences=False)
    x = np.zeros((4, 3, 2), "float32")
    stack(x)
    monkeypatch.setattr(stack, "run_stack", lambda x, mask, training: calls.append(len(x)) or x[:, 0])
    stack(x, training=True)
    assert calls == ([2, 2] if executor_threads() == 2 else [4])
    calls.clear()
    stack(x, training=False)
    assert calls == [4]
    bi = RecurrentStack("lstm", 4, bidirectional=True)
    bi(x)
    monkeypatch.setattr(bi, "run_stack", lambda x, mask, training: calls.append(len(x)) or x)
    calls.clear()
    bi(x, training=True)
    assert calls == [4]


def test_unrolled_training_gives_the_loops_numbers_and_inference_loops():
    x = tf.constant(np.random.default_rng(1).normal(size=(3, 6, 2)).astype("float32"))
    loop = RecurrentStack("lstm", 4, layers=2, bidirectional=False, batch_parts=1)
    loop(x)
    unrolled = RecurrentStack.from_config({**loop.get_config(), "unroll": True})
    unrolled(x)
    unrolled.set_weights(loop.get_weights())
    for a, b in zip(outputs_and_gradients(loop, x), outputs_and_gradients(unrolled, x)):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)
    assert all(rnn.unroll for rnn in unrolled.rnns)         # as the training call left them
    np.testing.assert_allclose(unrolled(x, training=False), loop(x), atol=1e-6)
    assert not any(rnn.unroll for rnn in unrolled.rnns)     # inference (and exports) loop


def test_config_and_bad_value():
    stack = RecurrentStack("gru", 4, batch_parts=2)
    assert RecurrentStack.from_config(stack.get_config()).batch_parts == 2
    old = {k: v for k, v in stack.get_config().items()     # a bundle saved before both
           if k not in ("batch_parts", "unroll")}
    assert RecurrentStack.from_config(old).batch_parts is None
    assert RecurrentStack.from_config(old).unroll is False
    with pytest.raises(ValueError, match="batch_parts must be a positive integer or None; got 0"):
        RecurrentStack("gru", 4, batch_parts=0)
    assert isinstance(keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(stack)),
                      RecurrentStack)


def test_one_row_in_a_graph_of_unknown_batch():
    """fit traces with the batch unknown, so a 1-row batch makes one slice empty."""
    stack = RecurrentStack("lstm", 4, layers=2, bidirectional=False, batch_parts=2)
    x = np.random.default_rng(0).normal(size=(1, 6, 3)).astype("float32")
    want = stack(x, training=True)
    step = tf.function(lambda x: outputs_and_gradients(stack, x),
                       input_signature=[tf.TensorSpec([None, 6, 3])])
    got = step(x)
    np.testing.assert_allclose(got[0], want, atol=1e-6)
    assert all(np.isfinite(g).all() for g in got[1:])
