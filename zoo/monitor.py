"""Seeing training: gradient flow through the recurrent layers, and training curves.

`GradientMonitor` probes a fixed batch after every epoch and logs
- the global gradient norm and one norm per layer,
- how often the global norm exceeded the clipping threshold (on the probe batches),
- for the recurrent encoder, ||dL_last / dx_t|| against the distance from the last time
  step: how much the loss at the end of a sequence still "hears" the input t steps back.
  A plain tanh RNN shows this curve falling by orders of magnitude within a few steps
  (vanishing gradients, Bengio et al. 1994); an LSTM keeps it flat far longer.
It writes TensorBoard scalars, `gradients.json` and `gradient_flow.png`.

>>> from zoo.monitor import plot_history
>>> plot_history([{"epoch": 1, "loss": 2.0, "val_f1": 0.5}], "/tmp/curve.png", "f1")
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from . import runtime
from .layers import RecurrentStack
from .options import PICTURE_DPI


PLAIN_AFTER_S, PLAIN_EVERY_S = 30.0, 30.0     # progress where stderr is no terminal


def progress(iterable=None, total: int | None = None, desc: str = "", unit: str = "it"):
    """zoo.runtime.progress (a tqdm bar on stderr; plain lines in a log), with this
    module's PLAIN_AFTER_S and PLAIN_EVERY_S; it lives in the runtime, which imports no
    Keras, so an export's predict shows one too."""
    return runtime.progress(iterable, total, desc, unit, after=PLAIN_AFTER_S,
                            every=PLAIN_EVERY_S)


def predict_with_progress(zoo_model, inputs: list, desc: str, chunk: int = 32,
                          **options) -> list:
    """`zoo_model.predict(inputs, **options)`, `chunk` inputs at a time under a progress
    bar (the same results: each input is predicted on its own)."""
    out = []
    with progress(total=len(inputs), desc=desc, unit="ex") as bar:
        for s in range(0, len(inputs), chunk):
            out += zoo_model.predict(inputs[s:s + chunk], **options)
            bar.update(min(chunk, len(inputs) - s))
    return out


MARKERS = ("o", "s", "^", "v", "D", "P", "X")


