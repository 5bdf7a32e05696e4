"""Context encoders (reference_models/context_encoder.py): the released inpaintCenter network's layers, the output
geometry of each mask kind, the channel-wise fully-connected layer and the L2 weights against written-out references,
the adapter contract (what `bench check-adapter` runs) at several sizes, training (one step; learning on a fixed
batch), save / load, exact resume, and `bench check-adapter` / `bench run --train` on the embedded track."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.adapter import DatasetInfo, get_method
from bench.conformance import run_checks
from bench.errors import BenchError
from bench.tasks import get_task
from conftest import smooth_images
from reference_models import context_encoder as ce
from reference_models.common import atomic_save
from reference_models.trainer import StepContext, Trainer, _collate


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread


BOX = {"mask": "box", "hole": 0.5, "seed": 0}
CENTER = {"mask": "center", "hole": 0.5}
FREE = {"mask": "free-form", "band": [0.2, 0.3], "seed": 1}
RECT = {"mask": "rect", "band": [0.1, 0.2], "seed": 2}


def info_for(params: dict, size=(64, 64)) -> DatasetInfo:
    resolved = get_task("inpainting").resolve_params(params, "test", size)
    return DatasetInfo(name="t", num_classes=1, resolution=size, task="inpainting",
                       task_params=tuple(sorted(resolved.items())))


def task_batch(params: dict, n=3, size=(64, 64), seed=0):
    """(real images uint8 [n,3,H,W], the task's batch) for smooth random images and keys k0..k{n-1}."""
    images = smooth_images(n, size=max(size), seed=seed)
    images = torch.from_numpy(np.stack([im[: size[0], : size[1]] for im in images])).permute(0, 3, 1, 2).contiguous()
    keys = [f"k{i}" for i in range(n)]
    params = get_task("inpainting").resolve_params(params, "test", size)
    return images, get_task("inpainting").adapter_batch({"image": images, "path": keys}, params, keys)


@pytest.fixture(scope="module")
def train_ds():
    from bench.data import get_dataset

    return get_dataset("synthetic-streets-inpainting", split="train")


def convs(module: torch.nn.Module) -> list[tuple[str, int, int, tuple, tuple, tuple]]:
    return [(type(m).__name__, m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
            for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]


def test_paper_config_is_the_released_inpaint_center_network():
    """128x128 with the 64x64 centre missing: train.lua's netE / netG / netD (its "state size" comments: nef = ngf =
    ndf 64, nBottleneck 4000), every convolution bias-free; the prediction is the 72x72 square around the hole."""
    gen = get_method("context-encoder")(info_for(CENTER, (128, 128)), config="paper")
    model = gen.model
    c4, s2, p1, s1, p0 = (4, 4), (2, 2), (1, 1), (1, 1), (0, 0)
    assert convs(model.G) == [
        ("Conv2d", 3, 64, c4, s2, p1), ("Conv2d", 64, 64, c4, s2, p1), ("Conv2d", 64, 128, c4, s2, p1),
        ("Conv2d", 128, 256, c4, s2, p1), ("Conv2d", 256, 512, c4, s2, p1),  # 128 -> 4x4x512
        ("Conv2d", 512, 4000, c4, s1, p0), ("ConvTranspose2d", 4000, 512, c4, s1, p0),  # the 4000-unit bottleneck
        ("ConvTranspose2d", 512, 256, c4, s2, p1), ("ConvTranspose2d", 256, 128, c4, s2, p1),
        ("ConvTranspose2d", 128, 64, c4, s2, p1), ("ConvTranspose2d", 64, 3, c4, s2, p1)]
    assert convs(model.D) == [
        ("Conv2d", 3, 64, c4, s2, p1), ("Conv2d", 64, 128, c4, s2, p1), ("Conv2d", 128, 256, c4, s2, p1),
        ("Conv2d", 256, 512, c4, s2, p1), ("Conv2d", 512, 1, c4, s1, p0)]
    assert all(m.bias is None for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
    # BatchNorm after every encoder convolution but the first (train.lua)
    enc = list(model.G.encoder)
    assert isinstance(enc[1], torch.nn.LeakyReLU) and isinstance(enc[3], torch.nn.BatchNorm2d)
    assert model.output == "center" and model.region == (28, 28, 72, 72)
    x = torch.zeros(1, 3, 128, 128)
    assert model.G(x).shape == (1, 3, 72, 72) and model.D(torch.zeros(2, 3, 72, 72)).shape == (2,)
    cfg = gen.cfg
    assert (cfg.wtl2, cfg.overlap, cfg.overlap_weight, cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.batch_size) == (
        0.999, 4, 10.0, 2e-3, 2e-4, 0.5, 64)


@pytest.mark.parametrize("params, size", [(BOX, (64, 64)), (BOX, (72, 72)), (CENTER, (128, 128)), (FREE, (64, 96)),
                                          (RECT, (32, 32))])
def test_the_mini_conforms_and_fills_only_the_hole(params, size):
    gen = get_method("context-encoder")(info_for(params, size), config="mini")
    images, batch = task_batch(params, 3, size)
    checks = run_checks(gen, batch, [11, 12, 13])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks]
    out = gen.generate(batch, seeds=[1, 2, 3])
    assert out.dtype == torch.uint8 and out.shape == (3, 3, *size)
    known = ~batch["mask"].expand_as(images)
    assert torch.equal(out[known], images[known])  # the known pixels are the input's
    assert gen.model.output == ("center" if params["mask"] == "center" else "full")


def test_channelwise_fc_is_a_linear_map_within_each_channel():
    layer = ce.ChannelwiseFC(3, (2, 3), (4, 2))
    torch.nn.init.normal_(layer.weight)
    x = torch.randn(2, 3, 2, 3)
    y = layer(x).detach().numpy()
    w = layer.weight.detach().numpy()
    for b in range(2):
        for c in range(3):  # channel c of the output from channel c of the input alone
            want = x[b, c].numpy().reshape(-1) @ w[c]
            np.testing.assert_allclose(y[b, c].reshape(-1), want, rtol=1e-5, atol=1e-6)
    assert layer.weight.numel() == 3 * 6 * 8  # m n^4 for square maps: no weight across channels


@pytest.mark.parametrize("params, size", [(FREE, (64, 64)), (CENTER, (64, 64))])
def test_l2_weights_are_one_in_the_hole_and_ten_within_the_overlap(params, size):
    """A written-out reference: 1 in the hole, 10 on known pixels within 4 px (chessboard distance, scipy's distance
    transform) of it, 0 elsewhere; cropped to the predicted region."""
    from scipy.ndimage import distance_transform_cdt

    model = get_method("context-encoder")(info_for(params, size), config="mini").model
    _, batch = task_batch(params, 2, size)
    hole = batch["mask"]
    got = model.loss_weights(hole).numpy()
    t, left, rh, rw = model.region
    for i in range(2):
        h = hole[i, 0].numpy()
        dist = distance_transform_cdt(~h, metric="chessboard")  # 0 in the hole, else distance to it
        want = np.where(h, 1.0, np.where(dist <= 4, 10.0, 0.0))[t : t + rh, left : left + rw]
        np.testing.assert_array_equal(got[i, 0], want)
    if params["mask"] == "center":  # the 40x40 predicted square: the 32x32 hole and its 4-pixel band, nothing else
        assert model.region == (12, 12, 40, 40) and set(np.unique(got)) == {1.0, 10.0}


def test_a_training_step_updates_both_networks_and_training_fills_holes_better(train_ds):
    gen = get_method("context-encoder")(info_for(BOX), config="mini")
    train_batch = _collate([train_ds[i] for i in range(4)])  # street photos: holes a network can learn to fill
    images = train_batch["image"]
    keys = [f"k{i}" for i in range(4)]
    batch = get_task("inpainting").adapter_batch(train_batch, BOX, keys)
    hole = batch["mask"].expand_as(images)

    def hole_l1() -> float:
        return (gen.generate(batch, seeds=[0] * 4).float() - images.float()).abs()[hole].mean().item()

    before_l1 = hole_l1()
    g0 = {k: v.clone() for k, v in gen.model.G.state_dict().items()}
    d0 = {k: v.clone() for k, v in gen.model.D.state_dict().items()}
    opts = gen.model.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    gen.model.train()
    torch.manual_seed(0)
    losses = gen.model.train_step(train_batch, opts, ctx)
    assert set(losses) == {"G_L2", "G_GAN", "D_real", "D_fake"} and all(np.isfinite(list(losses.values())))
    assert all(not torch.equal(v, gen.model.G.state_dict()[k]) for k, v in g0.items() if v.is_floating_point())
    assert all(not torch.equal(v, gen.model.D.state_dict()[k]) for k, v in d0.items() if v.is_floating_point())
    for _ in range(29):
        gen.model.train_step(train_batch, opts, ctx)
    assert hole_l1() < 0.9 * before_l1  # 30 steps on one batch (masks drawn anew each step)


class Subset:
    def __init__(self, ds, n):
        self.ds, self.n = ds, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.ds[i]


def test_save_and_load_give_the_same_images(tmp_path, train_ds):
    from bench.adapter import dataset_info

    info = dataset_info(train_ds)
    gen = get_method("context-encoder")(info, config="mini")
    gen.train(Subset(train_ds, 8), out_dir=str(tmp_path / "run"), seed=3, steps=2)
    _, batch = task_batch(dict(info.task_params), 2)
    want = gen.generate(batch, seeds=[5, 6])
    path = atomic_save(gen.generator_state(), tmp_path / "g.pth")
    for ckpt in (path, tmp_path / "run" / "generator.pth"):
        again = get_method("context-encoder")(info, config="mini", checkpoint=str(ckpt))
        assert torch.equal(again.generate(batch, seeds=[5, 6]), want)
    state = torch.load(tmp_path / "run" / "generator.pth", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values()) and "_meta.num_classes" not in state
    with pytest.raises(BenchError, match="checkpoint does not match the architecture"):
        get_method("context-encoder")(info, config="paper", checkpoint=str(path))  # another architecture
    state["_meta.method"] = torch.tensor(list(b"spade"), dtype=torch.uint8)
    atomic_save(state, tmp_path / "other.pth")
    with pytest.raises(BenchError, match="was trained for method 'spade'"):
        get_method("context-encoder")(info, config="mini", checkpoint=str(tmp_path / "other.pth"))


def test_exact_resume(tmp_path, train_ds):
    from bench.adapter import dataset_info

    info = dataset_info(train_ds)
    data = ce._Images(Subset(train_ds, 12))

    def make():
        g = get_method("context-encoder")(info, config="mini")
        g.cfg = g.cfg.replace(save_every=2, batch_size=4)
        return g

    full = make()
    Trainer(full, data, out_dir=tmp_path / "full", seed=7, steps=4, progress=False).run()
    part = make()
    Trainer(part, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False, stop_after=2).run()
    assert json.loads((tmp_path / "part" / "train.json").read_text())["step"] == 2
    resumed = make()  # new random weights: the checkpoint must restore everything (G, D, BN statistics, optimisers)
    Trainer(resumed, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys() and not [k for k in a if not torch.equal(a[k], b[k])]
    rec = json.loads((tmp_path / "part" / "train.json").read_text())
    assert rec["step"] == 4 and rec["complete"]


def test_images_without_label_maps_train():
    """An inpainting card needs no label maps: the adapter gives the trainer zero maps for them."""
    items = [{"image": torch.zeros(3, 64, 64, dtype=torch.uint8), "path": "a.png"}]
    wrapped = ce._Images(items)
    batch = _collate([wrapped[0]])
    assert batch["label"].shape == (1, 1, 64, 64) and int(batch["label"].abs().sum()) == 0


def test_a_centre_model_refuses_holes_outside_its_square_and_config_errors_are_one_line():
    gen = get_method("context-encoder")(info_for(CENTER, (64, 64)), config="mini")
    _, batch = task_batch(BOX, 2)
    batch["mask"][:, :, :4, :4] = True  # a corner: outside the predicted square
    with pytest.raises(BenchError, match="predicts the centre square only"):
        gen.generate(batch, seeds=[0, 1])
    from reference_models.configs import get_config

    with pytest.raises(BenchError, match="unknown key 'overlap_wieght'.*overlap_weight"):
        get_config("context-encoder", "mini", overlap_wieght=3.0)
    with pytest.raises(BenchError, match="output 'center' needs the center mask"):
        get_method("context-encoder")(info_for(BOX), config="mini").build(
            get_config("context-encoder", "mini", output="center"), info_for(BOX))
    with pytest.raises(BenchError, match="no loadable released weights"):
        get_method("context-encoder").default_checkpoint("synthetic-streets-inpainting", "mini")


def test_check_adapter_and_a_short_training_run(tmp_path, capsys):
    from bench.cli import main

    assert main(["check-adapter", "context-encoder", "--dataset", "synthetic-streets-inpainting", "--config", "mini",
                 "--device", "cpu"]) == 0
    assert "context-encoder: conforms" in capsys.readouterr().out
    assert main(["run", "--method", "context-encoder", "--config", "mini", "--train", "--train-steps", "2",
                 "--dataset", "synthetic-streets-inpainting", "--limit", "4", "--metrics", "psnr,hole_psnr",
                 "--results", str(tmp_path / "lb"), "--out", str(tmp_path / "run")]) == 0
    rec = json.loads(next((tmp_path / "lb" / "results" / "synthetic-streets-inpainting").glob("*.json")).read_text())
    assert rec["method"]["name"] == "context-encoder" and 5 < rec["metrics"]["hole_psnr"] < rec["metrics"]["psnr"]
