"""Every notebook in notebooks/ runs top to bottom (nbclient), on the shipped models and
real data, and is stored with its outputs (`make notebooks` writes them)."""
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks"))
from execute import HERE, execute  # noqa: E402

NOTEBOOKS = sorted(HERE.glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_executed_with_its_pictures(path):
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in cells), f"{path.name}: run `make notebooks`"
    outputs = [o for c in cells for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs), path.name
    assert not [o for o in outputs if o.get("output_type") == "error"]


# Slow: the seven notebooks take 6-7 minutes of the two CI cores, and every call they make
# (load, predict, evaluate, fine-tune, export, train) is covered by the contract tests.
# The test above still checks, in every run, that each is stored executed and error-free;
# `make notebooks` and `make test-slow` re-run them.
@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, data_dir):
    nb = execute(path)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


# A user's mistake in a cell (a misspelt name, a split that does not exist): IPython shows
# the user's own frames and zoo's one-line message, not 30-40 lines through zoo's internals
# (ZooError._render_traceback_); the cell still fails, and other errors keep every frame.
SHELL = r"""
import re
from IPython.core.interactiveshell import InteractiveShell
sh = InteractiveShell.instance()
sh.run_cell("import zoo")
def run(code):
    r = sh.run_cell(code)
    print("FAILED", type(r.error_in_exec).__name__, flush=True)
run("zoo.info('ner-bilstn')")
run("def mine():\n    return zoo.info('ner-bilstn')\nmine()")
run("1 / 0")
run("zoo.errors.SHORT_TRACEBACKS = False")
run("zoo.info('ner-bilstn')")
"""


def test_zoo_errors_in_ipython_show_the_users_frames_and_the_message():
    import re
    import subprocess

    pytest.importorskip("IPython")
    out = subprocess.run([sys.executable, "-c", SHELL], capture_output=True, text=True,
                         timeout=120, cwd=Path(__file__).resolve().parent.parent).stdout
    out = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert out.count("FAILED UnknownModelError") == 3 and "FAILED ZeroDivisionError" in out
    short, nested, division, _, full = out.split("FAILED")[:5]
    assert "Did you mean 'ner-bilstm'?" in short and "zoo.info('ner-bilstn')" in short
    assert "registry.py" not in short and "zoo.errors.SHORT_TRACEBACKS = False" in short
    assert short.count("Cell In[") == 1
    assert "mine()" in nested and "registry.py" not in nested
    assert nested.count("Cell In[") == 2          # the cell and the user's own function
    assert "ZeroDivisionError" in division and "not shown" not in division
    assert "registry.py" in full and "not shown" not in full