def _figure(**kwargs):
    """A matplotlib Figure that renders to files only (no pyplot: a notebook's inline
    backend and a headless server are both left alone)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def loss_terms(loss, outputs) -> dict:
    """model.loss(model) as Keras's compile() takes it ({output: loss}, or one loss for
    every output; each a callable or a name such as "sparse_categorical_crossentropy") as
    {output: callable}: a name was called here as a function, a raw TypeError at the first
    `zoo train` of a user's application that compile() had taken.

    >>> sorted(loss_terms("mse", ["probs"])), loss_terms({"y": "mae"}, ["y"])["y"].__name__
    (['probs'], 'mean_absolute_error')
    """
    if not isinstance(loss, dict):
        loss = dict.fromkeys(outputs, loss)
    return {k: keras.losses.get(v) for k, v in loss.items()}


class GradientMonitor(keras.callbacks.Callback):
    def __init__(self, zm, train_examples, work: Path, clipnorm: float | None = None,
                 probe_batches: int = 4, batch_size: int = 32, span: int = 24):
        super().__init__()
        self.zm, self.work, self.clipnorm, self.span = zm, Path(work), clipnorm, span
        # every keyword the contract names (CALLS in zoo/contract.py): a user's make_dataset
        # with no defaults for shuffle and seed was a raw TypeError at the first zoo train
        ds = zm.entry.module("data").make_dataset(train_examples[:4000], zm.preprocessor,
                                                  batch_size=batch_size, shuffle=False, seed=0)
        # Probe long sequences only, so every point of the curve averages the same ones.
        batches = list(ds.take(200))
        longest = sorted(batches, key=lambda b: -next(iter(b[0].values())).shape[1])
        self.probe = longest[:probe_batches]
        self.encoder = next((l for l in zm.keras_model.layers
                             if isinstance(l, (RecurrentStack, keras.layers.RNN,
                                               keras.layers.Bidirectional))), None)
        self.records = []
        self.writer = tf.summary.create_file_writer(str(self.work / "tensorboard" / "gradients"))

    def on_train_begin(self, logs=None):
        path = self.work / "gradients.json"
        if path.exists():
            try:
                self.records = json.loads(path.read_text())
            except (ValueError, UnicodeDecodeError):
                # cut short (written by a version that wrote it in place, killed or out of
                # disk): a resume failed on it with a raw JSONDecodeError. Only the
                # picture's earlier epochs are lost.
                print(f"{path}: cut short; the gradient records start again from here",
                      flush=True)
                self.records = []
        if not self.records:
            self.on_epoch_end(-1)             # the picture at initialisation

    def _probe(self, x, y):
        model = self.zm.keras_model
        losses = loss_terms(self.zm.entry.module("model").loss(model), model.output_names)
        captured = {}
        if self.encoder is not None:
            original = self.encoder.call

            def spy(inputs, *a, **k):
                captured["x"] = inputs
                return original(inputs, *a, **k)

            self.encoder.call = spy
        try:
            with tf.GradientTape(persistent=True) as tape:
                out = model(x, training=False)
                if "x" in captured:
                    tape.watch(captured["x"])
                key = next(iter(out))
                # The distance curve needs per-step class targets (tags, characters, notes
                # as ids); for other outputs only the norms are recorded.
                per_step = (y[key].dtype.is_integer and len(out[key].shape) == 3
                            and len(y[key].shape) == 2)
                loss = tf.add_n([tf.reduce_mean(fn(y[k], out[k])) for k, fn in losses.items()])
                if per_step:
                    logits, target = out[key], tf.cast(y[key], tf.int32)
                    last = tf.reduce_sum(tf.cast(target >= 0, tf.int32), 1) - 1
                    logp = tf.nn.log_softmax(tf.gather(logits, last, batch_dims=1))
                    last_loss = -tf.reduce_sum(tf.gather(
                        logp, tf.gather(target, last, batch_dims=1), batch_dims=1))
            grads = tape.gradient(loss, model.trainable_variables)
            flow = None
            if "x" in captured and per_step:
                g = tape.gradient(last_loss, captured["x"])               # [B, T, D]
                norms = tf.norm(g, axis=-1).numpy()
                # Align every sequence on its last token: column d = d steps before the end.
                rows = [norms[b, :n][::-1][:self.span] for b, n in enumerate(last.numpy() + 1)
                        if n >= self.span]
                flow = np.stack(rows) if rows else None
        finally:
            if self.encoder is not None:
                self.encoder.call = original
        return loss, grads, flow

    def on_epoch_end(self, epoch, logs=None):
        model = self.zm.keras_model
        per_layer, globals_, flows = {}, [], []
        for x, y in self.probe:
            _, grads, flow = self._probe(x, y)
            globals_.append(float(tf.linalg.global_norm([g for g in grads if g is not None])))
            for v, g in zip(model.trainable_variables, grads):
                if g is not None:
                    layer = "/".join(v.path.split("/")[:-1][:2]) or v.path   # e.g. encoder/bilstm_0
                    per_layer.setdefault(layer, []).append(float(tf.norm(g)) ** 2)
            if flow is not None:
                flows.append(flow)
        record = {"epoch": epoch + 1, "global_norm": float(np.mean(globals_)),
                  "clipped_fraction": (float(np.mean([g > self.clipnorm for g in globals_]))
                                       if self.clipnorm else None),
                  "layer_norms": {k: float(np.sqrt(np.mean(v))) for k, v in per_layer.items()}}
        if flows:
            stacked = np.concatenate(flows)
            record["dloss_dx_by_distance"] = [float(c) for c in stacked.mean(0)]
            record["probe_sequences"] = int(stacked.shape[0])
        self.records.append(record)
        with self.writer.as_default(step=epoch + 1):
            tf.summary.scalar("gradients/global_norm", record["global_norm"])
            for k, v in record["layer_norms"].items():
                tf.summary.scalar(f"gradients/{k}", v)
        tmp = self.work / "gradients.json.tmp"   # whole or not at all, as train_state.json
        tmp.write_text(json.dumps(self.records))
        os.replace(tmp, self.work / "gradients.json")
        plot_gradient_flow(self.records, self.work / "gradient_flow.png")


def plot_gradient_flow(records: list[dict], path: Path, label: str = "") -> None:
    """Left: ||dL_last / dx_t|| by distance from the last step, one curve an epoch coloured
    by epoch (only when the task has per-step targets and a curve has something to draw);
    right: the gradient norms per layer, their legend beside the axes, off the data."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.ticker import MaxNLocator

    curves = [r for r in records if np.any(np.asarray(r.get("dloss_dx_by_distance") or [0.0]) > 0)]
    fig = _figure(figsize=(12, 4.2) if curves else (7.5, 4.2), layout="constrained")
    fig.get_layout_engine().set(wspace=0.06)
    axes = fig.subplots(1, 2 if curves else 1, squeeze=False)[0]
    if curves:
        cmap = colormaps["viridis"]
        first, last = curves[0]["epoch"], curves[-1]["epoch"]
        norm = Normalize(first, max(last, first + 1))
        for r in curves:
            ys = np.array(r["dloss_dx_by_distance"], dtype=float)
            ys[ys <= 0] = np.nan                   # a log axis cannot show zeros
            axes[0].semilogy(np.arange(len(ys)), ys, color=cmap(norm(r["epoch"])), lw=1.2)
        axes[0].set(xlabel="steps before the last token", ylabel="||dL_last / dx_t||",
                    title=f"Gradient flow through the recurrent encoder {label}".strip())
        bar = fig.colorbar(ScalarMappable(norm, cmap), ax=axes[0], pad=0.01)
        bar.set_label("epoch (0: at initialisation)")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
    ax = axes[-1]
    epochs = [r["epoch"] for r in records]
    layers = list(dict.fromkeys(k for r in records for k in r["layer_norms"]))
    for n, layer in enumerate(layers):
        # a marker and dash of its own: by colour alone (tab10) layers 3 and 4 were green / red
        ax.semilogy(epochs, [r["layer_norms"].get(layer, np.nan) for r in records],
                    marker=MARKERS[n % len(MARKERS)], ls=("-", "--", ":")[n // len(MARKERS) % 3],
                    markersize=3.5, label=layer)
    ax.semilogy(epochs, [r["global_norm"] for r in records], "k--", label="global")
    ax.set(xlabel="epoch (0: at initialisation)", ylabel="gradient norm (probe batches)",
           title="Gradient norms")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(epochs) == 1:
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
              ncols=2 if len(layers) > 14 else 1)
    fig.savefig(path, dpi=PICTURE_DPI)


