"""The attribute track's datasets: the embedded synthetic-streets-attributes (three attributes, hidden pairs) and
CelebA as distributed (a stand-in root in the published file formats: the partition and attribute lists, 178x218
JPEGs)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch

from bench.cli import main
from bench.data import get_dataset
from bench.errors import BenchError

NAME = "synthetic-streets-attributes"


# ----------------------------------------------------------------------------- synthetic-streets-attributes

def test_views_differ_only_by_their_attributes_and_share_each_attributes_randomness():
    """Every attribute changes the image; flipping one attribute off and on again gives the same view (the
    per-attribute seeds), and the day view is synthetic-streets' own photo."""
    from bench.data.attributes import ATTRIBUTES, styled

    ds = get_dataset(NAME, split="val")
    day, label, _ = ds.daylight(3)
    base = get_dataset("synthetic-streets", split="val").arrays(3)[0]
    assert np.array_equal(styled(day, label, (0, 0, 0), ds.seed, "val", 3), base)
    views = {a: styled(day, label, a, ds.seed, "val", 3) for a in itertools.product((0, 1), repeat=len(ATTRIBUTES))}
    for a, b in itertools.combinations(views, 2):
        assert not np.array_equal(views[a], views[b]), (a, b)
    # the dusk-only view is dusk2day's dusk view of the same scene (one dusk stream for both sets)
    dusk2day = get_dataset("synthetic-streets-dusk2day", split="val")[3]["source"].permute(1, 2, 0).numpy()
    assert np.array_equal(views[(1, 0, 0)], dusk2day)
    # autumn changes vegetation pixels only
    changed = (views[(0, 0, 1)] != views[(0, 0, 0)]).any(-1)
    from bench.data.synthetic import VEGETATION

    assert changed.any() and not (changed & (label != VEGETATION)).any()


def test_items_hold_the_source_its_attributes_and_the_hidden_target():
    from bench.data.attributes import domain_index, flipped, scene_attributes, styled

    ds = get_dataset(NAME, split="val")
    assert len(ds) == 100 and ds.task.name == "attribute"
    for j in (0, 1, 2, 37):
        it = ds[j]
        own = scene_attributes(ds.seed, "val", j)
        target = flipped(own, j % 3)
        assert tuple(int(a) for a in it["source_attributes"]) == own
        assert tuple(int(a) for a in it["attributes"]) == target
        assert sum(a != b for a, b in zip(own, target)) == 1
        day, label, _ = ds.daylight(j)
        assert np.array_equal(it["source"].permute(1, 2, 0).numpy(), styled(day, label, own, ds.seed, "val", j))
        assert np.array_equal(it["image"].permute(1, 2, 0).numpy(), styled(day, label, target, ds.seed, "val", j))
        assert ds.target_class(j) == domain_index(target)
    # all 8 target domains occur among the 100 val items
    assert {ds.target_class(j) for j in range(len(ds))} == set(range(8))
    train = get_dataset(NAME, split="train")
    assert len(train) == 400 and torch.equal(train[5]["source"], train[5]["image"])
    assert torch.equal(train[5]["source_attributes"], train[5]["attributes"])


def test_the_training_split_is_refused_for_evaluation(tmp_path, capsys):
    assert main(["run", "--method", "identity", "--dataset", NAME, "--split", "train", "--results",
                 str(tmp_path / "r"), "--out", str(tmp_path / "o")]) != 0
    assert "synthetic-streets-attributes train is a training split (its items are translations without a real " \
           "image, for training); evaluate a test split: val" in capsys.readouterr().err


