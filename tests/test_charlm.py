"""charlm-lstm's own pieces (the harness, tests/test_harness.py, covers the contract):
the passage reader, the state carried across evaluation windows, the n-gram baseline,
seeded sampling."""
import json
import math

import numpy as np
import pytest

import zoo
from zoo_pipelines.charlm import baselines, data
from zoo_pipelines.charlm import host as H
from zoo.errors import DataFormatError, InputError

ENTRY = zoo.registry.get("charlm-lstm")


def test_passages_split_on_blank_lines_and_bad_files_are_named(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("ROMEO:\nBut soft!\n\n\nJULIET:\nAy me.\n")
    assert [p["text"] for p in data.read(f)] == ["ROMEO:\nBut soft!", "JULIET:\nAy me."]
    (tmp_path / "b.txt").write_bytes(b"ok\n\xff\xfe bad\n")
    with pytest.raises(DataFormatError, match=r"b.txt:2: not UTF-8"):
        data.read(tmp_path)
    with pytest.raises(DataFormatError, match="unknown split 'test'"):
        data.read_split(tmp_path, "test")


def test_old_mac_line_ends_and_gzip_files(tmp_path):
    """A CR-only file was one passage full of '\\r'; a .gz was 'line 1: not UTF-8'."""
    import gzip

    f = tmp_path / "a.txt"
    f.write_bytes(b"ROMEO:\rBut soft!\r\rJULIET:\rAy me.\r")
    assert [p["text"] for p in data.read(f)] == ["ROMEO:\nBut soft!", "JULIET:\nAy me."]
    g = tmp_path / "a.txt.gz"
    g.write_bytes(gzip.compress(b"ROMEO:\n"))
    with pytest.raises(DataFormatError, match=r"a\.txt\.gz: a gzip-compressed file; expected "
                                              r"plain UTF-8 text"):
        data.read(g)


def test_a_text_under_two_windows_trains_whatever_the_seed():
    """The random start was drawn over a whole window: 190 characters (one window of 128 and
    more) failed on about half the seeds with "too few for one window"."""
    prep = {"chars": [data.UNKNOWN, "a", "\n"], "seq_len": 128}
    for seed in range(12):
        data.make_dataset([{"text": "a" * 190}], prep, shuffle=True, seed=seed)
    with pytest.raises(DataFormatError, match=r"5 characters of text: too few for one window of "
                                              r"128 .* expected at least 129 characters"):
        data.make_dataset([{"text": "Hi."}], prep)


def test_report_split_is_carved_by_passage_and_disjoint(data_dir):
    folder = data_dir / ENTRY.default_data
    train, report = data.read_split(folder, "train"), data.read_split(folder, "report")
    assert not {p["text"] for p in train} & {p["text"] for p in report}
    assert 0.07 < len(report) / (len(train) + len(report)) < 0.13


@pytest.fixture(scope="module")
def tiny_lm():
    import keras

    from zoo_pipelines.charlm import model as M
    from zoo.model import ZooModel

    prep, _ = data.fit_preprocessor([{"text": "to be or not to be, that is the question"}])
    keras.utils.set_random_seed(0)
    return ZooModel(ENTRY, M.build(prep, units=8, embed=4, layers=2), prep)


def test_evaluation_carries_the_state_across_windows(tiny_lm):
    """Reading the text in windows of 7 with the state carried gives the log-likelihood of
    reading it in one piece (one slice), and the host's step-by-step scoring of the text
    after its "\n\n" context (the same sum less the context's own second character)."""
    from zoo_pipelines.charlm.evaluate import model_nats

    text = "\n\nto be or not to be, that is"
    ids = data.encode_text(text, tiny_lm.preprocessor["chars"])
    whole = model_nats(tiny_lm, ids, slices=1, window=len(ids))
    assert model_nats(tiny_lm, ids, slices=1, window=7) == pytest.approx(whole, rel=1e-5)
    stepwise = -tiny_lm.score([text[2:]])[0]["log_likelihood"]
    assert stepwise == pytest.approx(whole - model_nats(tiny_lm, ids[:2], slices=1), rel=1e-4)


def test_sampling_is_seeded_and_bounded(tiny_lm):
    a = tiny_lm.generate("to", steps=30, seed=3)
    assert len(a) == 30 and a == tiny_lm.generate("to", steps=30, seed=3)
    assert a != tiny_lm.generate("to", steps=30, seed=4)
    # The unknown symbol names no character: never sampled, even where all are near-even.
    assert data.UNKNOWN not in tiny_lm.generate("to", steps=300, temperature=50, seed=0)
    with pytest.raises(InputError, match="temperature must be > 0"):
        tiny_lm.generate("to", temperature=0)
    with pytest.raises(InputError, match="at most"):
        tiny_lm.predict(["x" * H.MAX_CHARS])


def test_characters_outside_the_alphabet_are_said_and_counted(tiny_lm):
    """"Zoë" was read (and echoed) as "Zo\ufffd" without a word."""
    with pytest.warns(UserWarning, match=r"alphabet lacks .*: '\u00eb'; .*unknown_chars"):
        [r] = tiny_lm.predict(["to\u00eb"], steps=2, seed=[1])   # one seed per input too
    assert r["unknown_chars"] == 1


def test_the_cli_streams_generated_characters(tiny_lm, tmp_path, capsys):
    """`zoo predict NAME "to"` writes the prompt, then each character as it is sampled:
    the same text as generate() with the same seed; --json prints one JSON result."""
    from zoo.cli import main

    tiny_lm.save(tmp_path / "lm")
    assert main(["predict", str(tmp_path / "lm"), "to", "--steps", "25", "--seed", "2"]) == 0
    assert capsys.readouterr().out == "to" + tiny_lm.generate("to", steps=25, seed=2) + "\n"
    assert main(["predict", str(tmp_path / "lm"), "to", "--steps", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["text"]


def test_kneser_ney_is_a_distribution_and_prefers_what_it_saw():
    lm = baselines.KneserNey("abracadabra abracadabra", order=4, vocab=8)
    for context in ("", "a", "abr", "zzz"):
        assert sum(math.exp(lm.logprob(c, context)) for c in "abrcd zq") == pytest.approx(1.0)
    assert lm.logprob("a", "abr") > math.log(0.5) > lm.logprob("z", "abr")
    # a longer context knows more: "abr" is always followed by "a"
    assert lm.logprob("a", "abr", order=4) > lm.logprob("a", "abr", order=1)


def test_top_k_and_top_p_keep_the_most_likely():
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05]))
    draws = {H.sample(logits, u, top_k=2) for u in np.linspace(0, 0.999, 50)}
    assert draws == {0, 1}
    assert {H.sample(logits, u, top_p=0.5) for u in np.linspace(0, 0.999, 50)} == {0}


def test_the_ngram_baseline_shows_progress(tiny_lm, monkeypatch, capsys):
    """`zoo evaluate charlm-lstm` on a big text: after the model's own progress bar, its
    n-gram baseline counted, chose its order and scored for minutes without a word."""
    import zoo.data
    import zoo.monitor

    monkeypatch.setattr(zoo.monitor, "PLAIN_AFTER_S", 0.0)
    monkeypatch.setattr(zoo.monitor, "PLAIN_EVERY_S", 0.0)
    monkeypatch.setattr(zoo.data, "read_split", lambda entry, folder, split: [
        {"text": "to be or not to be" if split == "train" else "not to be"}])
    lm = baselines.KneserNey("to be or not to be", order=3, vocab=8)
    metrics = baselines.ngram_baseline(tiny_lm, "that is the question")
    err = capsys.readouterr().err
    for step in ("counting the train split: 11/11 order", "choosing its order on valid: 9/9 "
                 "order", "scoring: 19/19 char"):
        assert f"charlm-lstm: n-gram baseline: {step} (100%)" in err, err
    assert lm.nats("that is", desc="x") == lm.nats("that is")      # the same sum
    assert metrics["ngram_bits_per_char"] > 0
