"""`bench eval --mixed-sizes`: each image at its own size (super-resolution test sets such as Set5 and BSD100 hold
images of several sizes). PSNR/SSIM against scikit-image image by image, FID against clean-fid on the same folders
(clean-fid resizes every image on its own), batch-size independence, and the refusals."""

import json

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from bench.cli import main
from bench.errors import BenchError
from bench.evaluate import EvalOptions, evaluate_folders
from conftest import perturb, smooth_images, write_folder

# (height, width) of each real image: several sizes, some repeated, neither order nor size sorted
SIZES = [(48, 64), (64, 64), (40, 56), (48, 64), (72, 48), (64, 64), (56, 40), (40, 56)]


def _mixed(seed: int) -> list[np.ndarray]:
    big = smooth_images(len(SIZES), size=72, seed=seed)
    return [im[:h, :w].copy() for im, (h, w) in zip(big, SIZES)]


@pytest.fixture
def mixed_folders(tmp_path):
    real = _mixed(1)
    fake = [perturb([im], seed=10 + i, amount=25)[0] for i, im in enumerate(real)]
    return (write_folder(tmp_path / "real", real), write_folder(tmp_path / "fake", fake), real, fake)


def test_paired_metrics_image_by_image_and_batch_size_independent(mixed_folders):
    real_dir, fake_dir, real, fake = mixed_folders
    recs = [evaluate_folders(real_dir, fake_dir, opts=EvalOptions(metrics=("psnr", "ssim"), mixed_sizes=True,
                                                                    batch_size=bs, progress=False))
            for bs in (1, 3, 64)]
    ref_psnr = np.mean([peak_signal_noise_ratio(r, f, data_range=255) for r, f in zip(real, fake)])
    # scikit-image with piq's SSIM settings (Gaussian 11x11, sigma 1.5, no downsampling), as tests/test_paired_and_diversity.py
    ref_ssim = np.mean([structural_similarity(r.astype(np.float64), f.astype(np.float64), channel_axis=2,
                                              data_range=255, gaussian_weights=True, sigma=1.5,
                                              use_sample_covariance=False) for r, f in zip(real, fake)])
    for rec in recs:
        assert rec["metrics"]["psnr"] == pytest.approx(ref_psnr, rel=1e-6)  # piq adds 1e-8 to the MSE
        assert rec["metrics"]["ssim"] == pytest.approx(ref_ssim, rel=1e-6)
        assert rec["protocol"]["eval_resolution"] == "native"
        assert rec["inputs"]["distinct_sizes"] == len(set(SIZES))
    assert recs[0]["metrics"] == recs[1]["metrics"] == recs[2]["metrics"]


def test_fid_matches_cleanfid_on_mixed_sizes(mixed_folders):
    import torch
    from cleanfid import fid

    real_dir, fake_dir, _, _ = mixed_folders
    ours = evaluate_folders(real_dir, fake_dir, opts=EvalOptions(metrics=("fid",), mixed_sizes=True,
                                                                  progress=False))["metrics"]["fid"]
    import warnings

    from cleanfid.inception_torchscript import InceptionV3W

    from bench import weights

    path = weights.resolve(weights.INCEPTION_FID.name, download=False).path
    folder = real_dir.parent / "cleanfid"
    folder.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.load(str(path)).net, str(folder / "inception-2015-12-05.pt"))
        model = InceptionV3W(str(folder), download=False).eval()
    ref = fid.compute_fid(str(fake_dir), str(real_dir), mode="clean", custom_feat_extractor=model, num_workers=0,
                          batch_size=1, device=torch.device("cpu"), verbose=False)
    assert ref > 1.0
    assert abs(ours - ref) <= 1e-5 * ref, (ours, ref)


def test_mixed_sizes_are_refused_without_the_flag(mixed_folders):
    real_dir, fake_dir, _, _ = mixed_folders
    with pytest.raises(BenchError, match="must share one size .*--mixed-sizes"):
        evaluate_folders(real_dir, fake_dir, opts=EvalOptions(metrics=("psnr",), progress=False))


def test_a_pair_of_different_sizes_is_named(tmp_path):
    real = _mixed(2)
    fake = [im.copy() for im in real]
    fake[3] = fake[3][:-8]  # one generated image 8 rows short
    real_dir, fake_dir = write_folder(tmp_path / "real", real), write_folder(tmp_path / "fake", fake)
    with pytest.raises(BenchError, match=r"fake image .*0003\.png is 64x40, its real image .*0003\.png 64x48"):
        evaluate_folders(real_dir, fake_dir, opts=EvalOptions(metrics=("psnr",), mixed_sizes=True, progress=False))
    rec = evaluate_folders(real_dir, fake_dir, opts=EvalOptions(candidates=("psnr",), mixed_sizes=True, progress=False))
    assert "psnr" not in rec["metrics"] and "0003.png is 64x40" in rec["unavailable"]["psnr"]


def test_metrics_that_need_one_size_are_unavailable_with_the_reason(tmp_path):
    real = _mixed(3)
    write_folder(tmp_path / "real", real)
    for c, im in enumerate(real):  # two samples per condition: MS-SSIM diversity's input
        write_folder(tmp_path / "fake", perturb([im, im], seed=20 + c, amount=30), [f"{c:04d}/{i}.png" for i in range(2)])
    rec = evaluate_folders(tmp_path / "real", tmp_path / "fake",
                           opts=EvalOptions(candidates=("psnr", "msssim_diversity"), mixed_sizes=True, progress=False))
    assert "psnr" in rec["metrics"]
    assert "one size" in rec["unavailable"]["msssim_diversity"]
    with pytest.raises(BenchError, match="msssim_diversity' cannot be computed: needs every image at one size"):
        evaluate_folders(tmp_path / "real", tmp_path / "fake",
                         opts=EvalOptions(metrics=("msssim_diversity",), mixed_sizes=True, progress=False))


def test_cli_flag(mixed_folders, tmp_path, capsys):
    real_dir, fake_dir, real, fake = mixed_folders
    out = tmp_path / "e.json"
    assert main(["eval", "--real", str(real_dir), "--fake", str(fake_dir), "--metrics", "psnr", "--out", str(out)]) != 0
    assert "--mixed-sizes" in capsys.readouterr().err
    assert main(["eval", "--real", str(real_dir), "--fake", str(fake_dir), "--metrics", "psnr", "--mixed-sizes",
                 "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    ref = np.mean([peak_signal_noise_ratio(r, f, data_range=255) for r, f in zip(real, fake)])
    assert rec["metrics"]["psnr"] == pytest.approx(ref, rel=1e-6)
