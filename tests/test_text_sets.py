"""The text-to-image datasets as distributed (bench/data/text_sets.py): CUB-200-2011, Oxford-102 and COCO 2014
with StackGAN's metadata, on stand-in roots in the published layout.

The stand-ins: small random JPEGs under the real file names, caption files of the real layout, and the metadata
pickles written in Python 2's protocol-2 format (``py2_dumps`` of tests/test_safe_pickle.py: what StackGAN's
Python 2 ``pickle.dump`` wrote). Real names used (from public code that lists the released files):
``001.Black_footed_Albatross/Black_Footed_Albatross_0046_18`` (first line of CUB's images.txt, printed by StackGAN's
load_bbox in hanzhanggit/StackGAN issue #9; first test entry of the birds filenames.pickle per comments in public
AttnGAN-derived code), ``..._0009_34``, ``..._0002_55``, ``002.Laysan_Albatross/Laysan_Albatross_0002_1027`` and
``..._0003_1033`` (the first train entries, same comments); Oxford-102's ``text_c10/class_00001/image_06734.txt``
and ``text_c10/class_00077/image_00001.txt``; COCO's ``COCO_train2014_000000000009`` / ``..._000000000025`` and
``COCO_val2014_000000391895`` / ``..._000000060623`` / ``..._000000483108`` (the first images of
captions_val2014.json). Which stand-in image sits in which split, the boxes, the image sizes and the caption texts
are made up.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.data import collate, get_dataset
from bench.errors import BenchError
from test_safe_pickle import py2_dumps  # noqa: E402 - the tests folder is on sys.path (see conftest.py)

CUB_TRAIN = ["002.Laysan_Albatross/Laysan_Albatross_0002_1027", "002.Laysan_Albatross/Laysan_Albatross_0003_1033"]
CUB_TEST = ["001.Black_footed_Albatross/Black_Footed_Albatross_0046_18",
            "001.Black_footed_Albatross/Black_Footed_Albatross_0009_34",
            "001.Black_footed_Albatross/Black_Footed_Albatross_0002_55"]
FLOWERS_TRAIN = [("jpg/image_06734", 1), ("jpg/image_06735", 1)]
FLOWERS_TEST = [("jpg/image_00001", 77), ("jpg/image_00002", 77), ("jpg/image_00003", 77)]
COCO_TRAIN = ["COCO_train2014_000000000009", "COCO_train2014_000000000025"]
COCO_VAL = ["COCO_val2014_000000391895", "COCO_val2014_000000060623", "COCO_val2014_000000483108"]


def _jpeg(path: Path, h: int, w: int, rng, grey: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (rng.random((h, w) if grey else (h, w, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(path, quality=95)


def _captions(name: str, n: int) -> list[str]:
    return [f"caption {j} of {name.split('/')[-1]}: a small bird with a white belly" for j in range(n)]


def _meta(folder: Path, names: list[str], captions: int, rng, classes: list[int] | None = None) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    emb = rng.standard_normal((len(names), captions, 1024)).astype(np.float32)
    (folder / "filenames.pickle").write_bytes(py2_dumps(list(names)))
    (folder / "char-CNN-RNN-embeddings.pickle").write_bytes(py2_dumps(emb))
    if classes is not None:
        (folder / "class_info.pickle").write_bytes(py2_dumps(list(classes)))
    return emb


def _cub_root(tmp_path: Path, seed: int = 0) -> tuple[Path, dict]:
    """StackGAN's Data/birds: CUB_200_2011/ (images, images.txt, bounding_boxes.txt), text_c10/, train/, test/."""
    rng = np.random.default_rng(seed)
    root = tmp_path / "birds"
    names = CUB_TEST + CUB_TRAIN
    rows, boxes = [], []
    for i, name in enumerate(names, 1):
        h, w = 60 + 7 * i, 80 + 5 * i
        _jpeg(root / "CUB_200_2011" / "images" / f"{name}.jpg", h, w, rng)
        rows.append(f"{i} {name}.jpg")
        box = (5.0 + i, 4.0 + 2 * i, 40.0 + i, 30.0 + 3 * i)  # x y w h, floats as in the release
        boxes.append(f"{i} " + " ".join(f"{v:.1f}" for v in box))
        cap = root / "text_c10" / f"{name}.txt"
        cap.parent.mkdir(parents=True, exist_ok=True)
        cap.write_text("\n".join(_captions(name, 10)) + "\n")
    (root / "CUB_200_2011" / "images.txt").write_text("\n".join(rows) + "\n")
    (root / "CUB_200_2011" / "bounding_boxes.txt").write_text("\n".join(boxes) + "\n")
    emb = {"test": _meta(root / "test", CUB_TEST, 10, rng), "train": _meta(root / "train", CUB_TRAIN, 10, rng)}
    return root, emb


