"""Task kinds: every task's batch contract, baseline and conformance check; the derived embedded cards; a
super-resolution and an inpainting run end to end; semantic fingerprints untouched by the task field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.adapter import DatasetInfo, Generator, get_method
from bench.cli import main
from bench.conformance import run_checks
from bench.errors import BenchError
from bench.tasks import get_task, task_names

H = W = 32
PALETTE = ((0, 0, 0), (255, 0, 0), (0, 255, 0))


def dataset_batch(b: int = 3, seed: int = 0) -> dict:
    """What a loader of any task yields (each task reads its own keys)."""
    g = torch.Generator().manual_seed(seed)
    return {
        "image": torch.randint(0, 256, (b, 3, H, W), dtype=torch.uint8, generator=g),
        "label": torch.randint(0, 3, (b, 1, H, W), generator=g),
        "instance": torch.zeros((b, 1, H, W), dtype=torch.int64),
        "source": torch.randint(0, 256, (b, 3, H // 2, W // 2), dtype=torch.uint8, generator=g),
        "attributes": torch.randint(0, 2, (b, 5), generator=g).float(),
        "class_id": torch.tensor([i % 3 for i in range(b)]),
        "embedding": torch.nn.functional.normalize(torch.randn((b, 16), generator=g), dim=1),
        "caption": [f"caption {i}" for i in range(b)],
        "path": [f"img{i}.png" for i in range(b)],
    }


# what a card of the task must state (an attribute card names its attributes: the default, none, is refused); the
# batch's ``attributes`` hold 5
CARD_PARAMS = {"attribute": {"attributes": ["a", "b", "c", "d", "e"]}, "text": {"embedding_dim": 16}}


def info_for(task: str, **params) -> DatasetInfo:
    t = get_task(task)
    resolved = t.resolve_params({**CARD_PARAMS.get(task, {}), **params}, "test", (H, W))
    return DatasetInfo(name="t", num_classes=3, resolution=(H, W), palette=PALETTE, task=task,
                       task_params=tuple(sorted(resolved.items())))


def caption_nearest_checkpoint(tmp_path: Path) -> str:
    """The text baseline trained on six items whose embeddings are the batch's (its own training set)."""
    batch = dataset_batch(6)
    items = [{"image": batch["image"][i], "embeddings": batch["embedding"][i : i + 1]} for i in range(6)]
    return get_method("caption-nearest")(info_for("text")).train(items, out_dir=str(tmp_path), seed=0)


def class_mean_checkpoint(tmp_path: Path) -> str:
    batch = dataset_batch(6)
    items = [{"image": batch["image"][i], "class_id": batch["class_id"][i]} for i in range(6)]
    gen = get_method("class-mean")(info_for("class"))
    return gen.train(items, out_dir=str(tmp_path), seed=0)


@pytest.mark.parametrize("name", task_names())
def test_every_task_documents_its_batch_and_its_baseline_conforms(name, tmp_path):
    task = get_task(name)
    keys = [f"k{i}" for i in range(3)]
    params = task.resolve_params(CARD_PARAMS.get(name), "test", (H, W))
    batch = task.adapter_batch(dataset_batch(), params, keys)
    assert list(batch) == list(task.batch_keys), (name, list(batch))
    picture = task.show(dataset_batch(), 1, params, PALETTE, keys)
    assert picture.shape == (H, W, 3) and picture.dtype == np.uint8
    cls = get_method(task.baseline)
    assert task.accepts(cls.tasks) and not getattr(cls, "needs_image", False)
    checkpoint = {"class": class_mean_checkpoint, "text": caption_nearest_checkpoint}.get(name, lambda _: None)(tmp_path)
    gen = cls(info_for(name), checkpoint=checkpoint)
    checks = run_checks(gen, batch, [11, 12, 13])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks]
    oracle = get_method("oracle")(info_for(name))
    with_image = task.adapter_batch(dataset_batch(), params, keys, with_image=True)
    assert torch.equal(oracle.generate(with_image, seeds=[1, 2, 3]), dataset_batch()["image"])


class HalfSize(Generator):
    """Returns the low-resolution input itself: the wrong size for super-resolution."""

    tasks = ("super-resolution",)

    def generate(self, batch, *, seeds):
        return batch["lr"].clone()


