"""OASIS (reference_models.oasis): the segmentation discriminator, the class-balanced (N+1)-class loss against a
brute-force computation, LabelMix, the EMA update, strict loading of the authors' generator layouts (fixtures in
tests/fixtures/reference_models/oasis/, listed from the official classes by benchmarks/oracle_oasis.py), and the
per-seed noise of the generator. Small shapes; well under a minute on one thread."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo
from bench.checkpoints import normalize_release
from bench.errors import BenchError
from reference_models.common import strict_load
from reference_models.configs import get_config
from reference_models.oasis import (OASIS, OASISDiscriminator, OASISGenerator, OASISModel, class_balance_weights,
                                    ema_decay_at, ema_update, labelmix, labelmix_loss, labelmix_mask, oasis_ce_loss,
                                    official_to_ours)

FIXTURES = Path(__file__).parent / "fixtures" / "reference_models" / "oasis"
CASES = {
    "oasis_cityscapes_G": DatasetInfo("cityscapes", 35, (256, 512), True, 255),
    "oasis_ade20k_G": DatasetInfo("ade20k", 151, (256, 256), False, 255),
    "oasis_coco_G": DatasetInfo("coco-stuff", 183, (256, 256), True, 255),
}
SMALL = DatasetInfo("synthetic-streets", 8, (64, 64), True, 255, tuple((i * 30, 255 - i * 30, 90) for i in range(8)))


@pytest.fixture(autouse=True)
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def onehot(ids: torch.Tensor, n: int) -> torch.Tensor:
    return F.one_hot(ids, n).permute(0, 3, 1, 2).float()


# ----------------------------------------------------------------------------- discriminator

def test_discriminator_shapes_and_keys():
    torch.manual_seed(0)
    D = OASISDiscriminator(8, channels=(3, 16, 16, 32, 32))
    assert D(torch.rand(2, 3, 64, 32) * 2 - 1).shape == (2, 9, 64, 32)
    with pytest.raises(BenchError, match="divisible by 16"):
        D(torch.zeros(1, 3, 40, 40))
    with pytest.raises(ValueError, match="channel widths"):
        OASISDiscriminator(8, channels=(3, 16, 16), num_res_blocks=4)
    with torch.device("meta"):  # the authors' default: 6 blocks, 3-128-128-256-256-512-512, 64 -> N+1
        big = OASISDiscriminator(151)
    sd = big.state_dict()
    assert sd["layer_up_last.weight"].shape == (152, 64, 1, 1)
    assert sd["body_down.0.conv1.0.weight_orig"].shape == (128, 3, 3, 3)
    assert sd["body_up.1.conv1.2.weight_orig"].shape == (256, 1024, 3, 3)
    assert sd["body_up.5.conv_s.weight_orig"].shape == (64, 256, 1, 1)
    assert len(big.body_down) == len(big.body_up) == 6


# ----------------------------------------------------------------------------- the (N+1)-class loss

def brute_force(logits: torch.Tensor, ids: np.ndarray, n: int, for_real: bool, dontcare: int | None) -> float:
    """Per-pixel weights in numpy: w(pixel of class c) = B*H*W / (count_c * K), K = classes present (dontcare
    excluded, weight 0); fake: target 0, weight 1."""
    b, h, w = ids.shape
    if not for_real:
        return float(F.cross_entropy(logits, torch.zeros(b, h, w, dtype=torch.long)))
    counts = np.bincount(ids.ravel(), minlength=n).astype(np.float64)
    if dontcare is not None:
        counts[dontcare] = 0
    k = (counts > 0).sum()
    weights = np.zeros((b, h, w))
    for c in range(n):
        if counts[c] > 0:
            weights[ids == c] = b * h * w / (counts[c] * k)
    ce = F.cross_entropy(logits.double(), torch.from_numpy(ids + 1), reduction="none").numpy()
    return float((ce * weights).mean())


@pytest.mark.parametrize("dontcare", [None, 0])
def test_ce_loss_against_brute_force(dontcare):
    g = torch.Generator().manual_seed(0)
    n, b, h, w = 6, 3, 8, 10
    ids = torch.randint(0, n - 1, (b, h, w), generator=g)  # class n-1 absent
    ids[0, :2] = 0
    logits = torch.randn(b, n + 1, h, w, generator=g) * 3
    lab = onehot(ids, n)
    for real in (True, False):
        got = float(oasis_ce_loss(logits, lab, real, dontcare=dontcare))
        assert got == pytest.approx(brute_force(logits, ids.numpy(), n, real, dontcare), rel=1e-5)
    # unbalanced: plain CE with target id + 1
    assert float(oasis_ce_loss(logits, lab, True, balance=False)) == pytest.approx(
        float(F.cross_entropy(logits, ids + 1)), rel=1e-6)
    # weights: 0 on don't-care and unlabelled (all-zero) pixels
    lab2 = lab.clone()
    lab2[1, :, 0, 0] = 0
    wts = class_balance_weights(lab2, dontcare)
    assert wts[1, 0, 0] == 0
    if dontcare is not None:
        assert (wts[ids == dontcare] == 0).all()


def test_ce_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="N \\+ 1"):
        oasis_ce_loss(torch.zeros(1, 5, 4, 4), torch.zeros(1, 5, 4, 4), True)


def test_ce_loss_gradient_reaches_logits_and_half_inputs():
    logits = torch.randn(2, 4, 4, 4, requires_grad=True)
    lab = onehot(torch.randint(0, 3, (2, 4, 4)), 3)
    oasis_ce_loss(logits, lab, True).backward()
    assert logits.grad is not None and logits.grad.abs().sum() > 0
    assert oasis_ce_loss(logits.detach().half(), lab, False).dtype == torch.float32


# ----------------------------------------------------------------------------- LabelMix

def test_labelmix_mask_and_mix():
    g = torch.Generator().manual_seed(1)
    n = 5
    ids = torch.randint(0, n, (2, 6, 6), generator=g)
    lab = onehot(ids, n)
    torch.manual_seed(3)
    mask = labelmix_mask(lab)
    assert mask.shape == (2, 1, 6, 6) and set(mask.unique().tolist()) <= {0.0, 1.0}
    for c in ids.unique().tolist():  # one bit per class, the same in every image of the batch
        assert mask[:, 0][ids == c].unique().numel() == 1
    # the bits are torch.randint(0, 2, (1,)) per present class in ascending order (the authors' draws)
    torch.manual_seed(3)
    want = {c: float(torch.randint(0, 2, (1,))) for c in ids.unique().tolist()}
    assert all(float(mask[0, 0][ids[0] == c][0]) == v for c, v in want.items() if (ids[0] == c).any())
    real, fake = torch.rand(2, 3, 6, 6), torch.rand(2, 3, 6, 6)
    mixed, m = labelmix(lab, fake, real, mask)
    assert torch.equal(mixed, torch.where(mask.bool().expand_as(real), real, fake))
    d_real, d_fake, d_mixed = (torch.randn(2, n + 1, 6, 6) for _ in range(3))
    want_loss = ((mask * d_real + (1 - mask) * d_fake - d_mixed) ** 2).mean()
    assert float(labelmix_loss(m, d_mixed, d_fake, d_real)) == pytest.approx(float(want_loss), rel=1e-6)
    # a discriminator that is pixel-wise linear in the image has zero LabelMix loss
    conv = nn.Conv2d(3, n + 1, 1)
    with torch.no_grad():
        assert float(labelmix_loss(m, conv(mixed), conv(fake), conv(real))) < 1e-10


# ----------------------------------------------------------------------------- EMA

def test_ema_update_formula_and_warmup():
    torch.manual_seed(0)
    a, b = nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)), nn.Sequential(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))
    b[1].running_mean.fill_(2.0)
    b[1].num_batches_tracked.fill_(7)
    before = {k: v.clone() for k, v in a.state_dict().items()}
    ema_update(a, b, 0.9)
    for k, v in a.state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(v, before[k] * 0.9 + b.state_dict()[k] * 0.1, atol=0, rtol=0), k
        else:
            assert torch.equal(v, before[k]), k  # integer buffers keep the EMA's own count
    assert ema_decay_at(0.9999, 5, False) == 0.9999
    assert ema_decay_at(0.999, 0, True) == pytest.approx(0.1)
    assert ema_decay_at(0.999, 10 ** 6, True) == 0.999


# ----------------------------------------------------------------------------- the authors' generator layouts

def fixture_state(name: str) -> dict[str, torch.Tensor]:
    keys = json.loads((FIXTURES / f"{name}.json").read_text())["keys"]
    return {k: torch.empty(shape, device="meta") for k, shape in keys.items()}


def test_every_fixture_has_a_case():
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(CASES)
    assert (FIXTURES / "PROVENANCE.md").is_file()


@pytest.mark.parametrize("name", sorted(CASES))
def test_official_generator_loads_strictly(name):
    info = CASES[name]
    with torch.device("meta"):
        model = OASISModel(get_config("oasis", "paper", info), info)
    assert model.cfg.name.startswith("paper-")
    for G in (model.generator_module(), model.G):  # the EMA file (evaluated) and the G file have one layout
        state = normalize_release(G, official_to_ours(fixture_state(name)))
        assert set(state) == set(G.state_dict())
        strict_load(G, state, name, model.input_keys())
    assert model.generator_module() is model.G_ema
    from reference_models import official_keys

    if "oasis" in official_keys.RENAMES:  # the adapter's path for files without _meta (once wired)
        G = model.generator_module()
        strict_load(G, official_keys.to_ours("oasis", fixture_state(name), G), name, model.input_keys())
    # DataParallel prefixes and a missing num_batches_tracked are tolerated
    G = model.G
    state = {"module." + k: v for k, v in fixture_state(name).items() if not k.endswith("num_batches_tracked")}
    strict_load(G, normalize_release(G, official_to_ours(state)), name)


def test_wrong_label_count_is_one_line():
    info = DatasetInfo("ade20k", 150, (256, 256), False, 255)
    with torch.device("meta"):
        model = OASISModel(get_config("oasis", "paper", info), info)
    G = model.G
    with pytest.raises(BenchError) as e:
        strict_load(G, normalize_release(G, fixture_state("oasis_ade20k_G")), "x", model.input_keys())
    assert "label channels" in str(e.value) and "\n" not in str(e.value)


def test_paper_configs():
    city = get_config("oasis", "paper", CASES["oasis_cityscapes_G"])
    assert (city.name, city.lr_g, city.lr_d, city.lambda_labelmix, city.ema_decay, city.batch_size) == (
        "paper-cityscapes", 4e-4, 4e-4, 5.0, 0.999, 20)
    coco = get_config("oasis", "paper", CASES["oasis_coco_G"])
    assert (coco.label_shift, coco.epochs, coco.ema_decay, coco.contain_dontcare_label) == (1, 100, 0.9999, True)
    ade = get_config("oasis", "paper", CASES["oasis_ade20k_G"])
    assert (ade.lr_g, ade.beta1, ade.beta2, ade.lambda_labelmix, ade.vgg, ade.decay_from) == (
        1e-4, 0.0, 0.999, 10.0, False, 1.0)
    from reference_models import configs

    if hasattr(configs, "AUGMENT"):  # the authors' ADE20K / COCO-Stuff loaders crop 256 of 286; Cityscapes does not
        assert (ade.load_size, coco.load_size, city.load_size, ade.crop_size) == (286, 286, None, 256)


def test_coco_channel_layout():
    """The authors' COCO-Stuff loader: label + 1, unlabeled -> 0; ours: card id 182 (unlabeled) -> channel 0."""
    info = DatasetInfo("coco-stuff", 183, (64, 64), True, 255)
    cfg = get_config("oasis", "paper-coco-stuff", info).replace(
        channels_g=4, nhidden=8, d_channels=(3, 8, 8), d_last_channels=8, num_res_blocks=4)
    model = OASISModel(cfg, info)
    label = torch.tensor([[[[182, 0], [5, 181]]]])
    x = model.encode(label, torch.zeros_like(label))
    assert x.shape[1] == 183
    assert x[0, :, 0, 0].argmax() == 0 and x[0, :, 0, 1].argmax() == 1
    assert x[0, :, 1, 0].argmax() == 6 and x[0, :, 1, 1].argmax() == 182


