"""Dataset cards and manifests: every card validates, the published tables are as the sources say."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.data import DATASETS, get_dataset, load_card, load_manifest, num_classes, segmenter_mapping
from bench.data.cards import validate_card
from bench.errors import BenchError

from conftest import shared_samples  # noqa: E402 - the tests folder is on sys.path

SAMPLES = shared_samples()


def samples_dir() -> Path:
    assert SAMPLES.is_dir(), f"shared sample files not found at {SAMPLES} (expected ../shared/samples next to the repo)"
    return SAMPLES


@pytest.mark.parametrize("name", DATASETS.names())
def test_every_registered_dataset_has_a_valid_card_and_manifests(name):
    card = load_card(name)
    assert card.name == name and card.version >= 1 and len(card.sha256) == 64
    assert card.eval_split in card.splits
    for split in card.splits:
        for res in card.resolutions or [None]:
            m = load_manifest(card, split, res)
            assert m.count == card.splits[split]
    lut = card.segmenter_lut()
    assert lut.shape == (card.num_classes,)
    assert ((lut >= 0) & (lut < card.segmenter_num_classes) | (lut == card.ignore_index)).all()
    assert card.palette().shape == (card.num_classes, 3)
    assert (card.path.parent / "README.md").is_file()


def test_datasets_are_discovered_from_the_card_folders():
    from bench.data import default_segmenter
    from bench.data.cards import datasets_dir
    from bench.segmenters import SEGMENTERS

    folders = sorted(p.parent.name for p in datasets_dir().glob("*/card.json"))
    assert DATASETS.names() == folders
    for name in folders:
        assert callable(DATASETS.get(name))
        seg = default_segmenter(name)
        assert seg is None or seg in SEGMENTERS
    # what the published numbers of each card use (was bench.segmenters.DEFAULT_FOR_DATASET)
    with_segmenter = {"ade20k": "upernet101-ade20k", "cityscapes": "drn-d-105-cityscapes",
                      "coco-stuff": "deeplabv2-cocostuff164k", "synthetic-streets": "embedded-synthetic-streets",
                      "synthetic-streets-dusk2day": "embedded-synthetic-streets",
                      "synthetic-streets-attributes": "embedded-synthetic-streets"}
    assert {n: default_segmenter(n) for n in folders} == {n: with_segmenter.get(n) for n in folders}
    assert set(with_segmenter) <= set(folders)


def test_a_new_card_folder_is_a_new_dataset(tmp_path, monkeypatch):
    import shutil

    import bench.data as data
    from bench.data import cards
    from bench.registry import Registry

    src = cards.datasets_dir() / "facades"
    (tmp_path / "facades").mkdir()
    for f in ("card.json", "loader.json"):
        shutil.copy(src / f, tmp_path / "facades" / f)
    raw = json.loads((src / "card.json").read_text())
    raw["name"] = "toy-facades"
    (tmp_path / "toy-facades").mkdir()
    (tmp_path / "toy-facades" / "card.json").write_text(json.dumps(raw))
    monkeypatch.setattr(cards, "datasets_dir", lambda: tmp_path)
    with pytest.raises(BenchError, match=r"toy-facades/loader.json: not a readable JSON loader file"):
        Registry("dataset", fill=data._discover).names()
    (tmp_path / "toy-facades" / "loader.json").write_text('{"loader": "bench.data.facades:load", "segmenter": null}')
    with pytest.raises(BenchError, match="unknown key 'segmenter'"):
        Registry("dataset", fill=data._discover).names()
    (tmp_path / "toy-facades" / "loader.json").write_text(
        '{"loader": "bench.data.facades:load", "default_segmenter": "embedded-synthetic-streets"}')
    reg = Registry("dataset", fill=data._discover)
    assert reg.names() == ["facades", "toy-facades"] and reg.get("toy-facades") is reg.get("facades")
    assert cards.load_loader_spec("toy-facades").default_segmenter == "embedded-synthetic-streets"


def test_unknown_card_key_raises(tmp_path):
    raw = json.loads(load_card("facades").path.read_text())
    raw["eval_resoluton"] = [256, 256]
    with pytest.raises(BenchError, match="unknown key 'eval_resoluton'"):
        validate_card(raw, tmp_path / "card.json")
    raw = json.loads(load_card("facades").path.read_text())
    raw["classes"][0]["colour"] = [0, 0, 0]
    with pytest.raises(BenchError, match=r"classes\[0\]: unknown key 'colour'"):
        validate_card(raw, tmp_path / "card.json")


def test_unknown_dataset_and_option_raise():
    with pytest.raises(BenchError, match="did you mean 'cityscapes'"):
        get_dataset("citiscapes")
    with pytest.raises(BenchError, match="unknown option 'cach'"):
        get_dataset("synthetic-streets", cach=False)


def test_cityscapes_table_is_cityscapesscripts():
    card = load_card("cityscapes")
    assert len(card.classes) == 34 and card.raw_ids() == list(range(34))
    lut, n, ignore = segmenter_mapping("cityscapes")
    assert (n, ignore) == (19, 255)
    # labelIds -> trainIds as cityscapesscripts/helpers/labels.py
    expected = {7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13,
                27: 14, 28: 15, 31: 16, 32: 17, 33: 18}
    for i in range(34):
        assert lut[i] == expected.get(i, 255), i
    assert num_classes("cityscapes") == {"generator": 35, "segmenter": 19}
    assert card.class_names()[26] == "car" and tuple(card.palette()[26]) == (0, 0, 142)
    assert card.eval_resolution == (256, 512) and card.splits == {"train": 2975, "val": 500}


def objectinfo150_names() -> dict[int, list[str]]:
    """Idx -> the comma-separated names of objectInfo150.txt's Name column (the csv's ';' also replaces spaces)."""
    lines = (samples_dir() / "ade20k-sceneparsing" / "objectInfo150.txt").read_text().splitlines()
    assert lines[0].split("\t") == ["Idx", "Ratio", "Train", "Val", "Name"]
    rows = [line.split("\t") for line in lines[1:]]
    return {int(r[0]): [n.strip() for n in r[4].split(",")] for r in rows}


def test_ade20k_names_come_from_objectinfo150():
    names = objectinfo150_names()
    card = load_card("ade20k")
    by_id = {c.id: c for c in card.classes}
    synonyms = {c["id"]: c.get("synonyms") for c in card.raw["classes"]}
    assert sorted(names) == list(range(1, 151)) and len(card.classes) == 151
    for k, full in names.items():
        assert (by_id[k].name, synonyms[k]) == (full[0], ";".join(full)), k
    assert by_id[45].name == "chest of drawers" and by_id[137].name == "traffic light"
    # generator: the stored ids (SPADE's and OASIS's releases, tests/test_ade20k_release_input.py); segmenter: k-1
    assert all(c.generator_id == c.id for c in card.classes) and card.num_classes == 151
    assert all(by_id[k].segmenter_id == k - 1 for k in names)
    assert by_id[0].name == "other" and by_id[0].segmenter_id == 255 and by_id[0].generator_id == 0
    assert card.class_names()[0] == "other" and card.class_names()[45] == "chest of drawers"
    assert card.version == 2  # v1 mapped k -> k-1, 0 -> 150: results of the two must never share a fingerprint
    assert card.splits["val"] == 2000 and card.eval_resolution == (256, 256)


def test_coco_stuff_ids():
    card = load_card("coco-stuff")
    ids = card.raw_ids()
    assert ids == list(range(182)) + [255]
    names = card.class_names()
    assert names[0] == "person" and names[181] == "wood" and names[182] == "unlabeled"
    assert card.segmenter_lut()[182] == 255 and card.num_classes == 183
    assert card.splits["val"] == 5000


def test_import_bench_data_is_cheap():
    code = "import sys, bench.data; print(int('torch' in sys.modules), int('numpy' in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["0", "0"]
