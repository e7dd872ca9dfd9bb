"""Forecasting host: price tables in, model windows out; quantiles back to prices.

Shared by the Keras predictor (zoo.model) and the TF-free runtime (zoo.runtime). It never
imports TensorFlow; pandas (for CSV / DataFrame input and DataFrame output) and
matplotlib (fan charts) are imported on first use.

A series is a dict `{"name": str, "dates": [ISO dates], "close": [floats],
"volume": [floats] or None}`; `series_from_table` builds them from a CSV or DataFrame in
long form (date, Name/ticker, close[, volume, ...]) or wide form (date + one column per
series). Policy for holes: a missing close is carried forward from the day before
(leading missing closes are dropped) and a warning says how many; dates are kept as
given (the model counts observations, not calendar days).

>>> import numpy as np
>>> h = Host({"window": 4, "horizon": 2, "quantiles": [0.1, 0.5, 0.9]})
>>> s = {"name": "X", "dates": ["2024-01-0%d" % d for d in range(1, 6)],
...      "close": [10, 11, 10.5, 10.8, 11.0]}
>>> {k: v.shape for k, v in h.encode([s]).units[0].items()}
{'window': (4, 10), 'context': (2,)}
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoo.errors import InputError

EMPTY_INPUT = {"name": "empty", "dates": [], "close": []}
N_FEATURES = 10            # log return, log volume, has-volume flag, weekday one-hot (7)
N_CONTEXT = 2              # see context()
LONG_RUN = 750             # trading days (about 3 years) of history summarised by context()
RETURN_CLIP = 0.25         # |log return| cap for inputs: unadjusted splits look like -70 %
DATE_COLUMNS = ("date", "datetime", "timestamp", "time", "day")
NAME_COLUMNS = ("name", "ticker", "symbol", "series", "id")


def features(close: np.ndarray, volume: np.ndarray | None, dates: np.ndarray) -> np.ndarray:
    """[n - 1, N_FEATURES] per-day inputs for days 1..n-1 (day 0 only anchors the return)."""
    r = np.clip(np.diff(np.log(close)), -RETURN_CLIP, RETURN_CLIP)
    n = len(r)
    volume = None if volume is None else np.maximum(np.asarray(volume, np.float64), 0)
    if volume is None or not volume.any():         # no volume: zeros and the flag off
        lv, has = np.zeros(n), np.zeros(n)
    else:
        lv, has = np.log1p(volume[1:]), np.ones(n)
    weekday = (dates[1:].astype("datetime64[D]").astype(np.int64) + 3) % 7   # Monday = 0
    return np.column_stack([r, lv, has, np.eye(7)[weekday]]).astype(np.float32)


def context(returns: np.ndarray, ends) -> np.ndarray:
    """[len(ends), N_CONTEXT] long-run facts the 64-day window cannot see, from the (clipped)
    returns before each end: log of their standard deviation over the last LONG_RUN days
    (volatility mean-reverts towards it) and their mean in percent (drift)."""
    ends = np.asarray(ends)
    c1 = np.concatenate([[0.0], np.cumsum(returns, dtype=np.float64)])
    c2 = np.concatenate([[0.0], np.cumsum(np.square(returns, dtype=np.float64))])
    starts = np.maximum(0, ends - LONG_RUN)
    n = ends - starts
    mean = (c1[ends] - c1[starts]) / n
    std = np.sqrt(np.maximum((c2[ends] - c2[starts]) / n - mean ** 2, 0))
    return np.column_stack([np.log(std + 1e-4) + 4.0, 100 * mean]).astype(np.float32)


def check_series(i, s: dict, min_len: int) -> dict:
    """Validated copy of one series dict (numpy arrays), or an InputError naming it."""
    if not isinstance(s, dict) or "close" not in s or "dates" not in s:
        raise InputError(f"input {i}: expected a CSV path, a DataFrame or a series dict with "
                         f"'dates' and 'close'; got {type(s).__name__}")
    name = s.get("name") or f"series {i}"
    close = np.asarray(s["close"], np.float64)
    if close.size == 0:
        raise InputError(f"input {i} ({name}): empty series; expected at least {min_len} prices")
    dates = np.asarray(s["dates"], "datetime64[D]")
    if len(dates) != len(close):
        raise InputError(f"input {i} ({name}): {len(dates)} dates but {len(close)} prices")
    close = _fill_forward(name, close)
    keep = ~np.isnan(close)
    close, dates = close[keep], dates[keep]
    volume = s.get("volume")
    if volume is not None:
        volume = np.nan_to_num(np.asarray(volume, np.float64)[keep], nan=0.0)
    if (close <= 0).any():
        bad = int(np.argmax(close <= 0))
        raise InputError(f"input {i} ({name}): non-positive price {close[bad]} on {dates[bad]}; "
                         f"prices must be > 0 (the model works on log returns)")
    if len(close) < min_len:
        raise InputError(f"input {i} ({name}): {len(close)} prices of history; the model needs "
                         f"at least {min_len} (a window of {min_len - 1} daily returns)")
    if (np.diff(dates.astype(np.int64)) <= 0).any():
        raise InputError(f"input {i} ({name}): dates must be strictly increasing")
    return {"name": name, "dates": dates, "close": close, "volume": volume,
            "eval_from": s.get("eval_from")}


def _fill_forward(name, close: np.ndarray) -> np.ndarray:
    holes = np.isnan(close)
    if not holes.any():
        return close
    first = np.argmax(~holes) if (~holes).any() else len(close)
    inner = int(holes[first:].sum())
    if inner:
        warnings.warn(f"{name}: {inner} missing closes carried forward from the previous day")
    idx = np.where(holes, 0, np.arange(len(close)))
    np.maximum.accumulate(idx, out=idx)
    out = close[idx]
    out[:first] = np.nan
    return out


def series_from_table(table, source: str = "input") -> list[dict]:
    """Series dicts from a CSV path or a pandas DataFrame (long or wide form)."""
    import pandas as pd

    if isinstance(table, (str, Path)):
        path = Path(table)
        if not path.is_file():
            raise InputError(f"{path}: no such file; expected a CSV of prices")
        try:
            table = pd.read_csv(path)
        except Exception as e:  # pandas raises several types for a bad file
            raise InputError(f"{path}: not a readable CSV ({type(e).__name__}: {e})") from None
        source = str(path)
    df = table.copy()
    cols = {c.lower().strip(): c for c in df.columns}
    date_col = next((cols[c] for c in DATE_COLUMNS if c in cols), None)
    if date_col is None:
        raise InputError(f"{source}: no date column; expected one named one of {DATE_COLUMNS}, "
                         f"got columns {list(df.columns)}")
    parsed = pd.to_datetime(df[date_col], errors="coerce")
    bad = parsed.isna() & df[date_col].notna()
    if bad.any() or parsed.isna().all():
        row = int(np.argmax(bad.to_numpy())) if bad.any() else 0
        raise InputError(f"{source}: cannot parse date {df[date_col].iloc[row]!r} in row {row + 2} "
                         f"(column {date_col!r}); expected dates like 2018-02-07")
    df[date_col] = parsed.dt.tz_localize(None) if parsed.dt.tz is not None else parsed
    name_col = next((cols[c] for c in NAME_COLUMNS if c in cols), None)
    close_col = cols.get("close") or cols.get("adj close") or cols.get("price")

    def one(name, part, price_col, volume_col=None):
        part = part.sort_values(date_col).drop_duplicates(date_col, keep="last")
        prices = pd.to_numeric(part[price_col], errors="coerce")
        vol = pd.to_numeric(part[volume_col], errors="coerce").to_numpy() if volume_col else None
        return {"name": str(name), "dates": part[date_col].dt.strftime("%Y-%m-%d").tolist(),
                "close": prices.to_numpy(np.float64).tolist(),
                "volume": None if vol is None else vol.tolist()}

    volume_col = cols.get("volume")
    if close_col is not None and name_col is not None:           # long form
        return [one(n, g, close_col, volume_col) for n, g in df.groupby(name_col, sort=True)]
    if close_col is not None:
        return [one(Path(source).stem, df, close_col, volume_col)]
    value_cols = [c for c in df.columns if c != date_col and pd.api.types.is_numeric_dtype(df[c])]
    if not value_cols:
        raise InputError(f"{source}: no 'close' column and no numeric series columns; expected "
                         f"long form (date, Name, close, ...) or wide form (date, one column "
                         f"per series)")
    return [one(c, df[[date_col, c]], c) for c in value_cols]


def _as_series_list(inputs) -> list:
    if isinstance(inputs, (str, Path)) or type(inputs).__name__ == "DataFrame":
        return series_from_table(inputs)
    if isinstance(inputs, dict):
        return [inputs]
    if not isinstance(inputs, (list, tuple)):
        raise InputError(f"predict() needs a CSV path, a DataFrame or a list of series; got "
                         f"{type(inputs).__name__}")
    out = []
    for item in inputs:
        if isinstance(item, (str, Path)) or type(item).__name__ == "DataFrame":
            out.extend(series_from_table(item))
        else:
            out.append(item)
    return out


def next_dates(dates: np.ndarray, n: int) -> np.ndarray:
    """The next `n` dates: business days if the history has no weekend dates, else days."""
    last = dates[-1]
    if ((dates.astype(np.int64) + 3) % 7 >= 5).any():
        return last + np.arange(1, n + 1)
    return np.busday_offset(last, np.arange(1, n + 1), roll="forward")


@dataclass
class Encoded:
    units: list            # {"window": [window, N_FEATURES]} per series
    series: list           # the checked series dicts
    horizon: int


class Host:
    """Series in; per-series forecast tables (pandas DataFrames) out."""

    def __init__(self, config: dict):
        self.config = config
        self.window, self.max_horizon = config["window"], config["horizon"]
        self.quantiles = list(config["quantiles"])

    def window_units(self, s: dict, ends) -> list[dict]:
        """Model inputs for forecasts made at the close of day index `ends` (each >= window)."""
        feats = features(s["close"], s["volume"], s["dates"])       # row j = day j + 1
        ctx = context(feats[:, 0], ends)
        return [{"window": feats[e - self.window:e], "context": c} for e, c in zip(ends, ctx)]

    def encode(self, inputs, horizon: int | None = None) -> Encoded:
        horizon = self.max_horizon if horizon is None else int(horizon)
        if not 1 <= horizon <= self.max_horizon:
            raise InputError(f"horizon must be between 1 and {self.max_horizon} steps; got {horizon}")
        items = _as_series_list(inputs)
        if not items:
            raise InputError("predict() needs a non-empty list of series (or a CSV / DataFrame "
                             "with at least one series); got none")
        series = [check_series(i, s, self.window + 1) for i, s in enumerate(items)]
        units = [self.window_units(s, [len(s["close"]) - 1])[0] for s in series]
        return Encoded(units, series, horizon)

    def to_prices(self, last_close: float, quantiles: np.ndarray) -> np.ndarray:
        """[h, Q] cumulative log-return quantiles -> prices."""
        return last_close * np.exp(quantiles.astype(np.float64))

    def decode(self, encoded: Encoded, outputs: list[dict]):
        import pandas as pd

        frames = []
        for s, out in zip(encoded.series, outputs):
            h = encoded.horizon
            prices = self.to_prices(s["close"][-1], out["quantiles"][:h])
            df = pd.DataFrame({"series": s["name"], "date": pd.to_datetime(next_dates(s["dates"], h)),
                               "forecast": prices[:, self.quantiles.index(0.5)]})
            for j, q in enumerate(self.quantiles):
                df[f"q{q:g}"] = prices[:, j]
            df.attrs["history"] = {"dates": s["dates"], "close": s["close"]}
            frames.append(df)
        return frames

    @staticmethod
    def agreement(a: list, b: list, rtol: float = 1e-3) -> float:
        """Fraction of forecast values (every date and quantile) within 0.1 % of each other."""
        pairs = [(x.filter(like="q").to_numpy(), y.filter(like="q").to_numpy()) for x, y in zip(a, b)]
        close = [np.abs(x - y) <= rtol * np.abs(y) for x, y in pairs if x.shape == y.shape]
        return float(np.concatenate([c.ravel() for c in close]).mean()) if close else 0.0

    def describe(self, result) -> str:
        last, hist = result.iloc[-1], result.attrs["history"]
        return (f"{last['series']}: last close {hist['close'][-1]:.2f} on {hist['dates'][-1]}; "
                f"{len(result)} steps ahead ({last['date']:%Y-%m-%d}): median {last['forecast']:.2f}, "
                f"80 % interval {last['q0.1']:.2f} - {last['q0.9']:.2f}")

    def plot(self, results: list, path: str | Path, history: int = 120) -> Path:
        """Fan chart: the last `history` closes, the median and the 50 % / 80 % bands."""
        from matplotlib.figure import Figure

        n = min(len(results), 6)
        fig = Figure(figsize=(8, 2.6 * n))
        for k, df in enumerate(results[:n]):
            ax = fig.add_subplot(n, 1, k + 1)
            hist = df.attrs["history"]
            ax.plot(hist["dates"][-history:], hist["close"][-history:], color="k", lw=1, label="history")
            ax.fill_between(df["date"], df["q0.1"], df["q0.9"], alpha=0.25, color="C0", label="80 %")
            if "q0.25" in df:
                ax.fill_between(df["date"], df["q0.25"], df["q0.75"], alpha=0.4, color="C0", label="50 %")
            ax.plot(df["date"], df["forecast"], color="C0", lw=1.5, label="median")
            ax.set_title(str(df["series"].iloc[0]))
            ax.legend(loc="upper left", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        return Path(path)
