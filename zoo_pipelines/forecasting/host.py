"""Forecasting host: price tables in, model windows out; quantiles back to prices.

Shared by the Keras predictor (zoo.model) and the TF-free runtime (zoo.runtime). It never
imports TensorFlow; pandas (for CSV / DataFrame input and DataFrame output) and
matplotlib (fan charts, zoo_pipelines/forecasting/plot.py) are imported on first use.
Series dicts, and how CSV files and DataFrames become series (the policy for holes and
bad values), are zoo_pipelines/forecasting/series.py.

>>> import numpy as np
>>> h = Host({"window": 4, "horizon": 2, "quantiles": [0.1, 0.5, 0.9]})
>>> s = {"name": "X", "dates": ["2024-01-0%d" % d for d in range(1, 6)],
...      "close": [10, 11, 10.5, 10.8, 11.0]}
>>> {k: v.shape for k, v in h.encode([s]).units[0].items()}
{'window': (4, 10), 'context': (2,)}
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

import numpy as np

from zoo import contract
from zoo.errors import InputError, warn
from zoo.options import as_batch, check_unicode

from .series import check_series, read_csv, series_from_table

EMPTY_INPUT = {"name": "empty", "dates": [], "close": []}
SERIES_KEYS = ("dates", "close", "volume", "name", "eval_from")     # series.check_series reads
N_FEATURES = 10            # log return, log volume, has-volume flag, weekday one-hot (7)
N_CONTEXT = 2              # see context()
LONG_RUN = 750             # trading days (about 3 years) of history summarised by context()
RETURN_CLIP = 0.25         # |log return| cap for inputs: unadjusted splits look like -70 %
GAP_DAYS = 14              # days between two closes: past any market's holidays (9/11: 6)
SPLIT_LIKE = np.log(1.8)    # a daily |log return| this large is warned of: 2:1 splits and up


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


def is_table(item) -> bool:
    """A CSV path or a DataFrame: one or more series."""
    return isinstance(item, (str, Path)) or type(item).__name__ == "DataFrame"


def is_closes(item) -> bool:
    """A pandas Series of closes indexed by date: yfinance's df["Close"], a CSV's
    df.set_index("date")["close"]."""
    return type(item).__name__ == "Series" and getattr(item.dtype, "kind", "") in "iuf"


def closes_series(i: int, item) -> dict:
    """The series dict of a Series of closes (is_closes): its index is the dates."""
    if item.index.dtype.kind in "iuf":      # a RangeIndex: "0 at position 0 is not a date"
        raise InputError(f"input {i}: a Series of closes numbered 0, 1, ...; expected its dates "
                         f"as its index (df.set_index('date')['close'])")
    name = item.name if isinstance(item.name, str) and \
        item.name.lower() not in ("close", "adj close") else None     # a column, no ticker
    return {"dates": list(item.index), "close": item.to_numpy(), "name": name}


def is_one_input(inputs) -> bool:
    """A table, a series dict or a Series of closes passed alone (not in a list); a numeric
    numpy array too, refused as one series without dates (as_batch read it as prices,
    each one "got float")."""
    return is_table(inputs) or isinstance(inputs, dict) or is_closes(inputs) or \
        (isinstance(inputs, np.ndarray) and inputs.dtype != object)


# A history's step coarser than a trading day: (name, months per step or None, least days)
STEPS = (("yearly", 12, 300), ("quarterly", 3, 80), ("monthly", 1, 25), ("weekly", None, 5))


def step(dates: np.ndarray) -> tuple[str, int | None, int] | None:
    """The history's step where it is coarser than daily (the median gap between its last
    dates: 5 days and more is no week of trading days), else None.

    >>> step(np.arange("2024-01-01", "2024-06-01", 7, dtype="datetime64[D]"))
    ('weekly', None, 7)
    >>> step(np.arange("2024-01", "2025-01", dtype="datetime64[M]").astype("datetime64[D]"))[:2]
    ('monthly', 1)
    """
    if len(dates) < 2:
        return None
    gap = int(np.median(np.diff(dates[-LONG_RUN:].astype("datetime64[D]").astype(np.int64))))
    return next(((name, months, gap) for name, months, least in STEPS if gap >= least), None)


def next_dates(dates: np.ndarray, n: int) -> np.ndarray:
    """The next `n` dates: business days if the history has no weekend dates, else days;
    a weekly, monthly, ... history's next `n` steps (the model counts rows, so its step is
    the history's: weekly closes were dated the next n business days)."""
    last, ahead = dates[-1], np.arange(1, n + 1)
    weekends = ((dates.astype(np.int64) + 3) % 7 >= 5).any()
    coarse = step(dates)
    if coarse and coarse[1]:          # whole months on, at the history's day of the month
        month = last.astype("datetime64[M]")
        ends = (month + ahead * coarse[1] + 1).astype("datetime64[D]") - 1
        month_end = last == (month + 1).astype("datetime64[D]") - 1 or not weekends and (
            last >= (month + 1).astype("datetime64[D]") - 3)        # (a trading month's end)
        day = last - month.astype("datetime64[D]")            # of the month, from 0
        out = ends if month_end else np.minimum(
            (month + ahead * coarse[1]).astype("datetime64[D]") + day, ends)
        return out if weekends else np.busday_offset(out, 0, roll="preceding" if month_end
                                                     else "forward")
    if coarse:
        return last + ahead * coarse[2]
    if weekends:
        return last + ahead
    return np.busday_offset(last, ahead, roll="forward")


