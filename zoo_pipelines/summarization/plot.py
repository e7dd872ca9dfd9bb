"""The attention map of a summary, drawn with matplotlib (imported here only, on first
use: the host stays numpy-only).

>>> import tempfile, os
>>> r = {"summary": "a b", "tokens": ["a", "b"], "source_tokens": ["x", "y", "z"],
...      "attention": [[.8, .1, .1], [.1, .1, .8]]}
>>> plot_results([r], os.path.join(tempfile.mkdtemp(), "att.png")).name
'att.png'
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.errors import InputError
from zoo.options import check_output_file


def plot_results(results: list[dict], path: str | Path, max_source: int = 60) -> Path:
    """Attention map of the first result (summary subwords x the first `max_source`
    source subwords) as a PNG; predict with `attention=True` (`--attention true`)."""
    from matplotlib.figure import Figure

    path = check_output_file(path, "plot")
    r = results[0]
    if "attention" not in r:
        raise InputError("the attention map needs predict(..., attention=True) "
                         "(zoo predict ... --attention true --plot FILE)")
    att = np.asarray(r["attention"])[:, :max_source]
    src = r["source_tokens"][:max_source]
    fig = Figure(figsize=(max(6, 0.22 * len(src)), max(2.5, 0.3 * len(r["tokens"]) + 1)))
    ax = fig.add_subplot()
    ax.imshow(att, cmap="Greys", aspect="auto", vmin=0)
    ax.set_xticks(range(len(src)), src, rotation=90, fontsize=7)
    ax.set_yticks(range(len(r["tokens"])), r["tokens"], fontsize=8)
    ax.set_xlabel("source subwords")
    ax.set_ylabel("summary subwords")
    ax.set_title(f"attention: {r['summary'][:80]}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path
