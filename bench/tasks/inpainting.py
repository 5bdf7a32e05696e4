"""``inpainting``: image with a hole + its mask -> completed image (context encoders, partial convolutions).

Masks are part of the protocol (``bench.masks``): the card's ``task_params`` name the mask kind and its parameters,
and each sample's hole is a pure function of them and the sample's key, so every method fills the same holes and
the in-hole metrics regenerate them. Kinds: ``box`` (``hole``, ``seed``: one square placed from (seed, key); the
first protocol, unchanged), ``center`` (``hole``: the centred square, the context-encoder protocol), ``rect`` and
``free-form`` (``band``, ``seed``: rectangles or brush strokes covering a hole ratio in ``band``).

Only the parameters of the card's mask kind are kept (and fingerprinted): a ``box`` card's protocol is
``{mask, hole, seed}`` as before the other kinds existed, and a parameter the kind does not use is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from bench import masks
from bench.errors import BenchError
from bench.masks import box_mask  # noqa: F401  (re-exported: the box protocol's generator)
from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import hwc

MASKS = tuple(masks.KINDS)


def check_params(params: Mapping[str, Any], resolution: tuple[int, int] | None) -> str | None:
    return masks.check(params)


def make_batch(batch: dict[str, Any], params: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    import torch

    size = tuple(batch["image"].shape[-2:])
    mask = torch.from_numpy(masks.masks_for(params, keys, size))[:, None]
    masked = batch["image"].masked_fill(mask, 0)  # the hole's pixels are not given to the method
    return {"masked_image": masked, "mask": mask, "path": list(batch["path"])}


def show(batch: dict[str, Any], j: int, params: Mapping[str, Any], palette: Any, keys: list[str]) -> Any:
    out = hwc(batch["image"][j]).copy()
    out[masks.mask_for(params, keys[j], out.shape[:2])] = 128  # the hole, in grey
    return out


@dataclass(frozen=True)
class InpaintingTask(Task):
    """The inpainting task: its params are resolved per mask kind (only the kind's own parameters are kept)."""

    def resolve_params(self, given: Mapping[str, Any] | None, where: str,
                       resolution: tuple[int, int] | None) -> dict:
        params = super().resolve_params(given, where, resolution)
        uses = masks.KINDS[params["mask"]]
        stray = sorted(set(given or {}) - {"mask", *uses})
        if stray:
            raise BenchError(f"{where}: task_params: {stray[0]} does not apply to mask '{params['mask']}' (it takes "
                             f"{', '.join(uses)})")
        out = {k: params[k] for k in ("mask", *uses)}
        if "band" in out:
            out["band"] = [float(b) for b in out["band"]]
        return out


TASK = InpaintingTask(
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
    metrics=("psnr", "ssim", "l1", "l2", "hole_psnr", "hole_l1", "hole_l2", "lpips", "fid", "kid", *DISTRIBUTION_II),
    # whole-image PSNR / SSIM / L1 / L2 (context encoders' Table 1 errors), the same inside the hole, then the
    # perceptual and distribution columns
    columns=("psnr", "ssim", "l1", "l2", "hole_psnr", "hole_l1", "hole_l2", "lpips", "fid", "kid"),
    params={"mask": "box", "hole": 0.5, "seed": 0, "band": [0.1, 0.2]},
    check_params=check_params,
)
