"""Super-resolution test and training sets as distributed (Set5, Set14, BSD100, Urban100, DIV2K), at native size.

The loader is ``bench.data.image_only`` (images without label maps); this module holds the SR sets' own part.
Each high-resolution (HR) image keeps its own size, cropped at the bottom and right to a multiple of the scale
("modcrop", the SR convention); the method's input is made from it by the card's degradation (MATLAB bicubic), so
every method sees the same inputs whatever copy of the set a user has. Most copies also ship low-resolution (LR)
files (EDSR's ``LR_bicubic/X4``, BasicSR's ``LRbicx4``, Huang et al.'s ``*_SRF_4_LR.png``): those are never fed to
a method, but each is compared with our degradation of its HR partner when the image is first loaded (and by
``bench data verify``). A copy whose LR files differ is refused: its HR images are another version of the set, or
its LR files were made another way, and a number from it would not be comparable.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.data.base import Sample, _expand, _list, read_rgb
from bench.data.cards import Card, Layout
from bench.errors import BenchError

if TYPE_CHECKING:
    import numpy as np

# An LR file equals our degradation when no pixel differs by more than LR_MAX_DIFF grey levels and at most
# LR_MAX_FRACTION of its values differ at all: our MATLAB imresize port and MATLAB round the same float64 values,
# which can fall on either side of a .5 boundary (tests/test_sr_conventions.py measures our port against BasicSR's).
LR_MAX_DIFF = 1
LR_MAX_FRACTION = 0.01


def lr_files(card: Card, layout: Layout, root: Path, split: str) -> dict[str, Path] | None:
    """key -> LR file of the layout's ``lr`` folder, or None when the layout has none or the folder is absent."""
    if layout.lr is None:
        return None
    d, prefix = _expand(layout.lr, layout, split)
    folder = root / d
    return _list(folder, layout.lr, prefix) if folder.is_dir() else None


def lr_difference(hr: "np.ndarray", lr: "np.ndarray", scale: int, degradation: str) -> tuple[int, float] | str:
    """(max |difference| in grey levels, fraction of differing values) between an LR file and our degradation of
    its HR partner (HxWx3 uint8, before modcrop); or why they cannot be compared (sizes)."""
    import numpy as np
    import torch

    from bench.tasks.super_resolution import degrade

    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    if lr.shape != (h, w, 3):
        return (f"is {lr.shape[1]}x{lr.shape[0]}, the x{scale} reduction of its HR image ({hr.shape[1]}x{hr.shape[0]}, "
                f"cropped to a multiple of {scale}) is {w}x{h}")
    ours = degrade(torch.from_numpy(np.ascontiguousarray(hr.transpose(2, 0, 1)))[None], scale, degradation)[0]
    diff = np.abs(ours.numpy().transpose(1, 2, 0).astype(np.int64) - lr.astype(np.int64))
    return int(diff.max()), float((diff > 0).mean())


def check_lr(hr: "np.ndarray", hr_path: Path, lr_path: Path, scale: int, degradation: str) -> tuple[int, float]:
    """Raise naming both files when ``lr_path`` is not our degradation of ``hr``; else the difference."""
    got = lr_difference(hr, read_rgb(lr_path), scale, degradation)
    if isinstance(got, str):
        raise BenchError(f"{lr_path}: {got} ({hr_path}); this copy's LR files do not belong to its HR images")
    worst, frac = got
    if worst > LR_MAX_DIFF or frac > LR_MAX_FRACTION:
        raise BenchError(
            f"{lr_path}: differs from our {degradation} x{scale} reduction of {hr_path} (max |difference| {worst} grey "
            f"levels, {frac:.1%} of the values differ; allowed: {LR_MAX_DIFF}, {LR_MAX_FRACTION:.0%}). The HR image is "
            "another version of the set, or the LR files were made another way: numbers from this copy would not "
            "compare with published ones. Check the copy (datasets/<name>/README.md); the benchmark always feeds its "
            "own degradation, so removing the LR folder runs on the HR images alone")
    return worst, frac


def verify_lr(card: Card, layout: Layout, root: Path, split: str, samples: list[Sample], rep: Any) -> None:
    """``bench data verify``: every LR file against our degradation of its HR partner; one note with the largest
    difference when all agree, so the report says the given LR inputs equal ours."""
    lrs = lr_files(card, layout, root, split)
    if lrs is None:
        rep.notes.append("no LR folder: inputs are made from the HR images by the card's degradation")
        return
    params = card.task_params
    scale, degradation = int(params["scale"]), str(params["degradation"])
    worst, frac, checked = 0, 0.0, 0
    for s in samples:
        if s.key not in lrs:
            rep.add("missing", f"{s.image}: no LR partner")
            continue
        try:
            w, f = check_lr(read_rgb(s.image), s.image, lrs[s.key], scale, degradation)
        except BenchError as exc:
            rep.add("LR differs", str(exc))
            continue
        worst, frac, checked = max(worst, w), max(frac, f), checked + 1
    for k in sorted(set(lrs) - {s.key for s in samples}):
        rep.add("extra", f"{lrs[k]}: LR file without an HR image")
    if checked:
        rep.notes.append(f"the {checked} LR files as distributed equal our {degradation} x{scale} reduction of their "
                         f"HR images (max |difference| {worst} grey level(s), at most {frac:.2%} of the values)")
