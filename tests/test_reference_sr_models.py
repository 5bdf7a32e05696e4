"""Super-resolution reference models (SRResNet, SRGAN, ESRGAN), parametrized over the registered reference methods
whose task is ``super-resolution``: shapes at x2/x3/x4, the adapter contract on the task's batch (``bench
check-adapter``), one training step of each stage, save/load, exact resume across the pixel -> GAN stage boundary,
the learning-rate schedules of the papers, the training patches (equal to degrading the whole image), the VGG19
layers of the perceptual losses, the relativistic loss, and strict loading of ESRGAN's released generators (key and
shape fixtures listed from the authors' classes: tests/fixtures/reference_models/esrgan/PROVENANCE.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from bench.adapter import DatasetInfo, get_method
from bench.conformance import run_checks
from bench.errors import BenchError
from reference_models import METHODS
from reference_models.configs import NAMED, get_config
from reference_models.trainer import StepContext, Trainer

SR = sorted(m for m, cls in METHODS.items() if "super-resolution" in cls.tasks)
MINI = [(m, c) for m in SR for c in sorted(NAMED[m]) if c.startswith("mini")]
FIXTURES = Path(__file__).parent / "fixtures" / "reference_models" / "esrgan"
SCALES = {"srresnet": (2, 3, 4), "srgan": (2, 3, 4), "esrgan": (2, 4)}  # what each architecture supports
# offline there are no VGG19 weights: the GAN configs warn once (test_one_training_step_of_each_stage checks it)
pytestmark = [pytest.mark.filterwarnings("ignore:VGG perceptual loss disabled:UserWarning"),
              pytest.mark.usefixtures("one_thread")]  # conftest: one intra-op thread


def sr_info(scale: int = 4, size: int = 64, degradation: str = "pil-bicubic", name: str = "sr-test") -> DatasetInfo:
    return DatasetInfo(name, 1, (size, size), task="super-resolution",
                       task_params=(("degradation", degradation), ("scale", scale)))


def smooth_images(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """uint8 [n,3,size,size]: upsampled 8x8 noise plus fine noise (edges and texture for the losses)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand((n, 3, 8, 8), generator=g)
    up = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear", align_corners=False)
    return ((up * 0.85 + 0.15 * torch.rand((n, 3, size, size), generator=g)) * 255).round().to(torch.uint8)


class TinySR:
    """A map-style SR training split: ``image`` uint8 [3,H,W] and ``path`` (all SRTrainingData reads)."""

    def __init__(self, n: int = 8, size: int = 64) -> None:
        self.images = smooth_images(n, size)
        self.resolution = (size, size)
        self.num_classes, self.has_instances, self.palette = 1, False, [(128, 128, 128)]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> dict:
        return {"image": self.images[i], "path": f"img{i}.png"}


def make(method: str, config: str, info: DatasetInfo | None = None, **over):
    gen = get_method(method)(info or sr_info(), config=config)
    if over:
        gen.cfg = gen.cfg.replace(**over)
        gen.model = gen.build(gen.cfg, gen.info)
    return gen


def lr_batch(lr: torch.Tensor, scale: int) -> dict:
    return {"lr": lr, "scale": scale, "path": [f"p{i}" for i in range(len(lr))]}


# ----------------------------------------------------------------------------- registry, shapes, contract

def test_registered_with_the_sr_task():
    from bench.adapter import method_names

    assert SR == ["esrgan", "srgan", "srresnet"]
    names = method_names()
    for m in SR:
        assert m in names and get_method(m) is METHODS[m]
        assert METHODS[m].tasks == ("super-resolution",) and not METHODS[m].multimodal
    assert ("esrgan", "mini-psnr") in MINI and ("srresnet", "mini") in MINI


@pytest.mark.parametrize("method,config", MINI + [(m, "paper") for m in SR])
def test_forward_shapes_at_every_supported_scale(method, config):
    for scale in SCALES[method]:
        gen = get_method(method)(sr_info(scale, 12 * scale), config=config)
        out = gen.generate(lr_batch(torch.randint(0, 256, (2, 3, 12, 12), dtype=torch.uint8), scale), seeds=[1, 2])
        assert out.dtype == torch.uint8 and tuple(out.shape) == (2, 3, 12 * scale, 12 * scale), (scale, out.shape)
    if method == "esrgan":  # RRDBNet has no x3 (neither the release nor BasicSR's variant)
        with pytest.raises(BenchError, match="RRDBNet upsamples x4 .* or x2 .*, not x3"):
            get_method(method)(sr_info(3, 36), config=config)


