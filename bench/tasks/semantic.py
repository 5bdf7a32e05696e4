"""``semantic``: label map (+ instance map) -> photo (SPADE, pix2pixHD, OASIS on Cityscapes / ADE20K / COCO-Stuff)."""

from __future__ import annotations

from typing import Any

from bench.tasks import Task


def make_batch(batch: dict[str, Any], params: Any, keys: list[str]) -> dict[str, Any]:
    return {"label": batch["label"], "instance": batch["instance"], "path": list(batch["path"])}


def show(batch: dict[str, Any], j: int, params: Any, palette: Any, keys: list[str]) -> Any:
    import numpy as np

    pal = np.asarray(palette, dtype=np.uint8)
    return pal[np.clip(batch["label"][j, 0].numpy(), 0, len(pal) - 1)]


TASK = Task(
    name="semantic",
    summary="label map (+ instance map) -> image",
    batch_keys={
        "label": "int64 [B,1,H,W] generator class ids 0..num_classes-1 (ignore_index where unlabeled)",
        "instance": "int64 [B,1,H,W] instance ids (class*1000+k; zeros when the dataset has none)",
        "path": "list[str] source file of each sample",
    },
    baseline="label-colouring",
    make_batch=make_batch,
    show=show,
    uses_labels=True,
)
