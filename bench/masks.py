"""Inpainting masks as protocol: each hole is a pure function of (mask kind, its parameters, seed, sample key, size).

A mask is a bool HxW numpy array, True where pixels are missing. Nothing depends on batch composition or order:
every random draw comes from a generator seeded by ``derive_seed(seed, "inpainting-<kind>", key)``, so the same
sample gets the same hole in a batch of 1 or of 7, in any process, and a metric can regenerate the hole a method
was given from the sample's key alone (``params_from_protocol`` reads the parameters back from a record's
protocol).

Kinds (task_params of an ``inpainting`` dataset card):

``box``        ``hole``, ``seed``: one axis-aligned square of ``hole`` x the height and width, placed uniformly
               (the first protocol; its masks are frozen: committed records use them).
``center``     ``hole``: the centred square of ``hole`` x the height and width, nothing random. With ``hole`` 0.5 on
               128x128 images it is the context-encoder protocol (Pathak et al. 2016: the 64x64 centre of a
               128x128 image; rows/columns 32..95, as ``fineSize/4 + 1 .. fineSize/2 + fineSize/4`` 1-based in the
               authors' ``train.lua``).
``rect``       ``band``, ``seed``: a union of random axis-aligned rectangles (each side uniform in 10..50 % of the
               image side), hole ratio in ``band``.
``free-form``  ``band``, ``seed``: a union of brush strokes, hole ratio in ``band``. One stroke is the
               "free-form" stroke of Yu et al. 2019 (DeepFill v2, ``brush_stroke_mask`` in JiahuiYu/
               generative_inpainting, read, not copied): 4..11 vertices, a random walk whose turning angles
               alternate around 2*pi/5 (+- up to 2*pi/15), step lengths ~ N(r, r/2) clipped to [0, 2r] with r =
               diagonal / 8, brush width uniform in [12, 40] px at 256x256 (scaled with the image side), round joints.
               The mask is flipped left-right and up-down with probability 1/2 each, as DeepFill intends (its
               flips are no-ops, so its strokes drift rightwards). Rasterised by our own code (each segment a
               capsule: the pixels whose centre lies within half the width of it), not PIL's line drawing, so the
               masks do not depend on the Pillow version.

Hole-ratio bands (``rect``, ``free-form``), as the irregular-mask test sets of Liu et al. 2018 are binned by hole
ratio: a target pixel count is drawn uniformly among the counts whose ratio lies in the band; shapes are added one
by one until the hole has at least that many pixels, and a shape that would push the ratio above the band's top
(or adds nothing) is drawn again. So every mask's ratio lies in [low, high] (inclusive) and the ratios spread over
the band instead of piling up at its bottom.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Mapping, Sequence

from bench.errors import BenchError

# kind -> the task params it uses (besides "mask")
KINDS: dict[str, tuple[str, ...]] = {
    "box": ("hole", "seed"),
    "center": ("hole",),
    "rect": ("band", "seed"),
    "free-form": ("band", "seed"),
}
MIN_BAND_WIDTH = 0.05  # narrower bands make the shape-by-shape search slow (or fail) at small sizes
MAX_BAND_HIGH = 0.9
_REJECTS_PER_TRY = 200  # shapes drawn again in a row before the mask is started over (same generator: deterministic)
_TRIES = 50


def check(params: Mapping[str, Any]) -> str | None:
    """Why these mask parameters cannot work, or None (params: the task params with defaults filled)."""
    kind = params.get("mask")
    if kind not in KINDS:
        return f"mask '{kind}' is not one of {', '.join(KINDS)}"
    uses = KINDS[kind]
    if "hole" in uses and not 0.0 < params["hole"] < 1.0:
        return f"hole {params['hole']} must lie strictly between 0 and 1 (a fraction of the height and width)"
    if "seed" in uses and not 0 <= params["seed"] < 2**32:
        return f"seed {params['seed']} is not an integer from 0 to 4294967295"
    if "band" in uses:
        band = params["band"]
        if (len(band) != 2 or any(isinstance(b, bool) or not isinstance(b, (int, float)) for b in band)):
            return f"band {band!r} must be two numbers [low, high] (fractions of the image that are missing)"
        lo, hi = float(band[0]), float(band[1])
        if not 0.0 < lo < hi <= MAX_BAND_HIGH:
            return f"band {band!r} must satisfy 0 < low < high <= {MAX_BAND_HIGH}"
        if hi - lo < MIN_BAND_WIDTH - 1e-12:
            return f"band {band!r} is narrower than {MIN_BAND_WIDTH} (high - low)"
    return None


def mask_for(params: Mapping[str, Any], key: str, size: tuple[int, int]) -> Any:
    """The hole of sample ``key`` at ``size`` (H, W): bool HxW, True where pixels are missing. Read-only (cached)."""
    kind = params["mask"]
    if kind not in KINDS:
        raise BenchError(f"inpainting mask '{kind}' is not one of {', '.join(KINDS)}")
    h, w = int(size[0]), int(size[1])
    band = tuple(float(b) for b in params["band"]) if "band" in KINDS[kind] else None
    hole = float(params["hole"]) if "hole" in KINDS[kind] else None
    seed = int(params["seed"]) if "seed" in KINDS[kind] else None
    return _cached(kind, str(key), h, w, hole, band, seed)


def masks_for(params: Mapping[str, Any], keys: Sequence[str], size: tuple[int, int]) -> Any:
    """bool [B,H,W]: ``mask_for`` of each key (each from its own key only)."""
    import numpy as np

    return np.stack([mask_for(params, k, size) for k in keys])


def hole_ratio(mask: Any) -> float:
    """Fraction of the image that is missing."""
    return float(mask.sum()) / float(mask.size)


def center_box(size: tuple[int, int], hole: float) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the ``center`` hole."""
    h, w = size
    bh, bw = max(1, round(h * hole)), max(1, round(w * hole))
    return (h - bh) // 2, (w - bw) // 2, bh, bw


