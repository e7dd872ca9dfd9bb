"""Every docstring example in zoo/ and zoo_pipelines/ runs and prints what it shows (the
examples are the first documentation a user reads; a stale one is a bug)."""
import doctest
import importlib
import pkgutil

import pytest

import zoo_pipelines
import zoo

MODULES = sorted(m.name for pkg in (zoo, zoo_pipelines)
                 for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    if result.attempted == 0:
        pytest.skip(f"{name} has no docstring examples")
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
