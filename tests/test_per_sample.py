"""The per-sample table (`bench eval --per-sample`, `bench run`'s <record>.samples.parquet) against independent
per-image computations: scikit-image's PSNR, piq's SSIM in float64, and a brute-force per-image mIoU."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from PIL import Image

from conftest import smooth_images
from bench.evaluate import EvalOptions, evaluate_folders


@pytest.fixture
def folders(tmp_path):
    real, fake, labels = tmp_path / "real", tmp_path / "fake", tmp_path / "labels"
    for d in (real, fake, labels):
        d.mkdir()
    reals, fakes = smooth_images(6, 48, seed=1), smooth_images(6, 48, seed=2)
    rng = np.random.default_rng(3)
    for i in range(6):
        Image.fromarray(reals[i]).save(real / f"{i:04d}.png")
        (fake / f"{i:04d}").mkdir()
        for k in range(2):  # two samples per condition: the table keeps each
            noisy = np.clip(fakes[i].astype(int) + rng.integers(-30, 30, fakes[i].shape), 0, 255).astype(np.uint8)
            Image.fromarray(noisy).save(fake / f"{i:04d}" / f"{k}.png")
        pred = fakes[i][:, :, 0].astype(np.int64) // 64
        lab = np.where(rng.random(pred.shape) < 0.6, pred, rng.integers(0, 4, pred.shape)).astype(np.uint8)
        lab[:2] = 255
        Image.fromarray(lab).save(labels / f"{i:04d}.png")
    return real, fake, labels


def _brute_miou(pred: np.ndarray, target: np.ndarray, classes: int = 4) -> float:
    keep = target != 255
    ious = []
    for c in range(classes):
        union = (((pred == c) | (target == c)) & keep).sum()
        if union:
            ious.append((((pred == c) & (target == c)) & keep).sum() / union)
    return float(np.mean(ious))


def test_per_sample_values_match_independent_per_image_metrics(folders, tmp_path):
    import piq
    from skimage.metrics import peak_signal_noise_ratio

    real, fake, labels = folders
    out = tmp_path / "samples.parquet"
    rec = evaluate_folders(real, fake, labels, EvalOptions(
        metrics=("psnr", "ssim", "miou"), segmenter="test_bad_input:FourClassSegmenter", progress=False,
        per_sample_path=out))
    df = pl.read_parquet(out)
    assert set(df.columns) == {"file", "condition", "sample", "iou", "psnr", "ssim"}
    assert df.height == 12
    assert df["file"].to_list() == [f"{i:04d}/{k}.png" for i in range(6) for k in range(2)]
    assert df["sample"].to_list() == [0, 1] * 6 and df["condition"].to_list()[:2] == ["0000", "0000"]
    for row in df.iter_rows(named=True):
        f = np.array(Image.open(fake / row["file"]))
        r = np.array(Image.open(real / f"{row['condition']}.png"))
        # scikit-image has no epsilon in the MSE (piq's 1e-8 on [0, 1] images): 1e-6 dB apart at these errors
        assert row["psnr"] == pytest.approx(peak_signal_noise_ratio(r, f, data_range=255), abs=1e-6)
        ft = torch.from_numpy(f).permute(2, 0, 1)[None].double() / 255
        rt = torch.from_numpy(r).permute(2, 0, 1)[None].double() / 255
        assert row["ssim"] == pytest.approx(float(piq.ssim(ft, rt, data_range=1.0, downsample=False)), abs=1e-10)
        target = np.asarray(Image.open(labels / f"{row['condition']}.png")).astype(np.int64)
        assert row["iou"] == pytest.approx(_brute_miou(f[:, :, 0].astype(np.int64) // 64, target), abs=1e-12)
    # the record's means are the table's
    assert rec["metrics"]["psnr"] == pytest.approx(df["psnr"].mean(), rel=1e-12)
    assert rec["metrics"]["ssim"] == pytest.approx(df["ssim"].mean(), rel=1e-12)


def test_per_sample_table_does_not_depend_on_batch_size(folders, tmp_path):
    real, fake, _ = folders
    tables = []
    for bs in (1, 4, 64):
        out = tmp_path / f"b{bs}.parquet"
        evaluate_folders(real, fake, None, EvalOptions(metrics=("psnr", "ssim"), batch_size=bs, progress=False,
                                                       per_sample_path=out))
        tables.append(pl.read_parquet(out))
    assert tables[0].equals(tables[1]) and tables[0].equals(tables[2])


def test_no_table_without_per_sample_metrics(folders, tmp_path):
    from bench.cli import main

    real, fake, _ = folders
    out = tmp_path / "s.parquet"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "psnr", "--per-sample", str(out),
                 "--out", str(tmp_path / "e.json")]) == 0
    assert pl.read_parquet(out).columns == ["file", "condition", "sample", "psnr"]


def test_worst_samples_are_the_worst_condition_scores(tmp_path):
    """bench run's worst strip: each condition's worst sample, the worst conditions first (ties by key), LPIPS
    first (higher is worse), else PSNR (lower is worse); NaN rows never ranked."""
    from bench.fileio import atomic_write_bytes
    from bench.fileio import frame_bytes
    from bench.runner import worst_samples

    rng = np.random.default_rng(0)
    n = 9
    frame = pl.DataFrame({"file": [f"{i}/{k}.png" for i in range(n) for k in range(2)],
                          "condition": [f"{i}" for i in range(n) for _ in range(2)],
                          "sample": [k for _ in range(n) for k in range(2)],
                          "psnr": rng.uniform(10, 30, 2 * n), "lpips": rng.uniform(0, 1, 2 * n)})
    frame = frame.with_columns(pl.when(pl.col("condition") == "3").then(float("nan")).otherwise(pl.col("lpips"))
                               .alias("lpips"))
    path = tmp_path / "t.parquet"
    atomic_write_bytes(path, frame_bytes(frame, ".parquet"))
    got = worst_samples(path)
    rows = [r for r in frame.iter_rows(named=True) if r["condition"] != "3"]
    worst = {}
    for r in rows:
        if r["condition"] not in worst or r["lpips"] > worst[r["condition"]]["lpips"]:
            worst[r["condition"]] = r
    expect = sorted(worst.values(), key=lambda r: (-r["lpips"], r["condition"]))[:4]
    assert got == {"metric": "lpips", "higher_is_better": False, "conditions": [r["condition"] for r in expect],
                   "samples": [r["sample"] for r in expect]}
    atomic_write_bytes(path, frame_bytes(frame.drop("lpips"), ".parquet"))
    got = worst_samples(path)
    assert got["metric"] == "psnr" and got["higher_is_better"] is True
    lowest = frame.sort("psnr")["condition"][0]
    assert got["conditions"][0] == lowest
