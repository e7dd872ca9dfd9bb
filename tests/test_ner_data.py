"""Readers, tag schemes and the tokenizer of zoo_pipelines/ner, on hand-made and real data."""
import json

import pytest

from zoo_pipelines.ner import data
from zoo_pipelines.ner.host import tokenize
from zoo.errors import DataFormatError


def write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    (p.write_bytes if "b" in mode else p.write_text)(text)
    return p


def test_conll_any_columns_docstart_and_iob1(tmp_path):
    p = write(tmp_path, "a.conll", "-DOCSTART- -X- O\n\nEU\tNNP\tI-ORG\nsays O\n\nBig I-LOC\nCity I-LOC\nTown B-LOC\n")
    sents = data.read(p)
    assert [{k: s[k] for k in ("tokens", "tags")} for s in sents] == [
        {"tokens": ["EU", "says"], "tags": ["B-ORG", "O"]},
        {"tokens": ["Big", "City", "Town"], "tags": ["B-LOC", "I-LOC", "B-LOC"]}]
    assert sents[0]["doc"] == sents[1]["doc"], "one document: one report-split group"


def test_bioes_converted(tmp_path):
    p = write(tmp_path, "b.txt", "New B-LOC\nYork E-LOC\nis O\nPeter S-PER\n")
    assert data.read(p)[0]["tags"] == ["B-LOC", "I-LOC", "O", "B-PER"]


def test_jsonl(tmp_path):
    p = write(tmp_path, "c.jsonl", json.dumps({"tokens": ["Acme", "rocks"], "tags": ["B-ORG", "O"]}) + "\n")
    assert data.read(p) == [{"tokens": ["Acme", "rocks"], "tags": ["B-ORG", "O"]}]


@pytest.mark.parametrize("text,where", [
    ("EU B-ORG\nrejects\n", "x.txt:2"),
    ("EU B-ORG\nrejects NN Z-FOO\n", "x.txt:2"),
])
def test_malformed_conll_names_file_and_line(tmp_path, text, where):
    p = write(tmp_path, "x.txt", text)
    with pytest.raises(DataFormatError, match=where):
        data.read(p)


def test_malformed_jsonl_and_encoding_and_missing(tmp_path):
    with pytest.raises(DataFormatError, match="y.jsonl:2"):
        data.read(write(tmp_path, "y.jsonl", '{"tokens": ["a"], "tags": ["O"]}\n{"tokens": ["a"]}\n'))
    with pytest.raises(DataFormatError, match="not UTF-8"):
        data.read(write(tmp_path, "z.txt", b"caf\xe9 O\n", "wb"))
    with pytest.raises(DataFormatError, match="no such"):
        data.read(tmp_path / "missing.txt")
    with pytest.raises(DataFormatError, match="no sentences"):
        data.read(write(tmp_path, "empty.txt", "\n\n"))


def test_a_gz_file_that_is_not_gzip_is_named(tmp_path):
    """Was gzip's raw BadGzipFile traceback."""
    p = write(tmp_path, "train.conll.gz", "Paris B-LOC\n")
    with pytest.raises(DataFormatError, match=r"train\.conll\.gz: not a readable gzip file"):
        data.read(p)


def test_real_conll_counts(data_dir):
    sents = data.read(data_dir / "conll2003" / "valid.txt")
    assert len(sents) == 3250
    assert sum(len(s["tokens"]) for s in sents) == 51362
    assert data.detect_scheme(sents) == "IOB2"


def test_tokenizer_reproduces_conll_tokenization(data_dir):
    """Raw text rebuilt from CoNLL tokens tokenizes back to the same tokens (mostly)."""
    sents = data.read(data_dir / "conll2003" / "valid.txt")
    same = sum(tokenize(" ".join(s["tokens"]))[0] == s["tokens"] for s in sents)
    assert same / len(sents) > 0.95, same / len(sents)


def test_tokenizer_offsets_point_into_text():
    text = "U.N. official Ekeus heads for Baghdad, doesn't he?"
    tokens, offsets = tokenize(text)
    assert tokens == ["U.N.", "official", "Ekeus", "heads", "for", "Baghdad", ",", "does", "n't", "he", "?"]
    assert [text[a:b] for a, b in offsets] == tokens


def test_lowercase_share_lower_cases_training_sentences_only():
    """`lowercase` (case augmentation): training batches show the sentence lower-cased
    (characters and casing; the word id is the same), evaluation batches as written."""
    from zoo.errors import InputError
    from zoo_pipelines.ner.host import casing

    prep = {"words": {"paris": 2}, "chars": {c: i for i, c in enumerate("Paris", 2)},
            "labels": ["O", "B-LOC"], "max_word_chars": 8, "buckets": [8], "lowercase": 1.0}
    sentence = [{"tokens": ["Paris"], "tags": ["B-LOC"]}]
    trained, _ = next(iter(data.make_dataset(sentence, prep, shuffle=True)))
    evaluated, _ = next(iter(data.make_dataset(sentence, prep)))
    assert int(trained["casing"][0, 0]) == casing("paris") != int(evaluated["casing"][0, 0])
    assert int(trained["word_ids"][0, 0]) == int(evaluated["word_ids"][0, 0]) == 2
    with pytest.raises(InputError, match=r"lowercase must be a finite number in 0..1; got 1.5"):
        data.grow_preprocessor(prep, sentence, lowercase=1.5)
