"""summarize-attn: readers, the host tokenizer against tensorflow-text, beam search,
ROUGE, and a tiny model's export functions."""
import gzip
import json

import numpy as np
import pytest

import zoo
from zoo_pipelines.summarization import data
from zoo_pipelines.summarization import host as H
from zoo_pipelines.summarization.evaluate import lead_sentence, rouge
from zoo.errors import DataFormatError, InputError

DEBIAN = "summarization/debian_descriptions"


def test_read_jsonl_gz_and_csv_with_custom_columns(tmp_path):
    p = tmp_path / "pairs.jsonl.gz"
    with gzip.open(p, "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": "Long text here.", "headline": "Short"}) + "\n")
    assert data.read(p, document="text", summary="headline") == [   # grouped by itself
        {"document": "Long text here.", "summary": "Short", "group": "Long text here."}]
    c = tmp_path / "pairs.csv"
    c.write_text('document,summary\n"A, b",c\n')
    assert data.read(c)[0]["document"] == "A, b"


def test_other_corpora_column_names_are_read_in_any_case(tmp_path):
    """fine_tune() and the CLI read with the default names: CNN/DailyMail's article,highlights
    (or Document,Summary) was refused, suggesting read(document=...) no CLI user can pass."""
    c = tmp_path / "cnn.csv"
    c.write_text("id,Article,highlights\n7,A long text .,Short\n")
    assert data.read(c) == [{"document": "A long text .", "summary": "Short", "group": "7"}]
    c.write_text("Document,Summary,text\nA long text .,Short,other\n")     # document first
    assert data.read(c)[0]["document"] == "A long text ."
    with pytest.raises(DataFormatError, match=r"cnn.csv:2: no summary column"):
        data.read(c, summary="lead")                 # a name given: that one only


