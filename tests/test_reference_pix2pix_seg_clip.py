"""pix2pix-seg-clip (reference_models/pix2pix_seg_clip.py): shapes, the CLIP loss against 1 - cosine similarity
computed directly (a tiny stand-in image encoder through the ``set_clip_encoder`` / ``CLIPLoss(visual=...)`` hook, no
weights), the CLIP term off without weights (one warning, recorded in train.json), determinism per seed."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.conformance import run_checks
from reference_models import pix2pix_seg_clip as psc
from reference_models.configs import get_config
from reference_models.trainer import StepContext, Trainer, _collate

from conftest import Subset, info_for  # noqa: E402 - the tests folder is on sys.path

MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(1, 3, 1, 1)
STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(1, 3, 1, 1)
pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread


def tiny_encoder(size=224, dim=16):
    """A stand-in for CLIP's image tower: [B,3,size,size] -> [B,dim]."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 32, stride=32), nn.Flatten(), nn.Linear(4 * (size // 32) ** 2, dim))


def test_shapes(train_ds):
    info = info_for(train_ds)
    gen = psc.Pix2PixSegClip(info, config="mini")
    batch = _collate([train_ds[i] for i in range(2)])
    out = gen.generate(batch, seeds=[1, 2])
    assert out.dtype == torch.uint8 and tuple(out.shape) == (2, 3, 64, 64)
    m = gen.model
    assert m.multimodal and gen.multimodal
    logits = m.D(torch.zeros(2, 3, 64, 64))
    assert tuple(logits.shape) == (2, info.num_classes + 1, 64, 64)  # classes + "fake" (label 0)
    # non-square: the U-Net halves down to the shorter side
    info2 = info_for(train_ds, (32, 64))
    batch2 = {k: (v[..., :32, :] if torch.is_tensor(v) else v) for k, v in batch.items()}
    assert tuple(psc.Pix2PixSegClip(info2, config="mini").generate(batch2, seeds=[3, 4]).shape) == (2, 3, 32, 64)


def test_paper_config_values():
    cfg = get_config("pix2pix-seg-clip", "paper")
    assert (cfg.lambda_d, cfg.lambda_vgg, cfg.lambda_clip, cfg.vgg, cfg.clip) == (2.5, 10.0, 30.0, True, True)
    assert cfg.lambda_l1 == 0 and cfg.z_dim > 0


def test_clip_loss_is_one_minus_cosine_similarity():
    enc = tiny_encoder()
    loss = psc.CLIPLoss(visual=enc)
    assert loss.enabled and loss.status == "enabled: injected image encoder"
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 64, 64, generator=g) * 2 - 1
    y = torch.rand(3, 3, 64, 64, generator=g) * 2 - 1

    def direct(img):  # 64 -> 224 bicubic (upscaling: no crop needed), [0, 1], CLIP mean/std
        t = F.interpolate((img + 1) / 2, size=(224, 224), mode="bicubic", align_corners=False).clamp(0, 1)
        return enc((t - MEAN) / STD)

    a, b = direct(x), direct(y)
    want = torch.stack([1 - (a[i] @ b[i]) / (a[i].norm() * b[i].norm()) for i in range(3)]).mean()
    got = loss(x, y)
    assert float(got) == pytest.approx(float(want), rel=1e-5, abs=1e-6)
    assert float(loss(y, y)) == pytest.approx(0.0, abs=1e-6)
    # the gradient reaches the generated image only
    xg, yg = x.clone().requires_grad_(True), y.clone().requires_grad_(True)
    loss(xg, yg).backward()
    assert xg.grad is not None and xg.grad.abs().sum() > 0 and yg.grad is None
    # non-square inputs: shorter side to 224, centre crop
    assert tuple(psc.clip_input(torch.zeros(1, 3, 32, 64)).shape) == (1, 3, 224, 224)


def test_clip_term_trains_through_the_hook(train_ds):
    info = info_for(train_ds)
    gen = psc.Pix2PixSegClip(info, config="mini")
    m = gen.model
    m.set_clip_encoder(tiny_encoder())
    assert m.clip_status() == "enabled: injected image encoder"
    batch = _collate([train_ds[i] for i in range(2)])
    torch.manual_seed(0)
    m.train()
    logs = m.train_step(batch, m.optimizers(), StepContext(torch.device("cpu"), False, {}))
    assert 0 <= logs["G_CLIP"] <= 2 * m.cfg.lambda_clip and "G_adv" in logs and "D_fake" in logs
    assert not any(k.startswith("_clip") or "visual" in k for k in m.state_dict())  # never in checkpoints
    m.cfg = m.cfg.replace(lambda_clip=0.0)
    assert m.clip(torch.device("cpu")) is None and m.clip_status() == "off (config)"


def test_clip_off_without_weights_warns_once_and_is_recorded(tmp_path, train_ds, monkeypatch):
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.cache/clip copy
    psc._warned.discard("clip")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        a, b = psc.CLIPLoss(), psc.CLIPLoss()
    msgs = [str(w.message) for w in rec if "CLIP loss disabled" in str(w.message)]
    assert len(msgs) == 1 and "\n" not in msgs[0] and "ViT-B-32.pt" in msgs[0], msgs
    assert not a.enabled and a(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 8)) is None
    assert b.status.startswith("disabled: CLIP ViT-B/32 weights unavailable") and "looked in" in b.status
    gen = psc.Pix2PixSegClip(info_for(train_ds), config="mini")
    gen.cfg = gen.cfg.replace(sample_every=0, batch_size=2)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        Trainer(gen, Subset(train_ds, 4), out_dir=tmp_path / "run", seed=0, steps=1, progress=False).run()
    assert not [w for w in rec if "CLIP loss disabled" in str(w.message)]  # once per process
    assert gen.model.clip_status().startswith("disabled: CLIP ViT-B/32 weights unavailable")
    record = json.loads((tmp_path / "run" / "train.json").read_text())
    assert record["clip_loss"].startswith("disabled: CLIP ViT-B/32 weights unavailable")
    assert record["vgg_loss"].startswith("disabled")
    assert "G_CLIP" not in record["last_losses"]


def test_determinism_per_seed(train_ds):
    info = info_for(train_ds)
    gen = psc.Pix2PixSegClip(info, config="mini")
    batch = _collate([train_ds[i] for i in range(3)])
    bad = [f"{c.name}: {c.message}" for c in run_checks(gen, batch, [11, 12, 13]) if not c.ok]
    assert not bad, bad  # same seeds -> same images, other seeds -> other images, batch-size independence
    again = psc.Pix2PixSegClip(info, config="mini")
    assert torch.equal(gen.generate(batch, seeds=[5, 6, 7]), again.generate(batch, seeds=[5, 6, 7]))
    one = gen.generate({k: (v[1:2] if torch.is_tensor(v) else v[1:2]) for k, v in batch.items()}, seeds=[6])
    assert torch.equal(one[0], gen.generate(batch, seeds=[5, 6, 7])[1])
