"""Reading image folders: listing, header checks before any work, and one full decode per file."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import BenchError

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".webp", ".tif", ".tiff"}


@dataclass(frozen=True)
class ImageFile:
    """One image of a folder: its path, path relative to the folder, and header facts."""

    path: Path
    rel: str
    size: tuple[int, int]  # (width, height), as PIL reports it

    @property
    def key(self) -> str:
        """Relative path without extension: how fake and real files are paired."""
        return os.path.splitext(self.rel)[0]


def list_images(folder: str | os.PathLike[str], *, role: str, min_count: int = 2) -> list[Path]:
    """Image files under ``folder`` (recursive), sorted by relative path."""
    root = Path(folder)
    if not root.is_dir():
        raise BenchError(f"{role} folder {root} does not exist or is not a directory")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if len(files) < min_count:
        raise BenchError(f"{role} folder {root} holds {len(files)} image(s); at least {min_count} are needed")
    return files


def probe(path: Path, root: Path) -> ImageFile:
    """Read only the header: reject empty, unidentifiable and non-RGB files with one line naming the file."""
    if path.stat().st_size == 0:
        raise BenchError(f"{path}: empty file (0 bytes)")
    try:
        with Image.open(path) as im:
            mode, size = im.mode, im.size
    except (UnidentifiedImageError, OSError) as exc:
        raise BenchError(f"{path}: not a readable image ({exc})") from exc
    if mode != "RGB":
        raise BenchError(
            f"{path}: image mode {mode}, expected 8-bit RGB"
            + (" (it has an alpha channel: drop it explicitly, the benchmark never guesses a background)" if "A" in mode else "")
        )
    return ImageFile(path, path.relative_to(root).as_posix(), size)


def scan_folder(folder: str | os.PathLike[str], *, role: str, min_count: int = 2) -> list[ImageFile]:
    """List and probe every image of a folder; all must share one size."""
    root = Path(folder)
    files = [probe(p, root) for p in list_images(root, role=role, min_count=min_count)]
    first = files[0]
    for f in files[1:]:
        if f.size != first.size:
            raise BenchError(
                f"{f.path}: size {f.size[0]}x{f.size[1]} differs from {first.size[0]}x{first.size[1]} "
                f"({first.path}); all {role} images must share one size"
            )
    return files


def decode(f: ImageFile) -> np.ndarray:
    """Fully decode one RGB image to uint8 HxWx3; a truncated or corrupt file raises naming it."""
    try:
        with Image.open(f.path) as im:
            im.load()
            arr = np.asarray(im, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError) as exc:
        raise BenchError(f"{f.path}: cannot decode image ({exc})") from exc
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise BenchError(f"{f.path}: decoded to shape {arr.shape}, expected HxWx3")
    return arr


def decode_label(path: Path, what: str = "label map") -> np.ndarray:
    """A single-channel 8/16-bit PNG (label or instance map) as int64 HxW; colour images are refused naming the
    file and mode."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("L", "P", "I", "I;16", "I;16B", "I;16L"):
                raise BenchError(f"{path}: {what} mode {im.mode}, expected a single-channel 8/16-bit image")
            return np.asarray(im).astype(np.int64)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BenchError(f"{path}: unreadable {what} ({exc})") from exc


def content_hash(files: list[ImageFile]) -> str:
    """sha256 over (relative path, file sha256) of every file: the identity of a folder's content."""
    h = hashlib.sha256()
    for f in files:
        fh = hashlib.sha256()
        with open(f.path, "rb") as fp:
            for chunk in iter(lambda: fp.read(1 << 20), b""):
                fh.update(chunk)
        h.update(f.rel.encode() + b"\0" + fh.hexdigest().encode() + b"\n")
    return h.hexdigest()
