"""``class``: class id (+ the sample's seed as noise) -> image (cGAN, AC-GAN, projection discriminator)."""

from __future__ import annotations

from typing import Any

from bench.tasks import Task


def make_batch(batch: dict[str, Any], params: Any, keys: list[str]) -> dict[str, Any]:
    from bench.errors import BenchError

    if "class_id" not in batch:
        raise BenchError(f"the dataset's loader gives no 'class_id' (keys: {', '.join(sorted(batch))}); a loader of "
                         "the class task must yield it")
    return {"class_id": batch["class_id"], "path": list(batch["path"])}


def show(batch: dict[str, Any], j: int, params: Any, palette: Any, keys: list[str]) -> Any:
    """A tile in the class's card colour (the grid's condition column)."""
    import numpy as np

    h, w = batch["image"].shape[-2:]
    pal = np.asarray(palette, dtype=np.uint8)
    colour = pal[int(batch["class_id"][j]) % len(pal)] if len(pal) else np.zeros(3, np.uint8)
    return np.broadcast_to(colour, (h, w, 3)).copy()


TASK = Task(
    name="class",
    summary="class id (+ noise from the seed) -> image",
    batch_keys={
        "class_id": "int64 [B] class of each sample (0..num_classes-1)",
        "path": "list[str] one key per sample (a real image of that class, for pairing in the grid)",
    },
    baseline="class-mean",
    make_batch=make_batch,
    show=show,
    metrics=("fid", "kid", "is", "msssim_diversity"),
    columns=("is", "fid", "kid", "msssim_diversity"),
)