def test_a_super_resolution_adapter_that_returns_the_input_size_fails_the_check():
    task = get_task("super-resolution")
    params = task.resolve_params({"scale": 2}, "test", (H, W))
    batch = task.adapter_batch(dataset_batch(), params, ["a", "b", "c"])
    assert batch["lr"].shape == (3, 3, H // 2, W // 2) and batch["scale"] == 2
    checks = run_checks(HalfSize(info_for("super-resolution", scale=2)), batch, [1, 2, 3])
    assert not checks[0].ok and "expected [3, 3, 32, 32]" in checks[0].message


def test_degradation_is_pil_bicubic_and_the_bicubic_baseline_is_torch_bicubic():
    """Against independent implementations on the same pixels: PIL for the degradation, scikit-image's order-3
    spline is not the same kernel, so the baseline is checked against a numpy Keys (a=-0.75) cubic convolution."""
    from PIL import Image

    from bench.tasks.super_resolution import degrade

    img = dataset_batch(1)["image"]
    lr = degrade(img, 4)
    pil = np.asarray(Image.fromarray(img[0].permute(1, 2, 0).numpy()).resize((W // 4, H // 4), Image.BICUBIC))
    assert np.array_equal(lr[0].permute(1, 2, 0).numpy(), pil)

    def keys_weights(n_in: int, n_out: int) -> np.ndarray:
        scale = n_in / n_out
        m = np.zeros((n_out, n_in))
        for o in range(n_out):
            x = (o + 0.5) * scale - 0.5  # align_corners=False
            x0 = int(np.floor(x))
            for k in range(x0 - 1, x0 + 3):
                t = abs(x - k)
                w = (1.25 * t - 2.25) * t * t + 1 if t <= 1 else ((-0.75 * t + 3.75) * t - 6) * t + 3 if t < 2 else 0
                m[o, min(max(k, 0), n_in - 1)] += w  # border pixels replicated
        return m

    small = lr[0].to(torch.float64).numpy()
    ref = np.einsum("oh,chw,pw->cop", keys_weights(H // 4, H), small, keys_weights(W // 4, W))
    ref = np.clip(np.round(ref), 0, 255)
    out = get_method("bicubic")(info_for("super-resolution")).generate({"lr": lr, "scale": 4, "path": ["x"]},
                                                                     seeds=[0])
    assert np.abs(out[0].numpy().astype(float) - ref).max() <= 1  # rounding of values within 1e-9 of .5


def test_mean_fill_keeps_known_pixels_and_fills_the_hole_with_their_mean():
    task = get_task("inpainting")
    params = task.resolve_params(None, "test", (H, W))
    batch = task.adapter_batch(dataset_batch(2), params, ["a", "b"])
    out = get_method("mean-fill")(info_for("inpainting")).generate(batch, seeds=[0, 1]).numpy().astype(float)
    real = dataset_batch(2)["image"].numpy().astype(float)
    for i in range(2):
        hole = batch["mask"][i, 0].numpy()
        assert hole.sum() == (H // 2) * (W // 2)  # hole 0.5 of each side
        assert np.array_equal(out[i][:, ~hole], real[i][:, ~hole])
        assert (batch["masked_image"][i].numpy()[:, hole] == 0).all()
        for c in range(3):
            assert np.all(out[i][c][hole] == np.round(real[i][c][~hole].mean()))


def test_inpainting_holes_depend_only_on_the_key_and_the_seed():
    from bench.tasks.inpainting import box_mask

    a = box_mask("val/0001", (64, 64), 0.5, 0)
    assert np.array_equal(a, box_mask("val/0001", (64, 64), 0.5, 0))
    assert not np.array_equal(a, box_mask("val/0001", (64, 64), 0.5, 1))
    assert len({box_mask(f"val/{i:04d}", (64, 64), 0.5, 0).tobytes() for i in range(20)}) > 10
    task = get_task("inpainting")
    params = task.resolve_params(None, "test", (H, W))
    both = task.adapter_batch(dataset_batch(2), params, ["a", "b"])["mask"]
    alone = task.adapter_batch({k: v[1:] if hasattr(v, "shape") else v[1:] for k, v in dataset_batch(2).items()},
                               params, ["b"])["mask"]
    assert torch.equal(both[1:], alone)


def test_class_mean_is_the_per_class_mean_of_the_training_images(tmp_path):
    ckpt = class_mean_checkpoint(tmp_path)
    batch = dataset_batch(6)
    gen = get_method("class-mean")(info_for("class"), checkpoint=ckpt)
    out = gen.generate({"class_id": torch.tensor([0, 1, 2]), "path": ["a", "b", "c"]}, seeds=[0, 1, 2])
    for c in range(3):
        rows = [i for i in range(6) if int(batch["class_id"][i]) == c]
        ref = np.round(batch["image"][rows].numpy().astype(np.float64).mean(0))
        assert np.array_equal(out[c].numpy(), ref.astype(np.uint8))
    with pytest.raises(BenchError, match="needs its class means"):
        get_method("class-mean")(info_for("class")).generate({"class_id": torch.tensor([0]), "path": ["a"]},
                                                             seeds=[0])


@pytest.mark.parametrize("params, needle", [
    ({"scale": 5}, "scale 5 is not one of 2, 3, 4, 8"),
    ({"scale": "4"}, "task_params.scale must be a int, got '4'"),
    ({"sclae": 4}, "unknown key 'sclae' for task 'super-resolution' (allowed: degradation, scale)"),
    ({"scale": 3}, "the resolution 32x32 is not a multiple of the scale 3"),
    ({"degradation": "matlab"}, "degradation 'matlab' is not one of pil-bicubic"),
])
def test_bad_task_params_are_one_line_naming_the_card(params, needle):
    with pytest.raises(BenchError) as exc:
        get_task("super-resolution").resolve_params(params, "datasets/x/card.json", (H, W))
    msg = str(exc.value)
    assert msg.startswith("datasets/x/card.json: task_params") and needle in msg and "\n" not in msg, msg


def test_cards_declare_their_task_and_derived_cards_read_the_base_files(tmp_path, monkeypatch):
    from bench.data import cards

    for name in cards.card_names():
        assert cards.load_card(name).task in task_names()
    sr = cards.load_card("synthetic-streets-sr")
    base = cards.load_card("synthetic-streets")
    assert sr.task == "super-resolution" and sr.task_params == {"scale": 4, "degradation": "pil-bicubic"}
    assert sr.classes == base.classes and sr.splits == base.splits and sr.eval_resolution == (256, 256)
    assert cards.manifest_path(sr, "val", (256, 256)) == cards.manifest_path(base, "val", (256, 256))
    assert sr.sha256 != base.sha256

    # a card naming an unknown task, or deriving from an unknown card: one line naming the file
    root = tmp_path / "datasets"
    for name in ("synthetic-streets", "bad-task", "bad-base"):
        (root / name).mkdir(parents=True)
    (root / "synthetic-streets" / "card.json").write_text(base.path.read_text())
    raw = json.loads(base.path.read_text())
    (root / "bad-task" / "card.json").write_text(json.dumps({**raw, "name": "bad-task", "task": "super-resolutoin"}))
    (root / "bad-base" / "card.json").write_text(json.dumps(
        {"name": "bad-base", "version": 1, "title": "x", "task": "inpainting", "derived_from": "synthetic-street"}))
    monkeypatch.setattr(cards, "datasets_dir", lambda: root)
    monkeypatch.setattr(cards, "_CARDS", {})
    with pytest.raises(BenchError, match="task 'super-resolutoin' is not a task kind; did you mean 'super-resolution'"):
        cards.load_card("bad-task")
    with pytest.raises(BenchError, match="derived_from 'synthetic-street' is not a dataset card"):
        cards.load_card("bad-base")


def run_cli(tmp_path, *args):
    return main(["run", "--limit", "8", "--results", str(tmp_path / "lb"), *args])


def test_super_resolution_and_inpainting_run_end_to_end(tmp_path, capsys):
    assert run_cli(tmp_path, "--method", "bicubic", "--dataset", "synthetic-streets-sr", "--resolution", "64x64",
                   "--metrics", "psnr,ssim", "--out", str(tmp_path / "sr")) == 0
    assert run_cli(tmp_path, "--method", "oracle", "--dataset", "synthetic-streets-sr", "--resolution", "64x64",
                   "--metrics", "psnr,ssim", "--out", str(tmp_path / "sr-oracle")) == 0
    assert run_cli(tmp_path, "--method", "mean-fill", "--dataset", "synthetic-streets-inpainting",
                   "--metrics", "psnr,ssim", "--out", str(tmp_path / "inp")) == 0
    out = capsys.readouterr().out
    assert "| method | config | seeds | N | PSNR ↑ | SSIM ↑ |" in out
    recs = {(r["dataset"]["task"], r["method"]["name"]): r
            for r in (json.loads(p.read_text()) for p in (tmp_path / "lb" / "results").glob("*/*.json"))}
    sr, oracle, inp = (recs[("super-resolution", "bicubic")], recs[("super-resolution", "oracle")],
                       recs[("inpainting", "mean-fill")])
    assert dict(sr["protocol"]["task"]) == {"name": '"super-resolution"', "scale": "4", "degradation": '"pil-bicubic"'}
    assert sr["dataset"]["task_params"] == {"scale": 4, "degradation": "pil-bicubic"}
    assert sr["fingerprint"] == oracle["fingerprint"]
    assert 15 < sr["metrics"]["psnr"] < 40 and sr["metrics"]["ssim"] < 0.95
    assert oracle["metrics"]["psnr"] >= 80 and oracle["metrics"]["ssim"] == pytest.approx(1.0, abs=1e-12)  # piq caps
    assert "miou" not in sr["metrics"] and "miou" not in sr["unavailable"]
    assert 10 < inp["metrics"]["psnr"] < 40 and inp["metrics"]["ssim"] < 0.95
    grid = tmp_path / "sr" / "grid.png"
    from PIL import Image

    assert Image.open(grid).size == (64 * 3, 64 * 4)  # low-res input (upsampled) | sample | real, 4 rows


@pytest.mark.parametrize("argv, needle", [
    (["--method", "spade", "--dataset", "synthetic-streets-sr"],
     "method 'spade' generates for task semantic; synthetic-streets-sr is a super-resolution dataset (its "
     "baseline: --method bicubic"),
    (["--method", "bicubic", "--dataset", "synthetic-streets"],
     "method 'bicubic' generates for task super-resolution; synthetic-streets is a semantic dataset"),
    (["--method", "bicubic", "--dataset", "synthetic-streets-sr", "--resolution", "64x64", "--segmenter",
      "embedded-synthetic-streets"], "--segmenter: synthetic-streets-sr is a super-resolution dataset"),
])
def test_a_method_or_option_of_another_task_is_one_line(tmp_path, capsys, argv, needle):
    assert run_cli(tmp_path, *argv, "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "lb" / "results").exists()


def test_committed_semantic_fingerprints_are_recomputed_unchanged():
    """The task field is hashed only when set: every committed record's protocol rehashes to its fingerprint."""
    from bench.protocol import Protocol
    from bench.results import leaderboard_dir

    records = sorted((leaderboard_dir() / "results").glob("*/*.json"))
    assert records
    for path in records:
        rec = json.loads(path.read_text())
        proto = Protocol(**rec["protocol"])
        assert proto.fingerprint == rec["fingerprint"], path
        assert ("task" in rec["protocol"]) == (rec["dataset"].get("task", "semantic") != "semantic"), path


def test_the_digits_dataset_is_the_sklearn_digits_upscaled_with_a_frozen_split():
    """Against sklearn's own arrays and PIL directly: every val file is its sklearn row, upscaled as the card says."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from bench.data import get_dataset

    ds = get_dataset("digits")
    bunch = load_digits()
    assert len(ds) == 355 and len(get_dataset("digits", split="train")) == 1442
    val_keys = [s.key for s in ds.samples]
    assert len(set(val_keys) & {s.key for s in get_dataset("digits", split="train").samples}) == 0
    task = get_task("class")
    for i in (0, 100, 354):
        item = ds[i]
        row = int(val_keys[i])
        grey = np.floor(bunch.images[row] * 255 / 16 + 0.5).astype(np.uint8)
        want = np.asarray(Image.fromarray(grey).resize((32, 32), Image.BICUBIC))
        assert np.array_equal(item["image"][0].numpy(), want) and np.array_equal(item["image"][2].numpy(), want)
        assert task.class_of(item) == bunch.target[row]
    counts = np.bincount([bunch.target[int(k)] for k in val_keys], minlength=10)
    assert counts.tolist() == (np.bincount(bunch.target, minlength=10) // 5).tolist()  # every 5th of each class


def test_a_class_label_map_that_is_not_constant_is_refused():
    batch = dataset_batch(2)
    with pytest.raises(BenchError, match="img0.png: the label map of a class-conditional sample must hold one class"):
        get_task("class").make_batch({k: v for k, v in batch.items() if k != "class_id"}, {}, ["a", "b"])


def test_training_copy_returns_training_images_of_the_requested_class(tmp_path):
    batch = dataset_batch(6)
    items = [{"image": batch["image"][i], "class_id": batch["class_id"][i]} for i in range(6)]
    cls = get_method("training-copy")
    gen = cls(info_for("class"), checkpoint=cls(info_for("class")).train(items, out_dir=str(tmp_path), seed=0))
    cond = {"class_id": torch.tensor([2, 2, 0]), "path": ["a", "b", "c"]}
    assert all(c.ok for c in run_checks(gen, cond, [5, 6, 7])), run_checks(gen, cond, [5, 6, 7])
    out = gen.generate(cond, seeds=[5, 6, 7])
    for row, c in zip(out, [2, 2, 0]):
        assert any(torch.equal(row, batch["image"][i]) for i in range(6) if int(batch["class_id"][i]) == c)
