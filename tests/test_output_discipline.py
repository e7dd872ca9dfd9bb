"""The zoo's output as tools and people read it: tables at a terminal's width, the zoo's
warning category named on the command line, Ctrl-C while a benchmark still imports."""
import signal
import sys
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


def test_ctrl_c_while_a_benchmark_imports_is_one_line(monkeypatch, capsys):
    """Ctrl-C in a benchmark's first second (its imports) was a traceback: `python -m
    benchmarks.X` installs a handler when the package is imported, which prints one line
    and exits 130, until zoo.errors.script puts Python's own back around main(). Checked
    in-process: a signal sent to a child at a fixed time raced its start-up on a busy machine."""
    import importlib

    import benchmarks

    monkeypatch.setattr(sys, "orig_argv", [sys.executable, "-m", "benchmarks.ner_bilstm"])
    previous = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        importlib.reload(benchmarks)
        handler = signal.getsignal(signal.SIGINT)
        assert handler is benchmarks._interrupted
        with pytest.raises(SystemExit) as stop:
            handler(signal.SIGINT, None)
        assert stop.value.code == 130
        assert capsys.readouterr().err == "python -m benchmarks.ner_bilstm: interrupted\n"
        # once main() runs, Ctrl-C is a KeyboardInterrupt the script reports (130 as well)
        from zoo.errors import script

        assert script(lambda: 0 if signal.getsignal(signal.SIGINT) is signal.default_int_handler
                      else 3, "benchmarks.x") == 0
    finally:
        signal.signal(signal.SIGINT, previous)
        monkeypatch.undo()
        importlib.reload(benchmarks)      # as imported by pytest: no handler installed
    assert signal.getsignal(signal.SIGINT) is previous
