"""Reading image folders: listing, header checks before any work, and one full decode per file."""

from __future__ import annotations

import hashlib
import os
import re
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
    """Image files under ``folder`` (recursive), sorted by relative path.

    Refused with one line, because each would silently change N or invent a sample: a file name that is not
    UTF-8 (it cannot be paired, recorded or printed), a symbolic link that points nowhere, two files of one name
    with different extensions (``0000.png`` + ``0000.jpg``)."""
    root = Path(folder)
    if not root.is_dir():
        raise BenchError(f"{role} folder {root} does not exist or is not a directory")
    files = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        try:
            rel.as_posix().encode("utf-8")
        except UnicodeEncodeError:
            raise BenchError(f"{role} folder {root}: the file name {os.fsencode(rel)!r} is not valid UTF-8; "
                             "rename it (names pair fake with real images and go into the record)") from None
        if p.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        if p.is_symlink() and not p.exists():
            raise BenchError(f"{p}: broken symbolic link (points to {os.readlink(p)}, which does not exist)")
        if p.is_file():
            files.append(p)
    files.sort()
    by_key: dict[str, Path] = {}
    for p in files:
        key = p.relative_to(root).with_suffix("").as_posix()
        if key in by_key:
            raise BenchError(f"{role} folder {root}: {by_key[key].relative_to(root)} and {p.relative_to(root)} "
                             f"share the name '{key}'; keep one (both would count as samples of one condition)")
        by_key[key] = p
    if len(files) < min_count:
        raise BenchError(f"{role} folder {root} holds {len(files)} image(s); at least {min_count} are needed")
    return files


def _raw_bits(im: Image.Image) -> str | None:
    """The per-channel bit depth the file stores, when it is not 8: PIL opens a 16-bit RGB PNG or TIFF as mode
    'RGB' and drops the low byte without a word, so the decoder's raw mode (e.g. 'RGB;16B') is the only trace."""
    for tile in im.tile or ():
        args = tile[3]  # the decoder's arguments: the raw mode, alone or first
        raw = args if isinstance(args, str) else next((a for a in args or () if isinstance(a, str)), "")
        bits = re.search(r";(\d+)", raw)
        if bits and bits.group(1) != "8":
            return bits.group(1)
    return None


def probe(path: Path, root: Path) -> ImageFile:
    """Read only the header: reject empty, unidentifiable, oversized, non-8-bit and non-RGB files with one line
    naming the file."""
    if path.stat().st_size == 0:
        raise BenchError(f"{path}: empty file (0 bytes)")
    try:
        with Image.open(path) as im:
            mode, size, bits = im.mode, im.size, _raw_bits(im)
    except Image.DecompressionBombError as exc:
        raise BenchError(f"{path}: refused, its header declares more pixels than PIL's safety limit ({exc})") from exc
    except (UnidentifiedImageError, OSError) as exc:
        raise BenchError(f"{path}: not a readable image ({exc})") from exc
    if mode != "RGB":
        raise BenchError(
            f"{path}: image mode {mode}, expected 8-bit RGB"
            + (" (it has an alpha channel: drop it explicitly, the benchmark never guesses a background)" if "A" in mode else "")
        )
    if bits is not None:
        raise BenchError(f"{path}: {bits} bits per channel, expected 8-bit RGB (PIL would silently drop the low bits; "
                         "convert the file to 8 bits with the rounding you intend)")
    return ImageFile(path, path.relative_to(root).as_posix(), size)


def scan_folder(folder: str | os.PathLike[str], *, role: str, min_count: int = 2,
                one_size: bool = True) -> list[ImageFile]:
    """List and probe every image of a folder; with ``one_size`` all must share one size (``bench eval
    --mixed-sizes`` lifts it: super-resolution test sets such as Set5 are evaluated at each image's own size)."""
    root = Path(folder)
    files = [probe(p, root) for p in list_images(root, role=role, min_count=min_count)]
    first = files[0]
    for f in files[1:] if one_size else ():
        if f.size != first.size:
            raise BenchError(
                f"{f.path}: size {f.size[0]}x{f.size[1]} differs from {first.size[0]}x{first.size[1]} "
                f"({first.path}); all {role} images must share one size (--mixed-sizes evaluates each image at its "
                "own size, with the metrics that allow it)"
            )
    return files


def decode(f: ImageFile) -> np.ndarray:
    """Fully decode one RGB image to uint8 HxWx3; a truncated or corrupt file raises naming it."""
    try:
        with Image.open(f.path) as im:
            im.load()
            arr = np.asarray(im, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
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
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise BenchError(f"{path}: unreadable {what} ({exc})") from exc


def content_hash(files: list[ImageFile]) -> str:
    """sha256 over (relative path, file sha256) of every file: the identity of a folder's content."""
    from bench.fileio import sha256_file

    h = hashlib.sha256()
    for f in files:
        h.update(f.rel.encode() + b"\0" + sha256_file(f.path).encode() + b"\n")
    return h.hexdigest()
