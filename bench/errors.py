"""The one exception type the CLI turns into a single line on stderr and a non-zero exit."""

from __future__ import annotations


class BenchError(Exception):
    """A user-facing error: the message names the file, field or value at fault.

    The CLI prints ``error: <message>`` and exits with ``exit_code``; no traceback unless ``--debug``.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class WeightsUnavailable(BenchError):
    """A weight file could not be found locally nor downloaded."""

    exit_code = 3
