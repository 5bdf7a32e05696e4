"""CycleGAN (reference_models/cyclegan.py): shapes, the losses against direct computations, the image pool against a
brute-force transcription of the authors' ``ImagePool.query`` with the same random draws, one training step, save /
load, exact resume (the pools are part of the saved state), strict loading of the released generators' keys
(fixture listed by instantiating the authors' class: benchmarks/oracle_cyclegan.py) and the adapter contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path

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
from reference_models.cyclegan import (CycleGAN, CycleGANModel, ImagePool, ResnetGenerator, _Unpaired,
                                       official_to_ours, translate)
from reference_models.trainer import StepContext, Trainer, _collate

pytestmark = pytest.mark.usefixtures("one_thread")

FIXTURE = Path(__file__).parent / "fixtures" / "reference_models" / "cyclegan" / "horse2zebra_G.json"
TINY = {"ngf": 8, "n_blocks": 1, "ndf": 8, "n_layers_d": 2, "pool_size": 5}


def info(resolution=(32, 32)) -> DatasetInfo:
    return DatasetInfo("dusk2day-test", 8, resolution, False, 255, task="unpaired",
                       task_params=(("hidden_pairs", False),))


def tiny_gen(resolution=(32, 32), **over) -> CycleGAN:
    gen = CycleGAN(info(resolution), config="mini")
    gen.cfg = gen.cfg.replace(**{**TINY, "sample_every": 0, **over})
    gen.model = gen.build(gen.cfg, gen.info)  # the tiny widths (the trainer re-initialises from its seed)
    return gen


class FakeUnpaired:
    """Smooth random images: a darkened set as ``source`` (domain A), another as ``image`` (domain B); no labels."""

    num_classes, has_instances, palette = 8, False, ()

    def __init__(self, n=12, size=32):
        imgs = [torch.from_numpy(a.copy()).permute(2, 0, 1).contiguous() for a in smooth_images(2 * n, size, seed=3)]
        self.a = [(x.float() * 0.4).round().to(torch.uint8) for x in imgs[:n]]
        self.b = imgs[n:]

    def __len__(self):
        return len(self.a)

    def __getitem__(self, i):
        return {"source": self.a[i], "image": self.b[i], "path": f"x{i}.png"}


def source_batch(b=3, size=(32, 32), seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"source": torch.randint(0, 256, (b, 3, *size), generator=g, dtype=torch.uint8),
            "path": [f"s{i}" for i in range(b)]}


# ----------------------------------------------------------------------------- shapes

def test_generator_shapes_and_size():
    g = ResnetGenerator(3, 3, ngf=64, n_blocks=9)
    assert sum(p.numel() for p in g.parameters()) == 11_378_179  # the authors' resnet_9blocks: 11.378 M
    small = ResnetGenerator(3, 3, ngf=8, n_blocks=2)
    for size in [(32, 32), (32, 48), (30, 34), (17, 9)]:
        x = torch.rand(2, 3, *size) * 2 - 1
        with torch.no_grad():
            y = translate(small, x)
        assert y.shape == x.shape and float(y.abs().max()) <= 1
    x = torch.rand(1, 3, 32, 32)
    assert torch.equal(translate(small, x), small(x))  # multiples of 4: no padding


def test_mini_generator_options():
    """``residual`` starts as the identity mapping (to uint8 rounding); ``upsample: bilinear`` keeps every size."""
    m = CycleGANModel(get_config("cyclegan", "mini", info(), **TINY, residual=True, upsample="bilinear"), info())
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with torch.no_grad():
        y = ((m.G_A(x.float() / 127.5 - 1) + 1) * 127.5).round().to(torch.uint8)
    assert int((y.int() - x.int()).abs().max()) <= 1  # only 0 and 255 move (the atanh clamp)
    assert any(isinstance(mod, torch.nn.Upsample) for mod in m.G_A.modules())
    assert not any(isinstance(mod, torch.nn.ConvTranspose2d) for mod in m.G_A.modules())
    with torch.no_grad():
        assert translate(m.G_B, torch.zeros(1, 3, 30, 34)).shape == (1, 3, 30, 34)
    with pytest.raises(ValueError, match="upsample"):
        ResnetGenerator(upsample="nearest")


def test_model_layout():
    m = CycleGANModel(get_config("cyclegan", "mini", info(), **TINY), info())
    keys = m.state_dict().keys()
    assert {k.split(".")[0] for k in keys} == {"G_A", "G_B", "D_A", "D_B", "fake_A_pool", "fake_B_pool"}
    assert m.generator_module() is m.G_A
    d = m.D_A(torch.zeros(1, 3, 32, 32))[0][-1]
    assert d.shape[:2] == (1, 1)
    assert all(not isinstance(mod, torch.nn.modules.batchnorm._BatchNorm) for mod in m.modules())
    assert not any(k.endswith(("running_mean", "running_var")) for k in keys)


# ----------------------------------------------------------------------------- losses

def test_losses_match_direct_computation():
    torch.manual_seed(0)
    m = CycleGANModel(get_config("cyclegan", "paper", info(), **TINY), info())  # lambda_identity 0.5
    t = [torch.rand(2, 3, 16, 16) * 2 - 1 for _ in range(8)]
    real_a, real_b, fake_b, fake_a, rec_a, rec_b, idt_a, idt_b = t
    got = m.generator_losses(real_a, real_b, fake_b, fake_a, rec_a, rec_b, idt_a, idt_b)
    pa, pb = m.D_A.model(fake_b), m.D_B.model(fake_a)
    want = {"G_A": ((pa - 1) ** 2).mean(), "G_B": ((pb - 1) ** 2).mean(),
            "cycle_A": (rec_a - real_a).abs().mean() * 10, "cycle_B": (rec_b - real_b).abs().mean() * 10,
            "idt_A": (idt_a - real_b).abs().mean() * 10 * 0.5, "idt_B": (idt_b - real_a).abs().mean() * 10 * 0.5}
    assert got.keys() == want.keys()
    for k in want:
        torch.testing.assert_close(got[k], want[k], rtol=1e-6, atol=1e-7, msg=k)
    d = m.discriminator_loss(m.D_A, real_b, fake_b)
    direct = 0.5 * (((m.D_A.model(real_b) - 1) ** 2).mean() + (m.D_A.model(fake_b) ** 2).mean())
    torch.testing.assert_close(d, direct)
    # lambda_identity 0: no identity terms
    m0 = CycleGANModel(get_config("cyclegan", "mini", info(), **TINY), info())  # the mini: lambda_identity 0
    assert set(m0.generator_losses(*t)) == {"G_A", "G_B", "cycle_A", "cycle_B"}


# ----------------------------------------------------------------------------- the image pool

def reference_query(store: list, size: int, images: torch.Tensor) -> torch.Tensor:
    """util/image_pool.py ``ImagePool.query``, transcribed with torch's draws in place of ``random``'s."""
    out = []
    for image in images:
        if len(store) < size:
            store.append(image.clone())
            out.append(image)
        else:
            p = float(torch.rand(()))
            if p > 0.5:
                rid = int(torch.randint(0, size, ()))
                tmp = store[rid].clone()
                store[rid] = image.clone()
                out.append(tmp)
            else:
                out.append(image)
    return torch.stack(out)


def test_image_pool_matches_reference():
    size = 4
    pool, store = ImagePool(size), []
    g = torch.Generator().manual_seed(1)
    batches = [torch.randn(b, 3, 5, 6, generator=g) for b in (3, 2, 1, 3, 3, 2, 3, 1, 3, 3)]
    swaps = 0
    for i, x in enumerate(batches):
        torch.manual_seed(100 + i)
        got = pool.query(x)
        torch.manual_seed(100 + i)
        want = reference_query(store, size, x)
        assert torch.equal(got, want), i
        swaps += sum(not any(torch.equal(r, xi) for xi in x) for r in got)
    assert torch.equal(pool.images, torch.stack(store)) and int(pool.count) == size
    assert swaps > 0
    # the first `size` images are stored and returned unchanged
    p2 = ImagePool(size)
    x = torch.randn(size, 3, 2, 2)
    assert torch.equal(p2.query(x), x) and torch.equal(p2.images, x)
    # pool size 0: the current images
    assert torch.equal(ImagePool(0).query(x), x)


def test_image_pool_swaps_half_and_restores_from_state():
    pool = ImagePool(50)
    torch.manual_seed(0)
    pool.query(torch.randn(50, 1, 1, 1))
    before = pool.images.clone()
    torch.manual_seed(1)
    x = torch.randn(2000, 1, 1, 1) + 10  # distinguishable from the stored ones
    out = pool.query(x)
    shown_old = int((out < 5).sum())
    assert 900 < 2000 - int((out == x).all(1).all(1).all(1).sum()) < 1100  # about half swapped
    assert shown_old <= 50 and not torch.equal(before, pool.images)
    fresh = ImagePool(50)
    fresh.load_state_dict(pool.state_dict())  # a fresh (empty) pool takes the stored images' shape
    assert torch.equal(fresh.images, pool.images) and int(fresh.count) == 50
    torch.manual_seed(5)
    a = pool.query(x[:20])
    torch.manual_seed(5)
    assert torch.equal(fresh.query(x[:20]), a)
    with pytest.raises(BenchError, match="image pool holds"):
        pool.query(torch.zeros(1, 3, 2, 2))


# ----------------------------------------------------------------------------- training

def test_one_training_step():
    gen = tiny_gen(lambda_identity=0.5, residual=False, upsample="transpose")  # every term, the authors' G
    m = gen.model
    m.train()
    data = _Unpaired(FakeUnpaired())
    batch = _collate([data[i] for i in range(4)])
    assert torch.equal(batch["label"], torch.zeros(4, 1, 32, 32, dtype=torch.int64))  # filled in: no labels
    before = copy.deepcopy(m)
    opts = m.optimizers()
    torch.manual_seed(3)
    logs = m.train_step(batch, opts, StepContext(torch.device("cpu"), False, {}))
    assert set(logs) == {"G_A", "G_B", "cycle_A", "cycle_B", "idt_A", "idt_B", "D_A", "D_B"}
    assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    # the logged terms are those of the weights before the step (D frozen during G's update)
    a, b = batch["source"].float() / 127.5 - 1, batch["image"].float() / 127.5 - 1
    with torch.no_grad():
        fb, fa = before.G_A(a), before.G_B(b)
        g = before.generator_losses(a, b, fb, fa, before.G_B(fb), before.G_A(fa), before.G_A(b), before.G_B(a))
        d_a = before.discriminator_loss(before.D_A, b, fb)  # the pools were empty: they return the fakes
        d_b = before.discriminator_loss(before.D_B, a, fa)
    for k, v in g.items():
        assert logs[k] == pytest.approx(float(v), rel=1e-5), k
    assert logs["D_A"] == pytest.approx(float(d_a), rel=1e-5) and logs["D_B"] == pytest.approx(float(d_b), rel=1e-5)
    # every network moved; the pools hold this step's fakes
    for name in ("G_A", "G_B", "D_A", "D_B"):
        old, new = getattr(before, name).state_dict(), getattr(m, name).state_dict()
        assert any(not torch.equal(old[k], new[k]) for k in old), name
    assert int(m.fake_B_pool.count) == 4 and torch.allclose(m.fake_B_pool.images[:4], fb)
    assert torch.allclose(m.fake_A_pool.images[:4], fa)


def test_save_load_identical_outputs(tmp_path):
    gen = tiny_gen()
    gen.reinitialize(11)
    p = atomic_save(gen.generator_state(), tmp_path / "generator.pth")
    other = CycleGAN(info(), config="mini")
    other.cfg = gen.cfg
    other.model = other.build(other.cfg, other.info)
    other.load(p)
    batch = source_batch()
    assert torch.equal(gen.generate(batch, seeds=[1, 2, 3]), other.generate(batch, seeds=[1, 2, 3]))
    # a checkpoint of another method is refused in one line
    state = torch.load(p, weights_only=True)
    state["_meta.method"] = torch.tensor(list(b"pix2pix"), dtype=torch.uint8)
    torch.save(state, tmp_path / "other.pth")
    with pytest.raises(BenchError, match="trained for method 'pix2pix'"):
        other.load(str(tmp_path / "other.pth"))


def test_exact_resume(tmp_path):
    data = FakeUnpaired(12)

    def make():
        return tiny_gen(save_every=2, batch_size=4)

    full = make()
    Trainer(full, _Unpaired(data), out_dir=tmp_path / "full", seed=7, steps=4, progress=False).run()
    part = make()
    Trainer(part, _Unpaired(data), out_dir=tmp_path / "part", seed=7, steps=4, progress=False, stop_after=2).run()
    rec = json.loads((tmp_path / "part" / "train.json").read_text())
    assert rec["step"] == 2 and not rec["complete"]
    resumed = make()  # a fresh process: new random weights and empty pools, the checkpoint must restore all
    Trainer(resumed, _Unpaired(data), out_dir=tmp_path / "part", seed=7, steps=4, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    assert [k for k in a if not torch.equal(a[k], b[k])] == []
    assert int(a["fake_A_pool.count"]) == 5  # 16 fakes through a pool of 5: full, then swapping
    assert torch.equal(torch.load(tmp_path / "full" / "generator.pth", weights_only=True)["model.1.weight"],
                       a["G_A.model.1.weight"])


def test_adapter_train_wraps_dataset(tmp_path):
    gen = tiny_gen(save_every=1, batch_size=2)
    path = gen.train(FakeUnpaired(4), out_dir=str(tmp_path), seed=0, steps=1)
    assert Path(path).is_file() and gen.checkpoint == path
    with pytest.raises(BenchError, match="'source' \\(domain A\\) and 'image'"):
        _Unpaired([{"image": torch.zeros(3, 4, 4), "path": "x"}])[0]


# ----------------------------------------------------------------------------- the authors' released generators

def fixture_state() -> dict[str, torch.Tensor]:
    keys = json.loads(FIXTURE.read_text())["keys"]
    return {k: torch.empty(shape, device="meta") for k, shape in keys.items()}


def meta_G(config="paper"):
    with torch.device("meta"):
        return CycleGANModel(get_config("cyclegan", config, info((256, 256))), info((256, 256))).G_A


def test_released_generator_keys_load_strictly():
    G = meta_G()
    state = normalize_release(G, official_to_ours(fixture_state()))
    assert set(state) == set(G.state_dict())
    strict_load(G, state, "horse2zebra_G")


def test_released_generator_old_pytorch_and_dataparallel():
    """PyTorch < 0.4 files hold InstanceNorm running statistics; DataParallel files 'module.' prefixes."""
    G = meta_G()
    state = {"module." + k: v for k, v in fixture_state().items()}
    for name, mod in G.named_modules():
        if isinstance(mod, torch.nn.InstanceNorm2d):
            c = mod.num_features
            state[f"module.{name}.running_mean"] = torch.empty(c, device="meta")
            state[f"module.{name}.running_var"] = torch.empty(c, device="meta")
            state[f"module.{name}.num_batches_tracked"] = torch.empty((), dtype=torch.long, device="meta")
    strict_load(G, normalize_release(G, official_to_ours(state)), "old file")


def test_released_generator_wrong_config_is_one_line():
    G = meta_G("paper-128")  # 6 blocks
    with pytest.raises(BenchError, match="unexpected keys") as e:
        strict_load(G, normalize_release(G, official_to_ours(fixture_state())), "horse2zebra_G")
    assert "\n" not in str(e.value)


def test_adapter_loads_released_style_file(tmp_path, monkeypatch):
    """End to end: an authors'-style file (no _meta) through the adapter's loading (official_keys.to_ours)."""
    monkeypatch.setitem(official_keys.RENAMES, "cyclegan", "reference_models.cyclegan:official_to_ours")
    g = torch.Generator().manual_seed(0)
    state = {k: torch.randn(v.shape, generator=g) * 0.02 for k, v in fixture_state().items()}
    p = tmp_path / "latest_net_G.pth"
    torch.save(state, p)
    gen = CycleGAN(info((32, 32)), config="paper", checkpoint=str(p))
    out = gen.generate(source_batch(1), seeds=[0])
    assert out.shape == (1, 3, 32, 32) and out.dtype == torch.uint8
    x = source_batch(1)["source"].float() / 127.5 - 1
    with torch.no_grad():
        assert torch.equal(out, ((gen.model.G_A(x).clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))


# ----------------------------------------------------------------------------- the adapter contract

def test_conformance_and_task():
    gen = tiny_gen()
    gen.reinitialize(5)
    assert gen.tasks == ("unpaired",) and not gen.multimodal
    checks = run_checks(gen, source_batch(3), [11, 12, 13])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks if not c.ok]
    with pytest.raises(BenchError, match="no 'source'"):
        gen.generate({"label": torch.zeros(1, 1, 32, 32), "path": ["x"]}, seeds=[0])
    with pytest.raises(BenchError, match="expected \\[32, 32\\]"):
        gen.generate(source_batch(1, size=(16, 16)), seeds=[0])


def test_configs():
    paper = get_config("cyclegan", "paper", info((256, 256)))
    assert (paper.ngf, paper.n_blocks, paper.ndf, paper.n_layers_d, paper.norm, paper.dropout) == \
        (64, 9, 64, 3, "instance", False)
    assert (paper.gan_mode, paper.lambda_a, paper.lambda_b, paper.lambda_identity, paper.pool_size) == \
        ("lsgan", 10.0, 10.0, 0.5, 50)
    assert (paper.lr_g, paper.lr_d, paper.beta1, paper.beta2, paper.batch_size, paper.epochs, paper.decay_from) == \
        (2e-4, 2e-4, 0.5, 0.999, 1, 200, 0.5)
    assert (paper.load_size, paper.crop_size, paper.flip) == (286, 256, True)
    assert (paper.residual, paper.upsample) == (False, "transpose")  # the authors' network
    assert get_config("cyclegan", "paper-128", info()).n_blocks == 6
    mini = get_config("cyclegan", "mini", info())
    assert mini.load_size is None and mini.steps and mini.batch_size > 1
    assert (mini.residual, mini.upsample, mini.lambda_identity) == (True, "bilinear", 0.0)
