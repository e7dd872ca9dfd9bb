"""Attention maps of predicted captions, drawn with matplotlib (imported here only, on
first use: the host stays numpy + Pillow).

>>> import numpy as np
>>> fig = plot(np.zeros((8, 8, 3), np.uint8), {"caption": "a", "words": ["a"],
...            "attention": np.ones((1, 2, 2)).tolist()})
>>> len(fig.axes)
2
"""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from zoo.options import PICTURE_DPI, Picture, check_output_file

from .host import open_image

HEADING = "Caption attention: where the model looked for each word (bright: attended)"


def plot(image, result: dict, columns: int = 5):
    """A matplotlib Figure: the image, then one panel per word with the attention over the
    feature grid upsampled onto the image (bright = attended). `image` is anything
    predict() takes (None: the attention alone); `result` one of predict()'s results."""
    from matplotlib.figure import Figure

    cols = min(columns, len(result["words"]) + 1)
    rows = rows_for(result, cols)
    fig = Figure(figsize=(2.2 * cols, 2.4 * rows))
    draw_attention(fig, (rows, cols, 0), image, result, cols)
    heading(fig)
    fig.tight_layout()
    return fig


def plot_results(results: list[dict], path: str | Path, images: list | None = None) -> Path:
    """`zoo predict ... --plot out.png`: attention maps of up to 6 results, one row each;
    the image comes from `images` or from each result's "source" path."""
    from matplotlib.figure import Figure

    path = check_output_file(path, "plot")
    results = results[:6]
    images = images or [r.get("source") for r in results]
    cols = min(6, 1 + max(len(r["words"]) for r in results))
    rows = sum(rows_for(r, cols) for r in results)
    fig = Figure(figsize=(2.0 * cols, 2.3 * rows))
    row = 0
    for r, image in zip(results, images):
        row += draw_attention(fig, (rows, cols, row * cols), image, r, cols)
    heading(fig)
    fig.tight_layout()
    fig.savefig(path, dpi=PICTURE_DPI)
    return Picture(path)


def heading(fig) -> None:
    """What the grey panels are, without the README, wrapped to the figure's width (a
    one-word caption's figure is 4 inches wide)."""
    fig.suptitle(textwrap.fill(HEADING, int(12 * fig.get_figwidth())), fontsize=10)


def rows_for(result: dict, cols: int) -> int:
    """Rows of panels one result takes: the image in the first column, its words in the
    others (a long caption's words go on in rows whose first column stays empty, so they
    do not read as the next result)."""
    return max(1, -(-len(result["words"]) // max(cols - 1, 1)))


def draw_attention(fig, grid: tuple, image, result: dict, cols: int) -> int:
    """Panels for one result on `fig` from panel grid[2] on (grid = rows, cols, start);
    returns the number of rows used (`rows_for`)."""
    from PIL import Image

    rows, _, start = grid
    img = open_image(image, "image") if image is not None else None
    words, att = result["words"], np.asarray(result["attention"], np.float32)
    ax = fig.add_subplot(rows, cols, start + 1)
    if img is not None:
        ax.imshow(img)
    ax.set_title(textwrap.fill(result.get("caption", ""), 26), fontsize=8)   # no clipping
    ax.axis("off")
    for i, word in enumerate(words):
        row, col = divmod(i, max(cols - 1, 1))
        ax = fig.add_subplot(rows, cols, start + row * cols + col + 2)
        a = att[i] / max(float(att[i].max()), 1e-9)
        if img is None:
            ax.imshow(a, cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(img)
            up = np.asarray(Image.fromarray((a * 255).astype(np.uint8)).resize(
                img.size, Image.Resampling.BILINEAR), np.float32) / 255
            ax.imshow(up, cmap="gray", alpha=0.6,
                      extent=(-0.5, img.size[0] - 0.5, img.size[1] - 0.5, -0.5))
        ax.set_title(word, fontsize=9)
        ax.axis("off")
    return rows_for(result, cols)