def test_native_size_test_sets_get_the_input_times_the_scale():
    """A test set at its own sizes (DatasetInfo.resolution None, e.g. Set5): the output is the input x scale."""
    info = DatasetInfo("set5-like", 1, None, task="super-resolution",
                       task_params=(("degradation", "matlab-bicubic"), ("scale", 4)))
    gen = get_method("srresnet")(info, config="mini")
    out = gen.generate(lr_batch(torch.zeros((1, 3, 9, 13), dtype=torch.uint8), 4), seeds=[0])
    assert tuple(out.shape) == (1, 3, 36, 52)


@pytest.mark.parametrize("method,config", MINI)
def test_adapter_contract_on_the_sr_batch(method, config):
    """What ``bench check-adapter`` runs, on the super-resolution task's batch: output, same seeds -> same
    images, batch-size independence (deterministic methods: no multimodality claim)."""
    from bench.tasks import get_task

    info = sr_info(4, 64)
    gen = make(method, config, info)
    images = smooth_images(3)
    batch = get_task("super-resolution").make_batch({"image": images, "path": ["a", "b", "c"]},
                                                    dict(info.task_params), ["a", "b", "c"])
    assert set(batch) == {"lr", "scale", "path"} and tuple(batch["lr"].shape) == (3, 3, 16, 16)
    checks = run_checks(gen, batch, [11, 12, 13])
    bad = [f"{c.name}: {c.message}" for c in checks if not c.ok]
    assert not bad, bad
    assert not any(c.name.startswith("different seeds") for c in checks)


def test_check_adapter_command_on_the_embedded_photos(capsys):
    """``bench check-adapter`` on photos-sr (72x72, x4 MATLAB bicubic), each method's default (mini) config."""
    from bench.cli import main

    for name in ("reference_models.srgan:SRResNet", "reference_models.srgan:SRGAN", "reference_models.esrgan:ESRGAN"):
        assert main(["check-adapter", name, "--dataset", "photos-sr", "--device", "cpu", "--batch-size", "2"]) == 0
        out = capsys.readouterr().out
        assert "conforms" in out and "task super-resolution: batch lr, scale, path" in out, out


def test_bad_inputs_are_one_line_errors(tmp_path):
    gen = make("srresnet", "mini")
    with pytest.raises(BenchError, match=r"'lr' must be \[B,3,16,16\] \(x4 of 64x64\), got \[1, 3, 8, 8\]"):
        gen.generate(lr_batch(torch.zeros((1, 3, 8, 8), dtype=torch.uint8), 4), seeds=[0])
    with pytest.raises(BenchError, match="the batch asks for x2, this model is x4"):
        gen.generate(lr_batch(torch.zeros((1, 3, 16, 16), dtype=torch.uint8), 2), seeds=[0])
    with pytest.raises(BenchError, match="'lr' must be uint8"):
        gen.generate(lr_batch(torch.zeros((1, 3, 16, 16)), 4), seeds=[0])
    with pytest.raises(BenchError, match="unknown key 'patch_sise'.*did you mean"):
        get_config("srgan", "mini", patch_sise=32)
    with pytest.raises(BenchError, match="config gan_mode must be one of vanilla, ragan, not 'hinge'"):
        make("esrgan", "mini", gan_mode="hinge")
    with pytest.raises(BenchError, match="config scale 2 does not match the dataset 'sr-test' \\(x4\\)"):
        make("srresnet", "mini", scale=2)
    with pytest.raises(BenchError, match="patch_size 40 is not a multiple of 16"):
        make("srgan", "mini", patch_size=40)
    with pytest.raises(BenchError, match="patch_size 48 is not a multiple of 32"):
        make("esrgan", "mini", patch_size=48)
    native = DatasetInfo("div2k-like", 1, None, task="super-resolution",
                         task_params=(("degradation", "matlab-bicubic"), ("scale", 4)))
    data = TinySR(2)
    data.resolution = None  # a split at its images' own sizes (DIV2K)
    for info in (native, sr_info()):
        with pytest.raises(BenchError, match="keeps each image's own size; the SR trainer needs a dataset at one "
                                             "resolution"):
            get_method("srresnet")(info, config="mini").train(data, out_dir=str(tmp_path / "unused"), seed=0, steps=1)


