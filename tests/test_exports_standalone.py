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


def test_a_keras_file_given_to_the_runtime_gets_zoo_loads_help(tmp_path):
    """A .h5 or .keras handed to zoo.runtime.load was "its sidecar m.h5.json is missing";
    it now gets the hint zoo.load gives the same file (zoo.bundle.keras_file)."""
    import zipfile

    import zoo
    import zoo.runtime
    from zoo.errors import BundleError

    (tmp_path / "m.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))
    with zipfile.ZipFile(tmp_path / "m.keras", "w") as z:
        z.writestr("config.json", "{}")
        z.writestr("metadata.json", "{}")
    for name, words in (("m.h5", "legacy HDF5 Keras file"), ("m.keras", "the network alone")):
        with pytest.raises(BundleError) as by_runtime:
            zoo.runtime.load(tmp_path / name)
        with pytest.raises(BundleError) as by_load:
            zoo.load(tmp_path / name)
        hint = str(by_load.value).split("; it is ", 1)[1]
        assert words in hint and str(by_runtime.value) == (
            f"{tmp_path / name}: not an export (a .tflite or .onnx file ZooModel.export() "
            f"writes); it is {hint}")


@pytest.mark.parametrize("bad", [[], [{}], {"dates": [], "close": []}, [None],
                                 [{"dates": ["2020-01-02"], "close": [-1.0]}]])
def test_an_export_refuses_bad_input_as_the_bundle_does(forecast, shipped, bad):
    """The same bad input to zoo.load(name).predict and to zoo.runtime.load(export).predict
    raises the same class with the same message."""
    import zoo.runtime

    errors = []
    for model in (shipped("forecast-lstm"), zoo.runtime.load(forecast / "forecast.onnx")):
        with pytest.raises(Exception) as e:
            model.predict(bad, horizon=2)
        errors.append((type(e.value), str(e.value)))
    assert errors[0] == errors[1] and errors[0][0].__name__ == "InputError", errors
