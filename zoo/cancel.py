"""A deadline for the work one thread is doing: zoo serve's --request-timeout.

A request past its --request-timeout was answered 504, but the model's one thread went on
with its generation (charlm at its caps: minutes) and every later request waited behind
it. The server now runs each predict() under `deadline(at)`, and the long loops (beam
search, sampling, CTC prefix search, charlm and music generation) call `check()` each step:
past the deadline it raises `Cancelled`, which serve answers with the 504 it already sends.
Outside serve no deadline is set and `check()` is one attribute lookup.

>>> import time
>>> check()                                   # no deadline: nothing happens
>>> with deadline(time.monotonic() - 1):
...     check()
Traceback (most recent call last):
zoo.cancel.Cancelled: stopped: past the request's deadline (--request-timeout)
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from .errors import ZooError


class Cancelled(ZooError):
    """The work outlived the deadline its caller set (its client was already answered)."""


_local = threading.local()        # per thread: each served model has its own thread


@contextmanager
def deadline(at: float | None):
    """Run the block with a deadline, a time.monotonic() value (None: no deadline)."""
    before = getattr(_local, "at", None)
    _local.at = at
    try:
        yield
    finally:
        _local.at = before


def check() -> None:
    """Raise Cancelled if this thread's deadline has passed; call it once per step."""
    at = getattr(_local, "at", None)
    if at is not None and time.monotonic() > at:
        raise Cancelled("stopped: past the request's deadline (--request-timeout)")
