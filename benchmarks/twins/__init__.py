"""The benchmarks' PyTorch twins: each application's network written again in PyTorch,
its Keras weights copied in. Every module has `make(keras_model)`, `loss(twin, x, y)` on
torch tensors of a training batch, and `check(twin, keras_model, x, y)` (numpy): the max
differences from the Keras outputs, which the harness reports and warns on. Optional:
`predict(twin, x)` (batch-1 latency) and `STYLE` (how it runs, for the report).
These modules import torch; benchmarks/harness.py imports them only when it runs."""
