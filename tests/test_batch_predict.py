"""`zoo batch-predict` (zoo/batch_predict.py): Apache Beam's RunInference over a zoo.runtime
export gives, for every input, exactly what in-process predict() of the same export gives,
in input order; refused records go to the dead letters with the zoo's message and nothing
is lost. Real data: CoNLL-2003 valid sentences and FSDD recordings, the shipped models."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.errors import InputError

LONG = "x " * 60_000              # 120,000 characters: over batch-predict's line limit
LOOKS_LIKE_JSON = "[ CORRECTED 05:30 GMT ]"    # a CoNLL train sentence: text in a .txt file


def sentences(data_dir, n: int) -> list[str]:
    from zoo_pipelines.ner.data import read

    return [" ".join(e["tokens"]) for e in read(data_dir / "conll2003" / "valid.txt")][:n]


def read_output(folder) -> tuple[dict, list, list]:
    manifest = json.loads((folder / "manifest.json").read_text())
    rows = [json.loads(line) for s in manifest["shards"]
            for line in (folder / s["file"]).read_text().splitlines()]
    dead = [json.loads(line) for line in (folder / "dead_letter.jsonl").read_text().splitlines()]
    return manifest, rows, dead


def same_but_rounding(a, b, tol: float = 0.01) -> bool:
    """Equal, floats within `tol` (Keras and TFLite round a confidence differently)."""
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= tol
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_but_rounding(a[k], b[k], tol) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_but_rounding(x, y, tol) for x, y in zip(a, b))
    return a == b


@pytest.fixture(scope="module")
def ner_run(data_dir, exported, tmp_path_factory):
    """200 CoNLL valid sentences (and one from train that starts like JSON), an empty line
    and an over-long one, through the TFLite export on the DirectRunner (in memory)."""
    from zoo.batch_predict import batch_predict

    folder = tmp_path_factory.mktemp("batch-ner")
    lines = sentences(data_dir, 200)
    lines = lines[:100] + [""] + lines[100:150] + [LONG] + lines[150:] + [LOOKS_LIKE_JSON]
    (folder / "in").mkdir()
    (folder / "in" / "valid.txt").write_text("\n".join(lines) + "\n")
    export, _ = exported("ner-bilstm", "tflite")
    manifest = batch_predict(str(export), str(folder / "in" / "*.txt"), str(folder / "out"))
    return folder, lines, export, manifest


@pytest.mark.xdist_group("ner-bilstm")
def test_ner_lines_match_in_process_predict(ner_run, shipped):
    import zoo
    from zoo.webio import to_json

    folder, lines, export, manifest = ner_run
    m, rows, dead = read_output(folder / "out")
    assert m == manifest and m["model"] == "ner-bilstm" and m["format"] == "tflite"
    path = str(folder / "in" / "valid.txt")
    good = [(n, t) for n, t in enumerate(lines, start=1) if t and t != LONG]
    # Nothing lost: every line is a prediction or a dead letter, in input order.
    assert m["predictions"] == len(rows) == 201 and m["dead_letters"] == len(dead) == 2
    assert [r["key"] for r in rows] == [f"{path}:{n}" for n, _ in good]
    runtime = zoo.runtime.load(export)
    keras = to_json(shipped("ner-bilstm").predict([t for _, t in good]))
    for row, (_, text), k in zip(rows, good, keras):
        assert row["prediction"] == to_json(runtime.predict([text]))[0]     # the same export
        assert same_but_rounding(row["prediction"], k), text                # the Keras model
    with pytest.raises(InputError) as refused:
        shipped("ner-bilstm").predict([""])
    assert dead == [
        {"key": f"{path}:101", "error": str(refused.value).removeprefix("input 0: ")},
        {"key": f"{path}:152", "error": f"{path}:152: a line of 120,000 characters; "
                                        f"batch-predict takes at most 100,000 a line"}]


def speech_inputs(data_dir, folder, n: int) -> list[str]:
    """`n` FSDD recordings (one in a subfolder) and a malformed .wav, sorted paths."""
    wavs = sorted((data_dir / "fsdd" / "recordings").glob("*.wav"))[::125][:n]
    (folder / "deep").mkdir(parents=True)
    for w in wavs:
        shutil.copy(w, folder / "deep" / w.name)
    (folder / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot audio")
    return sorted([str(folder / "deep" / w.name) for w in wavs] + [str(folder / "broken.wav")])


@pytest.mark.xdist_group("speech-ctc")
def test_speech_files_through_the_cli(data_dir, shipped, exported, tmp_path, capsys):
    """`zoo batch-predict speech.tflite`: 20 FSDD recordings and a malformed .wav, each
    file one input."""
    import zoo
    from zoo.cli import main
    from zoo.webio import to_json

    files = speech_inputs(data_dir, tmp_path / "in", 20)
    export, _ = exported("speech-ctc", "tflite")
    out = tmp_path / "out"
    assert main(["batch-predict", str(export), "--input", str(tmp_path / "in" / "**.wav"),
                 "--output", str(out)]) == 0
    said = capsys.readouterr()
    assert "20 predictions in 1 shard(s), 1 dead letter(s) (21 files" in said.out
    # which record was refused, and why: the dead letters' file was never named
    assert (f"dead letters (each refused record and why): {out / 'dead_letter.jsonl'}; the "
            f"first: {tmp_path / 'in' / 'broken.wav'}: ") in said.err
    manifest, rows, dead = read_output(out)
    assert manifest["export"] == str(export) and manifest["model"] == "speech-ctc"
    assert sorted([r["key"] for r in rows] + [d["key"] for d in dead]) == files
    assert [r["key"] for r in rows] == [f for f in files if not f.endswith("broken.wav")]
    runtime = zoo.runtime.load(export)
    keras = to_json(shipped("speech-ctc").predict([r["key"] for r in rows]))
    for row, k in zip(rows, keras):
        assert row["prediction"] == to_json(runtime.predict([row["key"]]))[0]
        assert same_but_rounding(row["prediction"], k)
    with pytest.raises(InputError) as refused:
        runtime.predict([str(tmp_path / "in" / "broken.wav")])
    assert dead == [{"key": str(tmp_path / "in" / "broken.wav"),
                     "error": str(refused.value).removeprefix("input 0: ")}]


@pytest.mark.slow   # an export of its own: 15-30 s on 2 cores (the default suite shares one)
@pytest.mark.xdist_group("speech-ctc")
def test_a_name_is_exported_once_into_the_output(data_dir, tmp_path, capsys):
    """`zoo batch-predict speech-ctc`: the name is exported into OUTPUT/model/ before the
    pipeline starts, and the workers run that file."""
    import zoo
    from zoo.cli import main
    from zoo.webio import to_json

    files = speech_inputs(data_dir, tmp_path / "in", 3)
    out = tmp_path / "out"
    assert main(["batch-predict", "speech-ctc", "--input", str(tmp_path / "in" / "**.wav"),
                 "--output", str(out)]) == 0
    assert "3 predictions in 1 shard(s), 1 dead letter(s)" in capsys.readouterr().out
    manifest, rows, _ = read_output(out)
    assert manifest["export"] == str(out / "model" / "speech-ctc.tflite")
    runtime = zoo.runtime.load(out / "model" / "speech-ctc.tflite")
    assert [r["prediction"] for r in rows] == to_json(runtime.predict(files[1:]))


@pytest.mark.parametrize("args, expected", [
    (["nre-bilstm", "--input", "IN/*.txt"], "unknown model 'nre-bilstm'"),
    (["ner-bilstm", "--input", "IN/*.csv"], "IN/*.csv: no file matches it"),
    (["IN/nothing.tflite", "--input", "IN/*.txt"], "IN/nothing.tflite: no such exported model"),
    (["ner-bilstm", "--input", "IN/*.txt", "--output", "IN"], "holds other files (a.txt)"),
    (["ner-bilstm", "--input", "IN/*.txt", "--workers", "0"],
     "--workers must be an integer in 1..256; got 0"),
    (["ner-bilstm", "--input", "IN/*.txt", "--batch-size", "2000"],
     "--batch-size must be an integer in 1..1024; got 2000"),
    # Beam raised these after the output folder was emptied (a traceback), or dropped them
    (["ner-bilstm", "--input", "IN/*.txt", "--runner", "Bogus"], "--runner Bogus: Unexpected"),
    (["ner-bilstm", "--input", "IN/*.txt", "--horizon", "5"], "unknown option(s) --horizon"),
    (["ner-bilstm", "--input", ""], "--input '': an empty pattern"),
    (["ner-bilstm", "--input", "IN"], "it is a folder: give a glob of its files"),
    # runners that fetch a job server or binary from the internet tried to (a traceback with
    # no network); PortableRunner and InteractiveRunner were tracebacks too
    (["ner-bilstm", "--input", "IN/*.txt", "--runner", "FlinkRunner"],
     "Beam would download Beam's Flink job server"),
    (["ner-bilstm", "--input", "IN/*.txt", "--runner", "PrismRunner", "--prism_location",
      "https://example.org/prism.zip"], "batch-predict does not download"),
    (["ner-bilstm", "--input", "IN/*.txt", "--runner", "PortableRunner"],
     "--runner PortableRunner needs --job_endpoint"),
    (["ner-bilstm", "--input", "IN/*.txt", "--runner", "DataflowRunner"],
     "Missing required option: project"),
    (["ner-bilstm", "--input", "IN/*.txt", "--direct_num_worker", "2"],
     "(did you mean --direct_num_workers?)"),
    (["ner-bilstm", "--input", "IN/*.txt", "--workers", "2", "--direct_num_workers", "3"],
     "--workers 2 and --direct_num_workers 3"),
    (["IN/sm", "--input", "IN/*.txt"], "IN/sm: a SavedModel export; batch-predict runs a .tflite"),
])
def test_cli_errors_are_one_line(args, expected, tmp_path, capsys):
    from zoo.cli import main

    (tmp_path / "a.txt").write_text("EU rejects German call .\n")
    if "IN/sm" in args:
        (tmp_path / "sm").mkdir()
        (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    args = [a.replace("IN", str(tmp_path)) for a in args]
    output = [] if "--output" in args else ["--output", str(tmp_path / "out")]
    assert main(["batch-predict", *args, *output]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") \
        and expected.replace("IN", str(tmp_path)) in err[0], err
    assert not (tmp_path / "out").exists()          # refused before any work


@pytest.mark.xdist_group("ner-bilstm")
def test_two_worker_processes_write_the_same_files(ner_run, capfd):
    """The DirectRunner with 2 worker processes (multi_processing) writes byte-identical
    shards, dead letters and counts (about 6 s: the processes start slowly). The records
    through the model are counted across the processes, for `zoo batch-predict`'s working
    line (only the in-process runner's were: none)."""
    from zoo.batch_predict import RECORDS_DONE, batch_predict

    folder, _, export, manifest = ner_run
    again = batch_predict(str(export), str(folder / "in" / "*.txt"), str(folder / "two"),
                          workers=2)
    # the empty line is the model's dead letter, the over-long one the reader's
    assert RECORDS_DONE.total() == manifest["predictions"] + 1 == RECORDS_DONE.n
    assert {k: v for k, v in again.items() if k != "workers"} == \
        {k: v for k, v in manifest.items() if k != "workers"}
    for name in [s["file"] for s in manifest["shards"]] + ["dead_letter.jsonl"]:
        assert (folder / "two" / name).read_bytes() == (folder / "out" / name).read_bytes()
    # the worker processes' own INFO lines (their channels, start and exit) stay unsaid, and
    # the two each printed before reading any option (zoo.beam_worker)
    err = capfd.readouterr().err
    assert "sdk harness" not in err.lower(), err
    assert "apitools" not in err and "Logging handler created" not in err, err
    assert again["workers"] == 2


@pytest.mark.xdist_group("ner-bilstm")
def test_an_export_runs_without_tensorflow(ner_run, tmp_path):
    """Given a .tflite, the whole pipeline (driver and DirectRunner workers) runs on
    zoo.runtime: TensorFlow is never imported, so Beam workers need none. (The input is
    gzipped here: a .txt.gz is read one example a line too.)"""
    import gzip

    folder, _, export, _ = ner_run
    gz = tmp_path / "valid.txt.gz"
    gz.write_bytes(gzip.compress((folder / "in" / "valid.txt").read_bytes()))
    code = ("import sys; from zoo.batch_predict import batch_predict; "
            f"m = batch_predict({str(export)!r}, {str(gz)!r}, "
            f"{str(tmp_path / 'out')!r}); "
            "print(m['predictions'], m['dead_letters'], 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-3:] == ["201", "2", "False"]


def test_inputs_in_the_output_folder_are_refused_before_it_is_emptied(tmp_path, capsys):
    """--input 'out/*.jsonl' --output out: the earlier results were deleted, then Beam
    failed to read them (a traceback)."""
    from zoo.cli import main

    out = tmp_path / "out"
    out.mkdir()
    for name in ("manifest.json", "predictions-00000-00000.jsonl"):
        (out / name).write_text("{}\n")
    assert main(["batch-predict", "ner-bilstm", "--input", str(out / "*.jsonl"),
                 "--output", str(out)]) == 2
    assert "in the --output folder" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json",
                                                     "predictions-00000-00000.jsonl"]


def test_whole_files_are_files_and_jsonl_strings_their_text(tmp_path):
    """A whole file reached the task as its path string, which text tasks read as the text
    itself (summarize-attn --whole-files summarized "bp/docs for d1"); a .jsonl line that
    is a JSON string was read with its quotes."""
    from pathlib import Path

    from apache_beam.pvalue import TaggedOutput

    from zoo.batch_predict import read_records

    doc = tmp_path / "doc.txt"
    doc.write_text("EU rejects German call .\n")
    [(_, _, key, raw)] = read_records((0, 0, str(doc), False))
    assert key == str(doc) and isinstance(raw, Path) and raw == doc
    lines = tmp_path / "in.jsonl"
    lines.write_text('"EU rejects \\"it\\""\n"unclosed\n{"text": 1}\n')
    first, second, third = read_records((0, 0, str(lines), True))
    assert first[3] == 'EU rejects "it"' and third[3] == {"text": 1}
    assert isinstance(second, TaggedOutput) and "in.jsonl:2: not valid JSON" in second.value[3]


def test_unreadable_compressed_files_and_huge_lines_are_dead_letters(tmp_path):
    """A corrupt .gz ended the whole run with zlib's traceback, a .gz cut short was read
    quietly up to where its data stopped, and a 100 MB line was held whole (1 GB)."""
    import gzip

    from apache_beam.pvalue import TaggedOutput

    from zoo.batch_predict import _lines, read_records

    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(b"not gzip at all")
    [dead] = read_records((0, 0, str(bad), True))
    assert isinstance(dead, TaggedOutput) and dead.value[2] == str(bad)
    assert "cannot read it (zlib.error: Error -3" in dead.value[3]
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(gzip.compress(b"".join(b"EU rejects German call %d .\n" % i
                                           for i in range(20_000)))[:20_000])
    *records, last = read_records((0, 0, str(cut), True))
    assert records and not any(isinstance(r, TaggedOutput) for r in records)
    assert isinstance(last, TaggedOutput) and "cut short?" in last.value[3]
    assert last.value[2] == f"{cut}:{len(records) + 1}"
    import io

    text = b"a\n" + b"x" * 200_000 + b"\nb\n" + b"y" * 150_000
    assert list(_lines(io.BytesIO(text), 1000)) == [b"a\n", 200_001, b"b\n", 150_000]
    big = tmp_path / "big.txt"
    big.write_bytes(b"w " * 300_000 + b"\nEU rejects German call .\n")
    first, second = read_records((0, 0, str(big), True), max_chars=1000)
    assert isinstance(first, TaggedOutput) and "a line of 600,001 bytes" in first.value[3]
    assert second[3] == "EU rejects German call ."


def test_a_killed_run_leaves_a_folder_the_rerun_takes(tmp_path):
    """A run killed after writing a shard, before its manifest, left a folder that the same
    command then refused ("holds other files"): the run marks it first."""
    from zoo.batch_predict import prepare_output

    out = tmp_path / "out"
    (out / "model").mkdir(parents=True)
    (out / "predictions-00000-00000.jsonl").write_text("{}\n")
    (out / "manifest.json").write_text('{"command": "zoo batch-predict", "complete": false}')
    prepare_output(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["model"]


def test_an_onnx_export_of_functions_runs(tiny_exported, tmp_path, capsys):
    """An ONNX export of an application with functions is NAME.onnx.json beside
    NAME.<function>.onnx, with no NAME.onnx: batch-predict refused the path export() reports
    ("no such exported model file") which zoo.runtime.load opens."""
    import zoo.runtime
    from zoo.cli import main

    export, _ = tiny_exported("charlm-lstm", "model.onnx")
    assert not export.exists() and zoo.runtime.load(export)
    (tmp_path / "in.txt").write_text("ROMEO:\n")
    out = tmp_path / "out"
    assert main(["batch-predict", str(export), "--input", str(tmp_path / "in.txt"),
                 "--output", str(out)]) == 0, capsys.readouterr()
    _, rows, dead = read_output(out)
    assert len(rows) == 1 and not dead
    assert main(["batch-predict", str(tmp_path / "none.onnx"), "--input", str(tmp_path / "in.txt"),
                 "--output", str(tmp_path / "o2")]) == 2
    assert "none.onnx: no such exported model file" in capsys.readouterr().err


def test_zoo_serve_takes_an_onnx_export_of_functions(tiny_exported):
    """zoo serve refused it as batch-predict did ("no such exported model file")."""
    import zoo.serve

    export, _ = tiny_exported("charlm-lstm", "model.onnx")
    [served] = zoo.serve.resolve([f"lm={export}"])
    assert (served.name, served.backend, served.entry.name) == ("lm", "onnx", "charlm-lstm")


def test_a_byte_order_mark_is_not_part_of_the_first_line(tmp_path):
    """A UTF-8 file saved by Notepad starts with a BOM: it was the first word's ("\\ufeffJohn"
    was tagged ORG), and a .jsonl's first object was read as text."""
    from zoo.batch_predict import read_records

    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfJohn in Paris\nMary\n")
    (tmp_path / "b.jsonl").write_bytes(b'\xef\xbb\xbf{"tokens": ["John"]}\n')
    assert [r[3] for r in read_records((0, 0, str(tmp_path / "a.txt"), True))] == \
        ["John in Paris", "Mary"]
    assert [r[3] for r in read_records((0, 0, str(tmp_path / "b.jsonl"), True))] == \
        [{"tokens": ["John"]}]


def test_the_manifest_names_the_bundle_and_a_fine_tune(tmp_path):
    """A reader of the output could not tell a fine-tune from the shipped model, nor which
    bundle or export answered: the manifest says (bundle path and sha256, fine_tuned_on,
    the export's sha256)."""
    from zoo.batch_predict import provenance
    from zoo.bundle import resolve

    tuned = tmp_path / "tuned"
    tuned.mkdir()
    (tuned / "manifest.json").write_text(json.dumps({"files": {"model.keras": "ab" * 32}}))
    (tuned / "metrics.json").write_text(json.dumps({"fine_tuned_on": "mine.txt"}))
    export = tmp_path / "m.tflite"
    (tmp_path / "m.tflite.json").write_text(json.dumps(
        {"model": "ner-bilstm", "format": "tflite", "host": "h", "config": {}, "sha256": "cd"}))
    assert provenance(str(tuned), str(export)) == {
        "bundle": {"path": str(tuned.resolve()), "sha256": "ab" * 32},
        "fine_tuned_on": "mine.txt", "export_sha256": "cd"}
    shipped = provenance("ner-bilstm", "gs://b/m.tflite")
    assert shipped["bundle"]["path"] == str(resolve("ner-bilstm").resolve())
    assert shipped["fine_tuned_on"] is None and len(shipped["bundle"]["sha256"]) == 64
    assert provenance(str(export), str(export)) == {"bundle": None, "fine_tuned_on": None,
                                                    "export_sha256": "cd"}


def test_ctrl_c_is_one_line_saying_the_output_is_incomplete(tmp_path, monkeypatch, capsys):
    """Beam re-raised Ctrl-C in a step as `RuntimeError: KeyboardInterrupt [while running
    ...]`: a 40-line traceback and exit code 1; SIGTERM ended the run with no word."""
    import apache_beam as beam

    from zoo import batch_predict as bp
    from zoo.cli import main

    def stop(_):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt), bp._interruptible(), beam.Pipeline("FnApiRunner") as p:
        _ = p | beam.Create([1]) | beam.Map(stop)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bp, "batch_predict", interrupted)
    (tmp_path / "a.txt").write_text("x\n")
    assert main(["batch-predict", "ner-bilstm", "--input", str(tmp_path / "a.txt"),
                 "--output", str(tmp_path / "out")]) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith("zoo batch-predict: interrupted; the --output folder is incomplete")
    assert "\n" not in err


