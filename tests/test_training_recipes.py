"""The papers' training recipes the trainer implements: pix2pix's / SPADE's ``resize_and_crop`` augmentation
(``load_size`` / ``crop_size``: the training set reloaded larger, random windows of the original size cut per
sample), deterministic per (seed, step) and exactly resumable."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.adapter import DatasetInfo, get_method
from bench.errors import BenchError
from reference_models.configs import get_config
from reference_models.trainer import Trainer, _crop, crop_boxes, crop_training_set


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def train_ds():
    from bench.data import get_dataset

    return get_dataset("synthetic-streets", split="train", resolution=64)


def test_crop_boxes_cover_every_offset_and_repeat():
    boxes = crop_boxes(4000, (72, 72), (64, 64), seed=5)
    assert boxes == crop_boxes(4000, (72, 72), (64, 64), seed=5)
    assert boxes != crop_boxes(4000, (72, 72), (64, 64), seed=6)
    ys, xs = zip(*boxes)
    assert set(ys) == set(range(9)) and set(xs) == set(range(9))  # 0..72-64, both ends included


def test_crop_cuts_the_same_window_from_label_instance_and_image():
    g = torch.Generator().manual_seed(0)
    batch = {"label": torch.randint(0, 9, (2, 1, 10, 12), generator=g),
             "instance": torch.randint(0, 9000, (2, 1, 10, 12), generator=g),
             "image": torch.randint(0, 256, (2, 3, 10, 12), generator=g, dtype=torch.uint8), "path": ["a", "b"]}
    out = _crop(batch, [(1, 3), (2, 0)], (8, 8))
    for k in ("label", "instance", "image"):
        a = batch[k].numpy()
        assert np.array_equal(out[k][0].numpy(), a[0, :, 1:9, 3:11])
        assert np.array_equal(out[k][1].numpy(), a[1, :, 2:10, 0:8])
    assert out["path"] == ["a", "b"]


def test_training_set_is_reloaded_larger(train_ds):
    cfg = get_config("pix2pix", "mini", load_size=286, crop_size=256)
    big, crop = crop_training_set(train_ds, cfg)
    assert crop == (64, 64) and big.resolution == (72, 72)  # round(64 * 286 / 256) = 72 (71.5 rounds half-even)
    item = big[0]
    assert tuple(item["image"].shape) == (3, 72, 72) and tuple(item["label"].shape) == (1, 72, 72)
    assert crop_training_set(train_ds, get_config("pix2pix", "mini")) == (train_ds, None)  # off by default
    with pytest.raises(BenchError, match="load_size"):
        crop_training_set(train_ds, get_config("pix2pix", "mini", load_size=200, crop_size=256))


def test_paper_configs_carry_the_authors_crop():
    from reference_models.configs import DEFAULTS

    for method in ("pix2pix", "pix2pixhd", "spade"):
        assert "load_size" in DEFAULTS[method] and "crop_size" in DEFAULTS[method]
    info = lambda name: DatasetInfo(name, 151, (256, 256))  # noqa: E731
    assert get_config("pix2pix", "paper").load_size == 286
    assert get_config("spade", "paper", info("ade20k")).load_size == 286
    assert get_config("spade", "paper", info("coco-stuff")).load_size == 286
    assert get_config("spade", "paper", info("cityscapes")).load_size is None  # 'fixed': no crop
    assert get_config("spade", "mini").load_size is None


def test_cropped_training_resumes_exactly(tmp_path, train_ds):
    class Subset:
        def __init__(self, ds, n):
            self.ds, self.n, self.resolution = ds, n, ds.resolution

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return self.ds[i]

        def at_resolution(self, res):
            return Subset(self.ds.at_resolution(res), self.n)

    info = DatasetInfo("synthetic-streets", train_ds.num_classes, (64, 64), train_ds.has_instances, 255,
                       tuple(tuple(int(c) for c in rgb) for rgb in train_ds.palette))

    def make():
        g = get_method("pix2pix")(info, config="mini")
        g.cfg = g.cfg.replace(save_every=2, sample_every=2, batch_size=4, load_size=72, crop_size=64)
        return g

    data = Subset(train_ds, 12)
    full = make()
    Trainer(full, data, out_dir=tmp_path / "full", seed=7, steps=4, progress=False).run()
    part = make()
    Trainer(part, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False, stop_after=2).run()
    resumed = make()
    Trainer(resumed, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert not [k for k in a if not torch.equal(a[k], b[k])]
    rec = json.loads((tmp_path / "full" / "train.json").read_text())
    assert rec["config"]["load_size"] == 72 and rec["complete"]
    # the crop changes training: without it the weights differ
    plain = get_method("pix2pix")(info, config="mini")
    plain.cfg = plain.cfg.replace(save_every=2, sample_every=0, batch_size=4)
    Trainer(plain, data, out_dir=tmp_path / "plain", seed=7, steps=4, progress=False).run()
    c = plain.model.state_dict()
    assert [k for k in a if not torch.equal(a[k], c[k])]


def _hd(info, **values):
    """A pix2pixHD adapter with architecture overrides (the model rebuilt from the replaced config)."""
    g = get_method("pix2pixhd")(info, config="mini")
    g.cfg = g.cfg.replace(save_every=2, sample_every=0, batch_size=4, upsample="transpose", num_d=1,
                          n_downsample_global=1, n_blocks_global=1, **values)
    g.model = g.build(g.cfg, info)
    return g


def test_pix2pixhd_1024p_recipe_starts_from_the_global_run_and_fixes_it(tmp_path, train_ds):
    """``init_global: run:<config>`` loads our global generator run beside this one into the local enhancer's global
    part; for ``fix_global_epochs`` only the outermost enhancer changes, then all of G (fresh Adam state)."""
    info = DatasetInfo("synthetic-streets", train_ds.num_classes, (64, 64), train_ds.has_instances, 255,
                       tuple(tuple(int(c) for c in rgb) for rgb in train_ds.palette))

    class Subset:
        def __init__(self, ds, n):
            self.ds, self.n = ds, n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return self.ds[i]

    data = Subset(train_ds, 8)  # 2 steps per epoch at batch 4
    glob = _hd(info, netG="global", ngf=16)
    glob.config = "globalrun"
    glob.train(data, out_dir=str(tmp_path / "train-pix2pixhd-globalrun-synthetic-streets-seed3"), seed=3, steps=2)
    saved = {k: v.clone() for k, v in glob.model.G.state_dict().items()}

    local = _hd(info, netG="local", ngf=8, n_local_enhancers=1, n_blocks_local=1, init_global="run:globalrun",
                fix_global_epochs=1)
    run = tmp_path / "train-pix2pixhd-local-synthetic-streets-seed3"
    local._run_dir = (run, 3)
    local.reinitialize(3)
    part = local.model.G.model.state_dict()
    assert part and all(torch.equal(v, saved[f"model.{k}"]) for k, v in part.items())
    start = {k: v.clone() for k, v in local.model.G.state_dict().items()}

    Trainer(local, data, out_dir=run, seed=3, steps=2, progress=False).run()  # epoch 0: global fixed
    after = local.model.G.state_dict()
    moved = {k for k in start if not torch.equal(start[k], after[k])}
    assert moved and all(k.startswith("model1_") for k in moved), sorted(moved)[:5]
    Trainer(local, data, out_dir=run, seed=3, steps=4, progress=False).run()  # resumed: epoch 1 trains all of G
    final = local.model.G.state_dict()
    assert any(not torch.equal(start[k], final[k]) for k in start if k.startswith("model."))

    missing = _hd(info, netG="local", ngf=8, n_local_enhancers=1, n_blocks_local=1, init_global="run:nosuch")
    missing._run_dir = (run, 3)
    with pytest.raises(BenchError, match="train it first"):
        missing.reinitialize(3)
    wrong = _hd(info, netG="local", ngf=4, n_local_enhancers=1, n_blocks_local=1, init_global="run:globalrun")
    wrong._run_dir = (run, 3)
    with pytest.raises(BenchError, match="global generator"):  # a 16-wide global part cannot fill an 8-wide one
        wrong.reinitialize(3)


def test_pix2pixhd_paper_cityscapes_trains_as_the_1024p_script():
    info = DatasetInfo("cityscapes", 35, (1024, 2048), True, 255)
    cfg = get_config("pix2pixhd", "paper", info)
    assert (cfg.netG, cfg.ngf, cfg.num_d, cfg.epochs, cfg.fix_global_epochs) == ("local", 32, 3, 100, 10)
    assert cfg.init_global == "run:paper-cityscapes-512"
    assert get_config("pix2pixhd", "paper-cityscapes-512").init_global is None


def test_spade_authors_scripts_differ_from_the_paper_where_documented():
    info = lambda name: DatasetInfo(name, 151, (256, 256))  # noqa: E731
    for ds in ("cityscapes", "ade20k", "coco-stuff"):
        paper = get_config("spade", "paper", info(ds))
        scripts = get_config("spade", "authors-scripts", info(ds))
        assert scripts.name == f"authors-scripts-{ds}"
        assert (scripts.epochs, scripts.decay_from) == (50, 1.0)  # niter 50, niter_decay 0
        assert scripts.load_size == paper.load_size and scripts.instance == paper.instance
        assert scripts.num_upsampling_layers == paper.num_upsampling_layers
    assert get_config("spade", "authors-scripts", info("ade20k")).batch_size == 1
    assert get_config("spade", "authors-scripts", info("cityscapes")).batch_size == 16
    with pytest.raises(BenchError, match="no 'authors-scripts' config for dataset 'facades'"):
        get_config("spade", "authors-scripts", info("facades"))
