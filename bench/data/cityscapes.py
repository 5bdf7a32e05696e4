"""Cityscapes (gtFine): the official layout and pix2pixHD's flat layout.

Generator labels are labelIds (0-33, 35 one-hot channels as pix2pixHD/SPADE); the segmenter mapping is the
card's labelIds -> trainIds (19 classes + 255). Instance maps are the uint16 ``*_gtFine_instanceIds.png``
values as stored (objects class*1000+k, stuff the class id).
"""

from __future__ import annotations

import os
from typing import Any

from bench.data.base import PairedDataset, build_dataset
from bench.data.cards import Card


def load(card: Card, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         **options: Any) -> PairedDataset:
    return build_dataset(card, root, split, resolution, **options)
