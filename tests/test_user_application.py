"""An application of the user's own, outside zoo_pipelines/ (README, "An application in
your own package"): what a mistake in it is told, and that one broken package does not
stop the zoo. Each mistake is one ContractError naming the piece and what is expected."""
import sys
import textwrap
from importlib.metadata import EntryPoint

import pytest

import zoo
from zoo import contract, registry, testing
from zoo.contract import ContractError
from zoo.errors import InputError, UnknownModelError, ZooWarning

from test_registry import MINIMAL     # the smallest sources that pass the contract

FIELDS = dict(task="toy", summary="", default_data="", train_file="", valid_file="")


@pytest.fixture(autouse=True)
def clean_registry(monkeypatch, tmp_path):
    """Entries and broken packages of a test stay in it; its packages are importable."""
    zoo.list_models()
    monkeypatch.setattr(registry, "_ENTRIES", dict(registry._ENTRIES))
    monkeypatch.setattr(registry, "_BROKEN", {})
    monkeypatch.syspath_prepend(str(tmp_path))


def package(tmp_path, name: str, init: str = "", **replace) -> str:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "__init__.py").write_text(textwrap.dedent(init))
    for role, source in {**MINIMAL, **replace}.items():
        (folder / f"{role}.py").write_text(source)
    return name


def register_init(name: str, package_name: str) -> str:
    return (f"from zoo.registry import register\nregister(name={name!r}, package="
            f"{package_name!r}, task='toy', summary='', default_data='', train_file='', "
            f"valid_file='')\n")


def plugin(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group="zoo.pipelines")


def test_a_package_that_fails_to_register_is_skipped_with_one_warning(tmp_path):
    package(tmp_path, "user_broken", init="import not_installed_dep\n")
    package(tmp_path, "user_fine", init=register_init("user-fine", "user_fine"))
    with pytest.warns(ZooWarning, match=r"'user_broken' \(entry point 'b'\) is skipped: it "
                                        r"needs the package 'not_installed_dep'"):
        registry._load_plugin(plugin("b", "user_broken"))
    registry._load_plugin(plugin("f", "user_fine:register"))      # module:attr, as pip writes
    assert "user-fine" in zoo.list_models() and "ner-bilstm" in zoo.list_models()
    with pytest.raises(UnknownModelError, match="user_broken.*is skipped"):
        registry.get("user-broken")
    # an application of the user's has no bundle folder: not "no shipped weights at None"
    with pytest.raises(zoo.bundle.BundleError, match=r"^user-fine has no shipped weights; train"):
        zoo.load("user-fine")


@pytest.mark.parametrize("init,words", [
    ("def broken(:\n", "is skipped: SyntaxError"),
    ("", None),
])
def test_an_entry_point_to_a_missing_module_or_bad_code_is_a_warning(tmp_path, init, words):
    if words:
        package(tmp_path, "user_syntax", init=init)
        with pytest.warns(ZooWarning, match=words):
            registry._load_plugin(plugin("s", "user_syntax"))
    with pytest.warns(ZooWarning, match="names the module 'user_nothing', which is not installed"):
        registry._load_plugin(plugin("n", "user_nothing"))


@pytest.mark.parametrize("name", ["", "My Model!", "a/b", "ner-bilstm:x", 3, "x" * 65])
def test_a_malformed_name_is_refused(tmp_path, name):
    pkg = package(tmp_path, "user_badname")
    with pytest.raises(ContractError, match=r"model name .*; expected 1-64 lowercase"):
        registry.register(name=name, package=pkg, **FIELDS)


@pytest.mark.parametrize("name", ["ner-bilstm", "ner_bilstm", "music-lstm-nottingham"])
def test_a_name_another_application_has_is_refused(tmp_path, name):
    pkg = package(tmp_path, "user_clash")
    with pytest.raises(ContractError, match=r"is taken by (ner|music).*expected a name no other"):
        registry.register(name=name, package=pkg, **FIELDS)
    assert registry.get("ner-bilstm").package == "zoo_pipelines.ner"


def test_unknown_and_missing_fields_are_named(tmp_path):
    pkg = package(tmp_path, "user_fields")
    with pytest.raises(ContractError, match=r"has no field tiny_recipe \(did you mean 'recipe'"):
        registry.register(name="user-fields", package=pkg, tiny_recipe={}, **FIELDS)
    with pytest.raises(ContractError, match=r"register\(\) needs task, summary; expected name"):
        registry.register(name="user-fields", package=pkg, default_data="", train_file="",
                          valid_file="")