def test_identity_and_oracle_bound_the_track_and_class_acc_is_the_classifiers(tmp_path):
    """identity keeps the source (class acc. 0: the target domain differs in one attribute), the oracle returns the
    hidden target; class acc. equals a direct pass of the embedded classifier over the written samples."""
    from PIL import Image

    from bench.classifiers import get_classifier

    for method in ("identity", "oracle"):
        assert main(["run", "--method", method, "--dataset", NAME, "--limit", "24", "--partial", "--results",
                     str(tmp_path / "lb"), "--out", str(tmp_path / method), "--metrics", "psnr,class_acc"]) == 0
    recs = {r["method"]["name"]: r for r in
            (json.loads(p.read_text()) for p in (tmp_path / "lb" / "results" / NAME).glob("*.json"))}
    ds = get_dataset(NAME, split="val")
    clf = get_classifier("embedded-attributes")
    target = torch.tensor([ds.target_class(j) for j in range(24)])
    for name, rec in recs.items():
        fakes = sorted((tmp_path / name / "fake").glob("*.png"))
        assert len(fakes) == 24
        x = torch.stack([torch.from_numpy(np.array(Image.open(f).convert("RGB"))).permute(2, 0, 1) for f in fakes])
        assert rec["metrics"]["class_acc"] == float((clf(x) == target).double().mean())
        assert dict(rec["protocol"]["task"])["attributes"] == json.dumps(["dusk", "fog", "autumn"])
    assert recs["identity"]["metrics"]["class_acc"] == 0.0 and recs["oracle"]["metrics"]["class_acc"] == 1.0
    assert recs["oracle"]["metrics"]["psnr"] >= 80 and recs["identity"]["metrics"]["psnr"] < 30


# ----------------------------------------------------------------------------- CelebA as distributed

# the 40 attribute names of list_attr_celeba.txt, in the file's order
CELEBA_ATTRS = ("5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose Black_Hair "
                "Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair "
                "Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard Oval_Face "
                "Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair "
                "Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young").split()


def _celeba_root(tmp_path, n=12, parts=(0,) * 6 + (1,) * 3 + (2,) * 3, seed=0):
    """A stand-in CelebA root in the distributed formats: 178x218 JPEGs, the partition and attribute lists (the
    attribute file's two-space alignment of positive values, as the authors' file)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    rows, values = [], rng.choice([-1, 1], size=(n, len(CELEBA_ATTRS)))
    for i in range(n):
        name = f"{i + 1:06d}.jpg"
        img = (rng.random((218, 178, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).save(root / "img_align_celeba" / name, quality=95)
        rows.append(name + "".join(f" {v:2d}" for v in values[i]))
    (root / "list_eval_partition.txt").write_text("".join(f"{i + 1:06d}.jpg {p}\n" for i, p in enumerate(parts)))
    (root / "list_attr_celeba.txt").write_text(f"{n}\n" + " ".join(CELEBA_ATTRS) + " \n" + "\n".join(rows) + "\n")
    return root, values


def test_celeba_splits_attributes_and_stargans_crop(tmp_path):
    """The partition file selects the split; attributes are read in the card's order (-1 -> 0); the centre crop
    equals torchvision's CenterCrop(178) and the resize PIL's bilinear, as StarGAN's transform."""
    from PIL import Image
    from torchvision import transforms

    root, values = _celeba_root(tmp_path)
    ds = get_dataset("celeba", str(root), "test", None)
    assert [s.key for s in ds.samples] == ["000010", "000011", "000012"]
    names = ["Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young"]
    cols = [CELEBA_ATTRS.index(n) for n in names]
    it = ds[1]
    assert it["source_attributes"].tolist() == [float(values[10][c] == 1) for c in cols]
    # StarGAN's transform, applied by torchvision to the file itself
    ref = transforms.Compose([transforms.CenterCrop(178), transforms.Resize(128)])(
        Image.open(root / "img_align_celeba" / "000011.jpg").convert("RGB"))
    got = it["source"].permute(1, 2, 0).numpy()
    assert got.shape == (128, 128, 3)
    assert np.abs(got.astype(int) - np.asarray(ref).astype(int)).max() <= 1  # PIL vs PIL (rounding of the tensor path)
    assert len(get_dataset("celeba", str(root), "train", None)) == 6


def test_celeba_targets_follow_stargans_create_labels():
    """Hair colours are set one-hot, male and young flipped (StarGAN's create_labels for CelebA)."""
    from bench.data.celeba import target_attributes

    names = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    own = (0, 1, 0, 1, 1)
    assert [target_attributes(names, own, k) for k in range(5)] == [
        (1, 0, 0, 1, 1), (0, 1, 0, 1, 1), (0, 0, 1, 1, 1), (0, 1, 0, 0, 1), (0, 1, 0, 1, 0)]