def _flowers_root(tmp_path: Path, seed: int = 1) -> tuple[Path, dict]:
    rng = np.random.default_rng(seed)
    root = tmp_path / "flowers"
    emb = {}
    for split, entries in (("train", FLOWERS_TRAIN), ("test", FLOWERS_TEST)):
        for name, cls in entries:
            _jpeg(root / f"{name}.jpg", 50, 70, rng)
            cap = root / "text_c10" / f"class_{cls:05d}" / f"{name.split('/')[1]}.txt"
            cap.parent.mkdir(parents=True, exist_ok=True)
            cap.write_text("\n".join(_captions(name, 10)) + "\n")
        emb[split] = _meta(root / split, [n for n, _ in entries], 10, rng, [c for _, c in entries])
    return root, emb


def _coco_root(tmp_path: Path, seed: int = 2) -> tuple[Path, dict]:
    """COCO 2014's train2014/, val2014/, annotations/ and StackGAN's coco metadata train/ and test/ (val images)."""
    rng = np.random.default_rng(seed)
    root = tmp_path / "coco"
    emb = {}
    for split, names, meta in (("train", COCO_TRAIN, "train"), ("val", COCO_VAL, "test")):
        images, anns = [], []
        for k, name in enumerate(names):
            _jpeg(root / f"{split}2014" / f"{name}.jpg", 48, 64, rng, grey=(k == 1))
            images.append({"id": int(name[-12:]), "file_name": f"{name}.jpg", "height": 48, "width": 64})
            for j in range(6 if k == 0 else 5):  # a few COCO images have more than five captions
                anns.append({"image_id": int(name[-12:]), "id": 1000 * k + j, "caption": f" A photo {j} of {name}.\n"})
        anns = anns[::2] + anns[1::2]  # captions of one image are spread over the file, as in the release
        (root / "annotations").mkdir(parents=True, exist_ok=True)
        (root / "annotations" / f"captions_{split}2014.json").write_text(
            json.dumps({"info": {}, "images": images, "annotations": anns}))
        emb[split] = _meta(root / meta, names, 5, rng)
    return root, emb


def _stackgan_get_img(path: Path, bbox: list[int], size: int) -> np.ndarray:
    """StackGAN-Pytorch's code/miscc/datasets.py get_img crop, verbatim but for Python 3, then PIL's bilinear
    resize to the evaluation size (the card's filter)."""
    img = Image.open(path).convert("RGB")
    width, height = img.size
    R = int(np.maximum(bbox[2], bbox[3]) * 0.75)
    center_x = int((2 * bbox[0] + bbox[2]) / 2)
    center_y = int((2 * bbox[1] + bbox[3]) / 2)
    y1 = np.maximum(0, center_y - R)
    y2 = np.minimum(height, center_y + R)
    x1 = np.maximum(0, center_x - R)
    x2 = np.minimum(width, center_x + R)
    img = img.crop([x1, y1, x2, y2])
    return np.asarray(img.resize((size, size), Image.Resampling.BILINEAR))


# ----------------------------------------------------------------------------- items and their contract

