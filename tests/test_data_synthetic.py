"""synthetic-streets: deterministic, every class used, photos predictable from labels but not one-to-one."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from bench.data import get_dataset, load_card
from bench.data import synthetic as S


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The default-seed 64x64 dataset generated twice into two caches (timed), and seed 1 once."""
    import os

    old = os.environ.get("BENCH_CACHE_DIR")
    out = {}
    try:
        for tag, seed in (("a", None), ("b", None), ("other", 1)):
            os.environ["BENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp(f"cache-{tag}"))
            t0 = time.perf_counter()
            out[tag] = (S.ensure(seed, (64, 64)), time.perf_counter() - t0)
    finally:
        if old is None:
            os.environ.pop("BENCH_CACHE_DIR", None)
        else:
            os.environ["BENCH_CACHE_DIR"] = old
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.png"))}


def test_same_seed_is_byte_identical_and_matches_committed_manifest(generated):
    a, b = generated["a"][0], generated["b"][0]
    fa, fb = _files(a), _files(b)
    assert len(fa) == 3 * 500 and fa == fb
    card = load_card("synthetic-streets")
    for split in ("train", "val"):
        committed = json.loads((card.path.parent / f"{split}-64x64.manifest.json").read_text())
        generated_m = json.loads((a / f"{split}.manifest.json").read_text())
        assert generated_m["files"] == committed["files"]
    assert generated["a"][1] < 60, f"generation took {generated['a'][1]:.1f}s"


def test_other_seed_differs(generated):
    fa, fo = _files(generated["a"][0]), _files(generated["other"][0])
    assert fa.keys() == fo.keys()
    same = sum(fa[k] == fo[k] for k in fa)
    assert same == 0


def test_pixels_match_manifest_hashes_after_png_roundtrip(generated):
    root = generated["a"][0]
    m = json.loads((root / "val.manifest.json").read_text())
    ds = get_dataset("synthetic-streets", root=root, split="val")
    img, lab, inst = ds.arrays(3)
    f = m["files"][3]
    assert S.pixels_sha256(img) == f["image"]
    assert S.pixels_sha256(lab.astype(np.uint8)) == f["label"]
    assert S.pixels_sha256(inst.astype("<u2")) == f["instance"]


def _load_all(root: Path, split: str = "train", n: int = 120):
    ds = get_dataset("synthetic-streets", root=root, split=split)
    out = [ds.arrays(i) for i in range(min(n, len(ds)))]
    return ds, out


def test_every_class_in_every_map_and_instances(generated):
    ds, items = _load_all(generated["a"][0], "val", 100)
    assert len(ds) == 100 and ds.num_classes == 8
    for img, lab, inst in items:
        assert set(np.unique(lab)) == set(range(8))
        # cars and people are instances class*1000+k; stuff carries its class id
        objects = inst >= 1000
        assert set(np.unique(inst[objects] // 1000)) <= {S.CAR, S.PERSON}
        assert (lab[objects] == inst[objects] // 1000).all()
        assert (inst[~objects] == lab[~objects]).all()


def test_photos_are_predictable_from_labels(generated):
    """Per-region colour statistics separate the classes, and painting class means beats ignoring the map."""
    _, items = _load_all(generated["a"][0], "train", 120)
    feats, ys = [], []
    for img, lab, _ in items:
        for c in range(8):
            m = lab == c
            px = img[m].astype(np.float64)
            feats.append(np.concatenate([px.mean(0), px.std(0)]))
            ys.append(c)
    feats, ys = np.array(feats), np.array(ys)
    train, test = np.arange(len(ys)) < 8 * 60, np.arange(len(ys)) >= 8 * 60
    centroids = np.stack([feats[train & (ys == c)].mean(0) for c in range(8)])
    scale = feats[train].std(0) + 1e-6
    d = (((feats[test][:, None, :] - centroids[None]) / scale) ** 2).sum(-1)
    pred = d.argmin(1)
    acc = float((pred == ys[test]).mean())
    assert acc > 0.7, acc  # chance is 1/8; cars and people (free paint/clothing colours) are the usual confusion
    recall = [float((pred[ys[test] == c] == c).mean()) for c in range(8)]
    assert min(recall) > 0.35, recall

    # a "generator" painting each class's mean colour vs one that ignores the label map (global mean image)
    class_mean = np.stack([np.concatenate([img[lab == c] for img, lab, _ in items[:60]]).mean(0) for c in range(8)])
    global_mean = np.mean([img.reshape(-1, 3).mean(0) for img, _, _ in items[:60]], axis=0)
    err_label = np.mean([np.abs(class_mean[lab] - img).mean() for img, lab, _ in items[60:]])
    err_blind = np.mean([np.abs(global_mean - img).mean() for img, _, _ in items[60:]])
    assert err_label < 0.75 * err_blind, (err_label, err_blind)


def test_one_label_map_has_many_photos():
    label, inst = S.make_layout(0, "val", 0, (64, 64))
    photos = [S.render(label, inst, seed) for seed in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert np.abs(photos[i].astype(int) - photos[j].astype(int)).mean() > 8
    assert np.array_equal(S.render(label, inst, 2), photos[2])  # but a seed fixes the photo


def test_higher_resolution_same_scene():
    lab64, _ = S.make_layout(0, "val", 5, (64, 64))
    lab256, inst256 = S.make_layout(0, "val", 5, (256, 256))
    assert lab256.shape == (256, 256) and inst256.dtype == np.uint16
    agree = (lab256[2::4, 2::4] == lab64).mean()  # pixel centres of the 64 grid
    assert agree > 0.95
    img = S.render(lab256, inst256, 0)
    assert img.shape == (256, 256, 3) and img.dtype == np.uint8


def test_default_dataset_batches():
    ds = get_dataset()  # default: synthetic-streets, eval split, 64x64, generated into the test's cache dir
    assert ds.card.name == "synthetic-streets" and ds.split == "val" and ds.resolution == (64, 64)
    b = next(iter(ds.loader(batch_size=5)))
    assert b["label"].shape == (5, 1, 64, 64) and str(b["label"].dtype) == "torch.int64"
    assert b["instance"].shape == (5, 1, 64, 64) and str(b["instance"].dtype) == "torch.int64"
    assert b["image"].shape == (5, 3, 64, 64) and str(b["image"].dtype) == "torch.uint8"
    assert len(b["path"]) == 5 and b["path"][0].endswith("val_img/0000.png")
    assert (ds.to_segmenter(b["label"]) == b["label"]).all()
    assert ds.fingerprint()["card"] == "synthetic-streets@1"


def test_resolution_not_generated_raises():
    from bench.errors import BenchError

    with pytest.raises(BenchError, match="128x128"):
        get_dataset("synthetic-streets", resolution="128x128")
