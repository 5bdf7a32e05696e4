"""``synthetic-streets``: street-like scenes generated deterministically from a seed, no download.

A scene is sampled as a handful of parametric shapes in normalised coordinates (horizon, road and sidewalks in
perspective, buildings, trees, poles, cars, people), then rasterised at any resolution, so the 64x64 and
256x256 versions show the same scenes. Photos are rendered from the label map with class-specific colours and
textures plus per-photo lighting, tint and colour choices: a label map predicts its photo (a generator that
ignores it scores worse) but has many plausible photos (``render(label, instance, seed)`` draws more).

Determinism across machines: only uniform draws of ``numpy.random.Generator`` and exactly rounded arithmetic
(+, -, *, /, floor, comparisons) are used, no transcendental functions, no BLAS, no reductions whose order
could vary; the committed manifests hold the sha256 of the decoded pixels (not of the PNG bytes, which depend
on the zlib build) of every file for the default seed, and generation refuses to publish a different result.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from bench.errors import BenchError

NAME = "synthetic-streets"
SKY, ROAD, SIDEWALK, BUILDING, VEGETATION, CAR, PERSON, POLE = range(8)
NUM_CLASSES = 8
INSTANCE_CLASSES = (CAR, PERSON)
SPLIT_CODE = {"train": 0, "val": 1}
GENERATOR_VERSION = 1  # bump with any change to sampling or rendering (and regenerate the manifests)

SeedLike = int | Sequence[int]


def _rng(seed: SeedLike) -> np.random.Generator:
    return np.random.default_rng(seed if isinstance(seed, int) else [int(s) for s in seed])


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(rng.random())


# ----------------------------------------------------------------------------- scene sampling (normalised)

def sample_scene(rng: np.random.Generator) -> dict[str, Any]:
    """Parametric scene: u in [0, 1] left to right, v in [0, 1] top to bottom."""
    vh = _u(rng, 0.38, 0.50)  # horizon
    xv = _u(rng, 0.38, 0.62)  # vanishing point
    sides = {}
    for s in ("L", "R"):
        road = _u(rng, 0.22, 0.42)  # road half width at the bottom row
        f = _u(rng, 0.45, 0.85)  # road edge / building base ratio: sidewalk width
        sides[s] = {"road": road, "kb": f * (1 - vh) / road}
    # buildings and gaps along each side
    blocks = []
    for s, (lo, hi) in (("L", (0.0, xv)), ("R", (xv, 1.0))):
        u = lo
        while u < hi:
            w = _u(rng, 0.06, 0.2)
            u1 = min(hi, u + w)
            is_building = rng.random() < 0.75
            dist = abs((u + u1) / 2 - xv)
            height = _u(rng, 0.1, 0.25) + dist * _u(rng, 0.3, 0.9)
            blocks.append({"side": s, "u0": u, "u1": u1, "building": bool(is_building),
                           "top": max(0.06, vh - height), "hedge": _u(rng, 0.02, 0.07)})
            u = u1
    trees = []
    for _ in range(1 + int(rng.integers(0, 3))):
        ut = _u(rng, 0.03, 0.97)
        ru = _u(rng, 0.035, 0.07) * (1 + 1.5 * abs(ut - xv))
        trees.append({"u": ut, "ru": ru, "rv": ru * _u(rng, 1.0, 1.5), "trunk": _u(rng, 0.5, 1.0)})
    objects = []
    for _ in range(1 + int(rng.integers(0, 3))):  # poles on the sidewalk, near the kerb
        s = "L" if rng.random() < 0.5 else "R"
        t = _u(rng, 0.3, 1.0)
        objects.append({"cls": POLE, "side": s, "t": t, "pos": _u(rng, 0.1, 0.4), "h": t * _u(rng, 0.55, 0.8),
                        "w": 0.006 + 0.01 * t})
    for _ in range(1 + int(rng.integers(0, 4))):  # cars on the road
        t = _u(rng, 0.3, 1.0)
        objects.append({"cls": CAR, "t": t, "pos": _u(rng, -0.75, 0.75), "w": _u(rng, 0.22, 0.3) * t,
                        "hb": _u(rng, 0.3, 0.4), "hc": _u(rng, 0.2, 0.28)})
    for _ in range(1 + int(rng.integers(0, 4))):  # people on the sidewalk
        s = "L" if rng.random() < 0.5 else "R"
        t = _u(rng, 0.35, 1.0)
        objects.append({"cls": PERSON, "side": s, "t": t, "pos": _u(rng, 0.15, 0.85), "h": _u(rng, 0.26, 0.36) * t})
    return {"vh": vh, "xv": xv, "sides": sides, "blocks": blocks, "trees": trees, "objects": objects}


def rasterize(scene: dict[str, Any], height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(label uint8 HxW, instance uint16 HxW) of a scene at one resolution (pixel centres sampled)."""
    H, W = height, width
    V = ((np.arange(H, dtype=np.float64) + 0.5) / H)[:, None]
    U = ((np.arange(W, dtype=np.float64) + 0.5) / W)[None, :]
    vh, xv, sides = scene["vh"], scene["xv"], scene["sides"]
    label = np.full((H, W), SKY, dtype=np.uint8)
    inst = np.zeros((H, W), dtype=np.uint16)
    left = U < xv
    du = np.abs(U - xv)
    kb = np.where(left, sides["L"]["kb"], sides["R"]["kb"])
    road_hw = np.where(left, sides["L"]["road"], sides["R"]["road"])
    base = vh + kb * du  # where building fronts meet the sidewalk, per column
    t = (V - vh) / (1 - vh)  # depth: 0 at the horizon, 1 at the bottom row

    for b in scene["blocks"]:
        cols = (U >= b["u0"]) & (U < b["u1"])
        if b["building"]:
            label[cols & (V >= b["top"]) & (V <= base)] = BUILDING
        else:  # a gap: park hedge in front of the sky
            label[cols & (V >= vh - b["hedge"]) & (V <= base)] = VEGETATION
    ground = V > vh
    label[ground & (V > base)] = SIDEWALK
    label[ground & (du < road_hw * t)] = ROAD

    for tr in scene["trees"]:  # crown and trunk stand on the building line
        ub = tr["u"]
        vb = vh + (sides["L"] if ub < xv else sides["R"])["kb"] * abs(ub - xv)
        scale = 1 + 2 * abs(ub - xv)
        cv = vb - tr["trunk"] * tr["rv"] - tr["rv"] * 0.9
        crown = ((U - ub) / tr["ru"]) ** 2 + ((V - cv) / tr["rv"]) ** 2 < 1
        hw = max(0.004 * scale, 0.51 / W)
        trunk = (np.abs(U - ub) < hw) & (V >= cv) & (V <= vb)
        label[crown | trunk] = VEGETATION

    counters = {CAR: 0, PERSON: 0}
    for ob in sorted(scene["objects"], key=lambda o: o["t"]):  # far first: near objects occlude
        t_o = ob["t"]
        vb = vh + t_o * (1 - vh)
        if ob["cls"] == CAR:
            s = sides["L"] if ob["pos"] < 0 else sides["R"]
            uc = xv + ob["pos"] * s["road"] * t_o
            w = ob["w"]
            hb, hc = ob["hb"] * w, ob["hc"] * w
            body = (np.abs(U - uc) < w / 2) & (V <= vb) & (V >= vb - hb)
            frac = (V - (vb - hb - hc)) / hc  # 0 at the roof, 1 at the waist: a trapezoid cabin
            cabin = (V >= vb - hb - hc) & (V < vb - hb) & (np.abs(U - uc) < w * (0.28 + 0.1 * frac))
            mask = body | cabin
        elif ob["cls"] == PERSON:
            s = sides[ob["side"]]
            d_road = s["road"] * t_o
            d_base = (vb - vh) / s["kb"]
            d = d_road + ob["pos"] * (d_base - d_road)
            up = min(0.98, max(0.02, xv - d if ob["side"] == "L" else xv + d))
            h = ob["h"]
            ru = max(h * 0.13, 0.6 / W)
            body = ((U - up) / ru) ** 2 + ((V - (vb - h * 0.42)) / (h * 0.42)) ** 2 < 1
            rh = max(h * 0.09, 0.55 / W)
            head = ((U - up) / rh) ** 2 + ((V - (vb - h * 0.9)) / rh) ** 2 < 1
            mask = body | head
        else:  # pole
            s = sides[ob["side"]]
            d_road = s["road"] * t_o
            d = d_road + ob["pos"] * ((vb - vh) / s["kb"] - d_road)
            up = xv - d if ob["side"] == "L" else xv + d
            hw = max(ob["w"] / 2, 0.51 / W)
            mask = (np.abs(U - up) < hw) & (V <= vb) & (V >= vb - ob["h"])
        label[mask] = ob["cls"]
        if ob["cls"] in INSTANCE_CLASSES:
            inst[mask] = ob["cls"] * 1000 + counters[ob["cls"]]
            counters[ob["cls"]] += 1
        else:
            inst[mask] = 0
    # stuff pixels carry their class id (Cityscapes convention); objects keep class*1000+k
    stuff = inst == 0
    inst[stuff] = label[stuff]
    return label, inst


