"""Paired A|B sets as pix2pix distributes them (edges2shoes: one 512x256 JPEG per pair, edge map left, photo right),
on a stand-in copy under the distributed names (the real archive cannot be downloaded here: scikit-image's
photographs as the shoes, their Sobel edges as the edge maps). The identity baseline's PSNR is recomputed in numpy
from the halves; pix2pix and DSGAN train and generate on the paired batch (``source``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.data import get_dataset

NAME = "edges2shoes"


def _pair(i: int) -> np.ndarray:
    from skimage import data, filters

    srcs = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    s = srcs[i % len(srcs)]
    y, x = (13 * i) % (s.shape[0] - 256 + 1), (31 * i) % (s.shape[1] - 256 + 1)
    photo = np.ascontiguousarray(s[y : y + 256, x : x + 256])
    edges = filters.sobel(photo.mean(2) / 255.0)
    edge_img = np.repeat((255 - np.clip(edges * 4 * 255, 0, 255)).astype(np.uint8)[..., None], 3, 2)  # dark on white
    return np.concatenate([edge_img, photo], axis=1)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2s") / "edges2shoes"
    for split, n in (("val", 200), ("train", 6)):
        (root / split).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(_pair(i + (0 if split == "val" else 500))).save(root / split / f"{i + 1}_AB.jpg", quality=95)
    return root


def _halves(path: Path, size: int) -> tuple[np.ndarray, np.ndarray]:
    ab = Image.open(path).convert("RGB")
    a, b = ab.crop((0, 0, 256, 256)), ab.crop((256, 0, 512, 256))
    return (np.asarray(a.resize((size, size), Image.BICUBIC)), np.asarray(b.resize((size, size), Image.BICUBIC)))


def test_items_hold_the_left_half_as_source_and_the_right_half_as_image(root):
    ds = get_dataset(NAME, root=root, resolution=64)
    keys = [s.key for s in ds.samples]  # sorted by name, as pix2pix's make_dataset lists them
    assert ds.split == "val" and len(ds) == 200 and keys == sorted(f"{i}_AB" for i in range(1, 201))
    item = ds[5]
    a, b = _halves(ds.samples[5].image, 64)
    assert np.array_equal(item["source"].permute(1, 2, 0).numpy(), a)
    assert np.array_equal(item["image"].permute(1, 2, 0).numpy(), b)


def test_identity_psnr_is_the_halves_psnr(root, tmp_path):
    assert main(["run", "--method", "identity", "--dataset", NAME, "--root", str(root), "--resolution", "64x64",
                 "--metrics", "psnr,ssim", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) == 0
    rec = json.loads(next((tmp_path / "lb" / "results" / NAME).glob("*.json")).read_text())
    assert rec["dataset"]["n"] == 200 and rec["dataset"]["partial"] is False and rec["dataset"]["task"] == "paired"
    values = []
    for i in range(200):
        a, b = (h.astype(np.float64) / 255 for h in _halves(root / "val" / f"{i + 1}_AB.jpg", 64))
        values.append(-10 * np.log10(((a - b) ** 2).mean() + 1e-8))  # piq's epsilon, as the psnr metric
    assert rec["metrics"]["psnr"] == pytest.approx(np.mean(values), rel=1e-6)
    assert dict(rec["protocol"])["label_encoding"] == "index-png"  # not facades' colour decoding


@pytest.mark.parametrize("method", ["pix2pix", "dsgan"])
def test_pix2pix_and_dsgan_train_and_generate_on_the_source_image(root, tmp_path, method):
    assert main(["run", "--method", method, "--config", "mini", "--train", "--train-steps", "2", "--dataset", NAME,
                 "--root", str(root), "--resolution", "64x64", "--limit", "4", "--metrics", "psnr",
                 "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) == 0
    rec = json.loads(next((tmp_path / "lb" / "results" / NAME).glob("*.json")).read_text())
    assert rec["method"]["trained"] and rec["dataset"]["n"] == 4 and np.isfinite(rec["metrics"]["psnr"])
    fakes = sorted((tmp_path / "run" / "fake").glob("*.png"))
    assert len(fakes) == 4 and np.asarray(Image.open(fakes[0])).shape == (64, 64, 3)


def test_a_file_that_is_not_two_halves_is_refused(tmp_path, capsys):
    (tmp_path / "val").mkdir()
    Image.fromarray(np.zeros((256, 511, 3), dtype=np.uint8)).save(tmp_path / "val" / "1_AB.jpg")
    assert main(["run", "--method", "identity", "--dataset", NAME, "--root", str(tmp_path), "--partial",
                 "--metrics", "psnr", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) != 0
    err = capsys.readouterr().err
    assert "1_AB.jpg" in err and "width 511 is odd" in err


def test_verify_counts_and_sizes(root, tmp_path):
    from bench.data.verify import verify

    rep = {s.split: s for s in verify(NAME, root).splits}
    assert rep["val"].ok and rep["val"].found == 200
    assert not rep["train"].ok and "49819 of the 49825" in str(rep["train"].problems)
    (tmp_path / "val").mkdir()
    Image.fromarray(np.zeros((256, 256, 3), dtype=np.uint8)).save(tmp_path / "val" / "1_AB.jpg")
    bad = {s.split: s for s in verify(NAME, tmp_path).splits}["val"]
    assert "wrong size" in bad.problems and "odd" not in str(bad.problems)
