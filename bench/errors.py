"""The one exception type the CLI turns into a single line on stderr and a non-zero exit."""

from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")


class BenchError(Exception):
    """A user-facing error: the message names the file, field or value at fault.

    The CLI prints ``error: <message>`` and exits with ``exit_code``; no traceback unless ``--debug``.
    """

    exit_code = 2

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


def guarded(what: str, fn: Callable[[], T]) -> T:
    """Run third-party code (an adapter, a segmenter): any failure, ``sys.exit`` included, becomes one line
    ``<what>: <error>`` (``--debug`` shows the original traceback, chained). Ctrl-C still interrupts."""
    try:
        return fn()
    except BenchError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - code we do not control
        detail = f"called sys.exit({exc.code!r})" if isinstance(exc, SystemExit) else f"{type(exc).__name__}: {exc}"
        raise BenchError(f"{what}: {detail}") from exc


def require_int(flag: str, value: object, low: int = 1, high: int | None = None) -> None:
    """Refuse, with one line naming the option, a value that is not an int in ``low`` .. ``high`` (bools included:
    ``True`` is an int to Python, never a count to us)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        what = "a positive integer" if (low, high) == (1, None) else f"an integer from {low} to {high}"
        raise BenchError(f"{flag} must be {what}, got {value!r}")


class WeightsUnavailable(BenchError):
    """A weight file could not be found locally nor downloaded."""

    exit_code = 3
