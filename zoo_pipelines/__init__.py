"""Applications of the zoo: one package each, the same four modules in every one.

Importing this package imports every application folder in it, and each registers its
entries (pyproject.toml names this package once in the `zoo.pipelines` entry-point group),
so a new application is one new folder: nothing else is edited (README, "Adding an
application"). Other distributions add theirs with their own entry point.
"""
import importlib
import pkgutil

for _app in pkgutil.iter_modules(__path__):
    if _app.ispkg:
        importlib.import_module(f"{__name__}.{_app.name}")
