"""Every file bench writes goes through here: atomic (temp file in the same folder, fsync, rename), with the
mode a plain ``open()`` would give, and output paths checked before the long work starts."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

from bench.errors import BenchError


def _umask() -> int:
    """The process umask (there is no getter: set and restore)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mkstemp_like_open(path: Path) -> tuple[int, str]:
    """A temp file next to ``path`` with the mode a plain ``open(path, 'w')`` would give (mkstemp's is 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, tmp


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """``write(f)`` into a temp file in the same folder, fsync, rename: readers see the old file or the new one,
    never a part, and a failure leaves no temp file behind."""
    fd, tmp = _mkstemp_like_open(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda f: f.write(data))


def save_npz_atomic(path: Path, **arrays: Any) -> None:
    """np.savez straight into the temp file (no in-memory copy of the arrays)."""
    import numpy as np

    atomic_write(path, lambda f: np.savez(f, **arrays))


def frame_bytes(frame: Any, suffix: str) -> bytes:
    """A polars frame as the bytes of a ``.parquet`` (no column statistics) or ``.csv`` file, for an atomic write."""
    buf = io.BytesIO()
    if suffix == ".csv":
        frame.write_csv(buf)
    else:
        frame.write_parquet(buf, statistics=False)
    return buf.getvalue()


def json_bytes(obj: Any) -> bytes:
    """The one JSON layout of records and run files: sorted keys, two-space indent, a final newline."""
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_bytes(Path(path), (json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n").encode())


def _existing_ancestor(p: Path) -> Path:
    probe = p
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return probe


def check_writable_dir(path: str | os.PathLike[str], what: str) -> None:
    """Refuse, before the long work, a folder that is a file or cannot be written."""
    p = Path(path)
    probe = _existing_ancestor(p)
    if not probe.is_dir():
        raise BenchError(f"{what} {p}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise BenchError(f"{what} {p}: {probe} is not writable")


def check_writable_file(path: str | os.PathLike[str], what: str) -> None:
    """Refuse, before the long work, an output file that is a folder, lies under a file, or whose folder cannot
    be written (the atomic write needs a temp file next to it)."""
    p = Path(path)
    if p.is_dir():
        raise BenchError(f"{what} {p} is a folder; give a file name, e.g. {p / 'result.json'}")
    probe = _existing_ancestor(p.parent if p.parent != p else p)
    if not probe.is_dir():
        raise BenchError(f"{what} {p}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise BenchError(f"{what} {p}: {probe} is not writable")


_digest_memo: dict[tuple[str, int, int, int], str] = {}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """sha256 hex digest of a file, memoised within the process per (path, inode, size, mtime): an atomic
    rewrite gets a new inode, so a file replaced within one mtime tick is still hashed again."""
    st = os.stat(path)
    key = (os.fspath(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _digest_memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _digest_memo[key] = h.hexdigest()
    return _digest_memo[key]
