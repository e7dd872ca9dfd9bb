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
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=list(HealthCheck))

VALUES = st.one_of(
    st.sampled_from([-1, 0, 1, 2, 3, 10**9, -10**9]),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 0.5, 2.7, 1e30]),
    st.booleans(), st.none(), st.sampled_from(["", "x", "1", "\ud800"]),
    st.just([1, 2]), st.just({"a": 1}))


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
