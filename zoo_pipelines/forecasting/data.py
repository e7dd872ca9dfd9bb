"""Price histories -> training windows.

`read(path)` takes a CSV (long form like all_stocks_5yr.csv, or wide form; plain or
gzipped) and returns series dicts (see series.py). The shipped recipe trains on
$ZOO_DATA/stocks with two kinds of held-out data:

- time: the last 126 trading days (from CUTOFF, about six months) of every series are
  never trained on; the "valid" split evaluates forecasts made inside them;
- tickers: one ticker in ten (zoo.data.in_report: a CRC-32 of its name) is never trained
  on at all; the "report" split (alias "heldout") evaluates them over the same months, and
  nothing is chosen on it.

>>> from zoo.data import in_report
>>> sorted(t for t in ["AAPL", "MSFT", "XOM", "GE", "A"] if in_report(t))
['GE']
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from zoo.data import existing, in_report, split_name
from zoo.errors import InputError, warn

from . import host as H
from .series import check_series, series_from_table

CUTOFF = "2017-08-09"          # first of the last 126 trading days in the stocks data
DATA_FILE = "sp500_5yr_train.csv.gz"
QUANTILES = [0.1, 0.25, 0.5, 0.75, 0.9]
REPORT_RULE = ("one ticker in ten (a CRC-32 of its name), never trained on, forecast from "
               f"{CUTOFF} on; valid: the other tickers over the same months")


def report_group(series: dict) -> str:
    """What the report split holds out: a ticker."""
    return series["name"]


# What every example read() returns has: evaluate() checks examples passed in memory.
EXAMPLE_KEYS = ("dates", "close")
# What fit_preprocessor's keywords accept, checked before any data is read (zoo.options.HPARAMS).
HPARAMS = {"window": (1, 1 << 16), "horizon": (1, 1 << 12)}


def read(path: str | Path) -> list[dict]:
    """Series dicts from a CSV file (see series.series_from_table)."""
    return series_from_table(existing(path, "CSV of prices"))


@lru_cache(maxsize=2)
def _stocks(path: str) -> tuple:
    return tuple(read(path))


def read_split(data_dir: Path, split: str) -> list[dict]:
    """'train' (training tickers, before CUTOFF), 'valid' (training tickers, forecasts from
    CUTOFF on) or 'report' (the other tickers, forecasts from CUTOFF on)."""
    split = split_name(split, data_dir)
    series = _stocks(str(existing(Path(data_dir) / DATA_FILE, "CSV of prices")))
    out = []
    for s in series:
        if in_report(report_group(s)) != (split == "report"):
            continue
        dates = np.asarray(s["dates"], "datetime64[D]")
        start = int(np.searchsorted(dates, np.datetime64(CUTOFF)))
        if split == "train":
            if start > 100:
                out.append({**s, "dates": s["dates"][:start], "close": s["close"][:start],
                            "volume": s["volume"][:start] if s["volume"] else None})
        elif start < len(dates) - 1:
            out.append({**s, "eval_from": start})
    return out


def fit_preprocessor(train: list[dict], window: int = 64, horizon: int = 10):
    """Nothing is fitted (inputs are scale-free): the shapes and quantiles."""
    return {"window": window, "horizon": horizon, "quantiles": QUANTILES,
            "n_features": H.N_FEATURES, "n_context": H.N_CONTEXT, "buckets": None}, None


def parity_examples(series: list[dict], n: int = 32, keep: int = 300) -> list[dict]:
    """The last `keep` days of `n` series, as JSON-able dicts (kept in the bundle)."""
    picked = series[:: max(1, len(series) // n)][:n]
    return [{"name": s["name"], "dates": list(s["dates"][-keep:]),
             "close": [float(c) for c in s["close"][-keep:]],
             "volume": None if s.get("volume") is None else [float(v) for v in s["volume"][-keep:]]}
            for s in picked]


def windows(series: list[dict], prep: dict):
    """All training windows: features [N_days, F] of every series back to back, the
    cumulative log returns, and per window its start row, long-run context and loss weight.
    Only windows whose targets lie before the series' evaluation part (`eval_from`) count."""
    w, h = prep["window"], prep["horizon"]
    feats, returns, starts, ctx, weights, offset, used = [], [], [], [], [], 0, []
    for i, raw in enumerate(series):
        s = check_series(i, raw, 0)         # bad values are errors; short series skipped
        if len(s["close"]) < w + h + 1:
            # as the README says and the evaluator does: one short ticker in a user's file
            # refused the whole fine-tune ("input 2 (AAP): 44 prices of history")
            warn(f"{s['name']}: {len(s['close'])} prices, too short to train on "
                 f"(needs {w + h + 1}); skipped")
            continue
        used.append(s)
        f = H.features(s["close"], s["volume"], s["dates"])
        end = len(f) if s.get("eval_from") is None else s["eval_from"] - 1
        local = np.arange(0, end - w - h + 1)
        r = np.diff(np.log(s["close"]))      # unclipped for targets: what really happened
        starts.append(offset + local)
        ctx.append(H.context(f[:, 0], local + w))
        # The evaluator scales errors by the series' mean absolute move; so does the loss.
        weights.append(np.full(len(local), 1.0 / (np.mean(np.abs(r[:end])) + 1e-6)))
        feats.append(f)
        returns.append(r)
        offset += len(f)
    warn_coarse(used, "it learns {kind} moves as daily ones")
    if not feats:
        raise InputError(f"no series of at least {w + h + 1} prices to train on; expected "
                         f"longer histories")
    cum = np.concatenate([[0.0], np.cumsum(np.concatenate(returns))]).astype(np.float32)
    return (np.concatenate(feats), cum, np.concatenate(starts).astype(np.int32),
            np.concatenate(ctx), np.concatenate(weights).astype(np.float32))


def warn_coarse(series: list[dict], so: str) -> None:
    """As predict warns of each input: once per step coarser than daily among `series`
    (checked series dicts; host.step), naming one series and what follows (`so`, with
    {kind}). Fine-tune, train and evaluate on weekly closes read them as daily ones."""
    coarse = {}
    for s in series:
        if (kind := H.step(np.asarray(s["dates"], "datetime64[D]"))) is not None:
            coarse.setdefault(kind[0], s["name"])
    for kind, name in coarse.items():
        warn(f"{kind} dates (e.g. {name:.60}): the model reads each row as one "
             f"trading day, so {so.format(kind=kind)}")


def make_dataset(series: list[dict], prep: dict, batch_size: int = 256, shuffle: bool = False,
                 seed: int = 0, drop_remainder: bool = False):
    """({"window": [B, W, F], "context": [B, C]}, {"quantiles": [B, H, 2]}) batches; the
    target pairs the cumulative log return to t+h with the window's loss weight."""
    import tensorflow as tf

    feats, cum, starts, ctx, weights = windows(series, prep)
    w, h = prep["window"], prep["horizon"]
    feats_t, cum_t = tf.constant(feats), tf.constant(cum)
    ds = tf.data.Dataset.from_tensor_slices((starts, ctx, weights))
    if shuffle:
        ds = ds.shuffle(len(starts), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def gather(s, c, wt):
        x = tf.gather(feats_t, s[:, None] + tf.range(w)[None])            # [B, W, F]
        base = tf.gather(cum_t, s + w)                                      # day t = s + w
        y = tf.gather(cum_t, (s + w)[:, None] + tf.range(1, h + 1)[None]) - base[:, None]
        weight = tf.broadcast_to(wt[:, None], tf.shape(y))
        return {"window": x, "context": c}, {"quantiles": tf.stack([y, weight], -1)}

    return ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)
