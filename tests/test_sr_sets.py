"""Super-resolution sets as distributed (Set5, Set14, BSD100, Urban100, DIV2K) at native size.

The copies users download cannot be fetched here, so a stand-in is built in each layout from photographs that
scikit-image ships, at sizes that are not multiples of the scale (as Set5's 228x344 woman is not of 3, Set14's
images of 4 or 12), with LR files made by an independent path: BasicSR's imresize values, through our port whose
parity with BasicSR tests/test_sr_conventions.py checks. What is tested here is the plumbing: modcrop, layouts,
LR partners and their check, one size per batch, and that the numbers of `bench run` are those of the images
themselves (psnr_y recomputed directly from the HR files and the written samples)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.errors import BenchError

# (name, height, width): none a multiple of 4 in both sides except one, sizes all different
SHAPES = [("baby", 61, 70), ("bird", 48, 52), ("butterfly", 57, 45), ("head", 50, 63), ("woman", 66, 41)]


def _photo(i: int, h: int, w: int) -> np.ndarray:
    from skimage import data

    src = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket(), data.astronaut()[::-1]][i]
    y, x = 37 * i, 23 * i
    return np.ascontiguousarray(src[y : y + h, x : x + w])


def _lr(hr: np.ndarray) -> np.ndarray:
    from bench.sr_conventions import matlab_imresize, modcrop

    return matlab_imresize(modcrop(hr, 4), 0.25)


def _save(path: Path, a: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)


def make_set(root: Path, layout: str = "edsr", with_lr: bool = True) -> dict[str, np.ndarray]:
    hrs = {}
    for i, (name, h, w) in enumerate(SHAPES):
        hr = _photo(i, h, w)
        hrs[name] = hr
        if layout == "edsr":
            _save(root / "HR" / f"{name}.png", hr)
            if with_lr:
                _save(root / "LR_bicubic" / "X4" / f"{name}x4.png", _lr(hr))
        elif layout == "selfexsr":
            key = f"img_{i + 1:03d}"
            _save(root / "image_SRF_4" / f"{key}_SRF_4_HR.png", hr)
            if with_lr:
                _save(root / "image_SRF_4" / f"{key}_SRF_4_LR.png", _lr(hr))
    return hrs


@pytest.mark.parametrize("layout", ["edsr", "selfexsr"])
def test_native_items_are_modcropped_hr_images(tmp_path, layout):
    from bench.data import get_dataset

    hrs = make_set(tmp_path / "Set5", layout)
    ds = get_dataset("set5", root=tmp_path / "Set5")
    assert ds.resolution is None and len(ds) == 5 and ds.layout == layout
    assert ds.fingerprint()["resolution"] == "native"
    for i, s in enumerate(ds.samples):
        name = s.key if layout == "edsr" else SHAPES[int(s.key[4:]) - 1][0]
        hr = hrs[name]
        img = ds[i]["image"].permute(1, 2, 0).numpy()
        assert img.shape == (hr.shape[0] // 4 * 4, hr.shape[1] // 4 * 4, 3)
        np.testing.assert_array_equal(img, hr[: img.shape[0], : img.shape[1]])


def test_lr_files_that_are_not_our_degradation_are_refused(tmp_path):
    from bench.data import get_dataset
    from bench.data.verify import verify

    hrs = make_set(tmp_path / "Set5")
    rep = verify("set5", tmp_path / "Set5")
    assert rep.ok, rep.splits[0].problems
    assert any("5 LR files as distributed equal our matlab-bicubic x4" in n for n in rep.splits[0].notes)
    # an LR file made another way (PIL's bicubic: a few grey levels off MATLAB's) must not pass
    hr = hrs["bird"][:48, :52]
    pil = np.asarray(Image.fromarray(hr).resize((13, 12), Image.Resampling.BICUBIC))
    _save(tmp_path / "Set5" / "LR_bicubic" / "X4" / "birdx4.png", pil)
    rep = verify("set5", tmp_path / "Set5")
    assert not rep.ok and "birdx4.png: differs from our matlab-bicubic x4 reduction" in rep.splits[0].problems["LR differs"][0]
    ds = get_dataset("set5", root=tmp_path / "Set5", cache=False)
    i = [s.key for s in ds.samples].index("bird")
    with pytest.raises(BenchError, match=r"birdx4\.png: differs from .*max \|difference\| \d+ grey"):
        ds[i]


def test_partial_lr_folder_is_refused_and_no_lr_folder_is_fine(tmp_path):
    from bench.data import get_dataset

    make_set(tmp_path / "Set5")
    (tmp_path / "Set5" / "LR_bicubic" / "X4" / "headx4.png").unlink()
    with pytest.raises(BenchError, match=r"head\.png: no LR partner .*1 of 5"):
        get_dataset("set5", root=tmp_path / "Set5")
    make_set(tmp_path / "hr-only", with_lr=False)
    assert len(get_dataset("set5", root=tmp_path / "hr-only")) == 5


def test_bench_run_at_native_size_scores_the_images_themselves(tmp_path):
    """bicubic on the stand-in Set5: one size per batch, outputs at each image's size, psnr_y recomputed from the
    files equals the record's; the leaderboard protocol says native."""
    from bench.runner import RunSpec, run
    from bench.sr_conventions import psnr_y

    hrs = make_set(tmp_path / "Set5")
    rec = run(RunSpec(method="bicubic", dataset="set5", root=str(tmp_path / "Set5"), out=str(tmp_path / "runs"),
                      results=str(tmp_path / "results"), batch_size=4, progress=False,
                      metrics=("psnr_y", "ssim_y", "psnr")))
    assert rec["dataset"]["resolution"] == "native" and rec["protocol"]["eval_resolution"] == "native"
    run_dir = tmp_path / "runs"  # --out is the run folder itself
    values = []
    for name, hr in hrs.items():
        fake = np.asarray(Image.open(run_dir / "fake" / f"{name}.png"))
        real = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
        assert fake.shape == real.shape
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]  # noqa: E731
        values.append(float(psnr_y(t(fake), t(real), 4)[0]))
    assert rec["metrics"]["psnr_y"] == pytest.approx(np.mean(values), rel=1e-12)
    assert 15 < rec["metrics"]["psnr_y"] < 40  # bicubic x4 on photographs: tens of dB, not 80 (identical) or ~5
    saved = json.loads(Path(rec["_path"]).read_text())
    assert saved["dataset"]["resolution"] == "native"


