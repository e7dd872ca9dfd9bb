"""Run every notebook top to bottom and store it with its outputs, so a reader browsing
the repository sees the pictures (`make notebooks`; tests/test_notebooks.py re-runs them
without writing).

    .venv/bin/python notebooks/execute.py [NAME.ipynb ...]
"""
import os
import re
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
# TensorFlow's C++ start-up lines (CUDA probes, oneDNN notes) and absl's preamble: noise
# for a reader, dropped from stored outputs.
NOISE = re.compile(r"^([IWEF]\d{4} [\d:.]+\s+\d+ \S+\] |WARNING: All log messages before absl|"
                   r"To enable the following instructions|INFO: Created TensorFlow Lite|"
                   r"INFO:tensorflow:Assets written to)")


def quiet(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """`nb` without NOISE lines in its stderr outputs (and without outputs left empty)."""
    for cell in nb.cells:
        outputs = []
        for o in cell.get("outputs", []):
            if o.get("name") == "stderr":
                o["text"] = "".join(line for line in o["text"].splitlines(keepends=True)
                                    if not NOISE.match(line))
                if not o["text"].strip():
                    continue
            outputs.append(o)
        if cell.cell_type == "code":
            cell.outputs = outputs
    return nb


def execute(path: Path) -> nbformat.NotebookNode:
    """The notebook at `path`, run in its own folder; raises on the first failing cell."""
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


def main(argv=None) -> int:
    # argparse: --help was opened as a notebook (a raw FileNotFoundError)
    import argparse

    ap = argparse.ArgumentParser(prog="notebooks/execute.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", metavar="NAME.ipynb",
                    help="notebooks to run and store (default: every one in notebooks/)")
    args = ap.parse_args(argv)
    # NAME.ipynb alone is read in notebooks/ (as the usage line says)
    paths = ([HERE / p if not Path(p).exists() and (HERE / p).exists() else Path(p)
              for p in args.notebooks] or sorted(HERE.glob("*.ipynb")))
    for path in paths:          # all checked before the first runs (minutes each)
        if path.suffix != ".ipynb" or not path.is_file():
            ap.error(f"{path}: {'no such file' if not path.exists() else 'not a notebook file'}; "
                     f"expected a notebook, one of {', '.join(p.name for p in sorted(HERE.glob('*.ipynb')))}")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for path in paths:
        print(f"running {path.name}", flush=True)
        nbformat.write(quiet(execute(path)), path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
