"""Speed of the shipped `music-lstm`: training throughput against the same network in
PyTorch, and the per-step generation latency of each runtime the zoo exports to.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.music_lstm          # minutes
    .venv/bin/python -m benchmarks.music_lstm --quick                          # smoke test
    zoo bench music-lstm [--quick]

What is timed (see benchmarks/harness.py for what every benchmark shares):
- Training: batches of JSB Chorales train chunks from `zoo_pipelines.music.data.make_dataset`
  (the recipe's batch size and chunk length, with transposition); the twin is
  benchmarks/twins/music_lstm.py (nn.LSTM + the same NADE). Frames/s counts real frames.
- Generation: one call of the exported `step` function (previous frame + LSTM state ->
  NADE biases + state), batch 1, as the host's loop makes it, in every runtime and the
  PyTorch twin; the numpy NADE sampling of one frame (88 keys, the same for every
  runtime); and a whole `generate()`, per generated step.
"""
from __future__ import annotations

import numpy as np

from .harness import Spec, run, timed, train_batches


def step_inputs(zm, rng=None) -> dict:
    """The "step" function's inputs: a random frame (5 % of keys down) from the zero state."""
    rng = np.random.default_rng(0) if rng is None else rng
    return {"frame": (rng.random((1, 88)) < 0.05).astype(np.float32),
            **{k: np.zeros((1, n), np.float32) for k, n in zm.host().state.items()}}


def latency(bench) -> dict:
    zm, torch, twin = bench.zm, bench.torch, bench.twin
    host = zm.host()
    rng = np.random.default_rng(0)
    inputs = step_inputs(zm, rng)
    step = bench.step_latency(inputs)
    h, c = (torch.tensor(inputs[k]) for k in host.state)
    frame = torch.tensor(inputs["frame"])

    def twin_step(_):
        with torch.inference_mode():
            return twin.step(frame, h, c)

    calls = range(20 if bench.quick else 200)
    step["PyTorch twin (eager, nn.LSTM)"] = timed(twin_step, calls, range(5))
    out, u = zm.call_function("step", inputs), rng.random((1, 88))
    step["host NADE sampling of one frame (numpy)"] = timed(lambda _: host.sample(out, u, 1.0), calls)
    steps = 16 if bench.quick else 128
    generate = {label: {"ms_per_generated_step": ms} for label, ms in
                bench.generate_latency(steps, steps, skip=("TFLite dynamic-range",)).items()}
    return {"Generation: one recurrent step (batch 1), as the host loop calls it": step,
            "Whole `generate()` (step call + NADE sampling + bookkeeping)": generate}


def describe(km, hp: dict) -> str:
    return (f"{hp.get('cell')} {hp.get('layers')}x{hp.get('units')} + NADE "
            f"{hp.get('nade_hidden')} hidden")


SPEC = Spec(name="music-lstm", doc=__doc__, twin="music_lstm", batches=train_batches,
            counts=lambda prep, x, y: {"frames": int((y["logits"][..., 0] >= 0).sum())},
            latency=latency, describe=describe, data="JSB Chorales train chunks",
            steps=(30, 3), exports=("TFLite float32", "TFLite dynamic-range", "ONNX"))


def main(argv=None) -> int:
    return run(SPEC, argv)


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