def plot_history(history: list[dict], path, headline: str, best_epoch: int | None = None) -> None:
    """Training loss (left axis) and the validation metric (right axis) per epoch, the
    epoch that was kept marked; the legend sits below the axes, off the data."""
    if not history:
        return
    fig = _figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    epochs = [h["epoch"] for h in history]
    # a marker an epoch up to 30 epochs; past that they ran into one thick band (96 epochs)
    few = len(epochs) <= 30
    lines = ax.plot(epochs, [h.get("loss") for h in history], "b-o" if few else "b-",
                    label="training loss")
    ax.set(xlabel="epoch", ylabel="training loss")
    # whole epochs only: the default ticks read "2.5, 7.5, 17.5" epochs
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if len(epochs) == 1:      # one epoch: ticks read "0.945 ... 1.050" epochs
        ax.set_xlim(epochs[0] - 1, epochs[0] + 1)
    ax2 = ax.twinx()
    # dashed: the two curves differ in greyscale print too, with or without markers
    lines += ax2.plot(epochs, [h.get(f"val_{headline}") for h in history], "r--s" if few else "r--",
                      label=f"validation {headline}")
    ax.set_title(f"Training curve: loss and validation {headline} by epoch", fontsize=10)
    ax2.set_ylabel(f"validation {headline}", color="r")
    if best_epoch is not None:
        lines.append(ax.axvline(best_epoch, color="0.4", linestyle=":",
                                label=f"kept: epoch {best_epoch}"))
    fig.legend(lines, [ln.get_label() for ln in lines], loc="outside lower center",
               ncols=len(lines), fontsize=8)
    fig.savefig(path, dpi=PICTURE_DPI)
