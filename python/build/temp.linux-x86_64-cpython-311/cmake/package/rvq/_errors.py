"""The exceptions of the rvq package: every one is an :class:`rvq.Error`, and also the built-in
exception a Python user expects (ValueError, OSError, TypeError)."""

from __future__ import annotations

from typing import Optional


class Error(Exception):
    """Base class of every error rvq raises (out of memory is the built-in MemoryError)."""


class DataError(Error, ValueError):
    """Bad data, shapes or options: the library's message says what and where."""


class FileError(Error, OSError):
    """A file could not be read or written, or its contents are not a valid file of its kind.

    ``filename`` is the path; ``str(e)`` is ``"path: reason"``.
    """

    def __init__(self, message: str, filename: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename

    def __str__(self) -> str:
        return f"{self.filename}: {self.message}" if self.filename else self.message

    def __reduce__(self):
        return (type(self), (self.message, self.filename))


class DTypeError(Error, TypeError):
    """An array of the wrong kind: integer, boolean or object values where floats are needed,
    or floats where codes are."""
