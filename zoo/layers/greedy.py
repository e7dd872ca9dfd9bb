"""Greedy decoding inside a TensorFlow graph: the loop of the SavedModel serving graphs
of autoregressive models (captions, summaries), which run without the numpy host.

It matches the host's beam search with beam=1 (zoo.beam): argmax at every step, the same
forbidden tokens and minimum length.

>>> import tensorflow as tf
>>> table = tf.math.log(tf.constant([[.1, .1, .7, .1],    # after <start> (0): "a" (2)
...                                  [.25, .25, .25, .25],
...                                  [.05, .6, .05, .3],  # after "a": <end> (1), or "b"
...                                  [.1, .8, .05, .05]]))  # after "b": <end>
>>> step = lambda tokens, state: (tf.gather(table, tokens), state)
>>> greedy_decode(step, {"h": tf.zeros([2, 1])}, start=0, end=1, steps=3).numpy().tolist()
[[2, 0, 0], [2, 0, 0]]
>>> greedy_decode(step, {"h": tf.zeros([1, 1])}, 0, 1, 3, min_len=2).numpy().tolist()
[[2, 3, 0]]

The loop stops once every row has ended: here after two steps, not fifty.

>>> calls = tf.Variable(0)
>>> def counted(tokens, state):
...     calls.assign_add(1)
...     return step(tokens, state)
>>> tf.function(lambda: greedy_decode(counted, {"h": tf.zeros([2, 1])}, 0, 1, 50))().shape
TensorShape([2, 50])
>>> int(calls.numpy())
2
"""
from __future__ import annotations

import tensorflow as tf

# Added to a forbidden token's log-probability: finite, since a one-hot row times -inf
# would be NaN (0 x -inf) at every other token.
FORBIDDEN = -1e9


def greedy_decode(step, state: dict, start: int, end: int, steps: int, min_len: int = 0,
                  forbid: tuple = ()) -> tf.Tensor:
    """Token ids [B, steps] int32, 0 from <end> on. `step(tokens [B] int32, state) ->
    (log_probs [B, V], new state)` advances every row by one token (a row's <end> is
    written as 0 and its later tokens are dropped). The tokens in `forbid` are never
    chosen, nor <end> for the first `min_len` steps. B may be unknown until run time."""
    rows = tf.shape(next(iter(state.values())))[0]

    def body(t, token, done, state, out):
        logp, state = step(token, state)
        vocab = logp.shape[-1]
        if forbid:
            logp = logp + tf.reduce_sum(tf.one_hot(list(forbid), vocab), 0) * FORBIDDEN
        if min_len:
            logp = tf.where(t < min_len, logp + tf.one_hot(end, vocab) * FORBIDDEN, logp)
        token = tf.cast(tf.argmax(logp, -1), tf.int32)
        done = done | tf.equal(token, end)
        return t + 1, token, done, state, out.write(t, tf.where(done, 0, token))

    start_vars = (tf.constant(0), tf.fill([rows], start), tf.zeros([rows], tf.bool), state,
                  tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=[None]))
    # Stops once every row has ended: a summary of 15 subwords runs 16 steps, not `steps`
    # (at least one, so that an empty batch still stacks to [0, steps]).
    going = lambda t, token, done, *_: (t < steps) & ((t == 0) | ~tf.reduce_all(done))  # noqa: E731
    t, *_, out = tf.while_loop(going, body, start_vars, maximum_iterations=steps)
    ids = tf.pad(tf.transpose(tf.reshape(out.stack(), [t, rows])), [[0, 0], [0, steps - t]])
    return tf.ensure_shape(ids, [None, steps])
