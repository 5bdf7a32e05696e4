"""Classifier accuracy of generated images: the fraction of samples that a fixed classifier of the dataset's classes
assigns to the class they were generated for (the AC-GAN paper's "Inception accuracy", with a classifier of the
dataset itself: bench.classifiers). Per-class accuracies are in the record's details."""

from __future__ import annotations

from typing import Any

import torch

from bench.metrics.base import Metric
from bench.metrics.classes import sample_classes
from bench.metrics.registry import Column, MetricSpec


class ClassifierAccuracy(Metric):
    name = "class_acc"

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.n = max(ctx.opts.classes.values()) + 1
        self.add_sum_state("correct", (self.n,), torch.int64)
        self.add_sum_state("total", (self.n,), torch.int64)

    def update_view(self, view) -> None:
        target = torch.from_numpy(sample_classes(self.ctx, view.items))
        pred = torch.as_tensor(view.net("classifier")(view.fake)).cpu()
        self._add("correct", torch.bincount(target[pred == target], minlength=self.n))
        self._add("total", torch.bincount(target, minlength=self.n))

    def compute(self) -> dict:
        correct, total = self.state("correct"), self.state("total")
        per_class = {str(c): float(correct[c]) / float(total[c]) for c in range(self.n) if int(total[c])}
        return {"class_acc": float(correct.sum()) / float(total.sum()),
                "_details": {"class_acc_per_class": per_class}}


def _protocol(ctx) -> dict[str, Any]:
    from bench.classifiers import get_spec
    from bench.protocol import Protocol

    name = ctx.opts.classifier
    return {"classifier": Protocol.freeze(get_spec(name).protocol()) if name else None}


def _check(ctx) -> str | None:
    """The classifier's input size (a classifier never sees resized images: its accuracy was measured at its size)."""
    from bench.classifiers import get_spec

    if ctx.opts.classifier is None or ctx.size is None:
        return None
    h, w = get_spec(ctx.opts.classifier).input_size
    if tuple(ctx.size) != (h, w):
        return f"classifier '{ctx.opts.classifier}' takes {h}x{w} images, these are {ctx.size[0]}x{ctx.size[1]}"
    return None


SPEC = MetricSpec(
    "class_acc", higher_is_better=True, inputs=("pixels", "classes"), networks=("classifier",),
    build=ClassifierAccuracy, protocol=_protocol, one_size=True, check=_check,
    columns=(Column("class_acc", "class acc.", True, 1, percent=True),), builtin=True,
    description="accuracy of a fixed classifier of the dataset's classes on the samples (AC-GAN's Inception accuracy)",
)