def test_cub_items_carry_captions_embeddings_and_stackgans_crop(tmp_path):
    root, emb = _cub_root(tmp_path)
    ds = get_dataset("cub-200-2011", str(root), None, 64)  # the card's eval split: test
    assert ds.split == "test" and [s.key for s in ds.samples] == CUB_TEST and len(ds) == 3
    boxes = [line.split()[1:] for line in (root / "CUB_200_2011" / "bounding_boxes.txt").read_text().splitlines()]
    for i in range(3):
        it = ds[i]
        assert it["image"].dtype.is_floating_point is False and tuple(it["image"].shape) == (3, 64, 64)
        assert tuple(it["label"].shape) == (1, 64, 64) and int(it["label"].abs().sum()) == 0
        assert tuple(it["instance"].shape) == (1, 64, 64) and int(it["instance"].abs().sum()) == 0
        assert it["path"].endswith(f"{CUB_TEST[i]}.jpg")
        assert it["captions"] == _captions(CUB_TEST[i], 10)
        assert it["embeddings"].dtype.is_floating_point and tuple(it["embeddings"].shape) == (10, 1024)
        assert np.array_equal(it["embeddings"].numpy(), emb["test"][i])
        assert it["caption"] == it["captions"][0]  # the card's "first": StackGAN's evaluation
        assert np.array_equal(it["embedding"].numpy(), emb["test"][i][0])
        bbox = [int(float(v)) for v in boxes[i]]
        ref = _stackgan_get_img(root / "CUB_200_2011" / "images" / f"{CUB_TEST[i]}.jpg", bbox, 64)
        assert np.array_equal(it["image"].permute(1, 2, 0).numpy(), ref)
    assert len(get_dataset("cub-200-2011", str(root), "train", 64)) == 2
    assert ds.resolution == (64, 64) and get_dataset("cub-200-2011", str(root)).resolution == (256, 256)


def test_a_batch_reaches_the_text_task(tmp_path):
    root, emb = _cub_root(tmp_path)
    ds = get_dataset("cub-200-2011", str(root), "test", 64)
    batch = collate([ds[0], ds[1], ds[2]])
    assert tuple(batch["embeddings"].shape) == (3, 10, 1024) and tuple(batch["embedding"].shape) == (3, 1024)
    assert batch["caption"] == [ds[i]["captions"][0] for i in range(3)]
    assert batch["captions"] == [_captions(CUB_TEST[i], 10) for i in range(3)]  # a list of C captions per item
    out = ds.task.adapter_batch(batch, ds.task_params, [s.key for s in ds.samples])
    assert tuple(out["embedding"].shape) == (3, 1024) and out["caption"] == batch["caption"]
    assert np.array_equal(out["embedding"].numpy(), np.stack([emb["test"][i][0] for i in range(3)]))


def test_eval_caption_rotate_conditions_item_i_on_caption_i_mod_c(tmp_path, monkeypatch):
    """A card posing ``eval_caption`` "rotate" gets caption i mod C of item i (the card's own is "first")."""
    from bench.data import load_card

    root, emb = _cub_root(tmp_path)
    card = load_card("cub-200-2011")
    monkeypatch.setitem(card.raw, "task_params", {"embedding_dim": 1024, "eval_caption": "rotate"})
    ds = get_dataset("cub-200-2011", str(root), "test", 64)
    for i in range(3):
        it = ds[i]
        assert it["caption"] == it["captions"][i] and np.array_equal(it["embedding"].numpy(), emb["test"][i][i])
    assert ds.fingerprint()["task_params"]["eval_caption"] == "rotate"


