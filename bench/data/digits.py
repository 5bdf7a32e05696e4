"""``digits``: the 1,797 handwritten digits scikit-learn ships (UCI "Optical Recognition of Handwritten Digits",
CC BY 4.0), the class-conditional track's embedded dataset.

Each 8x8 image (integers 0..16, ink high) becomes uint8 ``round(v * 255 / 16)``, is upscaled to 32x32 with PIL's
bicubic filter (the grey digit, white on black, replicated into 3 channels) and stored as a PNG with a constant
label map holding its class (the SPADE layout, so every file tool of the benchmark reads it). Frozen split by
position: within each class, in sklearn's order, every 5th image (positions 4, 9, ...) is validation.
Written into the cache on first use and checked against the committed manifests, pixel for pixel.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from bench.errors import BenchError

NAME = "digits"
SIZE = (32, 32)
PREPARE_VERSION = 1  # bump with any change to the conversion or the split (and regenerate the manifests)


def _digits() -> tuple[np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # a dependency of the package: only a broken install lacks it
        raise BenchError("the digits dataset needs scikit-learn (pip install scikit-learn)") from exc
    bunch = load_digits()
    return bunch.images, bunch.target.astype(np.int64)


def split_indices() -> dict[str, list[int]]:
    """sklearn indices of each split (the frozen split: every 5th image of each class is validation)."""
    _, target = _digits()
    out: dict[str, list[int]] = {"train": [], "val": []}
    for c in range(10):
        for pos, i in enumerate(np.flatnonzero(target == c)):
            out["val" if pos % 5 == 4 else "train"].append(int(i))
    return {k: sorted(v) for k, v in out.items()}


def to_image(digit: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray:
    """8x8 array of 0..16 -> HxWx3 uint8 (bicubic upscaling, grey replicated)."""
    from PIL import Image

    grey = np.floor(digit.astype(np.float64) * 255.0 / 16.0 + 0.5).astype(np.uint8)
    big = np.asarray(Image.fromarray(grey, mode="L").resize((size[1], size[0]), Image.Resampling.BICUBIC))
    return np.repeat(big[:, :, None], 3, axis=2)


def write_dataset(out: Path) -> dict[str, dict]:
    from bench.data.class_sources import write_class_folders

    images, target = _digits()
    idx = split_indices()
    rows = write_class_folders(out, {split: (np.stack([to_image(images[i]) for i in ix]), target[ix],
                                             [f"{i:04d}" for i in ix])  # the sklearn index: traceable
                                     for split, ix in idx.items()})
    return {split: {
        "manifest_version": 1, "dataset": NAME, "split": split, "kind": "files", "count": len(r),
        "resolution": list(SIZE), "hash": "pixels-sha256",
        "source": f"bench/data/digits.py prepare_version {PREPARE_VERSION} from sklearn.datasets.load_digits: "
                  "{split}_img/KEY.png (RGB), {split}_label/KEY.png (L, constant: the class); KEY = sklearn index",
        "files": [{"key": k, "image": im, "label": lb} for k, im, lb in r],
    } for split, r in rows.items()}


def _compare_committed(manifests: dict[str, dict]) -> None:
    from bench.data.cards import load_card, manifest_path

    card = load_card(NAME)
    for split, m in manifests.items():
        committed = json.loads(manifest_path(card, split, SIZE).read_text())
        if [(f["key"], f["image"], f["label"]) for f in m["files"]] != \
                [(f["key"], f["image"], f["label"]) for f in committed["files"]]:
            bad = next((g["key"] for g, w in zip(m["files"], committed["files"]) if g != w), "count")
            raise BenchError(f"{NAME}: the images prepared from this scikit-learn's digits differ from the committed "
                             f"manifest ({split}, first at {bad}): this install does not reproduce the dataset")


def ensure() -> Path:
    """The prepared folder, written on first use (never half-written) and checked against the manifests."""
    from bench.data.class_sources import prepared
    from bench.weights import user_cache_dir

    final = user_cache_dir() / "datasets" / NAME / f"v{PREPARE_VERSION}" / f"{SIZE[0]}x{SIZE[1]}"
    return prepared(final, lambda tmp: _compare_committed(write_dataset(tmp)))


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         *, cache: bool = True) -> Any:
    """The loader: ``root=None`` reads (and on first use prepares) the cached copy."""
    from bench.data.base import PairedDataset, decode_pair, find_samples
    from bench.data.cards import load_manifest

    if tuple(resolution) != SIZE:
        raise BenchError(f"{NAME}: resolution {resolution[0]}x{resolution[1]} is not prepared (only 32x32)")
    root_p = ensure() if root is None else Path(root).expanduser()
    manifest = load_manifest(card, split, SIZE)
    layout, samples, _ = find_samples(card, root_p, split)
    lut = card.raw_to_generator_lut()
    return PairedDataset(card, split, samples, SIZE, lambda s: decode_pair(card, s, lut), root=root_p,
                         layout=layout.name, manifest=manifest, cache=False)


def write_manifests() -> list[Path]:
    """Regenerate the committed manifests (maintainers, after bumping PREPARE_VERSION)."""
    import tempfile

    from bench.data.cards import load_card, manifest_path
    from bench.data.synthetic import manifest_text

    card = load_card(NAME)
    with tempfile.TemporaryDirectory() as tmp:
        ms = write_dataset(Path(tmp))
    written = []
    for split, m in ms.items():
        p = manifest_path(card, split, SIZE)
        p.write_text(manifest_text(m))
        written.append(p)
    return written


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--write-manifests"]:
        for p in write_manifests():
            print(f"wrote {p}")
    else:
        print("usage: python -m bench.data.digits --write-manifests")
