"""An exclusive, non-blocking lock on a working folder (a run directory, a training folder): two processes never
write the same folder at once. The lock is an ``flock`` on ``<folder>/.lock``, so the kernel releases it when the
holder dies (a killed run never leaves a stale lock)."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Iterator

from bench.errors import BenchError


class DirLock:
    """Hold ``flock(<folder>/.lock)``; raise a one-line BenchError naming the folder when another process holds it."""

    def __init__(self, folder: Path, what: str = "run directory") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.fh = open(folder / ".lock", "w")
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            self.fh.close()
            raise BenchError(f"{what} {folder} is in use by another process") from exc

    def release(self) -> None:
        if not self.fh.closed:
            fcntl.flock(self.fh, fcntl.LOCK_UN)
            self.fh.close()

    def __enter__(self) -> "DirLock":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """A blocking exclusive ``flock`` on the folder itself (no lock file is left in e.g. leaderboard/results):
    writers of one folder take turns; the kernel releases it if the holder dies."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
