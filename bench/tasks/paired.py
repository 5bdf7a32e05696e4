"""``paired``: image -> image with aligned pairs (pix2pix on edges2shoes, maps, day->night)."""

from __future__ import annotations

from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import show_source, source_batch

TASK = Task(
    name="paired",
    summary="source image -> target image, aligned pairs",
    batch_keys={
        "source": "uint8 [B,3,h,w] source-domain image (the target's pair)",
        "path": "list[str] source file of each sample",
    },
    baseline="identity",
    make_batch=lambda batch, params, keys: source_batch(batch),
    show=show_source,
    metrics=("fid", "kid", "is", "psnr", "ssim", "lpips", "lpips_diversity", "msssim_diversity", *DISTRIBUTION_II,
             "is_inf"),
    columns=("fid", "kid", "lpips", "psnr", "ssim", "lpips_diversity", "msssim_diversity"),
)