def test_bench_eval_crop_border_gives_the_run_s_y_channel_numbers(tmp_path):
    """`bench eval --mixed-sizes --crop-border 4` on a run's folders (the way a user scores SR outputs of their own)
    gives the numbers `bench run` gave: the same crop, recorded in the protocol."""
    from bench.cli import main
    from bench.runner import RunSpec, run

    make_set(tmp_path / "Set5")
    rec = run(RunSpec(method="bicubic", dataset="set5", root=str(tmp_path / "Set5"), out=str(tmp_path / "runs"),
                      results=str(tmp_path / "results"), progress=False, metrics=("psnr_y", "ssim_y")))
    real = Path(json.loads((tmp_path / "runs" / "evaluation.json").read_text())["inputs"]["real"]["dir"])
    out = tmp_path / "e.json"
    assert main(["eval", "--real", str(real), "--fake", str(tmp_path / "runs" / "fake"), "--mixed-sizes",
                 "--crop-border", "4", "--metrics", "psnr_y,ssim_y", "--out", str(out)]) == 0
    ev = json.loads(out.read_text())
    assert ev["metrics"]["psnr_y"] == pytest.approx(rec["metrics"]["psnr_y"], rel=1e-15)
    assert ev["metrics"]["ssim_y"] == pytest.approx(rec["metrics"]["ssim_y"], rel=1e-15)
    assert ev["protocol"]["y_channel"] == rec["protocol"]["y_channel"]
    assert dict(ev["protocol"]["y_channel"])["crop_border"] == "4"
    assert main(["eval", "--real", str(real), "--fake", str(tmp_path / "runs" / "fake"), "--mixed-sizes",
                 "--metrics", "psnr_y", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["metrics"]["psnr_y"] != rec["metrics"]["psnr_y"]  # crop 0: other pixels
