"""StarGAN (reference_models/stargan.py): the released generator's keys (fixture listed by instantiating the authors'
class: benchmarks/oracle_stargan.py, which also compares outputs, losses and 12 training iterations with their code on
the same weights), generation as their ``test`` (InstanceNorm on each image's own statistics), the attribute
channels reaching the output, the gradient penalty and the classification loss against brute-force computations, the
authors' learning-rate arithmetic against a transcription of their loop, training steps (D every step, G every
``n_critic``-th), save / load, exact resume and the adapter contract, on a small fake attribute set."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.adapter import DatasetInfo
from bench.checkpoints import normalize_release
from bench.conformance import run_checks
from bench.errors import BenchError
from conftest import smooth_images
from reference_models import official_keys
from reference_models.common import atomic_save, strict_load
from reference_models.configs import get_config
from reference_models.stargan import (Discriminator, Generator, InstanceNorm, StarGAN, StarGANModel, _Attributed,
                                      lr_at, official_to_ours)
from reference_models.trainer import StepContext, Trainer, _collate

pytestmark = pytest.mark.usefixtures("one_thread")

FIXTURE = Path(__file__).parent / "fixtures" / "reference_models" / "stargan" / "celeba_128_5attrs_G.json"
CELEBA = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Male", "Young")
TINY = {"g_conv_dim": 8, "g_repeat_num": 1, "d_conv_dim": 8, "d_repeat_num": 3, "sample_every": 0}


def info(resolution=(32, 32), attrs=("a", "b", "c")) -> DatasetInfo:
    return DatasetInfo("attrs-test", 0, resolution, task="attribute", task_params=(("attributes", attrs),))


def tiny_gen(config="mini", **over) -> StarGAN:
    gen = StarGAN(info(), config=config)
    gen.cfg = gen.cfg.replace(**{**TINY, **over})
    gen.model = gen.build(gen.cfg, gen.info)  # the tiny widths (the trainer re-initialises from its seed)
    return gen


class FakeAttributes:
    """Smooth random images, each with its own 0/1 attributes; attribute 0 darkens the image (a learnable domain)."""

    def __init__(self, n=12, size=32):
        g = torch.Generator().manual_seed(4)
        self.attrs = (torch.rand((n, 3), generator=g) < 0.5).float()
        imgs = [torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous() for a in smooth_images(n, size, seed=5)]
        self.images = [(x.float() * (0.4 if a[0] else 1.0)).round().to(torch.uint8) for x, a in zip(imgs, self.attrs)]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return {"source": self.images[i], "source_attributes": self.attrs[i], "path": f"x{i}.png"}


def attr_batch(b=3, size=(32, 32), seed=0, c_dim=3):
    g = torch.Generator().manual_seed(seed)
    return {"source": torch.randint(0, 256, (b, 3, *size), generator=g, dtype=torch.uint8),
            "attributes": (torch.rand((b, c_dim), generator=g) < 0.5).float(), "path": [f"s{i}" for i in range(b)]}


# ----------------------------------------------------------------------------- the authors' released generator

def fixture_state() -> dict[str, torch.Tensor]:
    keys = json.loads(FIXTURE.read_text())["keys"]
    return {k: torch.empty(shape, device="meta") for k, shape in keys.items()}


def meta_G(attrs=CELEBA):
    with torch.device("meta"):
        return StarGANModel(get_config("stargan", "paper", info((128, 128), attrs)), info((128, 128), attrs)).G


def test_paper_generator_has_the_released_keys_and_shapes():
    G = meta_G()
    assert {k: list(v.shape) for k, v in G.state_dict().items()} == json.loads(FIXTURE.read_text())["keys"]
    state = normalize_release(G, official_to_ours(fixture_state()))
    strict_load(G, state, "celeba-128x128-5attrs 200000-G.ckpt")


def test_released_generator_pytorch_040_and_dataparallel():
    """PyTorch 0.4.0 (the authors' version) wrote no num_batches_tracked; DataParallel files have 'module.'."""
    G = meta_G()
    state = {"module." + k: v for k, v in fixture_state().items() if not k.endswith("num_batches_tracked")}
    assert len(state) == len(fixture_state()) - 17  # 17 InstanceNorm layers: 3 + 2 per block x 6 + 2
    strict_load(G, normalize_release(G, official_to_ours(state)), "old file")


def test_released_generator_wrong_attribute_count_is_one_line():
    G = meta_G(("a", "b", "c"))  # 3 attributes: 6 input channels, the release has 8
    with pytest.raises(BenchError, match="expects 8 label channels, the model has 6") as e:
        strict_load(G, normalize_release(G, official_to_ours(fixture_state())), "200000-G.ckpt", ["main.0.weight"])
    assert "\n" not in str(e.value)


def test_adapter_loads_released_style_file_and_generates_as_their_test(tmp_path):
    """An authors'-style file (no _meta, running statistics far from 0 / 1) through the adapter: the images are G in
    training mode (their test never calls eval()), not PyTorch's eval mode on the running statistics, and generating
    leaves the running statistics alone."""
    g = torch.Generator().manual_seed(0)
    state = {}
    for k, v in fixture_state().items():
        if k.endswith("num_batches_tracked"):
            continue  # as PyTorch 0.4.0 saved it
        if k.endswith("running_var"):
            state[k] = torch.rand(v.shape, generator=g) + 0.5
        else:
            state[k] = torch.randn(v.shape, generator=g) * (0.02 if v.dim() == 4 else 0.3)
    p = tmp_path / "200000-G.ckpt"
    torch.save(state, p)
    gen = StarGAN(info((64, 64), CELEBA), config="paper", checkpoint=str(p))  # D needs 2**6 pixels a side
    batch = attr_batch(2, size=(64, 64), c_dim=5)
    before = copy.deepcopy(gen.model.G.state_dict())
    out = gen.generate(batch, seeds=[0, 1])
    assert out.shape == (2, 3, 64, 64) and out.dtype == torch.uint8
    assert all(torch.equal(before[k], v) for k, v in gen.model.G.state_dict().items())
    x = batch["source"].float() / 127.5 - 1
    train_mode = copy.deepcopy(gen.model.G).train()
    stock_eval = copy.deepcopy(gen.model.G).eval()
    for m in stock_eval.modules():
        if isinstance(m, InstanceNorm):
            m.__class__ = torch.nn.InstanceNorm2d  # PyTorch's: eval mode uses the running statistics
    with torch.no_grad():
        want = ((train_mode(x, batch["attributes"]).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        stock = ((stock_eval(x, batch["attributes"]).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(out, want)
    assert int((stock.int() - out.int()).abs().max()) > 20


# ----------------------------------------------------------------------------- networks

def test_forward_shapes():
    G = Generator(conv_dim=8, c_dim=3, repeat_num=2)
    assert [type(m).__name__ for m in G.main][:3] == ["Conv2d", "InstanceNorm", "ReLU"]
    assert G.main[0].in_channels == 6 and all(getattr(m, "bias", None) is None for m in G.modules()
                                              if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)))
    c = torch.tensor([[1.0, 0, 1], [0, 1, 0]])
    for size in [(32, 32), (16, 40)]:
        x = torch.rand(2, 3, *size) * 2 - 1
        with torch.no_grad():
            y = G(x, c)
        assert y.shape == x.shape and float(y.abs().max()) <= 1
    m = StarGANModel(get_config("stargan", "mini", info(), **TINY), info())
    with torch.no_grad():
        assert m.translate(torch.zeros(2, 3, 30, 34), c).shape == (2, 3, 30, 34)  # padded to 32x36, cropped back
    D = Discriminator((32, 48), conv_dim=8, c_dim=3, repeat_num=3)
    src, cls = D(torch.zeros(2, 3, 32, 48))
    assert src.shape == (2, 1, 4, 6) and cls.shape == (2, 3) and D.conv2.kernel_size == (4, 6)
    assert Discriminator((128, 128), 64, 5, 6).conv2.kernel_size == (2, 2)  # the authors': 128 / 2**6
    with pytest.raises(ValueError, match="too small"):
        Discriminator((16, 16), 8, 3, 5)


def test_attribute_channels_condition_the_output():
    torch.manual_seed(0)
    G = Generator(conv_dim=8, c_dim=3, repeat_num=1).eval()
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).expand(4, -1, -1, -1)
    c = torch.tensor([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    with torch.no_grad():
        y = G(x, c)
    for i in range(4):
        for j in range(i):
            assert float((y[i] - y[j]).abs().max()) > 1e-3, (i, j)
    # through the adapter: another target, other images; the same target, the same images
    gen = tiny_gen(residual=False)
    gen.reinitialize(3)
    batch = attr_batch(2)
    flipped = dict(batch, attributes=1 - batch["attributes"])
    a, b = gen.generate(batch, seeds=[0, 1]), gen.generate(flipped, seeds=[0, 1])
    assert (a != b).any(dim=1).flatten(1).float().mean(1).min() > 0.05
    assert torch.equal(a, gen.generate(dict(batch), seeds=[5, 6]))  # deterministic: seeds play no part


def test_the_first_instancenorm_leaves_the_target_only_at_the_border_and_first_norm_false_lets_it_in():
    """The authors' G: the label channels are constant, so after the first 7x7 conv (zero padding 3) they add a
    constant per channel away from the border, which the first InstanceNorm removes: two targets give the same
    activations except within 3 pixels of the border. Without that norm (``first_norm: false``, the mini) they differ
    everywhere."""
    torch.manual_seed(0)
    x = (torch.rand(1, 3, 32, 32) * 2 - 1).expand(2, -1, -1, -1)
    c = torch.tensor([[0.0, 0, 0], [1, 1, 1]])
    for first_norm in (True, False):
        G = Generator(conv_dim=8, c_dim=3, repeat_num=1, first_norm=first_norm).eval()
        with torch.no_grad():
            h = G.main[:3](torch.cat([x, c[:, :, None, None].expand(-1, -1, 32, 32)], 1))
        interior = (h[0] - h[1]).abs()[:, 3:-3, 3:-3]
        border = (h[0] - h[1]).abs().amax()
        if first_norm:
            assert float(border) > 1e-3 and float(interior.amax()) > 0  # the border shifts the norm's statistics ...
            # ... by a per-channel affine change: the interior of one target is an affine function of the other's
            a, b = h[0][:, 3:-3, 3:-3].flatten(1), h[1][:, 3:-3, 3:-3].flatten(1)
            pos = (a > 0) & (b > 0)
            for ch in range(8):
                if int(pos[ch].sum()) > 3:
                    fit = np.polyfit(a[ch][pos[ch]].numpy(), b[ch][pos[ch]].numpy(), 1)
                    resid = b[ch][pos[ch]].numpy() - np.polyval(fit, a[ch][pos[ch]].numpy())
                    assert np.abs(resid).max() < 1e-4
        else:
            assert float(interior.mean()) > 1e-2


def test_bilinear_upsampling_option():
    """``upsample: bilinear`` (not the authors'): resize + 3x3 conv instead of the transposed convs, same sizes."""
    G = Generator(conv_dim=8, c_dim=3, repeat_num=1, upsample="bilinear")
    assert any(isinstance(m, torch.nn.Upsample) for m in G.modules())
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    with torch.no_grad():
        assert G(torch.zeros(1, 3, 16, 24), torch.ones(1, 3)).shape == (1, 3, 16, 24)
    with pytest.raises(ValueError, match="upsample"):
        Generator(upsample="nearest")


def test_residual_generator_starts_as_the_identity():
    m = StarGANModel(get_config("stargan", "mini", info(), **TINY, residual=True), info())
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        y = ((m.G(x.float() / 127.5 - 1, torch.ones(2, 3)) + 1) * 127.5).round().to(torch.uint8)
    assert int((y.int() - x.int()).abs().max()) <= 1  # only 0 and 255 move (the atanh clamp)
    assert not get_config("stargan", "paper", info()).residual


# ----------------------------------------------------------------------------- losses

def test_gradient_penalty_matches_a_brute_force_computation():
    torch.manual_seed(0)
    m = StarGANModel(get_config("stargan", "paper", info((8, 8)), d_conv_dim=4, d_repeat_num=2), info((8, 8)))
    real, fake = torch.rand(3, 3, 8, 8) * 2 - 1, torch.rand(3, 3, 8, 8) * 2 - 1
    torch.manual_seed(1)
    got = m.gradient_penalty(real, fake)
    torch.manual_seed(1)
    alpha = torch.rand(3, 1, 1, 1)  # the same draw
    D = copy.deepcopy(m.D).double()
    x_hat = (alpha * real + (1 - alpha) * fake).double()
    norms = []
    for i in range(3):  # each sample's gradient of the sum of its D_src map, separately, in float64
        jac = torch.autograd.functional.jacobian(lambda x: D(x[None])[0].sum(), x_hat[i])
        norms.append(math.sqrt(float((jac ** 2).sum())))
    want = float(np.mean([(n - 1) ** 2 for n in norms]))
    assert float(got.detach()) == pytest.approx(want, rel=1e-5)
    assert abs(want) > 1e-3  # not a degenerate case
    # differentiable in D's weights (the double backward): d GP / d one weight against central differences
    w = m.D.conv1.weight
    (dw,) = torch.autograd.grad(got, w)

    def gp_at(delta):
        Dd = copy.deepcopy(D)
        with torch.no_grad():
            Dd.conv1.weight[0, 0, 1, 1] += delta
        x = x_hat.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(Dd(x)[0].sum(), x)
        return float(((g.flatten(1).norm(dim=1) - 1) ** 2).mean())

    fd = (gp_at(1e-6) - gp_at(-1e-6)) / 2e-6
    assert float(dw[0, 0, 1, 1]) == pytest.approx(fd, rel=1e-3, abs=1e-6)


def test_classification_loss_matches_the_formula():
    g = torch.Generator().manual_seed(0)
    logit, target = torch.randn((4, 3), generator=g) * 3, (torch.rand((4, 3), generator=g) < 0.5).float()
    lo, t = logit.double().numpy(), target.double().numpy()
    p = 1 / (1 + np.exp(-lo))
    want = -(t * np.log(p) + (1 - t) * np.log(1 - p)).sum() / 4  # summed over attributes and samples, / batch
    assert float(StarGANModel.classification_loss(logit, target)) == pytest.approx(want, rel=1e-6)


# ----------------------------------------------------------------------------- the learning rate

def their_lrs(total, decay, update, lr0):
    """solver.py ``train``'s learning rate at each iteration, transcribed."""
    lr, out = lr0, []
    for i in range(total):
        out.append(lr)
        if (i + 1) % update == 0 and (i + 1) > (total - decay):
            lr -= lr0 / float(decay)
    return out


@pytest.mark.parametrize("total,decay,update", [(30, 12, 4), (30, 40, 3), (10, 10, 1), (25, 0, 5)])
def test_learning_rate_is_the_authors_arithmetic(total, decay, update):
    want = their_lrs(total, decay, update, 1e-4)
    assert [lr_at(i, total, 1e-4, decay, update, "code") for i in range(total)] == want
    assert len(set(want)) > 1 or decay == 0
    linear = [lr_at(i, total, 1e-4, decay, update, "linear") for i in range(total + 1)]
    assert linear[0] == 1e-4 and all(a >= b for a, b in zip(linear, linear[1:]))
    if decay and decay <= total and decay % update == 0:
        assert linear[-1] == pytest.approx(0.0, abs=1e-15)  # the paper's linear decay reaches 0


def test_paper_schedule_values():
    assert lr_at(100_999, 200_000, 1e-4, 100_000, 1000, "code") == 1e-4
    assert lr_at(101_000, 200_000, 1e-4, 100_000, 1000, "code") == pytest.approx(1e-4 - 1e-9)
    assert lr_at(200_000, 200_000, 1e-4, 100_000, 1000, "code") == pytest.approx(0.999e-4)  # 0.1 % in all
    assert lr_at(150_000, 200_000, 1e-4, 100_000, 1000, "linear") == pytest.approx(0.5e-4)
    m = StarGANModel(get_config("stargan", "paper", info(), **TINY), info())
    opts = m.optimizers()
    m.schedule(200_000, 200_000, opts, {"G": [1e-4], "D": [1e-4]})
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(0.999e-4) == opts["D"].param_groups[0]["lr"]
    with pytest.raises(ValueError, match="lr_decay"):
        StarGANModel(get_config("stargan", "paper", info(), **TINY, lr_decay="cosine"), info())


# ----------------------------------------------------------------------------- training

def test_training_steps_d_every_step_g_every_n_critic():
    gen = tiny_gen(n_critic=5, residual=False)  # the paper's n_critic and G
    m = gen.model
    m.train()
    data = _Attributed(FakeAttributes())
    batch = _collate([data[i] for i in range(4)])
    assert torch.equal(batch["image"], batch["source"]) and batch["source_attributes"].shape == (4, 3)
    assert torch.equal(batch["label"], torch.zeros(4, 1, 32, 32, dtype=torch.int64))  # filled in: no labels
    opts = m.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    before = copy.deepcopy(m)
    old_g = copy.deepcopy(m.G.state_dict())
    torch.manual_seed(3)
    logs = m.train_step(batch, opts, ctx)  # step 0: D only
    assert set(logs) == {"D_real", "D_fake", "D_cls", "D_gp"}
    # the logged terms: the weights before the step, targets = the batch's attributes shuffled (their randperm)
    real, label = batch["source"].float() / 127.5 - 1, batch["source_attributes"]
    torch.manual_seed(3)
    trg = label[torch.randperm(4)]
    assert not torch.equal(trg, label)
    with torch.no_grad():
        fake = before.G(real, trg)  # training mode, as in the step
        src_real, cls_real = before.D(real)
    want = {"D_real": -src_real.mean(), "D_fake": before.D(fake)[0].mean(),
            "D_cls": StarGANModel.classification_loss(cls_real, label), "D_gp": before.gradient_penalty(real, fake)}
    for k, v in want.items():
        assert logs[k] == pytest.approx(float(v.detach()), rel=1e-5), k
    old_d, new_d = before.D.state_dict(), m.D.state_dict()
    assert all(not torch.equal(old_d[k], new_d[k]) for k in old_d)  # every D weight moved
    new_g = m.G.state_dict()
    assert all(torch.equal(old_g[k], new_g[k]) for k, _ in before.G.named_parameters())  # G's weights did not
    assert any(not torch.equal(old_g[k], new_g[k]) for k in old_g if "running" in k)  # its statistics did
    for step in (1, 2, 3):
        ctx.global_step = step
        assert "G_fake" not in m.train_step(batch, opts, ctx)
    g_before = copy.deepcopy(m.G.state_dict())
    ctx.global_step = 4  # the 5th D update: then G
    logs = m.train_step(batch, opts, ctx)
    assert {"G_fake", "G_rec", "G_cls"} <= set(logs) and all(math.isfinite(v) for v in logs.values())
    assert all(not torch.equal(g_before[k], p) for k, p in m.G.named_parameters())
    assert all(p.requires_grad for p in m.D.parameters())  # D unfrozen again


def test_save_load_identical_outputs(tmp_path):
    gen = tiny_gen()
    gen.reinitialize(11)
    p = atomic_save(gen.generator_state(), tmp_path / "generator.pth")
    other = tiny_gen()
    other.load(p)
    batch = attr_batch()
    out = gen.generate(batch, seeds=[1, 2, 3])
    assert torch.equal(out, other.generate(batch, seeds=[1, 2, 3]))
    assert torch.equal(out, gen.generate(batch, seeds=[1, 2, 3]))
    state = torch.load(p, weights_only=True)
    assert int(state["_meta.semantic_nc"]) == 6 and "_meta.num_classes" not in state  # 3 + c_dim input channels
    assert any(k.endswith("running_mean") for k in state)  # the InstanceNorm statistics travel with the weights
    # the attribute names travel too: the same count in another order is refused in one line
    other = StarGAN(info(attrs=("a", "c", "b")), config="mini")
    other.cfg = other.cfg.replace(**TINY)
    other.model = other.build(other.cfg, other.info)
    with pytest.raises(BenchError, match="trained on the attributes a, b, c; the dataset 'attrs-test' has a, c, b"):
        other.load(p)
    assert StarGAN.native_resolution("celeba", "paper") == (128, 128)


def test_exact_resume_and_adapter_training(tmp_path):
    data = FakeAttributes(12)

    def make():
        return tiny_gen(save_every=3, batch_size=4, n_critic=2, sample_every=3)

    full = make()
    path = full.train(data, out_dir=str(tmp_path / "full"), seed=7, steps=6)
    assert Path(path).is_file() and full.checkpoint == path
    assert (tmp_path / "full" / "samples" / "step-00000006.png").is_file()  # the grid: every attribute reversed
    part = make()
    Trainer(part, _Attributed(data), out_dir=tmp_path / "part", seed=7, steps=6, progress=False, stop_after=3).run()
    resumed = make()
    Trainer(resumed, _Attributed(data), out_dir=tmp_path / "part", seed=7, steps=6, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys() and [k for k in a if not torch.equal(a[k], b[k])] == []
    rec = json.loads((tmp_path / "full" / "train.json").read_text())
    assert rec["complete"] and "G_rec" in rec["last_losses"]  # step 6 = the 3rd G update
    with pytest.raises(BenchError, match="'source_attributes'"):
        _Attributed([{"source": torch.zeros(3, 4, 4, dtype=torch.uint8), "path": "x"}])[0]


# ----------------------------------------------------------------------------- the adapter contract

def test_conformance_and_task():
    gen = tiny_gen()
    gen.reinitialize(5)
    assert gen.tasks == ("attribute",) and not gen.multimodal
    data = FakeAttributes(3)
    batch = {"source": torch.stack([data[i]["source"] for i in range(3)]),
             "attributes": torch.stack([1 - data[i]["source_attributes"] for i in range(3)]),
             "path": [data[i]["path"] for i in range(3)]}
    checks = run_checks(gen, batch, [11, 12, 13])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks if not c.ok]
    with pytest.raises(BenchError, match="no 'attributes'"):
        gen.generate({"source": batch["source"], "path": batch["path"]}, seeds=[0, 1, 2])
    with pytest.raises(BenchError, match="expected \\[3, 3\\]"):
        gen.generate(dict(batch, attributes=torch.zeros(3, 5)), seeds=[0, 1, 2])
    with pytest.raises(BenchError, match="expected \\[32, 32\\]"):
        gen.generate(attr_batch(1, size=(16, 16)), seeds=[0])


def test_configs():
    paper = get_config("stargan", "paper", info((128, 128), CELEBA))
    assert (paper.g_conv_dim, paper.g_repeat_num, paper.d_conv_dim, paper.d_repeat_num, paper.residual) == \
        (64, 6, 64, 6, False)
    assert (paper.lambda_cls, paper.lambda_rec, paper.lambda_gp, paper.n_critic) == (1.0, 10.0, 10.0, 5)
    assert (paper.lr_g, paper.lr_d, paper.beta1, paper.beta2, paper.batch_size, paper.steps) == \
        (1e-4, 1e-4, 0.5, 0.999, 16, 200_000)
    assert (paper.num_iters_decay, paper.lr_update_step, paper.lr_decay, paper.flip) == (100_000, 1000, "code", True)
    assert paper.c_dim is None  # the dataset's attribute count
    with torch.device("meta"):
        assert StarGANModel(paper, info((128, 128), CELEBA)).c_dim == 5
    mini = get_config("stargan", "mini", info((64, 64)))
    assert mini.residual and mini.steps <= 1500 and mini.g_conv_dim <= 32
    assert (paper.upsample, mini.upsample) == ("transpose", "transpose")
    assert paper.first_norm and not mini.first_norm
    with pytest.raises(BenchError, match="c_dim 5, the dataset 'attrs-test' has 3 attributes"):
        StarGANModel(get_config("stargan", "paper", info(), c_dim=5), info())
    with pytest.raises(BenchError, match="names its attributes"):
        StarGANModel(paper, DatasetInfo("streets", 8, (32, 32), task="unpaired"))
    with pytest.raises(BenchError, match="no trained weights"):
        StarGAN.default_checkpoint("celeba", "paper")
    assert official_keys.RENAMES["stargan"] == "reference_models.stargan:official_to_ours"
