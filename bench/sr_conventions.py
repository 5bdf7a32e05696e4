"""The super-resolution community's evaluation conventions, as pure functions: modcrop, MATLAB's bicubic
``imresize``, the Y channel of MATLAB's ``rgb2ycbcr`` and Y-channel PSNR / SSIM with a border crop.

SR papers make the low-resolution input with MATLAB's ``imresize(HR, 1/scale, 'bicubic')`` of the HR image cropped
to a multiple of the scale, and score on the Y channel (BT.601, 16..235) with ``scale`` pixels cut at each border.
BasicSR (``basicsr.utils.matlab_functions.imresize``, ``basicsr.metrics.psnr_ssim``) is the Python reference they
use. These functions are written by hand from MATLAB's documented algorithm and BasicSR 1.4.2's definitions, not
imported: ``import basicsr`` fails with torchvision >= 0.17 (``basicsr/data/degradations.py`` imports the removed
``torchvision.transforms.functional_tensor``), and it is not a dependency. Parity with BasicSR on real photographs
is tested value for value (tests/test_sr_conventions.py, fixtures made by tests/fixtures/basicsr/make_fixtures.py).

Array conventions: a numpy image is H x W or H x W x C (as cv2 / BasicSR); a torch image is [..., C, H, W] (as the
benchmark's pipeline). Everything is computed in float64.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

# BT.601 studio swing (MATLAB rgb2ycbcr): Y = 16 + (65.481 R + 128.553 G + 24.966 B) with R, G, B in [0, 1]
Y_WEIGHTS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0
SSIM_C1 = (0.01 * 255) ** 2
SSIM_C2 = (0.03 * 255) ** 2
SSIM_WINDOW = 11  # BasicSR's (and Wang et al.'s ssim_index.m) 11x11 Gaussian, sigma 1.5, 'valid' filtering


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def modcrop(img: Any, scale: int) -> Any:
    """Crop the bottom / right so that height and width are multiples of ``scale`` (BasicSR's ``mod_crop``).

    numpy: H x W (x C); torch: [..., H, W]. Returns a view of the input."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"modcrop: scale must be a positive integer, got {scale!r}")
    if _is_torch(img):
        h, w = img.shape[-2:]
        return img[..., : h - h % scale, : w - w % scale]
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale, ...]


def cubic(x: np.ndarray) -> np.ndarray:
    """Keys' cubic convolution kernel with a = -0.5 (MATLAB's ``cubic``), float64."""
    ax = np.abs(np.asarray(x, dtype=np.float64))
    ax2, ax3 = ax * ax, ax * ax * ax
    inner = (1.5 * ax3 - 2.5 * ax2 + 1.0) * (ax <= 1)
    outer = (-0.5 * ax3 + 2.5 * ax2 - 4.0 * ax + 2.0) * ((ax > 1) & (ax <= 2))
    return inner + outer


def resize_matrix(in_length: int, out_length: int, scale: float, antialiasing: bool = True) -> np.ndarray:
    """The [out_length, in_length] float64 matrix of MATLAB imresize's bicubic ``contributions`` along one axis.

    MATLAB's conventions: output pixel x (1-based) samples input position u = x / scale + (1 - 1 / scale) / 2; when
    reducing with antialiasing the kernel is stretched by 1 / scale (width 4 / scale, height scaled by ``scale``);
    each row's weights are normalised to sum 1; indices outside 1..in_length are mirrored with the edge pixel
    repeated (MATLAB's ``aux = [1:n, n:-1:1]`` indexing, i.e. 'symmetric' padding), so any image size works.
    Taps whose weight is zero are harmless here (MATLAB drops them; it changes no value)."""
    stretch = scale < 1 and antialiasing
    width = 4.0 / scale if stretch else 4.0
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]  # 1-based, may fall outside the image
    dist = u[:, None] - idx
    weights = scale * cubic(dist * scale) if stretch else cubic(dist)
    weights /= weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_length), np.arange(in_length - 1, -1, -1)])
    cols = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_length)]
    out = np.zeros((out_length, in_length), dtype=np.float64)
    np.add.at(out, (np.repeat(np.arange(out_length), taps), cols.reshape(-1)), weights.reshape(-1))
    return out


def _round_uint8(x: np.ndarray) -> np.ndarray:
    # MATLAB's conversion to uint8: saturate, then round half away from zero (not numpy's half-to-even)
    return np.floor(np.clip(x, 0.0, 255.0) + 0.5).astype(np.uint8)