def test_an_untrained_mini_is_the_bicubic_baseline():
    """``global_skip: bicubic`` with a zero last conv: before training, each mini gives the ``bicubic`` method's
    images under ``pil-bicubic`` (torch's bicubic; that method computes in float64, the minis in float32: at most one
    grey level apart)."""
    info = sr_info(4, 64)
    lr = smooth_images(2, 16, seed=3)
    base = get_method("bicubic")(info).generate(lr_batch(lr, 4), seeds=[0, 1])
    for method, config in MINI:
        out = make(method, config, info).generate(lr_batch(lr, 4), seeds=[0, 1])
        diff = (out.int() - base.int()).abs()
        assert int(diff.max()) <= 1 and float((diff > 0).float().mean()) < 0.01, (method, config)


# ----------------------------------------------------------------------------- training

def _fixed_ctx(step: int = 0) -> StepContext:
    ctx = StepContext(torch.device("cpu"), False, {})
    ctx.global_step = step
    return ctx


@pytest.mark.parametrize("method,config", MINI)
def test_one_training_step_of_each_stage(monkeypatch, method, config):
    """A pixel-stage step moves G only; a GAN-stage step (adversarial configs) moves G and D and logs every term.
    The perceptual loss is set up at the first step, so offline its warning comes there (and train.json knows)."""
    import warnings

    from reference_models import srgan

    gen = make(method, config)
    m = gen.model
    m.train()
    opts = m.optimizers()
    batch = {"image": smooth_images(4)}
    g0 = {k: v.clone() for k, v in m.G.state_dict().items()}
    torch.manual_seed(0)
    monkeypatch.setattr(srgan, "_warned", set())  # one warning per process: see it here
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logs = m.train_step(batch, opts, _fixed_ctx(0))
    warned = any("VGG perceptual loss disabled" in str(w.message) for w in caught)
    assert warned == bool(gen.cfg.adversarial and gen.cfg.lambda_perceptual)
    assert set(logs) == {"G_pixel"} and math.isfinite(logs["G_pixel"])
    assert any(not torch.equal(v, g0[k]) for k, v in m.G.state_dict().items() if v.is_floating_point())
    if not gen.cfg.adversarial:
        assert m.D is None and gen.model.vgg_status() == "off (config)"
        return
    d0 = {k: v.clone() for k, v in m.D.state_dict().items()}
    logs = m.train_step(batch, opts, _fixed_ctx(int(gen.cfg.pretrain_steps)))
    assert {"G_adv", "G_pixel", "D"} <= set(logs) and all(math.isfinite(v) for v in logs.values())
    assert "G_VGG" not in logs and m.vgg_status().startswith("disabled: VGG19 weights unavailable")
    assert any(not torch.equal(v, d0[k]) for k, v in m.D.state_dict().items() if v.is_floating_point())


