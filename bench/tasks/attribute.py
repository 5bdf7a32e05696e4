"""``attribute``: image + target attribute vector -> image (StarGAN on CelebA: hair colour, gender, age).

The card names the attributes in order (``task_params`` ``{"attributes": [...]}``); the batch's ``attributes`` are the
target vector (0/1 per attribute in that order). The real images are the dataset's (CelebA: the split's faces, i.e.
the inputs themselves, so FID / KID there measure realism, not whether the attribute changed); a dataset with hidden
pairs (``{"hidden_pairs": true}``: each evaluated source has its own image in the target domain, as the embedded
``synthetic-streets-attributes``) also scores content preservation (PSNR / SSIM / LPIPS against the hidden target,
mIoU against the source's label map) and, with a classifier of its domains, the share of translations the classifier
assigns to the target domain (``class_acc``: StarGAN's classification accuracy) and the realism per target domain
(``kid_intra``: KID between each target domain's samples and its real images, averaged over the domains)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from bench.tasks import DISTRIBUTION_II, Task
from bench.tasks.common import show_source, source_batch
from bench.tasks import unpaired

# realism per target domain: the sources and the targets of a multi-domain set come from the same mixture of domains
# (every domain is a source as often as a target), so FID / KID against all the targets barely tells a translation
# from its source (the identity baseline scores near the oracle); intra-domain KID compares the samples for each
# target domain with that domain's real images only (``kid_intra``, the domains being the classifier's classes)
DOMAIN_METRICS = ("kid_intra",)


def refine(task: Task, params: Mapping[str, Any]) -> Task:
    out = unpaired.refine(task, params)
    if not params["hidden_pairs"]:
        return out
    return replace(out, metrics=(*(out.metrics or ()), *DOMAIN_METRICS),
                   columns=(*(out.columns or ())[:2], *DOMAIN_METRICS, *(out.columns or ())[2:]))


def _check(params: Mapping[str, Any], resolution: tuple[int, int] | None) -> str | None:
    names = params["attributes"]
    if not names or not all(isinstance(a, str) and a for a in names):
        return f"attributes must be a non-empty list of attribute names, got {names!r}"
    if len(set(names)) != len(names):
        return f"attributes must be distinct, got {names!r}"
    return None


TASK = Task(
    name="attribute",
    summary="source image + target attribute vector -> image",
    batch_keys={
        "source": "uint8 [B,3,h,w] source image",
        "attributes": "float32 [B,A] target attributes (0/1 per attribute, in the card's task_params.attributes order)",
        "path": "list[str] source file of each sample",
    },
    baseline="identity",
    make_batch=lambda batch, params, keys: source_batch(batch, ("attributes",)),
    show=show_source,
    metrics=("fid", "kid", *DISTRIBUTION_II),
    columns=("fid", "kid"),
    params={"attributes": [], "hidden_pairs": False},
    check_params=_check,
    refine=refine,
)
