"""CLI habits a newcomer expects (issue 19): options anywhere, real JSON out."""
import json

import pytest

from zoo.cli import main


def test_json_flag_may_stand_before_the_inputs(capsys):
    assert main(["predict", "ner-bilstm", "--json", "Angela Merkel visited Paris ."]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [e["type"] for e in result["entities"]] == ["PER", "LOC"]


def test_forecast_json_is_records_not_a_dataframe_repr(tmp_path, capsys):
    csv = tmp_path / "prices.csv"
    csv.write_text("date,close\n" + "\n".join(
        f"2020-{1 + d // 28:02d}-{1 + d % 28:02d},{100 + 0.5 * d + d % 7}" for d in range(120)))
    assert main(["predict", "forecast-lstm", str(csv), "--json", "--horizon", "2"]) == 0
    records = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [sorted(r) for r in records] == [["date", "forecast", "q0.1", "q0.25", "q0.5",
                                             "q0.75", "q0.9", "series"]] * 2
    assert records[0]["q0.1"] < records[0]["q0.5"] < records[0]["q0.9"]


def test_predict_help_for_one_model_shows_its_options(capsys):
    import pytest

    with pytest.raises(SystemExit):
        main(["predict", "summarize-attn", "--help"])
    out = capsys.readouterr().out
    assert "summarize-attn: --beam 1 [1..64]" in out and "ner-bilstm" not in out


def test_input_file_and_stdin_give_one_result_a_line(tmp_path, capsys, monkeypatch):
    import io

    lines = tmp_path / "sents.txt"
    lines.write_text("Angela Merkel visited Paris .\n\nEU rejects German call .\n")
    assert main(["predict", "ner-bilstm", "--input", str(lines), "--json"]) == 0
    out = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert [[e["text"] for e in r["entities"]] for r in out] == [["Angela Merkel", "Paris"],
                                                                 ["EU", "German"]]
    monkeypatch.setattr("sys.stdin", io.StringIO(lines.read_text()))
    assert main(["predict", "ner-bilstm", "-", "--json"]) == 0
    assert [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()] == out
    lines.write_text("\ufeff" + lines.read_text())     # Notepad's byte-order mark
    assert main(["predict", "ner-bilstm", "--input", str(lines), "--json"]) == 0
    assert [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()] == out
    lines.write_text('Angela Merkel visited Paris .\n{"tokens": ["EU"\n')
    assert main(["predict", "ner-bilstm", "--input", str(lines)]) == 2
    error = capsys.readouterr().err
    assert f"error: {lines}:2: not valid JSON (Expecting ',' delimiter" in error
    assert "); a line that starts with { or [ is read as a JSON object or list, any other as " \
           "text" in error
    jsonl = tmp_path / "sents.jsonl"        # JSON Lines: a quoted line is a JSON string
    jsonl.write_text('"EU rejects \\"German\\" call ."\n')
    assert main(["predict", "ner-bilstm", "--input", str(jsonl), "--json"]) == 0
    [result] = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    assert result["tokens"][:2] == ["EU", "rejects"], result["tokens"]      # no quote


def test_stdins_lines_are_named_by_their_line(capsys, monkeypatch):
    """Standard input's errors named it "-:2"; and an error in the model's call named the
    line's place in its chunk of 64 ("input 1"), not its line."""
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO('EU rejects German call .\n\n["EU", ""]\n'))
    assert main(["predict", "ner-bilstm", "-", "--json"]) == 2
    assert capsys.readouterr().err.startswith("error: <stdin>:3: ")


def test_a_folder_where_a_bundle_or_a_file_is_expected_is_named_so(tmp_path, capsys):
    """`zoo info DIR` said it could not read DIR/card.md; `--input DIR` and an image folder
    said "no such file"."""
    assert main(["info", str(tmp_path)]) == 2
    assert f"error: {tmp_path}: not a bundle directory (expected a folder with" in \
        capsys.readouterr().err
    assert main(["predict", "ner-bilstm", "--input", str(tmp_path)]) == 2
    assert f"error: --input {tmp_path}: a folder, not a file (a folder's files: zoo batch-predict" \
           f" MODEL --input '{tmp_path}/*' --output DIR); expected a file of one example a line" in \
        capsys.readouterr().err
    assert main(["predict", "caption-cnn-lstm", str(tmp_path)]) == 2
    assert f"error: input 0: {tmp_path}: a folder, not an image file (a folder's files: zoo " \
           f"batch-predict MODEL --input '{tmp_path}/*' --output DIR); expected an image path" in \
        capsys.readouterr().err


