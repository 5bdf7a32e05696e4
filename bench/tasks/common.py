"""Helpers the task modules share: tensor <-> picture conversions and uint8 resizing."""

from __future__ import annotations

from typing import Any


def hwc(image: Any) -> Any:
    """uint8 [3,H,W] tensor -> contiguous HxWx3 numpy array."""
    import numpy as np

    return np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())


def resize_uint8(images: Any, size: tuple[int, int], resample: str) -> Any:
    """uint8 [B,3,h,w] -> uint8 [B,3,H,W] with a PIL filter (PIL's bicubic antialiases when reducing)."""
    import numpy as np
    import torch
    from PIL import Image

    if tuple(images.shape[-2:]) == tuple(size):
        return images.clone()
    filt = getattr(Image.Resampling, resample.upper())
    out = [np.asarray(Image.fromarray(hwc(im)).resize((size[1], size[0]), filt)) for im in images]
    return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()


def source_batch(batch: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    """``{"source", *extra, "path"}`` of a dataset batch that holds a source-domain image per sample."""
    from bench.errors import BenchError

    missing = [k for k in ("source", *extra) if k not in batch]
    if missing:
        raise BenchError(f"the dataset's loader gives no '{missing[0]}' (keys: {', '.join(sorted(batch))}); a loader "
                         "of this task must yield it")
    return {"source": batch["source"], **{k: batch[k] for k in extra}, "path": list(batch["path"])}


def show_source(batch: dict[str, Any], j: int, params: Any, palette: Any, keys: list[str]) -> Any:
    """The source image of row j (nearest-resized to the target size for the grid)."""
    target = batch["image"].shape[-2:] if "image" in batch else batch["source"].shape[-2:]
    return hwc(resize_uint8(batch["source"][j : j + 1], tuple(target), "nearest")[0])
