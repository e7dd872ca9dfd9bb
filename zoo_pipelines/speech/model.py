"""The speech-ctc network: log-mel frames -> 1-D conv front end (halves the frame rate) ->
recurrent stack (bidirectional GRU by default) -> per-frame token logits, trained with CTC
(Graves et al. 2006).

Features are computed on the host (zoo_pipelines/speech/features.py) so the exported acoustic
model is builtin-ops only; padding frames are all-zero feature vectors and are masked.

>>> from zoo_pipelines.speech.model import build
>>> prep = {"n_mels": 40, "tokens": list("0123456789")}
>>> {k: tuple(v.shape) for k, v in build(prep, units=8, filters=8).output.items()}
{'logits': (None, None, 11)}
"""
from __future__ import annotations

import keras
import numpy as np
import scipy.fft
from keras import ops

from zoo.decoding import BLANK
from zoo.layers import RecurrentStack

from .audio import load_waveform
from .features import LOG_FLOOR, config_mel, frame_sizes
from .host import CONV_CONTEXT, STREAM_FRAMES, SUBSAMPLE


@keras.saving.register_keras_serializable(package="speech")
class PaddingMask(keras.layers.Layer):
    """Zeroes the sub-sampled frames that come from padding and masks them for the RNNs.
    Inputs [x (frames / stride), features (frames)]: a padding frame is all zeros."""

    def __init__(self, stride: int = SUBSAMPLE, masking: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.stride, self.masking = stride, masking

    def _mask(self, features):
        return ops.any(ops.not_equal(features, 0.0), axis=-1)[:, ::self.stride]

    def call(self, inputs):
        x, features = inputs
        return x * ops.cast(self._mask(features), x.dtype)[..., None]

    def compute_mask(self, inputs, mask=None):
        return self._mask(inputs[1]) if self.masking else None

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "stride": self.stride, "masking": self.masking}


@keras.saving.register_keras_serializable(package="speech")
class DropMask(keras.layers.Layer):
    """Identity that ends mask propagation: the CTC loss takes the lengths from its targets
    (Keras would otherwise weight the per-utterance loss by the per-frame mask)."""

    def call(self, x):
        return ops.copy(x)          # a new tensor: the input one carries the mask

    def compute_mask(self, inputs, mask=None):
        return None


@keras.saving.register_keras_serializable(package="speech")
class CTCLoss(keras.losses.Loss):
    """CTC loss on targets packed as [output frames, label ids... (0-padded)]; blank = 0."""

    def __init__(self, name="ctc", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "int32")
        out_len, labels = y_true[:, 0], y_true[:, 1:]
        lab_len = ops.sum(ops.cast(labels > 0, "int32"), axis=1)
        return ops.ctc_loss(labels, y_pred, lab_len, out_len, mask_index=BLANK)


def build(prep: dict, init=None, cell: str = "gru", units: int = 128, layers: int = 2,
          bidirectional: bool = True, dropout: float = 0.2, filters: int = 128,
          cepstra: int = 0, freq_filters: int = 0) -> keras.Model:
    """Acoustic model for `prep`'s features and tokens: `prep["subsample"]` (a power of 2)
    stride-2 convolutions, then the recurrent stack. `bidirectional=False` gives a causal
    model (left-padded convolutions) that can run on a stream. `cepstra` > 0 first takes
    the log-mels' first `cepstra` DCT coefficients (MFCCs: a smooth spectral envelope,
    without the pitch harmonics that the low mel bands resolve), a fixed product.
    `freq_filters` > 0 first convolves along the mel axis alone (8 bands, shared weights) and
    max-pools over 3 bands (Abdel-Hamid et al. 2014): small formant shifts between speakers
    move a peak within a pool, not out of it."""
    features = keras.Input((None, prep["n_mels"]), name="features")
    subsample = int(prep.get("subsample", SUBSAMPLE))
    x = features
    if cepstra:
        dct = keras.layers.Dense(cepstra, use_bias=False, trainable=False, name="cepstra")
        x = dct(x)
        basis = scipy.fft.dct(np.eye(prep["n_mels"], dtype="float32"), norm="ortho")  # [mel, k]
        dct.set_weights([basis[:, :cepstra]])
    if freq_filters:
        x = keras.layers.Reshape((-1, x.shape[-1], 1), name="freq_split")(x)
        x = keras.layers.Conv2D(freq_filters, (1, 8), activation="relu", name="freq_conv")(x)
        x = keras.layers.MaxPooling2D((1, 3), name="freq_pool")(x)
        x = keras.layers.Reshape((-1, x.shape[2] * freq_filters), name="freq_join")(x)
        x = PaddingMask(1, masking=False, name="freq_mask")([x, features])
    for i in range(subsample.bit_length() - 1):     # stride-2 convolutions, log2(subsample)
        # Explicit padding: TF's "same" pads 1 frame on the left for even lengths but 2 for
        # odd ones, which would shift every frame of an odd-length input (ONNX runs exact
        # lengths). Both give ceil(T / 2) frames; causal: look back only.
        pad = (1, 3) if bidirectional else (4, 0)
        x = keras.layers.ZeroPadding1D(pad, name=f"pad_{i}")(x)
        x = keras.layers.Conv1D(filters, 5, strides=2, padding="valid", activation="relu",
                                name=f"conv_{i}")(x)
        if 2 ** (i + 1) < subsample:
            # Zero the frames that come from padding, so the next convolution sees zeros
            # there however much padding a batch or a length bucket added.
            x = PaddingMask(2 ** (i + 1), masking=False, name=f"conv_{i}_mask")([x, features])
    x = keras.layers.LayerNormalization(name="front_norm")(x)
    x = PaddingMask(subsample, name="padding_mask")([x, features])
    x = RecurrentStack(cell, units, layers, bidirectional, dropout, name="encoder")(x)
    x = keras.layers.Dropout(dropout, name="encoder_dropout")(x)
    logits = keras.layers.Dense(len(prep["tokens"]) + 1, name="head_logits")(x)
    logits = DropMask(name="logits")(logits)
    return keras.Model({"features": features}, {"logits": logits}, name="speech_ctc")