@pytest.mark.parametrize("method", SR)
def test_pixel_steps_on_a_fixed_batch_lower_the_pixel_loss(method):
    """12 pixel-stage steps on one batch (same patches every step: the RNG is re-seeded) lower the loss; without the
    minis' bicubic skip, whose start is already close (as the papers' networks)."""
    config = "mini" if method != "esrgan" else "mini-psnr"
    gen = make(method, config, global_skip="none")
    gen.model.train()
    opts = gen.model.optimizers()
    batch = {"image": smooth_images(4, seed=5)}
    losses = []
    for _ in range(12):
        torch.manual_seed(0)
        losses.append(gen.model.train_step(batch, opts, _fixed_ctx(0))["G_pixel"])
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.mark.parametrize("method,config", MINI)
def test_save_load_identical(tmp_path, method, config):
    info = sr_info(4, 64)
    gen = make(method, config, info, batch_size=2, sample_every=1, pretrain_steps=1)
    gen.train(TinySR(6), out_dir=str(tmp_path / "run"), seed=3, steps=2)
    assert (tmp_path / "run" / "samples" / "step-00000002.png").is_file()  # the trainer's grid on HR batches
    from reference_models.common import atomic_save

    path = atomic_save(gen.generator_state(), tmp_path / "g.pth")
    batch = lr_batch(smooth_images(2, 16, seed=9), 4)
    for p in (path, tmp_path / "run" / "generator.pth"):
        again = get_method(method)(info, config=config, checkpoint=str(p))
        assert torch.equal(gen.generate(batch, seeds=[5, 6]), again.generate(batch, seeds=[5, 6]))
    rec = json.loads((tmp_path / "run" / "train.json").read_text())
    assert rec["complete"] and rec["step"] == 2
    assert rec["vgg_loss"].startswith("disabled") if gen.cfg.adversarial else rec["vgg_loss"] == "off (config)"
    with pytest.raises(BenchError, match="was trained for x4, the dataset 'sr-test' is x2"):
        get_method(method)(sr_info(2, 32), config=config, checkpoint=str(path))
    other = "srresnet" if method != "srresnet" else "srgan"
    with pytest.raises(BenchError, match=f"was trained for method '{method}', not '{other}'"):
        get_method(other)(info, config="mini", checkpoint=str(path))


