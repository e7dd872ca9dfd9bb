"""The zoo's files as other tools open them: the same model saved twice is the same bytes
(model.keras included), JSON a line a key with a trailing newline (git diff of two
bundles), no machine's paths, readable by others, and a Keras model file handed to
zoo.load named as one."""
import json
import os
import stat
import subprocess
import sys
import time
import zipfile

import pytest

import zoo
from zoo import bundle
from zoo.errors import BundleError


def test_the_same_model_saved_twice_is_the_same_bytes(shipped, tmp_path):
    m = shipped("forecast-lstm")
    m.save(tmp_path / "a")
    time.sleep(2.1)                     # a zip's clock ticks in 2 s
    m.save(tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names:                  # model.keras held Keras's date of saving
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    with zipfile.ZipFile(tmp_path / "a" / "model.keras") as zf:
        assert {i.date_time for i in zf.infolist()} == {bundle.ZIP_EPOCH}
        assert json.loads(zf.read("metadata.json"))["date_saved"] == "1980-01-01@00:00:00"
    assert zoo.load(tmp_path / "b").keras_model.count_params() == m.keras_model.count_params()


def test_a_bundle_saved_over_another_is_swapped_in_whole(shipped, tmp_path, monkeypatch):
    """ZooModel.save wrote its files into the folder one by one: a reader meanwhile (zoo
    serve, another process's zoo.load) met a new model.keras under the old manifest, and a
    crash left that mix for good. Now the bundle is written beside it and swapped in: until
    then the folder is the earlier bundle, whole; a failure leaves it so, with nothing
    beside it; a run's train/ checkpoints and its pictures stay with the new one, and the
    pictures given to save come in with it (they were copied over the earlier bundle's
    first, which then failed its manifest check until the swap, or for good on a crash)."""
    out = shipped("forecast-lstm").save(tmp_path / "run")
    m = zoo.load(out)
    m.keras_model.set_weights([w + 1 for w in m.keras_model.get_weights()])
    (out / "train").mkdir()
    (out / "train" / "checkpoint.keras").write_bytes(b"weights")
    (out / "training_curve.png").write_bytes(b"png")
    bundle.write_manifest(out, "forecast-lstm")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    real = zoo.model.ZooModel.write_card
    seen = []

    def reader_meanwhile(self, *args, **kwargs):    # another process loads it mid-write
        seen.append({p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before)
        bundle.check(out)
        return real(self, *args, **kwargs)
    monkeypatch.setattr(zoo.model.ZooModel, "write_card", reader_meanwhile)
    m.metrics["note"] = "second save"
    (tmp_path / "new-run").mkdir()      # a retrain's pictures come in with its bundle
    (tmp_path / "new-run" / "training_curve.png").write_bytes(b"new png")
    assert m.save(out, pictures=[tmp_path / "new-run" / "training_curve.png"]) == out
    assert seen == [True]
    assert json.loads((out / "metrics.json").read_text())["note"] == "second save"
    assert (out / "train" / "checkpoint.keras").read_bytes() == b"weights"
    assert (out / "training_curve.png").read_bytes() == b"new png"
    assert "training_curve.png" in bundle.check(out)["files"]
    (tmp_path / "new-run" / "training_curve.png").unlink()
    (tmp_path / "new-run").rmdir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]

    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after["model.keras"] != before["model.keras"]

    def interrupted(*args, **kwargs):   # Ctrl-C (or a crash) while the card is written
        raise KeyboardInterrupt
    monkeypatch.setattr(zoo.model.ZooModel, "write_card", interrupted)
    with pytest.raises(KeyboardInterrupt):
        m.save(out)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == after
    bundle.check(out)
    assert (out / "train" / "checkpoint.keras").read_bytes() == b"weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_swap_stopped_half_way_keeps_the_run_s_folders(tmp_path, monkeypatch):
    """The folders a bundle keeps (train/: the checkpoints that resume) move into the new
    one just before the swap: a failed swap, or a writer killed there, gives them back."""
    out = tmp_path / "run"
    (out / "train").mkdir(parents=True)
    (out / "train" / "state").write_text("epoch 3")

    def refused(staging, path):
        raise OSError(13, "Permission denied", str(path))
    monkeypatch.setattr(bundle, "swap_in", refused)
    with pytest.raises(OSError):
        with bundle.replacing(out, keep=True) as staging:
            (staging / "model.keras").write_text("new")
    assert (out / "train" / "state").read_text() == "epoch 3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    monkeypatch.undo()
    dead = tmp_path / ".run.tmp-999999999-1"    # a writer killed after moving train/ in
    dead.mkdir()
    os.rename(out / "train", dead / "train")
    with bundle.replacing(out, keep=True) as staging:
        (staging / "model.keras").write_text("new")
    assert (out / "train" / "state").read_text() == "epoch 3"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_bundle_saved_into_the_current_folder_stays_there(shipped, tmp_path, monkeypatch):
    """m.save(".") swaps the folder: the process is moved into the new one, not left in
    the earlier, deleted folder (every relative path failed after)."""
    monkeypatch.chdir(tmp_path)
    m = shipped("forecast-lstm")
    m.save(".")
    m.save(".")
    assert os.path.samefile(os.getcwd(), tmp_path) and bundle.check(".")


def test_source_date_epoch_dates_model_keras(shipped, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1733011200")      # 2024-12-01 00:00 UTC
    shipped("forecast-lstm").save(tmp_path)
    with zipfile.ZipFile(tmp_path / "model.keras") as zf:
        assert json.loads(zf.read("metadata.json"))["date_saved"] == "2024-12-01@00:00:00"
        assert {i.date_time for i in zf.infolist()} == {(2024, 12, 1, 0, 0, 0)}


def test_bundle_files_are_text_a_line_a_key_readable_and_portable(shipped, tmp_path):
    m = shipped("forecast-lstm")
    old = os.umask(0o022)
    try:
        m.save(tmp_path / "b")
    finally:
        os.umask(old)
    for p in (tmp_path / "b").iterdir():
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode & 0o044 == 0o044 and not mode & 0o002, (p.name, oct(mode))
        if p.suffix in (".json", ".md"):
            text = p.read_text(encoding="utf-8")
            assert text.endswith("\n") and not text.endswith("\n\n"), p.name
            assert str(tmp_path) not in text and os.path.expanduser("~") + "/" not in text
    prep = (tmp_path / "b" / "preprocessor.json").read_text(encoding="utf-8")
    lines = prep.splitlines()      # one line of 300 kB before: git diff showed it all changed
    assert lines[:3] == ["{", ' "model": "forecast-lstm",', ' "preprocessor": {']
    assert ' "hparams": ' in prep and len(lines) > 10
    assert json.loads(prep)["preprocessor"] == json.loads(json.dumps(m.preprocessor))


def test_a_sidecar_is_a_line_a_key(shipped, tmp_path):
    from zoo.export import _write_sidecar

    _write_sidecar(shipped("forecast-lstm"), tmp_path / "m.onnx", "onnx", None)
    text = (tmp_path / "m.onnx.json").read_text(encoding="utf-8")
    assert text.startswith('{\n "model": "forecast-lstm",\n') and text.endswith("\n}\n")
    assert json.loads(text)["format"] == "onnx"


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_keras_model_file_given_to_zoo_load_is_named_as_one(shipped, tmp_path, suffix):
    path = tmp_path / f"net{suffix}"
    shipped("forecast-lstm").keras_model.save(path)
    with pytest.raises(BundleError) as e:
        zoo.load(path)
    msg = str(e.value)
    # a .keras was "a zip archive: unzip it and give the bundle folder inside"
    assert ("legacy HDF5 Keras file" in msg and 'save("x.keras")' in msg if suffix == ".h5"
            else "a Keras model file" in msg and "keras.saving.load_model" in msg)
    assert "unzip" not in msg and "\n" not in msg


def test_a_zipped_bundle_is_still_told_to_unzip(bundle_copy, tmp_path):
    folder = bundle_copy("forecast-lstm")
    with zipfile.ZipFile(tmp_path / "b.zip", "w") as zf:
        for p in folder.iterdir():
            zf.write(p, f"forecast-lstm/{p.name}")
    with pytest.raises(BundleError, match="zip archive: unzip it") as e:
        zoo.load(tmp_path / "b.zip")
    assert "Keras model file" not in str(e.value)


@pytest.mark.slow      # two processes each export three formats: 30 s of `make test`
def test_exports_from_two_processes_differ_only_in_tensorflows_fingerprint(tmp_path):
    """Two processes (as two zoo export runs; within one, TensorFlow numbers its traced
    functions on): TensorFlow writes a random uuid into fingerprint.pb on every save (its
    identity of that save); the graph, weights and the zoo's assets/zoo.json are the same,
    and so are the .onnx (tf2onnx kept a different one of two merged nodes each run) and
    the .tflite with their sidecars. The SavedModel is written first: its saved_model.pb
    names functions by TensorFlow's process-wide counter, so what ran before shows in it."""
    code = ("import sys, pathlib, zoo; from zoo.export import to_saved_model; "
            "m = zoo.load('forecast-lstm'); out = pathlib.Path(sys.argv[1]); "
            "to_saved_model(m, out / 'sm'); m.export(out / 'm.onnx'); m.export(out / 'm.tflite')")
    for name in ("a", "b"):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / name)], check=True,
                       capture_output=True, timeout=300)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert {p.as_posix() for p in files} >= {
        "sm/saved_model.pb", "sm/assets/zoo.json", "m.onnx", "m.onnx.json", "m.tflite",
        "m.tflite.json"}
    differ = [p.as_posix() for p in files
              if (tmp_path / "a" / p).read_bytes() != (tmp_path / "b" / p).read_bytes()]
    assert differ in ([], ["sm/fingerprint.pb"])
    text = (tmp_path / "a" / "sm" / "assets" / "zoo.json").read_text(encoding="utf-8")
    assert text.endswith("\n}\n") and "fingerprint.pb" not in json.loads(text)["sha256"]


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_the_same_weights_export_to_the_same_bytes(shipped, exported, tmp_path, fmt):
    """An export again in the same process (TensorFlow's and tf2onnx's counters moved on:
    the .onnx named its nodes and constants after them) is the same file, and its sidecar's
    sha256 is that file's."""
    first, _ = exported("forecast-lstm", fmt)
    again = tmp_path / first.name
    shipped("forecast-lstm").export(again)
    assert again.read_bytes() == first.read_bytes()
    sidecar = again.with_name(again.name + ".json")
    assert sidecar.read_bytes() == first.with_name(first.name + ".json").read_bytes()
    assert json.loads(sidecar.read_text(encoding="utf-8"))["sha256"] == bundle.sha256(again)