def test_fingerprint_holds_the_metadata_hashes(tmp_path):
    root, _ = _cub_root(tmp_path)
    fp = get_dataset("cub-200-2011", str(root), "test", 64).fingerprint()
    sha = {f: hashlib.sha256((root / f).read_bytes()).hexdigest()
           for f in ("test/filenames.pickle", "test/char-CNN-RNN-embeddings.pickle", "CUB_200_2011/bounding_boxes.txt",
                     "CUB_200_2011/images.txt")}
    assert {k: fp["metadata_sha256"][k] for k in sha} == sha
    assert fp["crop"] == "stackgan-bbox-0.75" and fp["captions_per_image"] == 10 and fp["task"] == "text"
    assert get_dataset("cub-200-2011", str(root), "test", 64).fingerprint() == fp  # same files, same fingerprint
    # other embeddings (same shape): another fingerprint
    other = np.random.default_rng(9).standard_normal((3, 10, 1024)).astype(np.float32)
    tmp = root / "test" / "new.pickle"  # replaced atomically, as a download would be: a new inode
    tmp.write_bytes(py2_dumps(other))
    tmp.replace(root / "test" / "char-CNN-RNN-embeddings.pickle")
    fp2 = get_dataset("cub-200-2011", str(root), "test", 64).fingerprint()
    assert fp2["metadata_sha256"]["test/char-CNN-RNN-embeddings.pickle"] != sha["test/char-CNN-RNN-embeddings.pickle"]
    assert fp2 != fp
    # another caption text: another fingerprint (a method with its own text encoder reads the words)
    cap = root / "text_c10" / f"{CUB_TEST[0]}.txt"
    cap.write_text(cap.read_text().replace("white belly", "black belly"))
    assert get_dataset("cub-200-2011", str(root), "test", 64).fingerprint() != fp2


def test_the_preprocessing_cache_follows_the_boxes(tmp_path):
    """The cached crops are keyed by bounding_boxes.txt too: the image file is unchanged, the crop is not."""
    root, _ = _cub_root(tmp_path)
    first = get_dataset("cub-200-2011", str(root), "test", 64)[0]["image"]
    again = get_dataset("cub-200-2011", str(root), "test", 64)[0]["image"]  # from the cache
    assert np.array_equal(first.numpy(), again.numpy())
    path = root / "CUB_200_2011" / "bounding_boxes.txt"
    lines = path.read_text().splitlines()
    first_box = [float(v) for v in lines[0].split()[1:]]
    lines[0] = "1 30.0 20.0 20.0 15.0"
    path.write_text("\n".join(lines) + "\n")
    moved = get_dataset("cub-200-2011", str(root), "test", 64)[0]["image"]
    ref = _stackgan_get_img(root / "CUB_200_2011" / "images" / f"{CUB_TEST[0]}.jpg", [30, 20, 20, 15], 64)
    assert np.array_equal(moved.permute(1, 2, 0).numpy(), ref) and not np.array_equal(moved.numpy(), first.numpy())
    bigger = get_dataset("cub-200-2011", str(root), "test", 64).at_resolution((96, 96))
    ref = _stackgan_get_img(root / "CUB_200_2011" / "images" / f"{CUB_TEST[0]}.jpg", [30, 20, 20, 15], 96)
    assert np.array_equal(bigger[0]["image"].permute(1, 2, 0).numpy(), ref) and bigger[0]["captions"]
    # and back: the larger copy's cache (made by at_resolution) is keyed by the boxes as well
    original = [float(v) for v in path.read_text().splitlines()[0].split()[1:]]
    lines[0] = "1 " + " ".join(str(v) for v in first_box)
    path.write_text("\n".join(lines) + "\n")
    back = get_dataset("cub-200-2011", str(root), "test", 64).at_resolution((96, 96))
    ref = _stackgan_get_img(root / "CUB_200_2011" / "images" / f"{CUB_TEST[0]}.jpg", first_box, 96)
    assert original == [30, 20, 20, 15] and np.array_equal(back[0]["image"].permute(1, 2, 0).numpy(), ref)


