"""zoo.beam: the numpy beam search every autoregressive host uses (summaries, captions),
its caption rules (narrowing beam, finished before cut), the batch-1 row runner, and
epsilon sampling with the minimum Bayes risk choice over its draws."""
import numpy as np
import pytest

from zoo.beam import beam_search, lcs_f1, minimum_bayes_risk, rowwise, sample
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


def _table_search(rows, **kw):
    """Search over a step whose next-token probabilities depend on the last token only."""
    table = np.log(np.array(rows))
    return beam_search(lambda tokens, state: (table[tokens], state, {}), {"n": np.zeros(1)},
                       START, END, **kw)[0]


E = 1e-6
# <start>: "a" .5, "b" .35, "c" .15; "a": <end> .6 or "d"; "b": "c" .55 or "d";
# "c": <end>; "d": "d" .9 (rarely <end>).
FORK = [[E, E, .5, .35, .15, E], [E] * 6, [E, .6, E, E, E, .4], [E, E, E, E, .55, .45],
        [E, 1., E, E, E, E], [E, .1, E, E, E, .9]]


def test_narrow_beam_gives_up_a_slot_per_finished_hypothesis():
    # After "a" <end> finishes, a beam of two keeps both "a d" and "b c", and "b c" <end>
    # wins on the mean log p; narrowed to one slot, only "a d" goes on and "a" wins.
    assert _table_search(FORK, beam=2, alpha=1.0, max_len=6)["ids"] == [3, 4]
    assert _table_search(FORK, beam=2, alpha=1.0, max_len=6, narrow=True,
                         prefer_ended=True)["ids"] == [2]


def test_prefer_ended_keeps_a_finished_hypothesis_over_one_cut_at_max_len():
    # <start>: "a" .9, "b" .1; "a" repeats (.99) and rarely ends; "b" ends.
    rows = [[E, E, .9, .1], [E] * 4, [E, .01, .99, E], [E, 1., E, E]]
    kw = {"beam": 2, "max_len": 4, "alpha": 1.0, "narrow": True}
    cut = _table_search(rows, **kw)
    assert cut["ids"] == [2, 2, 2, 2] and not cut["ended"]     # log p per token wins
    best = _table_search(rows, **kw, prefer_ended=True)
    assert best["ids"] == [3] and best["ended"]


def test_rowwise_calls_a_batch_1_function_once_per_row():
    calls = []

    def call(name, inputs):
        calls.append((name, inputs["x"].shape))
        return {"y": inputs["x"] * 2, "n": inputs["x"].sum(1)}

    out = rowwise(call, "double")({"x": np.arange(6.0).reshape(3, 2)})
    assert out["y"].tolist() == [[0, 2], [4, 6], [8, 10]] and out["n"].tolist() == [1, 5, 9]
    assert calls == [("double", (1, 2))] * 3


def _draw(seeds, samples=400, **kw):
    """Samples from the FORK table; the state carries each row's id, as a host carries its
    per-document constants, to check that rows keep theirs as others end."""
    table = np.log(np.array(FORK))

    def fork(tokens, state):
        return table[tokens], state, {"row": state["row"]}
    rows = np.arange(len(seeds))
    return sample(fork, {"row": rows}, START, END, samples, seeds=seeds, trace=("row",), **kw)


def test_sample_draws_the_step_distribution_row_by_row():
    [draws] = _draw([0])
    first = np.bincount([d["ids"][0] for d in draws], minlength=5)[2:5] / len(draws)
    assert np.allclose(first, [.5, .35, .15], atol=.07)          # <start>'s distribution
    assert all(d["ended"] or len(d["ids"]) == 24 for d in draws)
    a = next(d for d in draws if d["ids"] == [2])
    assert np.isclose(a["log_prob"], np.log(.5 * .6), atol=1e-9)
    # epsilon 0.2 cuts "c" (.15) after <start>; "d" after "a" (.4) survives
    assert {d["ids"][0] for d in _draw([0], epsilon=0.2)[0]} == {2, 3}


def test_sample_rows_are_independent_of_their_batch():
    alone = _draw([7], samples=20)[0]
    _, beside = _draw([3, 7], samples=20)
    assert [d["ids"] for d in alone] == [d["ids"] for d in beside]
    assert all((d["row"] == 1).all() for d in beside), "a row keeps its constants"
    assert [d["ids"] for d in _draw([(7, 1)], samples=20)[0]] != [d["ids"] for d in alone]


def test_minimum_bayes_risk_takes_the_consensus():
    words = [s.split() for s in ["new tax on phones", "tax on phones cut", "cricket news",
                                 "new tax on phones"]]
    assert lcs_f1(words[0], words[1]) == 0.75 and lcs_f1([], []) == 1.0
    best, expected = minimum_bayes_risk(words, 3)
    assert best == 3 and np.isclose(expected, (1 + .75 + 0) / 3)