def _loop_model(swap: bool):
    """y = x summed over `n` steps by a Loop, its body returning the state s and Identity(s)
    (the scan output); `swap` builds it as tf2onnx does on another run: other names, nodes
    in another order, the Identity on the state's place."""
    from onnx import TensorProto, helper

    p = "b_" if swap else "a_"
    add = helper.make_node("Add", [p + "s_in", "x"], [p + "s"], name=p + "add")
    ident = helper.make_node("Identity", [p + "s"], [p + "copy"], name=p + "id")
    keep = helper.make_node("Identity", [p + "c_in"], [p + "c"], name=p + "keep")
    state, scan = (p + "copy", p + "s") if swap else (p + "s", p + "copy")
    vec = [TensorProto.FLOAT, [2]]
    body = helper.make_graph(
        [keep, add, ident] if swap else [add, ident, keep], p + "body_frozen_" + p,
        [helper.make_tensor_value_info(p + "i", TensorProto.INT64, []),
         helper.make_tensor_value_info(p + "c_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info(p + "s_in", *vec)],
        [helper.make_tensor_value_info(p + "c", TensorProto.BOOL, []),
         helper.make_tensor_value_info(state, *vec), helper.make_tensor_value_info(scan, *vec)])
    consts = [helper.make_tensor(p + "n", TensorProto.INT64, [], [3]),
              helper.make_tensor(p + "t", TensorProto.BOOL, [], [True]),
              helper.make_tensor(p + "zero", TensorProto.FLOAT, [2], [0, 0])]
    loop = helper.make_node("Loop", [p + "n", p + "t", p + "zero"], ["y", p + "steps"],
                            name=p + "loop", body=body)
    graph = helper.make_graph([loop], "g", [helper.make_tensor_value_info("x", *vec)],
                              [helper.make_tensor_value_info("y", *vec)],
                              consts[::-1] if swap else consts, doc_string=f"from fn_{p}")
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                             ir_version=8)         # what tf2onnx writes for opset 17


def test_an_onnx_graph_is_named_by_what_it_computes():
    import numpy as np
    import onnx
    import onnxruntime as ort

    from zoo.onnx_names import canonicalize

    a, b = _loop_model(swap=False), _loop_model(swap=True)
    assert a.SerializeToString() != b.SerializeToString()
    for m in (a, b):
        canonicalize(m)
        onnx.checker.check_model(m, full_check=True)
    assert a.SerializeToString() == b.SerializeToString()
    assert [n.name for n in a.graph.node] == ["Loop_0"]
    assert a.graph.node[0].attribute[0].g.name == "Loop_0/body"
    assert [i.name for i in a.graph.input] == ["x"] and a.graph.output[0].name == "y"
    x = np.array([1.0, 2.0], np.float32)
    (y,) = ort.InferenceSession(a.SerializeToString()).run(["y"], {"x": x})
    assert y.tolist() == [3.0, 6.0]


def test_an_onnx_export_as_netron_shows_it(exported):
    import onnx
    import onnxruntime as ort

    path, _ = exported("forecast-lstm", "onnx")
    m = onnx.load(str(path))
    assert m.graph.name == "forecast-lstm"          # was "tf2onnx"
    assert {o.domain: o.version for o in m.opset_import}[""] == 17
    assert [i.name for i in m.graph.input] == ["context", "window"]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert session.get_modelmeta().graph_name == "forecast-lstm"
    assert path.with_name(path.name + ".json").read_text(encoding="utf-8").endswith("\n}\n")
