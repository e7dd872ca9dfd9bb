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