def test_a_misspelt_package_or_unparsable_module_is_named(tmp_path):
    with pytest.raises(ContractError, match=r"register\(package='user_nope'\) names no importable"):
        registry.register(name="user-nope", package="user_nope", **FIELDS)
    pkg = package(tmp_path, "user_unparsable", model=MINIMAL["model"] + "def broken(:\n")
    with pytest.raises(ContractError, match=r"user_unparsable\.model \(.*model\.py, line 5\) is "
                                            r"not valid Python"):
        registry.register(name="user-unparsable", package=pkg, **FIELDS)


def test_a_host_without_one_of_its_methods_fails_at_registration(tmp_path):
    pkg = package(tmp_path, "user_host", host=MINIMAL["host"].replace("def decode", "def decod"))
    with pytest.raises(ContractError, match=r"user_host\.host has no Host\.decode; .* with "
                                            r"encode, decode, agreement"):
        registry.register(name="user-host", package=pkg, **FIELDS)


@pytest.mark.parametrize("role,source,words", [
    ("model", MINIMAL["model"].replace("def build(*a, **k)", "def build(prep, units=3)"),
     r"model\.build\(prep, units=3\) cannot be called as zoo/ calls it; expected build\(prep, init"),
    ("data", MINIMAL["data"].replace("def make_dataset(*a, **k)",
                                     "def make_dataset(examples, prep, batch_size=8)"),
     r"make_dataset\(.*\) cannot be called .* expected make_dataset\(examples, prep, batch_size=, "
     r"shuffle=, seed="),
    ("evaluate", "HEADLINE = 'f1'\nGREATER_IS_BETTER = 'yes'\ndef evaluate(m, ex): ...\n",
     r"GREATER_IS_BETTER = 'yes'; expected a metric's name and True or False"),
    ("evaluate", "HEADLINE = 'f1'\nGREATER_IS_BETTER = True\nevaluate = 3\n",
     r"evaluate\.evaluate is a int, not a function"),
])
def test_a_hook_with_the_wrong_signature_is_named_on_first_use(tmp_path, role, source, words):
    pkg = package(tmp_path, f"user_sig_{abs(hash(source))}", **{role: source})
    e = registry.register(name="user-sig", package=pkg, **FIELDS)
    with pytest.raises(ContractError, match=words):
        e.module(role)


@pytest.mark.parametrize("role,hook,body,words", [
    ("data", "fit_preprocessor", "return {'x': 1}",
     r"fit_preprocessor returned dict .*; expected \(preprocessor dict, init or None\)"),
    ("model", "build", "return {'probs': 1}", r"build returned a dict; expected a keras.Model"),
    ("evaluate", "evaluate", "return [1.0]", r"returned a list; expected a dict"),
    ("evaluate", "evaluate", "return {'acc': 1.0}", r"returned no 'f1' \(keys: acc\)"),
    ("evaluate", "evaluate", "return {'f1': '0.9'}", r"returned f1 = '0.9'; expected HEADLINE's"),
])
def test_a_hook_returning_the_wrong_thing_is_named_where_it_is_called(tmp_path, role, hook,
                                                                      body, words):
    lines = [line for line in MINIMAL[role].splitlines() if not line.startswith(f"def {hook}(")]
    source = "\n".join(lines) + f"\ndef {hook}(a, *b, **k):\n    {body}\n"
    pkg = package(tmp_path, f"user_ret_{hook}_{abs(hash(body))}", **{role: source})
    e = registry.register(name="user-ret", package=pkg, **FIELDS)
    with pytest.raises(ContractError, match=words):
        getattr(e.module(role), hook)([], None)


def test_check_entry_needs_a_tiny_recipe(tmp_path):
    pkg = package(tmp_path, "user_notiny")
    registry.register(name="user-notiny", package=pkg, **FIELDS)
    with pytest.raises(InputError, match=r"tiny=\{\.\.\.\}\) is empty"):
        testing.check_entry("user-notiny", tmp_path / "work")


def test_the_shipped_applications_still_pass_their_contract():
    for name in zoo.list_models():
        e = registry.get(name)
        for role in contract.ROLES:
            e.module(role)          # signatures and constants as CALLS says
    assert sys.modules["zoo_pipelines.ner"]


