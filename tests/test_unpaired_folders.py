"""Unpaired folder sets as CycleGAN distributes them (horse2zebra: trainA/ trainB/ testA/ testB/), on a stand-in copy
with the published test counts under the distributed file names (the real set cannot be downloaded here; its counts
and names come from an unzip listing of the authors' horse2zebra.zip, see datasets/horse2zebra/README.md).

What matters: the real side of FID / KID is the whole partner split (140 zebras for the 120 translated horses), not
the evaluated sources; a partial partner split is refused like a partial source split; training pairs each domain's
train folder with its partner's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.cli import main
from bench.data import get_dataset
from bench.errors import BenchError
from conftest import smooth_images

NAME = "horse2zebra"
PREFIX = {"A": "n02381460_", "B": "n02391049_"}


def _tree(root: Path, counts: dict[str, int]) -> Path:
    for split, n in counts.items():
        folder = root / split
        folder.mkdir(parents=True, exist_ok=True)
        for i, im in enumerate(smooth_images(n, 32, seed=len(split) * 10 + ord(split[-1]) + (split[0] == "t") * 7
                                             + (0 if split.startswith("test") else 100))):
            Image.fromarray(im).save(folder / f"{PREFIX[split[-1]]}{i * 3 + 1}.jpg", quality=95)
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return _tree(tmp_path_factory.mktemp("h2z") / "horse2zebra",
                 {"testA": 120, "testB": 140, "trainA": 5, "trainB": 7})


def test_eval_split_translates_a_and_compares_with_all_of_b(root):
    ds = get_dataset(NAME, root=root)
    assert ds.split == "testA" and len(ds) == 120 and ds.real_set.split == "testB" and len(ds.real_set) == 140
    item = ds[3]
    assert tuple(item["source"].shape) == (3, 256, 256) and item["source"].dtype.__str__() == "torch.uint8"
    assert item["source"].equal(item["image"])  # no hidden pair: the item's image is its source again
    keys = [s.key for s in ds.samples]  # sorted by name, as the authors' make_dataset lists a folder
    assert keys == sorted(f"n02381460_{i * 3 + 1}" for i in range(120)) and keys[3] == "n02381460_103"
    fp = ds.fingerprint()
    assert fp["n"] == 120 and fp["real"]["split"] == "testB" and fp["real"]["n"] == 140
    assert ds.train_split == "trainA"
    other = get_dataset(NAME, root=root, split="testB")  # the other direction
    assert len(other) == 140 and other.real_set.split == "testA" and other.train_split == "trainB"
    assert other.fingerprint() != fp


def test_training_items_pair_each_domain_with_its_partner_cyclically(root):
    ds = get_dataset(NAME, root=root, split="trainA", resolution=64)
    a = get_dataset(NAME, root=root, split="trainA", resolution=64).real_set  # trainB
    assert len(ds) == 7  # max(|trainA| = 5, |trainB| = 7), as the authors' unaligned dataset
    horses = [Image.open(p) for p in sorted((root / "trainA").glob("*.jpg"))]
    for i in range(7):
        item = ds[i]
        want = np.asarray(horses[i % 5].convert("RGB").resize((64, 64), Image.BICUBIC))
        assert np.array_equal(item["source"].permute(1, 2, 0).numpy(), want)
        assert item["image"].equal(a[i % 7]["image"])
    with pytest.raises(IndexError):
        ds[7]
    big = ds.at_resolution((72, 72))  # the random-crop augmentation's larger set: both domains resized
    assert type(big) is type(ds) and len(big) == 7 and big.real_set.resolution == (72, 72)
    assert tuple(big[6]["source"].shape) == (3, 72, 72) and tuple(big[6]["image"].shape) == (3, 72, 72)


def test_identity_run_uses_the_whole_partner_split_as_real_set(root, tmp_path):
    assert main(["run", "--method", "identity", "--dataset", NAME, "--root", str(root), "--resolution", "64x64",
                 "--limit", "10", "--metrics", "fid,kid", "--results", str(tmp_path / "lb"), "--out",
                 str(tmp_path / "run")]) == 0
    rec = json.loads(next((tmp_path / "lb" / "results" / NAME).glob("*.json")).read_text())
    assert rec["dataset"]["n"] == 10 and rec["dataset"]["partial"] is True
    assert rec["dataset"]["real_split"]["split"] == "testB" and rec["dataset"]["real_split"]["n"] == 140
    protocol = dict(rec["protocol"])
    assert protocol["n_real"] == 140 and protocol["n_conditions"] == 10
    assert rec["metrics"]["fid"] > 0 and np.isfinite(rec["metrics"]["kid"])
    evaluation = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    real_dir = Path(evaluation["inputs"]["real"]["dir"])
    zebras = sorted(p.stem for p in (root / "testB").glob("*.jpg"))
    assert sorted(p.stem for p in real_dir.glob("*.png")) == zebras  # all 140 zebras, not the 10 horses
    want = np.asarray(Image.open(root / "testB" / f"{zebras[0]}.jpg").convert("RGB").resize((64, 64), Image.BICUBIC))
    assert np.array_equal(np.asarray(Image.open(real_dir / f"{zebras[0]}.png")), want)
    fakes = sorted(p.stem for p in (tmp_path / "run" / "fake").glob("*.png"))
    assert len(fakes) == 10 and all(k.startswith(PREFIX["A"]) for k in fakes)
    grid = np.asarray(Image.open(tmp_path / "run" / "grid.png"))
    assert grid.shape[1] == 2 * 64  # source | translation: no real column, nothing is paired


def test_partial_partner_split_and_the_oracle_are_refused(root, tmp_path, capsys):
    ds_root = _tree(tmp_path / "h2z", {"testA": 120, "testB": 139})
    code = main(["run", "--method", "identity", "--dataset", NAME, "--root", str(ds_root), "--resolution", "64x64",
                 "--limit", "4", "--metrics", "fid", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "r1")])
    err = capsys.readouterr().err
    assert code != 0 and "testB" in err and "139 pair(s) found" in err and "140" in err
    assert not (tmp_path / "lb").exists()
    code = main(["run", "--method", "oracle", "--dataset", NAME, "--root", str(root), "--resolution", "64x64",
                 "--limit", "4", "--metrics", "fid", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "r2")])
    err = capsys.readouterr().err
    assert code != 0 and "oracle" in err and "testB" in err and "unpaired" in err


def test_verify_checks_each_folder_against_its_published_count(root):
    from bench.data.verify import verify

    rep = verify(NAME, root)
    by_split = {s.split: s for s in rep.splits}
    assert by_split["testA"].ok and by_split["testB"].ok
    assert not by_split["trainA"].ok and "1062 of the 1067" in str(by_split["trainA"].problems)


def test_a_file_of_the_other_domain_is_refused(tmp_path):
    ds_root = _tree(tmp_path / "h2z", {"testA": 119, "testB": 140})
    Image.fromarray(smooth_images(1, 32)[0]).save(ds_root / "testA" / "n02391049_5.jpg")  # a zebra among horses
    with pytest.raises(BenchError, match="not named like the split's files"):
        from bench.runner import check_split

        check_split(get_dataset(NAME, root=ds_root), None, False)


def test_a_split_without_partner_is_one_line():
    from types import SimpleNamespace

    from bench.data.unpaired_folders import partner

    card = SimpleNamespace(name="x", path="x/card.json", splits={"testA": 1, "trainA": 2, "trainB": 2})
    assert partner(card, "trainB") == "trainA"
    with pytest.raises(BenchError, match="no partner domain"):
        partner(card, "testA")


def test_cyclegan_trains_on_the_evaluated_domains_train_folders(root, tmp_path):
    """--train on testB trains B -> A on trainB with trainA as targets, in its own folder (never resuming A -> B)."""
    for split in ("testA", "testB"):
        assert main(["run", "--method", "cyclegan", "--config", "mini", "--train", "--train-steps", "2", "--dataset",
                     NAME, "--root", str(root), "--split", split, "--resolution", "64x64", "--limit", "2",
                     "--metrics", "kid", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / split)]) == 0
    for split, train in (("testA", "trainA"), ("testB", "trainB")):
        rec = json.loads((tmp_path / split / f"train-cyclegan-mini-{NAME}-{train}-seed0" / "train.json").read_text())
        assert rec["identity"]["split"] == train and rec["step"] == 2 and rec["complete"]


@pytest.mark.parametrize("name,split,good,bad", [
    # file names as the distributed zips hold them (seen in public listings; datasets/<name>/README.md)
    ("horse2zebra", "testA", "n02381460_1000", "n02391049_1000"),
    ("apple2orange", "testA", "n07740461_1541", "n07749192_4241"),
    ("apple2orange", "testB", "n07749192_4241", "n07740461_1541"),
    ("summer2winter_yosemite", "testA", "2010-10-05 13:45:11", "00001"),
    ("summer2winter_yosemite", "trainB", "2007-05-02 01_07_01", "n07740461_1"),  # unpacked on Windows: _ for :
    ("monet2photo", "trainA", "00001", "2013-11-08 16_45_24"),
    ("monet2photo", "testB", "2014-08-02 15_56_41", "00001"),
])
def test_manifest_name_patterns_take_the_distributed_names(name, split, good, bad):
    import re

    from bench.data import load_card, load_manifest

    card = load_card(name)
    pattern = load_manifest(card, split).raw["key_pattern"]
    assert re.match(pattern, good) and not re.match(pattern, bad)
    assert sum(card.splits.values()) > 0 and all(s[-1] in "AB" for s in card.splits)


def test_samples_of_one_source_are_one_condition_and_train_splits_are_not_evaluated(root, tmp_path, capsys):
    """With 2 samples per source the diversity metrics group fake <key>/<i>.png by source, although no real image
    (the partner split) has the source's name; a training split (cyclic pairs) is refused in one line."""
    assert main(["run", "--method", "identity", "--dataset", NAME, "--root", str(root), "--resolution", "64x64",
                 "--limit", "3", "--samples-per-label", "2", "--metrics", "msssim_diversity", "--results",
                 str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) == 0
    rec = json.loads(next((tmp_path / "lb" / "results" / NAME).glob("*.json")).read_text())
    assert rec["metrics"]["msssim_diversity"] == pytest.approx(1.0)  # identity: both samples are the source
    request = json.loads((tmp_path / "run" / "evaluation.request.json").read_text())
    assert request["candidates"] and "fid" in request["candidates"] and request["classifier"] is None
    assert main(["run", "--method", "identity", "--dataset", NAME, "--root", str(root), "--split", "trainA",
                 "--partial", "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "r2")]) != 0
    assert "trainA is a training split" in capsys.readouterr().err
