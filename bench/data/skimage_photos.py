"""``photos-sr`` and ``photos-inpainting``: the public-domain / CC0 colour photographs scikit-image ships, cut into a
frozen set of 72x72 patches, the restoration tracks' embedded real dataset (offline, nothing to download).

Six photographs of the installed package's ``skimage/data`` folder are used (``PHOTOS``: each with its licence,
quoted from its ``skimage.data`` docstring). Each is cut into non-overlapping 72x72 squares anchored at the top-left
corner (the right / bottom remainder is dropped); a square whose grey level (mean of R, G, B) has a standard
deviation below 2 is dropped as flat (the retina photo's black surround: nothing to restore, and its PSNR is
unbounded). The split is by photograph, so no photograph gives patches to both splits. Keys are
``<photo>_<row>_<col>`` (zero-padded grid position), in sorted order.

The committed manifests (``datasets/photos-sr/{split}-72x72.manifest.json``) hold each patch's pixel sha256 and the
sha256 of the file it was cut from. Every load checks the source files (a scikit-image release with another file is
refused, naming it); the patches are written once into the cache and checked against the manifests.
``photos-inpainting`` is a derived card of ``photos-sr``: the same files, another task.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError

NAME = "photos-sr"  # the base card: its folder holds the manifests both cards read
PATCH = 72
SIZE = (PATCH, PATCH)
PREPARE_VERSION = 1  # bump with any change to the cutting, the filter or the split (and regenerate the manifests)
FLAT_STD = 2  # grey-level standard deviation below which a patch is flat (dropped)


@dataclass(frozen=True)
class Photo:
    """One source photograph: where it is, which split it belongs to, and its licence as scikit-image states it."""

    stem: str  # the key prefix
    file: str  # name inside skimage/data
    split: str
    licence: str  # "public domain" or "CC0"
    function: str  # the skimage.data function whose docstring states the licence
    quote: str  # the licence sentence of that docstring (whitespace collapsed)
    source: str  # where scikit-image took it from (per the docstring)


# Split by photograph: val holds three everyday scenes (cat fur, porcelain and wood, a launch with smoke and sky:
# 104 patches), train the portrait and the two scientific photographs (523 patches).
PHOTOS: tuple[Photo, ...] = (
    Photo("astronaut", "astronaut.png", "train", "public domain", "astronaut",
          "No known copyright restrictions, released into the public domain.",
          "NASA Great Images database, https://flic.kr/p/r9qvLn (Eileen Collins)"),
    Photo("chelsea", "chelsea.png", "val", "CC0", "chelsea",
          "No copyright restrictions. CC0 by the photographer (Stefan van der Walt).",
          "Stefan van der Walt (Chelsea the cat)"),
    Photo("coffee", "coffee.png", "val", "CC0", "coffee",
          "No copyright restrictions. CC0 by the photographer (Rachel Michetti).",
          "Rachel Michetti, courtesy of Pikolo Espresso Bar"),
    Photo("hubble_deep_field", "hubble_deep_field.jpg", "train", "public domain", "hubble_deep_field",
          "The image was captured by NASA and `may be freely used in the public domain",
          "HubbleSite, http://hubblesite.org/newscenter/archive/releases/2012/37/image/a/"),
    Photo("retina", "retina.jpg", "train", "CC0", "retina",
          "This file is made available under the Creative Commons CC0 1.0 Universal Public Domain Dedication.",
          "Wikimedia Commons, File:Fundus_photograph_of_normal_left_eye.jpg (Mikael Haggstrom)"),
    Photo("rocket", "rocket.jpg", "val", "public domain", "rocket",
          "The image was captured by SpaceX and `released in the public domain",
          "SpaceX Photos, https://www.flickr.com/photos/spacexphotos/16511594820/ (DSCOVR launch on Falcon 9)"),
)


def source_dir() -> Path:
    """The installed scikit-image's ``data`` folder (found without importing scikit-image)."""
    import importlib.util

    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise BenchError(f"{NAME}: the photos come from scikit-image's data folder, and scikit-image is not "
                         "installed (pip install scikit-image)")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def _skimage_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scikit-image")
    except PackageNotFoundError:
        return "unknown"


