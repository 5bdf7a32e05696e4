"""Segmentation score: confusion matrix -> mIoU, pixel accuracy, per-class IoU, with an ignore index."""

from __future__ import annotations

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import Metric
from bench.metrics.registry import Column, MetricSpec


def confusion_matrix(pred, target, num_classes: int, ignore_index: int | None = 255, *, where: str = "") -> np.ndarray:
    """int64 [C, C] counts, rows = ground truth, columns = prediction; ignored pixels are dropped.

    A ground-truth id outside ``[0, C)`` that is not the ignore index, or a predicted id outside ``[0, C)``,
    raises naming the value (and ``where``, e.g. the file).
    """
    p = np.asarray(pred).reshape(-1).astype(np.int64)
    t = np.asarray(target).reshape(-1).astype(np.int64)
    if p.shape != t.shape:
        raise BenchError(f"{where or 'segmentation'}: prediction has {p.size} pixels, label map {t.size}")
    keep = t != ignore_index if ignore_index is not None else np.ones_like(t, dtype=bool)
    p, t = p[keep], t[keep]
    for name, a in (("label", t), ("predicted", p)):
        bad = (a < 0) | (a >= num_classes)
        if bad.any():
            value = int(a[bad][0])
            raise BenchError(
                f"{where + ': ' if where else ''}{name} id {value} is outside 0..{num_classes - 1}"
                + (f" and is not the ignore index {ignore_index}" if name == "label" else "")
            )
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def scores_from_confusion(cm: np.ndarray) -> dict[str, object]:
    """mIoU over classes present in ground truth or prediction (IoU of absent classes is NaN and skipped)."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, tp / union, np.nan)
    total = cm.sum()
    return {
        "miou": float(np.nanmean(iou)) if np.isfinite(iou).any() else float("nan"),
        "pixel_acc": float(tp.sum() / total) if total else float("nan"),
        "per_class_iou": [None if np.isnan(v) else float(v) for v in iou],
    }


class SegmentationScore(Metric):
    name = "segmentation"
    version = "1"

    def __init__(self, num_classes: int, ignore_index: int | None = 255) -> None:
        self.num_classes, self.ignore_index = num_classes, ignore_index
        super().__init__()
        self.add_sum_state("confusion", (num_classes, num_classes), torch.int64)

    def update(self, pred, target, *, where: str = "") -> None:
        cm = confusion_matrix(pred, target, self.num_classes, self.ignore_index, where=where)
        self._add("confusion", torch.from_numpy(cm))

    def compute(self) -> dict[str, object]:
        return scores_from_confusion(self.state("confusion").numpy())


class SegmenterScore(SegmentationScore):
    """mIoU of a segmenter's prediction on each fake image against the label map of its condition."""

    per_sample_columns = {"iou": "image_miou"}  # each fake image's own mIoU (the per-sample table's column)

    def __init__(self, ctx) -> None:
        self.segmenter = ctx.networks["segmenter"]
        super().__init__(self.segmenter.num_classes, ctx.opts.ignore_index)
        self.add_cat_state("image_miou")

    def update_view(self, view) -> None:
        pred = view.output("segmenter")
        per_image = []
        for i, (label, where) in enumerate(view.labels()):
            cm = confusion_matrix(pred[i].cpu().numpy(), label, self.num_classes, self.ignore_index, where=where)
            self._add("confusion", torch.from_numpy(cm))
            per_image.append(scores_from_confusion(cm)["miou"])
        self._append("image_miou", torch.tensor(per_image, dtype=torch.float64))

    def compute(self) -> dict[str, object]:
        s = super().compute()
        details: dict[str, object] = {"per_class_iou": s["per_class_iou"]}
        if self.segmenter.protocol is not None:
            details["segmenter_protocol"] = self.segmenter.protocol
        return {"miou": s["miou"], "pixel_acc": s["pixel_acc"], "_details": details}


def _protocol(ctx) -> dict[str, object]:
    from bench.protocol import Protocol

    net = ctx.networks.get("segmenter")
    return {"segmenter": ctx.opts.segmenter, "segmenter_sha256": net.sha256 if net else None,
            "segmenter_protocol": Protocol.freeze(net.protocol) if net and net.protocol is not None else None,
            "num_classes": net.num_classes if net else ctx.opts.num_classes, "ignore_index": ctx.opts.ignore_index}


SPEC = MetricSpec(
    "miou", higher_is_better=True, inputs=("labels",), networks=("segmenter",), build=SegmenterScore,
    protocol=_protocol, builtin=True, one_size=True,
    columns=(Column("miou", "mIoU %", True, 1, percent=True), Column("pixel_acc", "acc %", True, 1, percent=True)),
    description="mIoU and pixel accuracy of a fixed segmenter on the fake images against the label maps",
)
