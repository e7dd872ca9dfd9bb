"""ner-bilstm end to end: predict on raw text, CRF decoding, evaluation, CLI, fine-tuning
with new and replaced label sets, the SavedModel's raw-string signature (the TF-free runtime is the
harness's, tests/test_harness.py). Checks that need trained tags use the shipped model;
the others the harness's tiny one."""
import json
import subprocess
import sys

import numpy as np
import pytest

from zoo.decoding import crf_marginals, viterbi
from zoo.errors import InputError


@pytest.fixture(scope="module")
def ner(shipped):
    return shipped("ner-bilstm")


@pytest.fixture(scope="module")
def tiny_ner(tiny):
    return tiny("ner-bilstm")


def test_predict_raw_text_returns_entities_with_offsets(ner):
    text = "EU rejects German call to boycott British lamb ."
    [r] = ner.predict([text])
    assert r["tokens"] == text.split()
    assert len(r["tags"]) == len(r["tokens"])
    for e in r["entities"]:
        assert text[e["start"]:e["end"]] == e["text"]
        assert e["type"] in {"PER", "LOC", "ORG", "MISC"}


def test_long_sentence_is_split_not_fatal(ner):
    text = " ".join(["Paris"] * 300)
    [r] = ner.predict([text])
    assert len(r["tags"]) == 300


def test_bytes_must_be_utf8(ner):
    with pytest.raises(InputError, match="not valid UTF-8"):
        ner.predict([b"caf\xe9 au lait"])
    assert ner.predict([("Angela Merkel visits Paris").encode()])[0]["tokens"][0] == "Angela"


def test_numpy_viterbi_matches_tensorflow_and_brute_force():
    import itertools

    import tensorflow as tf

    from zoo.layers.crf import crf_log_likelihood, viterbi_decode

    rng = np.random.default_rng(0)
    em, tr = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(3, 3)).astype("float32")
    st, en = rng.normal(size=3).astype("float32"), rng.normal(size=3).astype("float32")

    def score(path):
        return st[path[0]] + en[path[-1]] + sum(em[t, k] for t, k in enumerate(path)) + sum(
            tr[a, b] for a, b in zip(path, path[1:]))

    paths = list(itertools.product(range(3), repeat=4))
    best = max(paths, key=score)
    assert tuple(viterbi(em, tr, st, en)) == best
    tf_best = viterbi_decode(em[None], tf.ones((1, 4), bool), tr, st, en).numpy()[0]
    assert tuple(tf_best) == best
    log_z = np.log(sum(np.exp(score(p)) for p in paths))
    ll = crf_log_likelihood(em[None], tf.constant([list(best)]), tf.ones((1, 4), bool), tr, st, en)
    assert abs(float(ll[0]) - (score(best) - log_z)) < 1e-4
    # Marginals: P(tag_t = k) summed over every path, by brute force.
    brute = np.zeros((4, 3))
    for p in paths:
        brute[np.arange(4), p] += np.exp(score(p) - log_z)
    np.testing.assert_allclose(crf_marginals(em, tr, st, en), brute, atol=1e-5)


def test_entities_carry_a_confidence_that_is_lower_on_made_up_names(shipped):
    clear, made_up = shipped("ner-bilstm").predict([
        "Angela Merkel visited Paris .", "Wiggle Wobble Zorp met Brax in Qwertyland ."])
    assert [e["type"] for e in clear["entities"]] == ["PER", "LOC"]
    assert all(0.9 < e["confidence"] <= 1.0 for e in clear["entities"])
    assert made_up["entities"] and all(0 < e["confidence"] <= 1 for e in made_up["entities"])
    assert min(e["confidence"] for e in made_up["entities"]) < 0.8


def test_evaluate_span_f1_on_real_data(ner, data_dir, tmp_path):
    from zoo_pipelines.ner import data

    sents = data.read(data_dir / "conll2003" / "valid.txt")[:200]
    path = tmp_path / "slice.jsonl"
    path.write_text("".join(json.dumps(s) + "\n" for s in sents))
    m = ner.evaluate(path)
    assert 0 <= m["precision"] <= 1 and 0 <= m["recall"] <= 1 and 0 <= m["f1"] <= 1
    assert set(m["per_type"]) <= {"PER", "LOC", "ORG", "MISC"}
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "evaluate", "ner-bilstm", "--data",
                          str(path), "--json"], capture_output=True, text=True, check=True)
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert abs(last["f1"] - m["f1"]) < 1e-9


