"""The super-resolution conventions (bench/sr_conventions.py) against BasicSR 1.4.2, value for value, on crops of
photographs scikit-image ships; the `matlab-bicubic` degradation; the psnr_y / ssim_y metrics through the evaluator.

Every expected number was computed by BasicSR's own functions (tests/fixtures/basicsr/make_fixtures.py, run in a
separate venv: basicsr is not a dependency; PROVENANCE.md there). Measured gaps and their causes:
- imresize, float: BasicSR computes weights and sums in float32, we in float64: at most 4.0e-5 grey levels apart on
  the 0..255 scale (tolerance 1e-4).
- imresize, uint8: MATLAB rounds to uint8 after each axis pass (its imresizemex returns the input's class); BasicSR
  never rounds. Against BasicSR's weights applied axis by axis with that rounding (the fixture's `lr_x*_uint8`) we are
  identical on every pixel; against BasicSR's float result rounded once, 9-15 % of the values differ by exactly 1.
- PSNR-Y / SSIM-Y: BasicSR's to_y_channel rounds Y to float32; we keep float64. At most 4.7e-7 dB and 1.5e-8 apart
  (tolerances 1e-6 dB, 1e-7); with Y rounded to float32 the way BasicSR does, both agree to 1e-10.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.sr_conventions import (matlab_imresize, modcrop, psnr_planes, psnr_y, rgb2ycbcr_y, ssim_planes,
                                  ssim_y)

FIXTURES = Path(__file__).parent / "fixtures" / "basicsr"
NAMES = ("astronaut", "chelsea", "coffee")
SCALES = (2, 3, 4)


@pytest.fixture(scope="module")
def fx():
    with np.load(FIXTURES / "sr_conventions.npz") as z:
        arrays = {k: z[k] for k in z.files}
    return arrays, json.loads((FIXTURES / "sr_conventions.json").read_text())


def _nchw(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].contiguous()


def _round_matlab(x: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(x, 0, 255) + 0.5).astype(np.uint8)


# --- modcrop, imresize -------------------------------------------------------------------------------------------

def test_modcrop_matches_basicsr_shapes_numpy_and_torch(fx):
    arrays, values = fx
    for name in NAMES:
        hr = arrays[f"{name}/hr"]
        for s in SCALES:
            want = tuple(values["images"][name][f"modcrop_x{s}_shape"])
            got = modcrop(hr, s)
            assert got.shape == want and np.array_equal(got, hr[: want[0], : want[1]])  # top-left, as BasicSR
            assert tuple(modcrop(_nchw(hr), s).shape[-2:]) == want[:2]
    with pytest.raises(ValueError, match="scale"):
        modcrop(hr, 0)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("s", SCALES)
def test_imresize_float_matches_basicsr(fx, name, s):
    arrays, _ = fx
    hr_s = modcrop(arrays[f"{name}/hr"], s)
    got = matlab_imresize(hr_s.astype(np.float64), 1 / s)
    want = arrays[f"{name}/lr_x{s}_float32"]
    assert got.dtype == np.float64 and got.shape == want.shape
    # BasicSR works in float32 (measured: at most 4.0e-5 on this 0..255 data)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)


def test_imresize_from_a_float_image_and_upscale_match_basicsr(fx):
    arrays, values = fx
    hr_s = modcrop(arrays["astronaut/hr"], 3)
    got = matlab_imresize(hr_s / 255.0, 1 / 3)  # float [0, 1] in -> float out
    np.testing.assert_allclose(got, arrays["astronaut/lr_x3_from_float_float32"], rtol=0, atol=1e-6)
    r0, r1, c0, c1 = values["images"]["chelsea"]["up_x4_window"]
    lr = arrays["chelsea/lr_x4_uint8"][r0:r1, c0:c1]
    up = matlab_imresize(lr.astype(np.float64), 4)
    want = arrays["chelsea/up_x4_window_float32"]
    assert up.shape == want.shape == (4 * (r1 - r0), 4 * (c1 - c0), 3)
    np.testing.assert_allclose(up, want, rtol=0, atol=1e-4)  # measured 2.9e-5
    # the cubic kernel's negative lobes overshoot a 0 -> 255 step: floats keep it (MATLAB on doubles), uint8 saturates
    step = np.repeat(np.repeat(np.array([[0.0, 255.0]]), 2, axis=1), 4, axis=0)
    assert matlab_imresize(step, 2).min() < 0 < 255 < matlab_imresize(step, 2).max()
    assert matlab_imresize(step.astype(np.uint8), 2).min() == 0


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("s", SCALES)
def test_imresize_uint8_is_matlab_rounded_per_pass(fx, name, s):
    arrays, _ = fx
    hr_s = modcrop(arrays[f"{name}/hr"], s)
    got = matlab_imresize(hr_s, 1 / s)
    assert got.dtype == np.uint8
    # BasicSR's weights and indices applied axis by axis with MATLAB's uint8 rounding after each: identical
    np.testing.assert_array_equal(got, arrays[f"{name}/lr_x{s}_uint8"])
    # BasicSR's own (float, unrounded) result rounded once: within one grey level everywhere, and our float path
    # rounded once agrees with it on every value (so the 1-level differences are the per-pass rounding alone)
    once = _round_matlab(arrays[f"{name}/lr_x{s}_float32"])
    diff = np.abs(got.astype(np.int64) - once)
    assert diff.max() == 1 and 0.05 < (diff > 0).mean() < 0.25
    np.testing.assert_array_equal(_round_matlab(matlab_imresize(hr_s.astype(np.float64), 1 / s)), once)


def test_imresize_torch_batches_and_sizes(fx):
    arrays, _ = fx
    hr = modcrop(arrays["coffee/hr"], 4)
    batch = torch.cat([_nchw(hr), _nchw(hr[::-1].copy())])
    out = matlab_imresize(batch, 0.25)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (2, 3, 17, 17)
    np.testing.assert_array_equal(out[0].permute(1, 2, 0).numpy(), arrays["coffee/lr_x4_uint8"])
    # an explicit size equals the scale that gives it; MATLAB's output size is ceil(scale * size)
    np.testing.assert_array_equal(matlab_imresize(hr, (17, 17)), arrays["coffee/lr_x4_uint8"])
    assert matlab_imresize(arrays["astronaut/hr"], 1 / 3).shape == (22, 28, 3)
    with pytest.raises(ValueError, match="uint8 or floating"):
        matlab_imresize(hr.astype(np.int32), 0.5)


def test_degrade_matlab_bicubic_equals_the_fixture_and_pil_bicubic_is_unchanged(fx):
    from bench.tasks.common import resize_uint8
    from bench.tasks.super_resolution import DEGRADATIONS, degrade

    arrays, _ = fx
    assert "matlab-bicubic" in DEGRADATIONS and "pil-bicubic" in DEGRADATIONS
    for name in NAMES:
        hr = _nchw(arrays[f"{name}/hr"])
        for s in SCALES:
            lr = degrade(torch.cat([hr, hr]), s, "matlab-bicubic")
            assert lr.dtype == torch.uint8
            for row in lr:  # modcropped, then MATLAB's imresize: BasicSR's weights with per-pass rounding
                np.testing.assert_array_equal(row.permute(1, 2, 0).numpy(), arrays[f"{name}/lr_x{s}_uint8"])
    hr = _nchw(modcrop(arrays["chelsea/hr"], 4))
    assert torch.equal(degrade(hr, 4, "pil-bicubic"), resize_uint8(hr, (18, 24), "bicubic"))
    assert not torch.equal(degrade(hr, 4, "pil-bicubic"), degrade(hr, 4, "matlab-bicubic"))


# --- Y channel, PSNR, SSIM ---------------------------------------------------------------------------------------

def test_y_channel_matches_basicsr_rgb2ycbcr(fx):
    arrays, _ = fx
    # float32 [0, 1] in BasicSR; measured 4.6e-8 apart on the [0, 1] scale
    np.testing.assert_allclose(rgb2ycbcr_y(arrays["coffee/hr"]) / 255, arrays["coffee/y_float32"], rtol=0, atol=2e-7)
    for name in NAMES:
        hr = arrays[f"{name}/hr"]
        y = rgb2ycbcr_y(hr)
        assert 16 <= y.min() and y.max() <= 235
        np.testing.assert_array_equal(np.round(y).astype(np.uint8), arrays[f"{name}/y_uint8"])  # uint8 in BasicSR
        np.testing.assert_array_equal(rgb2ycbcr_y(_nchw(hr))[0].numpy(), y)
        np.testing.assert_allclose(rgb2ycbcr_y(hr / 255.0), y, rtol=0, atol=1e-12)  # float input is [0, 1]


def _pair(arrays, key):
    name, what = key.split("/")
    real = arrays[f"{name}/hr"]
    if what.startswith("sr_x"):
        return arrays[key], modcrop(real, int(what[4:]))
    return (arrays[key], real) if what == "noisy" else (real, real)


def _keys(values):
    return [k for k in values["psnr_y"]]


def test_psnr_y_and_ssim_y_match_basicsr(fx):
    arrays, values = fx
    worst = {"psnr": 0.0, "ssim": 0.0}
    for k in _keys(values):
        key, crop = k.split("@")
        fake, real = _pair(arrays, key)
        want_p, want_s = values["psnr_y"][k], values["ssim_y"][k]
        got_p, got_s = psnr_y(fake, real, int(crop)), ssim_y(fake, real, int(crop))
        if math.isinf(want_p):
            assert math.isinf(got_p) and got_p > 0, k  # identical images: inf, as BasicSR (no epsilon)
        else:
            assert got_p == pytest.approx(want_p, abs=1e-6), k
            worst["psnr"] = max(worst["psnr"], abs(got_p - want_p))
        assert got_s == pytest.approx(want_s, abs=1e-7), k
        worst["ssim"] = max(worst["ssim"], abs(got_s - want_s))
        # the torch batch path (what the metrics call) gives the numpy path's values
        tp = psnr_y(torch.cat([_nchw(fake)] * 2), torch.cat([_nchw(real)] * 2), int(crop))
        ts = ssim_y(torch.cat([_nchw(fake)] * 2), torch.cat([_nchw(real)] * 2), int(crop))
        assert tp.dtype == ts.dtype == torch.float64 and tp.shape == ts.shape == (2,)
        assert tp.tolist() == pytest.approx([got_p] * 2, rel=1e-13)
        assert ts.tolist() == pytest.approx([got_s] * 2, abs=1e-13)
    assert worst["psnr"] > 0  # the float32 gap exists (see the next test): the comparison is not vacuous


def _basicsr_float32_y(img: np.ndarray) -> np.ndarray:
    """Y as BasicSR's to_y_channel leaves it: float32 input / 255, BT.601 dot in float64, back to float32, * 255."""
    x = img.astype(np.float32) / np.float32(255.0)
    y = ((np.dot(x, [65.481, 128.553, 24.966]) + 16.0) / 255.0).astype(np.float32)
    return (y * np.float32(255.0)).astype(np.float64)


