"""Speed and size of the shipped `forecast-lstm`: training throughput against the same
network in PyTorch, single-forecast latency in every runtime the zoo exports to, sizes.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.forecast_lstm   # full run, minutes
    .venv/bin/python -m benchmarks.forecast_lstm --quick                  # smoke test
    zoo bench forecast-lstm [--quick --threads 1]                         # the same, via the CLI

What is timed (see benchmarks/harness.py for what every benchmark shares):
- Training: batches of windows from `zoo_pipelines.forecasting.data.make_dataset` (the first
  60 training tickers, shuffled, seed 0); the twin is benchmarks/twins/forecast_lstm.py
  with the same pinball loss and per-window weights.
- Latency: one forecast (batch 1: a 64-day window + context) per call over validation
  tickers, features prepared by the host beforehand; only the model call is timed.
"""
from __future__ import annotations

import contextlib
import functools

from .harness import Spec, run, train_batches


def latency(bench) -> dict:
    """The last window of each validation ticker the host accepts, repeated up to `calls`."""
    from zoo.data import data_root, read_split
    from zoo.errors import ZooError

    zm, host = bench.zm, bench.zm.host()
    units = []
    for s in read_split(zm.entry, data_root() / zm.entry.default_data, "valid")[:bench.calls]:
        with contextlib.suppress(ZooError):      # too short a history: not forecastable
            units += host.encode([s]).units
    units = (units * (bench.calls // max(len(units), 1) + 1))[:bench.calls]
    return {"Single-forecast latency (batch 1, model call only)": bench.unit_latency(units)}


def describe(km, hp: dict) -> str:
    enc = km.get_layer("encoder")
    return (f"{enc.cell} {enc.depth}x{enc.units}, window {km.input['window'].shape[1]}, "
            f"horizon {km.get_layer('head_quantiles').horizon}")


SPEC = Spec(name="forecast-lstm", doc=__doc__, twin="forecast_lstm", batches=functools.partial(train_batches, first=60),
            counts=lambda prep, x, y: {"windows": len(y["quantiles"])},
            latency=latency, describe=describe, data="the first 60 training tickers, shuffled",
            inputs="windows", steps=(60, 3), calls=(300, 10),
            exports=("SavedModel", "TFLite float32", "TFLite dynamic-range", "ONNX"))


def main(argv=None) -> int:
    return run(SPEC, argv)


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