def test_demo_out_that_is_a_file_is_refused_in_one_line(tmp_path, capsys):
    """`zoo demo --out README.md` said "README.md: File exists"."""
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    assert main(["demo", "ner-bilstm", "--out", str(notes)]) == 2
    assert f"error: {notes}: a file, not a folder; expected --out (out=) to name a folder for " \
           f"the demo's inputs and pictures" in capsys.readouterr().err
    assert notes.read_text() == "keep me"


def test_train_options_given_twice_or_empty_are_refused(tmp_path, capsys):
    """`--epochs 2 --hparam epochs=3` silently trained 3 epochs; `--hparam patience=2
    --patience 3` was a raw TypeError; `--out ""` exported into the current folder."""
    import pytest

    out = str(tmp_path / "run")
    assert main(["train", "ner-bilstm", "--out", out, "--epochs", "2", "--hparam", "epochs=3"]) == 2
    assert "error: --epochs 2 and --hparam epochs=3 both set epochs; give it once" in \
        capsys.readouterr().err
    assert main(["train", "ner-bilstm", "--out", out, "--hparam", "patience=2", "--patience",
                 "3"]) == 2
    assert "error: --hparam patience=2 and --patience 3 both set patience" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "ner-bilstm", "--format", "tflite", "--out", ""])
    assert "argument --out/--output: expected a path; got an empty string" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_writing_into_a_shipped_bundle_or_a_missing_folder_is_refused(tmp_path, capsys):
    """`zoo fine-tune ... --out zoo_pipelines/saved_models/ner-bilstm` replaced the pretrained
    model with a three-sentence fine-tune; `zoo export --out typo/dir/x.tflite` made the
    folders."""
    import zoo

    shipped = zoo.registry.get("ner-bilstm").bundle_path
    before = (shipped / "manifest.json").read_bytes()
    assert main(["train", "ner-bilstm", "--out", str(shipped), "--epochs", "1"]) == 2
    assert f"error: {shipped}: is inside the shipped bundle of ner-bilstm (what " \
           f"zoo.load('ner-bilstm') returns)" in capsys.readouterr().err
    assert (shipped / "manifest.json").read_bytes() == before
    out = tmp_path / "typo" / "dir" / "x.tflite"
    assert main(["export", "ner-bilstm", "--format", "tflite", "--out", str(out)]) == 2
    assert f"the folder '{out.parent}' does not exist; expected a path in an existing folder" \
        in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_info_checks_the_bundle_and_names_what_is_wrong(tmp_path, capsys):
    """`zoo info` showed a card edited after the manifest was written; a model.keras cut
    short (manifest re-written) was Keras's "File not found"; a run stopped before its
    bundle was written said only "no manifest.json"; "NER-BILSTM" suggested nothing."""
    import shutil

    import zoo
    from zoo.bundle import write_manifest

    bundle = tmp_path / "ner"
    shutil.copytree(zoo.registry.get("ner-bilstm").bundle_path, bundle)
    card = (bundle / "card.md").read_text()
    (bundle / "card.md").write_text(card.replace("0.", "0.9", 1))
    assert main(["info", str(bundle)]) == 2
    assert f"{bundle / 'card.md'}: sha256 " in capsys.readouterr().err
    (bundle / "card.md").write_text(card)
    with open(bundle / "model.keras", "r+b") as f:
        f.truncate(100_000)
    write_manifest(bundle, "ner-bilstm")
    assert main(["predict", str(bundle), "EU rejects German call ."]) == 2
    assert f"{bundle / 'model.keras'}: not a Keras zip archive (cut short or corrupted)" in \
        capsys.readouterr().err
    stopped = tmp_path / "stopped"
    (stopped / "train").mkdir(parents=True)
    (stopped / "train" / "train_state.json").write_text("{}")
    assert main(["info", str(stopped)]) == 2
    assert "it holds a training run that did not finish: re-run the zoo train / fine-tune " \
           "command" in capsys.readouterr().err
    assert main(["info", "NER-BILSTM"]) == 2
    assert "Did you mean 'ner-bilstm'? Registered" in capsys.readouterr().err


