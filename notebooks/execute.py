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


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for path in [Path(p) for p in sys.argv[1:]] or sorted(HERE.glob("*.ipynb")):
        print(f"running {path.name}", flush=True)
        nbformat.write(quiet(execute(path)), path)
