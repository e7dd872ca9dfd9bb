"""rnn-zoo: pretrained recurrent models that work on raw input, fine-tune, and deploy.

Only the public API lives here; TensorFlow is imported on first use, so `import zoo`,
`zoo.list_models()` and `zoo.info()` are instant.

>>> import zoo
>>> "ner-bilstm" in zoo.list_models()
True
"""
from . import bundle, registry, runtime
from .errors import ZooError
from .registry import Entry, register

__all__ = ["load", "list_models", "info", "dataset", "train", "register", "runtime", "Entry",
           "ZooError"]


def list_models() -> list[str]:
    """Names of every registered model, sorted."""
    return registry.names()


def info(name: str) -> str:
    """The model card (markdown) of a registered model or a bundle directory."""
    from .bundle import read_card

    return read_card(name)


def load(name_or_path: str):
    """A ready-to-use `ZooModel`: a registered name (shipped weights) or a bundle directory."""
    from .model import ZooModel

    return ZooModel.load(name_or_path)


def dataset(name: str, split: str = "valid", data: str | None = None) -> list:
    """The examples of one split of a model's dataset, as its evaluator reads them: its
    default data under $ZOO_DATA, or `data`, a folder laid out the same way. Splits:
    "train", "valid" (the selection split: epochs, seeds and settings were chosen on it)
    and "report" (untouched: nothing was chosen on it).

    >>> len(dataset("ner-bilstm", "valid"))
    3250
    """
    from . import data as _data

    entry = registry.get(name)
    # `data=""` is refused by read_split, not read as the default data
    default = _data.data_root() / entry.default_data
    return _data.read_split(entry, default if data is None else data, split)


def train(name: str, data: str | None = None, out: str | None = None, **overrides):
    """Train `name` from scratch with its recipe; returns the trained `ZooModel`."""
    from .recipes import train as _train

    return _train(name, data=data, out=out, **overrides)
