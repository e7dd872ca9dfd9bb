"""caption-cnn-lstm's retrieval-augmented caption choice (retrieval.py, Host.rerank): the
scores on hand-made captions, a tiny model whose host reranks against a memory (the
neighbour's caption keeps its words, its log-probability is the model's teacher-forced
one), the same answers from a TFLite export, bad options, the memory built into a bundle,
and the shipped bundle's memory and recorded numbers."""
import json
import shutil

import numpy as np
import pytest

from zoo_pipelines.captioning import ENTRY
from zoo_pipelines.captioning import data as D
from zoo_pipelines.captioning import evaluate as E
from zoo_pipelines.captioning import host as H
from zoo_pipelines.captioning import retrieval as R
from zoo.errors import InputError, ZooWarning


def test_overlap_consensus_and_choice():
    assert R.overlap("flag: japan", "flag: japan") == 1.0
    assert R.overlap("woman cook", "man cook") == 0.25          # unigrams 1/2, bigrams 0
    assert R.overlap("cat", "dog") == 0.0
    found = [("man cook", 0.9), ("woman cook", 0.8), ("flag: japan", 0.1)]
    assert R.consensus("man cook", found) > R.consensus("flag: japan", found)
    cands = [{"words": ["cook"], "log_prob": -1.0, "model": True},
             {"words": ["man", "cook"], "log_prob": -1.5, "model": False}]
    assert R.choose(cands, found, alpha=0.0, weight=0.0, model_bonus=0.0) == 0
    assert R.choose(cands, found, alpha=0.0, weight=5.0, model_bonus=0.0) == 1   # agreement
    assert R.choose(cands, found, alpha=0.0, weight=5.0, model_bonus=5.0) == 0


def test_memory_roundtrip_and_neighbours():
    f = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    m = R.pack_memory(f, ["a", "b", "a", "c", "d", "e"], k=2)
    assert m["captions"] == ["a", "b", "c", "d", "e"] and m["caption_of"][2] == 0
    unit = f / np.linalg.norm(f, axis=1, keepdims=True)
    np.testing.assert_allclose(R.memory_matrix(m), unit, atol=2e-3)      # float16
    json.dumps(m)                                                         # JSON-able
    [(i, s)] = R.neighbours(m, 3 * f[3], 1)
    assert i == m["caption_of"][3] and s == pytest.approx(1.0, abs=2e-3)


@pytest.fixture(scope="module")
def small(new_tiny_captioner):
    zm, train, valid = new_tiny_captioner()
    # a memory of the 40 training images; one caption has a word the vocabulary lacks
    captions = [e["captions"][0] for e in train]
    captions[0] = "zorblat " + captions[0]
    zm.preprocessor["retrieval"] = R.pack_memory(E._features(zm, [e["image"] for e in train]),
                                                 captions, k=3, alpha=0.0, consensus=1.0,
                                                 model_bonus=0.0)
    return zm, train, valid


def _with(zm, **setting):
    """The same model with other retrieval settings (a fresh host reads them)."""
    zm.preprocessor["retrieval"].update(setting)
    zm._host = None
    return zm


def test_rerank_picks_a_neighbour_with_its_own_words(small):
    zm, train, valid = small
    image = train[0]["image"]      # its own nearest neighbour: the "zorblat ..." caption
    plain = zm.predict([image], retrieve=0)[0]
    assert "retrieval" not in plain
    [r] = _with(zm, model_bonus=-1e6).predict([image], retrieve=1)
    assert r["retrieval"]["from"] == "neighbour"
    assert r["words"][0] == "zorblat" and r["caption"].startswith("zorblat ")
    assert len(r["attention"]) == len(r["words"])
    # its log-probability is the full model's, teacher-forced (<unk> for the unknown word)
    index = {w: i for i, w in enumerate(zm.preprocessor["vocab"])}
    ids = [H.START] + [index.get(w, H.UNK) for w in r["words"]] + [H.END]   # not cut at max_len
    assert ids[1] == H.UNK
    pixels = H.load_image(image, 32)[None]
    logits = np.asarray(zm.keras_model({"image": pixels, "tokens": np.array([ids[:-1]])})["logits"])[0]
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    expect = sum(logp[t, w] for t, w in enumerate(ids[1:]))
    assert r["score"] == pytest.approx(expect / (len(r["words"]) + 1) ** H.ALPHA, abs=1e-4)
    [r] = _with(zm, model_bonus=1e6).predict([image], retrieve=3)
    assert r["retrieval"]["from"] == "model" and r["words"] == plain["words"]
    assert len(r["retrieval"]["neighbours"]) == 3
    _with(zm, model_bonus=0.0)