@dataclass
class Encoded:
    units: list            # {"window": [window, N_FEATURES]} per series
    series: list           # the checked series dicts
    horizon: int
    inputs: list           # the input each came from (a CSV or table may hold several)


class Host(contract.Host):
    """Series in; per-series forecast tables (pandas DataFrames) out."""

    OPTION_BOUNDS = {"horizon": "1..the model's horizon (forecast-lstm: 10; default: all of it)"}

    def __init__(self, config: dict):
        self.config = config
        self.window, self.max_horizon = config["window"], config["horizon"]
        self.quantiles = list(config["quantiles"])
        # GARCH(1,1)-t dynamics and per-quantile weights (evaluate.calibrate_garch_blend):
        # the quantiles are w * the LSTM's + (1 - w) * GARCH's. Absent: the LSTM's alone.
        self.garch_blend = config.get("garch_blend")

    def blend(self, s: dict, ends, quantiles: np.ndarray) -> np.ndarray:
        """[len(ends), H, Q] model quantiles for forecasts made at day index `ends`, blended
        with the pooled GARCH filter's (garch.filter_quantiles: numpy, no `arch`), in
        increasing order (Chernozhukov et al. 2010's rearrangement): on a degenerate series
        (a steady drift) they crossed, an 80 % band of 108.05 to 108.04. None crossed in
        the 47,500 report and 455,380 valid forecasts, so no recorded number moves."""
        if self.garch_blend:
            from .garch import filter_quantiles

            g = filter_quantiles(s["close"], ends, self.garch_blend, quantiles.shape[1])
            w = np.asarray(self.garch_blend["weights"])
            quantiles = (w * quantiles + (1 - w) * g).astype(quantiles.dtype)
        return np.sort(quantiles, axis=-1)

    def window_units(self, s: dict, ends) -> list[dict]:
        """Model inputs for forecasts made at the close of day index `ends` (each >= window)."""
        feats = features(s["close"], s["volume"], s["dates"])       # row j = day j + 1
        ctx = context(feats[:, 0], ends)
        return [{"window": feats[e - self.window:e], "context": c} for e, c in zip(ends, ctx)]

    def encode(self, inputs, horizon: int | None = None) -> Encoded:
        horizon = self.max_horizon if horizon is None else horizon
        if (isinstance(horizon, bool) or not isinstance(horizon, Integral)
                or not 1 <= horizon <= self.max_horizon):
            raise InputError(f"horizon must be between 1 and {self.max_horizon} steps (the "
                             f"model's horizon); got {horizon!r}")
        horizon = int(horizon)
        items, origins = [], []
        for k, item in enumerate(as_batch(inputs, is_one_input, "series (dicts), CSV paths, "
                                          "DataFrames or Series of closes indexed by date")):
            found = (series_from_table(item) if is_table(item) else
                     [closes_series(k, item) if is_closes(item) else item])
            items.extend(found)
            # messages name the user's input K and the series: "input 1 (MSFT)" (they
            # counted the series, "input 2" of two CSV files)
            origins.extend([k] * len(found))
        series = [check_series(i, s, self.window + 1) for i, s in zip(origins, items)]
        for i, s in zip(origins, series):   # pandas (pyarrow) failed on it in decode
            check_unicode(s["name"], f"input {i}: name")
            self.split_warning(i, s)
            coarse = step(s["dates"][-self.window - 1:])
            if coarse:       # weekly closes were read as daily ones without a word
                warn(f"input {i} ({s['name']:.60}): the dates are {coarse[0]} (a "
                     f"median of {coarse[2]} days apart); the model was trained on "
                     f"daily closes and reads each row as one trading day: its "
                     f"forecast is the next {horizon} rows, dated {coarse[0]}")
            else:
                self.gap_warning(i, s)
        units = [self.window_units(s, [len(s["close"]) - 1])[0] for s in series]
        return Encoded(units, series, horizon, origins)

    def gap_warning(self, i: int, s: dict) -> None:
        """Warn of a stretch of daily closes missing in the window (a hole of months in a
        download): the move across it was read as one trading day's, without a word."""
        days = np.diff(s["dates"][-self.window - 1:].astype("datetime64[D]").astype(np.int64))
        if len(days) and days.max() > GAP_DAYS:
            k = int(np.argmax(days))
            since = s["dates"][-len(days) - 1:][k].astype("datetime64[D]")
            warn(f"input {i} ({s['name']:.60}): no close for {days[k]} days after "
                 f"{since}; the model reads the move across them as one trading "
                 f"day's (give the closes in between)")

    def split_warning(self, i: int, s: dict) -> None:
        """Warn of a daily move in the window that looks like a stock split: unadjusted
        closes read a 2:1 split as a -50 % day (clipped to -22 % in the inputs; the GARCH
        part's volatility took it whole), and the forecast's bands widen for weeks."""
        r = np.diff(np.log(s["close"][-self.window - 1:]))
        big = np.flatnonzero(np.abs(r) >= SPLIT_LIKE)
        if len(big):
            k = int(big[-1])
            ratio = np.exp(-r[k]) if r[k] < 0 else np.exp(r[k])
            day = s["dates"][-len(r) - 1:][k + 1]
            warn(f"input {i} ({s['name']:.60}): the close moved {np.expm1(r[k]):+.0%} "
                 f"on {day} (a {ratio:.0f}:1 {'split' if r[k] < 0 else 'reverse split'}?"
                 f"); the model reads it as a real move: give split-adjusted closes "
                 f"(Yahoo's 'Close' or 'Adj Close')")

    def to_prices(self, last_close: float, quantiles: np.ndarray) -> np.ndarray:
        """[h, Q] cumulative log-return quantiles -> prices."""
        with np.errstate(over="ignore"):        # checked in decode
            return last_close * np.exp(quantiles.astype(np.float64))

    def decode(self, encoded: Encoded, outputs: list[dict]):
        import pandas as pd

        frames = []
        for k, s, out in zip(encoded.inputs, encoded.series, outputs):
            h = encoded.horizon
            q = self.blend(s, [len(s["close"]) - 1], out["quantiles"][None])[0]
            prices = self.to_prices(s["close"][-1], q[:h])
            if not np.isfinite(prices).all():
                # prices jumping by factors of 1e300 a day: the GARCH part's spread (raw
                # returns, not clipped as the LSTM's inputs are) overflowed to inf
                move = float(np.abs(np.diff(np.log(s["close"]))).max())
                raise InputError(f"input {k} ({s['name']:.60}): the forecast is not a finite "
                                 f"number (its largest daily move is a factor of e^{move:.0f}); "
                                 f"expected prices on one scale")
            df = pd.DataFrame({"series": s["name"], "date": pd.to_datetime(next_dates(s["dates"], h)),
                               "forecast": prices[:, self.quantiles.index(0.5)]})
            for j, q in enumerate(self.quantiles):
                df[f"q{q:g}"] = prices[:, j]
            df.attrs["history"] = {"dates": s["dates"], "close": s["close"]}
            frames.append(df)
        return frames

    def from_json(self, i: int, item):
        """`zoo serve`'s JSON (the contract's hook): a series dict, or one series as
        {"csv": "date,close\\n..."} or {"rows": [{"date": ..., "close": ...}]} (with an
        optional "name"), or a CSV file as bytes (sent as {"b64": ...}); never a file name.
        The table reader checks every price."""
        if isinstance(item, (bytes, bytearray)):
            try:
                item = {"csv": item.decode("utf-8-sig")}
            except UnicodeDecodeError as e:
                raise InputError(f"input {i}: the CSV file is not UTF-8 text ({e.reason} at "
                                 f"byte {e.start}); expected UTF-8 (latin-1 and others: save "
                                 f"it as UTF-8)") from None
        if isinstance(item, str):
            from zoo.webio import no_file_names

            raise no_file_names(i, "a CSV file", ', {"csv": "date,close\\n..."} or a series dict')
        if isinstance(item, dict):
            # an unknown key ("nmae", "volumne") was dropped without a word
            form, keys = (("a table", ("csv", "rows", "name")) if "csv" in item or "rows" in item
                          else ("a series dict", SERIES_KEYS))
            extra = set(item) - set(keys) or ({"csv", "rows"} <= set(item) and {"rows"})
            if extra:
                raise InputError(f"input {i}: unknown key(s) {', '.join(sorted(map(repr, extra)))} "
                                 f"for {form}; expected {', '.join(keys)}"
                                 + ("" if form == "a table" else " (or a table as csv or rows)"))
            if not isinstance(item.get("name", ""), str):
                raise InputError(f"input {i}: \"name\" must be a string; got "
                                 f"{type(item['name']).__name__}")
        if not (isinstance(item, dict) and ("csv" in item or "rows" in item)):
            # an unnamed series is named by its place in the request, as predict() names it,
            # not by its place in a batch `zoo serve` merged it into ("series 3")
            return {**item, "name": item.get("name") or f"series {i}"} \
                if isinstance(item, dict) else item
        import io

        import pandas as pd

        if "csv" in item:
            if not isinstance(item["csv"], str):
                raise InputError(f"input {i}: \"csv\" must be the CSV text; got "
                                 f"{type(item['csv']).__name__}")
            try:
                table = read_csv(io.StringIO(item["csv"]))
            except Exception as e:      # pandas raises several types for a bad table
                raise InputError(f"input {i}: not a readable CSV ({type(e).__name__}: "
                                 f"{contract.shorten(e, 120)}); expected a header line (date, close[, volume])")
        else:
            rows = item["rows"]
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise InputError(f"input {i}: \"rows\" must be a list of objects like "
                                 f"{{\"date\": \"2024-01-02\", \"close\": 10.5}}")
            # a JSON true was read as the price 1.0 (pandas' to_numeric), a forecast of 1.0
            cell = next((f"{k}={v}" for r in rows for k, v in r.items() if isinstance(v, bool)), None)
            if cell:
                raise InputError(f"input {i}: \"rows\" hold true/false ({cell.lower()}); "
                                 f"expected numbers and dates")
            table = pd.DataFrame(rows)
        series = series_from_table(table, f"input {i}")
        if len(series) != 1:
            raise InputError(f"input {i}: the table holds {len(series)} series "
                             f"({', '.join(s['name'] for s in series[:5])}); send one series "
                             f"per instance")
        # unnamed: "series {i}", as a series dict is (a table's was "series", each alike)
        return {**series[0], "name": item.get("name") or series[0]["name"] or f"series {i}"}

    def web_example(self, examples: list):
        """The web page's example (the contract's hook): the first series as CSV text."""
        ex = examples[0]
        volume = ex.get("volume") or [None] * len(ex["close"])
        lines = ["date,close,volume"] + [f"{d},{c},{'' if v is None else v}"
                                         for d, c, v in zip(ex["dates"], ex["close"], volume)]
        return {"csv": "\n".join(lines), "name": ex.get("name")}

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
        from .plot import fan_chart

        return fan_chart(results, path, history)