def make_layout(seed: int, split: str, index: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Label and instance map of one sample: every class appears (resampled from the same stream otherwise)."""
    rng = _rng([seed, SPLIT_CODE[split], index, 0])
    for _ in range(100):
        label, inst = rasterize(sample_scene(rng), *size)
        if np.bincount(label.ravel(), minlength=NUM_CLASSES).min() > 0:
            return label, inst
    raise BenchError(f"{NAME}: could not sample a scene with every class (seed {seed}, {split} {index})")


# ----------------------------------------------------------------------------- rendering

def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Bilinearly interpolated uniform noise in [0, 1] with feature size ``cell`` pixels."""
    gy = (np.arange(h, dtype=np.float64) + 0.5) / cell
    gx = (np.arange(w, dtype=np.float64) + 0.5) / cell
    iy, ix = np.floor(gy).astype(np.int64), np.floor(gx).astype(np.int64)
    fy, fx = (gy - iy)[:, None], (gx - ix)[None, :]
    g = rng.random((int(iy[-1]) + 2, int(ix[-1]) + 2))
    a, b = g[iy][:, ix], g[iy][:, ix + 1]
    c, d = g[iy + 1][:, ix], g[iy + 1][:, ix + 1]
    return a * (1 - fy) * (1 - fx) + b * (1 - fy) * fx + c * fy * (1 - fx) + d * fy * fx


def _jitter(rng: np.random.Generator, rgb: Sequence[float], amount: float) -> np.ndarray:
    return np.asarray(rgb, dtype=np.float64) + (rng.random(3) - 0.5) * 2 * amount


CAR_PAINTS = [(170, 30, 30), (30, 60, 150), (225, 225, 220), (30, 30, 35), (160, 165, 170), (40, 90, 50),
              (210, 170, 40)]
BUILDING_FAMILIES = [(165, 90, 65), (205, 185, 150), (150, 145, 140), (190, 160, 120)]
SHIRTS = [(200, 40, 40), (40, 80, 170), (235, 235, 230), (40, 40, 40), (90, 150, 70), (220, 170, 40)]
TROUSERS = [(35, 40, 70), (30, 30, 30), (150, 130, 95), (70, 70, 80)]
SKIN = [(235, 195, 165), (200, 150, 115), (140, 95, 65), (95, 65, 45)]


def render(label: np.ndarray, instance: np.ndarray | None = None, seed: SeedLike = 0) -> np.ndarray:
    """A photo (uint8 HxWx3) of a synthetic-streets label map; different seeds give different plausible photos.

    ``instance`` (class*1000+k for cars and people) gives each car and person its own colours; without it all
    cars (people) of the map share one.
    """
    label = np.asarray(label)
    H, W = label.shape
    rng = _rng(seed)
    if instance is None:
        instance = np.where(np.isin(label, INSTANCE_CLASSES), label.astype(np.int64) * 1000, label)
    instance = np.asarray(instance).astype(np.int64)
    img = np.zeros((H, W, 3), dtype=np.float64)
    y = np.arange(H, dtype=np.float64)[:, None]
    x = np.arange(W, dtype=np.float64)[None, :]
    V = (y + 0.5) / H
    U = (x + 0.5) / W
    scale = H / 64.0  # texture sizes follow the resolution so 64 and 256 renders look alike
    fine = rng.random((H, W)) - 0.5  # per-pixel grain shared by the textured classes

    def paint(cls: int, colour: np.ndarray) -> None:
        m = label == cls
        img[m] = colour[m] if colour.ndim == 3 else colour

    # sky: vertical gradient, clear or overcast, soft clouds
    overcast = rng.random() < 0.3
    top = _jitter(rng, (180, 184, 192) if overcast else (80, 135, 215), 18)
    bottom = np.minimum(top + _jitter(rng, (45, 40, 25), 12), 255)
    sky_rows = np.flatnonzero((label == SKY).any(1))
    span = (sky_rows[-1] + 1) / H if sky_rows.size else 0.5
    g = np.minimum(V / span, 1.0)[..., None]
    clouds = np.maximum(_smooth_noise(rng, H, W, 10 * scale) - _u(rng, 0.45, 0.7), 0)[..., None] * 2.2
    sky = top * (1 - g) + bottom * g
    sky = sky + (np.array([245.0, 245.0, 248.0]) - sky) * np.minimum(clouds, 1)
    paint(SKY, sky)

    # road: asphalt grey with grain and patches
    road = _jitter(rng, (88, 84, 92), 14)
    patches = _smooth_noise(rng, H, W, 6 * scale)[..., None]
    paint(ROAD, road * (0.85 + 0.3 * patches) + fine[..., None] * 14)

    # sidewalk: light paving with a tile grid
    walk = _jitter(rng, (178, 168, 150), 14)
    period = max(3.0, _u(rng, 2.5, 4.5) * scale)
    grid = ((y % period) < 1.0) | ((x % period) < 1.0)
    paint(SIDEWALK, walk * np.where(grid, 0.78, 1.0)[..., None] + fine[..., None] * 10)

    # buildings: a colour family, blocks of columns with their own shade, a window grid
    fam = BUILDING_FAMILIES[int(rng.integers(0, len(BUILDING_FAMILIES)))]
    wall = _jitter(rng, fam, 16)
    col_shade = _smooth_noise(rng, 1, W, _u(rng, 5, 10) * scale)  # broad variation across columns
    col_shade = np.floor(col_shade * 4) / 4  # piecewise constant: separate facades
    facade = wall * (0.8 + 0.4 * col_shade)[..., None]
    px, py = _u(rng, 3.5, 6.0) * scale, _u(rng, 4.0, 6.5) * scale
    win = ((x % px) < px * _u(rng, 0.4, 0.6)) & ((y % py) < py * _u(rng, 0.45, 0.6))
    glass = _jitter(rng, (60, 75, 95), 15)
    lit = _smooth_noise(rng, H, W, px)[..., None] > 0.7
    window = np.where(lit, np.array([225.0, 205.0, 140.0]), glass)
    paint(BUILDING, np.where(win[..., None], window, facade) + fine[..., None] * 8)

    # vegetation: greens with leafy two-scale noise
    leaf = _jitter(rng, (70, 115, 40), 18)
    leafy = 0.5 * _smooth_noise(rng, H, W, 2.0 * scale) + 0.5 * _smooth_noise(rng, H, W, 5.0 * scale)
    paint(VEGETATION, leaf * (0.55 + 0.9 * leafy)[..., None] + fine[..., None] * 12)

    # poles: dark metal
    paint(POLE, _jitter(rng, (62, 68, 64), 10) * (0.9 + 0.2 * np.broadcast_to(V, (H, W)))[..., None])

    # cars and people: per-instance colours and simple parts (cabin glass, wheels / head, shirt, trousers)
    for cls in INSTANCE_CLASSES:
        ids = np.unique(instance[label == cls])
        for k in ids:
            m = (label == cls) & (instance == k)
            rows = np.flatnonzero(m.any(1))
            r = (y - rows[0]) / max(1, rows[-1] - rows[0] + 1)
            r = np.broadcast_to(r, (H, W))
            if cls == CAR:
                paint_c = _jitter(rng, CAR_PAINTS[int(rng.integers(0, len(CAR_PAINTS)))], 12)
                glass_c = _jitter(rng, (55, 65, 80), 10)
                col = np.where((r < 0.4)[..., None], glass_c, paint_c)
                col = np.where((r > 0.82)[..., None], np.array([28.0, 28.0, 30.0]), col)
            else:
                skin = _jitter(rng, SKIN[int(rng.integers(0, len(SKIN)))], 8)
                shirt = _jitter(rng, SHIRTS[int(rng.integers(0, len(SHIRTS)))], 15)
                legs = _jitter(rng, TROUSERS[int(rng.integers(0, len(TROUSERS)))], 10)
                col = np.where((r < 0.2)[..., None], skin, np.where((r < 0.58)[..., None], shirt, legs))
            img[m] = col[m]

    # global light: exposure, white balance, a sideways sun gradient, sensor noise
    light = _u(rng, 0.75, 1.2)
    tint = 1 + (rng.random(3) - 0.5) * 0.16
    sun = (_u(rng, -0.25, 0.25) * (U - 0.5) + 1.0)[..., None]
    img = img * (light * tint) * sun + (rng.random((H, W, 3)) - 0.5) * 6
    return np.floor(np.clip(img, 0, 255) + 0.5).astype(np.uint8)


def photo_seed(seed: int, split: str, index: int) -> list[int]:
    """The render seed of a dataset sample (a separate stream from its layout's)."""
    return [seed, SPLIT_CODE[split], index, 1]


def make_sample(seed: int, split: str, index: int, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image, label, instance) of one dataset sample."""
    label, inst = make_layout(seed, split, index, size)
    return render(label, inst, photo_seed(seed, split, index)), label, inst


# ----------------------------------------------------------------------------- files, manifests, cache

def pixels_sha256(a: np.ndarray) -> str:
    """sha256 of dtype, shape and C-order bytes: the content hash the manifests hold (independent of PNG zlib)."""
    a = np.ascontiguousarray(a)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and not np.little_endian):
        a = a.astype(a.dtype.newbyteorder("<"))
    head = f"{a.dtype.str.replace('|', '<')}:{'x'.join(map(str, a.shape))}\n".encode()
    return hashlib.sha256(head + a.tobytes()).hexdigest()


def _png_bytes(a: np.ndarray, mode: str) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    if mode == "I;16":
        im = Image.frombytes("I;16", (a.shape[1], a.shape[0]), np.ascontiguousarray(a, dtype="<u2").tobytes())
    else:
        im = Image.fromarray(a)
    im.save(buf, format="PNG", compress_level=6)
    return buf.getvalue()


def read_instance_png(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        return np.asarray(im).astype("<u2")


def counts(card: Any = None) -> dict[str, int]:
    if card is None:
        from bench.data.cards import load_card

        card = load_card(NAME)
    return dict(card.splits)


def write_dataset(out: Path, seed: int, size: tuple[int, int], split_counts: dict[str, int]) -> dict[str, dict]:
    """Generate every split into ``out`` (SPADE layout); return the per-split manifests."""
    manifests = {}
    for split, n in split_counts.items():
        files = []
        for sub in ("img", "label", "inst"):
            (out / f"{split}_{sub}").mkdir(parents=True, exist_ok=True)
        for i in range(n):
            key = f"{i:04d}"
            image, label, inst = make_sample(seed, split, i, size)
            (out / f"{split}_img" / f"{key}.png").write_bytes(_png_bytes(image, "RGB"))
            (out / f"{split}_label" / f"{key}.png").write_bytes(_png_bytes(label, "L"))
            (out / f"{split}_inst" / f"{key}.png").write_bytes(_png_bytes(inst, "I;16"))
            files.append({"key": key, "image": pixels_sha256(image), "label": pixels_sha256(label),
                          "instance": pixels_sha256(inst.astype("<u2"))})
        manifests[split] = {
            "manifest_version": 1, "dataset": NAME, "split": split, "kind": "files", "count": n,
            "resolution": list(size), "seed": seed, "hash": "pixels-sha256",
            "source": f"bench/data/synthetic.py generator_version {GENERATOR_VERSION}: "
                      "{split}_img/KEY.png (RGB), {split}_label/KEY.png (L), {split}_inst/KEY.png (I;16)",
            "files": files,
        }
    return manifests


def manifest_text(m: dict) -> str:
    """Manifest JSON with one file per line (diffable)."""
    files = m["files"]
    head = json.dumps({k: v for k, v in m.items() if k != "files"}, indent=1)
    rows = ",\n  ".join(json.dumps(f) for f in files)
    return head[:-2] + ',\n "files": [\n  ' + rows + "\n ]\n}\n"


def cache_dir(seed: int, size: tuple[int, int]) -> Path:
    """Where a generation lives: ``<user cache>/datasets/synthetic-streets/v<gen>/seed<seed>/<H>x<W>``."""
    from bench.weights import user_cache_dir

    return user_cache_dir() / "datasets" / NAME / f"v{GENERATOR_VERSION}" / f"seed{seed}" / f"{size[0]}x{size[1]}"


def _compare_committed(manifests: dict[str, dict], size: tuple[int, int]) -> None:
    """Refuse a default-seed generation whose pixels differ from the committed manifest (never silently different)."""
    from bench.data.cards import load_card, manifest_path

    card = load_card(NAME)
    for split, m in manifests.items():
        path = manifest_path(card, split, size)
        if not path.is_file():
            continue
        committed = json.loads(path.read_text())
        for got, want in zip(m["files"], committed["files"]):
            for part in ("image", "label", "instance"):
                if got[part] != want[part]:
                    raise BenchError(
                        f"{NAME}: generated {split}_{ {'image': 'img', 'label': 'label', 'instance': 'inst'}[part]}"
                        f"/{got['key']}.png has pixel sha256 {got[part][:16]}..., the committed manifest {path} says "
                        f"{want[part][:16]}... (numpy {np.__version__}): this machine does not reproduce the dataset")
        if len(m["files"]) != len(committed["files"]):
            raise BenchError(f"{NAME}: generated {len(m['files'])} {split} files, {path} lists {len(committed['files'])}")


def ensure(seed: int | None = None, size: tuple[int, int] = (64, 64)) -> Path:
    """The generated dataset folder for (seed, size), generating it on first use (atomically: temp dir + rename)."""
    from bench.data.cards import load_card

    card = load_card(NAME)
    default = int(card.raw["synthetic"]["default_seed"])
    seed = default if seed is None else int(seed)
    if card.resolutions and tuple(size) not in card.resolutions:
        res = ", ".join(f"{h}x{w}" for h, w in card.resolutions)
        raise BenchError(f"{NAME}: resolution {size[0]}x{size[1]} is not generated (card {card.path}: {res})")
    final = cache_dir(seed, size)
    if (final / "done.json").is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        manifests = write_dataset(tmp, seed, tuple(size), counts(card))  # type: ignore[arg-type]
        if seed == default:
            _compare_committed(manifests, tuple(size))  # type: ignore[arg-type]
        for split, m in manifests.items():
            (tmp / f"{split}.manifest.json").write_text(manifest_text(m))
        (tmp / "done.json").write_text(json.dumps({"seed": seed, "resolution": list(size),
                                                   "generator_version": GENERATOR_VERSION}) + "\n")
        try:
            os.rename(tmp, final)
        except OSError:
            if not (final / "done.json").is_file():  # a stale partial folder (no marker): replace it
                shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         *, seed: int | None = None, cache: bool = True) -> Any:
    """The loader: ``root=None`` reads (and on first use generates) the cached copy for ``seed``."""
    from bench.data.base import PairedDataset, decode_pair, find_samples
    from bench.data.cards import load_manifest

    if card.resolutions and tuple(resolution) not in card.resolutions:
        res = ", ".join(f"{h}x{w}" for h, w in card.resolutions)
        raise BenchError(f"{NAME}: resolution {resolution[0]}x{resolution[1]} is not one of {res}")
    root_p = ensure(seed, resolution) if root is None else Path(root).expanduser()
    manifest = load_manifest(card, split, resolution)
    layout, samples, _ = find_samples(card, root_p, split)
    lut = card.raw_to_generator_lut()
    # generated natively at this resolution: nothing to resize, nothing to cache
    return PairedDataset(card, split, samples, resolution, lambda s: decode_pair(card, s, lut), root=root_p,
                         layout=layout.name, manifest=manifest, cache=False)


def write_manifests(seed: int | None = None) -> list[Path]:
    """Regenerate the committed manifests (maintainers, after bumping GENERATOR_VERSION)."""
    import tempfile

    from bench.data.cards import load_card, manifest_path

    card = load_card(NAME)
    seed = int(card.raw["synthetic"]["default_seed"]) if seed is None else seed
    written = []
    for size in card.resolutions or []:
        with tempfile.TemporaryDirectory() as tmp:
            ms = write_dataset(Path(tmp), seed, size, counts(card))
        for split, m in ms.items():
            p = manifest_path(card, split, size)
            p.write_text(manifest_text(m))
            written.append(p)
    return written


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write-manifests"]:
        for p in write_manifests():
            print(f"wrote {p}")
    else:
        print("usage: python -m bench.data.synthetic --write-manifests")