def is_flat(patch: Any) -> bool:
    """True when the grey level (mean of R, G, B) of a uint8 HxWx3 patch has a standard deviation below FLAT_STD.

    Computed exactly in integers on s = R+G+B (std(s/3) < t  <=>  n*sum(s^2) - sum(s)^2 < (3*t*n)^2), so the
    decision cannot differ between machines."""
    import numpy as np

    s = patch.astype(np.int64).sum(axis=2).ravel()
    n = s.size
    return int(n * int((s * s).sum()) - int(s.sum()) ** 2) < (3 * FLAT_STD * n) ** 2


def cut(image: Any, stem: str) -> list[tuple[str, Any]]:
    """(key, patch) of every non-flat PATCHxPATCH square of an HxWx3 image, row-major from the top-left corner."""
    rows, cols = image.shape[0] // PATCH, image.shape[1] // PATCH
    out = []
    for r in range(rows):
        for c in range(cols):
            p = image[r * PATCH : (r + 1) * PATCH, c * PATCH : (c + 1) * PATCH]
            if not is_flat(p):
                out.append((f"{stem}_{r:02d}_{c:02d}", p))
    return out


def read_photo(path: Path, want_sha256: str | None = None) -> tuple[Any, str]:
    """(uint8 HxWx3 pixels, file sha256) of a source photograph; a file whose sha256 is not ``want_sha256`` or that
    is not 8-bit RGB is refused, naming it."""
    import io

    import numpy as np
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise BenchError(f"{path}: missing (scikit-image {_skimage_version()} does not ship it; the {NAME} patches "
                         "are cut from it)")
    data = path.read_bytes()
    got = hashlib.sha256(data).hexdigest()
    if want_sha256 is not None and got != want_sha256:
        raise BenchError(f"{path}: sha256 {got[:16]}..., the {NAME} manifests were cut from a file with sha256 "
                         f"{want_sha256[:16]}...: this scikit-image ({_skimage_version()}) ships another version of "
                         "the photograph, which is not the benchmark's data")
    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            if im.mode != "RGB":
                raise BenchError(f"{path}: image mode {im.mode}, expected RGB (the restoration tracks are colour)")
            return np.asarray(im, dtype=np.uint8).copy(), got
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BenchError(f"{path}: unreadable image ({exc})") from exc


