"""Each loader reads its exact on-disk format; bad input gives one clear line naming the file and the value."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.data import collate, get_dataset, load_card
from bench.errors import BenchError

from conftest import shared_samples  # noqa: E402 - the tests folder is on sys.path

SAMPLES = shared_samples()
COCO = SAMPLES / "spade-coco_stuff" / "datasets" / "coco_stuff"
ADE = SAMPLES / "ade20k-sceneparsing" / "sampleData"


def need(path: Path) -> Path:
    assert path.exists(), f"shared sample files missing: {path} (expected ../shared/samples next to the repo)"
    return path


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


# ----------------------------------------------------------------------------- Cityscapes fixtures

CITY_H, CITY_W = 64, 128


def city_arrays(seed: int):
    """labelIds (uint8), instanceIds (uint16: objects class*1000+k, stuff the class id) and a photo."""
    rng = np.random.default_rng(seed)
    lab = np.full((CITY_H, CITY_W), 23, np.uint8)  # sky
    lab[CITY_H // 2:] = 7  # road
    lab[CITY_H // 2:, :20] = 8  # sidewalk
    lab[10:30, 70:110] = 11  # building
    lab[:4, :4] = 0  # unlabeled
    inst = lab.astype(np.uint16).copy()
    for k, (y, x) in enumerate([(40, 30), (44, 80)]):
        lab[y:y + 10, x:x + 20] = 26
        inst[y:y + 10, x:x + 20] = 26000 + k
    lab[36:56, 5:9] = 24
    inst[36:56, 5:9] = 24000
    img = rng.integers(0, 256, (CITY_H, CITY_W, 3), dtype=np.uint8)
    return img, lab, inst


def save_u16(path: Path, a: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.frombytes("I;16", (a.shape[1], a.shape[0]), a.astype("<u2").tobytes()).save(path)


def save(path: Path, a: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path)


STEMS = [("frankfurt", "frankfurt_000000_000294"), ("frankfurt", "frankfurt_000000_000576"),
         ("lindau", "lindau_000000_000019")]


def make_cityscapes(root: Path, layout: str, split: str = "val") -> Path:
    for i, (city, stem) in enumerate(STEMS):
        img, lab, inst = city_arrays(i)
        if layout == "official":
            save(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", img)
            save(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", lab)
            save_u16(root / "gtFine" / split / city / f"{stem}_gtFine_instanceIds.png", inst)
        else:  # pix2pixHD's flat layout; its "test" folders hold Cityscapes val
            flat = {"val": "test"}.get(split, split)
            save(root / f"{flat}_img" / f"{stem}_leftImg8bit.png", img)
            save(root / f"{flat}_label" / f"{stem}_gtFine_labelIds.png", lab)
            save_u16(root / f"{flat}_inst" / f"{stem}_gtFine_instanceIds.png", inst)
    return root


@pytest.mark.parametrize("layout", ["official", "pix2pixhd"])
def test_cityscapes_layouts(tmp_path, layout):
    root = make_cityscapes(tmp_path / "cs", layout)
    # native fixture size: no resize, so ids, instances and pixels must come back exactly
    ds = get_dataset("cityscapes", root=root, resolution=(CITY_H, CITY_W))
    assert ds.layout == layout and len(ds) == 3 and ds.num_classes == 35 and ds.segmenter_num_classes == 19
    img, lab, inst = city_arrays(0)
    item = ds[0]
    assert np.array_equal(item["label"][0].numpy(), lab.astype(np.int64))
    assert np.array_equal(item["instance"][0].numpy(), inst.astype(np.int64))
    assert int(item["instance"].max()) == 26001  # uint16 instanceIds decoded as class*1000+k
    assert np.array_equal(item["image"].permute(1, 2, 0).numpy(), img)
    seg = ds.to_segmenter(item["label"])  # labelIds -> trainIds
    assert set(np.unique(seg.numpy())) == {0, 1, 2, 10, 11, 13, 255}
    assert int(seg[0, 0, 0]) == 255 and int(seg[0, 40, 30]) == 13
    b = collate([ds[i] for i in range(3)])
    assert b["label"].shape == (3, 1, CITY_H, CITY_W) and len(b["path"]) == 3


def test_cityscapes_eval_resolution_resizes_once_and_caches(tmp_path):
    root = make_cityscapes(tmp_path / "cs", "official")
    ds = get_dataset("cityscapes", root=root)  # card eval resolution 256x512 (fixture is 64x128: upsampled)
    assert ds.resolution == (256, 512)
    item = ds[1]
    assert item["image"].shape == (3, 256, 512) and item["label"].shape == (1, 256, 512)
    # labels resized with nearest neighbour: only ids of the source, instance ids intact
    assert set(np.unique(item["label"].numpy())) <= {0, 7, 8, 11, 23, 24, 26}
    assert set(np.unique(item["instance"].numpy())) <= {0, 7, 8, 11, 23, 24000, 26000, 26001}
    # image resized with the card's filter (PIL bicubic)
    img, _, _ = city_arrays(1)
    ref = np.asarray(Image.fromarray(img).resize((512, 256), Image.Resampling.BICUBIC))
    assert np.array_equal(item["image"].permute(1, 2, 0).numpy(), ref)
    cached = sorted(ds._cache.dir.glob("*.npz"))
    assert [p.name for p in cached] == ["000001.npz"]
    again = get_dataset("cityscapes", root=root)
    assert again._cache.dir == ds._cache.dir
    assert np.array_equal(again[1]["image"].numpy(), item["image"].numpy())
    # any change to a source file gives another cache key: never a stale result
    save(root / "leftImg8bit" / "val" / "frankfurt" / "frankfurt_000000_000576_leftImg8bit.png", img[::-1].copy())
    assert get_dataset("cityscapes", root=root)._cache.dir != ds._cache.dir


# ----------------------------------------------------------------------------- real sample files

def test_coco_stuff_spade_layout_real_samples():
    ds = get_dataset("coco-stuff", root=need(COCO), split="val")
    assert ds.layout == "spade" and len(ds) == 8 and ds.resolution == (256, 256)
    b = collate([ds[i] for i in range(2)])
    assert b["image"].shape == (2, 3, 256, 256) and b["label"].shape == (2, 1, 256, 256)
    labels = np.unique(b["label"].numpy())
    assert labels.min() >= 0 and labels.max() <= 182
    raw = np.asarray(Image.open(COCO / "val_label" / "000000000139.png"))
    # 255 (unlabeled) becomes the dont-care channel 182 for the generator, and 255 again for the segmenter
    item = ds[0]
    assert (255 in raw) == (182 in item["label"].numpy())
    assert int(ds.to_segmenter(item["label"]).max()) <= 255
    assert int(item["instance"].max()) > 0
    train = get_dataset("coco-stuff", root=COCO, split="train", cache=False)
    assert len(train) == 13


def test_coco_stuff_official_layout(tmp_path):
    root = tmp_path / "coco"
    for k in ("000000000139", "000000000785"):
        img = np.asarray(Image.open(need(COCO) / "val_img" / f"{k}.jpg"))
        save(root / "val2017" / f"{k}.jpg", img)
        lab = np.asarray(Image.open(COCO / "val_label" / f"{k}.png"))
        save(root / "stuffthingmaps_trainval2017" / "val2017" / f"{k}.png", lab)
    ds = get_dataset("coco-stuff", root=root, resolution=64)
    assert ds.layout == "official" and not ds.has_instances and ds.fingerprint()["has_instances"] is False
    assert int(ds[0]["instance"].abs().sum()) == 0  # no instance maps: zeros, stated in the fingerprint


def test_ade20k_real_samples():
    ds = get_dataset("ade20k", root=need(ADE), split="val")
    assert ds.layout == "flat" and len(ds) == 3 and ds.num_classes == 151
    item = ds[0]
    raw = np.asarray(Image.open(ADE / "annotations" / "ADE_val_00000001.png")).astype(np.int64)
    # generator: the stored ids, as SPADE and OASIS feed them (0 = other = channel 0); segmenter: k -> k-1, 0 -> 255
    native = get_dataset("ade20k", root=ADE, split="val", resolution=raw.shape, cache=False)[0]["label"][0].numpy()
    assert np.array_equal(native, raw) and (raw == 0).any()
    seg = get_dataset("ade20k", root=ADE, split="val", resolution=raw.shape, cache=False).to_segmenter(native)
    assert np.array_equal(seg, np.where(raw == 0, 255, raw - 1))
    assert item["image"].shape == (3, 256, 256)


def test_ade20k_official_layout(tmp_path):
    root = tmp_path / "ADEChallengeData2016"
    for name in ("ADE_val_00000001", "ADE_val_00000002"):
        save(root / "images" / "validation" / f"{name}.jpg", np.asarray(Image.open(need(ADE) / "images" / f"{name}.jpg")))
        save(root / "annotations" / "validation" / f"{name}.png",
             np.asarray(Image.open(ADE / "annotations" / f"{name}.png")))
    ds = get_dataset("ade20k", root=root, cache=False)
    assert ds.layout == "official" and len(ds) == 2


# ----------------------------------------------------------------------------- facades

CMP = [c.color for c in load_card("facades").classes]


def make_facades(root: Path, split: str = "test", n: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for i in range(1, n + 1):
        ids = np.ones((256, 256), np.int64)  # facade
        ids[:20] = 0  # background
        ids[40:80, 30:70] = 2  # window
        ids[200:, 100:150] = 3  # door
        ids[30:36] = 4  # cornice
        photo = rng.integers(0, 256, (256, 256, 3), dtype=np.uint8)
        ab = np.concatenate([photo, np.array(CMP, np.uint8)[ids]], axis=1)
        (root / split).mkdir(parents=True, exist_ok=True)
        Image.fromarray(ab).save(root / split / f"{i}.jpg", quality=90)
    return root


def test_facades_ab_format(tmp_path):
    root = make_facades(tmp_path / "facades")
    ds = get_dataset("facades", root=root)  # eval split: test
    assert ds.split == "test" and ds.layout == "pix2pix" and len(ds) == 3
    item = ds[0]
    lab = item["label"][0].numpy()
    assert item["image"].shape == (3, 256, 256)
    assert lab[50, 50] == 2 and lab[10, 10] == 0 and lab[220, 120] == 3 and lab[150, 200] == 1
    # JPEG noise at edges may flip a few pixels, never most of them
    assert (lab[40:80, 30:70] == 2).mean() > 0.9


def test_facades_swapped_halves_are_refused(tmp_path):
    root = make_facades(tmp_path / "facades", n=1)
    p = root / "test" / "1.jpg"
    ab = np.asarray(Image.open(p))
    Image.fromarray(np.concatenate([ab[:, 256:], ab[:, :256]], axis=1)).save(p)
    with pytest.raises(BenchError) as e:
        get_dataset("facades", root=root, cache=False)[0]
    assert str(p) in one_line(e) and "label half" in str(e.value)


# ----------------------------------------------------------------------------- bad input: one line each

def test_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchError) as e:
        get_dataset("cityscapes", root=tmp_path / "empty")
    msg = one_line(e)
    assert "missing folder" in msg and "leftImg8bit/val" in msg and "test_img" in msg
    with pytest.raises(BenchError) as e:
        get_dataset("cityscapes", root=tmp_path / "nope")
    assert "does not exist" in one_line(e)


def test_missing_pair_partner(tmp_path):
    root = make_cityscapes(tmp_path / "cs", "official")
    lab = root / "gtFine" / "val" / "lindau" / "lindau_000000_000019_gtFine_labelIds.png"
    lab.unlink()
    with pytest.raises(BenchError) as e:
        get_dataset("cityscapes", root=root)
    msg = one_line(e)
    assert "lindau_000000_000019_leftImg8bit.png: no label partner" in msg and lab.name in msg


def test_label_id_outside_card(tmp_path):
    root = make_cityscapes(tmp_path / "cs", "pix2pixhd")
    p = root / "test_label" / "frankfurt_000000_000294_gtFine_labelIds.png"
    _, lab, _ = city_arrays(0)
    lab[5, 5] = 40
    save(p, lab)
    ds = get_dataset("cityscapes", root=root, resolution=(CITY_H, CITY_W), cache=False)
    with pytest.raises(BenchError) as e:
        ds[0]
    msg = one_line(e)
    assert str(p) in msg and "label id 40" in msg and "1 pixel" in msg


def test_image_label_size_mismatch(tmp_path):
    root = make_cityscapes(tmp_path / "cs", "official")
    p = root / "gtFine" / "val" / "frankfurt" / "frankfurt_000000_000294_gtFine_labelIds.png"
    save(p, np.zeros((32, 32), np.uint8))
    with pytest.raises(BenchError) as e:
        get_dataset("cityscapes", root=root, cache=False)[0]
    msg = one_line(e)
    assert str(p) in msg and "32x32" in msg and f"{CITY_W}x{CITY_H}" in msg


def test_unreadable_file(tmp_path):
    root = make_cityscapes(tmp_path / "cs", "official")
    p = root / "leftImg8bit" / "val" / "frankfurt" / "frankfurt_000000_000294_leftImg8bit.png"
    p.write_bytes(b"not a png at all")
    with pytest.raises(BenchError) as e:
        get_dataset("cityscapes", root=root, cache=False)[0]
    msg = one_line(e)
    assert str(p) in msg and "unreadable image" in msg


def test_full_ade20k_format_is_refused(tmp_path):
    # the full ADE20K release: images and RGB *_seg.png side by side, no annotations/ folder
    root = tmp_path / "ADE20K_2021_17_01" / "images" / "ADE" / "validation" / "urban" / "street"
    save(root / "ADE_val_00000001.jpg", np.zeros((8, 8, 3), np.uint8))
    save(root / "ADE_val_00000001_seg.png", np.full((8, 8, 3), 40, np.uint8))
    with pytest.raises(BenchError) as e:
        get_dataset("ade20k", root=tmp_path / "ADE20K_2021_17_01")
    msg = one_line(e)
    assert "ADE_val_00000001_seg.png" in msg and "full ADE20K" in msg and "ADEChallengeData2016" in msg
    # RGB-encoded annotations placed in the ADEChallenge layout: refused naming the file and its mode
    bad = tmp_path / "mixed"
    save(bad / "images" / "validation" / "ADE_val_00000001.jpg", np.zeros((8, 8, 3), np.uint8))
    save(bad / "annotations" / "validation" / "ADE_val_00000001.png", np.full((8, 8, 3), 40, np.uint8))
    with pytest.raises(BenchError) as e:
        get_dataset("ade20k", root=bad, cache=False)[0]
    msg = one_line(e)
    assert "ADE_val_00000001.png" in msg and "mode RGB" in msg and "full ADE20K" in msg
