"""Exports used in their own tools, without the zoo: plain LiteRT, plain ONNX Runtime and
TensorFlow's SavedModel loader read what the README's "Using an export in another
program" says they hold (signature names, free axes, metadata, versions and sha256), and
the README's snippet runs literally with neither TensorFlow nor the zoo imported."""
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def forecast(shipped, tmp_path_factory):
    """forecast-lstm (the smallest shipped model) as forecast.tflite, forecast.onnx and a
    SavedModel folder, exported once."""
    out = tmp_path_factory.mktemp("standalone")
    m = shipped("forecast-lstm")
    for target in ("forecast.tflite", "forecast.onnx", "forecast_savedmodel"):
        m.export(out / target)
    return out


def readme_snippet() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("### Using an export in another program", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_snippet_runs_without_tensorflow_or_zoo(forecast):
    """Each print's output is what its comment says; nothing imports TensorFlow or the zoo."""
    code = readme_snippet()
    script = code + ('\nimport sys\nassert not {"tensorflow", "zoo", "keras"} & set(sys.modules), '
                     'sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "zoo"))\n')
    run = subprocess.run([sys.executable, "-c", script], cwd=forecast, capture_output=True,
                         text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    printed = [line for line in run.stdout.splitlines() if line.strip()]
    expected = [line.split("# ", 1)[1].strip() for line in code.splitlines()
                if line.startswith("print(") and "# " in line]
    assert len(printed) == len(expected) == 5
    for got, want in zip(printed, expected):
        assert want.startswith(got), (got, want)


def test_onnx_names_its_axes_and_says_what_it_is(forecast):
    import onnx
    import onnxruntime as ort

    path = forecast / "forecast.onnx"
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["zoo.model"] == "forecast-lstm" and meta["zoo.sidecar"] == "forecast.onnx.json"
    assert json.loads(meta["zoo.versions"])["tensorflow"]
    assert {i.name: i.shape for i in session.get_inputs()} == {
        "context": ["batch", 2], "window": ["batch", 64, 10]}      # 64 days: fixed
    out = session.run(None, {"context": np.zeros((3, 2), np.float32),
                             "window": np.zeros((3, 64, 10), np.float32)})
    assert out[0].shape == (3, 10, 5)


def test_sidecar_and_saved_model_record_versions_and_sha256(forecast):
    side = json.loads((forecast / "forecast.tflite.json").read_text())
    assert side["versions"]["tensorflow"] and "rnn-zoo" in side["versions"]
    assert side["sha256"] == hashlib.sha256((forecast / "forecast.tflite").read_bytes()).hexdigest()
    sm = forecast / "forecast_savedmodel"
    card = json.loads((sm / "assets" / "zoo.json").read_text())
    assert card["versions"]["keras"] and card["signatures"] == ["features", "serving_default"]
    assert card["sha256"]["variables/variables.index"] == hashlib.sha256(
        (sm / "variables" / "variables.index").read_bytes()).hexdigest()
    assert set(card["sha256"]) >= {"saved_model.pb", "variables/variables.index"}
    # nothing machine-specific: the folder it was written in appears in no file
    for f in [*forecast.glob("*.json"), sm / "assets" / "zoo.json", sm / "saved_model.pb"]:
        assert str(forecast).encode() not in f.read_bytes(), f


def test_a_lone_function_signature_keeps_its_name():
    """The converter names a single signature "serving_default": music-lstm's, charlm-lstm's
    and speech-ctc-stream's `step` (the name the sidecar and the README give) was missing
    from get_signature_list()."""
    import keras
    from ai_edge_litert.interpreter import Interpreter

    from zoo.export import _signature_fn, _static_shapes, tflite_bytes

    x = keras.Input((4,), name="frame")
    model = keras.Model({"frame": x}, {"h": keras.layers.Dense(3)(x)})
    lite = tflite_bytes(model, {"step": _signature_fn(model, _static_shapes(model), "step")})
    interpreter = Interpreter(model_content=lite)
    assert interpreter.get_signature_list() == {"step": {"inputs": ["frame"], "outputs": ["h"]}}
    out = interpreter.get_signature_runner("step")(frame=np.ones((1, 4), np.float32))
    assert out["h"].shape == (1, 3)
