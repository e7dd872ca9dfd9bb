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
