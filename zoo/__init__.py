"""rnn-zoo: pretrained recurrent models that work on raw input, fine-tune, and deploy.

Only the public API lives here; TensorFlow is imported on first use, so `import zoo`,
`zoo.list_models()` and `zoo.info()` are instant.

>>> import zoo
>>> "ner-bilstm" in zoo.list_models()
True

`zoo.load` keeps TensorFlow's C++ start-up lines quiet, as the `zoo` command does; set
TF_CPP_MIN_LOG_LEVEL (0 shows all) or import TensorFlow first to see them. A loaded model
does not pickle (pass its name to a worker that calls zoo.load), and a child process forked
after TensorFlow ran is refused (it would hang): use multiprocessing's "spawn" context.
"""
# private names: `zoo.` + Tab in an IDE or Jupyter listed PackageNotFoundError
import os as _os
import sys as _sys
import typing as _typing
from importlib.metadata import PackageNotFoundError as _PackageNotFoundError, version as _version

from . import bundle, registry, runtime
from .errors import ZooError, ZooWarning
from .registry import Entry, register

if _typing.TYPE_CHECKING:       # zoo.load's return type for mypy, pyright and an IDE's hover
    from .model import ZooModel

__all__ = ["load", "list_models", "info", "dataset", "train", "register", "runtime", "Entry",
           "ZooError", "ZooWarning"]

# In a child forked (multiprocessing's default on Linux) from a process whose TensorFlow
# runtime had started: that parent's id. The runtime's thread pools do not come along, and
# the child's first traced call (zoo.load, predict) waited for ever, also where the parent
# ran TensorFlow only on its own (a tf.data pipeline) and loaded no model before the fork;
# zoo.model.check_process refuses there instead. Set by the hook below, at each fork.
_FORKED_AFTER_TENSORFLOW: int | None = None


def _note_fork() -> None:
    global _FORKED_AFTER_TENSORFLOW
    context = _sys.modules.get("tensorflow.python.eager.context")
    if context is not None and getattr(context.context_safe(), "_initialized", False):
        _FORKED_AFTER_TENSORFLOW = _FORKED_AFTER_TENSORFLOW or _os.getppid()


if hasattr(_os, "register_at_fork"):     # no fork on Windows
    _os.register_at_fork(after_in_child=_note_fork)

try:        # the version the bundles' manifests record (zoo.bundle.write_manifest)
    __version__ = _version("rnn-zoo")
except _PackageNotFoundError:        # a checkout on PYTHONPATH, never installed
    __version__ = "unknown"


class Card(str):
    """A model card: the markdown text itself (a str), shown as rendered markdown in
    Jupyter and as text, not one long quoted line, at a Python prompt.

    >>> Card("# ner-bilstm")
    # ner-bilstm
    """

    def __repr__(self):
        return str(self)

    def _repr_markdown_(self):
        return str(self)


# What a user of the `zoo` command types in Python first: the CLI's words that are no
# function here (AttributeError: module 'zoo' has no attribute 'list' said nothing more).
_CLI_WORDS = {"list": "zoo.list_models()", "predict": "zoo.load(NAME).predict(INPUTS)",
              "evaluate": "zoo.load(NAME).evaluate(DATA)",
              "fine_tune": "zoo.load(NAME).fine_tune(DATA)",
              "export": "zoo.load(NAME).export(PATH)", "version": "zoo.__version__"}


# Hidden from mypy and pyright, which read a module's __getattr__ as "every name exists":
# a typo in a user's script (zoo.lod, zoo.predict) passed their check as Any.
if not _typing.TYPE_CHECKING:
    def __getattr__(name: str):
        if name == "ZooModel":  # the type zoo.load returns, for annotations and isinstance;
            from .model import ZooModel     # imported on use (it starts TensorFlow), so
            return ZooModel                 # not in __all__: `from zoo import *` is instant
        if name in _CLI_WORDS:
            raise AttributeError(f"module 'zoo' has no attribute {name!r}; expected "
                                 f"{_CLI_WORDS[name]}", name=name, obj=__name__)
        raise AttributeError(f"module 'zoo' has no attribute {name!r}", name=name,
                             obj=__name__)


def list_models() -> list[str]:
    """Names of every registered model, sorted.

    >>> import zoo
    >>> zoo.list_models()[:2]
    ['caption-cnn-lstm', 'charlm-lstm']
    """
    return registry.names()


def info(name: str | _os.PathLike[str]) -> Card:
    """The model card (markdown) of a registered model or a bundle directory.

    >>> import zoo
    >>> print(zoo.info("ner-bilstm").splitlines()[0])
    # ner-bilstm
    """
    from .bundle import read_card

    return Card(read_card(name))


def load(name_or_path: str | _os.PathLike[str]) -> "ZooModel":
    """A ready-to-use `ZooModel`: a registered name (shipped weights) or a bundle directory.
    Each call loads its own copy of the weights (fine-tune one, keep the other).

    >>> import zoo
    >>> m = zoo.load("ner-bilstm")
    >>> m
    ZooModel('ner-bilstm', params=3,294,382)
    >>> [e["type"] for e in m.predict("Angela Merkel visited Paris .")[0]["entities"]]
    ['PER', 'LOC']
    """
    from .model import ZooModel

    return ZooModel.load(name_or_path)


def dataset(name: str, split: str = "valid",
            data: str | _os.PathLike[str] | None = None) -> list:
    """The examples of one split of a model's dataset, as its evaluator reads them: its
    default data under $ZOO_DATA, or `data`, a folder laid out the same way. Splits:
    "train", "valid" (the selection split: epochs, seeds and settings were chosen on it)
    and "report" (untouched: nothing was chosen on it).

    >>> len(dataset("ner-bilstm", "valid"))
    3250
    """
    from . import data as _data
    from .options import user_path as _user_path

    entry = registry.get(name)
    # `data=""` is refused by read_split, not read as the default data
    default = _data.data_root() / entry.default_data
    return _data.read_split(entry, default if data is None else _user_path(data), split)


def train(name: str, data: str | _os.PathLike[str] | None = None,
          out: str | _os.PathLike[str] | None = None, **overrides) -> "ZooModel":
    """Train `name` from scratch with its recipe; returns the trained `ZooModel`.

    >>> import zoo
    >>> zoo.train("ner-bilstm", out="runs/ner", epochs=1)       # doctest: +SKIP
    ZooModel('ner-bilstm', params=3,294,382)
    """
    from .model import check_process, keras_defaults
    from .recipes import train as _train

    check_process(f"zoo.train({name!r})")       # in a child forked after TensorFlow ran: hung
    with keras_defaults():      # built as the shipped models were, whatever keras.json says
        return _train(name, data=data, out=out, **overrides)