def test_recombined_names_come_from_the_neighbours_parts(small):
    zm, train, valid = small
    image = valid[0]["image"]
    plain = zm.predict([image], retrieve=0)[0]
    [r] = _with(zm, model_bonus=-1e6, recombine=True).predict([image], retrieve=3)
    names = [n["caption"] for n in r["retrieval"]["neighbours"]]       # all 3 neighbours
    as_said = lambda c: H.detokenize(H.tokenize(c))                        # noqa: E731
    assert r["retrieval"]["from"] in ("neighbour", "recombined")
    assert r["caption"] in [as_said(c) for c in R.recombine([plain["caption"]] + names)]
    assert (r["retrieval"]["from"] == "neighbour") == (r["caption"] in map(as_said, names))
    _with(zm, model_bonus=0.0, recombine=False)


def test_retrieve_option_bounds(small):
    zm, _, valid = small
    for bad in (-1, 65, 1.5, True, "3"):
        with pytest.raises(InputError, match="retrieve"):
            zm.predict([valid[0]["image"]], retrieve=bad)
    host = H.Host({**zm.host_config(), "retrieval": None})
    with pytest.raises(InputError, match="no retrieval memory"):
        host.encode([valid[0]["image"]], retrieve=2)
    assert host.encode([valid[0]["image"]]).retrieve == 0       # no memory: off by default


def test_tflite_export_reranks_like_keras(small, tmp_path):
    from zoo.runtime import load

    zm, train, valid = small
    _with(zm, model_bonus=-0.5)
    report = zm.export(tmp_path / "cap.tflite")
    assert report["agreement"] == 1.0
    images = [e["image"] for e in train[:3] + valid[:3]]
    ours, theirs = zm.predict(images), load(tmp_path / "cap.tflite").predict(images)
    assert [r["words"] for r in ours] == [r["words"] for r in theirs]
    # the same source and neighbours; similarities are rounded to 4 places, and float32
    # features from two runtimes can land either side of a rounding edge
    for a, b in zip(ours, theirs):
        ra, rb = a["retrieval"], b["retrieval"]
        assert ra["from"] == rb["from"]
        assert [n["caption"] for n in ra["neighbours"]] == [n["caption"] for n in rb["neighbours"]]
        assert [n["similarity"] for n in ra["neighbours"]] == pytest.approx(
            [n["similarity"] for n in rb["neighbours"]], abs=2e-4)
    _with(zm, model_bonus=0.0)


def test_build_retrieval_writes_the_memory_and_fine_tune_drops_it(tiny_bundle, data_dir,
                                                                   tmp_path):
    import zoo

    bundle = tmp_path / "b"
    shutil.copytree(tiny_bundle("caption-cnn-lstm"), bundle)
    info = E.build_retrieval(bundle, data_dir / "captioning" / "emoji", k=2, alpha=0.3,
                             consensus=1.0, model_bonus=0.0)
    m = zoo.load(str(bundle))
    assert m.preprocessor["retrieval"]["shape"][0] == info["images"] > 1000
    [r] = m.predict([m.parity_examples()[0]])
    assert r["retrieval"]["from"] in ("model", "neighbour", "recombined")
    prep = dict(m.preprocessor)
    with pytest.warns(ZooWarning, match="the retrieval memory .* is dropped"):
        D.grow_preprocessor(prep, [{"image": "x", "captions": ["a dog"]}])
    assert "retrieval" not in prep


def test_shipped_bundle_reranks_with_a_setting_chosen_on_valid(shipped):
    m = shipped("caption-cnn-lstm")
    memory = m.preprocessor["retrieval"]
    assert "valid" in memory["chosen_on"] and memory["k"] >= 1
    setting = m.metrics["valid"]["retrieval_setting"]
    assert setting["k"] == memory["k"] and setting["chosen_on"] == memory["chosen_on"]
    for split in ("valid", "report"):           # measured through predict(), both styles
        assert {"retrieval_bleu4", "retrieval_bleu4_google", "retrieval_bleu4_twitter",
                "nn_bleu4"} <= set(m.metrics[split])
    size = sum(p.stat().st_size for p in ENTRY.bundle_path.iterdir())
    assert size < 25 * 2 ** 20
    [r] = m.predict([m.parity_examples()[0]])
    assert r["retrieval"]["from"] in ("model", "neighbour", "recombined") and r["retrieval"]["neighbours"]
