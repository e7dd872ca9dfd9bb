"""Speed of the shipped `charlm-lstm`: training throughput against the same network in
PyTorch, and the per-character generation latency of each runtime the zoo exports to.

    ZOO_DATA=../shared/data .venv/bin/python -m benchmarks.charlm_lstm          # minutes
    .venv/bin/python -m benchmarks.charlm_lstm --quick                          # smoke test
    zoo bench charlm-lstm [--quick]

What is timed (see benchmarks/harness.py for what every benchmark shares):
- Training: batches of 128-character windows of tinyshakespeare train from
  `zoo_pipelines.charlm.data.make_dataset` (the recipe's batch size, shuffled, seed 0); the
  twin is benchmarks/twins/charlm_lstm.py (nn.Embedding + fused nn.LSTM + nn.Linear, the
  same cross-entropy). Characters/s counts every predicted character.
- Generation: one call of the exported `step` function (previous character + state ->
  logits + state), batch 1, as the host's loop makes it, in every runtime and the
  PyTorch twin; and a whole `generate()` (step call + sampling + bookkeeping), per
  generated character.
"""
from __future__ import annotations

import numpy as np

from .harness import Spec, run, timed, train_batches


def step_inputs(zm) -> dict:
    """The "step" function's inputs for one character ("A") from the zero state, batch 1."""
    host = zm.host()
    return {"char": np.array([host.index.get("A", 0)], np.int32),
            **{k: np.zeros((1, n), np.float32) for k, n in host.state.items()}}


def latency(bench) -> dict:
    zm, torch, twin = bench.zm, bench.torch, bench.twin
    inputs = step_inputs(zm)
    step = bench.step_latency(inputs)
    char = torch.tensor(inputs["char"]).long()[:, None]
    h = torch.zeros(twin.rnn.num_layers, 1, twin.rnn.hidden_size)
    state = (h, h.clone()) if isinstance(twin.rnn, torch.nn.LSTM) else h

    def twin_step(_):
        with torch.inference_mode():
            return twin(char, state)

    calls = range(20 if bench.quick else 400)
    step["PyTorch twin (eager, inference_mode)"] = timed(twin_step, calls, range(5))
    steps = 40 if bench.quick else 400
    prompt = "ROMEO:"           # read one character a step, like the generated ones
    generate = {label: {"ms_per_char": ms} for label, ms in
                bench.generate_latency(steps, steps + len(prompt), prompt=prompt).items()}
    return {"Generation: one recurrent step (batch 1), as the host loop calls it": step,
            "Whole `generate()` (step call + sampling + bookkeeping), per character": generate}


def describe(km, hp: dict) -> str:
    return (f"embedding {hp.get('embed')} + {hp.get('cell')} {hp.get('layers')}x"
            f"{hp.get('units')} + softmax over characters, windows of {hp.get('seq_len')}")


SPEC = Spec(name="charlm-lstm", doc=__doc__, twin="charlm_lstm", batches=train_batches,
            counts=lambda prep, x, y: {"chars": int(np.size(y["logits"]))},
            latency=latency, describe=describe, data="tinyshakespeare train windows, shuffled",
            steps=(20, 3), exports=("TFLite float32", "TFLite dynamic-range", "ONNX"),
            both_jit=True)


def main(argv=None) -> int:
    return run(SPEC, argv)


if __name__ == "__main__":
    from .harness import script

    raise SystemExit(script(main, __spec__.name))