def matlab_imresize(img: Any, scale_or_size: float | Sequence[int], antialiasing: bool = True) -> Any:
    """MATLAB ``imresize(img, scale_or_size, 'bicubic')``.

    ``scale_or_size``: a scale factor for both axes (output size ``ceil(scale * size)``, as MATLAB) or an
    ``(out_h, out_w)`` size (scales ``out / in`` per axis). numpy H x W (x C) or torch [..., H, W].

    uint8 in -> uint8 out, as MATLAB: its ``imresizemex`` returns the input's class after *each* axis pass, so the
    intermediate image is saturated and rounded (half away from zero) too; the axis with the smaller scale goes
    first (MATLAB's ``dimensionOrder``; rows first on ties). Any float in -> float64 out, unrounded and unclipped
    (MATLAB on doubles). BasicSR computes in float32 and never rounds, so on uint8 input its rounded result differs
    from MATLAB's by one grey level on some pixels (measured in tests/test_sr_conventions.py)."""
    torch_in = _is_torch(img)
    arr = img.detach().cpu().numpy() if torch_in else np.asarray(img)
    if arr.ndim < 2:
        raise ValueError(f"matlab_imresize: expected an image of at least 2 dimensions, got shape {arr.shape}")
    is_uint8 = arr.dtype == np.uint8
    if not is_uint8 and not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"matlab_imresize: expected uint8 or floating-point data, got {arr.dtype}")
    # the two spatial axes: numpy H x W (x C), torch [..., H, W]
    axes = (arr.ndim - 2, arr.ndim - 1) if torch_in else (0, 1)
    in_size = [arr.shape[a] for a in axes]
    if isinstance(scale_or_size, (int, float)) and not isinstance(scale_or_size, bool):
        if not scale_or_size > 0:
            raise ValueError(f"matlab_imresize: scale must be > 0, got {scale_or_size!r}")
        scales = [float(scale_or_size)] * 2
        out_size = [int(math.ceil(scales[0] * n)) for n in in_size]
    else:
        out_size = [int(n) for n in scale_or_size]
        if len(out_size) != 2 or min(out_size) < 1:
            raise ValueError(f"matlab_imresize: size must be (height, width) >= 1, got {scale_or_size!r}")
        scales = [o / i for o, i in zip(out_size, in_size)]
    out = arr if is_uint8 else arr.astype(np.float64)
    for k in sorted(range(2), key=lambda k: scales[k]):  # stable: rows first when the scales are equal
        m = resize_matrix(in_size[k], out_size[k], scales[k], antialiasing)
        moved = np.moveaxis(out.astype(np.float64), axes[k], 0)
        res = np.moveaxis(np.tensordot(m, moved, axes=(1, 0)), 0, axes[k])
        out = _round_uint8(res) if is_uint8 else res
    if torch_in:
        import torch

        return torch.from_numpy(np.ascontiguousarray(out))
    return out


def rgb2ycbcr_y(img: Any) -> Any:
    """The Y channel of MATLAB's ``rgb2ycbcr`` on the 0..255 scale (16..235), float64, unrounded.

    uint8 data is read as 0..255, floating-point data as 0..1 (MATLAB's ``im2double`` convention and BasicSR's). RGB
    order (BasicSR's ``to_y_channel`` expects BGR because it reads with cv2). numpy H x W x 3 -> H x W;
    torch [..., 3, H, W] -> [..., H, W]."""
    if _is_torch(img):
        import torch

        x = img.to(torch.float64) if img.dtype == torch.uint8 else img.to(torch.float64) * 255.0
        if x.ndim < 3 or x.shape[-3] != 3:
            raise ValueError(f"rgb2ycbcr_y: expected [..., 3, H, W], got shape {tuple(x.shape)}")
        r, g, b = x.unbind(-3)
    else:
        arr = np.asarray(img)
        x = arr.astype(np.float64) if arr.dtype == np.uint8 else arr.astype(np.float64) * 255.0
        if x.ndim != 3 or x.shape[-1] != 3:
            raise ValueError(f"rgb2ycbcr_y: expected H x W x 3, got shape {x.shape}")
        r, g, b = x[..., 0], x[..., 1], x[..., 2]
    return Y_OFFSET + (Y_WEIGHTS[0] * r + Y_WEIGHTS[1] * g + Y_WEIGHTS[2] * b) / 255.0


