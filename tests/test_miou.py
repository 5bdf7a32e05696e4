"""Segmentation score vs a brute-force numpy implementation."""

import numpy as np
import pytest

from bench.errors import BenchError
from bench.metrics.miou import SegmentationScore, confusion_matrix, scores_from_confusion


def brute_force(preds, targets, num_classes, ignore):
    ious, correct, total = [], 0, 0
    for c in range(num_classes):
        inter = union = 0
        for p, t in zip(preds, targets):
            for pv, tv in zip(p.ravel(), t.ravel()):
                if tv == ignore:
                    continue
                inter += pv == c and tv == c
                union += pv == c or tv == c
        ious.append(inter / union if union else np.nan)
    for p, t in zip(preds, targets):
        for pv, tv in zip(p.ravel(), t.ravel()):
            if tv != ignore:
                total += 1
                correct += pv == tv
    return np.nanmean(ious), correct / total, ious


def test_segmentation_score_matches_brute_force():
    rng = np.random.default_rng(0)
    k = 6
    targets = [rng.integers(0, k, (9, 11)) for _ in range(4)]
    for t in targets:
        t[rng.random(t.shape) < 0.2] = 255
    targets[0][targets[0] == 5] = 0  # class 5 absent from some maps
    preds = [np.where(rng.random(t.shape) < 0.6, np.where(t == 255, 0, t), rng.integers(0, k - 1, t.shape))
             for t in targets]
    metric = SegmentationScore(k, 255)
    for p, t in zip(preds, targets):
        metric.update(p, t)
    ours = metric.compute()
    miou, acc, ious = brute_force(preds, targets, k, 255)
    assert ours["miou"] == pytest.approx(miou, rel=1e-12)
    assert ours["pixel_acc"] == pytest.approx(acc, rel=1e-12)
    np.testing.assert_allclose([np.nan if v is None else v for v in ours["per_class_iou"]], ious, rtol=1e-12)


def test_absent_class_is_nan_and_skipped():
    cm = confusion_matrix(np.array([0, 0, 1]), np.array([0, 1, 1]), 3, None)
    s = scores_from_confusion(cm)
    assert s["per_class_iou"][2] is None
    assert s["miou"] == pytest.approx((1 / 2 + 1 / 2) / 2)


def test_label_id_outside_range_names_the_value_and_file():
    with pytest.raises(BenchError, match=r"labels/a.png: label id 7 is outside 0..4"):
        confusion_matrix(np.zeros(3), np.array([0, 7, 255]), 5, 255, where="labels/a.png")
    with pytest.raises(BenchError, match="predicted id 9"):
        confusion_matrix(np.array([0, 9, 1]), np.zeros(3), 5, 255)
