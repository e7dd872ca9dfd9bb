"""zoo.testing over every registered model, without its shipped weights: a tiny model
trained two steps on real data is saved and loaded, exported to every format with parity,
run by zoo.runtime without TensorFlow, and fed bad input. A new entry passes this before
it has ever been trained for real."""
import pytest

import zoo
from zoo import testing

MODELS = zoo.list_models()


@pytest.mark.parametrize("name", MODELS)
def test_entry_declares_a_tiny_recipe(name):
    entry = zoo.registry.get(name)
    assert entry.tiny, f"{name}: register(..., tiny={{...}}) makes the harness's model small"
    assert not set(entry.tiny) & set(testing.FEW_STEPS) - {"batch_size"}, \
        "the harness decides how long a tiny model trains"


@pytest.mark.parametrize("name", MODELS)
def test_tiny_model_saves_and_loads_with_the_same_answers(name, tiny, tmp_path):
    testing.check_save_load(tiny(name), tmp_path / "bundle")


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("target", [t for t, _ in testing.EXPORTS])
def test_tiny_model_exports_with_parity(name, target, tiny_exported):
    path, report = tiny_exported(name, target)          # zoo.testing.check_export checked it
    assert report["format"].startswith(path.suffix.lstrip(".") or "saved_model")


@pytest.mark.parametrize("name", MODELS)
def test_exports_run_without_tensorflow(name, tiny, tiny_exported, tmp_path):
    paths = [tiny_exported(name, t)[0] for t, _ in testing.EXPORTS if t.endswith((".tflite", ".onnx"))]
    testing.check_runtime_without_tensorflow(tiny(name), paths, tmp_path)


@pytest.mark.parametrize("name", MODELS)
def test_bad_inputs_get_clear_errors(name, tiny):
    testing.check_bad_inputs(tiny(name))