def test_a_terminal_that_is_not_utf8_gets_text_not_a_unicode_error(monkeypatch):
    """Under LC_ALL=C PYTHONUTF8=0 (and PYTHONIOENCODING=ascii) `zoo info`'s em dashes and
    an echoed file name of a byte that is no UTF-8 were a raw UnicodeEncodeError, and
    "Zoë" typed as an input reached the model as lone surrogates ('Zo\\udcc3\\udcab')."""
    import os
    import subprocess
    import sys

    from zoo.cli import typed

    env = {**os.environ, "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": "ascii"}
    run = subprocess.run([sys.executable, "-m", "zoo.cli", "info", "ner-bilstm"], env=env,
                         capture_output=True, text=True, errors="replace")
    assert run.returncode == 0 and "\\u2014" in run.stdout, run.stderr[-500:]
    assert "\xff".encode("ascii", "zoo.terminal") == b"\\xff"     # registered by zoo.cli
    assert "a\udcff".encode("utf-8", "zoo.terminal") == b"a\xff"  # the name's own byte
    monkeypatch.setattr(sys, "getfilesystemencoding", lambda: "ascii")
    assert typed("Zo\udcc3\udcab") == "Zoë"
    assert typed("\udcff") == "\udcff"      # no UTF-8 either: the model names the byte


def test_a_file_named_like_a_model_in_the_current_folder_is_said_and_not_loaded(
        tmp_path, monkeypatch):
    """./ner-bilstm (a training run's --out, an empty folder, a file) shadowed the
    registered name: `zoo predict ner-bilstm` failed, or a bundle of another model there
    answered in its place without a word. The name loads the zoo's model and says so."""
    import pytest

    import zoo
    from zoo.bundle import resolve

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ner-bilstm").mkdir()
    with pytest.warns(UserWarning, match="folder ner-bilstm in the current folder is not read "
                                         r"\(load it as ./ner-bilstm\)"):
        assert resolve("ner-bilstm") == zoo.registry.get("ner-bilstm").bundle_path
    (tmp_path / "ner-bilstm").rmdir()
    (tmp_path / "ner-bilstm").write_text("x")
    with pytest.warns(UserWarning, match="the file ner-bilstm"):
        assert resolve("ner-bilstm") == zoo.registry.get("ner-bilstm").bundle_path


@pytest.mark.parametrize("argv,said", [
    (["list"], "zoo list: interrupted\n"),
    (["train", "forecast-lstm", "--out", "runs/f"],
     "interrupted; re-run the same command to resume training\n"),
])
def test_ctrl_c_says_resume_only_for_training(argv, said, monkeypatch, capsys):
    """Ctrl-C on zoo serve or zoo predict said 're-run the same command to resume training'."""
    import zoo.cli

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(zoo.cli, "run", interrupted)
    assert zoo.cli.main(argv) == 130
    assert capsys.readouterr().err == said


COMMANDS = ["list", "info", "predict", "train", "fine-tune", "evaluate", "compare", "export",
            "bench", "demo", "pull", "serve", "batch-predict"]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_argument_of_every_command_has_a_help_line(command):
    """`zoo info --help` said only "name", `zoo evaluate --help` gave --data no help, and
    train's --epochs, --units ... said neither what they take nor their default."""
    import argparse

    from zoo.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert command in sub.choices, sorted(sub.choices)
    bare = [a.dest for a in sub.choices[command]._actions if not a.help]
    assert not bare, f"zoo {command}: no help for {bare}"


def test_help_gives_examples_and_defaults(capsys):
    for argv, said in [([], "examples:\n  zoo demo"),
                       (["evaluate"], "zoo evaluate ner-bilstm --data test.conll"),
                       (["train"], "default: the model's recipe, shown by zoo info NAME"),
                       (["fine-tune"], "most epochs (default: 3;"),
                       (["info"], "registered name (zoo list) or bundle folder")]:
        with pytest.raises(SystemExit):
            main([*argv, "--help"])
        out = capsys.readouterr().out
        assert said in " ".join(out.split()) or said in out, (argv, out)


def test_every_command_help_gives_examples():
    """`zoo list --help` alone gave none."""
    from zoo.cli import PREDICT_EXAMPLES, _parser

    for name, command in _parser().commands.items():
        epilog = PREDICT_EXAMPLES if name == "predict" else command.epilog or ""
        assert "examples" in epilog and f"\n  zoo {name}" in epilog, name


