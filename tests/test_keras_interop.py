"""The zoo's networks as a Keras user handles them (`m.keras_model`, a plain keras.Model):
clone_model, get_config/from_config, JSON and .keras round trips give the same outputs with
the same weights, and a network put in its place is the one predict runs."""
import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import zoo
from zoo.errors import InputError

REPO = Path(__file__).resolve().parent.parent


def fake_inputs(model, rows=2, steps=6):
    """Random inputs of the network's own shapes and types (unknown lengths: `steps`)."""
    rng = np.random.default_rng(0)
    out = {}
    for name, spec in model.input.items():
        shape = [rows] + [d or steps for d in spec.shape[1:]]
        out[name] = (rng.integers(0, 4, size=shape) if "int" in str(spec.dtype)
                     else rng.uniform(0, 1, size=shape)).astype(spec.dtype)
    return out


def outputs(model, x):
    return {k: np.asarray(v) for k, v in model(x, training=False).items()}


def same_outputs(a, b, x):
    want, got = outputs(a, x), outputs(b, x)
    return sorted(want) == sorted(got) and all(np.allclose(want[k], got[k], atol=1e-5)
                                               for k in want)


def round_trips(model, tmp_path):
    import keras

    yield "from_config", keras.Model.from_config(model.get_config())
    yield "clone_model", keras.models.clone_model(model)
    yield "json", keras.models.model_from_json(model.to_json())
    model.save(tmp_path / "x.keras")
    yield "keras file", keras.saving.load_model(tmp_path / "x.keras")     # safe_mode on


@pytest.mark.parametrize("name", ["forecast-lstm", "ner-bilstm",
                                  pytest.param("caption-cnn-lstm", marks=pytest.mark.slow),
                                  pytest.param("charlm-lstm", marks=pytest.mark.slow),
                                  pytest.param("music-lstm", marks=pytest.mark.slow),
                                  pytest.param("speech-ctc", marks=pytest.mark.slow),
                                  pytest.param("speech-ctc-stream", marks=pytest.mark.slow),
                                  pytest.param("summarize-attn", marks=pytest.mark.slow)])
def test_every_custom_layer_round_trips_with_the_same_outputs(name, tmp_path):
    km = zoo.load(name).keras_model
    x = fake_inputs(km)
    for how, other in round_trips(km, tmp_path):
        if how != "keras file":
            other.set_weights(km.get_weights())
        assert same_outputs(km, other, x), how
        assert other.count_params() == km.count_params(), how


def test_a_network_put_in_place_is_the_one_predict_runs():
    import keras

    m = zoo.load("forecast-lstm")
    x = fake_inputs(m.keras_model)
    zeroed = keras.models.clone_model(m.keras_model)
    zeroed.set_weights([w * 0 for w in m.keras_model.get_weights()])
    m.keras_model = zeroed          # it kept predicting with the network traced at load
    got = {k: np.asarray(v) for k, v in m._call(x).items()}
    assert all(np.allclose(got[k], v) for k, v in outputs(zeroed, x).items())
    assert np.allclose(copy.deepcopy(m).keras_model.get_weights()[0], 0)


def test_a_network_put_in_place_must_be_a_keras_model_with_the_same_inputs():
    m = zoo.load("forecast-lstm")
    with pytest.raises(InputError, match="keras_model must be a keras.Model; got str"):
        m.keras_model = "model.keras"
    with pytest.raises(InputError, match=r"inputs \['casing', 'char_ids', 'word_ids'\]; "
                                         r"expected forecast-lstm's \['context', 'window'\]"):
        m.keras_model = zoo.load("ner-bilstm").keras_model
    assert m.predict(zoo.dataset("forecast-lstm", "valid")[:1])     # still whole


def test_a_saved_network_loads_in_a_fresh_process_as_documented(tmp_path):
    """`import zoo` registers nothing (it imports no TensorFlow); zoo.layers and the
    application's model module do, and Keras names the class it cannot find without them."""
    m = zoo.load("forecast-lstm")
    m.keras_model.save(tmp_path / "x.keras")
    x = fake_inputs(m.keras_model)
    np.savez(tmp_path / "x.npz", **x, **{"want_" + k: v for k, v in outputs(m.keras_model, x).items()})
    script = ("import sys, keras, numpy as np\n"
              "if sys.argv[1] == 'imported':\n"
              "    import zoo.layers, zoo_pipelines.forecasting.model\n"
              f"m = keras.saving.load_model({str(tmp_path / 'x.keras')!r})\n"
              f"d = np.load({str(tmp_path / 'x.npz')!r})\n"
              "got = m({k: d[k] for k in ('window', 'context')})['quantiles']\n"
              "print(np.allclose(got, d['want_quantiles'], atol=1e-5))\n")
    run = lambda how: subprocess.run([sys.executable, "-c", script, how], cwd=REPO,  # noqa: E731
                                     capture_output=True, text=True, timeout=300)
    assert run("imported").stdout.strip().endswith("True")
    bare = run("bare")
    assert bare.returncode != 0 and "Could not locate class 'WindowScaler'" in bare.stderr


def test_a_layer_the_user_froze_stays_frozen_through_fine_tune(tmp_path):
    """fine_tune rebuilds the network, and every layer trained again, silently: a frozen
    encoder came back trainable with changed weights. A network frozen whole is refused."""
    m = zoo.load("forecast-lstm")
    examples = zoo.dataset("forecast-lstm", "valid")[:16]
    m.keras_model.get_layer("encoder").trainable = False
    before = m.keras_model.get_layer("encoder").get_weights()
    tuned = m.fine_tune(examples, epochs=1, steps_per_epoch=2)
    encoder = tuned.keras_model.get_layer("encoder")
    assert not encoder.trainable and tuned.keras_model.get_layer("mix").trainable
    assert all(np.array_equal(a, b) for a, b in zip(before, encoder.get_weights()))
    m.keras_model.trainable = False
    with pytest.raises(InputError, match="every layer is frozen"):
        m.fine_tune(examples, epochs=1)
    m.keras_model.trainable = True
