"""The application contract (zoo/contract.py) and the recipe's parts, over every entry:
what registration refuses, what the optional hooks default to, which hyper-parameters a
recipe takes."""
import inspect
import subprocess
import sys
import textwrap

import pytest

import zoo
from zoo import contract
from zoo.errors import ExportError, InputError
from zoo.export import check_parity
from zoo.registry import RECIPE_PARTS, Entry, register

MODELS = zoo.list_models()
MINIMAL = {
    "data": "REPORT_RULE = ''\n" + "".join(
        f"def {f}(*a, **k): ...\n" for f in ("read", "read_split", "report_group",
                                            "fit_preprocessor", "make_dataset", "parity_examples")),
    "model": "".join(f"def {f}(*a, **k): ...\n"
                     for f in ("build", "loss", "host_constants", "serving_function")),
    "evaluate": "HEADLINE = 'f1'\nGREATER_IS_BETTER = True\ndef evaluate(m, ex): ...\n",
    "host": "from zoo import contract\nEMPTY_INPUT = ''\nclass Host(contract.Host):\n"
            "    def encode(self, inputs): ...\n    def decode(self, e, o): ...\n"
            "    def agreement(self, a, b): ...\n",
}


def application(tmp_path, name: str, **replace) -> str:
    """A package `name` under tmp_path (on sys.path) with the four role modules."""
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for role, source in {**MINIMAL, **replace}.items():
        (package / f"{role}.py").write_text(source)
    sys.path.insert(0, str(tmp_path))
    return name


def entry(package: str, **fields) -> Entry:
    return Entry(name=f"toy-{package}", task="toy", package=package, summary="", default_data="",
                 train_file="", valid_file="", **fields)


@pytest.mark.parametrize("role,hook", [(r, h) for r, s in contract.ROLES.items() for h in s.required])
def test_a_missing_required_hook_fails_at_registration_naming_it(role, hook, tmp_path):
    lines = MINIMAL[role].splitlines(keepends=True)
    source = ("EMPTY_INPUT = ''\n" if hook == "Host" else
              "".join(line for line in lines if not line.startswith((f"def {hook}(", f"{hook} ="))))
    package = application(tmp_path, f"toy_missing_{role}_{hook.lower()}", **{role: source})
    with pytest.raises(contract.ContractError, match=rf"{package}\.{role} has no {hook}\b"):
        register(entry(package))
    assert f"toy-{package}" not in zoo.list_models()


def test_a_complete_application_registers_and_gets_the_optional_defaults(tmp_path):
    package = application(tmp_path, "toy_complete")
    e = entry(package)
    contract.check_sources(package, e.name)            # what register() runs; nothing raised
    data, model, host = e.module("data"), e.module("model"), e.module("host")
    assert data.labels_of([{"x": 1}]) is None and data.grow_preprocessor({}, []) == []
    assert model.export_functions(None, {}) == {}
    h = host.Host({})
    assert h.run(None, None) is None and h.describe({}) is None and not h.draws()
    assert h.TASK_METHODS == () and h.NO_INPUT_METHOD is None and h.OPTION_BOUNDS == {}
    with pytest.raises(InputError, match="draws no picture"):
        h.plot([], "x.png")


def test_a_host_that_is_not_a_contract_host_is_refused_on_first_use(tmp_path):
    package = application(tmp_path, "toy_plain_host", host="EMPTY_INPUT = ''\nclass Host:\n"
                                                             "    def encode(self, i): ...\n")
    with pytest.raises(contract.ContractError, match="Host.decode, Host.agreement, Host as a "
                                                     "subclass of zoo.contract.Host"):
        entry(package).module("host")


def test_a_recipe_part_that_does_not_exist_is_refused():
    with pytest.raises(contract.ContractError, match=r"recipe parts \['trainer'\]"):
        entry("zoo_pipelines.ner", recipe={"trainer": {"epochs": 3}})


