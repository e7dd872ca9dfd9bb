"""Paths as users write them: `~` no shell expanded (`--out=~/x`, a quoted "~/x", $ZOO_HOME
from a Dockerfile, a Python string), Windows' backslashes on Linux, an --out that is a folder
of the user's own files, a file name holding a newline.

Read-only folders are not tested here: the suite may run as root, which chmod does not stop
(and no read-only bind mount is at hand). `zoo predict` of a bundle in a read-only folder was
checked by tracing its system calls: it opens nothing there for writing (no lock, no cache)."""
import os
import shutil

import pytest

import zoo
from zoo import hub
from zoo.cli import main
from zoo.errors import BundleError, InputError

NAME = "forecast-lstm"          # the smallest shipped bundle


@pytest.fixture
def home(tmp_path, monkeypatch):
    """$HOME in tmp_path/home, the current folder tmp_path/cwd (where a "~" folder showed)."""
    (tmp_path / "home").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path / "home"


@pytest.fixture
def others(tmp_path):
    """A folder of a user's own files, not a bundle."""
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "metrics.json").write_text("my own numbers")
    (folder / "thesis.txt").write_text("precious")
    return folder


def test_a_tilde_no_shell_expanded_is_the_home_folder(home, shipped, capsys, monkeypatch):
    """`--out=~/run` (bash expands ~ only at a word's start) made a folder named "~" in the
    current one and wrote the bundle there, then advised `zoo predict ~/run`, which the shell
    reads as the home folder's; m.save("~/b") the same; $ZOO_HOME="~/zc" was ./~/zc."""
    shipped(NAME).save("~/b")
    assert (home / "b" / "manifest.json").is_file()
    assert zoo.bundle.resolve("~/b") == home / "b"
    monkeypatch.setenv("ZOO_HOME", "~/zc")
    assert hub.home() == home / "zc"
    (home / "run").mkdir()
    (home / "run" / "notes.txt").write_text("mine")     # refused: shows where --out went
    assert main(["fine-tune", NAME, "--data=~/no.csv", "--out=~/run"]) == 2
    assert f"{home / 'run'}: a folder of other files" in capsys.readouterr().err
    assert main(["predict", NAME, "@~/none.csv"]) == 2
    assert f"@~/none.csv: no such file" in capsys.readouterr().err
    assert os.listdir() == [], "no folder named ~ in the current one"


def test_windows_backslashes_are_refused_naming_the_path_meant(home, shipped, capsys):
    """`--out runs\\my-ner` made one folder of that name, `--plot out\\fan.png` a file named
    so in the current folder, and zoo.load("runs\\my-ner") was "unknown model ... Registered
    models: ..."; a name with a backslash that exists is still read."""
    expected = r"a Windows-style path \(\\ between folders\).*expected / between folders: runs/x"
    with pytest.raises(BundleError, match=r"^runs\\x: " + expected):
        zoo.load("runs\\x")
    with pytest.raises(InputError, match=r"save\(\) directory runs\\x: " + expected):
        shipped(NAME).save("runs\\x")
    with pytest.raises(SystemExit):     # argparse's refusal of the argument
        main(["fine-tune", NAME, "--data", "d.csv", "--out", "runs\\x"])
    assert "--out/--output: runs\\x: a Windows-style path" in capsys.readouterr().err
    assert main(["predict", NAME, "p.csv", "--plot", "runs\\x"]) == 2
    assert "expected / between folders: runs/x" in capsys.readouterr().err
    assert os.listdir() == []
    shutil.copytree(zoo.bundle.resolve(NAME), "a\\b")
    assert zoo.bundle.resolve("a\\b").name == "a\\b"


def test_an_out_folder_of_other_files_is_refused_and_kept(others, shipped, bundle_copy, tmp_path):
    """m.save(DIR), zoo train/fine-tune --out DIR and a soup into a folder of the user's
    files wrote over its metrics.json and pinned its files in the manifest; the soup, which
    replaces OUT whole, deleted the folder. Refused before any work; an empty folder, a
    bundle and a run to resume are written as before."""
    from zoo.soup import soup

    copy = bundle_copy(NAME)
    before = {p.name: p.read_text() for p in others.iterdir()}
    message = rf"^{others}: a folder of other files \(thesis.txt\), not a bundle"
    with pytest.raises(InputError, match=message + r"; expected save\(\) directory"):
        shipped(NAME).save(others)
    with pytest.raises(InputError, match=message + r"; expected --out \(out=\)"):
        shipped(NAME).fine_tune(tmp_path / "no.csv", out=others)
    with pytest.raises(InputError, match=message):
        zoo.train(NAME, data=tmp_path / "no-data", out=others)
    with pytest.raises(InputError, match=message + "; expected OUT"):
        soup([NAME, copy], others)
    assert {p.name: p.read_text() for p in others.iterdir()} == before
    with pytest.raises(InputError, match=r"thesis.txt: a file, not a folder; expected save\(\) "
                                         r"directory to name a folder"):
        shipped(NAME).save(others / "thesis.txt")       # a raw FileExistsError
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", copy):
        shipped(NAME).save(folder)
        zoo.bundle.check(folder)


def test_a_csv_whose_name_holds_a_newline_is_read_as_a_file(tmp_path, data_dir):
    """A string with a newline is CSV text named as a file, unless a file has that name: it
    was refused as "CSV text (2 lines) given as a file name"."""
    from zoo_pipelines.forecasting.series import series_from_table

    path = tmp_path / "prices\nAAL.csv"
    path.write_text("date,close,Name\n2020-01-02,1.5,AAL\n2020-01-03,1.6,AAL\n")
    assert [s["name"] for s in series_from_table(str(path))] == ["AAL"]
    with pytest.raises(InputError, match="CSV text"):
        series_from_table("date,close\n2020-01-02,1.5")


def test_a_name_holding_a_newline_is_one_line_in_errors_and_warnings(tmp_path, capsys,
                                                                      monkeypatch):
    """A file or folder name holding a newline (or ESC) was printed raw: the one-line error
    ran over two lines, its second a line of its own to a log or a script reading stderr.
    Such a name shows its escapes; an ordinary one is as it was."""
    import warnings

    from zoo.errors import ZooWarning, warn

    odd = tmp_path / "my\nrun\x1b[31m"
    odd.mkdir()
    with pytest.raises(BundleError) as caught:
        zoo.load(str(odd))
    assert str(caught.value).startswith(f"{tmp_path}/my\\nrun\\x1b[31m: no manifest.json")
    assert main(["predict", str(odd / "x.csv"), "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "my\\nrun\\x1b[31m/x.csv: no such folder" in err
    with pytest.raises(OSError) as os_error:            # the command line's last resort
        open(odd / "none")
    assert "\n" not in zoo.errors.describe_os_error(os_error.value)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ZooWarning)
        warn(f"{odd}: read as the model's own")
    assert str(seen[0].message) == f"{tmp_path}/my\\nrun\\x1b[31m: read as the model's own"
    plain = tmp_path / "ordinary run"
    with pytest.raises(BundleError, match=f"^{plain}: no such folder"):
        zoo.load(str(plain))
