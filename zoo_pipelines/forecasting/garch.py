"""The GARCH(1,1) baseline with Student-t innovations, the interval forecast a practitioner
compares with first (issue 24). Fitted by the `arch` library, a maintained implementation:
one fit per series on its history before the evaluation window, then the filter runs
forward with those parameters fixed, so every origin's forecast uses only the past.

The h-step quantiles of the log return are those of the sum of h one-step returns: the
constant mean times h, and the summed conditional variances, scaled by the fitted t's
quantile at unit variance (the usual analytic approximation; a sum of t variables is not
exactly t). Used by the evaluator only: `predict` and `zoo.runtime` do not need `arch`.

>>> import numpy as np
>>> prices = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 400)))
>>> q = quantiles(prices, start=300, levels=[0.1, 0.5, 0.9], horizon=5)
>>> q.shape, bool(np.all(np.diff(q, axis=2) > 0)), bool(np.all(q[:, 4, 2] > q[:, 0, 2]))
((100, 5, 3), True, True)
"""
from __future__ import annotations

import warnings

import numpy as np

SCALE = 100.0          # arch fits percent returns best (its optimiser's scaling advice)


def quantiles(close, start: int, levels: list[float], horizon: int) -> np.ndarray:
    """[origins, horizon, levels] log-return quantiles for the origins start .. n-1 (the
    forecast made at the close of day t for t+1 .. t+horizon); NaN if the fit fails."""
    from arch import arch_model
    from scipy.stats import t as student_t

    returns = SCALE * np.diff(np.log(np.asarray(close, np.float64)))
    origins = len(close) - start
    spec = dict(mean="Constant", vol="GARCH", p=1, q=1, dist="t")
    try:
        with warnings.catch_warnings():        # convergence notes: the fit is still used
            warnings.simplefilter("ignore")
            fit = arch_model(returns[:start], **spec).fit(disp="off", show_warning=False)
            # Observation j holds the returns through day j+1: origin t is observation t-1.
            forecast = arch_model(returns, **spec).forecast(
                fit.params, horizon=horizon, start=start - 1, align="origin", reindex=False)
    except (ValueError, np.linalg.LinAlgError, RuntimeError):
        return np.full((origins, horizon, len(levels)), np.nan)
    nu = float(fit.params["nu"])
    unit_t = student_t.ppf(levels, nu) * np.sqrt((nu - 2) / nu)      # t quantiles, variance 1
    mean = np.cumsum(np.asarray(forecast.mean), axis=1)
    spread = np.sqrt(np.cumsum(np.asarray(forecast.variance), axis=1))
    return (mean[..., None] + spread[..., None] * unit_t) / SCALE