@pytest.mark.parametrize("method", SR)
def test_exact_resume_across_the_stage_boundary(tmp_path, method):
    """2 + 2 steps resumed == 4 steps; adversarial methods switch from the pixel stage to the GAN stage at step 2
    (the resumed run starts exactly there: G's Adam state is reset once, D starts training)."""
    from reference_models.srgan import SRTrainingData

    info = sr_info(4, 64)
    data = SRTrainingData(TinySR(6))  # what the adapter's train() hands the trainer

    def fresh():
        return make(method, "mini", info, batch_size=2, save_every=2, sample_every=0, pretrain_steps=2)

    full = fresh()
    Trainer(full, data, out_dir=tmp_path / "full", seed=7, steps=4, progress=False).run()
    part = fresh()
    Trainer(part, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False, stop_after=2).run()
    assert json.loads((tmp_path / "part" / "train.json").read_text())["step"] == 2
    resumed = fresh()
    Trainer(resumed, data, out_dir=tmp_path / "part", seed=7, steps=4, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    diff = [k for k in a if not torch.equal(a[k], b[k])]
    assert not diff, diff[:5]
    hist = json.loads((tmp_path / "full" / "train.json").read_text())["history"]
    if full.cfg.adversarial:
        assert "D" in hist[-1]  # the GAN stage ran
        start = fresh()
        start.reinitialize(7)
        assert any(not torch.equal(v, start.model.D.state_dict()[k]) for k, v in full.model.D.state_dict().items()
                   if v.is_floating_point())
    ck = tmp_path / "part" / "checkpoints"
    latest = json.loads((ck / "latest.json").read_text())
    torch.load(ck / latest["state"], weights_only=True)


def test_init_g_starts_srgan_from_a_trained_srresnet(tmp_path):
    from reference_models.common import atomic_save

    info = sr_info(4, 64)
    res = make("srresnet", "mini", info)
    torch.manual_seed(1)
    for p in res.model.G.parameters():
        p.data.add_(torch.randn_like(p) * 0.01)
    path = atomic_save(res.generator_state(), tmp_path / "srresnet.pth")
    gan = make("srgan", "mini", info, init_g=str(path))
    gan.reinitialize(0)
    a, b = res.model.G.state_dict(), gan.model.G.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    esr = make("esrgan", "mini", info, init_g=str(path))
    with pytest.raises(BenchError, match="was trained for method 'srresnet', not 'esrgan'"):
        esr.reinitialize(0)


def test_paper_configs_hold_the_published_settings():
    """Ledig et al. 2017 sec. 3.2 and Wang et al. 2018 (+ BasicSR's ESRGAN options for the stage lengths)."""
    s = get_config("srgan", "paper")
    assert (s.n_blocks, s.nf, s.patch_size, s.batch_size, s.beta1, s.pixel_loss) == (16, 64, 96, 16, 0.9, "mse")
    assert (s.perceptual_layer, s.perceptual_criterion, s.lambda_adv, s.gan_mode) == ("relu5_4", "mse", 1e-3, "vanilla")
    assert s.perceptual_scale == pytest.approx(1 / 12.75) and s.lambda_pixel == 0
    e = get_config("esrgan", "paper")
    assert (e.n_blocks, e.nf, e.gc, e.patch_size, e.batch_size, e.gan_mode) == (23, 64, 32, 128, 16, "ragan")
    assert (e.lambda_perceptual, e.lambda_adv, e.lambda_pixel, e.pixel_loss) == (1.0, 5e-3, 1e-2, "l1")
    assert (e.perceptual_layer, e.perceptual_criterion) == ("conv5_4", "l1")
    assert not get_config("esrgan", "paper-psnr").adversarial
    r = get_config("srresnet", "paper")
    assert (r.steps, r.lr_pretrain, r.adversarial) == (1_000_000, 1e-4, False)


def test_learning_rate_schedules():
    """SRGAN: 1e-4 for SRResNet's 10^6 steps and the first 10^5 GAN steps, then 1e-5. ESRGAN: the PSNR stage
    starts at 2e-4 and halves every 2x10^5; the GAN stage starts at 1e-4 and halves at 50k, 100k, 200k, 300k."""
    from reference_models.esrgan import ESRGANModel
    from reference_models.srgan import SRResNetModel

    info = sr_info(4, 384)
    with torch.device("meta"):
        srgan = SRResNetModel(get_config("srgan", "paper"), info)
        esrgan = ESRGANModel(get_config("esrgan", "paper"), info)
    assert srgan.learning_rates(0) == (1e-4, 0.0) and srgan.learning_rates(999_999) == (1e-4, 0.0)
    assert srgan.learning_rates(1_000_000) == (1e-4, 1e-4)
    assert srgan.learning_rates(1_099_999) == (1e-4, 1e-4)
    assert srgan.learning_rates(1_100_000) == pytest.approx((1e-5, 1e-5))
    expect_psnr = {0: 2e-4, 199_999: 2e-4, 200_000: 1e-4, 400_000: 5e-5, 999_999: 2e-4 / 16}
    for step, lr in expect_psnr.items():
        assert esrgan.learning_rates(step) == pytest.approx((lr, 0.0)), step
    expect_gan = {0: 1e-4, 49_999: 1e-4, 50_000: 5e-5, 100_000: 2.5e-5, 200_000: 1.25e-5, 300_000: 6.25e-6,
                  399_999: 6.25e-6}
    for k, lr in expect_gan.items():
        assert esrgan.learning_rates(1_000_000 + k) == pytest.approx((lr, lr)), k


def test_the_gan_stage_starts_with_a_fresh_adam_for_g():
    gen = make("srgan", "mini", pretrain_steps=2)
    m = gen.model
    m.train()
    opts = m.optimizers()
    base = {"G": [1.0], "D": [1.0]}
    batch = {"image": smooth_images(4)}
    for step in range(2):
        m.schedule(step, 10, opts, base)
        m.train_step(batch, opts, _fixed_ctx(step))
    assert len(opts["G"].state) > 0
    m.schedule(2, 10, opts, base)
    assert len(opts["G"].state) == 0
    assert opts["G"].param_groups[0]["lr"] == gen.cfg.lr_g and opts["D"].param_groups[0]["lr"] == gen.cfg.lr_d


# ----------------------------------------------------------------------------- training patches

def _degradations() -> tuple[str, ...]:
    from bench.tasks.super_resolution import DEGRADATIONS

    return DEGRADATIONS


@pytest.mark.parametrize("degradation", _degradations())
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_training_pairs_equal_degrading_the_whole_image(degradation, scale):
    """The LR patch made from a window around the HR patch equals the same pixels of the card's degradation of the
    whole image (every position, borders included); one LR pixel of context would not be enough."""
    from bench.tasks.super_resolution import degrade

    from reference_models.srgan import degrade_window, random_pairs

    g = torch.Generator().manual_seed(scale)
    img = torch.randint(0, 256, (3, 24 * scale, 20 * scale), generator=g, dtype=torch.uint8)
    full = degrade(img[None], scale, degradation)[0]
    short = 0
    for y, x, size in [(0, 0, 6), (18, 14, 6), (9, 0, 5), (3, 7, 8), (0, 15, 5), (10, 10, 4)]:
        want = full[:, y:y + size, x:x + size]
        assert torch.equal(degrade_window(img, scale, y, x, size, degradation), want), (y, x)
        short += int(not torch.equal(degrade_window(img, scale, y, x, size, degradation, margin=1), want))
    assert short > 0
    torch.manual_seed(0)
    lr, hr = random_pairs(img[None].repeat(3, 1, 1, 1), scale, 8 * scale, degradation)
    for i in range(3):  # each HR patch is a scale-aligned crop; its LR is the matching crop of the full LR image
        ys, xs = [(y, x) for y in range(0, img.shape[1] - 8 * scale + 1, scale)
                  for x in range(0, img.shape[2] - 8 * scale + 1, scale)
                  if torch.equal(img[:, y:y + 8 * scale, x:x + 8 * scale], hr[i])][0]
        assert torch.equal(lr[i], full[:, ys // scale:ys // scale + 8, xs // scale:xs // scale + 8])


def test_rotations_give_dihedral_transforms_of_the_image():
    from reference_models.srgan import random_pairs

    img = smooth_images(1, 32, seed=4)[0]
    variants = [img, img.flip(-2), img.transpose(-1, -2), img.flip(-2).transpose(-1, -2)]
    seen = set()
    for seed in range(12):
        torch.manual_seed(seed)
        _, hr = random_pairs(img[None], 4, 32, "pil-bicubic", rot90=True)
        seen.add(next(j for j, v in enumerate(variants) if torch.equal(v, hr[0])))
    assert seen == {0, 1, 2, 3}
    with pytest.raises(BenchError, match="patch_size 64 is larger than the training images"):
        random_pairs(img[None], 4, 64, "pil-bicubic")


# ----------------------------------------------------------------------------- losses

@pytest.fixture(scope="module")
def vgg19_random():
    import torchvision

    torch.manual_seed(0)
    return torchvision.models.vgg19(weights=None).features.eval()


@pytest.mark.parametrize("layer,criterion,scale", [("conv5_4", "l1", 1.0), ("relu5_4", "mse", 1 / 12.75)])
def test_perceptual_loss_reads_the_named_vgg19_layer(vgg19_random, layer, criterion, scale):
    """Reference: run torchvision's VGG19 module by module and take the 16th conv's output (conv5_4) or the ReLU
    after it (relu5_4), on ImageNet-normalised [0, 1] images."""
    from reference_models.srgan import PerceptualLoss, VGG19_CUT

    def reference_features(x01: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
        std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
        h, convs = (x01 - mean) / std, 0
        for mod in vgg19_random:
            h = mod(h)
            if isinstance(mod, torch.nn.Conv2d):
                convs += 1
                if convs == 16 and layer == "conv5_4":
                    return h
            elif isinstance(mod, torch.nn.ReLU) and convs == 16:
                return h
        raise AssertionError("no 16th conv")

    x, y = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)), torch.rand(2, 3, 32, 32)
    loss = PerceptualLoss(layer, criterion, scale, trunk=vgg19_random[:VGG19_CUT[layer]])
    with torch.no_grad():
        fx, fy = reference_features(x) * scale, reference_features(y) * scale
        want = ((fx - fy) ** 2).mean() if criterion == "mse" else (fx - fy).abs().mean()
        got = loss(x, y)
    assert float(got) == pytest.approx(float(want), rel=1e-5)
    if layer == "conv5_4":  # before the activation: negative responses are kept
        assert float(loss.features(x).detach().min()) < 0


def test_relativistic_average_losses_match_the_paper():
    """ESRGAN: D_Ra(a, b) = sigmoid(C(a) - mean C(b)); L_D = -E log D_Ra(x_r, x_f) - E log(1 - D_Ra(x_f, x_r)),
    L_G = -E log(1 - D_Ra(x_r, x_f)) - E log D_Ra(x_f, x_r); BasicSR weights each side 1/2. Float64 reference."""
    from reference_models.srgan import relativistic_losses

    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    ls = torch.nn.functional.logsigmoid
    d_rf, d_fr = real - fake.mean(), fake - real.mean()
    want_d = 0.5 * (-ls(d_rf).mean() - ls(-d_fr).mean())
    want_g = 0.5 * (-ls(-d_rf).mean() - ls(d_fr).mean())
    assert float(relativistic_losses(real, fake, True)) == pytest.approx(float(want_d), rel=1e-12)
    assert float(relativistic_losses(real, fake, False)) == pytest.approx(float(want_g), rel=1e-12)
    r, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    relativistic_losses(r, f, False).backward()
    assert r.grad is None or float(r.grad.abs().max()) == 0  # G's loss moves only the fakes


# ----------------------------------------------------------------------------- released ESRGAN generators

def fixture_keys(name: str) -> dict[str, list[int]]:
    return json.loads((FIXTURES / f"{name}.json").read_text())["keys"]


def meta_esrgan(scale: int):
    from reference_models.esrgan import ESRGANModel

    with torch.device("meta"):  # the paper-size network costs no memory
        return ESRGANModel(get_config("esrgan", "paper"), sr_info(scale, 32 * scale)).G


def test_our_rrdbnet_has_the_release_keys_exactly():
    """Ours uses xinntao/ESRGAN's names, so RRDB_ESRGAN_x4.pth / RRDB_PSNR_x4.pth need no renaming."""
    ours = {k: list(v.shape) for k, v in meta_esrgan(4).state_dict().items()}
    assert ours == fixture_keys("esrgan_xinntao_x4")


@pytest.mark.parametrize("name,scale", [("esrgan_xinntao_x4", 4), ("esrgan_basicsr_x4", 4),
                                        ("esrgan_basicsr_x2", 2)])
def test_release_keys_map_to_ours_and_load_strictly(name, scale):
    from reference_models import official_keys
    from reference_models.common import strict_load

    G = meta_esrgan(scale)
    state = {k: torch.empty(s, device="meta") for k, s in fixture_keys(name).items()}
    mapped = official_keys.to_ours("esrgan", state, G)
    assert set(mapped) == set(G.state_dict())
    strict_load(G, mapped, name)
    dp = {"module." + k: v for k, v in state.items()}  # DataParallel-saved copies
    strict_load(G, official_keys.to_ours("esrgan", dp, G), name)


def _release_file(tmp_path: Path, style: str, wrap: str | None, blocks: int = 1, edit=None) -> tuple[Path, dict]:
    """A release-style file of a ``blocks``-deep RRDBNet: the fixture's entries for the first ``blocks`` RRDBs and
    the other layers, random values; ``wrap``: BasicSR's ``params`` / ``params_ema`` dict (both: different values)."""
    keys = fixture_keys(f"esrgan_{style}_x4")
    trunk = "body." if style == "basicsr" else "RRDB_trunk."
    keep = {k: s for k, s in keys.items() if not k.startswith(trunk) or int(k.split(".")[1]) < blocks}
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(s, generator=g) * 0.02 for k, s in keep.items()}
    if edit:
        edit(state)
    if wrap == "both":
        obj = {"params": {k: v + 1 for k, v in state.items()}, "params_ema": state}
    else:
        obj = {wrap: state} if wrap else state
    path = tmp_path / f"{style}-{wrap}.pth"
    torch.save(obj, path)
    return path, state


def _shallow_esrgan(scale: int = 4):
    return make("esrgan", "paper", sr_info(scale, 16 * scale), n_blocks=1)


@pytest.mark.parametrize("style,wrap", [("xinntao", None), ("basicsr", "params"), ("basicsr", "both")])
def test_release_files_load_through_the_adapter(tmp_path, style, wrap):
    """Files as the authors save them load strictly, every tensor in its place: the correspondence of the two key
    styles comes from the official classes (the fixtures list the same modules in the same order)."""
    path, state = _release_file(tmp_path, style, wrap)
    gen = _shallow_esrgan()
    gen.load(str(path))
    assert gen.params_key == ("params_ema" if wrap == "both" else (wrap or ""))
    theirs = [k for k in fixture_keys(f"esrgan_{style}_x4") if k in state]
    ours = [k for k in fixture_keys("esrgan_xinntao_x4") if k in gen.model.G.state_dict()]
    assert len(theirs) == len(ours) == len(gen.model.G.state_dict())
    loaded = gen.model.G.state_dict()
    for a, b in zip(theirs, ours):
        assert torch.equal(loaded[b], state[a]), (a, b)
    out = gen.generate(lr_batch(smooth_images(1, 16), 4), seeds=[0])
    assert out.shape == (1, 3, 64, 64)
    assert gen.provenance().get("checkpoint_params_key", "") == gen.params_key


@pytest.mark.parametrize("problem,message", [
    ("missing", r"checkpoint does not match the architecture: 1 missing keys \(HRconv.bias\)"),
    ("extra", r"checkpoint does not match the architecture: 1 unexpected keys \(conv_extra.weight\)"),
    ("shape", r"1 shape mismatches, first conv_last.weight: checkpoint \[3, 64, 3, 1\] vs model \[3, 64, 3, 3\]"),
])
@pytest.mark.parametrize("style", ["xinntao", "basicsr"])
def test_a_damaged_release_is_refused_in_one_line(tmp_path, style, problem, message):
    hr = "HRconv" if style == "xinntao" else "conv_hr"

    def edit(state):
        if problem == "missing":
            del state[f"{hr}.bias"]
        elif problem == "extra":
            state["conv_extra.weight"] = torch.zeros(1)
        else:
            state["conv_last.weight"] = state["conv_last.weight"][..., :1].clone()

    path, _ = _release_file(tmp_path, style, "params" if style == "basicsr" else None, edit=edit)
    with pytest.raises(BenchError, match=message) as e:
        _shallow_esrgan().load(str(path))
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_an_x4_release_on_an_x2_dataset_names_both_scales(tmp_path):
    path, _ = _release_file(tmp_path, "xinntao", None)
    with pytest.raises(BenchError, match=r"an RRDBNet for x4 \(conv_first takes 3 channels\); the dataset "
                                         r"'sr-test' is x2"):
        _shallow_esrgan(2).load(str(path))


def test_released_weights_are_registered_and_used_without_a_checkpoint(tmp_path, monkeypatch):
    from bench import weights

    reg = {n: weights.get(n) for n in ("esrgan-rrdb-esrgan-x4", "esrgan-rrdb-psnr-x4", "basicsr-esrgan-x4",
                                       "basicsr-esrgan-psnr-x4")}
    assert reg["basicsr-esrgan-x4"].sha256 == "ff704c30" and reg["basicsr-esrgan-psnr-x4"].sha256 == "150ff491"
    assert reg["esrgan-rrdb-esrgan-x4"].sha256 == "" and reg["esrgan-rrdb-esrgan-x4"].filename == "RRDB_ESRGAN_x4.pth"
    assert reg["basicsr-esrgan-x4"].urls[0].startswith("https://github.com/xinntao/Real-ESRGAN/releases/")
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    with pytest.raises(BenchError, match=r"RRDB_ESRGAN_x4.pth, ESRGAN_SRx4_DF2KOST_official-ff704c30.pth\) was not "
                                         "found"):
        METHODS["esrgan"].default_checkpoint("synthetic-streets-sr", "paper")
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path))
    (tmp_path / "RRDB_PSNR_x4.pth").write_bytes(b"x")  # found by name (no digest published for this file)
    assert METHODS["esrgan"].default_checkpoint("set5", "paper-psnr") == str(tmp_path / "RRDB_PSNR_x4.pth")
    for m in ("srresnet", "srgan"):
        with pytest.raises(BenchError, match="has no released weights: pass --checkpoint FILE or --train"):
            METHODS[m].default_checkpoint("synthetic-streets-sr", "paper")
    with pytest.raises(BenchError, match="has no released weights"):
        METHODS["esrgan"].default_checkpoint("synthetic-streets-sr", "mini")


def test_fixture_provenance_names_every_fixture():
    text = (FIXTURES / "PROVENANCE.md").read_text()
    for p in FIXTURES.glob("*.json"):
        assert p.name in text
        assert "(commit " in json.loads(p.read_text())["source"]
