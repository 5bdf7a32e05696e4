"""Class-conditional reference GANs (cGAN, AC-GAN, SNGAN-projection), parametrized over the registered reference
methods whose task is ``class``: shapes, the adapter contract on the ``class`` task's batch (``bench check-adapter``),
a few steps on a tiny batch lower the discriminator's loss, save/load, exact resume, the WGAN-GP penalty and the
schedules. Everything on the embedded ``digits`` dataset (32x32)."""

from __future__ import annotations

import json

import pytest
import torch

from bench.adapter import DatasetInfo, get_method
from bench.conformance import run_checks
from bench.errors import BenchError
from reference_models import METHODS
from reference_models.configs import NAMED
from reference_models.trainer import StepContext, Trainer, _collate

CLASS = sorted(m for m, cls in METHODS.items() if "class" in cls.tasks)
MINI = [(m, c) for m in CLASS for c in sorted(NAMED[m]) if c.startswith("mini")]


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread


@pytest.fixture(scope="module")
def train_ds():
    from bench.data import get_dataset

    return get_dataset("digits", split="train")


class Subset:
    def __init__(self, ds, n):
        self.ds, self.n = ds, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.ds[i * 37 % len(self.ds)]  # spread over the classes


def info_for(ds):
    from bench.adapter import dataset_info

    return dataset_info(ds)


def class_batch(classes):
    return {"class_id": torch.tensor(classes, dtype=torch.int64), "path": [f"k{i}" for i in range(len(classes))]}


def test_registered_with_the_class_task():
    from bench.adapter import method_names

    assert CLASS == ["acgan", "cgan", "sngan-proj"]
    names = method_names()
    for m in CLASS:
        assert m in names and get_method(m) is METHODS[m]
        assert METHODS[m].tasks == ("class",) and METHODS[m].multimodal
    for m in ("pix2pix", "pix2pixhd", "spade"):
        assert "class" not in METHODS[m].tasks


@pytest.mark.parametrize("method,config", MINI + [(m, "paper") for m in CLASS])
def test_forward_shapes(train_ds, method, config):
    info = info_for(train_ds)
    gen = get_method(method)(info, config=config)
    out = gen.generate(class_batch([0, 9, 3]), seeds=[1, 2, 3])
    assert out.dtype == torch.uint8 and tuple(out.shape) == (3, 3, 32, 32)
    if gen.cfg.image_channels == 1:  # one grey channel, replicated
        assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 0], out[:, 2])
    # the trainer's batches carry the class as a constant label map: the same images
    items = _collate([train_ds[i] for i in range(3)])
    y = items["label"][:, 0, 0, 0]
    assert torch.equal(gen.generate(items, seeds=[1, 2, 3]), gen.generate(class_batch(y.tolist()), seeds=[1, 2, 3]))
    # the discriminator's outputs
    m = gen.model
    x = m.real_images(items)
    adv, cls = m.d_outputs(x, y)
    assert tuple(adv.shape) == (3,)
    assert (cls is None) == (method != "acgan")
    if cls is not None:
        assert tuple(cls.shape) == (3, info.num_classes)
    with pytest.raises(BenchError, match="class ids must be in 0..9"):
        gen.generate(class_batch([10]), seeds=[0])


@pytest.mark.parametrize("method,config", MINI)
def test_adapter_contract(train_ds, method, config):
    """What ``bench check-adapter`` runs, on the class task's batch: output, same seeds -> same images, other seeds
    -> other images, batch-size independence."""
    from bench.tasks import get_task

    gen = get_method(method)(info_for(train_ds), config=config)
    items = _collate([train_ds[i] for i in range(4)])
    batch = get_task("class").make_batch(items, {}, ["a", "b", "c", "d"])
    assert set(batch) == {"class_id", "path"}
    checks = run_checks(gen, batch, [11, 12, 13, 14])
    bad = [f"{c.name}: {c.message}" for c in checks if not c.ok]
    assert not bad, bad
    assert any(c.name.startswith("different seeds") for c in checks)


def test_check_adapter_command_on_digits(capsys):
    from bench.cli import main

    for name in ("reference_models.acgan:ACGAN", "reference_models.sngan_proj:SNGANProjection",
                 "reference_models.cgan:CGAN"):
        assert main(["check-adapter", name, "--dataset", "digits", "--device", "cpu"]) == 0
        out = capsys.readouterr().out
        assert "conforms" in out and "task class: batch class_id, path" in out, out


def _d_loss(losses):
    return losses["D_real"] + losses["D_fake"] + losses.get("D_cls_real", 0.0)


@pytest.mark.parametrize("method,config", MINI)
def test_a_few_steps_lower_the_discriminator_loss(train_ds, method, config):
    """10 steps on one fixed batch of 16: the discriminator's loss (adversarial, plus the auxiliary classifier's on
    the real images for AC-GAN) falls, and the generator's weights move."""
    gen = get_method(method)(info_for(train_ds), config=config)
    gen.reinitialize(0)
    batch = _collate([train_ds[i * 37 % len(train_ds)] for i in range(16)])
    torch.manual_seed(0)
    opts = gen.model.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    g0 = {k: v.clone() for k, v in gen.model.G.state_dict().items()}
    gen.model.train()
    history = []
    for step in range(10):
        ctx.global_step = step
        history.append(_d_loss(gen.model.train_step(batch, opts, ctx)))
    assert sum(history[-3:]) / 3 < history[0], history
    moved = [k for k, v in gen.model.G.state_dict().items() if v.is_floating_point() and not torch.equal(v, g0[k])]
    assert moved