def test_the_gap_to_basicsr_is_its_float32_y_channel(fx):
    arrays, values = fx
    for k in _keys(values):
        key, crop = k.split("@")
        c = int(crop)
        fake, real = _pair(arrays, key)
        if math.isinf(values["psnr_y"][k]):
            continue
        yf, yr = _basicsr_float32_y(fake), _basicsr_float32_y(real)
        if c:
            yf, yr = yf[c:-c, c:-c], yr[c:-c, c:-c]
        assert psnr_planes(yf, yr) == pytest.approx(values["psnr_y"][k], abs=1e-10), k
        assert ssim_planes(yf, yr) == pytest.approx(values["ssim_y"][k], abs=1e-10), k


def test_bad_inputs_raise_clearly(fx):
    arrays, _ = fx
    hr = arrays["chelsea/hr"]
    with pytest.raises(ValueError, match="shapes differ"):
        psnr_y(hr, hr[1:], 0)
    with pytest.raises(ValueError, match="crop_border"):
        psnr_y(hr, hr, -1)
    with pytest.raises(ValueError, match="leaves no pixel"):
        psnr_y(hr, hr, 48)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim_y(hr[:30, :30], hr[:30, :30], 10)


# --- the metrics through the evaluator ---------------------------------------------------------------------------

def test_registry_task_and_protocol_field():
    from bench.metrics import registry
    from bench.tasks import get_task

    assert {"psnr_y", "ssim_y"} <= set(registry.names())
    sr = get_task("super-resolution")
    assert {"psnr_y", "ssim_y", "psnr"} <= set(sr.metrics) and {"psnr_y", "ssim_y", "psnr"} <= set(sr.columns)
    cols = registry.leaderboard_columns()
    assert cols["psnr_y"].higher_is_better and cols["ssim_y"].higher_is_better


