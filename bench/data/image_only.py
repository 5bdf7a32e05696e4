"""Datasets of images alone (the restoration tracks): SR sets as distributed, inpainting sets (Paris StreetView,
CelebA-HQ, Places2). Each item is the RGB image (a greyscale file is replicated to RGB) with an all-zero label map,
since restoration has none; the card's layouts say where the images are. A super-resolution layout may also name the
low-resolution files a copy ships (``lr``): checked against our degradation, never fed (``bench.data.sr_sets``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.data.base import Decoded, PairedDataset, Sample, _expand, build_dataset, read_rgb
from bench.data.cards import Card
from bench.errors import BenchError


def load(card: Card, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int] | None,
         **options: Any) -> PairedDataset:
    """The images of one split (native size when the card says so), each with an all-zero label map; a present
    LR folder must hold a partner for every HR image, equal to our degradation of it."""
    import numpy as np

    from bench.data import sr_sets

    lrs: dict[str, Path] | None = None
    scale = degradation = None
    if card.task == "super-resolution":
        params = card.task_params
        scale, degradation = int(params["scale"]), str(params["degradation"])

    def decode(sample: Sample) -> Decoded:
        image = read_rgb(sample.image)
        if lrs is not None:
            sr_sets.check_lr(image, sample.image, lrs[sample.key], scale, degradation)  # type: ignore[arg-type]
        return image, np.zeros(image.shape[:2], dtype=np.int64), None

    ds = build_dataset(card, root, split, resolution, decode=decode, **options)
    layout = next(lay for lay in card.layouts if lay.name == ds.layout)
    lrs = sr_sets.lr_files(card, layout, ds.root, split)
    if lrs is not None:
        missing = [s for s in ds.samples if s.key not in lrs]
        if missing:
            d = _expand(layout.lr, layout, split)[0]  # type: ignore[arg-type]
            raise BenchError(f"{missing[0].image}: no LR partner in {ds.root / d} ({len(missing)} of {len(ds)} HR "
                             f"images have none); a partial LR folder is a damaged copy: complete or remove it")
    return ds
