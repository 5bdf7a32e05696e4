"""The embedded paired track ``synthetic-streets-edges2photo``: sketches drawn deterministically from the
synthetic-streets photos and label maps (checked pixel by pixel against a plain-Python transcription of the rule),
paired items in both splits, identity and oracle end to end."""

from __future__ import annotations

import json

import numpy as np

from bench.cli import main
from bench.data import get_dataset
from bench.data.edges import THRESHOLD, edge_map

NAME = "synthetic-streets-edges2photo"


def _brute(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """The rule written out pixel by pixel: Sobel on BT.601 luminance (edge-replicated border), or a class change
    with the left / upper neighbour."""
    H, W = label.shape
    lum = [[sum(int(image[y, x, c]) * w for c, w in enumerate((0.299, 0.587, 0.114))) for x in range(W)] for y in range(H)]

    def at(y, x):
        return lum[min(max(y, 0), H - 1)][min(max(x, 0), W - 1)]

    out = np.full((H, W, 3), 255, dtype=np.uint8)
    for y in range(H):
        for x in range(W):
            gx = sum(k * (at(y + dy, x + 1) - at(y + dy, x - 1)) for dy, k in ((-1, 1), (0, 2), (1, 1)))
            gy = sum(k * (at(y + 1, x + dx) - at(y - 1, x + dx)) for dx, k in ((-1, 1), (0, 2), (1, 1)))
            strong = (gx * gx + gy * gy) ** 0.5 > THRESHOLD
            boundary = (x > 0 and label[y, x] != label[y, x - 1]) or (y > 0 and label[y, x] != label[y - 1, x])
            if strong or boundary:
                out[y, x] = 0
    return out


def test_sketch_matches_the_rule_pixel_by_pixel():
    ds = get_dataset(NAME)
    for i in (0, 7):
        image, label, _ = ds.arrays(i)
        sketch = edge_map(image, label)
        want = _brute(image, label)
        # float luminance vs our exact integer one: only a pixel whose magnitude sits within rounding of the
        # threshold could differ
        assert (sketch != want).any(axis=2).sum() <= 2, i
        assert 0.05 < (sketch[..., 0] == 0).mean() < 0.3


def test_items_are_pairs_in_both_splits():
    for split, n in (("val", 100), ("train", 400)):
        ds = get_dataset(NAME, split=split)
        assert len(ds) == n
        item = ds[3]
        image, label, _ = ds.arrays(3)
        assert np.array_equal(item["source"].permute(1, 2, 0).numpy(), edge_map(image, label))
        assert np.array_equal(item["image"].permute(1, 2, 0).numpy(), image)
    assert get_dataset(NAME).fingerprint()["source"] == "edges-v1"


def test_identity_and_oracle_run_end_to_end(tmp_path):
    for method in ("identity", "oracle"):
        assert main(["run", "--method", method, "--dataset", NAME, "--limit", "8", "--partial", "--metrics",
                     "psnr,ssim", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / method)]) == 0
    recs = {r["method"]["name"]: r for r in
            (json.loads(p.read_text()) for p in (tmp_path / "lb" / "results" / NAME).glob("*.json"))}
    assert recs["identity"]["fingerprint"] == recs["oracle"]["fingerprint"]
    assert recs["oracle"]["metrics"]["psnr"] >= 80 and recs["identity"]["metrics"]["psnr"] < 12
