"""Rolling-origin evaluation with the baselines computed in the same run.

For every series, a forecast is made at the close of every day of its evaluation part
(`eval_from` if the series has one, else its last `last` days) for 1..`horizon` steps
ahead. Point forecasts (the median) are scored with MASE (Hyndman & Koehler 2006: errors
divided by the in-sample mean absolute one-step change), sMAPE (percent) and directional
accuracy; quantiles with the pinball loss (scaled the same way) and the 80 % interval's
coverage and width (percent of the price). Baselines: naive persistence, drift, seasonal
naive (5 days), naive with empirical quantiles (the series' own in-sample h-step log
returns around the last price) and GARCH(1,1) with Student-t innovations (garch.py: one
fit per series on the history before the window, filtered forward with fixed parameters).

>>> from zoo_pipelines.forecasting.evaluate import pinball
>>> float(pinball(0.9, actual=10.0, forecast=8.0))
1.8
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from zoo.errors import InputError, warn
from zoo.options import check_int

HEADLINE = "pinball_ratio_vs_naive"       # < 1: better quantiles than naive-with-quantiles
GREATER_IS_BETTER = False
SEASON = 5
BLOCK = 10          # origins (trading days) per block of the bootstrap (about two weeks)
# The per-epoch validation in training skips the GARCH fits (they do not change with the
# model); the final evaluation of every split computes them.
EPOCH_OPTIONS = {"garch": False}


def bootstrap_se(num: np.ndarray, den: np.ndarray, block: np.ndarray, reps: int = 500,
                 seed: int = 0) -> float | None:
    """Standard error of sum(num) / sum(den) by a block bootstrap: the evaluation window is
    cut into blocks of BLOCK consecutive origins (the same blocks for every series, so the
    days all stocks share stay together) and whole blocks are drawn with replacement.
    Rows where either side is NaN (a failed GARCH fit) are left out. None with fewer than
    two blocks of rows (`last` of 10 days or fewer, or every GARCH fit failed): one block
    is drawn every time, and the standard error read 0.0 (or NaN with no rows at all).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> num, den, block = rng.random(1000) + 0.5, rng.random(1000) + 0.5, np.arange(1000) // 10
    >>> 0.005 < bootstrap_se(num, den, block) < 0.05
    True
    >>> bootstrap_se(num[:10], den[:10], block[:10]) is None      # one block: no spread to draw
    True
    """
    ok = ~(np.isnan(num) | np.isnan(den))
    if len(np.unique(block[ok])) < 2:
        return None
    n = int(block.max()) + 1
    num_sums, den_sums = (np.bincount(block[ok], v[ok], minlength=n) for v in (num, den))
    draws = np.random.default_rng(seed).integers(n, size=(reps, n))
    return float(np.std(num_sums[draws].sum(1) / den_sums[draws].sum(1)))


def mean_or_none(rows: np.ndarray) -> float | None:
    """The mean of the rows that are numbers; None where there are none (directional
    accuracy when no price moved in the window: numpy warned and gave NaN).

    >>> mean_or_none(np.array([], bool)) is None, mean_or_none(np.array([1.0, np.nan]))
    (True, 1.0)
    """
    rows = np.asarray(rows, np.float64)
    return float(np.nanmean(rows)) if np.any(~np.isnan(rows)) else None


def ratio(a: float | None, b: float | None) -> float | None:
    """a / b, or None where either is None or b is 0 (naive persistence without an error
    when prices are flat through the window: a raw ZeroDivisionError before)."""
    return a / b if a is not None and b else None


def pinball(q, actual, forecast):
    diff = np.asarray(actual) - np.asarray(forecast)
    return np.maximum(q * diff, (q - 1) * diff)


def _origins(s: dict, window: int, last: int) -> int:
    n = len(s["close"])
    start = s.get("eval_from")
    if start is None:
        start = n - min(last, (n - window - 1) // 2)
    return max(int(start), window + 1)


def _forecasts(model, series: list[dict], horizon: int, last: int) -> list[tuple]:
    """(series, first origin, [origins, H, Q] log-return quantiles) per series."""
    from .data import warn_coarse

    host = model.host()
    checked = [s for s in (_check(host, i, s) for i, s in enumerate(series)) if s is not None]
    # `zoo evaluate --data` on weekly closes scored h weeks ahead as h days, without a word
    warn_coarse(checked, "its forecasts of 1..h rows ahead are scored {kind} steps ahead")
    units, spans = [], []
    for s in checked:
        start = _origins(s, host.window, last)
        if not np.any(np.diff(s["close"][:start])):
            # MASE and the pinball loss divide by the mean absolute daily change before the
            # window: 0 here (a 1e-8 stand-in scored 1e8, or a raw ZeroDivisionError)
            warn(f"{s['name']}: the price never changes in its first {start} days, "
                 f"so MASE's scale (the mean absolute daily change) is 0; skipped")
            continue
        ends = list(range(start, len(s["close"]) - 1))
        spans.append((s, start, len(units), len(ends)))
        units.extend(host.window_units(s, ends))
    outs = model.predict_units(units, batch_size=1024) if units else []
    return [(s, start, host.blend(s, range(start, start + n),
                                  np.stack([o["quantiles"] for o in outs[k:k + n]])))
            for s, start, k, n in spans if n]


def _check(host, i, s):
    """The checked series, or None (and a warning) when it is too short to evaluate."""
    from .series import check_series

    checked = check_series(i, s, 0)       # bad values are errors, short series are skipped
    if len(checked["close"]) < 2 * host.window + 4:
        warn(f"{checked['name']}: {len(checked['close'])} prices, too short for "
             f"rolling-origin evaluation (needs {2 * host.window + 4}); skipped")
        return None
    return checked


def evaluate(model, series: list[dict], horizon: int = 5, last: int = 126,
             garch: bool = True) -> dict:
    """Metrics per horizon 1..`horizon` for `model` and the baselines (see module doc);
    `garch=False` leaves out the GARCH-t baseline (faster)."""
    from . import garch as G

    # a model that forecasts fewer days than asked is measured on the days it forecasts
    horizon = min(check_int(horizon, "horizon", 1), model.host().max_horizon)
    last = check_int(last, "last", 1)         # 0 or less: a raw IndexError in the windows
    quantiles = model.host().quantiles
    lo, hi, mid = quantiles.index(0.1), quantiles.index(0.9), quantiles.index(0.5)
    acc = {h: {k: [] for k in ("mase", "naive_mase", "drift_mase", "snaive_mase", "smape",
                               "diracc", "drift_diracc", "pinball", "naiveq_pinball", "in80",
                               "naiveq_in80", "width80", "naiveq_width80", "garch_pinball",
                               "garch_in80", "garch_width80")}
           for h in range(1, horizon + 1)}
    per_q = {q: {"model": [], "naiveq": [], "garch": []} for q in quantiles}
    blocks = {h: [] for h in acc}     # each row's block of BLOCK origins, for the bootstrap
    garch_failed = 0
    forecasts = _forecasts(model, series, horizon, last)
    if not forecasts:       # every series too short (each warned): numpy's "need at least one array"
        raise InputError(f"no series to evaluate: each needs at least "
                         f"{2 * model.host().window + 4} prices that move before its "
                         f"evaluation window ({len(series)} given, each skipped with a warning)")
    for s, start, qs in forecasts:
        y = s["close"]
        scale = np.mean(np.abs(np.diff(y[:start])))         # > 0: flat series are skipped
        if garch:
            gqs = G.quantiles(y, start, quantiles, horizon)
            garch_failed += int(np.isnan(gqs).any())
        for h in range(1, min(horizon, qs.shape[1]) + 1):
            t = np.arange(start, len(y) - h)
            if not len(t):
                continue
            a, base = y[t + h], y[t]
            prices = base[:, None] * np.exp(qs[: len(t), h - 1].astype(np.float64))
            med = prices[:, mid]
            drift = base + h * (base - y[0]) / t
            snaive = y[t + h - SEASON * math.ceil(h / SEASON)]
            hist = np.log(y[h:start] / y[:start - h])
            emp = base[:, None] * np.exp(np.quantile(hist, quantiles))[None]
            d = acc[h]
            blocks[h].append((t - start) // BLOCK)
            d["mase"].append(np.abs(med - a) / scale)
            d["naive_mase"].append(np.abs(base - a) / scale)
            d["drift_mase"].append(np.abs(drift - a) / scale)
            d["snaive_mase"].append(np.abs(snaive - a) / scale)
            d["smape"].append(200 * np.abs(med - a) / (np.abs(med) + np.abs(a)))
            moved = a != base
            d["diracc"].append((np.sign(med - base) == np.sign(a - base))[moved])
            d["drift_diracc"].append((np.sign(drift - base) == np.sign(a - base))[moved])
            model_pb = np.stack([pinball(q, a, prices[:, j]) for j, q in enumerate(quantiles)], 1) / scale
            naive_pb = np.stack([pinball(q, a, emp[:, j]) for j, q in enumerate(quantiles)], 1) / scale
            d["pinball"].append(model_pb.mean(1))
            d["naiveq_pinball"].append(naive_pb.mean(1))
            for j, q in enumerate(quantiles):
                per_q[q]["model"].append(model_pb[:, j])
                per_q[q]["naiveq"].append(naive_pb[:, j])
            d["in80"].append((a >= prices[:, lo]) & (a <= prices[:, hi]))
            d["naiveq_in80"].append((a >= emp[:, lo]) & (a <= emp[:, hi]))
            d["width80"].append(100 * (prices[:, hi] - prices[:, lo]) / base)
            d["naiveq_width80"].append(100 * (emp[:, hi] - emp[:, lo]) / base)
            if garch:
                gp = base[:, None] * np.exp(gqs[: len(t), h - 1])
                garch_pb = np.stack([pinball(q, a, gp[:, j]) for j, q in enumerate(quantiles)], 1) / scale
                d["garch_pinball"].append(garch_pb.mean(1))
                for j, q in enumerate(quantiles):
                    per_q[q]["garch"].append(garch_pb[:, j])
                d["garch_in80"].append((a >= gp[:, lo]) & (a <= gp[:, hi]))
                d["garch_width80"].append(100 * (gp[:, hi] - gp[:, lo]) / base)
    # nanmean: a series whose GARCH fit failed (counted in garch_failed) has no GARCH rows
    table = {f"h{h}": {k: mean_or_none(np.concatenate(v)) if v else None
                       for k, v in d.items()} for h, d in acc.items()}
    # A horizon past the window's last origin (`last` below `horizon` on a series without
    # eval_from) has no rows: its table cells are None; pooling them was a raw ValueError.
    rows = lambda k: np.concatenate([np.concatenate(acc[h][k]) for h in acc if acc[h][k]])  # noqa: E731
    pooled = lambda k: mean_or_none(rows(k))  # noqa: E731
    out = {f"mase_h{h}": table[f"h{h}"]["mase"] for h in acc}
    out.update({f"naive_mase_h{h}": table[f"h{h}"]["naive_mase"] for h in acc})
    # MASE scales by the in-sample one-step change, so even naive persistence scores
    # above 1 at h > 1 (errors grow with h); "never worse than naive" is this ratio <= 1.
    # None where naive persistence made no error at all (prices flat through the window):
    # a raw ZeroDivisionError before
    out.update({f"mase_ratio_vs_naive_h{h}": ratio(table[f"h{h}"]["mase"], table[f"h{h}"]["naive_mase"])
                for h in acc})
    out.update(
        pinball_ratio_vs_naive=ratio(pooled("pinball"), pooled("naiveq_pinball")),
        coverage_80=pooled("in80"), width_80_pct=pooled("width80"),
        naiveq_coverage_80=pooled("naiveq_in80"), naiveq_width_80_pct=pooled("naiveq_width80"),
        directional_accuracy=pooled("diracc"),
        # the series measured: those too short or flat were skipped (each with a warning)
        series=len(forecasts), skipped_series=len(series) - len(forecasts),
        forecasts=len(rows("mase")),
        per_horizon=table,
        per_quantile={f"q{q:g}": {"model": float(np.mean(np.concatenate(v["model"]))),
                                  "naive_quantiles": float(np.mean(np.concatenate(v["naiveq"]))),
                                  **({"garch_t": float(np.nanmean(np.concatenate(v["garch"])))}
                                     if garch else {})}
                      for q, v in per_q.items()})
    block = np.concatenate([np.concatenate(blocks[h]) for h in acc if blocks[h]])
    out["pinball_ratio_vs_naive_se"] = bootstrap_se(rows("pinball"), rows("naiveq_pinball"), block)
    if garch:
        out["pinball_ratio_vs_garch_se"] = bootstrap_se(rows("pinball"), rows("garch_pinball"), block)
        out.update(pinball_ratio_vs_garch=ratio(pooled("pinball"), pooled("garch_pinball")),
                   garch_pinball_ratio_vs_naive=ratio(pooled("garch_pinball"), pooled("naiveq_pinball")),
                   garch_coverage_80=pooled("garch_in80"), garch_width_80_pct=pooled("garch_width80"),
                   garch_failed=garch_failed)
    else:                   # no empty GARCH columns in the per-horizon table
        for row in table.values():
            for k in ("garch_pinball", "garch_in80", "garch_width80"):
                row.pop(k)
    return out


def calibrate_garch_blend(bundle_dir, data_dir=None,
                          grid=(0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0)) -> dict:
    """Blend a trained bundle's quantiles with a pooled GARCH(1,1)-t filter (issue 24): the
    dynamics are fitted on the train split (garch.pooled_params), the weight of each
    quantile level (1: the LSTM alone, 0: GARCH alone) is the one of `grid` with the lowest
    pinball loss on the selection split (valid); the split's card says so. Then valid and
    the report split are measured again and metrics.json and the card re-written.
    Returns the blend. A recipe step after `zoo train` (docs/models/forecast-lstm.md, "The
    GARCH(1,1)-t baseline and the blend"):

        python -c 'from zoo_pipelines.forecasting.evaluate import calibrate_garch_blend as c; c("runs/forecast/lstm64")'
    """
    import zoo
    from zoo.bundle import set_preprocessor_fields
    from zoo.data import data_root, read_split

    from . import garch as G

    zm = zoo.load(str(bundle_dir))
    data_dir = Path(data_dir) if data_dir else data_root() / zm.entry.default_data
    valid = read_split(zm.entry, data_dir, "valid")
    levels = zm.host().quantiles
    params = G.pooled_params(read_split(zm.entry, data_dir, "train"), levels)
    before = {"valid": zm.metrics["valid"].get(HEADLINE),
              "report": zm.metrics.get("report", {}).get(HEADLINE)}
    scores = {}
    for w in grid:
        zm.preprocessor["garch_blend"] = {**params, "weights": [w] * len(levels)}
        zm._host = None                      # the host reads the blend when it is built
        scores[w] = evaluate(zm, valid, garch=False)["per_quantile"]
        print(f"weight {w}: pinball per quantile on valid "
              f"{ {q: round(v['model'], 5) for q, v in scores[w].items()} }", flush=True)
    weights = [min(grid, key=lambda w: scores[w][f"q{q:g}"]["model"]) for q in levels]
    blend = {**params, "weights": weights}
    set_preprocessor_fields(bundle_dir, garch_blend=blend)
    zm = zoo.load(str(bundle_dir))
    m = zm.metrics
    m["valid"] = {**zm.evaluate(valid), "data": m["valid"].get("data")}
    m["splits"]["valid"]["chose"] += "; the GARCH blend's weight per quantile"
    report = read_split(zm.entry, data_dir, "report")
    m["report"] = {**zm.evaluate(report), "data": m["report"]["data"]}
    m["garch_blend"] = {"weights": dict(zip((f"q{q:g}" for q in levels), weights)),
                        "grid": list(grid), "dynamics": params,
                        f"{HEADLINE}_before": before}
    # The recipe: the training command, then this step on the folder it wrote.
    out = re.search(r"--out (\S+)", m.get("command", ""))
    m["command"] = (f"{m.get('command', '')}\npython -c 'from zoo_pipelines.forecasting.evaluate "
                    f"import calibrate_garch_blend as c; c(\"{out[1] if out else 'DIR'}\")'")
    zm.write_card(bundle_dir)
    return blend
