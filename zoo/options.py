"""Checks on the options a task takes (`predict(..., beam=4)`, `generate(steps=64)`): an
unknown name or a value of the wrong type is the project's InputError naming what the
task does take, never a raw TypeError and never a silent cut (`horizon=2.7` -> 2).
Numpy only, so `zoo.runtime` and the Keras predictor share it.

>>> def encode(inputs, beam: int = 4, alpha: float = 0.8, attention: bool = False): ...
>>> check_options(encode, {"beam": 2}, "summarize-attn predict")
>>> check_options(encode, {"bean": 2}, "summarize-attn predict")
Traceback (most recent call last):
zoo.errors.InputError: summarize-attn predict: unknown option 'bean'; it takes beam, alpha, attention
>>> check_options(encode, {"beam": 2.7}, "summarize-attn predict")
Traceback (most recent call last):
zoo.errors.InputError: summarize-attn predict: option beam must be an integer; got 2.7
"""
from __future__ import annotations

import inspect
import math
from numbers import Integral, Real

from .errors import InputError

# The leading arguments a task function takes that are not options.
NOT_OPTIONS = ("self", "inputs", "call", "text")


def accepted(fn) -> dict[str, inspect.Parameter]:
    """The options `fn` takes, by name (None when it takes any: it checks them itself)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return {n: p for n, p in params.items()
            if n not in NOT_OPTIONS and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_options(fn, options: dict, what: str) -> None:
    """Refuse options `fn` does not take, and values that cannot be of the option's type
    (read from its default, else from its annotation)."""
    params = accepted(fn)
    if params is None:
        return
    for name, value in options.items():
        if name not in params:
            raise InputError(f"{what}: unknown option {name!r}; it takes "
                             f"{', '.join(params) or 'no options'}")
        kind = _kind(params[name])
        if value is None or kind is None:
            continue
        if kind is bool and not isinstance(value, bool):
            raise InputError(f"{what}: option {name} must be true or false; got {value!r}")
        if kind is int and (isinstance(value, bool) or not isinstance(value, Integral)):
            raise InputError(f"{what}: option {name} must be an integer; got {value!r}")
        if kind is float and (isinstance(value, bool) or not isinstance(value, Real)
                              or not math.isfinite(value)):
            raise InputError(f"{what}: option {name} must be a finite number; got {value!r}")


def _kind(param: inspect.Parameter):
    default = param.default
    if isinstance(default, bool):
        return bool
    if isinstance(default, Integral):
        return int
    if isinstance(default, Real):
        return float
    note = str(param.annotation)          # "int | None" (annotations are strings here)
    for name, kind in (("bool", bool), ("float", float), ("int", int)):
        if note.split(" |")[0] == name:
            return kind
    return None
