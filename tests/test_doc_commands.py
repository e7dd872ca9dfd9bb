"""Every command the README and docs/**/*.md quote, in a code block or a `code span`, exists
and parses as written, with no training run: how a shipped bundle was made and how a study
is rerun are told as such commands, and a renamed flag, a moved module or a dropped keyword
left them failing on the first line a reader typed. tests/test_cli_examples.py checks the
README's "Command line" block and the --help epilogs; this checks the rest of the text.

- `zoo ...`: parses with the CLI's own parser (test_cli_examples.parse); train's and
  fine-tune's overrides are keys of the entry's recipe with values it takes (Entry.hparams,
  check_hparams); predict's options are the model's (check_options). A span naming a
  command with only some of its arguments (`zoo export --format saved_model`) has flags the
  command takes.
- `python -m M ...`: M exists and its own argparse parser accepts the line (its main() is
  called with parse_args stopped right after parsing).
- `python -c '...'`: the imported names exist and each call binds to the function's
  signature (keyword names included); zoo.train's keywords are recipe keys.
- `make X`: X is a target of the Makefile, and the Makefile's own `python -m` and `zoo`
  lines (`make bench`'s loop once per benchmark) parse as above.
- ```python examples: as `python -c`, and `m = zoo.load(NAME)`'s m.fine_tune / m.evaluate
  keywords are that entry's recipe keys / evaluator options.
- a function the text names in a span (`zoo.layers.greedy.greedy_decode`) exists.
Usage notation is read as a reader reads it: `[--x y]` both without and with, `A|B` as A,
`...` as nothing, a seed written S as 0."""
import argparse
import ast
import importlib
import importlib.util
import inspect
import re
import shlex
import types
from pathlib import Path

import pytest

from test_cli_examples import _subparsers, parse

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
STARTS = re.compile(r"(\.venv/bin/)?(zoo|python3?|make) ")