def test_flowers_captions_follow_class_info_and_images_are_whole(tmp_path):
    root, emb = _flowers_root(tmp_path)
    ds = get_dataset("oxford-102", str(root), None, 64)
    assert ds.split == "test" and [s.key for s in ds.samples] == ["image_00001", "image_00002", "image_00003"]
    it = ds[2]
    assert it["captions"] == _captions("jpg/image_00003", 10) and it["caption"] == it["captions"][0]
    assert np.array_equal(it["embeddings"].numpy(), emb["test"][2])
    ref = np.asarray(Image.open(root / "jpg" / "image_00003.jpg").convert("RGB").resize((64, 64), Image.BILINEAR))
    assert np.array_equal(it["image"].permute(1, 2, 0).numpy(), ref)
    fp = ds.fingerprint()
    assert "test/class_info.pickle" in fp["metadata_sha256"] and fp["crop"] is None
    # a class id that points at another caption folder: the caption file of that class is not there
    (root / "test" / "class_info.pickle").write_bytes(py2_dumps([77, 5, 77]))
    with pytest.raises(BenchError, match=r"entry 1 'jpg/image_00002': caption file .*class_00005/image_00002.txt "
                                         r"not found"):
        get_dataset("oxford-102", str(root), "test", 64)
    (root / "test" / "class_info.pickle").write_bytes(py2_dumps([77, 77]))
    with pytest.raises(BenchError, match=r"class_info.pickle: expected 3 integer class ids"):
        get_dataset("oxford-102", str(root), "test", 64)


def test_coco_val_reads_the_test_folder_and_the_first_five_captions(tmp_path):
    root, emb = _coco_root(tmp_path)
    ds = get_dataset("coco-captions", str(root), None, 64)
    assert ds.split == "val" and [s.key for s in ds.samples] == COCO_VAL
    it0, it1 = ds[0], ds[1]
    anns = json.loads((root / "annotations" / "captions_val2014.json").read_text())["annotations"]
    in_file_order = [a["caption"].strip() for a in anns if a["image_id"] == 391895]
    assert len(in_file_order) == 6 and it0["captions"] == in_file_order[:5]  # 5 of 6, the file's order, stripped
    assert it0["captions"][1] == f"A photo 2 of {COCO_VAL[0]}."
    assert it1["caption"] == it1["captions"][1] and tuple(it1["embeddings"].shape) == (5, 1024)
    assert np.array_equal(it1["embedding"].numpy(), emb["val"][1][1])
    assert tuple(it1["image"].shape) == (3, 64, 64)  # the greyscale JPEG, replicated to RGB
    assert "annotations/captions_val2014.json" in ds.fingerprint()["metadata_sha256"]
    assert len(get_dataset("coco-captions", str(root), "train", 64)) == 2
    assert ds.layout == "coco2014"
    # StackGAN-Pytorch's layout: every image in images/ (its TextDataset reads images/<name>.jpg)
    (root / "val2014").rename(root / "images")
    moved = get_dataset("coco-captions", str(root), "val", 64)
    assert moved.layout == "stackgan" and np.array_equal(moved[1]["image"].numpy(), it1["image"].numpy())
    (root / "images").rename(root / "val2014")
    # a train image in the val split's metadata, and an image with four captions: one line each
    (root / "test" / "filenames.pickle").write_bytes(py2_dumps([COCO_VAL[0], COCO_TRAIN[0], COCO_VAL[2]]))
    with pytest.raises(BenchError, match=r"test/filenames.pickle: entry 1 'COCO_train2014_000000000009' is not a "
                                         r"val2014 image"):
        get_dataset("coco-captions", str(root), "val", 64)
    (root / "test" / "filenames.pickle").write_bytes(py2_dumps(COCO_VAL))
    ann = root / "annotations" / "captions_val2014.json"
    raw = json.loads(ann.read_text())
    raw["annotations"] = [a for a in raw["annotations"] if not (a["image_id"] == 483108 and a["id"] == 2004)]
    ann.write_text(json.dumps(raw))
    with pytest.raises(BenchError, match=r"entry 2 'COCO_val2014_000000483108': 4 captions in .*captions_val2014.json, "
                                         r"expected at least 5"):
        get_dataset("coco-captions", str(root), "val", 64)


