"""zoo.layers.LSTM: Keras's LSTM with a fused training pass (and LoopLSTM: a cell in a
training loop with its weight gradients outside it). Its outputs, final states and
gradients (inputs, initial states, weights) must be Keras's, and every case it does not
fuse must run Keras's own loop."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from zoo.layers import LSTM, LoopLSTM


def pair(**kwargs):
    keras_lstm, fused = keras.layers.LSTM(6, **kwargs), LSTM(6, **kwargs)
    x = np.random.default_rng(0).normal(size=(3, 7, 5)).astype("float32")
    keras_lstm(x), fused(x)
    fused.set_weights(keras_lstm.get_weights())
    return keras_lstm, fused, x


def outputs_and_gradients(layer, x, states, mask=None):
    x, states = tf.constant(x), [tf.constant(s) for s in states]
    with tf.GradientTape() as tape:
        tape.watch([x, *states])
        out, h, c = layer(x, initial_state=states, mask=mask, training=True)
        # every output reaches the loss, so each path of the backward pass is checked
        loss = tf.reduce_sum(out ** 2) + tf.reduce_sum(3.0 * h) + tf.reduce_sum(c ** 3)
    return [out, h, c, *tape.gradient(loss, [x, *states, *layer.trainable_variables])]


@pytest.mark.parametrize("return_sequences", [True, False])
def test_fused_training_pass_equals_keras(return_sequences):
    keras_lstm, fused, x = pair(return_sequences=return_sequences, return_state=True)
    rng = np.random.default_rng(1)
    states = [rng.normal(size=(3, 6)).astype("float32") for _ in range(2)]
    want, got = (outputs_and_gradients(layer, x, states) for layer in (keras_lstm, fused))
    for name, a, b in zip(["outputs", "h", "c", "d_x", "d_h0", "d_c0", "d_kernel",
                           "d_recurrent", "d_bias"], want, got):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5, err_msg=name)


def test_training_steps_in_a_model_match_keras():
    """Three Adam steps of a tiny model with each layer end at the same weights."""
    x = np.random.default_rng(0).normal(size=(4, 9, 5)).astype("float32")
    y = np.random.default_rng(1).normal(size=(4, 9, 6)).astype("float32")
    models = []
    for cls in (keras.layers.LSTM, LSTM):
        keras.utils.set_random_seed(0)
        m = keras.Sequential([keras.Input((None, 5)), cls(6, return_sequences=True)])
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        for _ in range(3):
            m.train_on_batch(x, y)
        models.append(m)
    for a, b in zip(*(m.get_weights() for m in models)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_what_it_does_not_fuse_runs_keras_loop(monkeypatch):
    def fused_pass(*args):
        raise RuntimeError("the fused pass ran")

    monkeypatch.setattr("zoo.layers.fused.lstm_sequence", fused_pass)
    mask = np.ones((3, 7), bool)
    mask[0, 5:] = False
    for kwargs, call_mask in (({}, mask), ({"go_backwards": True}, None),
                              ({"recurrent_dropout": 0.1}, None)):
        _, fused, x = pair(return_sequences=True, **kwargs)
        fused(x, mask=call_mask, training=True)
    _, fused, x = pair(return_sequences=True)
    fused(x, training=False)                 # inference (and so every export) too
    with pytest.raises(RuntimeError, match="the fused pass ran"):
        fused(x, training=True)


def test_saved_and_loaded_as_itself(tmp_path):
    _, fused, x = pair(return_sequences=True)
    model = keras.Sequential([keras.Input((None, 5)), fused])
    model.save(tmp_path / "m.keras")
    back = keras.saving.load_model(tmp_path / "m.keras")
    assert type(back.layers[0]) is LSTM
    np.testing.assert_allclose(back(x), model(x), atol=1e-6)


def test_loop_lstm_equals_keras_cell_in_a_loop():
    """zoo.layers.LoopLSTM in an attention-like loop (the carried input depends on the
    previous h through a weight of its own) gives the Keras cell's outputs and gradients."""
    cell = keras.layers.LSTMCell(6)
    cell.build((None, 5 + 3))
    rng = np.random.default_rng(0)
    known = tf.constant(rng.normal(size=(2, 7, 5)).astype("float32"))
    w = tf.Variable(rng.normal(size=(6, 3)).astype("float32"))
    h0 = tf.constant(rng.normal(size=(2, 6)).astype("float32"))

    def run(loop: bool):
        with tf.GradientTape() as tape:
            tape.watch([known, h0])
            lstm = LoopLSTM(cell, known) if loop else None
            h, c, hs, carried_all, h_prev = h0, tf.zeros_like(h0), [], [], []
            for t in range(known.shape[1]):
                carried = tf.tanh(h @ w)
                h_prev.append(h)
                carried_all.append(carried)
                if loop:
                    h, c = lstm.step(lstm.inputs[t], carried, h, c)
                else:
                    _, (h, c) = cell(tf.concat([known[:, t], carried], -1), [h, c])
                hs.append(h)
            if loop:
                lstm.done(tf.stack(carried_all), tf.stack(h_prev))
            loss = tf.reduce_sum(tf.stack(hs) ** 2) + tf.reduce_sum(c)
        return [loss, *tape.gradient(loss, [known, h0, w, *cell.trainable_variables])]

    for name, want, got in zip(["loss", "d_known", "d_h0", "d_w", "d_kernel", "d_recurrent",
                                "d_bias"], run(False), run(True)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=name)
    assert LoopLSTM.supports(cell) and not LoopLSTM.supports(keras.layers.LSTMCell(6, dropout=0.1))


def test_bidirectional_training_pass_equals_keras_on_padded_rows():
    """RecurrentStack trains a bidirectional LSTM through bidirectional_lstm: on
    right-padded rows (one unpadded, one empty but for a token) its outputs and gradients
    (inputs and both directions' weights) are Keras's Bidirectional's."""
    from zoo.layers.fused import bidirectional_lstm

    rng = np.random.default_rng(2)
    bi = keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True))
    x = tf.constant(rng.normal(size=(3, 7, 5)).astype("float32"))
    mask = tf.sequence_mask([7, 4, 1], 7)
    bi(x, mask=mask)
    weights = tf.constant(rng.normal(size=(3, 7, 12)).astype("float32"))
    results = []
    for run in (lambda: bi(x, mask=mask, training=True), lambda: bidirectional_lstm(bi, x, mask)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = run()
            loss = tf.reduce_sum(weights * out ** 2)
        results.append([out, *tape.gradient(loss, [x, *bi.trainable_variables])])
    for a, b in zip(*results):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def test_bidirectional_pass_refuses_a_mask_with_holes():
    from zoo.layers.fused import bidirectional_lstm

    bi = keras.layers.Bidirectional(keras.layers.LSTM(2, return_sequences=True))
    x = np.zeros((1, 3, 2), "float32")
    bi(x)
    with pytest.raises(tf.errors.InvalidArgumentError, match="right-padded"):
        bidirectional_lstm(bi, x, np.array([[True, False, True]]))


def test_recurrent_stack_trains_bidirectional_lstm_fused(monkeypatch):
    from zoo.layers import RecurrentStack

    calls = []
    monkeypatch.setattr("zoo.layers.recurrent.bidirectional_lstm",
                        lambda layer, x, mask: calls.append(mask) or layer(x, mask=mask))
    stack = RecurrentStack(cell="lstm", units=3, layers=2, bidirectional=True)
    x = np.zeros((2, 4, 3), "float32")
    stack(x, training=False)
    assert calls == []                                     # inference: Keras's layers
    stack(x, training=True)
    assert len(calls) == 2
