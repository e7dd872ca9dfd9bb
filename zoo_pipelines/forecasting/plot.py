"""Fan charts of forecasts (matplotlib, imported here only: `zoo predict forecast-lstm
prices.csv --plot fan.png` calls Host.plot, which calls this)."""
from __future__ import annotations

from pathlib import Path

from zoo.options import PICTURE_DPI, Picture, check_output_file


def fan_chart(results: list, path: str | Path, history: int = 120) -> Path:
    """The last `history` closes, the median and the 50 % / 80 % bands of each forecast
    table (at most 6), one panel each, written to `path`."""
    import pandas as pd
    from matplotlib.figure import Figure

    path = check_output_file(path, "plot")
    n = min(len(results), 6)
    fig = Figure(figsize=(9, 2.6 * n))
    for k, df in enumerate(results[:n]):
        ax = fig.add_subplot(n, 1, k + 1)
        hist = df.attrs["history"]
        ax.plot(hist["dates"][-history:], hist["close"][-history:], color="k", lw=1, label="history")
        ax.fill_between(df["date"], df["q0.1"], df["q0.9"], alpha=0.25, color="C0", label="80 %")
        if "q0.25" in df:
            ax.fill_between(df["date"], df["q0.25"], df["q0.75"], alpha=0.4, color="C0", label="50 %")
        ax.plot(df["date"], df["forecast"], color="C0", lw=1.5, label="median")
        actual = df.attrs.get("actual")           # held-back closes (zoo demo), if known
        if actual:
            ax.plot(pd.to_datetime(actual["dates"]), actual["close"], "o", color="C3", ms=4,
                    label="what happened")
        # what the picture shows without the README: the series, the horizon, the units
        name = str(df["series"].iloc[0])
        name = name if len(name) <= 40 else name[:39] + "…"      # a long name ran off the figure
        ax.set_title(f"{name}: {len(df)}-day forecast, median with 50 % and 80 % bands")
        ax.set_ylabel("closing price")
        # prices as they are: a flat series read "0.00" under a "+1e2" offset
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.set_xlabel("date" if k == n - 1 else "")
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(path, dpi=PICTURE_DPI)
    return Picture(path)
