"""The text-to-image reference methods: StackGAN (reference_models/stackgan.py: the authors' PyTorch port; key fixtures
listed by instantiating their classes, benchmarks/oracle_stackgan.py, which also compares outputs, losses and training
iterations with their code on the same weights) and GAN-INT-CLS (reference_models/gan_int_cls.py: from their Lua code;
layer list, shapes and losses against hand computations). Generation (eval mode, noise from the seeds, batch-size
independence), the stage / resolution / embedding-size refusals, training steps, exact resume and the adapter
contract, on small fake caption sets."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from bench.adapter import DatasetInfo, derive_seed, per_sample_noise
from bench.checkpoints import normalize_release
from bench.conformance import run_checks
from bench.errors import BenchError
from conftest import smooth_images
from reference_models import official_keys
from reference_models.common import atomic_save, strict_load
from reference_models.configs import get_config
from reference_models.gan_int_cls import (GANINTCLS, Captioned, Discriminator, GANINTCLSModel, Generator, Residual,
                                          draw_captions, jitter, torch7_bce)
from reference_models.stackgan import (STAGE1_G, STAGE2_G, KL_loss, StackGAN, StackGANModel,
                                       compute_discriminator_loss, compute_generator_loss, official_to_ours)
from reference_models.trainer import StepContext, Trainer, _collate

pytestmark = pytest.mark.usefixtures("one_thread")

FIXTURES = Path(__file__).parent / "fixtures" / "reference_models" / "stackgan"
DIM = 16
# text_scale 1 and the paper's KL weight: the tiny configs test the authors' networks, not the minis' tuning
SG_TINY = {"gf_dim": 4, "df_dim": 4, "condition_dim": 8, "z_dim": 8, "r_num": 1, "batch_size": 4, "sample_every": 0,
           "text_scale": 1.0, "coeff_kl": 2.0}
GI_TINY = {"ngf": 4, "ndf": 4, "nt": 8, "nz": 8, "batch_size": 4, "sample_every": 0, "text_scale": 1.0}


def info(size=64, dim=DIM, name="captions-test") -> DatasetInfo:
    return DatasetInfo(name, 1, (size, size), task="text",
                       task_params=(("embedding_dim", dim), ("eval_caption", "rotate")))


@pytest.fixture(autouse=True)
def tiny_configs(monkeypatch):
    """Tiny widths as named configs ("tiny", "tiny-stage2"), so that no paper-size network is built first."""
    from reference_models import configs

    monkeypatch.setitem(configs.NAMED["stackgan"], "tiny", {**configs.NAMED["stackgan"]["mini"], **SG_TINY})
    monkeypatch.setitem(configs.NAMED["stackgan"], "tiny-stage2",
                        {**configs.NAMED["stackgan"]["paper-stage2"], **SG_TINY})
    monkeypatch.setitem(configs.NAMED["gan-int-cls"], "tiny", {**configs.NAMED["gan-int-cls"]["mini"], **GI_TINY})


def tiny(cls, config="tiny", size=64, dim=DIM, **over):
    gen = cls(info(size, dim), config=config)
    if over:
        gen.cfg = gen.cfg.replace(**over)
        gen.model = gen.build(gen.cfg, gen.info)
    return gen


class FakeCaptions:
    """Smooth random images with 3 captions each (embeddings: the image's mean colour, noise, and padding)."""

    def __init__(self, n=8, size=64, captions=3):
        g = torch.Generator().manual_seed(4)
        self.images = [torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous() for a in smooth_images(n, size, seed=5)]
        self.emb = [torch.randn((captions, DIM), generator=g) + x.float().mean() / 64 for x in self.images]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        c = self.emb[i].shape[0]
        return {"image": self.images[i], "embeddings": self.emb[i], "captions": [f"caption {k}" for k in range(c)],
                "caption": f"caption {i % c}", "embedding": self.emb[i][i % c], "path": f"x{i}.png"}


def randomize(net, seed=0, std=0.3):
    """Every float tensor redrawn (running variances in [0.5, 1.5]): freshly initialised tiny nets output ~0."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if v.is_floating_point():
                v.copy_(torch.rand(v.shape, generator=g) + 0.5 if k.endswith("running_var")
                        else torch.randn(v.shape, generator=g) * std)


def text_batch(b=3, dim=DIM, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"embedding": torch.randn((b, dim), generator=g), "caption": [f"c{i}" for i in range(b)],
            "path": [f"s{i}" for i in range(b)]}


# ----------------------------------------------------------------------------- StackGAN: the authors' generators

CASES = {"paper_stage1_G": ("paper", 64), "paper_stage2_G": ("paper-stage2", 256), "coco_stage1_G": ("coco-stage1", 64),
         "coco_stage2_G": ("coco-stage2", 256)}


def fixture_state(name):
    keys = json.loads((FIXTURES / f"{name}.json").read_text())["keys"]
    return {k: torch.empty(shape, device="meta") for k, shape in keys.items()}


def meta_G(config, size, dim=1024):
    with torch.device("meta"):
        return StackGANModel(get_config("stackgan", config, info(size, dim)), info(size, dim)).G


@pytest.mark.parametrize("name", sorted(CASES))
def test_generators_have_the_authors_keys_and_shapes(name):
    config, size = CASES[name]
    G = meta_G(config, size)
    assert {k: list(v.shape) for k, v in G.state_dict().items()} == json.loads((FIXTURES / f"{name}.json").read_text())[
        "keys"]
    strict_load(G, normalize_release(G, official_to_ours(fixture_state(name))), name)
    # their PyTorch of 2017 wrote no num_batches_tracked; DataParallel files have 'module.'
    old = {"module." + k: v for k, v in fixture_state(name).items() if not k.endswith("num_batches_tracked")}
    strict_load(G, official_keys.to_ours("stackgan", old, G), name)


def test_fixture_folder_and_release_mapping():
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(CASES)
    assert official_keys.RENAMES["stackgan"] == "reference_models.stackgan:official_to_ours"
    G = meta_G("coco-stage2", 256)
    assert isinstance(G, STAGE2_G) and isinstance(G.STAGE1_G, STAGE1_G) and len(G.residual) == 2
    assert G.STAGE1_G.gf_dim == 192 * 8 and not any(p.requires_grad for p in G.STAGE1_G.parameters())
    assert StackGAN.native_resolution("coco-captions", "paper") == (256, 256)  # paper -> coco-stage2 there
    with pytest.raises(BenchError, match="netG_epoch_90.pth"):
        StackGAN.default_checkpoint("coco-captions", "coco-stage2")


def test_released_style_file_through_the_adapter(tmp_path):
    """An authors'-style file (no _meta, no num_batches_tracked, random running statistics) loads, generates as their
    sample(): eval mode (running statistics) with z and CA noise from the seeds; another embedding size is refused."""
    src = tiny(StackGAN)
    randomize(src.model.G, 9)
    state = {k: v for k, v in src.model.G.state_dict().items() if not k.endswith("num_batches_tracked")}
    p = tmp_path / "netG_epoch_600.pth"
    torch.save(state, p)
    gen = tiny(StackGAN)
    gen.load(str(p))
    batch = text_batch(2)
    out = gen.generate(batch, seeds=[3, 4])
    G = copy.deepcopy(gen.model.G).eval()
    want = []
    for i, s in enumerate((3, 4)):
        z = per_sample_noise([s], (8,))
        eps = per_sample_noise([derive_seed(s, "stackgan-ca", 1)], (8,))
        with torch.no_grad():
            want.append(((G(batch["embedding"][i:i + 1], z, eps)[1].clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
    assert torch.equal(out, torch.cat(want))
    G.train()  # training mode (batch statistics) would give other images: eval mode is what their sample() runs
    with torch.no_grad():
        a = G(batch["embedding"], per_sample_noise([3, 4], (8,)))[1]
    assert float((a - torch.cat(want).float() / 127.5 + 1).abs().max()) > 0.05
    other = tiny(StackGAN, dim=32)
    with pytest.raises(BenchError, match="trained on 16-dimensional sentence embeddings; the dataset") as e:
        other.load(str(p))
    assert "\n" not in str(e.value)


def test_stage_and_resolution_are_refused_in_one_line():
    with pytest.raises(BenchError, match=r"config 'paper-stage2' \(stage 2\) generates 256x256 images; dataset "
                                         r"'captions-test' is at 64x64") as e:
        StackGANModel(get_config("stackgan", "paper-stage2", info(64)), info(64))
    assert "\n" not in str(e.value)
    with pytest.raises(BenchError, match=r"config 'mini' \(stage 1\) generates 64x64 images; .* at 256x256"):
        StackGANModel(get_config("stackgan", "mini", info(256)), info(256))
    with pytest.raises(BenchError, match="generates 64x64 images"):
        GANINTCLSModel(get_config("gan-int-cls", "mini", info(128)), info(128))
    with pytest.raises(BenchError, match="text_dim 1024, the dataset 'captions-test' has 16-dimensional"):
        StackGANModel(get_config("stackgan", "mini", info(), text_dim=1024), info())
    with pytest.raises(BenchError, match="needs a text dataset"):
        StackGANModel(get_config("stackgan", "mini", info()), DatasetInfo("streets", 8, (64, 64)))


# ----------------------------------------------------------------------------- StackGAN: generation

def test_generation_is_per_sample_and_uses_the_conditioning_noise():
    gen = tiny(StackGAN)
    randomize(gen.model.G, 2)
    batch = text_batch(5)
    seeds = [10, 11, 12, 13, 14]
    out = gen.generate(batch, seeds=seeds)
    assert out.shape == (5, 3, 64, 64) and out.dtype == torch.uint8
    parts = [gen.generate({k: v[a:b] for k, v in batch.items()}, seeds=seeds[a:b]) for a, b in ((0, 2), (2, 5))]
    assert torch.equal(out, torch.cat(parts))  # batch-size independent
    assert torch.equal(out[3:4], gen.generate({k: v[3:4] for k, v in batch.items()}, seeds=[13]))
    assert torch.equal(out, gen.generate(batch, seeds=seeds))
    assert (out != gen.generate(batch, seeds=[s + 1 for s in seeds])).any()
    # the CA noise is drawn at test time (their reparametrize): same z, other eps -> another image
    G = gen.model.G.eval()
    emb, z = batch["embedding"][:1], per_sample_noise([1], (8,))
    with torch.no_grad():
        a = G(emb, z, per_sample_noise([5], (8,)))[1]
        b = G(emb, z, per_sample_noise([6], (8,)))[1]
    assert float((a - b).abs().max()) > 1e-4
    # and the text conditions the output
    other = dict(batch, embedding=batch["embedding"] + 3)
    assert (gen.generate(other, seeds=seeds) != out).any(dim=1).float().mean() > 0.05


def test_stage2_generates_256_on_a_frozen_stage1(tmp_path):
    s1 = tiny(StackGAN, gf_dim=4)
    s1.reinitialize(1)
    p1 = atomic_save(s1.generator_state(), tmp_path / "stage1.pth")
    gen = tiny(StackGAN, config="tiny-stage2", size=256, stage1_g=str(p1))
    gen.reinitialize(3)
    G = gen.model.G
    assert all(torch.equal(v, s1.model.G.state_dict()[k]) for k, v in G.STAGE1_G.state_dict().items())
    out = gen.generate(text_batch(2), seeds=[1, 2])
    assert out.shape == (2, 3, 256, 256)
    # their Stage-I image under the Stage-II one: the same as Stage-I alone with the same z and CA noise
    emb, z, e1 = text_batch(1)["embedding"], per_sample_noise([1], (8,)), per_sample_noise([2], (8,))
    G.eval()
    s1.model.G.eval()
    with torch.no_grad():
        assert torch.equal(G(emb, z, e1, per_sample_noise([3], (8,)))[0], s1.model.G(emb, z, e1)[1])
    # G's optimiser leaves Stage-I out; a training step moves only its BatchNorm statistics (their netG.train())
    m = gen.model
    opts = m.optimizers()
    ids = {id(p) for g in opts["G"].param_groups for p in g["params"]}
    assert not ids & {id(p) for p in G.STAGE1_G.parameters()} and len(ids) == sum(1 for p in G.parameters()
                                                                                   if p.requires_grad)
    before = copy.deepcopy(G.STAGE1_G.state_dict())
    m.train()
    ctx = StepContext(torch.device("cpu"), False, {})
    data = Captioned(FakeCaptions(4, 256))
    torch.manual_seed(0)
    logs = m.train_step(_collate([data[i] for i in range(4)]), opts, ctx)
    assert {"D", "D_real", "D_wrong", "D_fake", "G", "KL"} == set(logs)
    after = G.STAGE1_G.state_dict()
    assert all(torch.equal(before[k], after[k]) for k, _ in G.STAGE1_G.named_parameters())
    assert any(not torch.equal(before[k], after[k]) for k in before if "running" in k)
    # Stage-II training needs a Stage-I generator
    with pytest.raises(BenchError, match="set stage1_g"):
        tiny(StackGAN, config="tiny-stage2", size=256, stage1_g=None).reinitialize(0)
    missing = tiny(StackGAN, config="tiny-stage2", size=256)
    missing._run_dir = (tmp_path / "train-stackgan-paper-stage2-captions-test-seed0", 0)
    with pytest.raises(BenchError, match=r"trained Stage-I generator: the 'paper-stage1' run, expected at .*train-stackgan-"
                                         r"paper-stage1-captions-test-seed0/generator.pth: .*--resolution 64"):
        missing.reinitialize(0)


# ----------------------------------------------------------------------------- StackGAN: losses and training

def bce(p, t):
    p = p.double()
    return float(-(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean())


@pytest.mark.parametrize("stage", [1, 2])
def test_stackgan_losses_match_a_hand_computation(stage):
    size = 64 if stage == 1 else 256
    cfg = get_config("stackgan", "mini" if stage == 1 else "paper-stage2", info(size), **SG_TINY)
    torch.manual_seed(0)
    D = StackGANModel(cfg, info(size)).D.train()
    g = torch.Generator().manual_seed(1)
    real, fake = (torch.tanh(torch.randn((4, 3, size, size), generator=g)) for _ in range(2))
    mu = torch.randn((4, 8), generator=g)
    ref = copy.deepcopy(D)
    err_d, err_real, err_wrong, err_fake = compute_discriminator_loss(D, real, fake, mu)
    with torch.no_grad():
        hr, hf = ref(real), ref(fake)  # one image code per image batch, heads in the order real, wrong, fake
        pr, pw, pf = ref.get_cond_logits(hr, mu), ref.get_cond_logits(hr[:3], mu[1:]), ref.get_cond_logits(hf, mu)
        r, w, f = bce(pr, 1), bce(pw, 0), bce(pf, 0)
        if stage == 1:
            want = r + (f + w) * 0.5
        else:
            ur, uf = bce(ref.get_uncond_logits(hr), 1), bce(ref.get_uncond_logits(hf), 0)
            want = (r + ur) / 2 + (f + w + uf) / 3
            r, f = (r + ur) / 2, (f + uf) / 2
    assert float(err_d.detach()) == pytest.approx(want, rel=1e-5)
    assert (float(err_real), float(err_wrong), float(err_fake)) == pytest.approx((r, w, f), rel=1e-5)
    with torch.no_grad():
        hg = ref(fake)
        want_g = bce(ref.get_cond_logits(hg, mu), 1) + (bce(ref.get_uncond_logits(hg), 1) if stage == 2 else 0)
    assert float(compute_generator_loss(D, fake, mu).detach()) == pytest.approx(want_g, rel=1e-5)


def test_kl_loss_is_the_formula():
    g = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn((5, 7), generator=g), torch.randn((5, 7), generator=g)
    m, lv = mu.double().numpy(), logvar.double().numpy()
    want = float(np.mean(-0.5 * (1 + lv - m ** 2 - np.exp(lv))))
    assert float(KL_loss(mu, logvar)) == pytest.approx(want, rel=1e-6)
    assert float(KL_loss(torch.zeros(2, 3), torch.zeros(2, 3))) == 0.0


def test_stackgan_training_step_and_schedule():
    gen = tiny(StackGAN, lr_decay_epoch=2)
    m = gen.model.train()
    data = Captioned(FakeCaptions(8))
    batch = _collate([data[i] for i in range(4)])
    assert batch["embeddings"].shape == (4, 3, DIM) and batch["caption_count"].tolist() == [3] * 4
    opts = m.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    ctx.steps_per_epoch = 2
    before = copy.deepcopy(m.state_dict())
    torch.manual_seed(1)
    logs = m.train_step(batch, opts, ctx)
    assert all(math.isfinite(v) for v in logs.values())
    after = m.state_dict()
    for name, net in (("G", m.G), ("D", m.D)):
        moved = [k for k, _ in net.named_parameters() if not torch.equal(before[f"{name}.{k}"], after[f"{name}.{k}"])]
        assert len(moved) == len(list(net.parameters())), name
    assert all(p.requires_grad for p in m.D.parameters())
    for step, lr in ((0, 2e-4), (3, 2e-4), (4, 1e-4), (8, 5e-5)):  # halved every 2 epochs of 2 steps
        ctx.global_step = step
        m.set_lr(opts, ctx)
        assert opts["G"].param_groups[0]["lr"] == lr == opts["D"].param_groups[0]["lr"]


def test_draw_captions_and_jitter():
    torch.manual_seed(0)
    emb = torch.arange(2 * 3 * 2, dtype=torch.float32).view(2, 3, 2)
    counts = torch.tensor([3, 1])  # the second image has one caption: rows 1 and 2 are padding
    torch.manual_seed(5)
    got = draw_captions(emb, counts, 4)
    torch.manual_seed(5)
    idx = (torch.rand((2, 4)) * counts[:, None]).long()
    assert torch.equal(got, torch.stack([emb[i, idx[i]].mean(0) for i in range(2)]))
    assert torch.equal(got[1], emb[1, 0])
    one = draw_captions(emb, None, 1)
    assert all(any(torch.equal(one[i], emb[i, k]) for k in range(3)) for i in range(2))
    x = torch.full((3, 3, 64, 64), 200, dtype=torch.uint8)
    assert torch.allclose(jitter(x), torch.full((3, 3, 64, 64), 200 / 127.5 - 1), atol=1e-6)
    ramp = torch.arange(64, dtype=torch.uint8).mul(4).view(1, 1, 1, 64).expand(16, 3, 64, 64).contiguous()
    torch.manual_seed(0)
    j = jitter(ramp)
    assert j.shape == (16, 3, 64, 64) and float(j.min()) >= -1 and float(j.max()) <= 1
    slopes = (j[:, 0, 32, 40] - j[:, 0, 32, 20]).sign()
    assert (slopes > 0).any() and (slopes < 0).any()  # some flipped, some not


def test_exact_resume_and_adapter_training(tmp_path):
    data = FakeCaptions(8)

    def make():
        return tiny(StackGAN, save_every=3, sample_every=3)

    full = make()
    path = full.train(data, out_dir=str(tmp_path / "full"), seed=7, steps=6)
    assert Path(path).is_file() and (tmp_path / "full" / "samples" / "step-00000006.png").is_file()
    part = make()
    part.model.pool = Captioned(data)
    Trainer(part, part.model.pool, out_dir=tmp_path / "part", seed=7, steps=6, progress=False, stop_after=3).run()
    resumed = make()
    Trainer(resumed, Captioned(data), out_dir=tmp_path / "part", seed=7, steps=6, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    rec = json.loads((tmp_path / "full" / "train.json").read_text())
    assert rec["complete"] and {"D", "G", "KL"} <= set(rec["last_losses"])
    # the saved generator loads and generates the same images
    other = make()
    other.load(path)
    batch = text_batch(2)
    assert torch.equal(other.generate(batch, seeds=[1, 2]), full.generate(batch, seeds=[1, 2]))
    state = torch.load(path, weights_only=True)
    assert int(state["_meta.semantic_nc"]) == DIM and "_meta.num_classes" not in state
    with pytest.raises(BenchError, match="'image' and 'embeddings'"):
        Captioned([{"image": torch.zeros(3, 4, 4, dtype=torch.uint8), "path": "x"}])


# ----------------------------------------------------------------------------- GAN-INT-CLS

def test_gan_int_cls_layers_and_shapes():
    """The layer list of their main_cls_int.lua netG / netD (ngf 4, ndf 4 here)."""
    G = Generator(text_dim=DIM, nt=8, nz=8, ngf=4)
    names = [type(m).__name__ for m in G.main]
    assert names == ["ConvTranspose2d", "BatchNorm2d", "Residual", "ReLU",
                     "ConvTranspose2d", "BatchNorm2d", "Residual", "ReLU",
                     "ConvTranspose2d", "BatchNorm2d", "ReLU", "ConvTranspose2d", "BatchNorm2d", "ReLU",
                     "ConvTranspose2d", "Tanh"]
    assert [type(m).__name__ for m in G.fc] == ["Linear", "LeakyReLU"] and G.fc[1].negative_slope == 0.2
    assert G.fc[0].bias is not None  # the Linear layers keep their biases, the (full) convolutions have none
    assert all(m.bias is None for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    block = G.main[2].block
    assert [type(m).__name__ for m in block] == ["Conv2d", "BatchNorm2d", "ReLU", "Conv2d", "BatchNorm2d", "ReLU",
                                                 "Conv2d", "BatchNorm2d"]
    assert (block[0].kernel_size, block[0].out_channels, block[3].kernel_size, block[6].out_channels) == \
        ((1, 1), 8, (3, 3), 32)  # 8 ngf -> 2 ngf (1x1) -> 3x3 -> 8 ngf
    assert G.main[6].block[0].out_channels == 4  # 4 ngf -> ngf
    sizes, h = [], torch.cat([torch.zeros(2, 8), G.fc(torch.zeros(2, DIM))], 1)[:, :, None, None]
    with torch.no_grad():
        for m in G.main:
            h = m(h)
            sizes.append(tuple(h.shape[1:]))
    assert sizes[0] == (32, 4, 4) and sizes[4] == (16, 8, 8) and sizes[8] == (8, 16, 16) and sizes[11] == (4, 32, 32)
    assert sizes[-1] == (3, 64, 64)
    D = Discriminator(text_dim=DIM, nt=8, ndf=4)
    assert [type(m).__name__ for m in D.conv] == ["Conv2d", "LeakyReLU", "Conv2d", "BatchNorm2d", "LeakyReLU",
                                                  "Conv2d", "BatchNorm2d", "Conv2d", "BatchNorm2d",  # no activation
                                                  "Residual", "LeakyReLU"]
    assert [type(m).__name__ for m in D.fc] == ["Linear", "BatchNorm1d", "LeakyReLU"]
    assert [type(m).__name__ for m in D.out] == ["Conv2d", "BatchNorm2d", "LeakyReLU", "Conv2d", "Sigmoid"]
    assert D.out[0].in_channels == 4 * 8 + 8 and D.out[3].kernel_size == (4, 4)
    assert all(m.bias is None for m in D.modules() if isinstance(m, nn.Conv2d))
    with torch.no_grad():
        assert D.conv(torch.zeros(2, 3, 64, 64)).shape == (2, 32, 4, 4)
        p = D(torch.zeros(2, 3, 64, 64), torch.randn(2, DIM))
    assert p.shape == (2,) and bool(((p > 0) & (p < 1)).all())
    assert isinstance(D.conv[9], Residual)


def test_gan_int_cls_losses_equal_a_hand_computation():
    """fDx: BCE(D(x, t), 1) + w BCE(D(wrong, t), 0) + (1 - w) BCE(D(G(z, t), t), 0) (w = cls_weight, 0.3 here to tell
    the two apart; 0.5 in their runs), three separate forwards; fGx: the
    3B/2 batch (captions + interpolations), fresh noise, weighted BCE divided by the element count; eps 1e-12."""
    cfg = get_config("gan-int-cls", "paper", info(), **GI_TINY, interp_weight=0.7, cls_weight=0.3)  # paper: 0.5
    torch.manual_seed(0)
    m = GANINTCLSModel(cfg, info()).train()
    g = torch.Generator().manual_seed(1)
    real, wrong, fake = (torch.tanh(torch.randn((4, 3, 64, 64), generator=g)) for _ in range(3))
    t = torch.randn((4, DIM), generator=g)
    ctx = StepContext(torch.device("cpu"), False, {})
    ref = copy.deepcopy(m)
    d = {k: v.detach() for k, v in m.discriminator_losses(real, wrong, fake, t, ctx).items()}
    with torch.no_grad():
        pr, pw, pf = (ref.D(x, t).double() for x in (real, wrong, fake))
    eps = 1e-12
    assert float(d["D_real"]) == pytest.approx(float(-torch.log(pr + eps).mean()), rel=1e-6)
    assert float(d["D_wrong"]) == pytest.approx(0.3 * float(-torch.log(1 - pw + eps).mean()), rel=1e-6)
    assert float(d["D_fake"]) == pytest.approx(0.7 * float(-torch.log(1 - pf + eps).mean()), rel=1e-6)
    # fGx
    ti = GANINTCLSModel.interpolate(t)
    assert ti.shape == (6, DIM) and torch.allclose(ti[4], (t[0] + t[2]) / 2) and torch.allclose(ti[5], (t[1] + t[3]) / 2)
    assert torch.equal(ti[:4], t)
    torch.manual_seed(3)
    got = m.generator_loss(ti, 4, ctx).detach()
    torch.manual_seed(3)
    z = torch.randn((6, 8))
    with torch.no_grad():
        p = ref.D(ref.G(z, ti), ti).double()
    w = torch.tensor([1, 1, 1, 1, 0.7, 0.7], dtype=torch.float64)
    assert float(got) == pytest.approx(float((w * -torch.log(p + eps)).sum() / 6), rel=1e-6)
    # Torch7's BCECriterion near 0 and 1: log(p + 1e-12), not a clamp
    assert float(torch7_bce(torch.tensor([0.0]), 1.0)) == pytest.approx(-math.log(1e-12))
    assert float(torch7_bce(torch.tensor([1.0]), 0.0)) == pytest.approx(-math.log(1e-12))


def test_gan_int_cls_training_step_wrong_images_and_schedule():
    gen = tiny(GANINTCLS)
    m = gen.model.train()
    data = Captioned(FakeCaptions(8))
    m.pool = data
    batch = _collate([data[i] for i in (0, 1, 2, 3)])
    torch.manual_seed(0)
    wrong = m.wrong_images(batch)
    own = batch["image"]
    assert wrong.shape == own.shape and all(not torch.equal(wrong[i], own[i]) for i in range(4))
    assert all(any(torch.equal(wrong[i], x) for x in data.dataset.images) for i in range(4))
    opts = m.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    ctx.steps_per_epoch = 2
    before = copy.deepcopy(m.state_dict())
    torch.manual_seed(1)
    logs = m.train_step(batch, opts, ctx)
    assert set(logs) == {"D_real", "D_wrong", "D_fake", "G"} and all(math.isfinite(v) for v in logs.values())
    after = m.state_dict()
    for name, net in (("G", m.G), ("D", m.D)):
        assert all(not torch.equal(before[f"{name}.{k}"], after[f"{name}.{k}"]) for k, _ in net.named_parameters())
    # lr: multiplied by 0.5 at the start of every decay_every-th (1-based) epoch
    m.cfg = m.cfg.replace(decay_every=3)
    for step, lr in ((0, 2e-4), (3, 2e-4), (4, 1e-4), (9, 1e-4), (10, 5e-5)):  # epochs of 2 steps: 3rd, 6th epoch
        ctx.global_step = step
        m.set_lr(opts, ctx)
        assert opts["G"].param_groups[0]["lr"] == lr == opts["D"].param_groups[0]["lr"], step
    assert [GANINTCLSModel.lr_factor(m, e) for e in (0, 1, 2, 5)] == [1.0, 1.0, 0.5, 0.25]
    with pytest.raises(BenchError, match="through its adapter"):
        m.pool = None
        m.wrong_images(batch)
    with pytest.raises(BenchError, match="batch_size must be even"):
        GANINTCLSModel(get_config("gan-int-cls", "mini", info(), batch_size=5), info())


def test_gan_int_cls_adapter_training_and_generation(tmp_path):
    gen = tiny(GANINTCLS, save_every=2, sample_every=2)
    path = gen.train(FakeCaptions(8), out_dir=str(tmp_path / "run"), seed=3, steps=2)
    assert (tmp_path / "run" / "samples" / "step-00000002.png").is_file()
    other = tiny(GANINTCLS)
    other.load(path)
    batch = text_batch(4)
    out = other.generate(batch, seeds=[5, 6, 7, 8])
    assert torch.equal(out, gen.generate(batch, seeds=[5, 6, 7, 8]))
    assert torch.equal(out[1:3], other.generate({k: v[1:3] for k, v in batch.items()}, seeds=[6, 7]))
    # eval mode (their demo's net_gen:evaluate()): the running statistics decide the image
    G = copy.deepcopy(other.model.G).eval()
    with torch.no_grad():
        want = G(per_sample_noise([5], (8,)), batch["embedding"][:1])
    assert torch.equal(out[:1], ((want.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))
    with pytest.raises(BenchError, match="no released weights"):
        GANINTCLS.default_checkpoint("cub-200-2011", "paper")


@pytest.mark.parametrize("cls", [StackGAN, GANINTCLS])
def test_conformance_and_task(cls):
    from bench.tasks.text import TASK

    gen = tiny(cls)
    randomize(gen.model.G, 5)  # freshly initialised tiny nets give ~0: every sample the same grey
    assert gen.tasks == ("text",) and gen.multimodal
    data = FakeCaptions(3)
    items = [data[i] for i in range(3)]
    raw = {"embedding": torch.stack([it["embedding"] for it in items]), "caption": [it["caption"] for it in items],
           "path": [it["path"] for it in items]}
    batch = TASK.make_batch(raw, dict(TASK.params, embedding_dim=DIM), [])
    checks = run_checks(gen, batch, [11, 12, 13])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks if not c.ok]
    with pytest.raises(BenchError, match="no 'embedding'"):
        gen.generate({"caption": ["a"], "path": ["a"]}, seeds=[0])
    with pytest.raises(BenchError, match=r"expected \[1, 16\]"):
        gen.generate({"embedding": torch.zeros(1, 8), "caption": ["a"], "path": ["a"]}, seeds=[0])


@pytest.mark.parametrize("cls", [StackGAN, GANINTCLS])
def test_text_scale_multiplies_the_embeddings(cls):
    """``text_scale`` (the minis'; 1 in the papers' configs): G sees the embeddings times it."""
    a, b = tiny(cls, text_scale=2.0), tiny(cls, text_scale=1.0)
    randomize(a.model.G, 4)
    b.model.load_state_dict(a.model.state_dict())
    batch = text_batch(2)
    out = a.generate(batch, seeds=[1, 2])
    assert torch.equal(out, b.generate(dict(batch, embedding=batch["embedding"] * 2), seeds=[1, 2]))
    assert (out != b.generate(batch, seeds=[1, 2])).any()
    assert get_config(cls.method_key, "paper", info()).text_scale == 1.0


def test_configs():
    sg = get_config("stackgan", "paper", info())
    assert (sg.stage, sg.gf_dim, sg.df_dim, sg.condition_dim, sg.z_dim, sg.r_num, sg.coeff_kl) == \
        (1, 128, 64, 128, 100, 4, 2.0)
    assert (sg.lr_g, sg.lr_d, sg.beta1, sg.beta2, sg.batch_size, sg.epochs, sg.lr_decay_epoch) == \
        (2e-4, 2e-4, 0.5, 0.999, 64, 600, 100)
    assert sg.text_dim is None and sg.jitter and not sg.flip
    s2 = get_config("stackgan", "paper-stage2", info(256))
    assert (s2.stage, s2.stage1_g) == (2, "run:paper-stage1")
    coco = get_config("stackgan", "coco-stage2", info(256))
    assert (coco.gf_dim, coco.df_dim, coco.r_num, coco.batch_size, coco.epochs, coco.lr_decay_epoch) == \
        (192, 96, 2, 40, 100, 20)
    assert get_config("stackgan", "paper", DatasetInfo("cub-200-2011", 1, (256, 256), task="text")).name == \
        "paper-stage2"
    gi = get_config("gan-int-cls", "paper", info())
    assert (gi.nz, gi.nt, gi.ngf, gi.ndf, gi.cls_weight, gi.interp_weight, gi.num_captions) == \
        (100, 128, 128, 64, 0.5, 1.0, 4)
    assert (gi.lr_g, gi.lr_d, gi.beta1, gi.batch_size, gi.epochs, gi.decay_every, gi.lr_decay) == \
        (2e-4, 2e-4, 0.5, 64, 600, 100, 0.5)
    for method in ("stackgan", "gan-int-cls"):
        mini = get_config(method, "mini", info())
        # minutes on one CPU thread: at most 200k training images (~30 min at StackGAN's mini's ~100 img/s)
        assert mini.steps * mini.batch_size <= 200_000 and mini.text_scale == 32.0
        with pytest.raises(BenchError, match="unknown key"):
            get_config(method, "mini", info(), ngf_typo=3)
