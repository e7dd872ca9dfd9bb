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

__all__ = ["load", "list_models", "info", "train", "register", "runtime", "Entry", "ZooError"]


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


def train(name: str, data: str | None = None, out: str | None = None, **overrides):
    """Train `name` from scratch with its recipe; returns the trained `ZooModel`."""
    from .recipes import train as _train

    return _train(name, data=data, out=out, **overrides)