@pytest.mark.parametrize("name", MODELS)
def test_every_recipe_key_is_taken_by_the_function_of_its_part(name):
    e = zoo.registry.get(name)
    accepted = e.accepted()
    assert set(e.recipe) <= set(RECIPE_PARTS)
    for part, keys in e.recipe.items():
        assert set(keys) <= accepted[part], (part, set(keys) - accepted[part])
    evaluate_params = inspect.signature(e.module("evaluate").evaluate).parameters
    assert set(e.recipe.get("evaluate", {})) <= set(evaluate_params)
    # every tiny override and fine-tuning default is a hyper-parameter the entry takes
    e.hparams(**e.tiny)
    e.hparams(**e.fine_tune)


@pytest.mark.parametrize("name", MODELS)
def test_a_typo_in_a_hyper_parameter_is_refused_naming_the_accepted_ones(name):
    e = zoo.registry.get(name)
    with pytest.raises(InputError, match=r"unknown hyper-parameter 'unitz'.*; it takes data: "):
        e.hparams(unitz=64)
    with pytest.raises(InputError, match="unknown hyper-parameter 'unitz'"):
        zoo.train(name, out="/nonexistent/never-written", unitz=64)


@pytest.mark.parametrize("override, words", [
    ({"epochs": 0}, "epochs must be an integer >= 1; got 0"),      # wrote an untrained bundle
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),      # ZeroDivisionError
    ({"steps_per_epoch": 2.5}, "steps_per_epoch must be an integer >= 1"),
    ({"patience": -1}, "patience must be an integer >= 0"),
    ({"learning_rate": -1e-3}, "learning_rate must be a finite number > 0"),   # trained uphill
    ({"dropout": 1.0}, "dropout must be a finite number in 0..0.95"),
])
def test_training_hyper_parameters_out_of_range_are_refused(override, words):
    with pytest.raises(InputError, match=f"ner-bilstm: {words}"):
        zoo.registry.get("ner-bilstm").hparams(**override)


@pytest.mark.parametrize("name", MODELS)
def test_model_hyper_parameters_that_make_no_network_are_refused_in_one_line(name, shipped):
    """`--hparam units=0` stopped inside Keras with its traceback; `layers=0` built a
    recurrent stack that passed its input on and failed at the first step, or a network
    with no recurrent layer."""
    from zoo.training import build_model

    m = shipped(name)
    model = m.entry.parts(m.hparams)["model"]
    for key in ("units", "layers"):
        if key in model:
            with pytest.raises(InputError, match=rf"^{name}: {key} must be an integer >= 1; got 0$"):
                build_model(m.entry, dict(m.preprocessor), **{**model, key: 0})
    if name == "ner-bilstm":                    # a value Keras's layers refuse
        with pytest.raises(InputError, match=r"^ner-bilstm: the model hyper-parameters \{.*'cell': "
                                             r"'xyz'.*\} make no network: cell must be one of"):
            build_model(m.entry, dict(m.preprocessor), **{**model, "cell": "xyz"})


def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path, shipped):
    """`--out README.md` failed after the data was read, with "README.md/train: Not a
    directory"."""
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    words = r"notes.txt: a file, not a folder; expected --out \(out=\) to name a folder"
    with pytest.raises(InputError, match=words):
        zoo.train("ner-bilstm", data="/nonexistent", out=notes)      # before the data is read
    with pytest.raises(InputError, match=words):
        shipped("ner-bilstm").fine_tune("/nonexistent", out=notes)
    with pytest.raises(InputError, match=r"notes.txt/run: .*notes.txt is a file, so no folder"):
        zoo.train("ner-bilstm", data="/nonexistent", out=notes / "run")
    assert notes.read_text() == "keep me"


