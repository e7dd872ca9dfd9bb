"""The pictures every application draws, checked where no eyes are needed: what each says it
shows (titles, labels, colour bars), text inside the figure and not overlapping, fonts of
at least 8 pt, colour-blind-safe distinctions (a marker or dash besides the colour), and
one DPI for all. No model is loaded: each plot function is fed a result by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from zoo.options import PICTURE_DPI as DPI

LONG = "Consolidated International Holdings and Trading Company of Somewhere Ltd"


@pytest.fixture
def drawn(monkeypatch):
    """The figures saved during a test (the plot functions write files, not return them)."""
    figs, save = [], Figure.savefig

    def keep(fig, *a, **k):
        figs.append(fig)
        return save(fig, *a, **k)

    monkeypatch.setattr(Figure, "savefig", keep)
    return figs


def renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    return FigureCanvasAgg(fig).get_renderer()


def inside(fig, text) -> bool:
    box, page = text.get_window_extent(renderer(fig)), fig.bbox
    return box.x0 >= page.x0 - 1 and box.x1 <= page.x1 + 1


def no_overlap(fig, labels) -> bool:
    r = renderer(fig)
    boxes = [t.get_window_extent(r) for t in labels if t.get_text()]
    return not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:]))


def dpi(path) -> int:
    return round(Image.open(path).info["dpi"][0])


def forecast_table(name="AAA", flat=False, n=120):
    dates = pd.bdate_range("2021-01-01", periods=n + 5)
    close = np.full(n, 100.0) if flat else 100 + np.cumsum(np.random.default_rng(0).normal(0, 1, n))
    last = close[-1]
    df = pd.DataFrame({"date": dates[n:], "forecast": last, "q0.1": last - 1, "q0.9": last + 1,
                       "q0.25": last - .5, "q0.75": last + .5, "series": name})
    df.attrs["history"] = {"dates": dates[:n], "close": close}
    return df


def test_fan_chart_of_a_flat_series_shows_prices_not_an_offset(tmp_path, drawn):
    """A flat series read '0.00' under a '+1e2' offset; a long name ran off the figure."""
    from zoo_pipelines.forecasting.plot import fan_chart

    png = fan_chart([forecast_table(LONG, flat=True)], tmp_path / "fan.png")
    fig = drawn[0]
    ax = fig.axes[0]
    renderer(fig)
    fig.canvas.draw()
    assert ax.yaxis.get_offset_text().get_text() == ""
    assert any(t.get_text().startswith("100") for t in ax.get_yticklabels())
    assert inside(fig, ax.title) and ax.get_ylabel() == "closing price"
    assert ax.get_title().startswith(LONG[:39] + "…: 5-day")
    assert dpi(png) == DPI and png.stat().st_size < 1_000_000


def test_speech_picture_says_nothing_was_heard_and_tells_tokens_apart(tmp_path, drawn):
    """'heard '(nothing recognised)'' quoted a placeholder as speech; tokens differed by
    colour alone (red / green); white digits vanished on loud frames."""
    from zoo_pipelines.speech.host import Transcript
    from zoo_pipelines.speech.plot import plot_results

    labels = ["_"] + list("0123456789")
    quiet = Transcript({"text": "", "tokens": [], "seconds": 0.4})
    quiet.frames = {"features": np.zeros((40, 40), np.float32), "logits": np.eye(11)[[0] * 10] * 9}
    said = Transcript({"text": "1 2 3", "tokens": ["1", "2", "3"], "seconds": 0.4})
    said.frames = {"features": np.zeros((40, 40), np.float32),
                   "logits": np.eye(11)[[0, 2, 2, 0, 3, 0, 0, 4, 0, 0]] * 9}
    png = plot_results([quiet, said], tmp_path / "s.png", labels, 0.04)
    titles = [ax.get_title() for ax in drawn[0].get_axes() if ax.get_title()]
    assert "heard nothing" in titles[0] and "'(nothing" not in titles[0]
    assert "heard '1 2 3'" in titles[1]
    posterior = drawn[0].get_axes()[-1]
    styles = [(ln.get_color(), ln.get_linestyle()) for ln in posterior.get_lines()[1:]]
    assert len({s for _, s in styles}) == len(styles) == 3         # one dash per token
    digit = next(t for t in drawn[0].get_axes()[-2].texts if t.get_text() == "1")
    assert digit.get_path_effects()                                  # outlined
    assert dpi(png) == DPI


def test_summary_attention_map_is_bounded_titled_and_has_a_scale(tmp_path, drawn):
    """A 96-subword summary of a one-word source was a 660 x 3,278 strip whose title ran
    off its edge; source ticks were 7 pt; nothing said what black meant."""
    from zoo_pipelines.summarization.plot import plot_results

    long = {"summary": " ".join(["rates"] * 96), "tokens": ["rates"] * 96,
            "source_tokens": ["rates"], "attention": np.ones((96, 1)).tolist()}
    png = plot_results([long], tmp_path / "a.png")
    fig = drawn[0]
    w, h = Image.open(png).size
    assert h <= 1600 and w >= 600 and dpi(png) == DPI
    ax, bar = fig.axes
    assert inside(fig, ax.title) and "(first 40 of 96)" in ax.get_ylabel()
    assert bar.get_ylabel() == "attention weight" and ax.images[0].get_cmap().name == "Greys"
    wide = {"summary": "a b", "tokens": ["a", "b"], "source_tokens": ["interest"] * 70,
            "attention": np.full((2, 70), 1 / 70).tolist()}
    plot_results([wide], tmp_path / "b.png")
    ax = drawn[1].axes[0]
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= 8
    assert no_overlap(drawn[1], ax.get_xticklabels()) and "(first 60 of 70)" in ax.get_xlabel()


def test_caption_attention_says_what_it_shows_at_any_width(tmp_path, drawn):
    from zoo_pipelines.captioning.plot import plot_results

    one = {"caption": "dog", "words": ["dog"], "attention": np.ones((1, 7, 7)).tolist()}
    png = plot_results([one], tmp_path / "c.png", images=[np.zeros((32, 48, 3), np.uint8)])
    fig = drawn[0]
    assert "bright: attended" in fig._suptitle.get_text() and inside(fig, fig._suptitle)
    assert dpi(png) == DPI


def test_training_pictures_tell_lines_apart_without_colour(tmp_path, drawn):
    """Gradient norms of 7+ layers told apart by colour alone (green / red among them),
    legend at 7 pt; the training curve had no title and two solid lines past 30 epochs."""
    from zoo.monitor import plot_gradient_flow, plot_history

    records = [{"epoch": e, "global_norm": 1.0, "layer_norms": {f"l{k}": k + 1.0 for k in range(9)}}
               for e in range(3)]
    plot_gradient_flow(records, tmp_path / "g.png")
    ax = drawn[0].axes[-1]
    looks = {(ln.get_marker(), ln.get_linestyle()) for ln in ax.get_lines()}
    assert len(looks) == len(ax.get_lines()) == 10
    assert min(t.get_fontsize() for t in ax.get_legend().get_texts()) >= 8
    plot_history([{"epoch": e, "loss": 1 / e, "val_f1": e / 50} for e in range(1, 41)],
                 tmp_path / "c.png", "f1", best_epoch=30)
    ax = drawn[1].axes[0]
    assert "validation f1" in ax.get_title()
    assert drawn[1].axes[1].get_lines()[0].get_linestyle() == "--"
    assert dpi(tmp_path / "g.png") == dpi(tmp_path / "c.png") == DPI
    plot_history([{"epoch": 1, "loss": 1.0, "val_f1": 0.5}], tmp_path / "one.png", "f1")
    assert [t for t in drawn[2].axes[0].get_xticks() if t % 1] == []    # whole epochs


def test_piano_roll_shares_the_dpi(tmp_path):
    from zoo_pipelines.music.plot import piano_roll

    png = piano_roll(np.zeros((16, 88)), tmp_path / "r.png", primer_steps=8)
    assert dpi(png) == DPI


def test_a_plot_is_a_path_a_notebook_shows_as_the_picture(tmp_path):
    # `f.host().plot(frames, "fan.png")` as a cell's last line showed PosixPath('fan.png')
    from IPython.core.formatters import DisplayFormatter

    from zoo_pipelines.forecasting.plot import fan_chart

    picture = fan_chart([forecast_table()], tmp_path / "fan.png")
    shown, _ = DisplayFormatter().format(picture)
    assert picture == tmp_path / "fan.png" and picture.read_bytes()[:4] == b"\x89PNG"
    assert shown["image/png"] == picture.read_bytes()
    svg = fan_chart([forecast_table()], tmp_path / "fan.svg")
    assert "<svg" in DisplayFormatter().format(svg)[0]["image/svg+xml"]
