"""Property-based checks over every registered entry (issue 15): whatever a careless or
hostile user passes to a reader or to `predict`'s options, the answer is a result or the
project's own error (zoo.errors.ZooError), never a raw exception.

Inputs come from hypothesis, drawn from values that break code in practice (NaN, inf,
negatives, zero, huge numbers, wrong types, empty and odd text, random bytes behind a
known file suffix); bounded so every example stays fast."""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import zoo
import zoo.options
from zoo.errors import ZooError

MODELS = zoo.list_models()
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))

VALUES = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 3, 10**9, -10**9]),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 0.5, 2.7, 1e30]),
    st.booleans(), st.none(), st.sampled_from(["", "x", "1", "3", "\ud800"]),
    st.sampled_from([1e300, -1e300, 10**30, np.int64(3), np.float32("nan"), np.bool_(True)]),
    st.just([1, 2]), st.just([3]), st.just({"a": 1}))


def options_of(m) -> list[str]:
    params = zoo.options.accepted(m.host().encode)
    return list(params) if params is not None else ["beam", "logits"]


@pytest.mark.parametrize("name", MODELS)
def test_any_predict_options_give_a_result_or_a_zoo_error(name, tiny):
    m = tiny(name)
    example = m.parity_examples()[:1]
    names = options_of(m) + ["no_such_option"]

    @SETTINGS
    @given(st.dictionaries(st.sampled_from(names), VALUES, max_size=3))
    def check(options):
        try:
            out = m.predict(example, **options)
        except ZooError:
            return
        assert len(out) == len(example)

    check()


# A file the reader is given: random text or bytes behind each suffix it reads.
SUFFIXES = {"ner": [".conll", ".jsonl", ".txt"], "forecasting": [".csv"],
            "music": [".npz", ".mid"], "speech": [".csv", ".wav"],
            "summarization": [".jsonl", ".csv"], "captioning": [".tsv", ".csv"]}
TEXT = st.lists(st.sampled_from(list("ab1.-,:|\t\n {}[]\"é") + ["nan", "inf", "B-PER", "O",
                                                                  "close", "date", "image"]),
                max_size=40).map("".join)
CONTENT = st.one_of(TEXT, st.binary(max_size=200),
                    st.builds(lambda rows: json.dumps(rows), st.lists(st.dictionaries(
                        st.sampled_from(["tokens", "tags", "document", "summary"]),
                        st.one_of(st.lists(TEXT, max_size=3), TEXT, st.integers()),
                        max_size=3), max_size=3)))


@pytest.mark.parametrize("name", MODELS)
def test_any_file_gives_examples_or_a_zoo_error(name, tmp_path_factory):
    entry = zoo.registry.get(name)
    reader = entry.module("data").read
    folder = tmp_path_factory.mktemp(name)

    @SETTINGS
    @given(st.sampled_from(SUFFIXES.get(entry.task, [".txt"])), CONTENT)
    def check(suffix, content):
        path = folder / f"input{suffix}"
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogatepass")
        else:
            path.write_bytes(content)
        try:
            examples = reader(path)
        except ZooError:
            return
        assert isinstance(examples, list)

    check()


def test_numpy_inputs_of_every_kind_are_refused_cleanly(tiny):
    """NaN, object and empty arrays where a waveform or a roll is expected."""
    for name, bad in (("speech-ctc", np.full(8000, np.nan, np.float32)),
                      ("speech-ctc", np.array([object()] * 10)),
                      ("speech-ctc", np.zeros(0, np.float32)),
                      ("forecast-lstm", {"close": [1.0, float("nan")] * 40})):
        with pytest.raises(ZooError):
            tiny(name).predict([bad])


# ---- Raw inputs of every kind, fed to each application's host (stop 68's fuzz) -----------
# Every kind of input a host documents and the near-misses of each: any unicode (control
# characters, RTL, combining marks, NUL, lone surrogates, long tokens, blanks), odd token
# lists, nesting of the wrong depth, numpy arrays of every dtype and shape, NaN / inf /
# -0.0, random bytes behind a known file's magic, paths that are no file. The answer is
# the host's encoding or a ZooError on ONE line (an array's repr ran over several).
from hypothesis import example
from hypothesis.extra import numpy as hnp

HOST_SETTINGS = settings(max_examples=15, deadline=None, derandomize=True,
                         suppress_health_check=list(HealthCheck))
ANY_CHAR = st.characters(codec=None, categories=None)      # surrogates and controls too
TEXTS = st.one_of(
    st.text(ANY_CHAR, max_size=30),
    st.sampled_from(["", " \t\n\u00a0", "\x00", "abc\x00def", "\u202eabc", "e\u0301\u0301",
                     "שלום עולם مرحبا", "Привет мир", "\U0001F600", "\ufeff", "x" * 3000,
                     "....", "a\ud800b", "/tmp", "x" * 5000 + ".wav"]))
DTYPES = st.sampled_from([np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8,
                          np.uint64, np.float16, np.float32, np.float64, np.complex64,
                          np.dtype([("a", "f4"), ("b", "i4")]), np.dtype("U3"),
                          np.dtype("datetime64[D]")])
ARRAYS = hnp.arrays(DTYPES, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6))
SPECIAL_ARRAYS = st.sampled_from([np.full(400, np.nan, np.float32), np.full(400, -0.0),
                                  np.full(400, np.inf), np.array(3.0), np.zeros((0, 5)),
                                  np.array([object()] * 4), np.zeros((4, 88)),
                                  np.full((4, 88), np.nan), np.zeros((8, 8, 3), np.uint8)])
