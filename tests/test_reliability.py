"""Reliability and security (issue 15): threads over one TFLite runtime model, exports that
do not delete the user's folder, sidecars and manifests that cannot choose code or read
outside their folder, decompression bombs, huge audio, strings that are not paths."""
import hashlib
import io
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import zoo
import zoo.bundle
from zoo.errors import BundleError, ExportError, InputError, ZooError

REPO = Path(__file__).resolve().parent.parent


# ---- 1. one runtime model, many threads ------------------------------------------------------
THREADS_SCRIPT = r'''
import json, sys, threading
import numpy as np
import zoo.runtime

def canon(x):                                   # DataFrames and arrays to plain lists
    if hasattr(x, "to_dict"):
        return canon(x.to_dict("split"))
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, dict):
        return {k: canon(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [canon(v) for v in x]
    return x

path, examples = sys.argv[1], json.load(open(sys.argv[2]))
m = zoo.runtime.load(path)
ref = [canon(m.predict([e])) for e in examples]
bad, errors = [], []

def work(t):
    try:
        for c in range(25):
            i = (t * 7 + c) % len(examples)      # threads run different inputs at once
            if canon(m.predict([examples[i]])) != ref[i]:
                bad.append(i)
    except Exception as e:
        errors.append(repr(e)[:300])

threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({"mismatches": len(bad), "errors": errors}))
sys.exit(1 if bad or errors else 0)
'''


@pytest.fixture(scope="module")
def tflite_exports(tiny, tiny_exported):
    """Tiny ner-bilstm and forecast-lstm models as .tflite (zoo.testing), with their parity
    examples beside them."""
    paths = {}
    for name in ("ner-bilstm", "forecast-lstm"):
        path, _ = tiny_exported(name, "model.tflite")
        path.with_name(f"{name}.examples.json").write_text(json.dumps(tiny(name).parity_examples()))
        paths[name] = path
    return paths


@pytest.mark.parametrize("name", ["ner-bilstm", "forecast-lstm"])
def test_tflite_runtime_is_thread_safe(name, tflite_exports):
    # In a subprocess: a shared interpreter segfaults, which must fail this test, not pytest.
    path = tflite_exports[name]
    proc = subprocess.run([sys.executable, "-c", THREADS_SCRIPT, str(path),
                           str(path.with_name(f"{name}.examples.json"))],
                          capture_output=True, text=True, timeout=600, cwd=REPO)
    assert proc.returncode == 0, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"mismatches": 0, "errors": []}


def test_runtime_takes_predicts_batch_size_as_the_keras_model_does(tflite_exports):
    """Code written for zoo.load ran into "unknown option 'batch_size'" on an export."""
    import zoo.runtime

    m = zoo.runtime.load(tflite_exports["ner-bilstm"])
    sentence = ["EU rejects German call ."]
    assert m.predict(sentence, batch_size=8) == m.predict(sentence)
    with pytest.raises(InputError, match=r"batch_size must be an integer in 1\.\.1024; got 0"):
        m.predict(sentence, batch_size=0)


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True, 10**6, 2**40])
def test_runtime_threads_is_checked(threads, tflite_exports):
    """LiteRT took 0, -1, 1.5 or "2" as a model it "cannot open", 2**40 was a raw TypeError
    and 10**6 started a million threads."""
    import zoo.runtime

    with pytest.raises(InputError, match=r"threads must be an integer in 1\.\.256; got "):
        zoo.runtime.load(tflite_exports["ner-bilstm"], threads=threads)
    m = zoo.runtime.load(tflite_exports["ner-bilstm"], threads=2)
    assert m.predict(["EU rejects German call ."]) == zoo.runtime.load(
        tflite_exports["ner-bilstm"]).predict(["EU rejects German call ."])


# ---- 2. SavedModel exports do not delete the user's folder ----------------------------------
@pytest.fixture(scope="module")
def forecaster(tiny):
    return tiny("forecast-lstm")


