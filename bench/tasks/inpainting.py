"""``inpainting``: image with a hole + its mask -> completed image (context encoders, partial convolutions).

Masks are part of the protocol: ``box`` is one axis-aligned rectangle of ``hole`` x the height and width, placed
by a generator seeded from (``seed``, the sample's key), so every method fills the same holes."""

from __future__ import annotations

from typing import Any, Mapping

from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import hwc

MASKS = ("box",)


def check_params(params: Mapping[str, Any], resolution: tuple[int, int]) -> str | None:
    if params["mask"] not in MASKS:
        return f"mask '{params['mask']}' is not one of {', '.join(MASKS)}"
    if not 0.0 < params["hole"] < 1.0:
        return f"hole {params['hole']} must lie strictly between 0 and 1 (a fraction of the height and width)"
    if not 0 <= params["seed"] < 2**32:
        return f"seed {params['seed']} is not an integer from 0 to 4294967295"
    return None


def box_mask(key: str, size: tuple[int, int], hole: float, seed: int) -> Any:
    """bool HxW, True where pixels are missing: one rectangle, placed from (seed, key) only."""
    import numpy as np

    from bench.adapter import derive_seed

    h, w = size
    bh, bw = max(1, round(h * hole)), max(1, round(w * hole))
    rng = np.random.default_rng(derive_seed(seed, "inpainting-box", key))
    top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    mask = np.zeros((h, w), dtype=bool)
    mask[top : top + bh, left : left + bw] = True
    return mask


def make_batch(batch: dict[str, Any], params: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    import numpy as np
    import torch

    size = tuple(batch["image"].shape[-2:])
    mask = torch.from_numpy(np.stack([box_mask(k, size, params["hole"], params["seed"]) for k in keys]))[:, None]
    masked = batch["image"].masked_fill(mask, 0)  # the hole's pixels are not given to the method
    return {"masked_image": masked, "mask": mask, "path": list(batch["path"])}


def show(batch: dict[str, Any], j: int, params: Mapping[str, Any], palette: Any, keys: list[str]) -> Any:
    out = hwc(batch["image"][j]).copy()
    out[box_mask(keys[j], out.shape[:2], params["hole"], params["seed"])] = 128  # the hole, in grey
    return out


TASK = Task(
    name="inpainting",
    summary="image with a hole + mask -> completed image",
    batch_keys={
        "masked_image": "uint8 [B,3,H,W] the real image with the hole's pixels set to 0",
        "mask": "bool [B,1,H,W] True where pixels are missing (to be filled)",
        "path": "list[str] source file of each sample",
    },
    baseline="mean-fill",
    make_batch=make_batch,
    show=show,
    metrics=("psnr", "ssim", "lpips", "fid", "kid", *DISTRIBUTION_II),
    columns=("psnr", "ssim", "lpips", "fid", "kid"),
    params={"mask": "box", "hole": 0.5, "seed": 0},
    check_params=check_params,
)