def test_read_errors_name_file_and_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"document": "x", "summary": "y"}\n{"document": "x"}\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl:2: no summary column; expected one "
                                              r"named summary/highlights/.* got \['document'\]"):
        data.read(p)
    p.write_text('{"document": "x", "summary": ""}\n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl:1: .*non-empty"):
        data.read(p)
    p.write_text('{"document": \n')
    with pytest.raises(DataFormatError, match=r"bad.jsonl:1: not valid JSON"):
        data.read(p)


def test_read_split_picks_datasets(data_dir):
    root = data_dir / "summarization"
    assert len(data.read_split(root, "valid")) == len(data.read_split(root / "debian_descriptions", "valid"))
    news = data.read_split(root / "inshorts_news", "valid")
    assert news and set(news[0]) == {"document", "summary", "group"}
    with pytest.raises(DataFormatError, match="unknown split 'test'"):
        data.read_split(root, "test")


def test_bbc_headlines_keep_out_the_report_split(data_dir):
    from zoo_pipelines.summarization import mix

    pairs = mix.bbc_headlines(data_dir)
    report = {p["group"] for p in mix.corpus("bbc_news_summary", "report", data_dir)}
    assert len(pairs) == len(mix.corpus("bbc_news_summary", "train", data_dir))
    assert not {p["group"].removesuffix("-title") for p in pairs} & report
    assert all(len(p["document"].split()) >= mix.LEAD_WORDS for p in pairs[:50])
    assert pairs[0]["summary"] == "Ad sales boost Time Warner profit"


@pytest.fixture(scope="module")
def vocab(data_dir):
    train = data.read_split(data_dir / DEBIAN, "train")[:600]
    texts = [p["document"] for p in train] + [p["summary"] for p in train]
    return data.learn_vocab(texts, 600)


def test_host_wordpiece_equals_tensorflow_text(vocab, data_dir):
    """The numpy host and the serving graph's FastWordpiece give the same ids on real text."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    docs = [p["document"] for p in data.read_split(data_dir / DEBIAN, "valid")[:200]]
    docs += ["Ünïcödé café — naïve 東京 x" * 3, "Cafe\u0301 ﬁnance O’Neill Ger\u00admany",
             "a" * 150 + " end", "tabs\tand\nnewlines"]
    fast = tf_text.FastWordpieceTokenizer(vocab, suffix_indicator="##", unknown_token="[UNK]",
                                          no_pretokenization=True, token_out_type=tf.int32)
    from zoo.data import graph_plain

    words = tf_text.regex_split(tf.strings.lower(graph_plain(tf.constant(docs))),   # as serving
                                H.TOKEN + "|" + H.SPACE, H.TOKEN)
    ids = fast.tokenize(words).merge_dims(-2, -1).to_list()
    tok = H.WordPiece(vocab)
    assert [tok.encode(d) for d in docs] == ids


def test_detokenize_and_blocking():
    assert H.detokenize(["real", "-", "time", "game", "(", "rts", ")", "."]) == "real-time game (rts)."
    assert H.blocked_tokens([5, 6, 7, 5, 6], 3) == {7}
    assert H.blocked_tokens([5, 6], 3) == set()


def test_rouge_and_lead():
    assert rouge(["a b c"], ["a b c"])["rougeL"] == 1.0
    assert lead_sentence("GNU Emacs is an editor. It is big.") == "GNU Emacs is an editor."


class _Toy:
    """A 'model' whose step prefers token 4, then 5, then EOS."""
    V, S = 7, 6

    def encoder(self, inputs):
        n = len(inputs["source"])
        return {"memory": np.zeros((n, self.S, 2), np.float32), "keys": np.zeros((n, self.S, 2), np.float32),
                "h": np.zeros((n, 3), np.float32), "c": np.zeros((n, 3), np.float32)}

    def step(self, inputs):
        n = len(inputs["token"])
        logits = np.full((n, self.V), -5.0)
        nxt = {H.BOS: 4, 4: 5, 5: H.EOS}
        for r, t in enumerate(inputs["token"]):
            logits[r, nxt.get(int(t), H.EOS)] = 5.0
        logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return {"log_probs": logp.astype(np.float32), "attention": np.full((n, self.S), 1 / self.S, np.float32),
                "h": inputs["h"], "c": inputs["c"], "context": inputs["context"],
                "coverage": inputs["coverage"] + 1 / self.S}


@pytest.mark.parametrize("beam", [1, 3])
def test_beam_search_finds_the_best_sequence(beam):
    vocab = H.RESERVED + ["fast", "editor", "x"]
    host = H.Host({"vocab": vocab, "max_source": 6, "max_target": 5,
                   "state": {"h": 3, "c": 3, "context": 2}})
    enc = host.encode(["fast editor x", "editor"], beam=beam)
    out = host.decode(enc, host.search(enc, enc.units, _Toy().encoder, _Toy().step))
    assert [r["summary"] for r in out] == ["fast editor", "fast editor"]


def test_host_input_errors_and_truncation():
    host = H.Host({"vocab": H.RESERVED + ["a"], "max_source": 3, "max_target": 4,
                   "state": {"h": 1, "c": 1, "context": 1}})
    with pytest.raises(InputError, match="non-empty"):
        host.encode([])
    with pytest.raises(InputError, match="input 0: empty document"):
        host.encode(["  ...  "[:2]])
    with pytest.raises(InputError, match="input 1"):
        host.encode(["a", 3])
    with pytest.warns(UserWarning, match="first 3"):
        assert len(host.encode(["a a a a a"]).units[0]["source"]) == 3
    with pytest.raises(InputError, match="beam"):
        host.encode(["a"], beam=0)
    with pytest.raises(InputError, match="mbr"):
        host.encode(["a"], mbr=65)
    with pytest.raises(InputError, match="epsilon"):
        host.encode(["a"], epsilon=0.9)


@pytest.fixture(scope="module")
def tiny(vocab, data_dir):
    import zoo
    from zoo_pipelines.summarization import model as M
    from zoo.model import ZooModel

    entry = zoo.registry.get("summarize-attn")
    train = data.read_split(data_dir / DEBIAN, "train")[:64]
    prep = {"vocab": vocab, "max_source": 32, "max_target": 8, "buckets": [16, 32],
            "examples": [p["document"] for p in train[:16]]}
    hp = entry.hparams(embed=8, enc_units=8, dec_units=16, attn_units=8)
    zm = ZooModel(entry, M.build(prep, **entry.parts(hp)["model"]), prep, hparams=hp)
    from zoo.training import compile_for_training
    compile_for_training(zm)
    zm.history = zm.keras_model.fit(data.make_dataset(train, prep, 16), epochs=1, verbose=0)
    return zm


def test_tiny_model_trains_and_exports_functions(tiny, tmp_path):
    zm, prep = tiny, tiny.preprocessor
    assert np.isfinite(zm.history.history["loss"][0])
    one = zm.predict(prep["examples"][:2], beam=2, attention=True)
    assert len(one) == 2 and np.asarray(one[0]["attention"]).shape[1] == len(one[0]["source_tokens"])
    # end_bonus moves the end: +10 ends right after min_len's one token, -10 never earlier
    # (zoo.beam's doctest shows a negative bonus going on past an end)
    docs = prep["examples"][:4]
    short, plain, long = (zm.predict(docs, end_bonus=b) for b in (10.0, 0.0, -10.0))
    assert all(len(r["tokens"]) == 1 for r in short)
    assert all(len(a["tokens"]) <= len(b["tokens"]) for a, b in zip(plain, long))
    from zoo_pipelines.summarization.evaluate import summarize
    assert [r["tokens"] for r in summarize(zm, prep["examples"][:3], beam=2)] == \
        [r["tokens"] for r in zm.predict(prep["examples"][:3], beam=2)]
    # Minimum Bayes risk: the same summaries however the documents are batched
    drawn = zm.predict(docs, mbr=4, seed=1)
    assert all(r["mbr"]["samples"] == 4 and r["mbr"]["chose"] in ("sample", "beam") for r in drawn)
    assert [r["tokens"] for r in summarize(zm, docs, mbr=4, seed=1, batch=8)] == \
        [r["tokens"] for r in drawn]
    # Keras runs several documents in one call; one document a call agrees
    assert [r["tokens"] for r in zm.predict(docs, beam=2)] == \
        [zm.predict([d], beam=2)[0]["tokens"] for d in docs]
    host = zm.host()        # predict's Keras path batches the draws; row by row agrees
    encoded = host.encode(docs, mbr=4, seed=1)
    assert [r["tokens"] for r in host.decode(encoded, host.run(encoded, zm.call_function))] == \
        [r["tokens"] for r in drawn]
    report = zm.export(tmp_path / "tiny.tflite")
    assert report["agreement"] == 1.0
    # The ONNX export's step takes any batch: the runtime gives it the draws at once too
    report = zm.export(tmp_path / "tiny.onnx")
    rt = zoo.runtime.load(tmp_path / "tiny.onnx")
    assert report["agreement"] == 1.0 and rt.loop_call().batches
    assert [r["tokens"] for r in rt.predict(docs, mbr=4, seed=1)] == [r["tokens"] for r in drawn]
    # TFLite's step takes a batch too, padded to its row signatures (4 and 16 rows)
    lite = zoo.runtime.load(tmp_path / "tiny.tflite")
    assert lite.loop_call().batches and lite.meta["row_batches"] == [4, 16]
    assert [r["tokens"] for r in lite.predict(docs, mbr=4, seed=1)] == [r["tokens"] for r in drawn]


def test_versus_lead_is_the_paired_difference_on_the_report_split(tiny, monkeypatch):
    from zoo_pipelines.summarization import general

    monkeypatch.setattr(general, "report_examples",
                        lambda name: general.corpus(name, "report")[:12])
    r = general.versus_lead(tiny, ("inshorts_news",))["Inshorts"]
    assert r["examples"] == 12
    assert r["difference"] == pytest.approx(r["model"] - r["lead"])
    assert r["se"] >= 0 and r["low"] <= r["difference"] <= r["high"]


def test_saved_model_serves_raw_strings(tiny, tmp_path):
    """The SavedModel's serving_default: raw strings in, the greedy summary out (as
    predict(beam=1, block_ngram=0) on the host)."""
    import tensorflow as tf
    import tensorflow_text  # noqa: F401

    from zoo_pipelines.summarization import serving as S

    zm = tiny
    zm.export(tmp_path / "sm")
    fn = tf.saved_model.load(str(tmp_path / "sm")).signatures["serving_default"]
    docs = zm.preprocessor["examples"][:4]
    served = S.serving_results(fn(texts=tf.constant(docs)))
    ours = zm.predict(docs, beam=1, block_ngram=0)
    assert [r["tokens"] for r in served] == [r["tokens"] for r in ours]


def test_text_file_input(tmp_path):
    host = H.Host({"vocab": H.RESERVED + ["a", "b"], "max_source": 8, "max_target": 4,
                   "state": {"h": 1, "c": 1, "context": 1}})
    f = tmp_path / "doc.txt"
    f.write_text("a b a\n")
    assert host.encode([f]).units[0]["source"].tolist() == [4, 5, 4]
    with pytest.raises(InputError, match="input 0: .*no such text file"):
        host.encode([tmp_path / "missing.txt"])


def test_training_pass_equals_the_inference_loop():
    """The decoder's training pass (zoo.layers.LoopLSTM: the cell's weight gradients
    outside the loop) gives the inference loop's outputs and every gradient."""
    import tensorflow as tf

    from zoo_pipelines.summarization.model import AttentionDecoder

    rng = np.random.default_rng(0)
    B, T, S, E, U, A = 3, 5, 7, 4, 8, 6
    x, memory = (tf.constant(rng.normal(size=s).astype("float32")) for s in ((B, T, E), (B, S, 2 * E)))
    h, c = (tf.constant(rng.normal(size=(B, U)).astype("float32")) for _ in range(2))
    keys = tf.constant(rng.normal(size=(B, S, A)).astype("float32"))
    mask = tf.constant((np.arange(S)[None] < np.array([[7], [5], [3]])).astype("float32"))
    decoder = AttentionDecoder(U, A, E)
    decoder([x, h, c, memory, keys, mask])
    decoder.cell.v.assign(rng.normal(size=A).astype("float32"))
    decoder.cell.w_cov.assign(rng.normal(size=A).astype("float32"))   # zeros at first

    def outputs_and_gradients(training):
        with tf.GradientTape() as tape:
            tape.watch([x, h, c, memory, keys])
            outs = decoder([x, h, c, memory, keys, mask], training=training)
            loss = sum(tf.reduce_sum(tf.sin(o)) for o in outs)
        return [*outs, *tape.gradient(loss, [x, h, c, memory, keys, *decoder.trainable_variables])]

    names = ["features", "attention", "p_gen", "coverage", "d_x", "d_h", "d_c", "d_memory",
             "d_keys", *(v.path for v in decoder.trainable_variables)]
    for name, want, got in zip(names, outputs_and_gradients(False), outputs_and_gradients(True)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5, err_msg=name)