def test_list_has_a_header_and_aligned_columns(capsys):
    """The task column was 10 wide: "text generation" and "summarization" pushed their
    summaries out of line."""
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "TASK", "SUMMARY"]
    column = lines[0].index("SUMMARY")
    for line in lines[1:]:
        if not line.startswith(" "):            # a model's line, not a preset's
            assert line[column - 2:column] == "  " and line[column] != " ", line


def test_info_in_a_terminal_aligns_tables_and_names_the_pictures(capsys, monkeypatch):
    """A terminal got raw `| a | b |` markdown and no word of the bundle's pictures."""
    from zoo.card import terminal_text

    text = terminal_text("x\n| metric | value |\n|---|---|\n| f1 | 0.9390 |\n| " + "w" * 60 + " | 1 |")
    assert text.splitlines()[1:4] == ["metric".ljust(42) + "value", "-" * 40 + "  ------",
                                      "f1".ljust(42) + "0.9390"]
    assert text.splitlines()[4].startswith("w" * 37 + "...")
    assert main(["info", "ner-bilstm"]) == 0             # piped: the markdown as written
    out = capsys.readouterr().out
    assert "| metric | value |" in out
    assert out.splitlines()[-1].startswith("pictures: ") and "training_curve.png" in out
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main(["info", "ner-bilstm"]) == 0
    assert "| metric | value |" not in capsys.readouterr().out


def test_evaluate_prints_tables_and_says_which_split(capsys):
    """per_type was not printed at all; the split that chose the epoch was not named so."""
    from zoo.cli import print_metrics

    card = {"valid": {"data": "conll2003/valid.txt"}, "report": {"data": "conll2003 [report]"}}
    print_metrics({"f1": 0.94, "pinball_ratio_vs_naive_se": 0.000123, "big": 123456.7,
                   "per_type": {"LOC": {"f1": 0.5}}, "data": "conll2003/valid.txt"}, card)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "f1".ljust(len("pinball_ratio_vs_naive_se")) + " 0.9400"
    assert lines[1].endswith(" 0.000123") and lines[2].endswith(" 1.23e+05")
    assert "per_type:" in lines and any(ln.split() == ["LOC", "0.5000"] for ln in lines)
    assert lines[-1].startswith("note: conll2003/valid.txt is this model's selection split")
    print_metrics({"f1": 0.9, "data": "conll2003 [report]"}, card)
    assert capsys.readouterr().out.splitlines()[-1].endswith("nothing was chosen on it")
    print_metrics({"f1": 0.9, "data": "conll2003 [train]"}, card)      # no note
    assert capsys.readouterr().out.splitlines()[-1].startswith("data ")


