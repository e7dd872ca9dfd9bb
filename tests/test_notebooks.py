"""Every notebook in notebooks/ runs top to bottom (nbclient), on the shipped models and
real data, and is stored with its outputs (`make notebooks` writes them)."""
import re
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


# ---- what a stored notebook quotes from its shipped bundle, as the bundle now reads.
# A bundle re-measured (or a card that grew lines) leaves the stored outputs saying the old
# thing until `make notebooks` runs again; this catches it in every run without running a
# notebook (the numbers of a slice a cell measures itself are left to test_notebook_runs).


def _stdout(name: str) -> str:
    """The stored stdout and text results of a notebook, in order, as one text."""
    nb = nbformat.read(HERE / f"{name}.ipynb", as_version=4)
    return "".join(o.get("text", "") if o.get("name") == "stdout"
                   else o.get("data", {}).get("text/plain", "")
                   for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))


def _split(bundle: str, split: str, places: int) -> dict:
    """A split's numbers in metrics.json, rounded as the notebooks round them."""
    import json

    import zoo.bundle

    metrics = json.loads((zoo.bundle.resolve(bundle) / "metrics.json").read_text())
    return {k: round(v, places) if isinstance(v, float) else v
            for k, v in metrics[split].items() if k != "data"}


def _card_head(bundle: str) -> str:
    """The card to its report split, as the notebooks print it."""
    import zoo

    return zoo.info(bundle).split("## Selection split")[0]


def _floats(numbers: dict) -> str:
    return str({k: v for k, v in numbers.items() if isinstance(v, float)})


# (notebook, what its stored outputs must hold): each the text its cell prints, formatted
# here from the bundle's card and metrics.json instead of the model
STORED_QUOTES = [
    ("ner_bilstm", lambda: _card_head("ner-bilstm")),
    ("speech_ctc", lambda: _card_head("speech-ctc")),
    ("speech_ctc", lambda: "card: " + _floats(_split("speech-ctc", "valid", 4))),
    ("charlm_lstm", lambda: _floats(_split("charlm-lstm", "report", 3))),
    # evaluate() on the whole valid split: the card's valid numbers, pretty-printed
    *(("music_lstm", lambda k=k, v=v: f"'{k}': {v!r}")
      for k, v in _split("music-lstm", "valid", 4).items()),
]


@pytest.mark.parametrize("name,quote", STORED_QUOTES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(STORED_QUOTES)])
def test_stored_outputs_quote_the_bundle_as_it_now_reads(name, quote):
    expected = quote()
    assert expected in _stdout(name), (
        f"{name}.ipynb's stored outputs should show {expected[:300]!r} (the bundle's card "
        f"and metrics.json now); run `notebooks/execute.py {name}.ipynb`")


# A warning at zoo's own line (zoo/..., zoo_pipelines/...: the summarize notebook stored
# four, with the path of the machine that ran it) tells a reader nothing about their cell;
# zoo.errors.warn puts it at the user's line, and the stored outputs should show that.
ZOO_SOURCE_LINE = re.compile(r"\bzoo(_pipelines)?/[\w/]+\.py:\d+")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_warnings_point_at_the_notebooks_own_cells(path):
    cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    stderr = "".join(o.get("text", "") for c in cells for o in c.get("outputs", [])
                     if o.get("name") == "stderr")
    assert not ZOO_SOURCE_LINE.search(stderr), ZOO_SOURCE_LINE.search(stderr).group()


def test_progress_in_a_notebook_is_a_bar_in_the_cell_where_ipywidgets_can_draw_it(monkeypatch):
    # A kernel's stderr is no terminal: a notebook got the plain line every 30 s meant for
    # logs. With ipywidgets, tqdm.notebook's bar; without, the plain lines as before (no
    # "IProgress not found" warning); a terminal's IPython (no kernel) keeps the terminal's.
    import types

    import IPython
    import tqdm.notebook

    from zoo.runtime import PLAIN_AFTER_S, progress

    drawn = []

    class Widget:
        def __init__(self, iterable, **options):
            drawn.append(options)

    monkeypatch.setattr(tqdm.notebook, "tqdm", Widget)
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=object()))
    monkeypatch.setattr(tqdm.notebook, "IProgress", object)
    assert isinstance(progress(range(3), desc="evaluate"), Widget)
    assert drawn == [{"total": None, "desc": "evaluate", "unit": "it", "leave": False,
                      "disable": False}]
    monkeypatch.setattr(tqdm.notebook, "IProgress", None)        # no ipywidgets
    assert progress(range(3), desc="evaluate").delay == PLAIN_AFTER_S      # the plain lines
    monkeypatch.setattr(tqdm.notebook, "IProgress", object)
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace())    # terminal
    assert not isinstance(progress(range(3), desc="evaluate"), Widget)