def test_copy_distribution_is_the_one_hot_product_in_every_runtime(tmp_path):
    """Decoding's copy distribution (a scatter with no repeated index) and training's
    (TensorFlow's repeat-adding scatter) equal attn @ one_hot(source), repeats and padding
    included, and TFLite and ONNX Runtime run the decoding form to the same numbers."""
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx
    from ai_edge_litert.interpreter import Interpreter

    from zoo_pipelines.summarization.model import add_at_words, copy_distribution

    rng = np.random.default_rng(0)
    B, T, S, V = 2, 3, 12, 50
    source = rng.integers(1, 6, (B, S)).astype("int32")     # five words: every one repeats
    source[:, 9:] = 0
    attn = rng.random((B, T, S)).astype("float32")
    want = np.einsum("bts,bsv->btv", attn, np.eye(V, dtype="float32")[source])
    np.testing.assert_allclose(copy_distribution(attn, source, V), want, atol=1e-6)
    np.testing.assert_allclose(add_at_words(attn, source, V), want, atol=1e-6)

    specs = [tf.TensorSpec((B, T, S), tf.float32, name="attn"),
             tf.TensorSpec((B, S), tf.int32, name="source")]
    fn = tf.function(lambda a, s: copy_distribution(a, s, V), input_signature=specs)
    lite = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], tf.Module())
    runner = Interpreter(model_content=lite.convert()).get_signature_runner()
    np.testing.assert_allclose(next(iter(runner(attn=attn, source=source).values())), want, atol=1e-6)
    tf2onnx.convert.from_function(fn, input_signature=specs, opset=17,
                                  output_path=str(tmp_path / "copy.onnx"))
    session = ort.InferenceSession(str(tmp_path / "copy.onnx"), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"attn": attn, "source": source})[0], want, atol=1e-6)


def test_evaluate_names_its_own_options_beside_predicts(shipped):
    """An unknown option listed predict's options alone, not lead_words or max_examples."""
    with pytest.raises(InputError, match=r"unknown option 'bean'; it takes .*beam.*lead_words, "
                                         r"max_examples"):
        shipped("summarize-attn").evaluate([{"document": "a b c .", "summary": "a"}], bean=3)
