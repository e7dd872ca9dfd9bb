"""Unicode as people's text has it (helper BC): the same words typed another way (NFD
accents, fullwidth letters, ligatures, soft hyphens, direction marks, curly quotes,
control characters) read alike by the tagger, the summarizer and the character LM, in
Python and in the SavedModel's graph; files in UTF-16 or with U+2028 inside a line."""
import json
import sys
import unicodedata
import warnings

import pytest

from zoo.data import FORMAT, _FORMAT_RE, lines, plain, plain_spans, read_text
from zoo.errors import DataFormatError, InputError

NFC = "Müller visited Café São Paulo ."
ODD = "Ger\u00admany \u200eIsrael\u200f ＩＢＭ １９９６ ﬁnance O’Neill isn’t “here” Obama\x00 Paris\x1b[31m"


def test_format_class_holds_every_format_character():
    # zero-width space excepted: zoo.data.SPACES splits words at it
    cf = {chr(i) for i in range(sys.maxunicode + 1)
          if unicodedata.category(chr(i)) == "Cf"} - {"\u200b"}
    assert all(_FORMAT_RE.match(c) for c in cf), FORMAT


def test_plain_spans_index_the_text_as_given():
    text = unicodedata.normalize("NFD", "Café") + " Ge\u00adr ﬁ ＩＢＭ"
    norm, spans = plain_spans(text)
    assert norm == plain(text) == "Café Ger fi IBM"
    assert [text[a:b] for a, b in spans][:4] == ["C", "a", "f", "e\u0301"]


def test_lines_split_at_line_ends_only():
    assert lines("a\u2028b\x85c\x0bd\r\ne\rf\n") == ["a\u2028b\x85c\x0bd", "e", "f"]


def test_ner_tokens_alike_in_python_and_the_graph():
    tf = pytest.importorskip("tensorflow")
    from zoo_pipelines.ner import host as H
    from zoo_pipelines.ner import model as NM

    texts = [NFC, unicodedata.normalize("NFD", NFC), ODD, "İSTANBUL 👩\u200d👩\u200d👧 東京都"]
    graph = [[t.decode() for t in row] for row in NM.graph_tokens(tf.constant(texts)).to_list()]
    assert graph == [H.tokenize(t)[0] for t in texts]
    assert graph[0] == graph[1]
    assert graph[2][:7] == ["Germany", "Israel", "IBM", "1996", "finance", "O'Neill", "is"]
    assert "Paris" in graph[2] and "Obama" in graph[2]
    low = tf.strings.lower(tf.constant(["İSTANBUL"]), encoding="utf-8")
    assert H.lower("İSTANBUL") == "istanbul" == tf.strings.regex_replace(
        low, "i\u0307", "i").numpy()[0].decode()


def test_ner_reads_text_typed_another_way_alike(shipped):
    m = shipped("ner-bilstm")
    plain_form = "Angela Merkel visited Germany and Café São Paulo with O'Neill ."
    odd = unicodedata.normalize("NFD", plain_form).replace("Germany", "Ger\u00admany").replace(
        "O'Neill", "O’Neill").replace("Angela ", "\u200eＡｎｇｅｌａ\u00a0")
    a, b = m.predict([plain_form, odd])
    assert a["tags"] == b["tags"]
    # entity offsets index the text as given
    assert [odd[e["start"]:e["end"]] for e in b["entities"]] == [e["text"] for e in b["entities"]]
    assert b["entities"][1]["text"] == "Ger\u00admany"
    # a terminal escape is a space, not part of an entity's text
    (r,) = m.predict(["Obama visited Paris\x1b[31m ."])
    assert all("\x1b" not in e["text"] for e in r["entities"]) and "Paris" in r["tokens"]


def test_summary_of_nfd_text_is_the_nfc_one():
    from zoo_pipelines.summarization.host import pretokenize

    doc = "Café ﬁnance O’Neill\u00a0plan ＩＢＭ"
    assert pretokenize(unicodedata.normalize("NFD", doc)) == pretokenize(doc) == [
        "caf", "é", "finance", "o", "'", "neill", "plan", "ibm"]


def test_charlm_reads_prompts_as_its_corpus(shipped):
    m = shipped("charlm-lstm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a, b = m.score(["ROMEO: O'er the hill", "ROMEO:\u200e O’er the hill"])
    assert a == b
    with pytest.raises(InputError, match="lone surrogate"):
        m.score(["a\ud800b"])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_utf16_files_are_named_as_such(tmp_path, encoding):
    from zoo_pipelines.charlm import data as CD
    from zoo_pipelines.ner import data as ND
    from zoo_pipelines.summarization.host import read_text_file

    p = tmp_path / "x.txt"
    p.write_bytes("EU B-ORG\nrejects O\n".encode(encoding))
    name = encoding.upper()
    for read in (ND.read, CD.read, read_text):
        with pytest.raises(DataFormatError, match=f"{name} text .*save it as UTF-8"):
            read(p)
    with pytest.raises(InputError, match=f"{name} text"):
        read_text_file(p, "input 0")


def test_line_separators_inside_lines_keep_them_whole(tmp_path):
    from zoo_pipelines.summarization import data as SD

    p = tmp_path / "pairs.jsonl"
    doc = "A tool\u2028for Debian packages"
    p.write_text(json.dumps({"document": doc, "summary": "a tool"}, ensure_ascii=False) + "\n",
                 encoding="utf-8")
    assert SD.read(p)[0]["document"] == doc


def test_the_cli_echoes_no_control_character_to_the_terminal(capsys):
    """`zoo predict` echoed its input, ESC included, and the terminal obeyed it."""
    from zoo.cli import main

    assert main(["predict", "ner-bilstm", "Obama visited Paris\x1b[31m ."]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "> Obama visited Paris\\x1b[31m ." in out and "Paris" in out