def _sr_fields(scale: int) -> dict:
    from bench.protocol import Protocol

    return {"task": Protocol.freeze({"name": "super-resolution", "scale": scale, "degradation": "matlab-bicubic"})}


@pytest.fixture(scope="module")
def photo_folders(fx, tmp_path_factory):
    """real/: the three HR crops (three sizes); fake/: their noisy copies."""
    from conftest import write_folder

    arrays, _ = fx
    root = tmp_path_factory.mktemp("sr")
    names = [f"{n}.png" for n in NAMES]
    real = write_folder(root / "real", [arrays[f"{n}/hr"] for n in NAMES], names)
    fake = write_folder(root / "fake", [arrays[f"{n}/noisy"] for n in NAMES], names)
    return real, fake


@pytest.mark.parametrize("scale", [None, 2, 4])
def test_evaluator_psnr_y_ssim_y_equal_basicsr_means_with_the_task_crop(fx, photo_folders, scale):
    """`bench eval` on two folders: crop 0 (recorded); a super-resolution evaluation (what `bench run` passes): crop
    = the task's scale. Means of BasicSR's per-image values; the crop is in the fingerprinted protocol."""
    from bench.evaluate import EvalOptions, evaluate_folders

    _, values = fx
    real, fake = photo_folders
    fields = _sr_fields(scale) if scale else {}
    rec = evaluate_folders(real, fake, opts=EvalOptions(metrics=("psnr_y", "ssim_y"), mixed_sizes=True,
                                                        protocol_fields=fields, progress=False, batch_size=2))
    crop = scale or 0
    for metric, tol in (("psnr_y", 1e-6), ("ssim_y", 1e-7)):
        want = np.mean([values[metric][f"{n}/noisy@{crop}"] for n in NAMES])
        assert rec["metrics"][metric] == pytest.approx(want, abs=tol)
    assert dict(rec["protocol"]["y_channel"])["crop_border"] == str(crop)


def test_the_crop_moves_the_fingerprint(photo_folders):
    from bench.evaluate import EvalOptions, evaluate_folders

    real, fake = photo_folders
    fps = {evaluate_folders(real, fake, opts=EvalOptions(metrics=("psnr_y",), mixed_sizes=True, protocol_fields=f,
                                                         progress=False))["fingerprint"]
           for f in ({}, _sr_fields(2), _sr_fields(4))}
    assert len(fps) == 3


def test_images_too_small_for_the_crop_are_unavailable_with_the_reason(tmp_path):
    from bench.evaluate import EvalOptions, evaluate_folders
    from conftest import smooth_images, write_folder

    ims = smooth_images(2, size=24, seed=3)
    real, fake = write_folder(tmp_path / "r", ims), write_folder(tmp_path / "f", ims[::-1])
    rec = evaluate_folders(real, fake, opts=EvalOptions(candidates=("psnr_y", "ssim_y"), protocol_fields=_sr_fields(8),
                                                        progress=False))
    assert "psnr_y" in rec["metrics"] and "ssim_y" in rec["unavailable"]  # 24 - 2 * 8 = 8 < 11
    assert "8-pixel border crop" in rec["unavailable"]["ssim_y"]