def test_cli_errors_are_one_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "zoo.cli", "evaluate", "ner-bilstm", "--data",
                          str(tmp_path / "nope.conll")], capture_output=True, text=True)
    assert out.returncode == 2
    # (TensorFlow's C++ start-up lines may precede it; ours is one line, no traceback.)
    assert out.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in out.stderr
    assert "nope.conll: no such NER data file" in out.stderr


PRODUCT_SENTENCES = [{"tokens": ["Acme", "sells", "Widgets", "in", "Paris"],
                      "tags": ["B-ORG", "O", "B-PRODUCT", "O", "B-LOC"]}] * 32
QUICK = {"epochs": 1, "steps_per_epoch": 2, "batch_size": 8, "monitor_gradients": False}


def test_fine_tune_adds_new_types_and_rehearses_the_old(tiny_ner, capsys):
    """A PRODUCT fine-tune keeps PER/LOC/ORG/MISC: the label set grows (old ids, old output
    weights) and, as the new data leaves PER and MISC untagged, CoNLL is rehearsed."""
    ner = tiny_ner
    tuned = ner.fine_tune(PRODUCT_SENTENCES, **QUICK)
    old = ner.preprocessor["labels"]
    assert tuned.preprocessor["labels"] == old + ["B-PRODUCT"]
    out = capsys.readouterr().out
    assert "grown output layers: head_crf, head_emissions" in out
    assert tuned.metrics["rehearsal"]["data"] == "conll2003"
    assert tuned.metrics["labels"]["how"] == "merged" and "B-PER" in tuned.metrics["labels"]["untagged"]
    assert "B-PRODUCT" not in ner.preprocessor["labels"], "the original model is untouched"


