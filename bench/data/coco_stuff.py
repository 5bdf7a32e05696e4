"""COCO-Stuff 164K: SPADE's layout ({train,val}_{img,label,inst}) and the official one
(``train2017/``, ``val2017/`` + ``stuffthingmaps_trainval2017/{train2017,val2017}/``).

Labels are stored ids 0-181 with 255 = unlabeled; the generator sees 255 as channel 182 (SPADE's dont-care),
the segmenter keeps 255 as ignore. The official layout has no instance maps (SPADE builds them with
pycocotools): the batch then carries zeros and ``has_instances`` is False in the fingerprint.
"""

from __future__ import annotations

import os
from typing import Any

from bench.data.base import PairedDataset, build_dataset
from bench.data.cards import Card


def load(card: Card, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         **options: Any) -> PairedDataset:
    return build_dataset(card, root, split, resolution, **options)