def write_dataset(out: Path, src: Path | None = None,
                  sources: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Cut every photograph of ``src`` (default: the installed scikit-image's) into ``out`` (SPADE layout:
    ``{split}_img/KEY.png``, constant ``{split}_label/KEY.png``); return the per-split manifests.
    ``sources`` (file -> sha256) refuses any other file before anything is cut."""
    import numpy as np

    from bench.data.class_sources import write_class_folders

    src = source_dir() if src is None else src
    per_split: dict[str, list[tuple[str, Any, str, str]]] = {}
    for ph in sorted(PHOTOS, key=lambda p: p.stem):
        image, sha = read_photo(src / ph.file, None if sources is None else sources[ph.file])
        for key, patch in cut(image, ph.stem):
            per_split.setdefault(ph.split, []).append((key, patch, ph.file, sha))
    manifests: dict[str, dict[str, Any]] = {}
    for split in sorted(per_split):
        items = sorted(per_split[split], key=lambda t: t[0])
        rows = write_class_folders(out, {split: (np.stack([t[1] for t in items]), np.zeros(len(items), np.int64),
                                                 [t[0] for t in items])})[split]
        manifests[split] = {
            "manifest_version": 1, "dataset": NAME, "split": split, "kind": "files", "count": len(rows),
            "resolution": list(SIZE), "hash": "pixels-sha256",
            "source": f"bench/data/skimage_photos.py prepare_version {PREPARE_VERSION}: non-overlapping "
                      f"{PATCH}x{PATCH} patches (grey std >= {FLAT_STD}) of scikit-image's data photographs, "
                      "{split}_img/KEY.png "
                      "(RGB), {split}_label/KEY.png (L, constant 0); KEY = <photo>_<row>_<col>; source_sha256 = "
                      "sha256 of the photograph's file",
            "files": [{"key": k, "image": im, "label": lb, "source": t[2], "source_sha256": t[3]}
                      for (k, im, lb), t in zip(rows, items)],
        }
    return manifests


def committed_manifests() -> dict[str, Any]:
    """split -> the committed Manifest of the base card."""
    from bench.data.cards import load_card, load_manifest

    card = load_card(NAME)
    return {split: load_manifest(card, split, SIZE) for split in card.splits}


def expected_sources(manifests: dict[str, Any]) -> dict[str, str]:
    """file name -> sha256 the manifests were cut from (one value per file, checked)."""
    out: dict[str, str] = {}
    for m in manifests.values():
        for f in m.files:
            if out.setdefault(f["source"], f["source_sha256"]) != f["source_sha256"]:
                raise BenchError(f"{m.path}: {f['key']} gives {f['source']} another sha256 than its other patches")
    missing = sorted({p.file for p in PHOTOS} - set(out))
    if missing:
        raise BenchError(f"{NAME}: no committed manifest lists patches of {missing[0]}")
    return out


def check_sources(src: Path, sources: dict[str, str]) -> None:
    """Refuse the first source file that is absent or whose sha256 is not the manifests'."""
    from bench.fileio import sha256_file

    for name, want in sorted(sources.items()):
        path = src / name
        if not path.is_file():
            raise BenchError(f"{path}: missing (scikit-image {_skimage_version()} does not ship it; the {NAME} "
                             "patches are cut from it)")
        got = sha256_file(path)
        if got != want:
            raise BenchError(f"{path}: sha256 {got[:16]}..., the {NAME} manifests were cut from a file with sha256 "
                             f"{want[:16]}...: this scikit-image ({_skimage_version()}) ships another version of the "
                             "photograph, which is not the benchmark's data")


def _compare_committed(made: dict[str, dict[str, Any]], committed: dict[str, Any]) -> None:
    for split, m in committed.items():
        want = [(f["key"], f["image"], f["label"]) for f in m.files]
        got = [(f["key"], f["image"], f["label"]) for f in made.get(split, {"files": []})["files"]]
        if got != want:
            bad = next((g[0] for g, w in zip(got, want) if g != w), f"{len(got)} patches, {len(want)} listed")
            raise BenchError(f"{NAME}: the patches cut from scikit-image's photographs differ from {m.path} (first "
                             f"at {bad}) although the files' sha256 match: this install's image decoder (Pillow) "
                             "does not reproduce the dataset")


def ensure(src: Path | None = None) -> Path:
    """The prepared patch folder: the source files checked on every call, the patches cut on first use (never
    half-written) and checked against the committed manifests, pixel for pixel."""
    import json

    from bench.data.class_sources import prepared
    from bench.weights import user_cache_dir

    committed = committed_manifests()
    sources = expected_sources(committed)
    src = source_dir() if src is None else src
    check_sources(src, sources)
    # the manifests' hashes name the folder: an edited manifest never reads a folder cut for another one
    ident = hashlib.sha256(json.dumps(sorted((s, m.sha256) for s, m in committed.items())).encode()).hexdigest()[:12]
    final = user_cache_dir() / "datasets" / NAME / f"v{PREPARE_VERSION}-{ident}" / f"{PATCH}x{PATCH}"
    return prepared(final, lambda tmp: _compare_committed(write_dataset(tmp, src, sources), committed))


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         *, seed: int | None = None, cache: bool = True) -> Any:
    """The loader of both cards: ``root=None`` reads (and on first use prepares) the cached patches; a ``root``
    is a folder in the same layout (e.g. a copy to check with ``bench data verify``)."""
    from bench.data.base import PairedDataset, decode_pair, find_samples
    from bench.data.cards import load_manifest

    if seed is not None:
        raise BenchError(f"{card.name}: no seed option (the patches are frozen, not generated)")
    if tuple(resolution) != SIZE:
        raise BenchError(f"{card.name}: resolution {resolution[0]}x{resolution[1]} is not prepared (only "
                         f"{PATCH}x{PATCH}, the patch size)")
    root_p = ensure() if root is None else Path(root).expanduser()
    manifest = load_manifest(card, split, SIZE)
    layout, samples, _ = find_samples(card, root_p, split)
    lut = card.raw_to_generator_lut()
    return PairedDataset(card, split, samples, SIZE, lambda s: decode_pair(card, s, lut), root=root_p,
                         layout=layout.name, manifest=manifest, cache=False)


def write_manifests() -> list[Path]:
    """Regenerate the committed manifests from the installed scikit-image (maintainers, after bumping
    PREPARE_VERSION)."""
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
        print("usage: python -m bench.data.skimage_photos --write-manifests")