def test_long_work_shows_signs_of_life_on_stderr_only(capsys, monkeypatch):
    """`zoo evaluate`, `zoo pull`, `zoo batch-predict` said nothing for minutes, and a
    progress bar into a log was nothing at all; now a plain line now and then there."""
    import time

    import zoo.monitor as monitor
    from zoo.cli import working

    with working("zoo evaluate x", after=0.05, every=0.05):
        time.sleep(0.3)
    out, err = capsys.readouterr()
    assert out == "" and err.splitlines()[0].startswith("zoo evaluate x: working, ")
    monkeypatch.setattr(monitor, "PLAIN_AFTER_S", 0.0)
    monkeypatch.setattr(monitor, "PLAIN_EVERY_S", 0.0)
    for _ in monitor.progress(range(3), desc="scoring", unit="batch"):
        time.sleep(0.01)
    out, err = capsys.readouterr()
    assert out == "" and "\r" not in err and "scoring: 3/3 batch (100%)" in err
    monkeypatch.setenv("ZOO_PROGRESS", "0")
    with working("zoo pull x", after=0.0, every=0.01):
        time.sleep(0.1)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv,attr,value,options", [
    # options before NAME work as after it (git's, docker's and pip's habit)
    (["predict", "--json", "ner-bilstm", "EU rejects"], "inputs", ["EU rejects"], {}),
    (["predict", "ner-bilstm", "a", "--json", "b"], "inputs", ["a", "b"], {}),
    (["info", "--json", "ner-bilstm"], "json", True, {}),
    (["evaluate", "--split", "report", "ner-bilstm", "--data", "d"], "split", "report", {}),
    # an option passed on took NAME as its value ("unknown model '8'"; `--head sigmoid
    # music-lstm` trained a model called "sigmoid" with head=music-lstm)
    (["evaluate", "--beam", "8", "summarize-attn", "--data", "d"], "name", "summarize-attn",
     {"beam": 8}),
    (["train", "--head", "sigmoid", "music-lstm", "--out", "o"], "name", "music-lstm",
     {"head": "sigmoid"}),
    (["fine-tune", "--data=d", "--validation", "v", "ner-bilstm", "--out", "o", "--epoch", "2"],
     "epochs", 2, {}),       # an abbreviation of its own is its own, as argparse reads it
    (["fine-tune", "s", "--data", "d", "--rehearse", "--head", "x", "--out", "o"], "rehearse",
     True, {"head": "x"}),      # an option whose value is optional
    (["fine-tune", "s", "--rehearse", "r/", "--data", "d", "--out", "o"], "rehearse", "r/", {}),
    # a true-or-false option alone is true, before NAME or after it: it took NAME or the
    # input after it as its value ("option same_speaker must be true or false; got 'a.wav'")
    (["predict", "--echo", "charlm-lstm", "ROMEO:"], "inputs", ["ROMEO:"], {"echo": True}),
    (["predict", "speech-ctc", "--same-speaker", "a.wav", "b.wav"], "inputs",
     ["a.wav", "b.wav"], {"same_speaker": True}),
    (["predict", "summarize-attn", "--attention", "false", "x"], "inputs", ["x"],
     {"attention": False}),
    (["evaluate", "--lowercased", "ner-bilstm", "--data", "d"], "name", "ner-bilstm",
     {"lowercased": True}),
    (["train", "--bidirectional", "ner-bilstm", "--out", "o"], "name", "ner-bilstm",
     {"bidirectional": True}),
    # Beam's options before NAME: `2` was read as NAME
    (["batch-predict", "--save_main_session", "--direct_num_workers", "2", "ner-bilstm",
      "--input", "i", "--out", "o"], "name", "ner-bilstm",
     {"beam_args": ["--save_main_session", "--direct_num_workers", "2"]}),
    # several names with an option between them ("unrecognized arguments: speech-ctc")
    (["serve", "ner-bilstm", "--port", "8080", "speech-ctc"], "models",
     ["ner-bilstm", "speech-ctc"], {}),
    (["demo", "ner-bilstm", "--out", "d", "music-lstm"], "names", ["ner-bilstm", "music-lstm"],
     {}),
])
def test_options_may_stand_before_or_after_the_name(argv, attr, value, options):
    from zoo.cli import parse_command

    args, passed = parse_command(argv)
    assert (args.command, getattr(args, attr), passed) == (argv[0], value, options)


@pytest.mark.parametrize("argv,said", [
    (["--json", "info", "ner-bilstm"], "zoo: error: --json before the command: options go "
                                       "after it, e.g. zoo info ner-bilstm --json"),
    (["info", "ner-bilstm", "--jsn"], "zoo info: error: unrecognized arguments: --jsn"),
    (["list", "extra"], "zoo list: error: unrecognized arguments: extra"),
])
def test_a_misplaced_or_unknown_option_names_the_command(argv, said, capsys):
    """It was `zoo: error: unrecognized arguments: --json` under `zoo`'s usage, whichever
    command's option it was."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.splitlines()[-1] == said
    assert err.startswith(f"usage: {said.split(':')[0]} ")


def test_a_bare_zoo_shows_its_commands_not_a_usage_error(capsys):
    """`zoo` alone, a newcomer's first try, said only "the following arguments are required:
    COMMAND" (after 7 s of TensorFlow's import); now the commands and examples, demo first."""
    with pytest.raises(SystemExit) as stop:
        main([])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "required" not in err
    assert "predict" in err and "examples:\n  zoo demo" in err


def test_a_wrong_command_line_is_refused_before_tensorflow_loads():
    """A typo'd command or a missing NAME waited for TensorFlow's import (7 s) before
    argparse said what was wrong; it is now parsed first."""
    import subprocess
    import sys

    code = ("import sys\nfrom zoo.cli import main\n"
            "for argv in (['lst'], ['predict'], ['evaluate', '--split', 'test']):\n"
            "    try:\n        main(argv)\n    except SystemExit as e:\n"
            "        print(e.code, 'tensorflow' in sys.modules)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert run.stdout.split("\n") == ["2 False"] * 3 + [""], run.stderr[-500:]
    assert "invalid choice: 'lst'" in run.stderr and "NAME|DIR" in run.stderr