# ----------------------------------------------------------------------------- refusals: one line each

def _drop_last_row(path: Path) -> None:
    arr = np.random.default_rng(3).standard_normal((2, 10, 1024)).astype(np.float32)
    path.write_bytes(py2_dumps(arr))


def _narrow(path: Path) -> None:
    path.write_bytes(py2_dumps(np.zeros((3, 10, 512), np.float32)))


def _with_nan(path: Path) -> None:
    arr = np.zeros((3, 10, 1024), np.float32)
    arr[1, 4, 9] = np.nan
    path.write_bytes(py2_dumps(arr))


def _rows(path: Path, shapes: list[tuple[int, int]], dtype: type = np.float32) -> None:
    """Embeddings as a list of one [C, D] array per image (a layout some copies have)."""
    path.write_bytes(pickle.dumps([np.zeros(shape, dtype) for shape in shapes], protocol=2))


class _Payload:
    def __reduce__(self):
        import os

        return os.system, ("touch PWNED",)


@pytest.mark.parametrize("damage, needle", [
    (lambda r: _drop_last_row(r / "test" / "char-CNN-RNN-embeddings.pickle"),
     r"test/char-CNN-RNN-embeddings.pickle: 2 embeddings rows, .*test/filenames.pickle lists 3 images"),
    (lambda r: _narrow(r / "test" / "char-CNN-RNN-embeddings.pickle"),
     r"char-CNN-RNN-embeddings.pickle: embeddings shape \[3, 10, 512\], expected \[N, 10, 1024\]"),
    (lambda r: (r / "CUB_200_2011" / "images" / f"{CUB_TEST[1]}.jpg").unlink(),
     r"test/filenames.pickle: entry 1 '001.Black_footed_Albatross/Black_Footed_Albatross_0009_34': image .* not found"),
    (lambda r: (r / "text_c10" / f"{CUB_TEST[2]}.txt").unlink(),
     r"entry 2 '.*_0002_55': caption file .*text_c10/001.Black_footed_Albatross/Black_Footed_Albatross_0002_55.txt "
     r"not found"),
    (lambda r: (r / "text_c10" / f"{CUB_TEST[0]}.txt").write_text("\n".join(_captions("x", 9)) + "\n"),
     r"entry 0 .*Black_Footed_Albatross_0046_18.txt: 9 caption lines, expected 10"),
    (lambda r: (r / "CUB_200_2011" / "bounding_boxes.txt").write_text("1 6.0 6.0 41.0 33.0\n"),
     r"entry 1 '.*_0009_34': no box in .*bounding_boxes.txt"),
    (lambda r: (r / "test" / "filenames.pickle").write_bytes(py2_dumps(["../../etc/passwd"] + CUB_TEST[1:])),
     r"test/filenames.pickle: entry 0 is '../../etc/passwd', expected a name matching"),
    (lambda r: (r / "test" / "filenames.pickle").write_bytes(py2_dumps(CUB_TEST + CUB_TEST[:1])),
     r"test/filenames.pickle: entry 3 '001.Black_footed_Albatross/Black_Footed_Albatross_0046_18' repeats entry 0"),
    (lambda r: (r / "test" / "filenames.pickle").write_bytes(__import__("pickle").dumps([_Payload()], protocol=2)),
     r"test/filenames.pickle: refused to unpickle global 'posix.system'"),
    (lambda r: _with_nan(r / "test" / "char-CNN-RNN-embeddings.pickle"),
     r"char-CNN-RNN-embeddings.pickle: row 1 holds a non-finite value"),
    (lambda r: (r / "test" / "char-CNN-RNN-embeddings.pickle").unlink(),
     r"test/char-CNN-RNN-embeddings.pickle: not found"),
    (lambda r: _rows(r / "test" / "char-CNN-RNN-embeddings.pickle", [(10, 1024), (10, 512), (10, 1024)]),
     r"char-CNN-RNN-embeddings.pickle: embeddings\[1\] shape \[10, 512\], expected \[10, 1024\]"),
    (lambda r: _rows(r / "test" / "char-CNN-RNN-embeddings.pickle", [(10, 1024)] * 3, np.longdouble),
     r"char-CNN-RNN-embeddings.pickle: embeddings\[0\] of dtype float128, expected float32"),
    (lambda r: (r / "test" / "char-CNN-RNN-embeddings.pickle").write_bytes(py2_dumps(["a", "b", "c"])),
     r"char-CNN-RNN-embeddings.pickle: embeddings\[0\] is 'a', expected a float32 \[10, 1024\] array"),
    (lambda r: (r / "test" / "char-CNN-RNN-embeddings.pickle").write_bytes(py2_dumps(7)),
     r"char-CNN-RNN-embeddings.pickle: embeddings are a int, expected an array \[N, 10, 1024\] or a list"),
    (lambda r: (r / "test" / "filenames.pickle").write_bytes(py2_dumps(np.arange(3, dtype=np.int64))),
     r"test/filenames.pickle: expected a list of file names, got an array int64 \[3\]"),
])
def test_mismatches_are_refused_in_one_line(tmp_path, damage, needle, monkeypatch):
    root, _ = _cub_root(tmp_path)
    monkeypatch.chdir(tmp_path)
    damage(root)
    with pytest.raises(BenchError, match=needle) as exc:
        get_dataset("cub-200-2011", str(root), "test", 64)
    assert "\n" not in str(exc.value)
    assert not (tmp_path / "PWNED").exists()