def test_zoo_runtime_checks_a_users_host_as_the_registry_does(tmp_path):
    """zoo.runtime imported a host module and built its Host unchecked: a Host that lacks
    decode (through a base of its own, which registration cannot read) or whose encode
    returns no units failed deep in predict as a raw AttributeError. Both predict paths
    (ZooModel's and RuntimeModel's share zoo.runtime.host_predict) name the mistake."""
    import zoo.runtime

    base = MINIMAL["host"].replace("class Host(contract.Host):", "class Base(contract.Host):\n"
                                   "    pass\nclass Host(Base):")
    pkg = package(tmp_path, "user_rt_host", host=base.replace("def decode", "def decod"))
    registry.register(name="user-rt-host", package=pkg, **FIELDS)
    with pytest.raises(ContractError, match=r"^user-rt-host: user_rt_host\.host has no "
                                            r"Host\.decode; .* with encode, decode, agreement"):
        zoo.runtime.host_role(f"{pkg}.host", "user-rt-host")

    source = MINIMAL["host"].replace("def encode(self, inputs): ...",
                                     "def encode(self, inputs): return [1]")
    pkg = package(tmp_path, "user_rt_units", host=source)
    registry.register(name="user-rt-units", package=pkg, **FIELDS)
    role = zoo.runtime.host_role(f"{pkg}.host", "user-rt-units")
    with pytest.raises(ContractError, match=r"user_rt_units\.host\.Host\.encode returned list "
                                            r"\[1\]; expected an object whose \.units is a list"):
        zoo.runtime.host_predict(role, role.Host({}), ["x"], {}, None, lambda units: [])
    with pytest.raises(ContractError, match=r"Host\.decode returned a NoneType; expected a list"):
        role.check_result("Host.decode", None)


def own_app(tmp_path, monkeypatch) -> "registry.Entry":
    """docs/own_app.md's package, copied from its code blocks into tmp_path and registered
    (as its entry point would), with a few lines of data under $ZOO_DATA/namelang."""
    import importlib
    import re

    doc = (registry.repo_root() / "docs" / "own_app.md").read_text(encoding="utf-8")
    files = re.findall(r"```(?:python|toml)\n# (\S+)\n(.*?)```", doc, re.S)
    assert {f for f, _ in files} >= {f"namelang/{r}.py" for r in ("__init__", *contract.ROLES)}
    for name, source in files:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(source, encoding="utf-8")
    data = tmp_path / "data" / "namelang"
    data.mkdir(parents=True)
    names = {"italian": ["Rossi", "Bianchi", "Romano", "Marino", "Ricci"],
             "japanese": ["Tanaka", "Suzuki", "Sato", "Kobayashi", "Yamamoto"],
             "german": ["Schmidt", "Fischer", "Weber", "Becker", "Hoffmann"]}
    rows = [f"{n}{i}\t{lang}\n" for i in range(4) for lang, ns in names.items() for n in ns]
    (data / "train.tsv").write_text("".join(rows))
    (data / "valid.tsv").write_text("".join(rows[:15]))
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "data"))
    monkeypatch.delitem(sys.modules, "namelang", raising=False)
    importlib.import_module("namelang")
    return registry.get("namelang-gru")


def test_the_documented_own_application_trains_as_zoo_train_does(tmp_path, monkeypatch):
    """docs/own_app.md's example, through the training loop `zoo train` runs (the gradient
    monitor on, which check_entry turns off): it called make_dataset without the shuffle
    and seed the contract promises (a raw TypeError for a make_dataset without defaults),
    and called the loss as a function where model.loss gave Keras's compile a loss name."""
    from zoo.recipes import train_on

    entry = own_app(tmp_path, monkeypatch)
    train, valid = testing.tiny_data(entry)
    hp = entry.hparams(**{**testing.FEW_STEPS, **entry.tiny, "monitor_gradients": True})
    zm = train_on(entry, hp, train, valid, tmp_path / "work")
    [answer] = zm.predict("Yamamoto")
    assert answer["language"] in {"italian", "japanese", "german"}
    assert (tmp_path / "work" / "gradient_flow.png").is_file() or \
        list((tmp_path / "work").rglob("gradient*"))
    with pytest.raises(InputError, match=r"^input 0: expected a non-empty name"):
        zm.predict([""])


@pytest.mark.slow
def test_the_documented_own_application_passes_check_entry(tmp_path, monkeypatch):
    import os

    own_app(tmp_path, monkeypatch)
    # check_entry's TensorFlow-free process finds the package as an installed one would be
    # (`pip install -e .`: its entry point), so it is on PYTHONPATH with a dist-info
    info = tmp_path / "my_zoo_apps-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-zoo-apps\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo.pipelines]\nnamelang = namelang\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(tmp_path), str(registry.repo_root()), os.environ.get("PYTHONPATH", "")]))
    reports = testing.check_entry("namelang-gru", tmp_path / "check")
    assert set(reports) == {t for t, _ in testing.EXPORTS}
