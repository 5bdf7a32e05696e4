"""photos-sr / photos-inpainting: the patches of scikit-image's public-domain / CC0 photographs.

Expected values come from outside ``bench/data/skimage_photos.py``: the source files' sha256 from scikit-image's own
registry (``skimage/data/_registry.py``), the pixels from ``skimage.io.imread`` (imageio; for the JPEGs it ends in
the same libjpeg-turbo of Pillow, so the decoder itself is shared), the patches cut and the flat ones dropped by a
loop of this file (float64 ``std``, not the module's integer test; the patch nearest the threshold of 2 has std
2.0108, far beyond float error), hashed with hashlib. Tolerance: none (sha256).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.data import get_dataset, load_card
from bench.data import skimage_photos as sp
from bench.errors import BenchError

SPLITS = ("train", "val")


def manifests() -> dict[str, dict]:
    folder = load_card("photos-sr").path.parent
    return {s: json.loads((folder / f"{s}-72x72.manifest.json").read_text()) for s in SPLITS}


def ref_sha(a: np.ndarray) -> str:
    """The manifests' pixels-sha256 written out: b"<u1:HxWx3\\n" then the C-order bytes."""
    head = f"<u1:{'x'.join(map(str, a.shape))}\n".encode()
    return hashlib.sha256(head + np.ascontiguousarray(a).tobytes()).hexdigest()


