"""forecast, music and charlm: the left items of the last rounds (helper BU). Weekly closes
given to evaluate are warned of as predict warns; evaluate's GARCH blend is predict's at
every origin; a hole of weeks in the window is warned of; `zoo predict` with no input and
--json answers with predict's keys; charlm's training data held once, a byte a character,
and its long validation shows progress."""
import json
import warnings

import numpy as np
import pandas as pd
import pytest

from zoo.cli import main
from zoo.errors import InputError, ZooWarning


def _walk(n, start="2010-01-01", freq="B", seed=0, name="X"):
    dates = pd.date_range(start, periods=n, freq=freq).strftime("%Y-%m-%d").tolist()
    close = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))
    return {"name": name, "dates": dates, "close": close}


def test_evaluate_warns_of_weekly_closes_as_predict_does(shipped):
    """`zoo evaluate forecast-lstm --data weekly.csv` scored h weeks ahead as h days unsaid."""
    m = shipped("forecast-lstm")
    with pytest.warns(ZooWarning, match="weekly dates .*scored weekly steps ahead"):
        m.evaluate([_walk(300, freq="W-FRI", name="W")], garch=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZooWarning)          # daily closes: no such warning
        m.evaluate([_walk(300)], garch=False)


def test_garch_filter_at_every_origin_is_the_one_of_the_cut_series():
    """The blend's level was frozen at the evaluation window's first origin, so evaluate's
    forecasts drifted from predict's for the same history (0.4 % of the price at h10)."""
    from zoo_pipelines.forecasting.garch import filter_quantiles

    close = _walk(600)["close"]
    p = {"alpha": 0.11, "beta": 0.76, "unit_t": [-1.5, -0.5, 0.0, 0.5, 1.5]}
    all_at_once = filter_quantiles(close, range(300, 599), p, horizon=10)
    for e in (300, 450, 598):
        alone = filter_quantiles(close[:e + 1], [e], p, horizon=10)[0]
        np.testing.assert_allclose(all_at_once[e - 300], alone, rtol=0, atol=1e-12)


def test_evaluate_forecasts_are_predicts(shipped):
    """The same series, the same origin: evaluate's quantiles and predict()'s prices agree."""
    from zoo_pipelines.forecasting import evaluate as E

    m = shipped("forecast-lstm")
    s = _walk(400, seed=3)
    (checked, start, qs), = E._forecasts(m, [s], 10, 126)
    e = len(checked["close"]) - 2                       # the window's last origin
    cut = {"name": "X", "dates": s["dates"][:e + 1], "close": s["close"][:e + 1]}
    prices = m.predict([cut])[0].filter(like="q").to_numpy()
    np.testing.assert_allclose(prices, s["close"][e] * np.exp(qs[e - start].astype(np.float64)),
                               rtol=1e-6)


def test_a_hole_of_weeks_in_the_window_is_warned_of(shipped):
    m = shipped("forecast-lstm")
    s = _walk(300)
    holed = {k: np.delete(np.asarray(v), np.s_[260:290]).tolist() if k != "name" else v
             for k, v in s.items()}
    with pytest.warns(ZooWarning, match=r"no close for 4\d days after .*one trading day's"):
        m.predict([holed], horizon=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ZooWarning)
        m.predict([s], horizon=2)


@pytest.mark.parametrize("name, options", [("charlm-lstm", ["--steps", "5"]),
                                           ("music-lstm", ["--steps", "3"])])
def test_no_input_json_has_predicts_keys(name, options, capsys):
    """charlm printed a bare string, music an extra song_steps: predict's keys for one input."""
    import zoo

    main(["predict", name, "--json", *options])
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    steps = int(options[1])
    m = zoo.load(name)
    want = m.predict(["\n"] if name == "charlm-lstm" else [None], steps=steps)[0]
    assert set(got) == set(want)
    assert got[("text" if name == "charlm-lstm" else "generated")] == \
        json.loads(json.dumps(want[("text" if name == "charlm-lstm" else "generated")]))
    # and the same as generate gives without --json
    if name == "charlm-lstm":
        assert got["text"] == m.generate(steps=steps)
    else:
        assert got["generated"] == m.generate(steps=steps)["generated"]


def test_music_steps_zero_without_input_says_why():
    import zoo

    with pytest.raises(InputError, match=r"no input\) with steps=0.*give steps > 0"):
        zoo.load("music-lstm").generate(steps=0)


def test_charlm_batches_are_cut_from_one_byte_a_character_text(monkeypatch):
    """The same batches as windows and targets built whole (16 bytes a character at peak)."""
    from zoo_pipelines.charlm import data as D

    text = "".join(np.random.default_rng(0).choice(list("abcdefg \n"), 5000))
    passages = [{"text": text}]
    prep = {"chars": [D.UNKNOWN, *"abcdef \n"], "seq_len": 16}       # "g": unknown
    monkeypatch.setattr(D, "CHUNK", 777)          # pieces that do not divide the text
    ids = D.encode_text(D.stream(passages), prep["chars"])
    assert ids.tolist() == [prep["chars"].index(c) if c in prep["chars"] else 0
                            for c in D.stream(passages)]
    for shuffle in (False, True):
        offset = int(np.random.default_rng(5).integers(16)) if shuffle else 0
        n = (len(ids) - 1 - offset) // 16
        x = ids[offset:offset + n * 16].reshape(n, 16)
        order = np.arange(n)
        if shuffle:
            import tensorflow as tf

            order = np.array(list(tf.data.Dataset.range(n).shuffle(n, seed=5).as_numpy_iterator()))
        got = list(D.make_dataset(passages, prep, batch_size=8, shuffle=shuffle, seed=5))
        assert got[0][0]["ids"].dtype.name == "int32" and len(got) == -(-n // 8)
        np.testing.assert_array_equal(np.concatenate([b[0]["ids"] for b in got]), x[order])
        np.testing.assert_array_equal(np.concatenate([b[1]["logits"] for b in got]),
                                      ids[offset + 1:offset + 1 + n * 16].reshape(n, 16)[order])


def test_charlm_scoring_shows_progress(shipped, monkeypatch):
    import zoo.monitor
    from zoo_pipelines.charlm.evaluate import evaluate

    seen = []
    real = zoo.monitor.progress
    monkeypatch.setattr(zoo.monitor, "progress",
                        lambda it=None, **kw: seen.append(kw) or real(it, **kw))
    evaluate(shipped("charlm-lstm"), [{"text": "ROMEO:\nWherefore art thou."}], baseline=False)
    assert seen and "scoring" in seen[0]["desc"] and seen[0]["unit"] == "window"