def test_a_memo_bomb_is_refused_before_it_is_stacked(tmp_path):
    """81 KB naming one [10, 1024] array 20,000 times (pickle's memo) would be 781 MB once ``np.asarray``-ed: the
    count is checked against filenames.pickle first; a list of the right count loads as one float32 array."""
    root, emb = _cub_root(tmp_path)
    path = root / "test" / "char-CNN-RNN-embeddings.pickle"
    row = emb["test"][0]
    path.write_bytes(pickle.dumps([row] * 20_000, protocol=4))
    assert path.stat().st_size < 85_000
    tracemalloc.start()
    try:
        with pytest.raises(BenchError, match=r"char-CNN-RNN-embeddings.pickle: 20000 embeddings rows, "
                                             r".*test/filenames.pickle lists 3 images") as exc:
            get_dataset("cub-200-2011", str(root), "test", 64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "\n" not in str(exc.value) and peak < 50 * 2**20, peak
    # the same rows, one list entry per image (shared or not): loaded, as float32 [3, 10, 1024]
    path.write_bytes(pickle.dumps([row, row, emb["test"][2].astype(np.float64)], protocol=2))
    ds = get_dataset("cub-200-2011", str(root), "test", 64)
    assert ds.embeddings.dtype == np.float32 and ds.embeddings.shape == (3, 10, 1024)
    assert np.array_equal(ds.embeddings[1], row) and np.array_equal(ds.embeddings[2], emb["test"][2])
    path.write_bytes(py2_dumps(list(emb["test"])))  # a Python 2 list of arrays
    assert np.array_equal(get_dataset("cub-200-2011", str(root), "test", 64).embeddings, emb["test"])


def test_class_info_entries_are_checked_before_use(tmp_path):
    root, _ = _flowers_root(tmp_path)
    path = root / "test" / "class_info.pickle"
    for obj, needle in (([77, "77", 77], r"expected 3 integer class ids .*, got '77' at entry 1"),
                        ([77, 77.0, 77], r"got a float at entry 1"),
                        ([77, 103, 77], r"class id 103 outside 1-102"),
                        (np.array([77, 77, 77], np.float32), r"got float32 \[3\]"),
                        ({"a": 1}, r"got a dict")):
        path.write_bytes(pickle.dumps(obj, protocol=2))
        with pytest.raises(BenchError, match=needle):
            get_dataset("oxford-102", str(root), "test", 64)
    path.write_bytes(pickle.dumps(np.array([77, 77, 77], np.int32), protocol=2))
    assert len(get_dataset("oxford-102", str(root), "test", 64)) == 3


@pytest.mark.parametrize("rule", ["first", "rotate"])
def test_eval_caption_is_the_items_caption_without_decoding_the_image(tmp_path, monkeypatch, rule):
    """``eval_caption(i)`` is ``ds[i]["caption"]`` (the runner asks it for every condition), read from the caption
    files at load time: no image is decoded."""
    from bench.data import load_card

    for name, make in (("cub-200-2011", _cub_root), ("coco-captions", _coco_root)):
        card = load_card(name)
        params = dict(card.raw["task_params"], eval_caption=rule)
        monkeypatch.setitem(card.raw, "task_params", params)
        root, _ = make(tmp_path / name)
        ds = get_dataset(name, str(root), None, 64)
        want = [ds[i]["caption"] for i in range(len(ds))]
        C = ds.captions_per_image
        assert want == [ds[i]["captions"][i % C if rule == "rotate" else 0] for i in range(len(ds))]

        def no_decode(*args, **kwargs):
            raise AssertionError("eval_caption decoded an image")

        monkeypatch.setattr(ds, "arrays", no_decode)
        monkeypatch.setattr(ds, "_decode", no_decode)
        assert [ds.eval_caption(i) for i in range(len(ds))] == want
        assert ds.eval_caption(-1) == want[-1]
        with pytest.raises(IndexError):
            ds.eval_caption(len(ds))
        bigger = ds.at_resolution((96, 96))  # a copy keeps the captions
        assert [bigger.eval_caption(i) for i in range(len(ds))] == want


# ----------------------------------------------------------------------------- bench data verify / show

def test_verify_and_show_on_the_stand_in_roots(tmp_path, capsys):
    from bench.data.verify import verify

    root, _ = _cub_root(tmp_path)
    rep = verify("cub-200-2011", root)
    assert {r.split: (r.found, r.expected) for r in rep.splits} == {"train": (2, 8855), "test": (3, 2933)}
    assert not rep.ok  # a few of the published images: missing, said per split
    assert all(set(r.problems) == {"missing"} for r in rep.splits), [r.problems for r in rep.splits]
    (root / "CUB_200_2011" / "images" / f"{CUB_TEST[1]}.jpg").unlink()
    lines = "\n".join(verify("cub-200-2011", root, "test").lines())
    assert "test: FAIL  2/2933" in lines and "_0009_34': image" in lines and "not found" in lines
    (root / "test" / "char-CNN-RNN-embeddings.pickle").write_bytes(py2_dumps(np.zeros((3, 10, 8), np.float32)))
    lines = "\n".join(verify("cub-200-2011", root, "test").lines())
    assert "embeddings shape [3, 10, 8]" in lines

    froot, _ = _flowers_root(tmp_path)
    rep = verify("oxford-102", froot)
    assert {r.split: r.found for r in rep.splits} == {"train": 2, "test": 3}
    assert main(["data", "verify", "--dataset", "oxford-102", "--root", str(froot)]) == 1
    assert "test: FAIL  3/1155 pairs (stackgan layout)" in capsys.readouterr().out

    croot, _ = _coco_root(tmp_path)
    rep = verify("coco-captions", croot)
    assert {r.split: r.found for r in rep.splits} == {"train": 2, "val": 3}
    out = tmp_path / "grid.png"
    assert main(["data", "show", "--dataset", "coco-captions", "--root", str(croot), "--resolution", "64x64",
                 "-n", "3", "--out", str(out)]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape[1] == 64 + 2 + 64 and grid.shape[0] >= 3 * 64
    assert main(["data", "show", "--dataset", "oxford-102", "--root", str(froot), "--resolution", "64x64",
                 "--out", str(tmp_path / "f.png")]) == 0
