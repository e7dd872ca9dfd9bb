"""The ner-bilstm network: word (GloVe) + character-CNN + casing features -> recurrent
encoder -> CRF (Ma & Hovy 2016; Lample et al. 2016).

>>> from zoo_pipelines.ner.model import build
>>> prep = {"words": {"a": 2}, "chars": {"a": 2}, "labels": ["O", "B-X", "I-X"],
...         "max_word_chars": 5, "buckets": [8]}
>>> {k: tuple(v.shape) for k, v in build(prep, units=4).output.items()}
{'emissions': (None, None, 3)}
"""
from __future__ import annotations

import keras

from zoo.data import SPACES, graph_plain
from zoo.layers import CRF, CharEncoder, RecurrentStack, TokenDropout

from . import host as H

# What build's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"word_dim": (1, 8192), "char_dim": (1, 8192), "char_filters": (1, 8192),
           "casing_dim": (1, 8192)}


def build(prep: dict, init: dict | None = None, cell: str = "lstm", units: int = 200,
          layers: int = 1, bidirectional: bool = True, dropout: float = 0.5,
          word_dim: int = 50, char_dim: int = 30, char_filters: int = 30,
          casing_dim: int = 8, crf: bool = True, freeze_words: bool = False,
          word_dropout: float = 0.0) -> keras.Model:
    """A tagger for `prep`'s vocabularies and labels; `init["word_vectors"]` seeds the
    word embedding (GloVe). `freeze_words` keeps the word embedding as it is (a fine-tune
    on a small new domain then cannot pull the words it sees away from the GloVe
    neighbours it does not). `word_dropout` turns that share of the words into the unknown
    word while training (zoo.layers.TokenDropout), so the character and casing features
    learn to carry the words a vocabulary lacks."""
    vectors = (init or {}).get("word_vectors")
    if vectors is not None:
        word_dim = vectors.shape[1]
    word_ids = keras.Input((None,), dtype="int32", name="word_ids")
    char_ids = keras.Input((None, prep["max_word_chars"]), dtype="int32", name="char_ids")
    casing = keras.Input((None,), dtype="int32", name="casing")

    word_embedding = keras.layers.Embedding(len(prep["words"]) + 2, word_dim, mask_zero=True,
                                            trainable=not freeze_words, name="word_embedding")
    # The layer exists only when used, so bundles trained without it keep their graph.
    dropped = TokenDropout(word_dropout, H.UNK, name="word_dropout")(word_ids) if word_dropout else word_ids
    words = word_embedding(dropped)
    chars = CharEncoder(len(prep["chars"]) + 2, char_dim, char_filters, name="char_encoder")(char_ids)
    case = keras.layers.Embedding(H.CASING_OTHER + 1, casing_dim, mask_zero=True,
                                  name="casing_embedding")(casing)
    x = keras.layers.Concatenate(name="features")([words, chars, case])
    x = keras.layers.Dropout(dropout, name="feature_dropout")(x)
    x = RecurrentStack(cell, units, layers, bidirectional, dropout, name="encoder")(x)
    x = keras.layers.Dropout(dropout, name="encoder_dropout")(x)
    # Head layers are named "head_*": fine-tuning on a new label set rebuilds exactly these.
    emissions = keras.layers.Dense(len(prep["labels"]), name="head_emissions")(x)
    if crf:
        emissions = CRF(len(prep["labels"]), name="head_crf")(emissions)
    # Outputs are dicts keyed by name: hosts, exports and losses all refer to "emissions".
    inputs = {"word_ids": word_ids, "char_ids": char_ids, "casing": casing}
    model = keras.Model(inputs, {"emissions": emissions}, name="ner_bilstm")
    if vectors is not None:
        # Assigned, not passed as a Constant initializer: that would copy the whole GloVe
        # matrix into the saved config (60 MB of JSON).
        word_embedding.set_weights([vectors])
    return model


def _crf_layer(model):
    return next((l for l in model.layers if isinstance(l, CRF)), None)


def loss(model):
    """CRF negative log-likelihood, or masked softmax cross-entropy without a CRF."""
    crf = _crf_layer(model)
    if crf is not None:
        from zoo.layers.crf import CRFLoss

        return {"emissions": CRFLoss(crf)}
    return {"emissions": keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)}