MAGIC = st.sampled_from([b"", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"MThd\x00\x00\x00\x06",
                         b"\x89PNG\r\n\x1a\n", b"date,close\n", b"\xff\xd8\xff"])
BYTES = st.builds(lambda head, tail: head + tail, MAGIC, st.binary(max_size=60))
LEAVES = st.one_of(TEXTS, BYTES, st.integers(-300, 300), st.floats(), st.none(),
                   st.booleans(), SPECIAL_ARRAYS)
NESTED = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.sampled_from(["array", "sampling_rate", "dates", "close", "volume",
                                     "name", "csv", "rows", "x"]), inner, max_size=3)),
    max_leaves=6)
RAW = st.one_of(TEXTS, BYTES, ARRAYS, SPECIAL_ARRAYS, NESTED)
SHIPPED = {}


def shipped_host(name):
    """The host of a shipped bundle (its real vocabularies and settings), loaded once."""
    if name not in SHIPPED:
        SHIPPED[name] = zoo.load(name).host()
    return SHIPPED[name]


def encoded_or_one_line_error(host, inputs, **options):
    try:
        return host.encode(inputs, **options)
    except ZooError as e:
        assert "\n" not in str(e), f"a message of several lines: {e}"


@pytest.mark.parametrize("name", MODELS)
def test_any_raw_input_is_encoded_or_refused_on_one_line(name):
    host = shipped_host(name)

    @HOST_SETTINGS
    @given(RAW, st.booleans())
    @example(np.zeros((2, 3, 4)), True)          # ner, charlm: the array's repr, 3 lines
    @example(np.array(1), True)                  # music: len() of a 0-d array (TypeError)
    @example("x" * 5000, True)                   # music: is_file() raised "name too long"
    @example("", True)                           # music, captioning: "." is a folder
    @example([" "], True)                        # ner: a blank token was tagged as a word
    @example("שלום עולם مرحبا", True)            # summarize: its few known letters passed
    @example(np.zeros((0, 2), np.float32), True)  # speech: NaN mean of an empty [0, 2]
    def check(raw, as_batch):
        encoded_or_one_line_error(host, [raw] if as_batch else raw)

    check()


# Forecast series dicts: dates and close of unequal length, unsorted or repeated dates,
# prices as text, bool, NaN, inf, huge or tiny, volumes of the wrong length or type.
DAY0 = np.datetime64("2020-01-01")
PRICES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6),
                   st.sampled_from(["12.5", "abc", "", None, True, 1e308, 1e-308, -0.0]))


@st.composite
def series(draw):
    n = draw(st.integers(0, 90))
    base = draw(st.floats(0.01, 1e6))
    close = [base * (1 + 0.01 * k % 7) for k in range(n)]
    for _ in range(draw(st.integers(0, 3))):       # a few odd prices among good ones
        if close:
            close[draw(st.integers(0, n - 1))] = draw(PRICES)
    dates = [str(DAY0 + k) for k in range(n + draw(st.sampled_from([0, 0, 0, -1, 2])))]
    order = draw(st.sampled_from(["sorted", "reversed", "repeated"]))
    if order == "reversed":
        dates = dates[::-1]
    elif order == "repeated" and len(dates) > 1:
        dates[1] = dates[0]
    s = {"name": draw(TEXTS), "dates": dates, "close": close}
    if draw(st.booleans()):
        s["volume"] = draw(st.one_of(st.lists(PRICES, min_size=n, max_size=n), PRICES))
    return s


def test_any_series_dict_gives_a_finite_forecast_or_a_one_line_error():
    m = zoo.load("forecast-lstm")

    @HOST_SETTINGS
    @given(series(), st.sampled_from([None, 1, 3, 10, 1e300, "3", [3], True, -1]))
    # prices jumping by e^1418 a day: the GARCH blend's quantiles overflowed to inf
    @example({"name": "T", "dates": [str(DAY0 + k) for k in range(80)],
              "close": [1e308, 1e-308] * 40}, None)
    @example({"name": "\ud800", "dates": [str(DAY0 + k) for k in range(80)],
              "close": [10.0] * 80}, None)   # a lone surrogate: pyarrow's raw error in decode
    @example({"name": "T", "dates": [str(DAY0 + k) for k in range(80)],
              "close": [10.0] * 79 + [10**400]}, None)     # a raw OverflowError
    @example({"name": "T", "dates": [str(DAY0 + k) for k in range(80)],
              "close": [10.0] * 80, "eval_from": float("nan")}, None)  # int(nan): ValueError
    def check(s, horizon):
        try:
            frames = m.predict([s], horizon=horizon)
        except ZooError as e:
            assert "\n" not in str(e), f"a message of several lines: {e}"
            return
        values = frames[0].filter(like="q").to_numpy()
        assert np.isfinite(values).all() and (values > 0).all()

    check()


# The TF-free runtime refuses what Keras refuses, with the same words (zoo.runtime shares
# the host, so an error raised outside it, or an answer Keras refuses, would differ).
@pytest.mark.parametrize("name", ["forecast-lstm", "ner-bilstm"])
def test_the_runtime_refuses_raw_input_as_keras_does(name, tiny, tiny_exported):
    import zoo.runtime

    keras_model = tiny(name)
    runtime_model = zoo.runtime.load(tiny_exported(name, "model.tflite")[0])

    def outcome(model, raw):
        try:
            return "answer", len(model.predict(raw))
        except ZooError as e:
            return type(e).__name__, str(e)

    @settings(max_examples=6, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.one_of(RAW, series()) if name == "forecast-lstm" else RAW)
    def check(raw):
        assert outcome(runtime_model, [raw]) == outcome(keras_model, [raw])

    check()