@pytest.mark.parametrize("method,config", MINI)
def test_save_load_identical(tmp_path, train_ds, method, config):
    from reference_models.common import atomic_save

    info = info_for(train_ds)
    gen = get_method(method)(info, config=config)
    gen.cfg = gen.cfg.replace(batch_size=4, sample_every=1)
    gen.train(Subset(train_ds, 8), out_dir=str(tmp_path / "run"), seed=3, steps=2)
    assert (tmp_path / "run" / "samples" / "step-00000002.png").is_file()  # the trainer's grid on class batches
    path = atomic_save(gen.generator_state(), tmp_path / "g.pth")
    batch = class_batch([1, 7])
    for p in (path, tmp_path / "run" / "generator.pth"):
        again = get_method(method)(info, config=config, checkpoint=str(p))
        assert torch.equal(gen.generate(batch, seeds=[5, 6]), again.generate(batch, seeds=[5, 6]))
    rec = json.loads((tmp_path / "run" / "train.json").read_text())
    assert rec["complete"] and rec["vgg_loss"] == "off (config)"


@pytest.mark.parametrize("method", CLASS)
def test_exact_resume(tmp_path, train_ds, method):
    """2 + 2 steps resumed == 4 steps, with a generator update after every 2nd discriminator update (the step index
    decides which steps update G: it must survive the resume)."""
    info = info_for(train_ds)
    data = Subset(train_ds, 12)

    def make():
        g = get_method(method)(info, config="mini")
        g.cfg = g.cfg.replace(save_every=2, sample_every=0, batch_size=4, n_critic=2)
        g.model = g.build(g.cfg, info)
        return g

    full = make()
    Trainer(full, data, out_dir=tmp_path / "full", seed=7, steps=4, progress=False).run()
    part = make()
    Trainer(part, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False, stop_after=2).run()
    assert json.loads((tmp_path / "part" / "train.json").read_text())["step"] == 2
    resumed = make()
    Trainer(resumed, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    diff = [k for k in a if not torch.equal(a[k], b[k])]
    assert not diff, diff[:5]
    start = make()
    start.reinitialize(7)
    s0 = start.model.G.state_dict()
    assert any(not torch.equal(v, s0[k]) for k, v in full.model.G.state_dict().items() if v.is_floating_point())
    hist = json.loads((tmp_path / "full" / "train.json").read_text())["history"]
    assert hist and "G_GAN" in hist[-1]  # step 4 updated G (4 % 2 == 0)
    ck = tmp_path / "part" / "checkpoints"
    latest = json.loads((ck / "latest.json").read_text())
    torch.load(ck / latest["state"], weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in torch.load(ck / latest["nets"], weights_only=True).values())


def test_generator_updates_follow_n_critic(train_ds):
    gen = get_method("sngan-proj")(info_for(train_ds), config="mini")
    gen.cfg = gen.cfg.replace(n_critic=3)
    gen.model = gen.build(gen.cfg, gen.info)
    batch = _collate([train_ds[i] for i in range(4)])
    opts = gen.model.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    gen.model.train()
    updated = []
    for step in range(6):
        ctx.global_step = step
        updated.append("G_GAN" in gen.model.train_step(batch, opts, ctx))
    assert updated == [False, False, True, False, False, True]


def test_gradient_penalty_of_a_linear_critic():
    """critic(x) = <w, x>: the gradient is w everywhere, so the penalty is (||w|| - 1)^2 whatever the interpolation."""
    from reference_models.losses import gradient_penalty

    w = torch.randn(3, 4, 4)
    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    gp = gradient_penalty(lambda x: (x * w).sum((1, 2, 3)), real, fake)
    assert float(gp) == pytest.approx(float((w.norm() - 1) ** 2), rel=1e-5)
    w1 = w / w.norm()
    assert float(gradient_penalty(lambda x: (x * w1).sum((1, 2, 3)), real, fake)) == pytest.approx(0.0, abs=1e-10)


def test_wgan_gp_config_trains_with_the_penalty(train_ds):
    gen = get_method("acgan")(info_for(train_ds), config="mini-wgangp")
    assert gen.cfg.gan_mode == "wgan-gp" and gen.cfg.lambda_gp == 10.0 and gen.cfg.n_critic == 5
    batch = _collate([train_ds[i] for i in range(4)])
    opts = gen.model.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    gen.model.train()
    logs = [gen.model.train_step(batch, opts, ctx) for _ in range(1)][0]
    assert logs["D_GP"] > 0 and "G_GAN" not in logs  # step 0 of 5: the critic only
    # the option is the shared training step's: cgan takes it too
    from reference_models.configs import get_config

    cg = get_method("cgan")(info_for(train_ds), config="mini")
    cg.cfg = get_config("cgan", "mini", gan_mode="wgan-gp", n_critic=1)
    cg.model = cg.build(cg.cfg, cg.info)
    out = cg.model.train_step(batch, cg.model.optimizers(), ctx)
    assert out["D_GP"] > 0 and "G_GAN" in out


def test_cgan_paper_schedule():
    """SGD, lr 0.1 / 1.00004**step floored at 1e-6, momentum 0.5 -> 0.7 (Mirza & Osindero 2014)."""
    info = DatasetInfo("digits", 10, (32, 32), task="class")
    gen = get_method("cgan")(info, config="paper")
    cfg = gen.cfg
    assert (cfg.optimizer, cfg.lr_g, cfg.batch_size, cfg.z_dist, cfg.d_pieces) == ("sgd", 0.1, 100, "uniform", 5)
    opts = gen.model.optimizers()
    base = {"G": [cfg.lr_g], "D": [cfg.lr_d]}
    gen.model.schedule(0, 10**6, opts, base)
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(0.1)
    assert opts["D"].param_groups[0]["momentum"] == pytest.approx(0.5)
    gen.model.schedule(10000, 10**6, opts, base)
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(0.1 / 1.00004 ** 10000)
    gen.model.schedule(10**6, 10**6, opts, base)
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(1e-6)
    assert opts["G"].param_groups[0]["momentum"] == pytest.approx(0.7)


def test_paper_configs_hold_the_published_settings():
    from reference_models.configs import get_config

    a = get_config("acgan", "paper")
    assert (a.z_dim, a.embed, a.ngf, a.ndf, a.lr_g, a.beta1, a.beta2, a.batch_size, a.d_dropout) == (
        100, "concat", 384, 16, 2e-4, 0.5, 0.999, 100, 0.5)
    s = get_config("sngan-proj", "paper")
    assert (s.z_dim, s.ngf, s.ndf, s.gan_mode, s.n_critic, s.lr_g, s.beta1, s.beta2, s.batch_size) == (
        128, 256, 128, "hinge", 5, 2e-4, 0.0, 0.9, 64)
    with pytest.raises(BenchError, match="unknown key 'n_criticc'"):
        get_config("acgan", "mini", n_criticc=3)
    with pytest.raises(BenchError, match="did you mean"):
        get_config("sngan-proj", "minii")


def test_spectral_norm_on_every_discriminator_layer(train_ds):
    from torch.nn.utils import parametrize

    gen = get_method("sngan-proj")(info_for(train_ds), config="mini")
    layers = [m for m in gen.model.D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear, torch.nn.Embedding))]
    assert layers and all(parametrize.is_parametrized(m, "weight") for m in layers)
    cbn = [m for m in gen.model.G.modules() if type(m).__name__ == "CategoricalConditionalBatchNorm2d"]
    assert cbn and all(m.gamma.num_embeddings == 10 for m in cbn)