def host_constants(model) -> dict:
    """What the numpy host needs from the weights: the CRF transitions."""
    crf = _crf_layer(model)
    return {"crf": crf.params() if crf is not None else None}


def graph_tokens(sentences):
    """host.tokenize in the graph (tensorflow-text's RE2): the SavedModel's tokens of a [B]
    string tensor, ragged [B, tokens]."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    text = tf.strings.regex_replace(graph_plain(sentences), H.NEGATION_PATTERN, r"\1 \2")
    return tf_text.regex_split(text, H.TOKEN_PATTERN + rf"|[{SPACES}]+", H.TOKEN_PATTERN)


def serving_function(model, prep: dict):
    """A tf.Module whose `serve` tf.function maps raw sentence strings [B] -> tokens and tags [B, T] (ragged-padded),
    tokenized in the graph exactly like host.tokenize (graph_tokens)."""
    import tensorflow as tf

    from zoo.layers.crf import viterbi_decode

    def table(keys, values, key_dtype):
        init = tf.lookup.KeyValueTensorInitializer(tf.constant(keys, key_dtype),
                                                   tf.constant(values, tf.int32))
        return tf.lookup.StaticHashTable(init, default_value=H.UNK)

    words = table(list(prep["words"]), list(prep["words"].values()), tf.string)
    chars = table([ord(c) for c in prep["chars"]], list(prep["chars"].values()), tf.int64)
    labels = tf.constant([H.output_tag(t) for t in prep["labels"]])
    width = prep["max_word_chars"]
    crf = _crf_layer(model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="sentences")])
    def serve(sentences):
        tokens = graph_tokens(sentences)
        lower = tf.strings.regex_replace(tf.strings.lower(tokens.flat_values, encoding="utf-8"),
                                         "i\u0307", "i")        # host.lower
        wid = words.lookup(lower)
        wid = tf.where(wid == H.UNK, words.lookup(tf.strings.regex_replace(lower, "[0-9]", "0")), wid)
        cps = tf.strings.unicode_decode(tokens.flat_values, "UTF-8")[:, :width]
        cid = tf.ragged.map_flat_values(chars.lookup, tf.cast(cps, tf.int64)).to_tensor(0, shape=[None, width])
        case = tf.fill(tf.shape(lower), H.CASING_OTHER)
        for i in reversed(range(len(H.CASING_PATTERNS))):     # first matching pattern wins
            hit = tf.strings.regex_full_match(tokens.flat_values, H.CASING_PATTERNS[i])
            case = tf.where(hit, i + 1, case)
        rebuild = tokens.with_flat_values
        x = {"word_ids": rebuild(wid).to_tensor(0),
             "char_ids": tokens.with_flat_values(cid).to_tensor(0),
             "casing": rebuild(case).to_tensor(0)}
        emissions = model(x, training=False)["emissions"]
        mask = tf.sequence_mask(tokens.row_lengths(), tf.shape(x["word_ids"])[1])
        if crf is not None:
            ids = viterbi_decode(emissions, mask, crf.transitions, crf.start, crf.end)
        else:
            ids = tf.argmax(emissions, -1, output_type=tf.int32)
        tags = tf.where(mask, tf.gather(labels, ids), "")
        return {"tokens": tokens.to_tensor(""), "tags": tags}

    module = tf.Module()                 # tracks the lookup tables so SavedModel keeps them
    module.words, module.chars, module.serve = words, chars, serve
    return module


def serving_results(outputs: dict) -> list[dict]:
    """The serving signature's tensors as predict()-style results (for export parity)."""
    tokens, tags = outputs["tokens"].numpy(), outputs["tags"].numpy()
    return [{"tokens": [t.decode() for t in tok if t], "tags": [g.decode() for g in tag if g]}
            for tok, tag in zip(tokens, tags)]


def serving_predict(signature, examples: list, prep: dict) -> list[dict]:
    """predict()-style results of the SavedModel's string signature on raw `examples`."""
    import tensorflow as tf

    return serving_results(signature(tf.constant(examples)))
