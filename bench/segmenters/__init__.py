"""Segmenters for the segmentation score (mIoU, pixel accuracy): the published protocols, mmsegmentation, and the
embedded segmenter of ``synthetic-streets``.

    from bench.segmenters import get_segmenter, SEGMENTERS
    seg = get_segmenter("drn-d-105-cityscapes")               # weights resolved offline-first, sha256 recorded
    seg = get_segmenter("embedded-synthetic-streets")         # ships with the package, works offline
    seg = get_segmenter("mmseg", config="cfg.py", checkpoint="ckpt.pth")   # pip install cgan-bench[mmseg]
    pred = seg(images)            # uint8 [B,3,H,W] -> int64 [B,H,W], label space of the dataset card's segmenter
    seg.protocol                  # SegmenterProtocol: every choice that changes the score

Entries are lazy ``"module:Class"`` strings: importing this package imports neither torch nor the networks.
Each class also works as ``bench eval --segmenter bench.segmenters.drn:DRNCityscapes`` (no-argument constructor).
The segmenter of each dataset's published numbers is named by ``datasets/<name>/loader.json``
(``bench.data.default_segmenter``).
"""

from __future__ import annotations

from typing import Any

from bench.registry import Registry

SEGMENTERS: Registry[Any] = Registry("segmenter")
SEGMENTERS.register("drn-d-105-cityscapes", "bench.segmenters.drn:DRNCityscapes")
SEGMENTERS.register("upernet101-ade20k", "bench.segmenters.upernet:UPerNetADE20K")
SEGMENTERS.register("upernet101-ade20k-2019", "bench.segmenters.upernet:UPerNetADE20K2019")
SEGMENTERS.register("deeplabv2-cocostuff164k", "bench.segmenters.deeplabv2:DeepLabV2COCOStuff")
SEGMENTERS.register("mmseg", "bench.segmenters.mmseg_backend:MMSegSegmenter")
SEGMENTERS.register("embedded-synthetic-streets", "bench.segmenters.embedded:EmbeddedSegmenter")


def get_segmenter(name: str, **options: Any) -> Any:
    """An instance of the registered segmenter ``name``; unknown names raise with a did-you-mean, unknown options
    raise ``TypeError`` from the constructor (never silently ignored)."""
    cls = SEGMENTERS.get(name)
    return cls(**options)


def names() -> list[str]:
    return SEGMENTERS.names()


__all__ = ["SEGMENTERS", "get_segmenter", "names"]
