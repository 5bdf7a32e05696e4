"""PSNR on the Y channel with a border crop (the super-resolution convention, BasicSR's ``calculate_psnr`` with
``test_y_channel=True``), per image, averaged.

The border crop is the super-resolution task's scale (``bench run`` on an SR dataset); elsewhere (``bench eval`` on
two folders, other tasks) it is 0. Either way it is recorded in the protocol field ``y_channel``, so a number with
another crop never shares a fingerprint."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from bench.metrics.paired import PairedMean
from bench.metrics.registry import Column, MetricSpec

if TYPE_CHECKING:
    from bench.evaluate import EvalContext

# What the numbers depend on besides the crop (the definitions of bench/sr_conventions.py)
Y_CHANNEL = "matlab-rgb2ycbcr-bt601-y-16-235-float64"
PSNR_DEF = "basicsr-1.4.2-calculate_psnr-255-inf-when-equal"
SSIM_DEF = "basicsr-1.4.2-calculate_ssim-gaussian11-sigma1.5-valid-c0.01-0.03-255"


def crop_border(ctx: "EvalContext") -> int:
    """The border cut at each side: the scale of a super-resolution evaluation (its task protocol field, which
    `bench run` sets from the dataset card), 0 otherwise."""
    if ctx.opts.crop_border is not None:  # bench eval --crop-border
        return int(ctx.opts.crop_border)
    task = dict(ctx.opts.protocol_fields.get("task") or ())  # Protocol.freeze: ((key, JSON value), ...)
    if task and json.loads(task.get("name", "null")) == "super-resolution":
        return int(json.loads(task["scale"]))
    return 0


def protocol(ctx: "EvalContext") -> dict[str, Any]:
    """The protocol field both Y-channel metrics declare (the same value, so they may be computed alone or together)."""
    from bench.protocol import Protocol

    return {"y_channel": Protocol.freeze({"crop_border": crop_border(ctx), "y": Y_CHANNEL, "psnr": PSNR_DEF,
                                          "ssim": SSIM_DEF})}


def check_size(ctx: "EvalContext", minimum: int) -> str | None:
    """Why the images are too small for the crop (and the SSIM window), or None."""
    c = crop_border(ctx)
    # one size, or each image at its own (--mixed-sizes: ctx.size is None, image sizes are (width, height))
    sizes = [ctx.size] if ctx.size is not None else [(p.file.size[1], p.file.size[0]) for p in ctx.pairs]
    for h, w in sizes:
        if min(h, w) - 2 * c < minimum:
            return f"{h}x{w} images leave less than {minimum} pixel(s) per side after a {c}-pixel border crop"
    return None


def _build(ctx: "EvalContext") -> PairedMean:
    from bench.sr_conventions import psnr_y

    c = crop_border(ctx)
    return PairedMean("psnr_y", lambda fake, real: psnr_y(fake, real, c))


SPEC = MetricSpec("psnr_y", higher_is_better=True, inputs=("pairs",), build=_build, protocol=protocol,
                  columns=(Column("psnr_y", "PSNR-Y", True, 2),), check=lambda ctx: check_size(ctx, 1),
                  description="PSNR on the Y channel (MATLAB rgb2ycbcr), border crop = SR scale (BasicSR)",
                  builtin=True, tasks=("super-resolution",))