def test_saved_model_export_refuses_a_folder_of_other_files(forecaster, tiny_bundle, tmp_path,
                                                            capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ExportError, match=r"mine.*overwrite=True"):
        forecaster.export(out)
    assert (out / "notes.txt").read_text() == "keep me"
    from zoo.cli import main

    bundle = str(tiny_bundle("forecast-lstm"))
    assert main(["export", bundle, "--format", "saved_model", "--out", str(out)]) == 2
    assert (out / "notes.txt").read_text() == "keep me"
    capsys.readouterr()
    assert main(["export", bundle, "--format", "saved_model", "--out", str(out),
                 "--overwrite"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1],
                        parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert report["agreement"] == 1.0 and report["max_abs_diff"] is None   # not measured
    assert (out / "saved_model.pb").is_file() and not (out / "notes.txt").exists()
    forecaster.export(out)          # an earlier export is replaced without --overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"], "no temporary folders left"
    with pytest.raises(BundleError, match=r"mine: a SavedModel export, not a bundle"):
        zoo.load(out)                                    # was "no manifest.json"


def test_quantize_is_refused_where_it_would_not_apply(forecaster, tmp_path):
    """Only TFLite quantizes: a float16 SavedModel or ONNX request is refused before any
    work, not written as float32 under a float16 label."""
    for name, kind in (("sm", "SavedModel"), ("m.onnx", "ONNX")):
        with pytest.raises(ExportError, match=f"TFLite exports only; {name} would be a float32 {kind}"):
            forecaster.export(tmp_path / "new" / name, quantize="float16")
    assert list(tmp_path.iterdir()) == [], "nothing written, not even the folder"


def test_export_out_whose_suffix_names_another_format_is_refused(tiny_bundle, tmp_path, capsys):
    """`--format tflite --out m.onnx` wrote m.onnx.tflite, and `--format saved_model --out
    m.tflite` wrote a TFLite file: the suffix and the format must agree."""
    from zoo.cli import main

    bundle = str(tiny_bundle("forecast-lstm"))
    for fmt, name, want in (("tflite", "m.onnx", "ending in .tflite"),
                            ("saved_model", "m.tflite", "naming a folder")):
        assert main(["export", bundle, "--format", fmt, "--out", str(tmp_path / name)]) == 2
        assert f"but --format is {fmt}; expected --out {want}" in capsys.readouterr().err
    # m.TFLITE was written as m.TFLITE.tflite, which predict then named "not a bundle"
    assert main(["export", bundle, "--format", "tflite", "--out", str(tmp_path / "m.TFLITE")]) == 2
    assert "write the suffix in lower case (.tflite)" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [], "nothing written"
    (tmp_path / "m.ONNX").write_bytes(b"onnx")
    with pytest.raises(BundleError, match="an export is named with a lower-case .onnx"):
        zoo.load(tmp_path / "m.ONNX")


def test_export_out_that_is_a_folder_gets_the_file_inside(tiny_bundle, tmp_path, capsys):
    """`--format onnx --out DIR` wrote DIR.onnx beside the folder, not in it."""
    from zoo.cli import main

    bundle = tiny_bundle("forecast-lstm")
    folder = tmp_path / "exports"
    folder.mkdir()
    assert main(["export", str(bundle), "--format", "onnx", "--out", str(folder)]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["agreement"] >= 0.99
    written = sorted(p.name for p in folder.iterdir())
    assert written == [f"{bundle.name}.onnx", f"{bundle.name}.onnx.json"], written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


def test_failed_saved_model_export_leaves_the_old_folder(forecaster, tmp_path, monkeypatch):
    import tensorflow as tf

    out = tmp_path / "sm"
    (out / "assets").mkdir(parents=True)
    (out / "saved_model.pb").write_bytes(b"an earlier export")
    (out / "assets" / "zoo.json").write_text("{}")

    def broken_save(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        forecaster.export(out)
    assert (out / "saved_model.pb").read_bytes() == b"an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sm"], "no temporary folders left"


@pytest.mark.parametrize("name", ["m.tflite", "m.onnx"])
def test_failed_file_export_leaves_the_earlier_export(name, forecaster, tmp_path, monkeypatch):
    """A failed parity check left its model and sidecar over the earlier export (loadable
    as if it had passed); now the new files are moved into place only once checked."""
    import zoo.export
    import zoo.runtime

    out = tmp_path / name
    forecaster.export(out)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.setattr(zoo.export, "parity", lambda *args, **kwargs: {
        "agreement": 0.5, "examples": 2, "max_abs_diff": None})
    with pytest.raises(ExportError, match="parity check failed"):
        forecaster.export(out)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before, "no leftovers"
    zoo.runtime.load(out)


def test_export_into_a_read_only_folder_names_the_file_asked_for(forecaster, tmp_path, monkeypatch):
    """A read-only folder said `error: DIR/.m.onnx.tmp-14cd9285: Permission denied`: a hidden
    staging folder the user never named. (Root writes anywhere, so the refusal is faked.)"""
    import pathlib

    mkdir = pathlib.Path.mkdir

    def read_only(self, *args, **kwargs):
        if self.name.startswith(".m.onnx.tmp-"):     # export's staging folder (_beside)
            raise PermissionError(13, "Permission denied", str(self))
        return mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", read_only)
    with pytest.raises(PermissionError) as e:
        forecaster.export(tmp_path / "m.onnx")
    assert e.value.filename == str(tmp_path / "m.onnx") and list(tmp_path.iterdir()) == []


def test_bad_export_paths_and_floors_are_refused_before_any_work(forecaster, tmp_path):
    """A folder named m.tflite and a string floor failed only after the conversion and
    parity check (IsADirectoryError naming a temporary folder, a raw TypeError); m.TFLITE
    was written as a SavedModel folder."""
    (tmp_path / "d.tflite").mkdir()
    for path, options, message in [
            ("d.tflite", {}, r"d.tflite: is a folder; expected the .tflite file to write"),
            ("m.TFLITE", {}, r"m.TFLITE: write the suffix in lower case \(.tflite\)"),
            ("m.ONNX", {}, r"m.ONNX: write the suffix in lower case \(.onnx\)"),
            ("b" * 248 + ".onnx", {}, r"\(253 bytes\): too long a file name"),
            ("m.tflite", {"min_agreement": "0.5"}, r"min_agreement must be a finite number in 0"),
            ("m.tflite", {"min_agreement": 2}, r"min_agreement must be a finite number in 0")]:
        with pytest.raises(ZooError, match=message):
            forecaster.export(tmp_path / path, **options)
    assert [p.name for p in tmp_path.iterdir()] == ["d.tflite"]


# ---- 3. the sidecar cannot choose code, and pins the model file ------------------------------
def _fake_export(folder: Path, host: str, sha: str | None = "auto") -> Path:
    path = folder / "model.tflite"
    path.write_bytes(b"not really a model")
    meta = {"model": "x", "format": "tflite", "host": host, "config": {}, "buckets": None,
            "outputs": None}
    if sha:
        meta["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest() if sha == "auto" else sha
    (folder / "model.tflite.json").write_text(json.dumps(meta))
    return path


def test_sidecar_cannot_import_an_unregistered_module(tmp_path, monkeypatch):
    (tmp_path / "evilhost.py").write_text(
        "from pathlib import Path\nPath('ran.txt').write_text('ran')\n"
        "class Host:\n    def __init__(self, config): pass\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for sha in ("auto", None, "0" * 64):        # hash right, missing, wrong
        path = _fake_export(tmp_path, "evilhost", sha)
        with pytest.raises(BundleError):
            zoo.runtime.load(path)
        assert not (tmp_path / "ran.txt").exists() and "evilhost" not in sys.modules
    path = _fake_export(tmp_path, "evilhost")
    with pytest.raises(BundleError, match="'evilhost' is not the host of a registered model"):
        zoo.runtime.load(path)


def test_changed_model_file_or_missing_hash_is_refused(tflite_exports, tmp_path):
    src = tflite_exports["ner-bilstm"]
    path = tmp_path / "ner.tflite"
    data = bytearray(src.read_bytes())
    data[len(data) // 2] ^= 1                    # one bit of the weights
    path.write_bytes(bytes(data))
    meta = json.loads(Path(str(src) + ".json").read_text())
    Path(str(path) + ".json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="sha256 .* does not match"):
        zoo.runtime.load(path)
    del meta["sha256"]
    Path(str(path) + ".json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="no sha256"):
        zoo.runtime.load(path)


@pytest.mark.parametrize("text", ["not json {", "[1, 2]", "{}", '{"format": "tflite"}',
                                  '{"format": "tflite", "host": 3, "config": {}}'])
def test_malformed_sidecar_is_a_bundle_error(text, tmp_path):
    path = tmp_path / "model.tflite"
    path.write_bytes(b"x")
    Path(str(path) + ".json").write_text(text)
    with pytest.raises(BundleError, match="model.tflite.json"):
        zoo.runtime.load(path)


# ---- 4. bundle manifests ---------------------------------------------------------------------
def _edit_manifest(path: Path, edit) -> None:
    """`edit(manifest)` changes it in place, or returns a replacement (a list)."""
    manifest = json.loads((path / "manifest.json").read_text())
    replaced = edit(manifest)
    (path / "manifest.json").write_text(json.dumps(replaced if isinstance(replaced, list)
                                                   else manifest))


def _add_file(name: str, target: Path):
    def edit(m):
        m["files"][name] = zoo.bundle.sha256(target) if target.is_file() else "0" * 64
    return edit


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink", "unlisted", "list",
                                  "other-model", "unknown-model", "model-not-str"])
def test_manifest_is_not_trusted(case, bundle_copy, tmp_path):
    path = bundle_copy("forecast-lstm")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the bundle")
    edits = {
        "dotdot": _add_file("../secret.txt", secret),
        "absolute": _add_file(str(secret), secret),
        "unlisted": lambda m: m["files"].pop("model.keras"),
        "list": lambda m: [m],
        "other-model": lambda m: m.update(model="ner-bilstm"),
        "unknown-model": lambda m: m.update(model="no-such-model"),
        "model-not-str": lambda m: m.update(model=123),
    }
    if case == "symlink":              # same bytes, but a link: the loader would follow it
        outside = tmp_path / "model.keras"
        outside.write_bytes((path / "model.keras").read_bytes())
        (path / "model.keras").unlink()
        (path / "model.keras").symlink_to(outside)
    else:
        _edit_manifest(path, edits[case])
    with pytest.raises(BundleError):
        zoo.load(path)


@pytest.mark.parametrize("version", [0, True, -7, "1", None, 1.0])
def test_invalid_format_version_is_refused(version, bundle_copy):
    path = bundle_copy("forecast-lstm")
    _edit_manifest(path, lambda m: m.update(format_version=version))
    with pytest.raises(BundleError, match="format_version .* is not valid; expected an integer"):
        zoo.load(path)


@pytest.mark.parametrize("target", ["/dev/zero", "fifo"])
def test_manifest_entry_that_never_ends_is_refused(target, bundle_copy, tmp_path):
    path = bundle_copy("forecast-lstm")
    if target == "fifo":
        os.mkfifo(path / "extra.bin")
        target = "extra.bin"
    _edit_manifest(path, lambda m: m["files"].update({target: "0" * 64}))
    # In a subprocess: reading /dev/zero or a FIFO never ends, which must fail this test.
    code = ("import sys, zoo.bundle\n"
            "try:\n    zoo.bundle.check(sys.argv[1])\n"
            "except zoo.errors.BundleError as e:\n    print('BundleError:', e)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert proc.stdout.startswith("BundleError:"), (proc.stdout, proc.stderr[-1000:])


@pytest.mark.parametrize("name", [None, 123, "", ["ner-bilstm"]])
def test_load_of_a_non_name_is_a_zoo_error(name):
    with pytest.raises(ZooError, match="expected a registered model name or a bundle directory"):
        zoo.load(name)


# ---- 5. decompression bombs and huge audio ---------------------------------------------------
@pytest.mark.parametrize("side", [20000, 10000])
def test_image_bomb_is_refused_before_decoding(side, tmp_path):
    from PIL import Image

    from zoo_pipelines.captioning import host as H

    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, "PNG")     # ~50 KB / 12 KB on disk
    assert len(buf.getvalue()) < 100_000
    (tmp_path / "bomb.png").write_bytes(buf.getvalue())
    for item in (buf.getvalue(), tmp_path / "bomb.png"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")              # no DecompressionBombWarning either
            with pytest.raises(InputError, match=rf"{side * side}|{side} x {side}"):
                H.load_image(item, 64, "input 0")


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_audio_longer_than_the_limit_is_refused_from_its_header(tmp_path):
    import soundfile as sf

    from zoo_pipelines.speech import host as H

    path = tmp_path / "long.wav"
    sf.write(path, _tone(21 * 60, 1000), 1000, subtype="PCM_16")  # 21 minutes, 2.5 MB
    for item in (path, path.read_bytes(), (_tone(21 * 60, 1000), 1000)):
        with pytest.raises(InputError, match="21.0 minutes of audio; expected at most 20"):
            H.load_waveform(item, 8000, "input 0")


def test_ten_minute_recording_still_transcribes(shipped, tmp_path, data_dir):
    import soundfile as sf

    word, rate = sf.read(data_dir / "fsdd" / "recordings" / "7_jackson_3.wav", dtype="int16")
    unit = np.concatenate([word, np.zeros(int(0.3 * rate), np.int16)])
    wave = np.tile(unit, 600 * rate // unit.size + 1)[:600 * rate]
    sf.write(tmp_path / "ten.wav", wave, rate, subtype="PCM_16")
    out = shipped("speech-ctc").predict([tmp_path / "ten.wav"])[0]
    assert out["seconds"] > 599 and out["text"].count("7") > 500


@pytest.mark.parametrize("name", ["speech-ctc", "speech-ctc-stream"])
def test_float_waveform_far_outside_unit_range_is_refused(name, tiny):
    m = tiny(name)
    loud = _tone(1.0, 8000) * 10                # peak 3.0
    with pytest.raises(InputError, match=r"expected floats in \[-1, 1\]"):
        m.predict([loud])
    if name == "speech-ctc-stream":
        with pytest.raises(InputError, match=r"expected floats in \[-1, 1\]"):
            m.stream().feed(loud)
    assert m.predict([(loud / 10 * 32767).astype(np.int16)])[0]["seconds"] > 0  # PCM still fine


# ---- 6. summarize-attn: a string is text, never a path ---------------------------------------
@pytest.fixture
def summarizer_host():
    from zoo_pipelines.summarization import host as H

    return H.Host({"vocab": H.RESERVED + ["a", "b"], "max_source": 64, "max_target": 4,
                   "state": {"h": 1, "c": 1, "context": 1}})


def test_string_naming_a_file_is_text_not_the_file(summarizer_host, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("a b a\n")
    ids = summarizer_host.encode([str(secret)]).units[0]["source"].tolist()
    assert ids == summarizer_host.tokenizer.encode(str(secret)) and ids != [4, 5, 4]
    assert summarizer_host.encode([secret]).units[0]["source"].tolist() == [4, 5, 4]


@pytest.mark.parametrize("data,match", [(b"a b \x00\x01\xff", "binary"),
                                        ("a caf\xe9 b".encode("latin-1"), "not UTF-8")])
def test_binary_or_non_utf8_file_is_refused(data, match, summarizer_host, tmp_path):
    (tmp_path / "doc.txt").write_bytes(data)
    with pytest.raises(InputError, match=match):
        summarizer_host.encode([tmp_path / "doc.txt"])


def test_lone_surrogate_is_an_input_error(summarizer_host, shipped):
    with pytest.raises(InputError, match="input 0: character 3 .*lone surrogate"):
        summarizer_host.encode(["abc\ud800"])
    ner = shipped("ner-bilstm").host()      # NER tagged it as a word and answered with it
    for sentence in ("EU \ud800 rejects", ["EU", "\ud800", "rejects"]):
        with pytest.raises(InputError, match="input 0: character 3 .*lone surrogate"):
            ner.encode([sentence])
    with pytest.raises(InputError, match="input 0: a.bin: a file; expected a sentence"):
        ner.encode([Path("a.bin")])       # batch-predict's whole file: "got PosixPath(...)"


def test_preprocessor_missing_keys_is_a_bundle_error(tiny_bundle, tmp_path):
    """A bundle whose preprocessor.json lost a key (its manifest re-written to match)
    is refused at load, not with a raw KeyError at the first predict()."""
    import shutil

    path = shutil.copytree(tiny_bundle("ner-bilstm"), tmp_path / "ner")
    prep = json.loads((path / "preprocessor.json").read_text())
    del prep["preprocessor"]["labels"]
    (path / "preprocessor.json").write_text(json.dumps(prep))
    zoo.bundle.write_manifest(path, "ner-bilstm")
    with pytest.raises(BundleError, match="preprocessor.json: not usable .*KeyError"):
        zoo.load(path)


def test_preprocessor_labels_cut_is_a_bundle_error(tiny_bundle, tmp_path):
    """Labels cut from preprocessor.json (manifest re-hashed) were a raw IndexError at the
    first predict(): the CRF's transitions, or the scores of a head without one, disagree."""
    import shutil

    from zoo_pipelines.ner.host import Host

    path = shutil.copytree(tiny_bundle("ner-bilstm"), tmp_path / "ner")
    prep = json.loads((path / "preprocessor.json").read_text())
    prep["preprocessor"]["labels"] = prep["preprocessor"]["labels"][:2]
    (path / "preprocessor.json").write_text(json.dumps(prep))
    zoo.bundle.write_manifest(path, "ner-bilstm")
    with pytest.raises(BundleError, match=r"not usable .*2 labels but CRF transitions of shape"):
        zoo.load(path)
    host = Host({**prep["preprocessor"], "crf": None})
    with pytest.raises(BundleError, match=r"scores 9 tags but its preprocessor lists 2 labels"):
        host.tag_ids(np.zeros((3, 9), np.float32))


# ---- evaluate() on examples passed in memory, and its options -----------------------------
@pytest.mark.parametrize("data,match", [
    (None, r"needs a data file or folder, or a list of examples .*'tokens', 'tags'.*; got NoneType"),
    ([], r"needs at least one example; got an empty list"),
    (["EU rejects German call"], r"example 0 must be a dict with 'tokens', 'tags' .*; got str"),
    ([{"tokens": ["EU"]}], r"example 0 must be a dict with .*; got keys 'tokens'"),
])
def test_evaluate_refuses_examples_not_in_the_readers_form(data, match, shipped):
    """They failed deep in the evaluator ("string indices must be integers"), and an empty
    list scored as a perfect 0 % error rate (speech) or chars=-1 (charlm)."""
    with pytest.raises(InputError, match=r"^ner-bilstm evaluate\(\)"):
        shipped("ner-bilstm").evaluate(data)
    with pytest.raises(InputError, match=match):
        shipped("ner-bilstm").evaluate(data)


def test_fine_tune_checks_examples_given_in_memory(shipped, tmp_path):
    """As evaluate(): a list of strings failed deep in the data pipeline."""
    ner = shipped("ner-bilstm")
    with pytest.raises(InputError, match=r"^ner-bilstm fine_tune\(\) data: example 0 must be"):
        ner.fine_tune(["EU rejects German call"], out=tmp_path / "ft")
    good = [{"tokens": ["EU"], "tags": ["B-ORG"]}]
    with pytest.raises(InputError, match=r"fine_tune\(\) validation needs at least one"):
        ner.fine_tune(good, validation=[], out=tmp_path / "ft")


def test_evaluate_refuses_an_empty_list_for_every_entry(shipped):
    for name in zoo.list_models():
        with pytest.raises(InputError, match="needs at least one example"):
            shipped(name).evaluate([])


def test_evaluate_refuses_unknown_options_before_reading(shipped):
    """A misspelt option was a raw TypeError (after the data was read); summarize-attn's
    evaluate passes its options on to predict, and says which those are."""
    with pytest.raises(InputError, match=r"ner-bilstm evaluate: unknown option 'beam'; it takes batch_size"):
        shipped("ner-bilstm").evaluate("/no/such/file", beam=3)
    with pytest.raises(InputError, match=r"option batch_size must be an integer; got 'x'"):
        shipped("ner-bilstm").evaluate("/no/such/file", batch_size="x")
    with pytest.raises(InputError, match=r"summarize-attn evaluate: unknown option 'bem'; it takes .*\bbeam\b"):
        shipped("summarize-attn").evaluate([{"document": "a b c", "summary": "a"}], bem=2)


def test_parity_checks_keep_the_hosts_warnings_about_the_bundles_own_examples_quiet():
    """`zoo export summarize-attn` warned "input 8: 160 subword tokens; the model reads the
    first 128" about parity examples the user never gave."""
    from zoo.export import bundle_examples, function_parity, parity

    @bundle_examples
    def check():
        warnings.warn("input 8: 160 subword tokens; the model reads the first 128")
        return 1

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check() == 1
    assert all(hasattr(f, "__wrapped__") for f in (parity, function_parity))


# ---- concurrent writers of one folder or file ------------------------------------------------
@pytest.fixture
def held(tmp_path):
    """Hold the lock of `path` as another process would (flock is per open file, so a
    second open in this process is refused just the same)."""
    import contextlib

    stack = contextlib.ExitStack()

    def hold(path, lock):
        stack.enter_context(zoo.bundle.writing(path, lock))
    yield hold
    stack.close()


def test_a_second_train_into_a_busy_out_is_refused_before_reading_data(tmp_path, held):
    out = tmp_path / "run"
    held(out, out / "train" / ".lock")
    with pytest.raises(InputError, match=rf"run is being written by process {os.getpid()}; "
                                          r"wait for it to finish or choose another --out"):
        zoo.train("forecast-lstm", data=tmp_path / "no-such-data", out=out)


def test_a_lock_is_released_when_its_writer_ends_even_by_kill(tmp_path):
    out = tmp_path / "run"
    code = ("import os, zoo.bundle as b, pathlib as p; o = p.Path(%r)\n"
            "with b.writing(o, o / 'train' / '.lock'): os.kill(os.getpid(), 9)" % str(out))
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == -9
    with zoo.bundle.writing(out, out / "train" / ".lock"):      # no stale lock to clear
        pass
    # a run refused before it wrote anything (bad data) left an empty run/train/ behind
    out = tmp_path / "run2"
    with zoo.bundle.writing(out, out / "train" / ".lock"):
        pass
    assert not out.exists()
    with zoo.bundle.writing(out, out / "train" / ".lock"):
        (out / "train" / "log.txt").write_text("kept")
    assert (out / "train" / "log.txt").exists() and not (out / "train" / ".lock").exists()


def test_a_lock_file_goes_with_its_write_and_a_waiting_writer_takes_a_new_one(tmp_path,
                                                                          monkeypatch):
    """Every export and batch-predict left its zoo-*.lock in the temp folder for good (1,817
    after a soak run). The lock file is removed while held; a writer that opened the old
    file before that finds it gone once it holds it, and locks a new one."""
    import fcntl

    path, lock = tmp_path / "m.tflite", tmp_path / "m.lock"
    with zoo.bundle.writing(path, lock):
        assert lock.exists()
        early = os.open(lock, os.O_RDWR)        # a second writer, opened before the end
    assert not lock.exists()
    fcntl.flock(early, fcntl.LOCK_EX | fcntl.LOCK_NB)   # it gets the lock of a removed file
    with zoo.bundle.writing(path, lock):            # so the path is free for a third one
        assert lock.exists() and os.stat(lock).st_ino != os.fstat(early).st_ino
    os.close(early)
    # the race inside writing(): the file it opened is removed (its writer finished) before
    # it locks it; it must not write under a lock nobody else can see
    opened, real_open = [], os.open

    def open_then_lose_it(name, *args):
        fd = real_open(name, *args)
        if not opened:
            os.unlink(name)
        opened.append(fd)
        return fd
    monkeypatch.setattr(os, "open", open_then_lose_it)
    with zoo.bundle.writing(path, lock):
        assert len(opened) == 2 and os.stat(lock).st_ino == os.fstat(opened[1]).st_ino


def test_a_second_export_to_a_busy_file_is_refused(tmp_path, held):
    path = tmp_path / "ner.tflite"
    held(path, zoo.bundle.lock_file(path, "export"))
    with pytest.raises(InputError, match="ner.tflite is being written by process"):
        zoo.load("ner-bilstm").export(path)
    assert not path.exists()


def test_a_second_batch_predict_into_a_busy_output_is_refused(tmp_path, held):
    from zoo.batch_predict import batch_predict

    out = tmp_path / "preds"
    held(out, zoo.bundle.lock_file(out, "batch-predict"))
    (tmp_path / "in.txt").write_text("EU rejects German call .\n")
    with pytest.raises(InputError, match="preds is being written by process .*--output"):
        batch_predict("ner-bilstm", str(tmp_path / "in.txt"), str(out))


def test_pulls_of_one_name_finishing_at_once_leave_one_whole_bundle(tmp_path):
    import threading

    from zoo import hub

    target = tmp_path / "bundles" / "ner-bilstm"
    target.parent.mkdir()
    for round_ in range(20):
        staged = []
        for k in range(3):
            s = tmp_path / f"stage-{round_}-{k}"
            s.mkdir()
            (s / "manifest.json").write_text(str(k))
            staged.append(s)
        barrier, errors = threading.Barrier(3), []

        def pull(s):
            barrier.wait()
            try:
                hub._replace(s, target)
            except OSError as e:            # was "Directory not empty", raw
                errors.append(e)
        threads = [threading.Thread(target=pull, args=(s,)) for s in staged]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert not errors
        assert [p.name for p in target.iterdir()] == ["manifest.json"]  # none nested inside
    assert [p.name for p in target.parent.iterdir()] == ["ner-bilstm"]  # no old copies left


def test_a_dangling_or_looping_symbolic_link_is_named_as_one(tmp_path):
    """A symbolic link to a file since moved, or a link loop, given as an input or as
    --data, was "no such file": the user sees the name in `ls` and was told it is not
    there."""
    from zoo.data import existing
    from zoo.errors import DataFormatError
    from zoo.options import not_found

    (tmp_path / "gone.txt").symlink_to(tmp_path / "moved" / "x.txt")
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert not_found(tmp_path / "gone.txt", "file") == \
        f"a symbolic link to {tmp_path / 'moved' / 'x.txt'}, which does not exist"
    assert not_found(tmp_path / "a", "audio file") == \
        "a symbolic link that leads back to itself (a loop), not an audio file"
    with pytest.raises(DataFormatError, match="a: a symbolic link that leads back to itself"):
        existing(tmp_path / "a", "NER data file")
    assert not_found(tmp_path / "none.txt", "file") == "no such file"


def _set_manifest(folder, **fields):
    import json

    m = json.loads((folder / "manifest.json").read_text())
    m.update(fields)
    (folder / "manifest.json").write_text(json.dumps(m))
    return m


def test_bundles_of_other_zoos_name_the_zoo_that_wrote_them(bundle_copy):
    """A bundle from a newer zoo (a higher format, an application or a layer class this
    zoo lacks) said "upgrade rnn-zoo" with no version, "not a registered model", or Keras's
    "Functional could not be deserialized properly. Please ensure ..." cut at 200 characters."""
    import json
    import zipfile

    from zoo import bundle
    from zoo.errors import BundleError

    b = bundle_copy("forecast-lstm")
    m = _set_manifest(b, format_version=2, versions={"rnn-zoo": "9.1.0"})
    with pytest.raises(BundleError, match=r"format version 2 is newer than this rnn-zoo "
                                          r"understands \(1\) \(written by rnn-zoo 9.1.0; this "
                                          r"is .*\); upgrade rnn-zoo"):
        bundle.check(b)
    _set_manifest(b, format_version=1, model="translate-gru")
    with pytest.raises(BundleError, match=r"'translate-gru' is not a registered model \(written "
                                          r"by rnn-zoo 9.1.0; .*upgrade rnn-zoo"):
        bundle.check(b)
    with zipfile.ZipFile(b / "model.keras", "w") as z:      # a class this zoo lacks
        z.writestr("config.json", json.dumps({"class_name": "Functional", "config": {"layers": [
            {"class_name": "FancyCell", "registered_name": "zoo>FancyCell"}]}}))
    err = bundle.load_failure(b, m, TypeError("Functional could not be deserialized"))
    assert ("layer class zoo>FancyCell unknown to this rnn-zoo) (written by rnn-zoo 9.1.0"
            in str(err))
    assert "pip install rnn-zoo==9.1.0" in str(err)
    import zoo                                  # and zoo.load says the same
    _set_manifest(b, model="forecast-lstm", files={**m["files"],
                                                   "model.keras": bundle.sha256(b / "model.keras")})
    with pytest.raises(BundleError, match=r"model.keras: cannot load \(layer class zoo>FancyCell "
                                          r"unknown to this rnn-zoo\) \(written by rnn-zoo 9.1.0"):
        zoo.load(b)
    cause = TypeError("<class 'Functional'> could not be deserialized properly. Please ensure "
                      "...\n\nconfig={...}.\n\nException encountered: Unrecognized keyword "
                      "arguments passed to RecurrentStack: {'peephole': True}")
    m["versions"] = {}
    err = str(bundle.load_failure(b / "none", m, cause))
    assert err.endswith("(TypeError: Unrecognized keyword arguments passed to RecurrentStack: "
                        "{'peephole': True}); expected the model.keras that ZooModel.save() wrote")


def test_bundles_copied_with_crlf_upper_case_hashes_a_bom_or_zipped(bundle_copy, tmp_path):
    """A git checkout with core.autocrlf turned card.md into CRLF: "changed or corrupted",
    where the right reason is the line endings; a manifest with upper-case hex digests or
    saved with a byte-order mark is the same manifest; a zipped bundle says to unzip it."""
    import shutil

    from zoo import bundle
    from zoo.errors import BundleError

    b = bundle_copy("forecast-lstm")
    card = (b / "card.md").read_bytes()
    (b / "card.md").write_bytes(card.replace(b"\n", b"\r\n"))
    with pytest.raises(BundleError, match=r"card.md: sha256 .*its line endings were changed to "
                                          r"CRLF \(a git checkout with core.autocrlf"):
        bundle.check(b)
    (b / "card.md").write_bytes(card.replace(b"#", b"*", 1))    # a real edit stays one
    with pytest.raises(BundleError, match=r"the file was changed or corrupted"):
        bundle.check(b)
    (b / "card.md").write_bytes(card)
    m = bundle.read_json(b / "manifest.json")
    _set_manifest(b, files={k: v.upper() for k, v in m["files"].items()})
    bundle.check(b)
    (b / "manifest.json").write_bytes(b"\xef\xbb\xbf" + (b / "manifest.json").read_bytes())
    bundle.check(b)
    zipped = shutil.make_archive(str(tmp_path / "sent"), "zip", b.parent, b.name)
    with pytest.raises(BundleError, match=r"it is a zip archive: unzip it"):
        bundle.resolve(zipped)


def test_a_full_disk_while_writing_a_bundle_keeps_the_earlier_one(tmp_path, bundle_copy):
    """A soup (or any whole bundle) written over an earlier one on a disk that filled up:
    a model.keras cut short beside the old manifest ("changed or corrupted"), with a bare
    "error: File too large". Now the earlier bundle stays, nothing is left beside it, and
    the line names the folder and the cause; a manifest is written whole or not at all."""
    import errno

    from zoo import bundle
    from zoo.errors import BundleError

    out = bundle_copy("forecast-lstm")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(BundleError, match=rf"{out}: cannot write the soup's bundle: no space "
                                          rf"left on the disk; the earlier soup's bundle at "
                                          rf"{out} is unchanged"):
        with bundle.replacing(out, "soup's bundle") as staging:
            (staging / "model.keras").write_bytes(b"PK cut")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecast-lstm"]
    with bundle.replacing(out) as staging:          # a whole write takes its place
        (staging / "x").write_text("new")
    assert [p.name for p in out.iterdir()] == ["x"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecast-lstm"]
    with pytest.raises(BundleError, match=r"nothing was left at"):
        with bundle.replacing(tmp_path / "new"):
            raise OSError(errno.EFBIG, "File too large")
    assert not (tmp_path / "new").exists()
    (tmp_path / "link").symlink_to(out)         # a link to the folder: the folder is written
    with bundle.replacing(tmp_path / "link") as staging:
        (staging / "y").write_text("newer")
    assert (tmp_path / "link").is_symlink() and [p.name for p in out.iterdir()] == ["y"]


def test_a_full_disk_while_exporting_names_the_export(tmp_path, monkeypatch):
    """`zoo export` on a full disk (or a full temp folder, where the converters write)
    said only "error: File too large"."""
    import errno

    from zoo import export as ex
    from zoo.errors import ExportError

    def full(*args):
        raise OSError(errno.EFBIG, "File too large")
    monkeypatch.setattr(ex, "_write", full)
    with pytest.raises(ExportError, match=r"m.tflite: cannot write the export: a file grew past "
                                          r"the file size limit .*nothing was written at "):
        ex.export(None, tmp_path / "m.tflite")

    def saved_model_full(*args):        # tf.saved_model.save's SaveV2 on a full disk
        raise ex.tf.errors.OutOfRangeError(None, None, "/tmp/x/variables/part-0; No space "
                                                       "left on device [Op:SaveV2]")
    monkeypatch.setattr(ex, "_write", saved_model_full)
    with pytest.raises(ExportError, match=r"sm: cannot write the export: no space left"):
        ex.export(None, tmp_path / "sm")


# ---- the Python API in a notebook and in other people's programs (helper AE) ---------------
def test_a_model_deep_copies_and_refuses_pickle_naming_what_to_do(tiny):
    """joblib, scikit-learn and multiprocessing pickle or deep-copy a model: pickle failed
    with "Can't pickle local object 'ZooModel.__init__.<locals>.<lambda>'", deepcopy with
    "cannot pickle 'FuncGraph' object"."""
    import copy
    import pickle

    m = tiny("forecast-lstm")
    with pytest.raises(TypeError, match=r"a ZooModel \(forecast-lstm\) cannot be pickled: .*"
                                        r"expected its name or bundle folder .* zoo\.load"):
        pickle.dumps(m)
    series = m.parity_examples()[:1]
    twin = copy.deepcopy(m)
    assert twin.keras_model is not m.keras_model and twin.preprocessor == m.preprocessor
    import pandas as pd

    pd.testing.assert_frame_equal(twin.predict(series)[0], m.predict(series)[0], rtol=1e-5)
    before = m.predict(series)[0]
    twin.keras_model.set_weights([w * 0 for w in twin.keras_model.get_weights()])
    pd.testing.assert_frame_equal(m.predict(series)[0], before)          # weights its own
    assert not twin.predict(series)[0].equals(before)
    assert copy.copy(m).keras_model is m.keras_model


def test_a_model_loaded_from_a_path_like_names_its_folder(tiny_bundle):
    """repr() of a model loaded from any os.PathLike showed the object's repr, not its
    folder; a fine-tune loaded from its folder reads apart from the shipped model."""
    class Place:
        def __init__(self, path):
            self.path = path

        def __fspath__(self):
            return str(self.path)

    folder = tiny_bundle("forecast-lstm")
    assert repr(zoo.load(Place(folder))).endswith(f", bundle={str(folder)!r})")


def test_the_clis_words_in_python_name_the_function():
    with pytest.raises(AttributeError, match=r"no attribute 'list'; expected zoo\.list_models\(\)"):
        zoo.list()
    with pytest.raises(AttributeError, match=r"no attribute 'nothing'$"):
        zoo.nothing
    from zoo import cli  # noqa: F401  (submodules still import through `from zoo import`)


def test_a_forked_child_is_refused_rather_than_hanging(tiny, monkeypatch):
    """A child forked (multiprocessing's default on Linux) after TensorFlow ran in its
    parent waited for ever in predict or zoo.load; now one line says to use spawn."""
    import zoo.model

    m = tiny("forecast-lstm")
    assert zoo.model._TF_STARTED_IN == os.getpid()
    monkeypatch.setattr(zoo.model, "_TF_STARTED_IN", os.getpid() + 1)     # as in a child
    with pytest.raises(ZooError, match=r"forecast-lstm predict: this process was forked .*"
                                       r"multiprocessing\.get_context\('spawn'\)"):
        m.predict(m.parity_examples()[:1])
    with pytest.raises(ZooError, match=r"zoo\.load\('forecast-lstm'\): this process was forked"):
        zoo.load("forecast-lstm")


def test_first_lookups_in_two_threads_wait_for_discovery():
    """Two threads' first zoo.load at once: the second looked up a half-filled registry and
    said "unknown model 'summarize-attn'"."""
    script = r'''
import importlib, threading, time, types
import zoo.registry as r
real = importlib.import_module
r.importlib = types.SimpleNamespace(import_module=lambda n: (time.sleep(0.05), real(n))[1])
errors = []
def get(name):
    try:
        r.get(name)
    except Exception as e:
        errors.append(str(e)[:80])
ts = [threading.Thread(target=get, args=(n,)) for n in ("ner-bilstm", "summarize-attn")]
[t.start() for t in ts]
[t.join() for t in ts]
print(errors)
'''
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, cwd=REPO)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr[-2000:]


def test_loading_a_model_is_quiet_and_the_api_documented():
    """zoo.load printed TensorFlow's C++ start-up lines (CUDA probes, cuInit) in a notebook;
    zoo had no __version__; zoo.info showed a card as one quoted line in a notebook; the
    examples in zoo/__init__.py were never run (test_docstrings walks submodules only)."""
    import doctest

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    proc = subprocess.run([sys.executable, "-c", "import zoo.model"], capture_output=True,
                          text=True, timeout=300, cwd=REPO, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-2000:]
    assert zoo.__version__ == zoo.bundle._version("rnn-zoo")
    card = zoo.info("ner-bilstm")
    assert isinstance(card, str) and repr(card) == card == card._repr_markdown_()
    result = doctest.testmod(zoo, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


def test_a_full_disk_while_saving_a_model_or_its_card_is_one_line(tmp_path, monkeypatch):
    """ZooModel.save on a full disk was a raw "OSError: [Errno 28]"; a card rewritten (zoo
    compare) wrote metrics.json and then failed on card.md, leaving the two disagreeing."""
    import errno

    import keras

    import zoo
    from zoo import bundle
    from zoo.errors import BundleError

    m = zoo.load("forecast-lstm")
    out = m.save(tmp_path / "b")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(keras.Model, "save", full)
    with pytest.raises(BundleError, match=rf"{tmp_path / 'new'}: cannot write the bundle: no space "
                                          rf"left on the disk; .* resumes from its checkpoint"):
        m.save(tmp_path / "new")
    monkeypatch.undo()
    real = type(out).write_text

    def card_fails(self, *args, **kwargs):      # the second file of the two fails
        if "card.md" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)
    monkeypatch.setattr(type(out), "write_text", card_fails)
    m.metrics["note"] = "changed"
    with pytest.raises(OSError):
        m.write_card(out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before    # neither file moved
    monkeypatch.undo()
    bundle.check(out)


def test_a_runtime_model_pickles_by_its_file_and_says_what_it_is(exported):
    """multiprocessing and joblib pickle what they hand a worker: a RuntimeModel was a raw
    "cannot pickle '_thread._local'", and its repr an object address."""
    import pickle

    import numpy as np

    from zoo import runtime

    path, _ = exported("forecast-lstm", "tflite")
    m = runtime.load(path, threads=1)
    assert repr(m) == f"RuntimeModel('forecast-lstm', format='tflite', path='{path}')"
    again = pickle.loads(pickle.dumps(m))
    import pandas as pd

    close = 100 + np.cumsum(np.random.default_rng(0).normal(size=200))
    series = {"dates": [str(d.date()) for d in pd.bdate_range("2020-01-01", periods=200)],
              "close": close.tolist()}
    assert again.threads == 1
    pd.testing.assert_frame_equal(again.predict([series])[0], m.predict([series])[0])


def test_the_zoos_warnings_are_one_category_a_user_can_filter(tmp_path, monkeypatch):
    """The zoo's warnings were plain UserWarnings: silencing them (or raising them in a
    test) meant silencing every library's."""
    import re
    import warnings

    import zoo
    from zoo import bundle

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ner-bilstm").mkdir()           # a folder named like a registered model
    with pytest.warns(zoo.ZooWarning, match="is a registered model and loads as such"):
        bundle.resolve("ner-bilstm")
    with warnings.catch_warnings():
        warnings.simplefilter("error", zoo.ZooWarning)
        with pytest.raises(zoo.ZooWarning):
            bundle.resolve("ner-bilstm")
    calls = [(p, call) for p in [*Path(REPO, "zoo").rglob("*.py"),
                                 *Path(REPO, "zoo_pipelines").rglob("*.py")]
             for call in re.findall(r"warnings\.warn\((?:[^()]|\([^()]*\))*\)", p.read_text())]
    assert calls and all("ZooWarning" in call for _, call in calls), \
        [str(p) for p, call in calls if "ZooWarning" not in call]
