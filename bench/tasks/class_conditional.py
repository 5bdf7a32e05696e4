"""``class``: class id (+ the sample's seed as noise) -> image (cGAN, AC-GAN, projection discriminator)."""

from __future__ import annotations

from typing import Any

from bench.tasks import DISTRIBUTION_II, Task


def class_ids(batch: dict[str, Any]) -> Any:
    """int64 [B] class of each sample: the loader's ``class_id``, or the constant label map that class datasets
    store (the class of every pixel; a map that is not constant is refused)."""
    from bench.errors import BenchError

    if "class_id" in batch:
        return batch["class_id"].reshape(-1).long()
    if "label" not in batch:
        raise BenchError(f"the dataset's loader gives no 'class_id' nor label map (keys: {', '.join(sorted(batch))})")
    flat = batch["label"].reshape(batch["label"].shape[0], -1)
    mixed = (flat != flat[:, :1]).any(1)
    if bool(mixed.any()):
        j = int(mixed.nonzero()[0, 0])
        raise BenchError(f"{batch['path'][j]}: the label map of a class-conditional sample must hold one class, "
                         f"this one holds {int(flat[j].unique().numel())}")
    return flat[:, 0].long()


def make_batch(batch: dict[str, Any], params: Any, keys: list[str]) -> dict[str, Any]:
    return {"class_id": class_ids(batch), "path": list(batch["path"])}


def show(batch: dict[str, Any], j: int, params: Any, palette: Any, keys: list[str]) -> Any:
    """A tile in the class's card colour (the grid's condition column)."""
    import numpy as np

    h, w = batch["image"].shape[-2:]
    pal = np.asarray(palette, dtype=np.uint8)
    colour = pal[int(class_ids(batch)[j]) % len(pal)] if len(pal) else np.zeros(3, np.uint8)
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
    class_of=lambda item: int(class_ids({k: v[None] if hasattr(v, "shape") else [v] for k, v in item.items()})[0]),
    metrics=("fid", "kid", "is", "fid_intra", "kid_intra", "class_acc", "cas", "msssim_class", "msssim_diversity",
             *DISTRIBUTION_II, "is_inf"),
    columns=("is", "fid", "kid", "fid_intra", "kid_intra", "class_acc", "cas", "msssim_class", "msssim_diversity"),
)