# ----------------------------------------------------------------------------- generator and adapter

def test_generator_latent_size_and_noise_input():
    G = OASISGenerator(8, (32, 64), channels_g=4, num_res_blocks=4, z_dim=3, nhidden=8)
    assert (G.init_h, G.init_w) == (4, 8)
    assert G.fc.weight.shape[1] == 11  # noise + labels
    assert G(torch.zeros(2, 8, 32, 64)).shape == (2, 3, 32, 64)
    with pytest.raises(BenchError, match="multiples of 8"):
        OASISGenerator(8, (36, 64), channels_g=4, num_res_blocks=4)


def test_generator_per_seed():
    gen = OASIS(SMALL, config="mini")
    g = torch.Generator().manual_seed(0)
    lab = torch.randint(0, 8, (1, 1, 8, 8), generator=g).repeat_interleave(8, 2).repeat_interleave(8, 3)
    batch = {"label": lab.repeat(3, 1, 1, 1), "instance": torch.zeros(3, 1, 64, 64, dtype=torch.long)}
    out = gen.generate(batch, seeds=[4, 4, 9])
    assert out.shape == (3, 3, 64, 64) and out.dtype == torch.uint8
    assert torch.equal(out[0], out[1])
    assert (out[0].float() - out[2].float()).abs().mean() > 0.5  # different noise, different image
    assert torch.equal(gen.generate({k: v[:1] for k, v in batch.items()}, seeds=[9])[0], out[2])  # batch-free
    assert gen.multimodal and not gen.needs_instance


