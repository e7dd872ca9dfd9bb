"""The core hook for autoregressive models: `export_functions` in model.py, `run(encoded,
call)` and TASK_METHODS in host.py. A toy recurrent step (not registered, so the contract
suite does not see it) is exported to TFLite, ONNX and SavedModel; the host's numpy loop
must give the same answers on every backend."""
import sys
import types
from dataclasses import dataclass

import numpy as np
import pytest

import zoo
from zoo import contract
from zoo.errors import InputError
from zoo.options import as_batch
from zoo.registry import Entry

PKG = "zoo_toy_functions"


@dataclass
class Encoded:
    units: list


class Host(contract.Host):
    """Runs the toy step `steps` times from each input vector, feeding its output back."""

    TASK_METHODS = ("roll",)

    def __init__(self, config):
        self.config = config

    def encode(self, inputs, steps=4):
        inputs = as_batch(inputs, np.ndarray, "input vectors")
        return Encoded([{"x": np.asarray(x, np.float32), "steps": steps} for x in inputs])

    def run(self, encoded, call):
        outputs = []
        for unit in encoded.units:
            x, h, ys = unit["x"][None], np.zeros((1, 4), np.float32), []
            for _ in range(unit["steps"]):
                out = call("step", {"x": x, "h": h})
                x, h = out["y"], out["h_out"]
                ys.append(out["y"][0])
            outputs.append(np.stack(ys))
        return outputs

    def decode(self, encoded, outputs):
        return [{"y": o.round(4).tolist()} for o in outputs]

    def agreement(self, a, b):
        return float(np.mean([np.allclose(x["y"], y["y"], atol=1e-3) for x, y in zip(a, b)]))

    def roll(self, call, steps=3, start=(0.1, 0.2, 0.3)):
        """A task method: the caller comes first, the user's options after."""
        return self.decode(None, self.run(self.encode([start], steps=steps), call))[0]


def build():
    import keras

    x = keras.Input((3,), name="seq_x")
    seq = keras.layers.Dense(3, name="out")(keras.layers.Dense(4, activation="tanh", name="mix")(x))
    return keras.Model({"seq_x": x}, {"y": seq})


def export_functions(model, prep):
    """One step: input vector and state in, output vector and state out (shared layers)."""
    import keras

    x = keras.Input(batch_shape=(1, 3), name="x")
    h = keras.Input(batch_shape=(1, 4), name="h")
    state = model.get_layer("mix")(x) + keras.layers.Dense(4, name="recur")(h) * 0.0 + h * 0.5
    return {"step": keras.Model({"x": x, "h": h}, {"y": model.get_layer("out")(state),
                                                  "h_out": state})}


@pytest.fixture(scope="module")
def toy():
    # Unregistered, so zoo.runtime would refuse its host: allow it for these tests only.
    allowed = zoo.runtime.allowed_hosts
    zoo.runtime.allowed_hosts = lambda: allowed() | {f"{PKG}.host"}
    pkg = types.ModuleType(PKG)
    host = types.ModuleType(f"{PKG}.host")
    host.Host, host.Encoded, host.EMPTY_INPUT = Host, Encoded, []
    model = types.ModuleType(f"{PKG}.model")
    model.export_functions = export_functions
    model.host_constants = lambda m: {}
    model.serving_function = lambda m, p: None
    model.build = model.loss = lambda *a, **k: None
    sys.modules.update({PKG: pkg, f"{PKG}.host": host, f"{PKG}.model": model})
    entry = Entry(name="toy-step", task="toy", package=PKG, summary="toy", default_data="",
                  train_file="", valid_file="")
    from zoo.model import ZooModel

    examples = [[0.1 * i, -0.2, 0.3] for i in range(16)]
    yield ZooModel(entry, build(), {"examples": examples})
    for name in (PKG, f"{PKG}.host", f"{PKG}.model"):
        sys.modules.pop(name, None)
    zoo.runtime.allowed_hosts = allowed


def test_predict_runs_the_host_loop_over_functions(toy):
    out = toy.predict([[0.1, 0.2, 0.3]], steps=5)
    assert len(out[0]["y"]) == 5
    assert toy.roll(steps=5)["y"] == out[0]["y"]          # task method == predict's loop
    with pytest.raises(InputError, match="no function"):
        toy.call_function("encoder", {})
    with pytest.raises(AttributeError):
        toy.no_such_method


@pytest.mark.parametrize("target", ["toy.tflite", "toy.onnx", "toy_savedmodel"])
def test_every_backend_agrees(toy, target, tmp_path):
    from zoo.export import builtin_op_names

    report = toy.export(tmp_path / target)
    assert report["agreement"] == 1.0 and report["max_abs_diff"] < 1e-5
    assert report["function_calls"] == 16 * 4
    if target.endswith(".tflite"):
        ops = builtin_op_names(tmp_path / target)
        assert not [o for o in ops if o.startswith("Flex") or o == "CUSTOM"], ops
    if target.endswith(".onnx"):
        assert (tmp_path / "toy.step.onnx").exists()
    if "." in target:
        rt = zoo.runtime.load(tmp_path / target)
        assert not hasattr(rt.loop_call(), "batches")     # no decode_functions: batch 1
        # The toy rounds to 4 decimals: a value within 1e-7 of a rounding boundary (random
        # weights) may round one unit apart in two runtimes (CI, stop 46), so allow one unit.
        np.testing.assert_allclose(rt.roll(steps=6)["y"], toy.roll(steps=6)["y"], atol=1.01e-4)
        np.testing.assert_allclose(rt.predict([[1.0, 0.0, 0.0]])[0]["y"],
                                   toy.predict([[1.0, 0.0, 0.0]])[0]["y"], atol=1.01e-4)


def test_cli_passes_unknown_options_to_predict():
    from zoo.cli import _split_options

    rest, options = _split_options(["predict", "m", "a.mid", "--steps", "128", "--json",
                                    "--temperature=0.9", "--out", "song.mid", "--png"])
    assert rest == ["predict", "m", "a.mid", "--json"]
    assert options == {"steps": 128, "temperature": 0.9, "out": "song.mid", "png": True}


def test_cli_hparam_overrides_any_recipe_key():
    from zoo.cli import _overrides, _parser

    args = _parser().parse_args(["train", "m", "--out", "x", "--epochs", "2", "--hparam",
                                 "head=sigmoid", "--hparam", "dropout=0.3", "--hparam",
                                 "copy=False", "--hparam", "coverage=false"])
    assert _overrides(args) == {"epochs": 2, "head": "sigmoid", "dropout": 0.3, "copy": False,
                                "coverage": False}
