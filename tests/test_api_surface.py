"""The Python API as an IDE, a type checker and help() see it: a py.typed marker in the
wheel (PEP 561), return types on what zoo.load gives, signatures without the host's own
arguments, docstrings with a summary line, task methods in dir(), wrong types refused in
one line."""
import doctest
import inspect
import re
import subprocess
import sys
import tomllib
import types
from pathlib import Path

import pytest

import zoo
from zoo.contract import ContractError
from zoo.errors import InputError

REPO = Path(__file__).resolve().parent.parent
# The Python API's calls a user reads in help() and an IDE's hover
PUBLIC_METHODS = ("predict", "evaluate", "fine_tune", "export", "save", "load", "write_card",
                  "compare", "with_preprocessor", "host", "functions", "call_function",
                  "loop_call", "predict_units", "batch_functions", "host_config",
                  "parity_examples")


def test_py_typed_marker_is_shipped_in_the_package():
    # without it mypy and pyright read an installed zoo as untyped: zoo.load(...) was Any
    assert (REPO / "zoo" / "py.typed").is_file()
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py.typed" in config["tool"]["setuptools"]["package-data"]["zoo"]


def test_all_is_what_the_readme_documents_and_nothing_private_leaks():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in zoo.__all__:
        assert hasattr(zoo, name), name
        assert not name.startswith("_")
        assert re.search(rf"\bzoo(\.\w+)?\.{name}\b|import {name}\b|`{name}[`.(]", readme), \
            f"zoo.{name} is exported but the README never names it"
    # `zoo.` + Tab: no helper imported for the zoo's own use (PackageNotFoundError was)
    stray = {n for n, v in vars(zoo).items() if not n.startswith("_")
             and not isinstance(v, types.ModuleType)} - set(zoo.__all__) - {"Card"}
    assert not stray, stray


def test_zoo_modelclass_resolves_on_use_without_starting_tensorflow_on_import():
    code = ("import sys, zoo; assert 'tensorflow' not in sys.modules; "
            "from zoo import *; assert 'tensorflow' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_public_functions_show_their_parameters_and_return_types():
    for fn in (zoo.load, zoo.train, zoo.info, zoo.dataset, zoo.list_models, zoo.runtime.load):
        sig = inspect.signature(fn)
        assert sig.return_annotation is not inspect.Signature.empty, fn.__name__
        assert not any(p.kind is p.VAR_POSITIONAL for p in sig.parameters.values()), fn
        assert (fn.__doc__ or "").strip().splitlines()[0].strip(), fn.__name__
    assert "ZooModel" in str(inspect.signature(zoo.load).return_annotation)
    assert "ZooModel" in str(inspect.signature(zoo.train).return_annotation)


def test_the_package_docstring_examples_run():
    # tests/test_docstrings.py walks zoo's submodules, not zoo/__init__.py itself
    result = doctest.testmod(zoo, optionflags=doctest.ELLIPSIS)
    assert result.attempted and result.failed == 0


def test_zoo_model_methods_have_a_summary_line_and_real_parameters(shipped):
    m = shipped("ner-bilstm")
    assert isinstance(m, zoo.ZooModel)
    for name in PUBLIC_METHODS:
        method = getattr(m, name)
        doc = inspect.getdoc(method) or ""
        assert doc.splitlines() and doc.splitlines()[0].strip(), f"ZooModel.{name} has no docstring"
        params = inspect.signature(method).parameters
        assert not any(p.kind is p.VAR_POSITIONAL for p in params.values()), name
    assert "batch_size" in inspect.signature(m.predict).parameters     # not (*args, **kwargs)
    assert "epochs" in inspect.signature(m.fine_tune).parameters
    assert inspect.signature(m.export).return_annotation in (dict, "dict")


def test_task_methods_are_listed_by_dir_and_show_the_users_arguments(shipped):
    m = shipped("charlm-lstm")
    # Tab completion in Jupyter and an IDE reads dir(); __getattr__'s methods were missing
    assert {"generate", "score"} <= set(dir(m))
    assert "generate" not in dir(shipped("ner-bilstm"))
    params = list(inspect.signature(m.generate).parameters)
    assert params[0] == "prompt" and "call" not in params      # the host's own argument
    assert "steps" in params


def test_runtime_model_lists_its_hosts_task_methods():
    from zoo.runtime import RuntimeModel

    r = object.__new__(RuntimeModel)
    r.meta, r.host = {}, types.SimpleNamespace(TASK_METHODS=("generate",))
    assert "generate" in dir(r) and "predict" in dir(r)


@pytest.mark.parametrize("call, words", [
    (lambda m, tmp: m.save(5), "save() directory must be a folder"),
    (lambda m, tmp: m.save(None), "save() directory must be a folder"),
    (lambda m, tmp: m.export(5), "export() path must be a .tflite or .onnx file"),
    (lambda m, tmp: m.export(""), "export() path must be"),
    (lambda m, tmp: m.export(tmp / "a.tflite", overwrite="no"), "overwrite must be True or False"),
    (lambda m, tmp: m.fine_tune([], out=5), "fine_tune() out must be a folder"),
    (lambda m, tmp: m.with_preprocessor(5), "with_preprocessor() takes a dict"),
], ids=["save-int", "save-none", "export-int", "export-empty", "export-overwrite-str",
        "fine-tune-out-int", "with-preprocessor-int"])
def test_wrong_argument_types_get_one_line_errors(shipped, tmp_path, call, words):
    # each was a raw pathlib TypeError, or taken silently (overwrite="no" overwrote)
    with pytest.raises(InputError) as e:
        call(shipped("ner-bilstm"), tmp_path)
    assert words in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "a.tflite").exists()