def loss(model):
    return {"logits": CTCLoss()}


def host_constants(model) -> dict:
    """Streaming models: the shapes of the step's carried context and state."""
    stack, rnns = _recurrent_layers(model)
    if stack.bidirectional:
        return {}
    shapes = {}
    i = 0
    while True:
        try:
            conv = model.get_layer(f"conv_{i}")
        except ValueError:
            break
        shapes[f"context_{i}"] = [CONV_CONTEXT, int(conv.input.shape[-1])]
        i += 1
    for j, rnn in enumerate(rnns):
        for s in (("h", "c") if stack.cell == "lstm" else ("h",)):
            shapes[f"{s}_{j}"] = [rnn.units]
    return {"step_state": shapes}


def serving_function(model, prep: dict):
    """A tf.Module whose `serve(waveforms [B, N] float32 at prep's sample rate, lengths [B]
    int32)` returns greedy transcripts [B] (strings) and logits: the host's log-mel
    features recomputed with tf.signal from the same mel matrix, then the model."""
    import tensorflow as tf

    rate = prep["sample_rate"]
    win, hop, n_fft = frame_sizes(rate)
    mel = tf.constant(config_mel(prep))
    mean, std = tf.constant(prep["mean"], tf.float32), tf.constant(prep["std"], tf.float32)
    tokens = tf.constant([""] + list(prep["tokens"]))
    sep = " " if prep["alphabet"] == "digits" else ""
    level_norm, cmn = bool(prep.get("level_norm", False)), bool(prep.get("cmn", False))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="waveforms"),
                                  tf.TensorSpec([None], tf.int32, name="lengths")])
    def serve(waveforms, lengths):
        stft = tf.signal.stft(waveforms, win, hop, n_fft, window_fn=tf.signal.hann_window)
        log_mels = tf.math.log(tf.matmul(tf.abs(stft) ** 2, mel) + LOG_FLOOR)
        frames = tf.maximum(0, 1 + (lengths - win) // hop)
        valid = tf.sequence_mask(frames, tf.shape(log_mels)[1])
        if cmn:                     # features.utterance_norm: band means over the real frames
            real = tf.cast(valid, tf.float32)[..., None]
            count = tf.maximum(tf.reduce_sum(real, axis=1, keepdims=True), 1.0)
            log_mels -= tf.reduce_sum(log_mels * real, axis=1, keepdims=True) / count
        elif level_norm:            # features.utterance_level over each utterance's real frames
            energy = tf.where(valid, tf.reduce_mean(log_mels, -1), -float("inf"))
            log_mels -= tf.reduce_max(energy, axis=1)[:, None, None]
        feats = (log_mels - mean) / std
        feats = tf.where(valid[..., None], feats, 0.0)
        logits = model({"features": feats}, training=False)["logits"]
        out_frames = -(-frames // int(prep.get("subsample", SUBSAMPLE)))
        ids = tf.argmax(logits, -1, output_type=tf.int32)
        prev = tf.pad(ids[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
        keep = (ids != BLANK) & (ids != prev) & tf.sequence_mask(out_frames, tf.shape(ids)[1])
        words = tf.ragged.boolean_mask(tf.gather(tokens, ids), keep)
        text = tf.strings.reduce_join(words, axis=1, separator=sep)
        if not sep:                     # characters: no leading/trailing space (text.join_tokens)
            text = tf.strings.strip(text)
        return {"text": text,
                "logits": logits, "frames": out_frames}

    module = tf.Module()
    module.mel, module.serve = mel, serve
    return module


def serving_predict(signature, examples: list, prep: dict) -> list[dict]:
    """Run the SavedModel's serving signature on raw predict() inputs (export parity):
    waveforms loaded and resampled by the host, zero-padded into one batch."""
    import numpy as np
    import tensorflow as tf

    waves = [load_waveform(x, prep["sample_rate"], f"input {i}") for i, x in enumerate(examples)]
    batch = np.zeros((len(waves), max(w.size for w in waves)), np.float32)
    for i, w in enumerate(waves):
        batch[i, :w.size] = w
    out = signature(waveforms=tf.constant(batch),
                    lengths=tf.constant([w.size for w in waves], tf.int32))
    return [{"text": t.decode()} for t in out["text"].numpy()]


# The layers before the time convolutions, each of which sees one feature frame alone
# What build's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"filters": (1, 8192), "cepstra": (0, 256), "freq_filters": (0, 8192)}
FRAME_LAYERS = ("cepstra", "freq_split", "freq_conv", "freq_pool", "freq_join")


def _recurrent_layers(model):
    stack = model.get_layer("encoder")
    return stack, [r for r in stack.rnns]


class _Unrolled(keras.layers.Layer):
    """A trained recurrent cell run over a short, static number of frames from a given
    state: [sequence [1, S, F], *states] -> [outputs [1, S, units], *new states]. It
    shares the cell's weights (used for export only, never saved)."""

    def __init__(self, cell, **kwargs):
        super().__init__(**kwargs)
        self.cell = cell

    def call(self, inputs):
        seq, *state = inputs
        outs = []
        for t in range(seq.shape[1]):
            y, state = self.cell(seq[:, t], list(state))
            outs.append(y)
        return [ops.stack(outs, axis=1), *state]


def export_functions(model, prep: dict) -> dict:
    """For a unidirectional (streaming) model, one "step" over STREAM_FRAMES feature
    frames, batch 1: {"features" [1, S, n_mels], "context_i" (the last 4 input frames of
    conv i), "h_j" / "c_j" (recurrent state of layer j)} -> {"logits" [1, S / subsample,
    K], the new context and state under the same names}. It shares the trained layers;
    the recurrence is unrolled over the step's few frames (no WHILE loop in TFLite).
    A bidirectional model has no step: {}."""
    stack, rnns = _recurrent_layers(model)
    if stack.bidirectional:
        return {}
    steps = STREAM_FRAMES
    feats = keras.Input(batch_shape=(1, steps, prep["n_mels"]), name="features")
    inputs, outputs, x = {"features": feats}, {}, feats
    for name in FRAME_LAYERS:       # one frame at a time: no context to carry between steps
        if any(layer.name == name for layer in model.layers):
            x = model.get_layer(name)(x)
    n_conv = int(prep.get("subsample", SUBSAMPLE)).bit_length() - 1
    for i in range(n_conv):
        conv = model.get_layer(f"conv_{i}")
        ctx = keras.Input(batch_shape=(1, CONV_CONTEXT, x.shape[-1]), name=f"context_{i}")
        inputs[ctx.name] = ctx
        full = keras.layers.Concatenate(axis=1, name=f"join_{i}")([ctx, x])
        outputs[ctx.name] = keras.layers.Cropping1D((x.shape[1], 0), name=f"context_{i}_out")(full)
        x = conv(full)
    x = model.get_layer("front_norm")(x)
    for j, rnn in enumerate(rnns):
        names = [f"{s}_{j}" for s in (("h", "c") if stack.cell == "lstm" else ("h",))]
        states = [keras.Input(batch_shape=(1, rnn.units), name=n) for n in names]
        inputs.update(zip(names, states))
        x, *new = _Unrolled(rnn.cell, name=f"step_{j}")([x, *states])
        outputs.update({n: keras.layers.Identity(name=f"{n}_out")(s) for n, s in zip(names, new)})
    outputs["logits"] = model.get_layer("head_logits")(x)
    return {"step": keras.Model(inputs, outputs, name="speech_step")}
