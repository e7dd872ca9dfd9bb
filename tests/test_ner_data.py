"""Readers, tag schemes and the tokenizer of zoo_pipelines/ner, on hand-made and real data."""
import json

import pytest

from zoo_pipelines.ner import data
from zoo_pipelines.ner.host import tokenize
from zoo.errors import DataFormatError


def write(tmp_path, name, text, mode="w"):
    p = tmp_path / name
    p.write_bytes(text) if "b" in mode else p.write_text(text)
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


def test_fine_tune_words_too_rare_to_learn_are_counted_once(capsys):
    """Words the new data has fewer than min_word_count times stayed unknown, unsaid; a
    line says how many (not a warning: nearly every corpus has some)."""
    prep = {"words": {"paris": 2}, "chars": {"P": 2}}
    tokens = ["Oslo", "Oslo", "Paris", "Bergen", "Tromsø", "Tromsø", "Tromsø", "Lund"]
    assert data.grow_preprocessor(prep, [{"tokens": tokens}]) == ["tromsø", "oslo"]
    assert capsys.readouterr().out.splitlines() == [
        "fine_tune: 2 word(s) of the new data (25.0% of its tokens) occur fewer than "
        "min_word_count=2 times and stay unknown, sharing one vector; min_word_count=1 "
        "(--hparam min_word_count=1) gives each a row of its own"]
    data.grow_preprocessor(prep, [{"tokens": tokens}], min_word_count=1)
    assert not capsys.readouterr().out and {"bergen", "lund"} <= set(prep["words"])


def test_conll_columns_split_at_spaces_and_tabs_only(tmp_path):
    """str.split() also split at a no-break space or U+2028 inside a token: "New\u00a0York
    NNP B-LOC" was the token "New", silently."""
    p = write(tmp_path, "a.conll", "New\u00a0York NNP B-LOC\nin\u2028x O\n\nNew York\tNNP\tB-LOC\n")
    assert [s["tokens"] for s in data.read(p)] == [["New\u00a0York", "in\u2028x"], ["New York"]]
    p = write(tmp_path, "b.conll", "Paris NNP\u00a0B-LOC\n")
    with pytest.raises(DataFormatError, match=r"b.conll:1: .*not at '\\xa0'"):
        data.read(p)


@pytest.mark.parametrize("name,text,where", [
    ("a.conll", "Paris B-LOC\n\u00a0 O\n", r"a.conll:2: token 1 is blank \('\\xa0'\)"),
    ("b.jsonl", json.dumps({"tokens": ["Paris", ""], "tags": ["B-LOC", "O"]}),
     r"b.jsonl:1: token 2 is blank \(''\)"),
    ("c.jsonl", json.dumps({"tokens": ["\u2028"], "tags": ["O"]}, ensure_ascii=False),
     r"c.jsonl:1: token 1 is blank \('\\u2028'\)"),
])
def test_a_blank_token_is_named_with_its_line(tmp_path, name, text, where):
    """predict() refuses a blank token: evaluate on such a file said "input 0: ... none
    empty or blank", naming no line of the file."""
    with pytest.raises(DataFormatError, match=where):
        data.read(write(tmp_path, name, text))


@pytest.mark.parametrize("record,match", [
    ({"tokens": ["Paris", "is"], "tags": "OO"}, "to be lists; got list and str"),
    ({"tokens": "Paris", "tags": ["O"] * 5}, "to be lists; got str and list"),
    ({"tokens": ["Paris", None], "tags": ["O", "O"]}, "strings .*; got None"),
])
def test_jsonl_tokens_and_tags_are_lists_of_strings(tmp_path, record, match):
    """Strings passed the length check: tags "OO" were two O tags, "Paris" five tokens."""
    with pytest.raises(DataFormatError, match="x.jsonl:1: expected .*" + match):
        data.read(write(tmp_path, "x.jsonl", json.dumps(record) + "\n"))


def test_mixed_tag_schemes_are_read_as_iob2(tmp_path):
    """A BIOES file with a stray I- after O kept it (the file's scheme was BIOES, not
    IOB1): strict IOB2 counts no span starting there, a BIOES model learnt one."""
    p = write(tmp_path, "m.conll", "New B-LOC\nYork E-LOC\nis O\nBig I-LOC\nCity I-LOC\nEU S-ORG\n")
    assert data.read(p)[0]["tags"] == ["B-LOC", "I-LOC", "O", "B-LOC", "I-LOC", "B-ORG"]


def test_text_without_spaces_between_words_is_warned_of():
    """"東京に行きました" is one token, tagged O with no word said; offsets stay the text's."""
    import warnings

    from zoo.errors import ZooWarning
    from zoo_pipelines.ner.host import Host

    host = Host({"words": {}, "chars": {}, "labels": ["O"], "max_word_chars": 4,
                 "buckets": [8], "crf": None})
    text = "Merkel in 東京に行きました, ฉันไปกรุงเทพ."
    with pytest.warns(ZooWarning, match=r"input 0: '東京に行きました' is read as one token: "
                                        r"words are split at spaces"):
        [(_, tokens, offsets, _)] = host.encode([text]).sentences
    assert [text[a:b] for a, b in offsets] == tokens == [
        "Merkel", "in", "東京に行きました", ",", "ฉันไปกรุงเทพ", "."]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        host.encode(["人 means person", ["東京", "に"]])     # one character; the user's words
