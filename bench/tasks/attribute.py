"""``attribute``: image + target attribute vector -> image (StarGAN on CelebA: hair colour, gender, age)."""

from __future__ import annotations

from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import show_source, source_batch

TASK = Task(
    name="attribute",
    summary="source image + target attribute vector -> image",
    batch_keys={
        "source": "uint8 [B,3,h,w] source image",
        "attributes": "float32 [B,A] target attributes (0/1 per attribute, in the card's attribute order)",
        "path": "list[str] source file of each sample",
    },
    baseline="identity",
    make_batch=lambda batch, params, keys: source_batch(batch, ("attributes",)),
    show=show_source,
    metrics=("fid", "kid", *DISTRIBUTION_II),
    columns=("fid", "kid"),
)
