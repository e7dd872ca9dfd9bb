"""The largest datasets a user hands to `zoo fine-tune` / `zoo evaluate` (helper BE): what
took minutes on a 200k-sentence CoNLL file or a 100 MB text, checked at a small scale."""
import numpy as np
import pytest


def _ner_prep():
    return {"words": {"eu": 2, "rejects": 3}, "chars": {c: i + 2 for i, c in enumerate("EUrejcts")},
            "max_word_chars": 6, "labels": ["O", "B-ORG"], "buckets": [4, 8]}


def test_ner_dataset_built_without_ragged_constant(monkeypatch):
    """tf.ragged.constant walked every id of every sentence in Python (a 200k-sentence
    fine-tune never reached its first step in 2.5 min); the dataset is built from
    concatenated arrays, holding the same ids."""
    import tensorflow as tf

    from zoo_pipelines.ner.data import make_dataset
    from zoo_pipelines.ner.host import featurize

    def refuse(*a, **k):
        raise AssertionError("tf.ragged.constant: a Python walk over every id")

    monkeypatch.setattr(tf.ragged, "constant", refuse)
    prep = _ner_prep()
    sentences = [{"tokens": ["EU", "rejects", "x"][: 1 + i % 3],
                  "tags": ["B-ORG", "O", "O"][: 1 + i % 3]} for i in range(50)]
    batches = list(make_dataset(sentences, prep, batch_size=7))
    got = sorted((tuple(w[w > 0]), tuple(c[c > 0]), tuple(t[t >= 0]))
                 for x, y in batches
                 for w, cs, t in zip(x["word_ids"].numpy(), x["char_ids"].numpy(),
                                     y["emissions"].numpy())
                 for c in [cs.reshape(-1)])
    want = []
    for s in sentences:
        f = featurize(s["tokens"], prep)
        w, c = f["word_ids"], f["char_ids"].reshape(-1)
        want.append((tuple(w[w > 0]), tuple(c[c > 0]),
                     tuple(prep["labels"].index(t) for t in s["tags"])))
    assert got == sorted(want)
    x, y = batches[0]
    assert x["char_ids"].shape[-1] == prep["max_word_chars"] and x["word_ids"].dtype == tf.int32


def test_ner_dataset_of_no_sentences_is_empty():
    from zoo_pipelines.ner.data import make_dataset

    assert list(make_dataset([], _ner_prep())) == []


@pytest.mark.parametrize("text", ["", "ab\nz é\U0001F600\ud800x\ufffd", "abc" * 1000])
def test_charlm_encode_text_is_the_dictionary_look_up(text):
    """encode_text through a code-point table (a dictionary look-up a character was 20 s a
    100 MB file, every epoch): the same ids, unknown and astral characters included."""
    from zoo_pipelines.charlm.data import UNKNOWN, encode_text

    chars = [UNKNOWN, "a", "b", "\n", " ", "é", "\U0001F600", "a"]
    index = {c: i for i, c in enumerate(chars)}
    want = np.fromiter((index.get(c, 0) for c in text), np.int32, len(text))
    got = encode_text(text, chars)
    assert got.dtype == np.int32 and got.tolist() == want.tolist()