def test_the_card_of_a_fine_tune_names_its_labels_and_a_fine_tune_of_it_too(tiny_ner, tmp_path):
    """The card's summary and limits name the registered model's types (PER, LOC, ORG,
    MISC): a card of a model that tags PRODUCT said nothing of it, and a fine-tune of that
    fine-tune (or a soup of two) dropped metrics.json's record of the labels added."""
    import zoo
    from zoo.soup import main as soup

    tuned = tiny_ner.fine_tune(PRODUCT_SENTENCES, rehearse=False, out=tmp_path / "a", **QUICK)
    said = f"Its labels: {', '.join(tuned.preprocessor['labels'])} (new: B-PRODUCT;"
    assert said in zoo.info(str(tmp_path / "a"))
    again = zoo.load(tmp_path / "a").fine_tune(PRODUCT_SENTENCES, out=tmp_path / "b", **QUICK)
    assert again.metrics["labels"] == tuned.metrics["labels"] and said in zoo.info(str(tmp_path / "b"))
    assert soup([str(tmp_path / "s"), str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert said in zoo.info(str(tmp_path / "s"))


def test_fine_tune_replaces_labels_only_when_asked(tiny_ner, capsys):
    ner = tiny_ner
    tuned = ner.fine_tune(PRODUCT_SENTENCES, replace_labels=True, **QUICK)
    assert tuned.preprocessor["labels"] == ["O", "B-LOC", "B-ORG", "B-PRODUCT"]
    assert "re-initialised output layers: head_crf, head_emissions" in capsys.readouterr().out
    assert "rehearsal" not in tuned.metrics
    kept = ner.fine_tune(PRODUCT_SENTENCES, rehearse=False, **QUICK)
    assert "rehearsal" not in kept.metrics and "B-PER" in kept.preprocessor["labels"]
    # A label set of its own (no PER/LOC/ORG/MISC tags): merged, not rehearsed
    own = ner.fine_tune([{"tokens": ["Ana", "at", "Acme"], "tags": ["B-person", "O", "B-corporation"]}] * 32,
                        **QUICK)
    assert own.preprocessor["labels"] == ner.preprocessor["labels"] + ["B-corporation", "B-person"]
    assert "rehearsal" not in own.metrics and "tags none of the model's types" in capsys.readouterr().out
    with pytest.raises(InputError, match=r"labels= must name every tag of the data; missing "
                                         r"\['B-PRODUCT'\] \(the data's tags: B-LOC, B-ORG, B-PRODUCT, O\)"):
        ner.fine_tune(PRODUCT_SENTENCES, labels=["O", "B-LOC", "B-ORG"], **QUICK)


def test_word_dropout_trains_saves_and_exports_as_identity(tiny_ner, tmp_path):
    """--hparam word_dropout=R: a training-only layer (unknown-word replacement) that the
    bundle keeps, that loads back, and that every export runs as the identity."""
    import zoo

    tuned = tiny_ner.fine_tune(PRODUCT_SENTENCES[:8], rehearse=False, word_dropout=0.3,
                               out=tmp_path / "tuned", **QUICK)
    assert tuned.keras_model.get_layer("word_dropout").rate == 0.3
    loaded = zoo.load(tmp_path / "tuned")
    assert loaded.predict(["Acme sells Widgets"]) == tuned.predict(["Acme sells Widgets"])
    assert loaded.export(tmp_path / "ner.tflite")["agreement"] == 1.0


def test_fine_tune_takes_the_data_recipe_keys(tiny_ner):
    """--hparam min_word_count=1: a word the new data holds once gets a vocabulary row of
    its own (by default, twice); --hparam lowercase=0.5 lower-cases half the training
    sentences (make_dataset; the fine-tuning default is a quarter). The bundle's
    hyper-parameters say so."""
    once = [{"tokens": ["Qwzxv", "sells", "Widgets"], "tags": ["B-ORG", "O", "O"]}]
    data = once + PRODUCT_SENTENCES[:7]
    default = tiny_ner.fine_tune(data, rehearse=False, **QUICK)
    rare = tiny_ner.fine_tune(data, rehearse=False, min_word_count=1, lowercase=0.5, **QUICK)
    assert "qwzxv" not in default.preprocessor["words"]
    assert "qwzxv" in rare.preprocessor["words"] and rare.hparams["min_word_count"] == 1
    assert rare.preprocessor["lowercase"] == 0.5
    assert default.preprocessor["lowercase"] == tiny_ner.entry.fine_tune["lowercase"]
    assert rare.predict(["Qwzxv sells Widgets"])[0]["tokens"] == ["Qwzxv", "sells", "Widgets"]


def test_fine_tune_refuses_another_architecture(tiny_ner):
    """units / cell / layers shape the recurrent weights: a fine-tune that changed them
    would copy the old weights in part and leave the rest random, so it is refused before
    any work; the model's own values are accepted."""
    from zoo.errors import InputError

    units = tiny_ner.hparams["units"]
    with pytest.raises(InputError, match=f"units={units + 1} differs from its {units}; train a new"):
        tiny_ner.fine_tune(PRODUCT_SENTENCES[:4], rehearse=False, units=units + 1, **QUICK)
    with pytest.raises(InputError, match="cell='gru' differs from its 'lstm'"):
        tiny_ner.fine_tune(PRODUCT_SENTENCES[:4], rehearse=False, cell="gru", **QUICK)


def test_fine_tune_records_the_buckets_it_trained_with(tiny_ner):
    """Batches pad to the model's length buckets unless --hparam buckets names others; the
    bundle's hyper-parameters say which (they once recorded the first training's)."""
    default = tiny_ner.fine_tune(PRODUCT_SENTENCES[:8], rehearse=False, **QUICK)
    assert default.hparams["buckets"] == default.preprocessor["buckets"] == tiny_ner.preprocessor["buckets"]
    finer = tiny_ner.fine_tune(PRODUCT_SENTENCES[:8], rehearse=False, buckets=[64, 8, 16], **QUICK)
    assert finer.hparams["buckets"] == finer.preprocessor["buckets"] == [8, 16, 64]
    words = "Acme sells Widgets in Paris and Rome to Ana , Bo and Cy".split()     # 12: bucket 16
    assert finer.predict([" ".join(words)])[0]["tokens"] == words
    with pytest.raises(InputError, match=r"buckets must be a list of sequence lengths.*got 16"):
        tiny_ner.fine_tune(PRODUCT_SENTENCES[:8], rehearse=False, buckets=16, **QUICK)
    with pytest.raises(InputError, match=r"each of buckets must be an integer >= 1; got 0"):
        tiny_ner.fine_tune(PRODUCT_SENTENCES[:8], rehearse=False, buckets=[0, 8], **QUICK)


def test_saved_model_takes_raw_strings(tiny_ner, tmp_path):
    report = tiny_ner.export(tmp_path / "ner_savedmodel")
    assert report["agreement"] == 1.0
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    fn = tf.saved_model.load(str(tmp_path / "ner_savedmodel")).signatures["serving_default"]
    out = fn(tf.constant(["EU rejects German call to boycott British lamb ."]))
    assert [t.decode() for t in out["tokens"].numpy()[0]][:2] == ["EU", "rejects"]


def test_fine_tune_on_less_than_one_batch_still_trains(tiny_ner, data_dir):
    ner = tiny_ner
    from zoo_pipelines.ner import data

    few = data.read(data_dir / "conll2003" / "train.txt")[:5]
    tuned = ner.fine_tune(few, epochs=1, batch_size=32, monitor_gradients=False)
    before = ner.keras_model.get_layer("head_emissions").get_weights()[0]
    after = tuned.keras_model.get_layer("head_emissions").get_weights()[0]
    assert not np.array_equal(before, after), "five sentences make one (short) batch"


def test_the_host_is_built_once_and_follows_the_weights(tiny_ner):
    """ZooModel.host() keeps one host (its caches survive between predicts) until the
    constants it takes from the weights change, as training changes a CRF's transitions."""
    host = tiny_ner.host()
    assert tiny_ner.host() is host
    transitions = tiny_ner.keras_model.get_layer("head_crf").transitions
    before = transitions.numpy()
    try:
        transitions.assign(before + 1.0)
        moved = tiny_ner.host()
        assert moved is not host and np.allclose(moved.crf["transitions"], before + 1.0)
    finally:
        transitions.assign(before)
    assert tiny_ner.host() is not moved


def test_a_bioes_model_trains_answers_in_iob2_and_grows_its_labels(data_dir, tmp_path):
    """--hparam tag_scheme=BIOES: the model tags a span's last token E- and a one-token
    span S-; predict(), its exports and evaluate() answer in IOB2 like any model, and a
    fine-tune's new type brings all four of its labels."""
    import zoo
    from zoo import registry, testing
    from zoo.recipes import train_on
    from zoo_pipelines.ner.data import labels_of

    entry = registry.get("ner-bilstm")
    train, valid = testing.tiny_data(entry, data_dir)
    hp = entry.hparams(**{**testing.FEW_STEPS, **entry.tiny, "tag_scheme": "BIOES"})
    zm = train_on(entry, hp, train, valid, tmp_path / "bioes")
    labels = zm.preprocessor["labels"]
    assert zm.preprocessor["tag_scheme"] == "BIOES"
    assert {"E-PER", "S-PER", "E-MISC", "S-MISC"} <= set(labels) and len(labels) == 17
    tags = {t for r in zm.predict([" ".join(s["tokens"]) for s in valid[:20]]) for t in r["tags"]}
    assert tags <= set(labels_of(train)), tags                     # IOB2 out
    assert 0.0 <= zm.evaluate(valid[:20])["f1"] <= 1.0
    assert zm.export(tmp_path / "ner.tflite")["agreement"] == 1.0
    assert zm.export(tmp_path / "ner_savedmodel")["agreement"] == 1.0
    tuned = zm.fine_tune(PRODUCT_SENTENCES, rehearse=False, **QUICK)
    assert tuned.preprocessor["labels"] == labels + ["B-PRODUCT", "I-PRODUCT", "E-PRODUCT",
                                                     "S-PRODUCT"]
    assert zoo.load(zm.save(tmp_path / "bundle")).preprocessor["tag_scheme"] == "BIOES"
    with pytest.raises(InputError, match=r"tag_scheme must be one of \['IOB2', 'BIOES'\]; got 'BILOU'"):
        train_on(entry, {**hp, "tag_scheme": "BILOU"}, train, valid, tmp_path / "bad")
    with pytest.raises(InputError, match="this model tags in BIOES and a fine-tune keeps it"):
        zm.fine_tune(PRODUCT_SENTENCES, tag_scheme="IOB2", **QUICK)
