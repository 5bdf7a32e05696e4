"""The embedded translation track ``synthetic-streets-dusk2day``: dusk views drawn deterministically from the
synthetic-streets photos; unpaired training items (never two views of one scene), hidden pairs at evaluation; the
``unpaired`` task with hidden pairs adds the paired and label metrics; identity and oracle run end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.cli import main
from bench.data import get_dataset
from bench.data.synthetic import SKY, make_sample
from bench.data.translation import dusk, dusk_seed
from bench.tasks import get_task

NAME = "synthetic-streets-dusk2day"


@pytest.fixture(scope="module")
def val():
    return get_dataset(NAME)


@pytest.fixture(scope="module")
def train():
    return get_dataset(NAME, split="train")


def test_dusk_is_a_deterministic_function_of_photo_label_and_seed():
    image, label, _ = make_sample(0, "val", 3, (64, 64))
    a = dusk(image, label, dusk_seed(0, "val", 3))
    assert a.dtype == np.uint8 and a.shape == image.shape
    assert np.array_equal(a, dusk(image, label, dusk_seed(0, "val", 3)))
    assert not np.array_equal(a, dusk(image, label, dusk_seed(0, "val", 4)))
    # darker than the day photo outside the sky, and the sky glows towards the horizon (red rises, row by row)
    ground = label != SKY
    assert a[ground].mean() < 0.7 * image[ground].mean()
    rows = [r for r in range(64) if (label[r] == SKY).any()]
    reds = [a[r, label[r] == SKY, 0].astype(float).mean() for r in rows]
    assert len(rows) >= 8 and reds[-1] > reds[0] + 60


def test_val_items_are_hidden_pairs(val):
    assert len(val) == 100 and val.task.name == "unpaired" and val.task_params == {"hidden_pairs": True}
    for i in (0, 57):
        item = val[i]
        image, label, _ = make_sample(0, "val", i, (64, 64))
        assert np.array_equal(item["image"].permute(1, 2, 0).numpy(), image)
        assert np.array_equal(item["label"][0].numpy(), label)
        assert np.array_equal(item["source"].permute(1, 2, 0).numpy(), dusk(image, label, dusk_seed(0, "val", i)))


def test_training_items_never_hold_two_views_of_one_scene(train):
    n = len(train)
    assert n == 200  # the 400 training scenes: 200 seen by day, the other 200 at dusk
    for i in (0, 199):
        item = train[i]
        day, _, _ = make_sample(0, "train", i, (64, 64))
        other, other_label, _ = make_sample(0, "train", i + n, (64, 64))
        assert np.array_equal(item["image"].permute(1, 2, 0).numpy(), day)
        assert np.array_equal(item["source"].permute(1, 2, 0).numpy(),
                              dusk(other, other_label, dusk_seed(0, "train", i + n)))
    with pytest.raises(IndexError):
        train[n]
    # scored on the training split, nothing is paired: no content metrics
    assert not train.task.uses_labels and "psnr" not in train.task.metrics


def test_hidden_pairs_add_the_content_metrics_and_labels():
    plain = get_task("unpaired")
    assert not plain.uses_labels and "miou" not in plain.metrics
    hidden = plain.refined({"hidden_pairs": True})
    assert hidden.uses_labels and {"psnr", "ssim", "lpips", "miou"} <= set(hidden.metrics)
    assert plain.refined({"hidden_pairs": False}) is plain


def test_identity_and_oracle_run_end_to_end(tmp_path):
    for method in ("identity", "oracle"):
        assert main(["run", "--method", method, "--dataset", NAME, "--limit", "8", "--partial", "--metrics",
                     "psnr,ssim,miou,class_acc", "--results", str(tmp_path / "lb"), "--out",
                     str(tmp_path / method)]) == 0
    recs = {r["method"]["name"]: r for r in
            (json.loads(p.read_text()) for p in (tmp_path / "lb" / "results" / NAME).glob("*.json"))}
    ident, oracle = recs["identity"], recs["oracle"]
    assert ident["fingerprint"] == oracle["fingerprint"]
    assert dict(ident["protocol"]["task"])["hidden_pairs"] == "true"
    assert oracle["metrics"]["psnr"] >= 80 and ident["metrics"]["psnr"] < 15
    # the embedded segmenter reads daylight photos: the dusk source itself scores far below the target
    assert ident["metrics"]["miou"] + 0.3 < oracle["metrics"]["miou"]
    # class acc.: the embedded day / dusk classifier takes no dusk source and every daylight target for day;
    # recomputed directly from the written samples
    from bench.classifiers import get_classifier
    from PIL import Image

    clf = get_classifier("embedded-daytime")
    for name, rec in recs.items():
        fakes = sorted((tmp_path / name / "fake").glob("*.png"))
        x = torch.stack([torch.from_numpy(np.array(Image.open(f).convert("RGB"))).permute(2, 0, 1) for f in fakes])
        assert rec["metrics"]["class_acc"] == float((clf(x) == 0).double().mean())
        assert dict(rec["protocol"]["classifier"])["name"] == json.dumps("embedded-daytime")  # frozen as JSON
    assert ident["metrics"]["class_acc"] == 0.0 and oracle["metrics"]["class_acc"] == 1.0


def test_a_run_evaluated_before_its_dataset_named_a_classifier_is_evaluated_again(tmp_path, monkeypatch, capsys):
    """evaluation.request.json holds the dataset's classifier: a folder evaluated without it (an older loader.json)
    is evaluated again rather than reused without the class acc. column."""
    from bench import runner

    args = ["run", "--method", "identity", "--dataset", NAME, "--limit", "4", "--partial", "--results",
            str(tmp_path / "lb"), "--out", str(tmp_path / "run")]
    with monkeypatch.context() as m:
        m.setattr(runner, "_classifier_for", lambda ds: None)
        assert main(args) == 0
    first = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert "class_acc" not in first["metrics"]
    capsys.readouterr()
    assert main(args) == 0
    assert "the dataset's classifier or the task's metrics); evaluating again" in capsys.readouterr().err
    again = json.loads((tmp_path / "run" / "evaluation.json").read_text())
    assert again["metrics"]["class_acc"] == 0.0


def test_class_acc_at_another_size_than_the_classifiers_is_unavailable_not_fatal(tmp_path):
    """The day / dusk classifier takes 64x64 images: at 128x128 class acc. is listed unavailable with the reason
    (the other metrics are computed), and refused in one line only when asked for by name."""
    from conftest import smooth_images, write_folder

    from bench.errors import BenchError
    from bench.evaluate import EvalOptions, evaluate_folders

    real = write_folder(tmp_path / "real", smooth_images(4, 128))
    fake = write_folder(tmp_path / "fake", smooth_images(4, 128, seed=1))
    classes = {f"{i:04d}": 0 for i in range(4)}
    rec = evaluate_folders(real, fake, opts=EvalOptions(candidates=("psnr", "class_acc"), classes=classes,
                                                        classifier="embedded-daytime", progress=False))
    assert "psnr" in rec["metrics"] and "class_acc" not in rec["metrics"]
    assert "takes 64x64 images, these are 128x128" in rec["unavailable"]["class_acc"]
    with pytest.raises(BenchError, match="takes 64x64 images, these are 128x128"):
        evaluate_folders(real, fake, opts=EvalOptions(metrics=("class_acc",), classes=classes,
                                                      classifier="embedded-daytime", progress=False))


def test_another_resolution_keeps_the_dusk_views_and_their_seed():
    """at_resolution (the random-crop augmentation's larger set) keeps the subclass and its seed."""
    from bench.data.translation import HiddenPairDataset

    ds = HiddenPairDataset.wrap(get_dataset(NAME), seed=3)
    big = ds.at_resolution((96, 96))
    assert type(big) is HiddenPairDataset and big.seed == 3 and big.resolution == (96, 96)
    assert tuple(big[0]["source"].shape) == (3, 96, 96) and big.fingerprint()["seed"] == 3
