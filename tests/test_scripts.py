"""The scripts run with `python -m` (benchmarks, recipes, studies) and notebooks/execute.py:
`--help` prints the usage, and a wrong invocation (an unknown model, a count of 0, a
missing file) is one line before any work, never a traceback nor a results file rewritten.
None of these trains or measures anything."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from zoo.errors import InputError, UnknownModelError, ZooError

REPO = Path(__file__).resolve().parent.parent


def _execute_py():
    spec = importlib.util.spec_from_file_location("notebooks_execute", REPO / "notebooks" / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("module", ["benchmarks.lite_step_batch", "benchmarks.caption_cnn_lstm_beam",
                                    "zoo.soup", "zoo_pipelines.summarization.mix",
                                    "zoo_pipelines.summarization.general"])
def test_help_prints_the_usage_and_does_nothing(module, capsys):
    # lite_step_batch ran (and rewrote its results), mix wrote a folder named --help,
    # caption_cnn_lstm_beam loaded --help as a model, general raised a TypeError
    with pytest.raises(SystemExit) as e:
        importlib.import_module(module).main(["--help"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m " + module)


def test_every_benchmark_reports_errors_in_one_line():
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        text = path.read_text()
        if '__name__ == "__main__"' in text:
            assert "raise SystemExit(script(main, __spec__.name))" in text, path.name


def test_script_turns_errors_into_one_line(capsys):
    from benchmarks.harness import script

    def unknown():
        raise UnknownModelError("unknown model 'nerr-bilstm'")

    def no_torch():
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    assert script(unknown, "benchmarks.x") == 2
    assert capsys.readouterr().err == "error: unknown model 'nerr-bilstm'\n"
    assert script(no_torch, "benchmarks.x") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'torch'" in err and "pip install" in err
    assert script(lambda: [1, 2], "benchmarks.x") == 0      # a list is no exit status


def test_benchmark_counts_are_checked_before_any_work():
    from benchmarks import distribute, memory, profile_step, serve_load, toggle_step
    from benchmarks.harness import parse_args
    from benchmarks.ner_bilstm import SPEC

    with pytest.raises(InputError, match="--steps must be an integer >= 1; got 0"):
        parse_args(SPEC, "benchmarks.ner_bilstm", ["--steps", "0"])     # was the default
    with pytest.raises(InputError, match="--threads"):
        parse_args(SPEC, "benchmarks.ner_bilstm", ["--threads", "-1"])
    with pytest.raises(InputError, match="a folder; expected the report's .md file"):
        parse_args(SPEC, "benchmarks.ner_bilstm", ["--out", str(REPO)])
    with pytest.raises(InputError, match="--steps"):
        memory.main(["--steps", "-1", "ner-bilstm"])       # wrote a failed row into memory.md
    with pytest.raises(UnknownModelError, match="Did you mean 'ner-bilstm'"):
        memory.main(["nerr-bilstm"])
    with pytest.raises(UnknownModelError):
        profile_step.main(["nerr-bilstm"])
    with pytest.raises(InputError, match="--steps"):
        distribute.main(["--steps", "-1"])                 # a raw KeyError in a worker
    with pytest.raises(InputError, match="--seconds"):
        serve_load.main(["--seconds", "nan"])
    with pytest.raises(InputError, match="has no attribute 'Nope'"):
        toggle_step.resolve("zoo.training.Nope")


def test_study_scripts_check_their_arguments_first(capsys):
    from benchmarks import caption_generalize, speech_ctc_adapt

    with pytest.raises(InputError, match="SPEAKER=BUNDLE"):
        speech_ctc_adapt.held_out([])                      # was a raw StopIteration
    with pytest.raises(SystemExit):
        caption_generalize.main(["no-label"])
    assert "expected RUN=LABEL" in capsys.readouterr().err
    with pytest.raises(InputError, match="no run folder"):
        caption_generalize.main(["/nonexistent/run=x"])   # was an IndexError


def test_summarization_general_names_what_is_wrong(tmp_path, capsys):
    from zoo_pipelines.summarization import general

    with pytest.raises(SystemExit) as e:
        general.main([])                                   # was an IndexError
    assert e.value.code == 2
    with pytest.raises(InputError, match="GRID_JSON: expected a JSON list"):
        general.main(["sweep", "summarize-attn", "not json", str(tmp_path / "s.json")])
    with pytest.raises(ZooError, match=r"none.json: no such sweep file$"):
        general.main(["finish", "summarize-attn", str(tmp_path / "o"), str(tmp_path / "none.json"), "r"])
    (tmp_path / "s.json").write_text('{"beam 1": {"options": {"beam": 1}}}')
    with pytest.raises(InputError, match="ROW 'beam 2' is not a row"):
        general.main(["finish", "summarize-attn", str(tmp_path / "o"), str(tmp_path / "s.json"), "beam 2"])


def test_soup_mix_and_notebooks_refuse_wrong_calls(tmp_path, capsys):
    from zoo import soup
    from zoo_pipelines.summarization import mix

    with pytest.raises(SystemExit) as e:
        soup.main([str(tmp_path / "out")])                 # OUT and no bundle
    assert e.value.code == 2 and "BUNDLE" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="a file, not a folder"):
        mix.main([str(tmp_path / "file")])
    with pytest.raises(SystemExit):
        _execute_py().main(["nope.ipynb"])                 # was a raw FileNotFoundError
    assert "nope.ipynb: no such file; expected a notebook, one of" in capsys.readouterr().err


def test_python_m_benchmark_with_a_typo_is_one_line(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-m", "benchmarks.memory", "nerr-bilstm"], cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert re.fullmatch(r"error: unknown model 'nerr-bilstm'.*\n", r.stderr), r.stderr
    # the pipelines' recipe steps go through the same zoo.errors.script (they exited 1)
    (tmp_path / "file").write_text("x")
    r = subprocess.run([sys.executable, "-m", "zoo_pipelines.summarization.mix",
                        str(tmp_path / "file")], cwd=REPO, env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and re.fullmatch(r"error: .*file: a file, not a folder.*\n",
                                              r.stderr), r.stderr
    assert issubclass(UnknownModelError, ZooError)