def params_from_protocol(fields: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The mask parameters held by an evaluation's protocol fields (``{"task": Protocol.freeze(...)}``, as
    ``bench run`` passes them), or None when the evaluation is not of an inpainting protocol."""
    import json

    frozen = (fields or {}).get("task")
    if not frozen:
        return None
    task = {k: json.loads(v) for k, v in frozen}
    if task.get("name") != "inpainting" or task.get("mask") not in KINDS:
        return None
    return {k: v for k, v in task.items() if k != "name"}


# ----------------------------------------------------------------------------- generators

@lru_cache(maxsize=512)  # the three in-hole metrics and the adapter batch regenerate the same masks
def _cached(kind: str, key: str, h: int, w: int, hole: float | None, band: tuple[float, float] | None,
            seed: int | None) -> Any:
    if kind == "box":
        out = box_mask(key, (h, w), hole, seed)
    elif kind == "center":
        import numpy as np

        top, left, bh, bw = center_box((h, w), hole)
        out = np.zeros((h, w), dtype=bool)
        out[top : top + bh, left : left + bw] = True
    else:
        out = _banded(kind, key, (h, w), band, seed)
    out.flags.writeable = False
    return out


def box_mask(key: str, size: tuple[int, int], hole: float, seed: int) -> Any:
    """bool HxW, True where pixels are missing: one square, placed from (seed, key) only (the frozen ``box``)."""
    import numpy as np

    from bench.adapter import derive_seed

    h, w = size
    bh, bw = max(1, round(h * hole)), max(1, round(w * hole))
    rng = np.random.default_rng(derive_seed(seed, "inpainting-box", key))
    top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    mask = np.zeros((h, w), dtype=bool)
    mask[top : top + bh, left : left + bw] = True
    return mask


def _banded(kind: str, key: str, size: tuple[int, int], band: tuple[float, float], seed: int) -> Any:
    """Shapes of ``kind`` added until the hole ratio reaches a target drawn in ``band`` (see the module doc)."""
    import numpy as np

    from bench.adapter import derive_seed

    h, w = size
    lo, hi = band
    rng = np.random.default_rng(derive_seed(seed, f"inpainting-{kind}", key))
    shape = _rectangle if kind == "rect" else _stroke
    total = h * w
    lo_n, hi_n = _count_bounds(lo, hi, total)
    if lo_n > hi_n:
        raise BenchError(f"inpainting mask '{kind}': no pixel count of a {h}x{w} image has a hole ratio in "
                         f"[{lo}, {hi}]")
    target = lo_n + int(rng.integers(0, hi_n - lo_n + 1))  # in whole pixels: every target is reachable
    # DeepFill v2 means to flip its stroke masks at random (its ``mask.transpose`` result is discarded, so its strokes
    # all drift to the right); here the whole mask is flipped as intended, one coin per axis
    flip_x, flip_y = (bool(rng.random() < 0.5) for _ in range(2)) if kind == "free-form" else (False, False)
    for _ in range(_TRIES):
        mask = np.zeros((h, w), dtype=bool)
        count, rejects = 0, 0
        while count < target and rejects < _REJECTS_PER_TRY:
            cand = mask | shape(rng, h, w)
            n = int(cand.sum())
            if count < n <= hi_n:  # it grows the hole and stays in the band
                mask, count, rejects = cand, n, 0
            else:
                rejects += 1
        if target <= count <= hi_n:
            return mask[::-1 if flip_y else 1, ::-1 if flip_x else 1].copy()
    raise BenchError(f"inpainting mask '{kind}': no mask with a hole ratio in [{lo}, {hi}] found for key '{key}' at "
                     f"{h}x{w} (the band is too narrow for this image size)")


def _count_bounds(lo: float, hi: float, total: int) -> tuple[int, int]:
    """The fewest and the most missing pixels whose ratio ``n / total`` (as ``hole_ratio`` computes it) lies in
    [lo, hi]."""
    lo_n = max(0, math.ceil(lo * total))
    while lo_n > 0 and (lo_n - 1) / total >= lo:
        lo_n -= 1
    while lo_n / total < lo:
        lo_n += 1
    hi_n = min(total, math.floor(hi * total))
    while hi_n < total and (hi_n + 1) / total <= hi:
        hi_n += 1
    while hi_n / total > hi:
        hi_n -= 1
    return lo_n, hi_n


def _rectangle(rng: Any, h: int, w: int) -> Any:
    """One rectangle, each side uniform in 10..50 % of the image side, placed inside the image."""
    import numpy as np

    def side(n: int) -> int:
        lo = max(1, round(0.1 * n))
        return int(rng.integers(lo, max(lo, round(0.5 * n)) + 1))

    rh, rw = side(h), side(w)
    top, left = int(rng.integers(0, h - rh + 1)), int(rng.integers(0, w - rw + 1))
    out = np.zeros((h, w), dtype=bool)
    out[top : top + rh, left : left + rw] = True
    return out


# DeepFill v2's stroke constants (for 256x256 images)
_MIN_VERTEX, _MAX_VERTEX = 4, 12  # vertices drawn from [4, 12)
_MEAN_ANGLE, _ANGLE_RANGE = 2 * math.pi / 5, 2 * math.pi / 15
_MIN_WIDTH, _MAX_WIDTH = 12.0, 40.0


def _stroke(rng: Any, h: int, w: int) -> Any:
    """One DeepFill-v2-style brush stroke (see the module doc), rasterised as capsules."""
    import numpy as np

    scale = math.sqrt(h * w) / 256.0
    radius = math.sqrt(h * h + w * w) / 8.0
    n = int(rng.integers(_MIN_VERTEX, _MAX_VERTEX))
    a_min = _MEAN_ANGLE - float(rng.uniform(0, _ANGLE_RANGE))
    a_max = _MEAN_ANGLE + float(rng.uniform(0, _ANGLE_RANGE))
    angles = [float(rng.uniform(a_min, a_max)) for _ in range(n)]
    angles = [2 * math.pi - a if i % 2 == 0 else a for i, a in enumerate(angles)]
    x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
    points = [(x, y)]
    for a in angles:
        r = min(max(float(rng.normal(radius, radius / 2)), 0.0), 2 * radius)
        # math.cos / math.sin (libm, one double each) and truncation to whole pixels, as DeepFill does
        x = int(min(max(points[-1][0] + r * math.cos(a), 0.0), float(w)))
        y = int(min(max(points[-1][1] + r * math.sin(a), 0.0), float(h)))
        points.append((x, y))
    width = max(1.0, math.floor(float(rng.uniform(_MIN_WIDTH * scale, _MAX_WIDTH * scale))))
    out = np.zeros((h, w), dtype=bool)
    for p, q in zip(points[:-1], points[1:]):
        _capsule(out, p, q, width / 2.0)
    return out


def _capsule(out: Any, p: tuple[int, int], q: tuple[int, int], r: float) -> None:
    """Set the pixels whose centre (x, y) lies within ``r`` of the segment p-q (in place). Integer end points and
    float64 arithmetic without transcendental functions: the same pixels on every machine."""
    import numpy as np

    h, w = out.shape
    (x0, y0), (x1, y1) = p, q
    xa, xb = max(0, math.floor(min(x0, x1) - r)), min(w - 1, math.ceil(max(x0, x1) + r))
    ya, yb = max(0, math.floor(min(y0, y1) - r)), min(h - 1, math.ceil(max(y0, y1) + r))
    if xa > xb or ya > yb:
        return
    ys, xs = np.mgrid[ya : yb + 1, xa : xb + 1].astype(np.float64)
    dx, dy = float(x1 - x0), float(y1 - y0)
    length2 = dx * dx + dy * dy
    t = np.zeros_like(xs) if length2 == 0 else np.clip(((xs - x0) * dx + (ys - y0) * dy) / length2, 0.0, 1.0)
    ex, ey = x0 + t * dx - xs, y0 + t * dy - ys
    out[ya : yb + 1, xa : xb + 1] |= ex * ex + ey * ey <= r * r


__all__ = ["KINDS", "box_mask", "center_box", "check", "hole_ratio", "mask_for", "masks_for", "params_from_protocol"]