def _y_pair(fake: Any, real: Any, crop_border: int) -> tuple[Any, Any]:
    """Y channels of two uint8 images (numpy H x W x 3, or torch [B,3,H,W]) with ``crop_border`` cut per side."""
    if isinstance(crop_border, bool) or not isinstance(crop_border, int) or crop_border < 0:
        raise ValueError(f"crop_border must be a non-negative integer, got {crop_border!r}")
    if tuple(fake.shape) != tuple(real.shape):
        raise ValueError(f"image shapes differ: {tuple(fake.shape)} vs {tuple(real.shape)}")
    yf, yr = rgb2ycbcr_y(fake), rgb2ycbcr_y(real)
    if crop_border:
        c = crop_border
        yf, yr = yf[..., c:-c, c:-c], yr[..., c:-c, c:-c]
    if min(yf.shape[-2:], default=0) < 1:
        raise ValueError(f"crop_border {crop_border} leaves no pixel of a {tuple(fake.shape)} image")
    return yf, yr


def psnr_planes(yf: Any, yr: Any) -> Any:
    """PSNR in dB of float64 planes on the 0..255 scale (numpy H x W -> float; torch [..., H, W] -> [...]):
    10 log10(255^2 / MSE), ``inf`` when they are equal (BasicSR's ``calculate_psnr``; no epsilon)."""
    if _is_torch(yf):
        import torch

        mse = ((yf - yr) ** 2).mean(dim=(-2, -1))
        return torch.where(mse == 0, torch.full_like(mse, math.inf), 10.0 * torch.log10(255.0**2 / mse))
    mse = float(np.mean((np.asarray(yf, np.float64) - np.asarray(yr, np.float64)) ** 2))
    return math.inf if mse == 0 else float(10.0 * np.log10(255.0**2 / mse))


def ssim_planes(yf: Any, yr: Any) -> Any:
    """SSIM of float64 planes on the 0..255 scale (numpy H x W -> float; torch [..., H, W] -> [...]): BasicSR's
    ``_ssim`` (Wang et al.'s ssim_index.m): 11x11 Gaussian window sigma 1.5 normalised to sum 1, 'valid' filtering
    (only windows inside the plane), C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2, the mean of the SSIM map. Planes must
    be at least 11x11."""
    import torch

    from bench.metrics.ssim_fast import _filter  # the same window (normalised 11-tap Gaussian, sigma 1.5), 'valid'

    single = not _is_torch(yf)
    lead = () if single else tuple(yf.shape[:-2])
    x = (torch.from_numpy(np.asarray(yf, np.float64)) if single else yf.to(torch.float64)).reshape(-1, *yf.shape[-2:])
    y = (torch.from_numpy(np.asarray(yr, np.float64)) if single else yr.to(torch.float64)).reshape(-1, *yr.shape[-2:])
    if min(x.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(f"SSIM needs planes of at least {SSIM_WINDOW}x{SSIM_WINDOW}, got {tuple(x.shape[-2:])}")
    mu1, mu2 = _filter(x), _filter(y)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1, s2, s12 = _filter(x * x) - mu1_sq, _filter(y * y) - mu2_sq, _filter(x * y) - mu12
    ssim_map = ((2 * mu12 + SSIM_C1) * (2 * s12 + SSIM_C2)) / ((mu1_sq + mu2_sq + SSIM_C1) * (s1 + s2 + SSIM_C2))
    values = ssim_map.mean(dim=(-2, -1))
    return float(values[0]) if single else values.reshape(lead)


def psnr_y(fake: Any, real: Any, crop_border: int) -> Any:
    """PSNR in dB on the Y channel with ``crop_border`` pixels cut at each side: BasicSR's ``calculate_psnr(...,
    crop_border, test_y_channel=True)`` (``inf`` for identical images).

    uint8 images: numpy H x W x 3 -> float; torch [B,3,H,W] -> float64 [B]."""
    return psnr_planes(*_y_pair(fake, real, crop_border))


def ssim_y(fake: Any, real: Any, crop_border: int) -> Any:
    """SSIM on the Y channel with ``crop_border`` pixels cut at each side: BasicSR's ``calculate_ssim(...,
    crop_border, test_y_channel=True)`` (see :func:`ssim_planes`); the cropped image must be at least 11x11.

    uint8 images: numpy H x W x 3 -> float; torch [B,3,H,W] -> float64 [B]."""
    return ssim_planes(*_y_pair(fake, real, crop_border))
