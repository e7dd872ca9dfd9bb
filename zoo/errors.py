"""The project's own error types: every bad input ends in one of these, never a raw traceback.

>>> from zoo.errors import ZooError, InputError
>>> issubclass(InputError, ZooError) and issubclass(InputError, ValueError)
True
"""
import contextlib
import functools
import os
import re
import sys
import sysconfig
import threading
import warnings
from pathlib import Path
from types import TracebackType

# In Jupyter or IPython a ZooError's traceback stops at the user's own code: its message is
# complete (what is wrong, what was expected), and 30-40 lines through zoo's internals buried
# it below code the user never wrote. Set False to see every frame (`%tb` shows them then).
SHORT_TRACEBACKS = True
# zoo/ and zoo_pipelines/ (the same distribution's two packages)
_INTERNAL = tuple(str(Path(__file__).resolve().parent.parent / d) + os.sep
                  for d in ("zoo", "zoo_pipelines"))
# Python's own modules and the installed packages (Keras, TensorFlow, Beam, IPython's)
_LIBRARIES = tuple({str(Path(sysconfig.get_paths()[k]).resolve()) + os.sep
                    for k in ("stdlib", "platstdlib", "purelib", "platlib")})


def _user_frames(tb: TracebackType | None) -> tuple[TracebackType | None, bool]:
    """A copy of `tb` cut at its first frame inside zoo, and whether anything was cut."""
    kept = []
    while tb is not None:
        if str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(_INTERNAL):
            break
        kept.append(tb)
        tb = tb.tb_next
    short = None
    for t in reversed(kept):         # new objects: %debug keeps the whole original
        short = TracebackType(short, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return short, tb is not None


# what breaks a line or drives a terminal: C0 and C1 controls (a newline, a tab, ESC) and
# Unicode's line and paragraph separators
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    r"""`text` with its control characters as Python's escapes; any other text is as it was.
    A message names the user's files and inputs as given, and a file name holding a newline
    ("runs/a\nb", a name from a script or an archive) broke the one-line error in two.

    >>> one_line("runs/a\nb\x1b[31m: no such folder; expected a bundle directory")
    'runs/a\\nb\\x1b[31m: no such folder; expected a bundle directory'
    """
    return _CONTROLS.sub(lambda c: c[0].encode("unicode_escape").decode(), text)


class ZooError(Exception):
    """Base of every error the zoo raises on purpose; the CLI prints these as one line
    (one_line: a name holding a newline is shown with its escape)."""

    def __str__(self):
        return one_line(super().__str__())

    def _render_traceback_(self) -> list[str]:
        """IPython's hook for an exception's own traceback (no other Python calls it): the
        user's frames and the one-line message, not zoo's frames nor the exception that was
        being handled inside zoo when this one was raised."""
        import traceback

        from IPython import get_ipython      # only IPython calls this hook

        shell = get_ipython()
        if shell is None:                     # called by something else: Python's own form
            return traceback.format_exception(self)
        formatter = shell.InteractiveTB
        if not SHORT_TRACEBACKS:
            return formatter.structured_traceback(type(self), self, self.__traceback__)
        tb, cut = _user_frames(self.__traceback__)
        suppress = self.__suppress_context__
        self.__suppress_context__ = True
        try:
            stb = formatter.structured_traceback(type(self), self, tb)
        finally:
            self.__suppress_context__ = suppress
        if cut:
            stb.insert(-1, "(zoo's own frames are not shown: "
                           "zoo.errors.SHORT_TRACEBACKS = False shows them)\n")
        return stb


class UnknownModelError(ZooError, KeyError):
    """A model name that is not in the registry and is not a bundle directory."""

    def __str__(self):  # KeyError would quote the message
        return one_line(str(self.args[0]))


class DataFormatError(ZooError, ValueError):
    """A data file that cannot be read: names the file, the line and what was expected."""


class InputError(ZooError, ValueError):
    """Bad input to predict(): empty, wrong type, not UTF-8, NaN, ..."""


class BundleError(ZooError):
    """A bundle that is incomplete, tampered with (sha256 mismatch) or from a newer format."""


class ZooWarning(UserWarning):
    """What the zoo warns of (a document cut to the model's length, carried-forward prices):
    one category, so a user can silence or raise them all,
    `warnings.simplefilter("ignore", zoo.ZooWarning)`, and nothing else."""


@functools.lru_cache(maxsize=512)
def _library(filename: str) -> bool:
    """Whether a frame of `filename` is the zoo's or a library's (Keras, Beam, Python's own),
    not the user's code."""
    return str(Path(filename).resolve()).startswith(_INTERNAL + _LIBRARIES)


def warn(message: str) -> None:
    """warnings.warn(message, ZooWarning) shown at the user's own line, the first frame out of
    the zoo and the libraries it runs in (a notebook prints it): a fixed stacklevel pointed
    into zoo/ as often as not, one way in (predict, evaluate, a host, a CSV path) or another.
    Where no frame is the user's (the `zoo` command, a server's thread) it is this call's
    caller, as stacklevel=2."""
    message = named(message)
    said = getattr(_said, "messages", None)
    if said is not None:
        if message in said:
            return
        said.add(message)
    frame, level = sys._getframe(1), 2
    while frame is not None and _library(frame.f_code.co_filename):
        frame, level = frame.f_back, level + 1
    warnings.warn(one_line(message), ZooWarning, stacklevel=level if frame is not None else 2)


_said = threading.local()       # this thread's messages warned in the outermost said_once()


@contextlib.contextmanager
def said_once():
    """Within (nested: the outermost's): each warn() message is said once. A training run
    scores its validation data every epoch, and a warning about that data (gold types the
    model does not know, no predicted span) was said once an epoch. Also a decorator.

    >>> with warnings.catch_warnings(record=True) as caught, said_once():
    ...     warnings.simplefilter("always")
    ...     for epoch in range(3):
    ...         warn("the gold tags hold PRODUCT")
    >>> len(caught)
    1
    """
    if getattr(_said, "messages", None) is not None:
        yield
        return
    _said.messages = set()
    try:
        yield
    finally:
        _said.messages = None


_INPUT_AT = re.compile(r"input (\d+)\b")
_names = threading.local()          # this thread's {K: name} while in inputs_named()


def named(message: str) -> str:
    """`message` with its leading "input K" as inputs_named() names input K (else as it is)."""
    names, at = getattr(_names, "names", None), _INPUT_AT.match(message)
    return names[int(at[1])] + message[at.end():] if names and at and int(at[1]) in names \
        else message


@contextlib.contextmanager
def inputs_named(names):
    """Within: a ZooError or ZooWarning of this thread that begins "input K" names `names[K]`
    instead (`names`: a list, or a dict of numbers). `zoo predict --input FILE` predicts 64
    lines a call: line 65's warnings and errors said "input 0", as line 1's did.

    >>> with inputs_named(["a.jsonl:7"]):
    ...     named("input 0 (series 7): weekly dates"), named("input 1: empty")
    ('a.jsonl:7 (series 7): weekly dates', 'input 1: empty')
    """
    before = getattr(_names, "names", None)
    _names.names = dict(enumerate(names)) if isinstance(names, (list, tuple)) else dict(names)
    try:
        yield
    except ZooError as e:
        if e.args and isinstance(e.args[0], str):
            e.args = (named(e.args[0]), *e.args[1:])
        raise
    finally:
        _names.names = before


class ExportError(ZooError):
    """An export that failed to convert or failed its parity check."""


def describe_os_error(e: OSError) -> str:
    """An OSError as one line, "FILE: reason" ("error: : Not a directory" where it names no
    file), for the command lines' last resort (a full disk, permissions, a path the readers
    did not check).

    >>> describe_os_error(OSError(28, "No space left on device", "out/model.keras"))
    'out/model.keras: No space left on device'
    >>> describe_os_error(BrokenPipeError(32, "Broken pipe"))
    'Broken pipe'
    """
    return one_line(f"{e.filename}: {e.strerror or e}" if e.filename else f"{e.strerror or e}")


def script(main, prog: str) -> int:
    """`python -m PROG`'s exit code for a script's `main()` (the benchmarks', the
    pipelines' recipe steps, zoo.soup): a wrong invocation found on the way (an unknown
    model, a bundle folder that is not there, --steps 0, a peer such as PyTorch not
    installed, a results file that cannot be written) is one line and exit status 2, as
    `zoo` prints it (zoo/cli.py), not a traceback through the script. Ctrl-C and SIGTERM
    are one line and status 130 (they were a traceback, and no word at all); a script says
    where its output stands by raising KeyboardInterrupt("...") from its own.

    >>> def main():
    ...     raise ZooError("unknown model 'nerr'")
    >>> script(main, "benchmarks.x")
    2
    >>> def main():
    ...     raise KeyboardInterrupt("the results files are as they were")
    >>> script(main, "benchmarks.x")
    130
    """
    import signal
    import threading

    from .runtime import missing_package

    # SIGTERM (kill, a scheduler's stop) as Ctrl-C, so the script's clean-up runs, and
    # Ctrl-C as Python's KeyboardInterrupt again (benchmarks/ ends at once while it imports)
    # (handlers belong to the main thread; main() called from another keeps its own)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = ((signal.signal(signal.SIGTERM, interrupt),
                 signal.signal(signal.SIGINT, signal.default_int_handler)) if main_thread else None)
    try:
        code = main()
        return code if isinstance(code, int) else 0
    except KeyboardInterrupt as e:
        where = f"; {e.args[0]}" if e.args else ""
        print(f"python -m {prog}: interrupted{where}", file=sys.stderr)
        return 130
    except ZooError as e:
        message = str(e)
    except ModuleNotFoundError as e:
        error = missing_package(e, f"python -m {prog}")
        if error is e:                  # one of the zoo's own modules: a broken checkout
            raise
        message = str(error)
    except OSError as e:
        message = describe_os_error(e)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous[0])
            signal.signal(signal.SIGINT, previous[1])
    print(f"error: {message}", file=sys.stderr)
    return 2


def interrupt(signum, frame):
    """A signal handler that stops the program as Ctrl-C does (SIGTERM: its clean-up runs)."""
    raise KeyboardInterrupt
