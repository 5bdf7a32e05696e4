"""ADE20K scene parsing (ADEChallengeData2016): ``images/`` + ``annotations/``, 0 = other, 1-150 classes.

The full ADE20K release (``ADE20K_2016_07_26`` / ``ADE20K_2021_17_01``, RGB ``*_seg.png`` whose R/G channels
encode one of ~3,000 class ids) is a different dataset: it is refused with one line saying so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.data.base import PairedDataset, build_dataset
from bench.data.cards import Card
from bench.errors import BenchError

FULL_ADE_HINT = ("is the full ADE20K format (RGB-encoded class ids in *_seg.png), not ADEChallengeData2016 "
                 "(150 classes): download ADEChallengeData2016.zip (see datasets/ade20k/README.md)")


def _find_seg_png(root: Path, limit: int = 20000) -> Path | None:
    """A ``*_seg.png`` under root, looking at no more than ``limit`` entries (a quick format sniff)."""
    seen = 0
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            if f.endswith("_seg.png"):
                return Path(dirpath) / f
            seen += 1
            if seen > limit:
                return None
    return None


def check_not_full_ade(root: Path) -> None:
    if root.is_dir() and not (root / "annotations").is_dir():
        seg = _find_seg_png(root)
        if seg is not None:
            raise BenchError(f"{root}: {seg.name} {FULL_ADE_HINT}")


def check_label(path: Path) -> None:
    """Refuse an RGB annotation (full ADE20K) before decoding, naming the file and its mode."""
    from PIL import Image

    if path.name.endswith("_seg.png"):
        raise BenchError(f"{path} {FULL_ADE_HINT}")
    try:
        with Image.open(path) as im:
            mode = im.mode
    except OSError:
        return  # unreadable: the decoder reports it
    if mode in ("RGB", "RGBA"):
        raise BenchError(f"{path}: label mode {mode} {FULL_ADE_HINT}")


def load(card: Card, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         **options: Any) -> PairedDataset:
    if root is not None:
        check_not_full_ade(Path(root).expanduser())
    return build_dataset(card, root, split, resolution, check_label=check_label, **options)