def test_no_released_weights_means_train_or_checkpoint():
    for m in CLASS:
        with pytest.raises(BenchError, match="--checkpoint FILE or --train"):
            METHODS[m].default_checkpoint("digits", None)


def test_a_checkpoint_of_another_class_count_is_refused(tmp_path, train_ds):
    from reference_models.common import atomic_save

    info = info_for(train_ds)
    p = atomic_save(get_method("acgan")(info, config="mini").generator_state(), tmp_path / "a.pth")
    other = DatasetInfo("digits", 7, (32, 32), task="class")
    with pytest.raises(BenchError, match="10 label classes"):
        get_method("acgan")(other, config="mini", checkpoint=str(p))
    with pytest.raises(BenchError, match="trained for method 'acgan', not 'cgan'"):
        get_method("cgan")(info, config="mini", checkpoint=str(p))


def test_the_minis_output_projection_keeps_real_digits_and_is_idempotent():
    """``g_project_from: 8`` projects G's output onto the bicubic upscalings of 8x8 images: PIL's own upscalings (the
    real digits before rounding) are its fixed points, and projecting twice is projecting once."""
    import numpy as np
    from PIL import Image

    from reference_models.class_common import UpscaleProjection, bicubic_upscale_matrix

    rng = np.random.default_rng(0)
    small = rng.random((8, 8)).astype(np.float32)
    pil = np.asarray(Image.fromarray(small, mode="F").resize((32, 32), Image.BICUBIC))
    m = bicubic_upscale_matrix(8, 32).numpy()
    np.testing.assert_allclose(m @ small @ m.T, pil, atol=1e-5)  # PIL's bicubic resize is separable
    proj = UpscaleProjection(8, (32, 32))
    x = torch.from_numpy(pil * 1.6 - 0.8)[None, None]  # within [-1, 1]: the clamp does nothing
    torch.testing.assert_close(proj(x), x, atol=1e-4, rtol=0)
    noise = torch.rand(2, 1, 32, 32) * 2 - 1
    once = proj(noise)
    assert (once - noise).abs().max() > 0.1  # a 32x32 grain is not an upscaled 8x8 image
    torch.testing.assert_close(proj(once), once, atol=1e-4, rtol=0)