def demo(model, folder: Path, data: Path | None = None, held_back: int = 5):
    """`zoo demo` (the contract's optional hook): real price histories the bundle keeps
    (the last 300 days of three series), each with its last `held_back` days hidden from
    the model and printed as the reference; the fan charts, with what really happened,
    go to one PNG in `folder`."""
    kept = model.parity_examples()[:3]
    cut = [{**s, "dates": s["dates"][:-held_back], "close": s["close"][:-held_back],
            "volume": None if s.get("volume") is None else s["volume"][:-held_back]}
           for s in kept]
    results = model.predict(cut, horizon=held_back)
    host = model.host()
    for s, c, df in zip(kept, cut, results):
        df.attrs["actual"] = {"dates": s["dates"][-held_back:], "close": s["close"][-held_back:]}
        yield {"in": f"{s['name']}: {len(c['close'])} daily closes, {c['dates'][0]} .. "
                     f"{c['dates'][-1]} (kept in the bundle; the last {held_back} days held back)",
               "ref": "what happened next: " + ", ".join(
                   f"{d} {p:.2f}" for d, p in zip(s["dates"][-held_back:], s["close"][-held_back:])),
               "out": host.describe(df)}
    if results:
        png = host.plot(results, folder / f"{model.entry.name}-fan-chart.png", history=60)
        yield {"picture": f"{png}  (last 60 closes, the forecast's median and 50 % / 80 % "
                          f"bands, and the held-back closes)"}