def test_register_refuses_what_is_not_an_entry():
    with pytest.raises(ContractError, match=r"register\(\) takes an Entry .*got int"):
        zoo.register(5)
    with pytest.raises(ContractError, match="got Entry and keywords"):
        zoo.register(zoo.registry.get("ner-bilstm"), name="x")


def test_a_type_checker_reads_the_return_types_of_a_users_script(tmp_path, monkeypatch):
    api = pytest.importorskip("mypy.api")
    monkeypatch.chdir(REPO)     # mypy finds this checkout's zoo here
    script = tmp_path / "user.py"
    script.write_text(
        "from pathlib import Path\nimport zoo\n"
        "m = zoo.load(Path('my-ner'))\nreveal_type(m)\n"
        "reveal_type(m.predict(['x'], batch_size=8))\n"
        "reveal_type(m.evaluate('x'))\nreveal_type(m.fine_tune('x', out=Path('o')))\n"
        "reveal_type(zoo.runtime.load('x.tflite'))\nzoo.lod('ner-bilstm')\n")
    out, _, _ = api.run([str(script), "--cache-dir", str(tmp_path / "cache"),
                         "--follow-imports=silent", "--ignore-missing-imports"])
    assert out.count('"zoo.model.ZooModel"') == 2, out
    assert '"list[Any]"' in out and '"dict[Any, Any]"' in out, out
    assert '"zoo.runtime.RuntimeModel"' in out, out
    assert 'has no attribute "lod"' in out, out           # a typo is caught, not Any


def test_a_notebook_shows_a_model_its_host_and_entry_in_a_few_lines(shipped):
    # `m` showed only name and parameters; `m.host()` an object address; an Entry (m.entry,
    # zoo.registry.get) one line of ~2,700 characters
    from IPython.core.formatters import DisplayFormatter

    m = shipped("forecast-lstm")
    shown = {code: DisplayFormatter().format(value)[0]
             for code, value in {"m": m, "host": m.host(), "entry": m.entry}.items()}
    card = shown["m"]["text/markdown"]
    assert "**forecast-lstm**" in card and "report split" in card and "26,994 parameters" in card
    assert "pinball_ratio_vs_naive" in card and "zoo info" not in card     # Python's words
    assert shown["m"]["text/plain"] == repr(m)
    assert shown["host"]["text/plain"] == "<zoo_pipelines.forecasting.host.Host: encode, decode, plot>"
    assert " at 0x" not in shown["host"]["text/plain"]
    assert shown["entry"]["text/plain"].startswith("Entry('forecast-lstm', task='forecasting'")
    assert len(shown["entry"]["text/plain"]) < 300 and "recipe=" in repr(m.entry)


def test_a_summary_with_its_attention_map_shows_in_a_notebook_by_the_maps_shape(shipped):
    # predict(..., attention=True) as a cell's last line was 460 lines of floats
    import json

    from IPython.core.formatters import DisplayFormatter

    doc = "The quick brown fox jumps over the lazy dog near the river bank today."
    result = shipped("summarize-attn").predict([doc], attention=True)[0]
    shown = DisplayFormatter().format(result)[0]["text/plain"]
    rows, cols = len(result["attention"]), len(result["attention"][0])
    assert f"'attention': <{rows} x {cols} attention weights>" in shown and len(shown) < 1500
    assert repr(result).endswith(f"<{rows} x {cols} attention weights>}}")
    assert json.loads(json.dumps(result)) == dict(result)       # the data is all there
