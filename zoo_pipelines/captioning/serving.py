"""The SavedModel's serving graph: encoded image bytes in, greedy captions out, all in
TensorFlow (no numpy host): decode_image_bytes, the exported encoder, and the in-graph
greedy loop (zoo.layers.greedy) over the exported step.
"""
from __future__ import annotations

import tensorflow as tf

from zoo.layers.greedy import greedy_decode

from .host import END, NEVER, START, detokenize


def decode_image_bytes(data, size: int):
    """Encoded image bytes (scalar tf.string: JPEG, PNG, GIF (first frame), BMP, WebP) ->
    float32 [size, size, 3] 0..255, as host.load_image does it: grayscale to RGB,
    transparency composited onto white, bilinear resize (antialiased when shrinking, close
    to Pillow's; images already size x size, like the emoji corpus, are not resized)."""
    img = tf.io.decode_image(data, expand_animations=False, dtype=tf.uint8)
    img = tf.cast(img, tf.float32)
    c = tf.shape(img)[-1]
    rgb = tf.cond(c < 3, lambda: tf.tile(img[..., :1], [1, 1, 3]), lambda: img[..., :3])
    alpha = tf.cond(tf.equal(c % 2, 0), lambda: img[..., -1:] / 255.0,
                    lambda: tf.ones_like(img[..., :1]))
    rgb = rgb * alpha + 255.0 * (1.0 - alpha)
    shape = tf.shape(rgb)
    same = tf.logical_and(tf.equal(shape[0], size), tf.equal(shape[1], size))
    rgb = tf.cond(same, lambda: rgb,
                  lambda: tf.image.resize(rgb, (size, size), "bilinear", antialias=True))
    return tf.reshape(tf.clip_by_value(rgb, 0.0, 255.0), (size, size, 3))


def serving_function(model, prep: dict):
    """A tf.Module whose `serve` takes encoded image bytes [B] (tf.string) and returns
    greedy captions (argmax, no beam: it matches `predict(images, beam=1)`).
    Outputs {"ids": [B, T] int32 (0 from <end> on), "words": [B, T] strings ("" from
    <end> on), "caption": [B] the words joined by spaces (host.detokenize, as
    serving_results applies it, also removes the space before ':' and ',')}."""
    from .model import decode_functions, state_names

    fns = decode_functions(model, prep)
    size, T, vocab = int(prep["image_size"]), int(prep.get("max_len", 20)), list(prep["vocab"])
    names = state_names(model.get_layer("decoder").cell_type)

    class Serving(tf.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.step = fns["encoder"], fns["step"]
            self.vocab = tf.constant(vocab)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="images")])
        def serve(self, images):
            pixels = tf.map_fn(lambda b: decode_image_bytes(b, size), images,
                               fn_output_signature=tf.TensorSpec((size, size, 3), tf.float32))
            e = self.encoder({"image": pixels}, training=False)
            grid = {"features": e["features"], "keys": e["keys"]}

            def step(word, states):
                o = self.step({"word": word, **states, **grid}, training=False)
                return o["log_probs"], {k: o[k] for k in names}

            ids = greedy_decode(step, {k: e[k] for k in names}, START, END, T, forbid=NEVER)
            words = tf.where(ids > 0, tf.gather(self.vocab, ids), "")
            caption = tf.strings.strip(tf.strings.reduce_join(words, axis=1, separator=" "))
            caption = tf.strings.regex_replace(caption, " +", " ")
            return {"ids": ids, "words": words, "caption": caption}

    return Serving()


def serving_results(outputs: dict) -> list[dict]:
    """The serving signature's tensors as predict()-style results ("caption", "words")."""
    results = []
    for row in outputs["words"].numpy():
        words = [w.decode("utf-8") for w in row if w]
        results.append({"caption": detokenize(words), "words": words})
    return results


def serving_predict(signature, examples: list, prep: dict) -> list[dict]:
    """predict()-style results of the SavedModel's string signature on raw `examples`."""
    return serving_results(signature(tf.constant(examples)))
