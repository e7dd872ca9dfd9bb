"""The SavedModel's serving graph: raw strings in, greedy summaries out, all in
TensorFlow (no numpy host): the host's tokenizer (tensorflow-text regex split +
FastWordpiece), the encoder, and the in-graph greedy loop (zoo.layers.greedy) over the
decoder step.
"""
from __future__ import annotations

from zoo.data import graph_plain

from .host import BOS, EOS, PAD, SPACE, TOKEN, UNK, default_max_len, detokenize


def serving_function(model, prep: dict):
    """A tf.Module whose `serve` takes raw strings [B] and returns greedy summaries (no
    beam, no n-gram blocking: it matches `predict(texts, beam=1, block_ngram=0)`). Outputs
    {"ids": [B, T] int32 (0 after [EOS]), "tokens": [B, T] subword strings ("" after
    [EOS])}."""
    import tensorflow as tf
    import tensorflow_text as tf_text

    from zoo.layers.greedy import greedy_decode

    from .model import decode_functions, host_constants

    fns = decode_functions(model, prep)
    S, T, vocab = prep["max_source"], default_max_len(prep), list(prep["vocab"])
    state = host_constants(model)["state"]

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.step = fns["encoder"], fns["step"]
            self.vocab = tf.constant(vocab)
            self.wordpiece = tf_text.FastWordpieceTokenizer(
                vocab, suffix_indicator="##", unknown_token="[UNK]", no_pretokenization=True,
                token_out_type=tf.int32)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="texts")])
        def serve(self, texts):
            words = tf_text.regex_split(tf.strings.lower(graph_plain(texts)), TOKEN + "|" + SPACE, TOKEN)
            ids = self.wordpiece.tokenize(words).merge_dims(-2, -1)[:, :S]
            source = ids.to_tensor(default_value=0, shape=[None, S])
            n = tf.shape(source)[0]
            e = self.encoder({"source": source}, training=False)
            consts = {"memory": e["memory"], "keys": e["keys"], "source": source}

            def step(token, carry):
                o = self.step({"token": token, **carry, **consts}, training=False)
                return o["log_probs"], {k: o[k] for k in carry}

            carry = {"h": e["h"], "c": e["c"],
                     "context": tf.zeros([n, state["context"]]), "coverage": tf.zeros([n, S])}
            result = greedy_decode(step, carry, BOS, EOS, T, min_len=1, forbid=(PAD, BOS, UNK))
            return {"ids": result, "tokens": tf.where(result > 0, tf.gather(self.vocab, result), "")}

    return Serving()


def serving_results(outputs: dict) -> list[dict]:
    """The serving signature's tensors as predict()-style results."""
    results = []
    for row in outputs["tokens"].numpy():
        pieces = [p.decode("utf-8") for p in row if p]
        results.append({"summary": detokenize(pieces), "tokens": pieces})
    return results


def serving_predict(signature, examples: list, prep: dict) -> list[dict]:
    """predict()-style results of the SavedModel's string signature on raw `examples`."""
    import tensorflow as tf

    return serving_results(signature(tf.constant(examples)))
