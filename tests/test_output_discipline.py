"""The zoo's output as tools and people read it: tables at a terminal's width, the zoo's
warning category named on the command line, Ctrl-C while a benchmark still imports."""
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from zoo import cli
from zoo.card import terminal_text
from zoo.errors import ZooWarning

WIDE = "| variant | settings | dev F1 | epoch |\n|---|---|---|---|\n| recipe | " + \
       "the bundle's own (dropout 0.5, batch 32, constant 2e-3) | 0.7712 | 3 |"


def test_a_table_wider_than_the_terminal_is_folded_and_one_that_fits_is_aligned():
    folded = terminal_text("intro\n" + WIDE + "\nafter", width=40).splitlines()
    assert folded[0] == "intro" and folded[-1] == "after"
    assert folded[1] == "variant: recipe" and "  dev F1: 0.7712" in folded
    assert all(len(line) <= 40 for line in folded)
    assert "constant 2e-3)" in " ".join(folded), "a folded cell is whole, wrapped"
    aligned = terminal_text(WIDE, width=200).splitlines()
    assert aligned[0].split() == ["variant", "settings", "dev", "F1", "epoch"]
    assert terminal_text(WIDE) == terminal_text(WIDE, width=None), "no width: never folded"


def test_zoo_info_folds_the_card_tables_only_on_a_narrow_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "60")
    assert cli.main(["info", "ner-bilstm"]) == 0
    tty = capsys.readouterr().out.splitlines()
    assert not [line for line in tty if line.count("  ") > 3 and len(line) > 60]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert cli.main(["info", "ner-bilstm"]) == 0
    assert "|---" in capsys.readouterr().out, "piped: the markdown as written"


def test_a_w_option_naming_zoo_warning_is_applied(monkeypatch):
    monkeypatch.setattr(sys, "warnoptions", ["error::zoo.ZooWarning"])
    with warnings.catch_warnings():
        cli.zoo_warnoptions()
        with pytest.raises(ZooWarning):
            warnings.warn("cut", ZooWarning)
        with pytest.warns(UserWarning):         # only the category named
            warnings.warn("not ours", UserWarning)


def test_a_zoo_warning_raised_as_an_error_is_one_line(monkeypatch, capsys):
    def run(argv):
        raise ZooWarning("input 0: holds HTML")
    monkeypatch.setattr(cli, "run", run)
    assert cli.main(["list"]) == 2
    assert capsys.readouterr().err == "error: input 0: holds HTML\n"


@pytest.mark.parametrize("after", [0.4])   # Python is up, its imports under way
def test_ctrl_c_while_a_benchmark_imports_is_one_line(after):
    root = Path(__file__).resolve().parents[1]
    p = subprocess.Popen([sys.executable, "-m", "benchmarks.ner_bilstm", "--quick"], cwd=root,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(after)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert p.returncode == 130 and err.strip().splitlines()[-1] == \
        "python -m benchmarks.ner_bilstm: interrupted"
