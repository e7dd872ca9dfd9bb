"""The project's own error types: every bad input ends in one of these, never a raw traceback.

>>> from zoo.errors import ZooError, InputError
>>> issubclass(InputError, ZooError) and issubclass(InputError, ValueError)
True
"""


class ZooError(Exception):
    """Base of every error the zoo raises on purpose; the CLI prints these as one line."""


class UnknownModelError(ZooError, KeyError):
    """A model name that is not in the registry and is not a bundle directory."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0])


class DataFormatError(ZooError, ValueError):
    """A data file that cannot be read: names the file, the line and what was expected."""


class InputError(ZooError, ValueError):
    """Bad input to predict(): empty, wrong type, not UTF-8, NaN, ..."""


class BundleError(ZooError):
    """A bundle that is incomplete, tampered with (sha256 mismatch) or from a newer format."""


class ExportError(ZooError):
    """An export that failed to convert or failed its parity check."""
