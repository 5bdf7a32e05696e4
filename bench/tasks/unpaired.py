"""``unpaired``: source-domain image -> target-domain image, no pairs (CycleGAN, UNIT, MUNIT).

The real images are the target domain's test set; nothing is paired, so only distribution metrics apply."""

from __future__ import annotations

from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import show_source, source_batch

TASK = Task(
    name="unpaired",
    summary="source-domain image -> target-domain image, no pairs",
    batch_keys={
        "source": "uint8 [B,3,h,w] source-domain image",
        "path": "list[str] source file of each sample",
    },
    baseline="identity",
    make_batch=lambda batch, params, keys: source_batch(batch),
    show=show_source,
    metrics=("fid", "kid", "lpips_diversity", *DISTRIBUTION_II),
    columns=("fid", "kid", "lpips_diversity"),
)
