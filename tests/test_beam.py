"""zoo.beam: the numpy beam search every autoregressive host uses (summaries, captions)."""
import numpy as np
import pytest

from zoo.beam import beam_search
from zoo.errors import InputError

START, END = 0, 1
# After <start>, "a" (2) is likely; after "a", <end>; otherwise "b" (3) then <end>.
TABLE = np.log(np.array([[.01, .01, .6, .38], [.25, .25, .25, .25],
                         [.01, .9, .01, .08], [.01, .5, .01, .48]]))


def step(tokens, state):
    # the "attention" output is the token fed in, so traces can be checked
    return TABLE[tokens], {"n": state["n"] + 1}, {"attention": np.stack([tokens, state["n"]], 1)}


def search(**kw):
    return beam_search(step, {"n": np.zeros(2, int)}, START, END, trace=("attention",), **kw)


def test_rows_are_decoded_independently_with_their_traces():
    a, b = search(beam=3)
    assert a["ids"] == b["ids"] == [2] and a["ended"]
    assert np.isclose(a["log_prob"], np.log(.6 * .9))
    assert a["attention"].tolist() == [[START, 0]]       # one entry per output token


def test_min_len_max_len_and_adjust():
    [h, _] = search(beam=2, min_len=2)
    assert len(h["ids"]) >= 2 and h["ended"]
    [h, _] = search(beam=2, max_len=1)
    assert h["ids"] == [2] and not h["ended"], "cut at max_len, kept without <end>"

    def no_a(logp, seqs):
        logp[:, 2] = -np.inf
    [h, _] = beam_search(step, {"n": np.zeros(2, int)}, START, END, beam=2, adjust=no_a)
    assert 2 not in h["ids"]


def test_bad_beam_is_refused():
    with pytest.raises(InputError, match="beam must be >= 1"):
        search(beam=0)
