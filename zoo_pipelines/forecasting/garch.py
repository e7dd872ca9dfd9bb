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


def pooled_params(series: list[dict], levels: list[float], max_series: int = 80) -> dict:
    """GARCH(1,1)-t dynamics shared by every series, for the host's numpy filter
    (`filter_quantiles`): the medians of alpha, beta and nu over `arch` fits of up to
    `max_series` training series (medians: a few explosive fits do not move them), and the
    t's quantiles at `levels` scaled to unit variance, so the host needs no scipy."""
    from arch import arch_model
    from scipy.stats import t as student_t

    fits = []
    for s in series[:max_series]:
        returns = SCALE * np.diff(np.log(np.asarray(s["close"], np.float64)))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1,
                               dist="t").fit(disp="off", show_warning=False).params
        except (ValueError, np.linalg.LinAlgError, RuntimeError):
            continue
        fits.append([p["alpha[1]"], p["beta[1]"], p["nu"]])
    alpha, beta, nu = (float(v) for v in np.median(np.array(fits), axis=0))
    unit_t = student_t.ppf(levels, nu) * np.sqrt((nu - 2) / nu)
    return {"alpha": alpha, "beta": beta, "nu": nu, "unit_t": [float(u) for u in unit_t],
            "fitted_series": len(fits)}


def filter_quantiles(close, ends, params: dict, horizon: int) -> np.ndarray:
    """[len(ends), horizon, levels] log-return quantiles for forecasts made at the close
    of day index `ends`, from the pooled dynamics `params`; numpy only. Each series keeps
    its own level: the mean and the long-run variance of its returns up to each origin
    (variance targeting: omega = (1 - alpha - beta) * variance), the filter run from the
    series' start with them. So a forecast made at day e is the one predict() makes for
    the series cut after day e: the evaluator fixed the level at the first origin of its
    window, and its forecasts drifted from predict's (0.4 % of the price at h10 after 126
    days), measuring another model than the one served.

    >>> import numpy as np
    >>> prices = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 300)))
    >>> p = {"alpha": 0.1, "beta": 0.8, "unit_t": [-1.28, 0.0, 1.28]}
    >>> q = filter_quantiles(prices, [200, 250], p, horizon=5)
    >>> q.shape, bool(np.all(np.diff(q, axis=2) > 0))
    ((2, 5, 3), True)
    >>> bool(np.allclose(q[1], filter_quantiles(prices[:251], [250], p, horizon=5)[0]))
    True
    """
    alpha, beta = params["alpha"], params["beta"]
    returns = np.diff(np.log(np.asarray(close, np.float64)))
    ends = np.asarray(ends)
    last = int(ends.max())
    # The level at each origin e: the mean and variance of returns[:e] (running sums).
    n = np.arange(1, last + 1, dtype=np.float64)
    mean_all = np.cumsum(returns[:last]) / n
    var_all = np.maximum(np.cumsum(np.square(returns[:last])) / n - mean_all ** 2, 0)
    mean, var = mean_all[ends - 1], var_all[ends - 1]
    # The filter at e with that level, variance[0] = var and shocks (r_i - mean)^2:
    # beta^e var + sum_i beta^(e-1-i) (omega + alpha (r_i^2 - 2 mean r_i + mean^2)), from
    # the discounted sums A_e = sum beta^(e-1-i) r_i^2 and B_e = sum beta^(e-1-i) r_i.
    a_sum, b_sum = np.zeros(last + 1), np.zeros(last + 1)
    for i, r in enumerate(returns[:last]):
        a_sum[i + 1] = beta * a_sum[i] + r * r
        b_sum[i + 1] = beta * b_sum[i] + r
    decay = beta ** ends.astype(np.float64)
    weight = (1 - decay) / (1 - beta)             # sum of beta^(e-1-i) over i < e
    omega = (1 - alpha - beta) * var
    now = (decay * var + omega * weight
           + alpha * (a_sum[ends] - 2 * mean * b_sum[ends] + mean ** 2 * weight))
    k = np.arange(horizon)
    ahead = var[:, None] + (alpha + beta) ** k[None] * (now - var)[:, None]
    spread = np.sqrt(np.cumsum(ahead, axis=1))
    return (mean[:, None, None] * (k + 1)[None, :, None]
            + spread[..., None] * np.asarray(params["unit_t"]))