def test_a_changed_export_is_refused_before_the_output_is_emptied(tmp_path):
    """A .tflite changed after export failed in Beam's workers (a 25-line ERROR traceback
    before the error line), after the output folder had been emptied."""
    from zoo.batch_predict import batch_predict
    from zoo.errors import BundleError

    export = tmp_path / "m.tflite"
    export.write_bytes(b"changed")
    (tmp_path / "m.tflite.json").write_text(json.dumps(
        {"model": "ner-bilstm", "format": "tflite", "host": "h", "config": {}, "sha256": "0" * 64}))
    (tmp_path / "a.txt").write_text("x\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"command": "zoo batch-predict", "complete": true}')
    with pytest.raises(BundleError, match="does not match its sidecar"):
        batch_predict(str(export), str(tmp_path / "a.txt"), str(out))
    assert "true" in (out / "manifest.json").read_text()


def test_beams_log_of_a_zoo_error_or_ctrl_c_in_a_step_is_not_shown(tmp_path, monkeypatch):
    """main() says a zoo error or an interrupt in one line; Beam logged each first as an
    ERROR with its traceback (25-35 lines)."""
    import io
    import logging

    from zoo import batch_predict as bp
    from zoo.cli import main

    def failing(*args, **kwargs):
        beam_log = logging.getLogger("apache_beam.runners.common")
        try:
            raise InputError("the zoo's message")
        except InputError as e:
            beam_log.error("%s [while running 'predict']", e, exc_info=True)
        beam_log.error("KeyboardInterrupt [while running 'predict']")
        raise InputError("the zoo's message")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logging.getLogger().addHandler(handler)
    monkeypatch.setattr(bp, "batch_predict", failing)
    (tmp_path / "a.txt").write_text("x\n")
    try:
        assert main(["batch-predict", "ner-bilstm", "--input", str(tmp_path / "a.txt"),
                     "--output", str(tmp_path / "out")]) == 2
    finally:
        logging.getLogger().removeHandler(handler)
    assert stream.getvalue() == ""


def test_small_text_files_share_a_shard_and_names_sort_in_input_order(tmp_path, monkeypatch):
    """Each text file had its own shard: 3,000 files of one line wrote 3,000 one-line
    shards, and from 100,000 on the five-digit names sorted out of input order."""
    from zoo import batch_predict as bp

    for i in range(3):
        (tmp_path / f"s{i}.txt").write_text("John in Paris\n")
    (tmp_path / "t.txt.gz").write_bytes(b"")            # compressed: lines unknown
    (tmp_path / "u.wav").write_bytes(b"RIFF")
    monkeypatch.setattr(bp, "SHARD_RECORDS", 30)        # a "large" text file: over 30 bytes
    (tmp_path / "r.txt").write_text("a line\n" * 5)
    groups = {Path(p).name: g for g, _, p, _ in bp.match_inputs([str(tmp_path / "*")])}
    assert groups == {"r.txt": 0, "s0.txt": 1, "s1.txt": 1, "s2.txt": 2, "t.txt.gz": 3,
                      "u.wav": 4}
    assert bp._width([(99_999, 0, "x.wav", False)]) == 5
    assert bp._width([(100_000, 0, "x.wav", False)]) == 6
    assert bp.write_shard(((100_000, 3), [(0, "{}\n")]), str(tmp_path), 6)["file"] == \
        "predictions-100000-000003.jsonl"
    assert bp.OURS.match("predictions-100000-000003.jsonl")


@pytest.mark.parametrize("runner, message", [
    ("FlinkRunner", "--workers 2: the DirectRunner's worker processes; on FlinkRunner the "
                    "cluster's own options"),
    ("direct", None), ("directrunner", None)])
def test_workers_with_other_spellings_and_runners(runner, message, monkeypatch):
    """--runner direct --workers 2 said "--workers 2 and --direct_num_workers 1 disagree"
    (an option never given); on a cluster's runner --workers was ignored, and the manifest
    said 2 workers ran."""
    from zoo import batch_predict as bp

    seen = {}

    def check(runner, flags):
        seen["flags"] = flags
        raise InputError("stop here")

    monkeypatch.setattr(bp, "check_beam", check)
    monkeypatch.setattr(bp, "match_inputs", lambda *a: [])
    with pytest.raises(InputError, match=message or "stop here"):
        bp.batch_predict("gs://b/m.tflite", ["a"], "/tmp/never-written", runner=runner, workers=2)
    if message is None:
        assert "--direct_num_workers=2" in seen["flags"]
        assert bp.direct_workers(runner, seen["flags"], 2) == 2


def test_direct_num_workers_0_is_recorded_as_the_cpus_it_runs():
    """Beam's --direct_num_workers 0 runs a worker a CPU; the manifest said 1."""
    import multiprocessing

    from zoo.batch_predict import direct_workers

    processes = ["--direct_running_mode=multi_processing"]
    cpus = multiprocessing.cpu_count()
    assert direct_workers("direct", ["--direct_num_workers=0", *processes], 1) == cpus
    assert direct_workers("direct", ["--direct_num_workers=0"], 1) == 1     # in memory: one
    with pytest.raises(InputError, match=f"--workers {cpus + 1} and --direct_num_workers 0 "
                                         f"\\(one a CPU: {cpus}\\)"):
        direct_workers("direct", ["--direct_num_workers=0", *processes], cpus + 1)


def test_a_glob_the_shell_expanded_is_refused_before_any_work(tmp_path, capsys):
    """`--input data/*.txt` unquoted: the shell gave the first file to --input and the rest
    went to Beam, which "discarded unparseable args" in a warning; the run then predicted
    the first file alone and said it was done."""
    from zoo.cli import main

    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("John lives in Paris .\n")
    out = tmp_path / "out"
    assert main(["batch-predict", "ner-bilstm", "--input", str(tmp_path / "a.txt"),
                 str(tmp_path / "b.txt"), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: unexpected argument(s) {tmp_path / 'b.txt'}: a glob the shell expanded? " \
           f"quote it" in err and "Discarding" not in err
    assert not out.exists()
    # a Beam option's value given as its own word is no stray
    from zoo.batch_predict import check_beam

    check_beam("DirectRunner", ["--runner=DirectRunner", "--direct_num_workers", "1"])


def test_more_workers_than_cpus_is_warned(tmp_path, monkeypatch):
    """--workers 64 on 2 CPUs started 64 worker processes, each loading the model, and took
    minutes for 6 lines with no word why."""
    import os

    from zoo import batch_predict as bp
    from zoo.errors import ZooWarning

    def stop(*args):
        raise InputError("stop here")

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(bp, "prepare_output", stop)
    (tmp_path / "a.txt").write_text("John lives in Paris .\n")
    with pytest.warns(ZooWarning, match="--workers 3 is more than this machine's 2 CPUs"), \
            pytest.raises(InputError, match="stop here"):
        bp.batch_predict("ner-bilstm", str(tmp_path / "a.txt"), str(tmp_path / "out"), workers=3)


def test_worker_processes_get_the_harness_log_level():
    """Beam's FnApiRunner starts its worker processes with no pipeline options, so
    --default_sdk_harness_log_level=ERROR never reached them: each printed its INFO lines."""
    from zoo.batch_predict import _runner

    options = _runner(["--runner=FnApiRunner", "--default_sdk_harness_log_level=ERROR"]) \
        ._provision_info.provision_info.pipeline_options
    assert dict(options) == {"beam:option:default_sdk_harness_log_level:v1": "ERROR"}


def test_empty_input_files_are_warned(tiny_exported, tmp_path):
    """Globs that match only empty files ended "0 predictions ... written" as a success."""
    from zoo.batch_predict import batch_predict
    from zoo.errors import ZooWarning

    export, _ = tiny_exported("charlm-lstm", "model.onnx")
    for name in ("a.txt", "b.jsonl"):
        (tmp_path / name).write_text("")
    with pytest.warns(ZooWarning, match="the 2 file.s. that --input matched hold no record"):
        m = batch_predict(str(export), str(tmp_path / "*"), str(tmp_path / "out"))
    assert (m["files"], m["predictions"], m["dead_letters"]) == (2, 0, 0)


@pytest.mark.parametrize("workers", ["2", 2.5, True])
def test_python_api_workers_of_other_types_are_one_line(workers):
    """batch_predict(workers="2") passed int("2") then failed comparing a str with an int
    (a TypeError); 2.5 went to Beam as --direct_num_workers=2.5."""
    from zoo.batch_predict import batch_predict

    with pytest.raises(InputError, match="--workers must be an integer in 1..256"):
        batch_predict("gs://b/m.tflite", ["a"], "/tmp/never-written", workers=workers)


def test_an_unknown_predict_option_is_refused_before_any_work(tmp_path):
    """options={"beam_size": 3} made every record a dead letter: "0 predictions, 3 dead
    letters", as if the inputs were bad."""
    from zoo.batch_predict import batch_predict

    with pytest.raises(InputError, match="ner-bilstm predict: unknown option 'beam_size'"):
        batch_predict("ner-bilstm", ["a"], str(tmp_path / "out"), options={"beam_size": 3})
    with pytest.raises(InputError, match="summarize-attn predict: option beam must be an int"):
        batch_predict("summarize-attn", ["a"], str(tmp_path / "out"), options={"beam": "4"})
    with pytest.raises(InputError, match="options must be a dict"):
        batch_predict("ner-bilstm", ["a"], str(tmp_path / "out"), options="beam=4")
    assert not (tmp_path / "out").exists()


def test_a_tilde_in_the_output_is_the_home_folder(tmp_path, monkeypatch):
    """--output=~/preds (no shell expands it there) or "~/preds" in Python made a folder
    named "~" in the current folder; --input already read ~ as home."""
    from zoo import batch_predict as bp

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    seen = {}

    def prepare(output, inputs=()):
        seen["output"] = output
        raise InputError("stop here")

    monkeypatch.setattr(bp, "prepare_output", prepare)
    monkeypatch.setattr(bp, "check_beam", lambda *a: None)
    monkeypatch.setattr(bp, "match_inputs", lambda *a: [])
    with pytest.raises(InputError, match="stop here"):
        bp.batch_predict("gs://b/m.tflite", ["a"], "~/preds")
    assert seen["output"] == str(tmp_path / "home" / "preds")
    assert not (tmp_path / "~").exists()


@pytest.mark.xdist_group("ner-bilstm")
def test_the_direct_runner_downloads_nothing(exported, tmp_path, monkeypatch):
    """Beam's DirectRunner first tried its Prism runner, downloading the binary from GitHub
    releases (with no network it fell back to the FnApiRunner): nothing may download."""
    from apache_beam.runners.portability import prism_runner

    from zoo.batch_predict import batch_predict

    tried = []

    def prism(*args, **kwargs):
        tried.append(args)
        raise RuntimeError("Prism was tried")

    monkeypatch.setattr(prism_runner.PrismRunner, "run_pipeline", prism)
    (tmp_path / "in.txt").write_text("John lives in Paris .\n")
    export, _ = exported("ner-bilstm", "tflite")
    batch_predict(str(export), str(tmp_path / "in.txt"), str(tmp_path / "out"))
    assert not tried
    assert "Paris" in (tmp_path / "out" / "predictions-00000-00000.jsonl").read_text()
