"""Datasets: cards (``datasets/<name>/card.json``), frozen split manifests, and loaders yielding SPADE-style
batches ``{label, instance, image, path}``.

    from bench.data import get_dataset, collate
    ds = get_dataset("synthetic-streets")                      # generated on first use, 64x64, split "val"
    ds = get_dataset("cityscapes", root="/data/cityscapes")    # 256x512, split "val", labelIds
    batch = next(iter(ds.loader(batch_size=8)))                # label/instance int64 [B,1,H,W], image uint8 [B,3,H,W]
    ds.to_segmenter(batch["label"])                            # e.g. labelIds -> trainIds

Datasets are discovered, not listed: every ``datasets/<name>/card.json`` is one, its ``loader.json`` names the
loader (a lazy ``"module:attr"`` string, so ``import bench.data`` stays cheap: no numpy, no torch, no file read
before the first lookup) and the segmenter its published numbers use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from bench.data.cards import Card, card_names, load_card, load_loader_spec, load_manifest, parse_resolution
from bench.registry import Registry

if TYPE_CHECKING:
    from bench.data.base import PairedDataset


def _discover(registry: Registry[Any]) -> None:
    for name in card_names():
        registry.register(name, load_loader_spec(name).loader)


DATASETS: Registry[Any] = Registry("dataset", fill=_discover)

DEFAULT_DATASET = "synthetic-streets"


def get_dataset(name: str = DEFAULT_DATASET, root: str | os.PathLike[str] | None = None, split: str | None = None,
                resolution: Any = None, **options: Any) -> "PairedDataset":
    """A dataset by registry name.

    ``split`` defaults to the card's eval split, ``resolution`` ("HxW", int or (H, W)) to the card's eval
    resolution. ``root`` is the folder holding the data (see ``datasets/<name>/README.md``); the synthetic
    dataset needs none. Options: ``cache=False`` skips the preprocessing cache; ``seed=`` (synthetic only).
    """
    from bench.errors import BenchError

    loader = DATASETS.get(name)  # unknown names raise with a did-you-mean
    card = load_card(name)
    allowed = {"cache", "seed"} if card.resolutions else {"cache"}
    unknown = sorted(set(options) - allowed)
    if unknown:  # a misspelled option must not be silently ignored
        raise BenchError(f"{name}: unknown option '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})")
    split = split or card.eval_split
    if split not in card.splits:
        raise BenchError(f"{name}: unknown split '{split}' (card {card.path} lists: {', '.join(card.splits)})")
    res = parse_resolution(resolution) or card.eval_resolution
    return loader(card, root, split, res, **options)


def collate(items: Any) -> dict[str, Any]:
    """Stack dataset items into a batch (see ``bench.data.base.collate``)."""
    from bench.data.base import collate as _collate

    return _collate(items)


def segmenter_mapping(name: str) -> tuple[Any, int, int]:
    """(lookup table generator id -> segmenter id, segmenter num_classes, ignore_index) of a dataset's card."""
    card = load_card(name)
    return card.segmenter_lut(), card.segmenter_num_classes, card.ignore_index


def default_segmenter(name: str) -> str | None:
    """The segmenter a dataset's published numbers were measured with (``loader.json``), None when there is none."""
    DATASETS.get(name)  # unknown names raise with a did-you-mean
    return load_loader_spec(name).default_segmenter


def default_classifier(name: str) -> str | None:
    """The fixed classifier of a class dataset's classes (``loader.json``), None when it has none."""
    DATASETS.get(name)  # unknown names raise with a did-you-mean
    return load_loader_spec(name).default_classifier


def default_matcher(name: str) -> str | None:
    """The fixed image-text matcher of a text dataset's captions (``loader.json``), None when it has none."""
    DATASETS.get(name)  # unknown names raise with a did-you-mean
    return load_loader_spec(name).default_matcher


def num_classes(name: str) -> dict[str, int]:
    """{"generator": ..., "segmenter": ...} label-space sizes of a dataset's card."""
    card = load_card(name)
    return {"generator": card.num_classes, "segmenter": card.segmenter_num_classes}


__all__ = ["DATASETS", "DEFAULT_DATASET", "Card", "collate", "default_classifier", "default_matcher", "default_segmenter", "get_dataset", "load_card",
           "load_manifest", "num_classes", "segmenter_mapping"]
