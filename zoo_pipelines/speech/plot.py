"""What the acoustic model heard and where CTC put each token, drawn with matplotlib
(imported here only, on first use: the host stays numpy-only). `zoo predict speech-ctc
x.wav --plot s.png` calls Host.plot, which calls `plot_results`.

>>> import numpy as np, tempfile, os
>>> from zoo_pipelines.speech.host import Transcript
>>> r = Transcript({"text": "4", "tokens": ["4"], "seconds": 0.4})
>>> logits = np.full((10, 11), -5.0); logits[:, 0] = 5; logits[4:6, 5] = 9
>>> r.frames = {"features": np.zeros((40, 40), np.float32), "logits": logits}
>>> plot_results([r], os.path.join(tempfile.mkdtemp(), "s.png"), ["0"] + list("0123456789"),
...              0.04).name
's.png'
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.decoding import ctc_alignment, log_softmax
from zoo.errors import InputError
from zoo.options import PICTURE_DPI, Picture, check_output_file

from .features import HOP_MS

MAX_PICTURES = 4            # utterances drawn in one figure
STYLES = ("-", "--", ":", "-.")


def plot_results(results: list[dict], path: str | Path, labels: list[str], step: float,
                 titles: list[str] | None = None) -> Path:
    """Per result (at most MAX_PICTURES): the log-mel spectrogram with each token the greedy
    CTC path emits over its frames, and below it the posterior of those tokens and of
    blank frame by frame. `labels` names the logit columns (blank first), `step` is
    seconds per output frame; `titles` (e.g. file names) head each spectrogram."""
    from matplotlib.figure import Figure

    path = check_output_file(path, "plot")
    results = list(results)[:MAX_PICTURES]
    missing = [i for i, r in enumerate(results) if getattr(r, "frames", None) is None]
    if missing or not results:
        raise InputError("the picture needs results of predict() in this process (they keep "
                         "the features and CTC logits); results read back from JSON have none")
    titles = list(titles or [])
    fig = Figure(figsize=(10, 4.4 * len(results)), layout="constrained")
    rows = fig.subfigures(len(results), 1, squeeze=False)[:, 0]
    for k, (r, row) in enumerate(zip(results, rows)):
        title = titles[k] if k < len(titles) else (f"input {k}" if len(results) > 1 else "")
        draw(row, r, labels, step, title)
    fig.savefig(path, dpi=PICTURE_DPI)
    return Picture(path)


def draw(fig, result, labels: list[str], step: float, title: str = "") -> None:
    """The two panels of one result on `fig` (a Figure or SubFigure)."""
    from matplotlib.patheffects import withStroke

    feats = np.asarray(result.frames["features"], np.float32)
    logits = np.asarray(result.frames["logits"], np.float64)
    probs = np.exp(log_softmax(logits))
    seconds = feats.shape[0] * HOP_MS / 1000
    spans = ctc_alignment(logits.argmax(-1))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    top.imshow(feats.T, origin="lower", aspect="auto", cmap="magma",
               extent=(0, seconds, 0, feats.shape[1]))
    for token, first, last in spans:
        top.axvspan(first * step, (last + 1) * step, color="white", alpha=0.22, lw=0)
        # a dark outline: white alone vanished on the spectrogram's bright (loud) frames
        top.text((first + last + 1) * step / 2, feats.shape[1] * 0.97, labels[token], color="white",
                 ha="center", va="top", fontsize=12, weight="bold",
                 path_effects=[withStroke(linewidth=2.5, foreground="black")])
    top.set_ylabel("mel band")
    # the placeholder unquoted: "heard '(nothing recognised)'" read as words it heard
    said = repr(result["text"]) if result.get("text") else "nothing"
    top.set_title(f"{title + ': ' if title else ''}heard {said}"
                  f"  (log-mel spectrogram; shaded: where CTC emits each token)", fontsize=10)
    t = (np.arange(len(probs)) + 0.5) * step
    bottom.plot(t, probs[:, 0], color="0.6", lw=1.2, label="blank")
    for n, token in enumerate(sorted({s[0] for s in spans})):
        # a line style too: tokens told apart by colour alone were red / green ('2', '3')
        bottom.plot(t, probs[:, token], color=f"C{n % 10}", ls=STYLES[n % len(STYLES)], lw=1.5,
                    label=repr(labels[token]))
    for _, first, last in spans:
        bottom.axvspan(first * step, (last + 1) * step, color="orange", alpha=0.15, lw=0)
    bottom.set(xlabel="seconds", ylabel="posterior", ylim=(-0.02, 1.05), xlim=(0, seconds))
    bottom.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False,
                  ncols=1 if len(spans) < 12 else 2)