def test_train_steps_update_ema(tmp_path):
    """Two trainer steps on the mini: losses finite, G_ema moved towards G (warm-up: decay 0.1, then 2/11),
    generator.pth holds the EMA generator."""
    from reference_models.trainer import Trainer

    class Data:
        num_classes, has_instances, palette = 8, True, SMALL.palette

        def __len__(self):
            return 4

        def __getitem__(self, i):
            g = torch.Generator().manual_seed(i)
            lab = torch.randint(0, 8, (1, 4, 4), generator=g).repeat_interleave(16, 1).repeat_interleave(16, 2)
            return {"label": lab, "instance": lab.clone(), "image": torch.randint(0, 256, (3, 64, 64), generator=g,
                                                                                   dtype=torch.uint8), "path": str(i)}

    gen = OASIS(SMALL, config="mini")
    gen.cfg = gen.cfg.replace(batch_size=2, sample_every=0, save_every=2)
    Trainer(gen, Data(), out_dir=tmp_path, seed=0, steps=2, progress=False).run()
    rec = json.loads((tmp_path / "train.json").read_text())
    assert rec["complete"] and all(np.isfinite(v) for v in rec["last_losses"].values())
    assert {"G_adv", "D_fake", "D_real", "D_LM", "G_L1"} <= set(rec["last_losses"])
    m = gen.model
    w_g, w_e = m.G.conv_img.weight, m.G_ema.conv_img.weight
    assert not torch.equal(w_g, w_e)
    saved = torch.load(tmp_path / "generator.pth", weights_only=True)
    assert torch.equal(saved["conv_img.weight"], w_e.detach())