def ref_patches(path: Path, stem: str) -> dict[str, str]:
    """key -> sha256 of every 72x72 square (top-left anchored) whose grey std is >= 2."""
    from skimage import io as skio

    img = skio.imread(path)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3, path
    out = {}
    for r in range(img.shape[0] // 72):
        for c in range(img.shape[1] // 72):
            p = img[72 * r : 72 * r + 72, 72 * c : 72 * c + 72]
            if p.astype(np.float64).mean(axis=2).std() >= 2.0:
                out[f"{stem}_{r:02d}_{c:02d}"] = ref_sha(p)
    return out


def skimage_data() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def copy_sources(dst: Path) -> Path:
    dst.mkdir()
    for ph in sp.PHOTOS:
        shutil.copy(skimage_data() / ph.file, dst / ph.file)
    return dst


def cached_folders() -> list[Path]:
    from bench.weights import user_cache_dir

    base = user_cache_dir() / "datasets" / "photos-sr"
    return sorted(p for p in base.glob("*/*") if p.is_dir()) if base.is_dir() else []


# ----------------------------------------------------------------------------- the frozen patches


def test_manifests_list_the_patches_cut_from_the_installed_photographs():
    from skimage.data._registry import registry

    ms = manifests()
    by_source: dict[str, dict[str, str]] = {}
    for m in ms.values():
        for f in m["files"]:
            by_source.setdefault(f["source"], {})[f["key"]] = f["image"]
            assert f["source_sha256"] == registry[f"data/{f['source']}"], f["key"]
    assert sorted(by_source) == sorted(ph.file for ph in sp.PHOTOS)
    for ph in sp.PHOTOS:
        assert by_source[ph.file] == ref_patches(skimage_data() / ph.file, ph.stem), ph.file
    for m in ms.values():  # deterministic order: sorted keys
        keys = [f["key"] for f in m["files"]]
        assert keys == sorted(keys)
    assert {s: ms[s]["count"] for s in SPLITS} == {"train": 523, "val": 104}


@pytest.mark.parametrize("split", SPLITS)
def test_loader_yields_the_manifest_patches(split):
    ds = get_dataset("photos-sr", split=split)
    files = manifests()[split]["files"]
    assert [Path(p.key).name for p in ds.samples] == [f["key"] for f in files]
    for i, f in enumerate(files):
        image, label, inst = ds.arrays(i)
        assert image.shape == (72, 72, 3) and image.dtype == np.uint8
        assert ref_sha(image) == f["image"], f["key"]
        assert inst is None and not label.any()
    batch = next(iter(ds.loader(batch_size=3)))
    assert batch["image"].shape == (3, 3, 72, 72)


def test_both_cards_read_the_same_patches_with_their_task():
    sr, inp = get_dataset("photos-sr"), get_dataset("photos-inpainting")
    assert sr.manifest.sha256 == inp.manifest.sha256 and sr.root == inp.root and len(sr) == 104
    assert (sr.task.name, sr.task_params) == ("super-resolution", {"scale": 4, "degradation": "matlab-bicubic"})
    assert (inp.task.name, inp.task_params) == ("inpainting", {"mask": "box", "hole": 0.5, "seed": 0})
    batch = next(iter(sr.loader(batch_size=2)))
    keys = [s.key for s in sr.samples[:2]]
    assert sr.task.make_batch(batch, sr.task_params, keys)["lr"].shape == (2, 3, 18, 18)
    mask = inp.task.make_batch(batch, inp.task_params, keys)["mask"]
    assert mask.shape == (2, 1, 72, 72) and mask[0].sum() == 36 * 36


def test_verify_finds_a_changed_patch(tmp_path):
    from bench.data.verify import verify

    ok = verify("photos-sr")
    assert ok.ok and [(s.split, s.found) for s in ok.splits] == [("train", 523), ("val", 104)]
    copy = tmp_path / "copy"
    shutil.copytree(get_dataset("photos-sr").root, copy)
    target = copy / "val_img" / "rocket_02_03.png"
    a = np.asarray(Image.open(target)).copy()
    a[0, 0, 0] ^= 1
    Image.fromarray(a).save(target)
    rep = verify("photos-sr", root=copy, split="val")
    assert not rep.ok
    assert [line.split(":")[0] for line in rep.splits[0].problems["wrong hash"]] == [str(target)]


# ----------------------------------------------------------------------------- refusing other files


def test_a_changed_source_file_is_refused_naming_it(tmp_path, monkeypatch):
    src = copy_sources(tmp_path / "data")
    a = np.asarray(Image.open(src / "chelsea.png")).copy()
    a[10, 10] = 255 - a[10, 10]  # a valid PNG of another picture: as a scikit-image release could ship
    Image.fromarray(a).save(src / "chelsea.png")
    with pytest.raises(BenchError, match=r"chelsea\.png: sha256 [0-9a-f]{16}\.\.\., the photos-sr manifests were "
                                         r"cut from a file with sha256 596aa1e7cb875eb7") as exc:
        sp.ensure(src)
    assert "\n" not in str(exc.value)
    assert cached_folders() == []  # refused before anything is written

    # through the loader, also once a good copy is cached: the source files are checked on every load
    get_dataset("photos-sr")
    assert len(cached_folders()) == 1
    monkeypatch.setattr(sp, "source_dir", lambda: src)
    with pytest.raises(BenchError, match=r"chelsea\.png: sha256"):
        get_dataset("photos-inpainting")


def test_a_missing_source_file_is_refused_naming_it(tmp_path):
    src = copy_sources(tmp_path / "data")
    (src / "rocket.jpg").unlink()
    with pytest.raises(BenchError, match=r"rocket\.jpg: missing \(scikit-image .* does not ship it"):
        sp.ensure(src)
    assert cached_folders() == []


def test_patches_that_differ_from_the_manifest_are_refused_and_nothing_is_kept(monkeypatch):
    real = sp.read_photo

    def other_decoder(path, want=None):  # the same file decoded one grey level off: another libjpeg, say
        img, sha = real(path, want)
        if path.name == "coffee.png":
            img = img.copy()
            img[100, 100, 1] ^= 1
        return img, sha

    monkeypatch.setattr(sp, "read_photo", other_decoder)
    with pytest.raises(BenchError, match=r"differ from .*val-72x72\.manifest\.json \(first at coffee_01_01\).*"
                                         r"Pillow"):
        sp.ensure()
    assert cached_folders() == []


def test_options_and_resolutions_that_do_not_exist_are_refused():
    with pytest.raises(BenchError, match="photos-sr: no seed option"):
        get_dataset("photos-sr", seed=1)
    with pytest.raises(BenchError, match="photos-inpainting: resolution 64x64 is not prepared"):
        get_dataset("photos-inpainting", resolution=64)


# ----------------------------------------------------------------------------- split and licences


def test_split_is_disjoint_by_photograph():
    ms = manifests()
    sources = {s: {f["source"] for f in ms[s]["files"]} for s in SPLITS}
    assert sources["train"] and sources["val"] and not sources["train"] & sources["val"]
    photos = {ph.file: ph for ph in sp.PHOTOS}
    for s in SPLITS:
        for f in ms[s]["files"]:
            assert f["key"].rsplit("_", 2)[0] == photos[f["source"]].stem, f["key"]
            assert photos[f["source"]].split == s, f["key"]
    assert ms["val"]["count"] >= 100


def test_every_source_photograph_has_its_licence_listed():
    import skimage.data

    readme = (load_card("photos-sr").path.parent / "README.md").read_text().splitlines()
    files = [f for m in manifests().values() for f in m["files"]]
    used = {f["source"] for f in files}
    photos = {ph.file: ph for ph in sp.PHOTOS}
    assert used == set(photos)
    for name in sorted(used):
        ph = photos[name]
        assert ph.licence in ("public domain", "CC0"), name
        doc = " ".join(getattr(skimage.data, ph.function).__doc__.split())
        assert ph.quote in doc, f"{name}: the licence quoted is not in skimage.data.{ph.function}'s docstring"
        # README table: | file (size) | split | patches | licence | docstring quote | source |
        row = next((line for line in readme if line.startswith(f"| `{name}`")), None)
        assert row is not None, f"{name}: not listed in README.md"
        cells = [" ".join(c.split()) for c in row.split(" | ")]
        n = sum(f["source"] == name for f in files)
        assert cells[1:4] == [ph.split, str(n), ph.licence], (name, cells)
        assert ph.quote in cells[4] and ph.function in cells[4], (name, cells[4])
        with Image.open(skimage_data() / name) as im:
            assert im.mode == "RGB", name  # greyscale photographs are excluded
