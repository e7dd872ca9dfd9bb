"""A user's own Keras / TensorFlow settings made before the zoo is imported: keras.json
(channels_first, floatx), keras.config / mixed_precision calls, KERAS_BACKEND, a Keras name
registered again. The shipped models answer as they do under Keras's defaults (they run
under the settings they were built with, the user's are back afterwards) or the zoo says in
one line what it cannot run under. Each probe runs in its own process: the settings are the
whole process's."""
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
exec(sys.argv[1])
import keras, zoo
D = sys.argv[2]
m = zoo.load("forecast-lstm")
out = {"forecast": m.predict(D, horizon=3)[0]["forecast"].round(4).tolist(),
       "summary": zoo.load("summarize-attn").predict(["A small tool that prints the date."])[0]["summary"],
       "ner": [e["type"] for e in zoo.load("ner-bilstm").predict("Angela Merkel visited Paris .")[0]["entities"]],
       "settings": [keras.config.floatx(), keras.config.dtype_policy().name,
                    keras.config.image_data_format()]}
print(json.dumps(out))
"""


def run(code: str, *args, env=None, script=PROBE):
    proc = subprocess.run([sys.executable, "-c", script, code, *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    return proc


def prices(tmp_path) -> Path:
    import numpy as np

    rng = np.random.default_rng(0)
    rows = ["date,AAA"] + [f"2020-01-{d:02d},{100 + v:.3f}" for d, v in
                           zip(range(1, 32), np.cumsum(rng.normal(0, 1, 31)))]
    rows += [f"2020-02-{d:02d},{100 + v:.3f}" for d, v in
             zip(range(1, 29), np.cumsum(rng.normal(0, 1, 28)))]
    rows += [f"2020-03-{d:02d},{100 + v:.3f}" for d, v in
             zip(range(1, 31), np.cumsum(rng.normal(0, 1, 30)))]
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def answers(proc) -> dict:
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_user_keras_settings_do_not_change_the_shipped_answers(tmp_path):
    """keras.json's channels_first failed ner-bilstm's load; its floatx float64 and a
    mixed_float16 policy were raw 'Can not cast TensorSpec' errors in forecast and
    summarize predict. The answers are the defaults' and the user's settings survive."""
    data = prices(tmp_path)
    default = answers(run("", data))
    home = tmp_path / "home"
    (home / ".keras").mkdir(parents=True)
    (home / ".keras" / "keras.json").write_text(json.dumps(
        {"image_data_format": "channels_first", "floatx": "float64"}))
    from_file = answers(run("", data, env={"HOME": str(home), "KERAS_HOME": str(home / ".keras")}))
    assert from_file.pop("settings") == ["float64", "float64", "channels_first"]
    mixed = answers(run("import keras; keras.mixed_precision.set_global_policy('mixed_float16')",
                        data))
    assert mixed.pop("settings") == ["float32", "mixed_float16", "channels_last"]
    default.pop("settings")
    assert default["ner"] == ["PER", "LOC"]
    assert from_file == default and mixed == default


def test_another_keras_backend_is_one_line(tmp_path):
    """KERAS_BACKEND=jax without jax was 'No module named jax' from zoo.load; the zoo
    command is a TensorFlow program and pins the backend itself."""
    script = ("import sys, zoo\ntry:\n    zoo.load('ner-bilstm')\n"
              "except zoo.ZooError as e:\n    print('ZooError:', e)\n")
    proc = run("", script=script, env={"KERAS_BACKEND": "jax"})
    assert "ZooError: Keras is set to the jax backend" in proc.stdout, proc.stderr[-2000:]
    assert "expected KERAS_BACKEND=tensorflow" in proc.stdout
    cli = subprocess.run([sys.executable, "-m", "zoo.cli", "predict", "ner-bilstm",
                          "Angela Merkel visited Paris ."], capture_output=True, text=True,
                         timeout=300, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO), "KERAS_BACKEND": "jax"})
    assert cli.returncode == 0 and "Angela Merkel [PER]" in cli.stdout, cli.stderr[-2000:]


def test_a_zoo_layer_name_registered_again_is_named(tmp_path):
    script = """
import keras, zoo.layers
@keras.saving.register_keras_serializable(package="zoo")
class CRF(keras.layers.Layer):
    pass
try:
    zoo.load("ner-bilstm")
except zoo.ZooError as e:
    print("ZooError:", e)
"""
    proc = run("", script=script)
    assert "ZooError: the Keras name 'zoo>CRF' of the zoo's CRF is registered again by " \
           "__main__.CRF" in proc.stdout, proc.stderr[-2000:]