def test_celeba_run_is_refused_partial_unless_asked_and_verify_counts_per_partition(tmp_path, capsys):
    root, _ = _celeba_root(tmp_path)
    args = ["run", "--method", "identity", "--dataset", "celeba", "--root", str(root), "--resolution", "64x64",
            "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run"), "--metrics", "kid"]
    assert main(args) != 0
    assert "19962" in capsys.readouterr().err
    assert main([*args, "--partial"]) == 0
    rec = json.loads(next((tmp_path / "lb" / "results" / "celeba").glob("*.json")).read_text())
    assert rec["dataset"]["n"] == 3 and rec["protocol"]["partial"] is True
    from bench.data.verify import verify

    rep = verify("celeba", root)
    found = {r.split: r.found for r in rep.splits}
    assert found == {"train": 6, "val": 3, "test": 3}
    assert not rep.ok  # 6 of 162,770 training images: missing, said per split


def test_celeba_damaged_files_are_refused_in_one_line(tmp_path):
    root, _ = _celeba_root(tmp_path)
    attr = root / "list_attr_celeba.txt"
    lines = attr.read_text().splitlines()
    attr.write_text("\n".join(lines[:-1]) + "\n")  # a truncated copy: 11 rows, the count says 12
    with pytest.raises(BenchError, match="11 image rows, the first line says 12"):
        get_dataset("celeba", str(root), "test", None)
    attr.write_text("\n".join(lines).replace(" Young", " Old") + "\n")
    with pytest.raises(BenchError, match="list_attr_celeba.txt:2: no attribute 'Young'"):
        get_dataset("celeba", str(root), "test", None)
    (root / "list_eval_partition.txt").write_text("000001.jpg 3\n")
    with pytest.raises(BenchError, match="list_eval_partition.txt:1: expected"):
        get_dataset("celeba", str(root), "test", None)


def test_celeba_missing_listed_images_are_named_and_targets_follow_the_image_id(tmp_path):
    """A test image the partition file lists but the folder lacks: verify names it; a --partial load keeps every
    other face's target (by id, not position). Another image size (the in-the-wild copy) is refused."""
    from PIL import Image

    from bench.data.celeba import target_attributes
    from bench.data.verify import verify

    root, _ = _celeba_root(tmp_path)
    full = get_dataset("celeba", str(root), "test", None)
    want = {full.samples[i].key: full.target_attributes(i) for i in range(len(full))}
    (root / "img_align_celeba" / "000011.jpg").unlink()
    rep = verify("celeba", root, "test")
    lines = "\n".join(rep.lines())
    assert "000011.jpg: listed as test in" in lines and "not found" in lines
    part = get_dataset("celeba", str(root), "test", None)
    assert [s.key for s in part.samples] == ["000010", "000012"]
    assert {part.samples[i].key: part.target_attributes(i) for i in range(2)} == \
        {k: want[k] for k in ("000010", "000012")}
    names = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
    assert part.target_attributes(1) == target_attributes(names, part.source_attributes(1), 12 % 5)
    Image.fromarray(np.zeros((250, 250, 3), np.uint8)).save(root / "img_align_celeba" / "000012.jpg")
    with pytest.raises(BenchError, match="000012.jpg: 250x250, CelebA's aligned faces are 178x218"):
        get_dataset("celeba", str(root), "test", None, cache=False)[1]


def test_dataset_info_is_hashable_and_cannot_edit_the_card():
    """task_params lists reach a generator as tuples: a method cannot change the card (or the fingerprint)."""
    from bench.adapter import dataset_info
    from bench.data import load_card

    ds = get_dataset(NAME, split="val")
    info = dataset_info(ds)
    hash(info)
    assert info.param("attributes") == ("dusk", "fog", "autumn")
    ds.task_params["attributes"].append("snow")
    assert load_card(NAME).raw["task_params"]["attributes"] == ["dusk", "fog", "autumn"]
    assert ds.fingerprint()["task_params"]["attributes"] == ["dusk", "fog", "autumn"]