def test_seeds_are_integers_each_named_once(tmp_path, capsys):
    from zoo.cli import main

    with pytest.raises(InputError, match=r"seeds must name each seed once; got \[1, 1\]"):
        zoo.train("ner-bilstm", out=tmp_path / "x", seeds=[1, 1])
    with pytest.raises(SystemExit):
        main(["train", "ner-bilstm", "--out", str(tmp_path / "x"), "--seeds", "1,a"])
    assert "--seeds: expected integers, e.g. 1,2,3; got '1,a'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_the_cli_refuses_an_unknown_hparam_in_one_line(tmp_path, capsys):
    from zoo.cli import main

    assert main(["train", "ner-bilstm", "--out", str(tmp_path / "x"), "--hparam", "unit=64"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(
        "error: ner-bilstm: unknown hyper-parameter 'unit' (did you mean 'units'?); it takes "
        "data: buckets, "), error
    assert not (tmp_path / "x").exists()


def test_old_bundle_keys_are_dropped_but_new_overrides_are_checked():
    e = zoo.registry.get("summarize-attn")
    hp = e.hparams({"eval_beam": 1, "units_old": 3, "embed": 16}, dropout=0.0)
    assert hp["embed"] == 16 and hp["dropout"] == 0.0 and "eval_beam" not in hp
    assert e.parts(hp)["evaluate"] == {"beam": 1}


def test_the_exporter_applies_the_entrys_own_tolerances(tmp_path):
    summarizer, tagger = zoo.registry.get("summarize-attn"), zoo.registry.get("ner-bilstm")
    report = {"agreement": 0.95, "max_abs_diff": 2e-3}
    check_parity(summarizer, report, tmp_path / "m.tflite", "dynamic")     # floor 0.9: fine
    with pytest.raises(ExportError, match="agreement 0.950 with the Keras model; expected at least 0.98"):
        check_parity(tagger, report, tmp_path / "m.tflite", "dynamic")
    with pytest.raises(ExportError, match="agreement 0.850 with the Keras model; expected at least 0.9 "):
        check_parity(summarizer, {"agreement": 0.85, "max_abs_diff": 0.0}, tmp_path / "m.onnx", None)
    check_parity(summarizer, {"agreement": 1.0, "max_abs_diff": 2e-3}, tmp_path / "m.onnx", None)
    with pytest.raises(ExportError, match="2.00e-03 from the Keras model's; expected at most 1e-04"):
        check_parity(tagger, {"agreement": 1.0, "max_abs_diff": 2e-3}, tmp_path / "m.onnx", None)


def test_training_sits_below_the_model():
    """zoo.training (the fit loop, fine_tune) never imports zoo.model; zoo.recipes (training
    from scratch) sits above both."""
    code = textwrap.dedent("""
        import sys, zoo.training
        assert "zoo.model" not in sys.modules, "zoo.training imported zoo.model"
        import zoo.recipes
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300, capture_output=True)


def test_an_application_without_one_of_the_four_modules_fails_at_registration(tmp_path):
    package = application(tmp_path, "toy_no_evaluate")
    (tmp_path / package / "evaluate.py").unlink()
    with pytest.raises(contract.ContractError, match=r"toy_no_evaluate\.evaluate does not exist"):
        register(entry(package))


def test_a_name_pulled_before_the_model_was_renamed_points_at_its_bundle(tmp_path, monkeypatch,
                                                                        bundle_copy):
    """A bundle `zoo pull` stored under a name no model has now (renamed in a later zoo)
    stays in the cache, never read: the unknown name says where it is."""
    import shutil

    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    shutil.copytree(bundle_copy("forecast-lstm"), tmp_path / "home" / "bundles" / "forecast-gru")
    from zoo import registry
    from zoo.errors import UnknownModelError

    with pytest.raises(UnknownModelError, match=r"A bundle zoo pull stored under forecast-gru "
                                                r"is at .*home/bundles/forecast-gru: load it by "
                                                r"that path"):
        registry.get("forecast-gru")
    with pytest.raises(UnknownModelError) as e:
        registry.get("forecast-grux")
    assert "zoo pull stored" not in str(e.value)