def quoted() -> list[tuple[str, str]]:
    """(where, command) for each command line of a code block (`\\` continuations joined, a
    `$ ` prompt dropped) and each code span (its line breaks read as spaces, as Markdown
    shows it)."""
    found = []
    for path in DOCS:
        text, name = path.read_text(encoding="utf-8"), path.relative_to(ROOT).as_posix()
        blocks = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```", re.S | re.M)  # in a list too
        for m in blocks.finditer(text):
            first = text.count("\n", 0, m.start()) + 2
            for i, line in enumerate(m.group(1).replace("\\\n", " ").split("\n")):
                line = line.strip().removeprefix("$ ")
                if STARTS.match(line):
                    found.append((f"{name}:{first + i}", line))
        prose = blocks.sub(lambda m: "\n" * m.group(0).count("\n"), text)
        for m in re.finditer(r"`([^`]+)`", prose):
            span = " ".join(m.group(1).split())
            if STARTS.match(span):
                found.append((f"{name}:{prose.count(chr(10), 0, m.start()) + 1}", span))
    return found


COMMANDS = quoted()


def options_in_and_out(line: str) -> list[str]:
    """`line` with its first `[--...]` group (which may hold [..]) left out and put in,
    each then read the same way."""
    start = line.find("[--")
    if start < 0:
        return [line]
    depth = 0
    for end in range(start, len(line)):
        depth += {"[": 1, "]": -1}.get(line[end], 0)
        if depth == 0:
            break
    return [*options_in_and_out(line[:start] + line[end + 1:]),
            *options_in_and_out(line[:start] + line[start + 1:end] + line[end + 1:])]


def readings(line: str) -> list[list[str]]:
    """The argument lists a reader makes of `line`: each optional `[--x y]` left out and put
    in, `A|B` read as A, `...` dropped, a seed S as 0."""
    variants = options_in_and_out(line)
    out = []
    for text in dict.fromkeys(variants):
        words = shlex.split(text, comments=True)
        words = [w for w in words[:next((i for i, w in enumerate(words)    # `> card.md`
                                         if w in (">", "|", "&&", ";")), None)] if w != "..."]
        words = [re.sub(r"(?<=seed=)S$", "0", w) for w in words]
        words = ["0" if w == "S" and i and words[i - 1] in ("--seed", "--seeds") else w
                 for i, w in enumerate(words)]
        out.append([w.split("|")[0] if "|" in w and not w.startswith(("'", '"', "{"))
                    else w for w in words])
    return out


def test_the_commands_are_found():
    kinds = {STARTS.match(x).group(2) for _, x in COMMANDS}
    assert len(COMMANDS) > 300 and {"zoo", "python", "make"} <= kinds
    assert any("zoo_pipelines.speech.study" in x for _, x in COMMANDS)


def test_no_command_holds_an_escaped_space():
    """A `\\` that continued a line in a code span reads, once Markdown joins the span's
    lines, as `\\ --rehearse`: the shell passes " --rehearse" as one argument."""
    bad = [(w, x) for w, x in COMMANDS if "\\ " in x]
    assert not bad


# ---------------------------------------------------------------------------- zoo

def is_reference(err: str, argv: list[str]) -> bool:
    """Whether a parser's error says only that the line names a command without all its
    arguments (prose: "`zoo evaluate --split`", "`python -m zoo.soup`"), not that it is wrong."""
    missing = ("the following arguments are required", "is required")  # (one of a group)
    return (any(m in err for m in missing) or bool(argv) and argv[-1].startswith(
        "--") and f"argument {argv[-1]}" in err and "expected one argument" in err)


def flags_exist(parser: argparse.ArgumentParser, argv: list[str], where: str) -> None:
    own = {s for a in parser._actions for s in a.option_strings}
    unknown = [w.split("=")[0] for w in argv if w.startswith("-") and w.split("=")[0] not in own]
    assert not unknown, f"{where} has no {unknown}"


def check_zoo(argv: list[str], capsys, where: str = "") -> None:
    from zoo import cli, registry

    if not argv or argv[0] not in _subparsers() or "--help" in argv:
        return                    # `zoo --help`, `zoo COMMAND --help`, `zoo CMD: working`
    try:
        if argv[0] == "batch-predict":    # Beam's own pipeline options pass on (cli.run)
            args, options = cli._parser().parse_known_args(argv)[0], {}
        else:
            args, options = parse(argv)
    except SystemExit:
        err = capsys.readouterr().err.strip()
        assert is_reference(err, argv), err.splitlines()[-1]
        if argv[0] not in ("predict", "train", "fine-tune"):     # whose `--key value` pass on
            flags_exist(_subparsers()[argv[0]], argv[1:], f"zoo {argv[0]}")
        return
    name = getattr(args, "name", None)
    page = re.match(r"docs/models/([\w-]+)\.md:", where)
    if name not in registry.names():      # a bundle folder: on a model's page, that model's
        if not (page and page[1] in registry.names() and args.command == "fine-tune"):
            return
        name = page[1]
    entry = registry.get(name)
    if args.command in ("train", "fine-tune"):
        from zoo.training import check_hparams, fine_tune

        overrides = cli._overrides(args, options)
        if args.command == "fine-tune":       # fine_tune's own keywords are not the recipe's
            own = inspect.signature(fine_tune).parameters
            overrides = {k: v for k, v in overrides.items() if k not in own}
        check_hparams(entry, entry.hparams(**overrides))
    elif args.command == "predict":
        from zoo.options import check_options

        host = importlib.import_module(entry.host_module).Host
        method = host.encode if args.inputs or not host.NO_INPUT_METHOD else \
            getattr(host, host.NO_INPUT_METHOD)
        options = {k: v for k, v in options.items()
                   if k not in ("input", "plot", "out", "batch_size")}
        check_options(method, {k: cli._value(v) if isinstance(v, str) else v
                               for k, v in options.items()}, f"zoo predict {name}", skip=1)


# ---------------------------------------------------------------------- python -m

class Parsed(Exception):
    pass


def check_module(module: str, argv: list[str], monkeypatch, capsys) -> None:
    if not module.startswith(("zoo", "benchmarks")):
        return                    # `python -m build`, `-m pytest`: tools, not the project's
    assert importlib.util.find_spec(module), f"no module {module}"
    mod = importlib.import_module(module)
    real = argparse.ArgumentParser.parse_args

    parsers = []

    def parse_only(self, args=None, namespace=None):
        parsers.append(self)
        raise Parsed(real(self, args, namespace))

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", parse_only)
    try:
        mod.main(argv)
    except Parsed:
        return
    except SystemExit:
        err = capsys.readouterr().err.strip()
        assert parsers and is_reference(err, argv), err.splitlines()[-1:]
        flags_exist(parsers[-1], argv, f"python -m {module}")
        return
    pytest.fail(f"python -m {module}: main() returned without parsing its arguments")


# ---------------------------------------------------------------------- python -c

def literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:            # a variable, a call: only its place counts here
        return None


def resolve_load(func, names: dict) -> bool:
    """Whether `func` is zoo.load (as `zoo.load` or a name imported for it)."""
    import zoo

    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return getattr(names.get(func.value.id), func.attr, None) is zoo.load
    return isinstance(func, ast.Name) and names.get(func.id) is zoo.load


def check_code(code: str) -> None:
    tree = ast.parse(code)
    names = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                mod = importlib.import_module(a.name)
                names[a.asname or a.name.split(".")[0]] = mod if a.asname else \
                    importlib.import_module(a.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            mod = importlib.import_module(node.module)
            for a in node.names:
                if not hasattr(mod, a.name):           # a submodule (from zoo import testing)
                    assert importlib.util.find_spec(f"{node.module}.{a.name}"), \
                        f"{node.module} has no {a.name}"
                    importlib.import_module(f"{node.module}.{a.name}")
                names[a.asname or a.name] = getattr(mod, a.name)

    from zoo.model import ZooModel

    loaded = {t.id: literal(node.value.args[0]) if node.value.args else None
              for node in ast.walk(tree) if isinstance(node, ast.Assign)
              and isinstance(node.value, ast.Call) and resolve_load(node.value.func, names)
              for t in node.targets if isinstance(t, ast.Name)}    # m = zoo.load("NAME")

    def resolve(node):
        if isinstance(node, ast.Name):
            return names.get(node.id)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id in loaded:  # m.fine_tune: ZooModel's; m.generate: its host's
            fn = getattr(ZooModel, node.attr, None)
            return types.MethodType(fn, object()) if inspect.isfunction(fn) else None
        if isinstance(node, ast.Attribute):
            owner = resolve(node.value)
            if owner is not None:
                assert hasattr(owner, node.attr), f"{owner.__name__} has no {node.attr}"
                return getattr(owner, node.attr)
        return None               # a call's result (zoo.load(...).predict): not resolved here

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (fn := resolve(node.func)) is None:
            continue
        if not callable(fn) or not getattr(fn, "__module__", "").startswith(
                ("zoo", "benchmarks")):   # the project's functions (not json.load, np.zeros)
            continue
        if any(isinstance(a, ast.Starred) for a in node.args) or any(
                k.arg is None for k in node.keywords):
            continue
        args = [literal(a) for a in node.args]
        kwargs = {k.arg: literal(k.value) for k in node.keywords}
        try:
            signature = inspect.signature(fn)
        except ValueError:      # an exception class of zoo.errors (a builtin's __init__)
            continue
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as e:
            raise AssertionError(f"{fn.__module__}.{fn.__qualname__}: {e}") from None
        import zoo
        import zoo.recipes
        from zoo import registry
        from zoo.options import check_options
        from zoo.training import check_hparams, fine_tune

        # the keywords a **overrides / **kwargs takes: zoo.train's and m.fine_tune's are
        # recipe keys, m.evaluate's the evaluator's options
        name = bound.arguments.get("name") if fn in (zoo.train, zoo.recipes.train) else \
            loaded.get(node.func.value.id) if isinstance(node.func, ast.Attribute) and \
            isinstance(node.func.value, ast.Name) else None
        if name not in registry.names():
            continue
        entry, extra = registry.get(name), next(
            (v for k, v in bound.arguments.items() if k in ("overrides", "kwargs")), {})
        if fn in (zoo.train, zoo.recipes.train) or node.func.attr == "fine_tune":
            own = inspect.signature(fine_tune).parameters
            check_hparams(entry, entry.hparams(**{k: v for k, v in extra.items()
                                                  if k not in own}))
        elif node.func.attr == "evaluate":
            check_options(entry.module("evaluate").evaluate, extra, f"{name} evaluate", skip=2)


# ------------------------------------------------------------------------- make

def check_make(targets: list[str]) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    have = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    for t in targets:
        assert t in have, f"the Makefile has no target {t!r} ({', '.join(sorted(have))})"


@pytest.mark.parametrize("where,line", COMMANDS, ids=[f"{w}: {x[:80]}" for w, x in COMMANDS])
def test_every_quoted_command_exists_and_parses(where, line, capsys, monkeypatch):
    for argv in readings(line):
        head = re.sub(r"^(\.venv/bin/)?python3?$", "python", argv[0])
        try:
            if head == "zoo":
                check_zoo(argv[1:], capsys, where)
            elif head == "make":
                check_make([w for w in argv[1:] if not w.startswith("-") and "=" not in w])
            elif head == "python" and argv[1:2] == ["-m"]:
                check_module(argv[2], argv[3:], monkeypatch, capsys)
            elif head == "python" and argv[1:2] == ["-c"]:
                check_code(argv[2])
        except SystemExit:
            pytest.fail(f"{where}: {shlex.join(argv)!r}: "
                        f"{capsys.readouterr().err.strip().splitlines()[-1:]}")
        except Exception as e:
            pytest.fail(f"{where}: {shlex.join(argv)!r}: {type(e).__name__}: {e}")


def python_blocks() -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^([ \t]*)```python\n(.*?)^[ \t]*```", text, re.S | re.M):
            code = "\n".join(line.removeprefix(m.group(1)) for line in m.group(2).split("\n"))
            found.append((f"{path.relative_to(ROOT).as_posix()}:"
                          f"{text.count(chr(10), 0, m.start()) + 1}", code))
    return found


@pytest.mark.parametrize("where,code", python_blocks(), ids=[w for w, _ in python_blocks()])
def test_every_python_example_imports_and_calls_what_exists(where, code):
    """The ```python examples: what they import exists and each call of a zoo function
    binds to its signature (zoo.train's keywords: recipe keys the entry takes)."""
    try:
        check_code(code)
    except Exception as e:
        pytest.fail(f"{where}: {type(e).__name__}: {e}")


def makefile_commands() -> list[str]:
    """The Makefile's `python -m` and `zoo` lines, its variables filled in (`$$b` once for
    each of BENCHMARKS): `make bench`, `make speech-espeak` and the rest as the docs send a
    reader to them."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    values = dict(re.findall(r"^([A-Z]+)\s*[:?]?=\s*(.*)$", text, re.M))
    lines = []
    parts = [p for line in text.splitlines() for p in re.split(r";\s*(?:do\s)?", line)]
    for line in parts:                   # the bench loop's lines, one command each
        line = re.sub(r"\$\(BIN\)/", "", line.strip()).split(" || ")[0]
        line = re.sub(r"\$\(([A-Z]+)\)", lambda m: values.get(m[1], m[0]), line)
        if re.match(r"(python -m (zoo|benchmarks)|zoo )", line):
            lines += ([line.replace("$$b", b) for b in values["BENCHMARKS"].split()]
                      if "$$b" in line else [line])
    return lines


@pytest.mark.parametrize("line", makefile_commands())
def test_every_makefile_command_parses(line, capsys, monkeypatch):
    assert "$" not in line, line
    test_every_quoted_command_exists_and_parses("Makefile", line, capsys, monkeypatch)


def test_the_makefile_commands_are_found():
    found = makefile_commands()
    assert len(found) >= 15 and any("--threads 1 --out" in x for x in found) and any(
        "speech-ctc-stream" in x for x in found)


# names in the text that are not Python objects: the ONNX metadata keys an export carries
# (zoo.model, zoo.sidecar, zoo.versions) and the entry-point group applications register in
NOT_PYTHON = {"zoo.sidecar", "zoo.versions", "zoo.pipelines"}


def dotted_names() -> list[tuple[str, str]]:
    found = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        prose = re.sub(r"^[ \t]*```.*?^[ \t]*```", lambda m: "\n" * m.group(0).count("\n"),
                       text, flags=re.S | re.M)
        for m in re.finditer(r"`([^`]+)`", prose):
            for name in re.findall(r"(?<![\w./-])((?:zoo|zoo_pipelines|benchmarks)(?:\.[A-Za-z_]"
                                   r"\w*)+)(?![\w/-]|\.\w)", m.group(1)):
                found.setdefault(name, f"{path.relative_to(ROOT).as_posix()}:"
                                       f"{prose.count(chr(10), 0, m.start()) + 1}")
    return [(w, n) for n, w in found.items() if n not in NOT_PYTHON]


def test_every_named_function_exists():
    """A function the text names (`zoo.recipes.measure_as_trained`, `zoo.bundle.
    set_preprocessor_fields`) is there under that name: docs/speed.md named
    zoo.layers.greedy_decode, which lives in zoo.layers.greedy."""
    missing = []
    for where, name in dotted_names():
        parts = name.split(".")
        for i in range(len(parts), 0, -1):            # the longest prefix that is a module
            try:
                obj = importlib.import_module(".".join(parts[:i]))
                break
            except ModuleNotFoundError:
                continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                missing.append(f"{where}: {name}")
                break
            obj = getattr(obj, attr)
    assert len(dotted_names()) > 50 and not missing
