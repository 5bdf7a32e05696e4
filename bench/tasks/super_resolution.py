"""``super-resolution``: low-resolution image + scale -> high-resolution image (SRResNet, SRGAN, ESRGAN).

The low-resolution input is made from the high-resolution image by the card's ``degradation`` (fingerprinted):
``matlab-bicubic`` is MATLAB's ``imresize(HR, 1/scale, 'bicubic')`` of the uint8 image (antialiased, rounded to uint8
after each axis as MATLAB does; bench/sr_conventions.py, parity with BasicSR tested): the convention of SR papers
(NTIRE 2017 / DIV2K's "bicubic" track names MATLAB imresize). ``pil-bicubic`` is PIL's bicubic reduction, which
antialiases too but differs by a few grey levels: a different protocol, kept for existing records.
An HR image whose sides are not multiples of the scale (a test set at its native sizes) is modcropped first."""

from __future__ import annotations

from typing import Any, Mapping

from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import hwc, resize_uint8

DEGRADATIONS = ("pil-bicubic", "matlab-bicubic")
SCALES = (2, 3, 4, 8)


def check_params(params: Mapping[str, Any], resolution: tuple[int, int] | None) -> str | None:
    s = params["scale"]
    if s not in SCALES:
        return f"scale {s} is not one of {', '.join(map(str, SCALES))}"
    if params["degradation"] not in DEGRADATIONS:
        return f"degradation '{params['degradation']}' is not one of {', '.join(DEGRADATIONS)}"
    if resolution is not None and (resolution[0] % s or resolution[1] % s):
        return f"the resolution {resolution[0]}x{resolution[1]} is not a multiple of the scale {s}"
    return None


def degrade(images: Any, scale: int, degradation: str = "pil-bicubic") -> Any:
    """uint8 [B,3,H,W] high-resolution images -> uint8 [B,3,H/scale,W/scale] (the task's input); H and W that are
    not multiples of the scale are modcropped first (bottom / right), as SR test sets are."""
    from bench.errors import BenchError

    h, w = images.shape[-2:]
    if degradation == "pil-bicubic":
        return resize_uint8(images, (h // scale, w // scale), "bicubic")
    if degradation == "matlab-bicubic":
        from bench.sr_conventions import matlab_imresize, modcrop

        return matlab_imresize(modcrop(images, scale).contiguous(), 1 / scale)
    raise BenchError(f"degradation '{degradation}' is not one of {', '.join(DEGRADATIONS)}")


def make_batch(batch: dict[str, Any], params: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    lr = batch["lr"] if "lr" in batch else degrade(batch["image"], params["scale"], params["degradation"])
    return {"lr": lr, "scale": int(params["scale"]), "path": list(batch["path"])}


def show(batch: dict[str, Any], j: int, params: Mapping[str, Any], palette: Any, keys: list[str]) -> Any:
    lr = make_batch(batch, params, keys)["lr"][j : j + 1]
    return hwc(resize_uint8(lr, tuple(batch["image"].shape[-2:]), "nearest")[0])


TASK = Task(
    name="super-resolution",
    summary="low-resolution image + scale -> high-resolution image",
    batch_keys={
        "lr": "uint8 [B,3,H/scale,W/scale] low-resolution input (the card's degradation of the real image)",
        "scale": "int upscaling factor (the output is [B,3,H,W])",
        "path": "list[str] source file of each sample",
    },
    baseline="bicubic",
    make_batch=make_batch,
    show=show,
    metrics=("psnr_y", "ssim_y", "psnr", "ssim", "lpips", "fid", "kid", *DISTRIBUTION_II),
    columns=("psnr_y", "ssim_y", "psnr", "ssim", "lpips", "fid", "kid"),
    params={"scale": 4, "degradation": "pil-bicubic"},
    check_params=check_params,
    native_multiple=lambda params: int(params["scale"]),  # modcrop: SR test sets are evaluated at their own sizes
)
