"""The command lines a user copies: every example of `zoo COMMAND --help` and of the
README's "Command line" parses with the CLI's own parser as `zoo` reads it (predict's and
train's `--key value` pairs included), and those that need no file of the user's run.
The README wrote optional parts as `[--quantize dynamic|float16]`, which a shell runs as a
pipe into a command `float16]`; it gave the maintainer's `zoo compare
zoo_pipelines/saved_models/...` and `../shared/data/...` paths that exist only in the
checkout's root; examples used files a user does not have without saying they were theirs."""
import os
import re
import shlex
from pathlib import Path

import pytest

from zoo import cli

README = Path(__file__).resolve().parents[1] / "README.md"


def _subparsers():
    import argparse

    return next(a for a in cli._parser()._actions
                if isinstance(a, argparse._SubParsersAction)).choices


def help_examples() -> list[tuple[str, str]]:
    """(where, line) for each example line of the help texts: `zoo --help`'s, every command's
    epilog, and `zoo predict --help`'s (its epilog is built only on --help)."""
    texts = {"zoo --help": cli.EPILOG, "zoo predict --help": cli.PREDICT_EXAMPLES}
    texts.update({f"zoo {n} --help": p.epilog for n, p in _subparsers().items() if p.epilog})
    return [(where, line.strip().removeprefix("then: ")) for where, text in texts.items()
            for line in text.splitlines()
            if line.strip().removeprefix("then: ").startswith("zoo ")]


def readme_examples() -> list[tuple[str, str]]:
    section = README.read_text(encoding="utf-8").split("\n## Command line\n", 1)[1]
    block = section.split("```\n", 2)[1]
    return [("README", line) for line in block.splitlines() if line.startswith("zoo ")]


EXAMPLES = help_examples() + readme_examples()


def words(line: str) -> list[str]:
    """The arguments after `zoo`, as a shell splits the line (a `# comment` dropped)."""
    argv = shlex.split(line, comments=True)
    assert argv[0] == "zoo", line
    return argv[1:]


def parse(argv: list[str]):
    """What cli.run reads of argv before it does any work: the parsed arguments and the
    options passed on (predict's, train's and fine-tune's other `--key value` pairs)."""
    return cli.parse_command(argv)


def test_the_examples_are_found():
    where = {w for w, _ in EXAMPLES}
    assert len(readme_examples()) >= 25 and {"zoo --help", "zoo predict --help", "README",
                                            "zoo compare --help", "zoo serve --help"} <= where


@pytest.mark.parametrize("where,line", EXAMPLES, ids=[f"{w}: {x}" for w, x in EXAMPLES])
def test_every_example_parses_as_written(where, line, capsys):
    argv = words(line)
    # no usage notation a shell misreads: [--x a|b] is a pipe, <FILE> a redirection
    odd = [w for w in argv if re.match(r"[\[<]|.*[\]>|]$", w)]
    assert not odd, f"{where}: {line!r} holds notation, not arguments: {odd}"
    if "--help" in argv:
        with pytest.raises(SystemExit) as stop:
            cli.main(argv)
        assert stop.value.code == 0, capsys.readouterr().err
        return
    try:
        parse(argv)
    except SystemExit:
        pytest.fail(f"{where}: {line!r} does not parse: {capsys.readouterr().err.strip()}")
    # a path an example names is the user's (its heading or the README's list says so), a
    # dataset under $ZOO_DATA, or a folder an example writes: never the checkout's own
    assert not any(w.startswith(("../", "zoo_pipelines/")) for w in argv), line


def test_no_example_names_a_dataset_the_zoo_lacks():
    data = Path(os.environ.get("ZOO_DATA") or Path(__file__).resolve().parents[2] / "shared"
                / "data")
    if not data.is_dir():
        pytest.skip("no $ZOO_DATA")
    named = {w for _, line in EXAMPLES for w in words(line) if w.startswith("$ZOO_DATA/")}
    assert named
    missing = [w for w in named if not (data / w.removeprefix("$ZOO_DATA/")).exists()]
    assert not missing


@pytest.mark.parametrize("argv,dest,value", [
    (["export", "ner-bilstm", "--format", "onnx", "--output", "x.onnx"], "out", "x.onnx"),
    (["train", "ner-bilstm", "--output", "runs/x"], "out", "runs/x"),
    (["fine-tune", "ner-bilstm", "--data", "d", "--output", "runs/x"], "out", "runs/x"),
    (["demo", "--output", "d"], "out", "d"),
    (["batch-predict", "ner-bilstm", "--input", "x", "--out", "p"], "output", "p"),
    (["batch-predict", "ner-bilstm", "--input", "x", "--output", "p"], "output", "p"),
    (["fine-tune", "ner-bilstm", "--data", "d", "--out", "o", "--seed", "3"], "seeds", [3]),
])
def test_out_and_output_are_one_option_everywhere(argv, dest, value):
    """batch-predict wrote to --output and every other command to --out; `zoo export ...
    --output x.onnx` said --out was missing, and `zoo train ... --output x` read "output"
    as a hyper-parameter. Both names now work on each (the old ones kept)."""
    args, options = parse(argv)
    assert getattr(args, dest) == value and not options


def test_help_shows_placeholders_and_defaults_alike(capsys):
    """Option values are shown as N / MS / MB / PATH, not as the option's name in capitals
    (--max-batch MAX_BATCH), and serve's sizes say their defaults."""
    for command, said in [("serve", "--max-batch N"), ("serve", "(32; 1 turns it off)"),
                          ("serve", "(64; 413 beyond)"), ("serve", "(16; 413 beyond)"),
                          ("batch-predict", "--workers N"), ("export", "--out PATH"),
                          ("compare", "BUNDLE RUN [RUN ...]"), ("pull", ") NAME"),
                          ("fine-tune", "--seeds N "), ("predict", "NAME|DIR [INPUT ...]")]:
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert said in out, (command, said)
        assert not re.search(r"--[a-z-]+ [A-Z]+_[A-Z_]+", out), (command, out)


@pytest.mark.parametrize("line", ["zoo list", "zoo info ner-bilstm",
                                  'zoo predict ner-bilstm "EU rejects German call to boycott '
                                  'British lamb ."'])
def test_the_cheap_examples_run(line, capsys):
    assert any(x == line for _, x in EXAMPLES)
    assert cli.main(words(line)) == 0, capsys.readouterr().err
    assert capsys.readouterr().out.strip()
