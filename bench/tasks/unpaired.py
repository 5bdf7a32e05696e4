"""``unpaired``: source-domain image -> target-domain image, no pairs (CycleGAN, UNIT, MUNIT).

The real images are the target domain's test set; nothing is paired, so only distribution metrics apply. A dataset
with hidden pairs (``task_params`` ``{"hidden_pairs": true}``: each evaluated source has a known target, and the
source's label map, as the embedded ``synthetic-streets-dusk2day``) also scores content preservation: PSNR / SSIM
/ LPIPS against the hidden target and the segmenter's mIoU of the translation against the source's labels, and,
with a classifier of its domains, the share of translations classified as the target domain (``class_acc``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import show_source, source_batch

HIDDEN_PAIR_METRICS = ("psnr", "ssim", "lpips", "miou")
# the embedded sets with a classifier of their domains (loader.json default_classifier) also score the target
# domain's attribute: the share of translations that classifier assigns to the target domain (StarGAN's evaluation)
ATTRIBUTE_METRICS = ("class_acc",)


def refine(task: Task, params: Mapping[str, Any]) -> Task:
    if not params["hidden_pairs"]:
        return task
    return replace(task, metrics=(*(task.metrics or ()), *HIDDEN_PAIR_METRICS, *ATTRIBUTE_METRICS), uses_labels=True,
                   columns=(*(task.columns or ()), *HIDDEN_PAIR_METRICS, *ATTRIBUTE_METRICS))


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
    params={"hidden_pairs": False},
    refine=refine,
)
