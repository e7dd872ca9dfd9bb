"""The attention map of a summary, drawn with matplotlib (imported here only, on first
use: the host stays numpy-only).

>>> import tempfile, os
>>> r = {"summary": "a b", "tokens": ["a", "b"], "source_tokens": ["x", "y", "z"],
...      "attention": [[.8, .1, .1], [.1, .1, .8]]}
>>> plot_results([r], os.path.join(tempfile.mkdtemp(), "att.png")).name
'att.png'
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from zoo.errors import InputError
from zoo.options import PICTURE_DPI, Picture, check_output_file


def plot_results(results: list[dict], path: str | Path, max_source: int = 60,
                 max_summary: int = 40) -> Path:
    """Attention map of the first result (the first `max_summary` summary subwords x the
    first `max_source` source subwords) as a PNG; predict with `attention=True` (`--attention true`)."""
    from matplotlib.figure import Figure

    path = check_output_file(path, "plot")
    r = results[0]
    if "attention" not in r:
        raise InputError("the attention map needs predict(..., attention=True) "
                         "(zoo predict ... --attention true --plot FILE)")
    att = np.asarray(r["attention"])[:max_summary, :max_source]
    src, out = r["source_tokens"][:max_source], r["tokens"][:max_summary]
    # as wide as the source and as tall as the summary, within bounds: a 96-subword summary
    # of a one-word source was a 660 x 3,278 strip whose title ran off its right edge
    fig = Figure(figsize=(max(6, 0.22 * len(src) + 2), max(2.5, 0.3 * len(out) + 1.5)))
    ax = fig.add_subplot()
    shown = ax.imshow(att, cmap="Greys", aspect="auto", vmin=0, vmax=1)   # black: all of it
    fig.colorbar(shown, ax=ax, pad=0.01, fraction=0.04).set_label("attention weight")
    ax.set_xticks(range(len(src)), src, rotation=90, fontsize=8)
    ax.set_yticks(range(len(out)), out, fontsize=8)
    ax.set_xlabel(f"source subwords{cut(len(src), len(r['source_tokens']))}")
    ax.set_ylabel(f"summary subwords{cut(len(out), len(r['tokens']))}")
    ax.set_title(textwrap.shorten(f"attention of each summary subword over the source: "
                                  f"{r['summary']}", int(12 * fig.get_figwidth()),
                                  placeholder=" …"), fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=PICTURE_DPI)
    return Picture(path)


def cut(shown: int, total: int) -> str:
    """What an axis label adds when the map leaves subwords out."""
    return f" (first {shown} of {total})" if shown < total else ""
