"""MUNIT and UNIT (reference_models/munit.py): strict loading of the released generator files' keys (fixtures listed
by instantiating the authors' classes: benchmarks/oracle_munit.py, which also compares outputs, losses and a training
iteration on the same weights), shapes, AdaIN against a brute-force float64 computation, the losses and the lr
schedule against direct computations (torch's StepLR for the schedule), seeded multimodal generation, training steps,
save / load and exact resume, and the adapter contract."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bench.adapter import DatasetInfo
from bench.checkpoints import normalize_release
from bench.conformance import run_checks
from bench.errors import BenchError
from reference_models.common import atomic_save, strict_load
from reference_models.configs import get_config
from reference_models.cyclegan import _Unpaired
from reference_models.munit import (MUNIT, UNIT, AdaINGen, AdaptiveInstanceNorm2d, LayerNorm, MsImageDis, MUNITModel,
                                    UNITModel, VAEGen, official_to_ours)
from reference_models.trainer import StepContext, Trainer, _collate
from test_reference_cyclegan import FakeUnpaired, source_batch

pytestmark = pytest.mark.usefixtures("one_thread")

FIXTURES = Path(__file__).parent / "fixtures" / "reference_models"
RELEASES = {"munit": (MUNIT, MUNITModel, FIXTURES / "munit" / "edges2shoes_gen.json"),
            "unit": (UNIT, UNITModel, FIXTURES / "unit" / "gta2city_gen.json")}
TINY = {"dim": 4, "n_res": 1, "dis_dim": 4, "n_layer": 2, "num_scales": 2, "residual": False}  # the authors' decoders
TINY_MUNIT = {**TINY, "mlp_dim": 8, "style_dim": 3}


def info(resolution=(32, 32)) -> DatasetInfo:
    return DatasetInfo("dusk2day-test", 8, resolution, False, 255, task="unpaired",
                       task_params=(("hidden_pairs", False),))


def tiny_gen(method="munit", resolution=(32, 32), **over):
    cls = RELEASES[method][0]
    gen = cls(info(resolution), config="mini")
    gen.cfg = gen.cfg.replace(**{**(TINY_MUNIT if method == "munit" else TINY), "sample_every": 0, **over})
    gen.model = gen.build(gen.cfg, gen.info)  # the tiny widths (the trainer re-initialises from its seed)
    return gen


def tiny_model(method="munit", **over):
    return tiny_gen(method, **over).model


def images(b=2, size=(32, 32), seed=0) -> torch.Tensor:
    return torch.rand((b, 3, *size), generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ----------------------------------------------------------------------------- the authors' released generators

def fixture_pair(method: str) -> dict[str, dict[str, torch.Tensor]]:
    """The released file's layout, {'a': {...}, 'b': {...}}, with meta tensors of the fixture's shapes."""
    keys = json.loads(RELEASES[method][2].read_text())["keys"]
    pair: dict[str, dict[str, torch.Tensor]] = {"a": {}, "b": {}}
    for k, shape in keys.items():
        side, _, rest = k.partition(".")
        pair[side][rest] = torch.empty(shape, device="meta")
    return pair


def meta_pair(method: str, config="paper", **over):
    with torch.device("meta"):
        cfg = get_config(method, config, info((256, 256)), **over)
        return RELEASES[method][1](cfg, info((256, 256))).generator_module()


@pytest.mark.parametrize("method", sorted(RELEASES))
def test_released_generator_keys_load_strictly(method):
    G = meta_pair(method)
    state = normalize_release(G, official_to_ours(fixture_pair(method)))
    own = G.state_dict()
    assert set(state) == set(own)
    assert {k: list(v.shape) for k, v in state.items()} == {k: list(v.shape) for k, v in own.items()}
    strict_load(G, state, f"{method} release")


@pytest.mark.parametrize("method", sorted(RELEASES))
def test_released_generator_of_old_pytorch(method):
    """PyTorch 0.3 files hold running statistics of every InstanceNorm (the authors' pytorch03_to_pytorch04 deletes
    them); our loader drops them, and keeps AdaIN's buffers, which our layer has too."""
    G = meta_pair(method)
    pair = fixture_pair(method)
    added = 0
    for name, mod in G.named_modules():
        if isinstance(mod, torch.nn.InstanceNorm2d):
            side, _, rest = name.partition(".")
            for stat in ("running_mean", "running_var"):
                pair[side[-1]][f"{rest}.{stat}"] = torch.empty(mod.num_features, device="meta")
                added += 1
    assert added > 0
    strict_load(G, normalize_release(G, official_to_ours(pair)), "old file")


def test_released_generator_wrong_config_is_one_line():
    G = meta_pair("munit", n_res=3)
    with pytest.raises(BenchError, match="unexpected keys") as e:
        strict_load(G, normalize_release(G, official_to_ours(fixture_pair("munit"))), "edges2shoes")
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("method", sorted(RELEASES))
def test_adapter_loads_a_released_style_file(tmp_path, method):
    """End to end: a {'a': ..., 'b': ...} file through the adapter's loading; A -> B is gen_b's decoder on gen_a's
    content (test.py --a2b 1)."""
    g = torch.Generator().manual_seed(0)
    pair = {side: {k: (torch.randn(v.shape, generator=g) * 0.02 if not k.endswith("running_var")
                       else torch.ones(v.shape)) for k, v in sd.items()}
            for side, sd in fixture_pair(method).items()}
    path = tmp_path / "gen_00100000.pt"
    torch.save(pair, path)
    gen = RELEASES[method][0](info((32, 32)), config="paper", checkpoint=str(path))
    assert torch.equal(gen.model.gen_b.enc_content.model[0].conv.weight if method == "munit"
                       else gen.model.gen_b.enc.model[0].conv.weight,
                       pair["b"]["enc_content.model.0.conv.weight" if method == "munit" else "enc.model.0.conv.weight"])
    batch = source_batch(1)
    out = gen.generate(batch, seeds=[4])
    x = batch["source"].float() / 127.5 - 1
    with torch.no_grad():
        if method == "munit":
            z = torch.randn((1, 8, 1, 1), generator=torch.Generator().manual_seed(4))  # per_sample_noise of seed 4
            want = gen.model.gen_b.decode(gen.model.gen_a.encode(x)[0], z)
        else:
            want = gen.model.gen_b.decode(gen.model.gen_a.encode(x)[0])
    assert out.shape == (1, 3, 32, 32)
    assert torch.equal(out, ((want.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8))


# ----------------------------------------------------------------------------- networks

def test_shapes():
    g = AdaINGen(3, dim=8, style_dim=5, n_downsample=2, n_res=2, mlp_dim=16)
    x = images(2, (32, 48))
    c, s = g.encode(x)
    assert c.shape == (2, 32, 8, 12) and s.shape == (2, 5, 1, 1)
    with torch.no_grad():
        assert g.decode(c, s).shape == x.shape and float(g(x).abs().max()) <= 1
    assert g.mlp.model[-1].fc.out_features == 2 * 2 * 2 * 32  # (shift, scale) of 2 blocks x 2 AdaIN layers, 32 ch
    v = VAEGen(3, dim=8, n_downsample=2, n_res=1)
    h, n = v.encode(x)
    assert h.shape == n.shape == (2, 32, 8, 12) and v.decode(h).shape == x.shape
    d = MsImageDis(3, dim=8, n_layer=3, num_scales=3)
    assert [tuple(o.shape) for o in d(x)] == [(2, 1, 4, 6), (2, 1, 2, 3), (2, 1, 1, 1)]
    # paper sizes: the authors' generators have about 15.0 M (AdaINGen) and 11.1 M (VAEGen) weights
    assert sum(p.numel() for p in AdaINGen(3).parameters()) == 15_026_187
    assert sum(p.numel() for p in VAEGen(3).parameters()) == 11_140_483


@pytest.mark.parametrize("method", sorted(RELEASES))
def test_any_size_is_padded_and_cropped_back(method):
    m = tiny_model(method)
    m.eval()
    for size in [(32, 32), (30, 34), (17, 9)]:
        with torch.no_grad():
            y = m.translate(images(1, size), 3)
        assert y.shape == (1, 3, *size) and float(y.abs().max()) <= 1


@pytest.mark.parametrize("method", sorted(RELEASES))
def test_residual_decoders_start_as_the_identity(method):
    """``residual`` (the minis): A -> B starts as the identity mapping (to uint8 rounding), whatever the style; off,
    the output does not depend on the input's pixels that way."""
    gen = tiny_gen(method, residual=True)
    gen.reinitialize(3)
    batch = source_batch(2)
    out = gen.generate(batch, seeds=[1, 2])
    assert int((out.int() - batch["source"].int()).abs().max()) <= 1  # only 0 and 255 move (the atanh clamp)
    m = gen.model
    x = images(1)
    with torch.no_grad():
        for g in (m.gen_a, m.gen_b):
            assert not g.dec.model[-1].conv.weight.any()
        if method == "munit":  # the image the code came from, added to the decoder's output
            assert torch.equal(m.skip(x), x) and tiny_model(method).skip(x) is None
        else:  # the difference of the two decoders' renderings of the latent, added to the source
            for gen_ in (m.gen_a, m.gen_b):  # any weights: move the last convs off zero
                gen_.dec.model[-1].conv.weight.normal_(0, 0.1)
            h = m.gen_a.enc(x)
            want = torch.tanh(torch.atanh(x.clamp(-0.995, 0.995)) + m.gen_b.dec.pre_tanh(h) - m.gen_a.dec.pre_tanh(h))
            assert torch.allclose(m.translate(x), want, atol=1e-6) and not torch.allclose(want, x, atol=1e-2)
            assert not torch.allclose(m.gen_b.decode(h), want, atol=1e-2)  # not the authors' translation
        plain = tiny_gen(method)
        plain.reinitialize(3)
        assert int((plain.generate(batch, seeds=[1, 2]).int() - batch["source"].int()).abs().max()) > 20


def test_adain_applies_the_mlp_parameters():
    """Every AdaIN layer's output, recomputed in float64 from its input: instance-normalised, times the MLP's
    scale slice, plus its shift slice (for each layer in module order: shift, then scale)."""
    torch.manual_seed(0)
    g = AdaINGen(3, dim=4, style_dim=6, n_downsample=1, n_res=2, mlp_dim=10).double()
    x, s = images(2, (32, 24)).double(), torch.randn(2, 6, 1, 1, dtype=torch.float64)
    layers = [m for m in g.dec.modules() if isinstance(m, AdaptiveInstanceNorm2d)]
    assert len(layers) == 4
    seen = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append((inp[0].detach().clone(), out.detach().clone())))
             for m in layers]
    with torch.no_grad():
        g.decode(g.encode(x)[0], s)
        params = g.mlp(s).numpy()
    for h in hooks:
        h.remove()
    assert len(seen) == 4 and params.shape == (2, 4 * 2 * 8)
    for j, (inp, out) in enumerate(seen):
        a = inp.numpy()
        for b in range(2):
            for c in range(8):
                plane = a[b, c]
                norm = (plane - plane.mean()) / np.sqrt(plane.var() + 1e-5)
                shift, scale = params[b, j * 16 + c], params[b, j * 16 + 8 + c]
                np.testing.assert_allclose(out.numpy()[b, c], norm * scale + shift, rtol=1e-9, atol=1e-9)
    # another style changes the output; no style assigned is an error
    with torch.no_grad():
        assert not torch.equal(g.decode(g.encode(x)[0], s), g.decode(g.encode(x)[0], s + 1))
    with pytest.raises(RuntimeError, match="assign"):
        AdaptiveInstanceNorm2d(3)(torch.zeros(1, 3, 2, 2))


def test_layer_norm_is_the_authors():
    """Per sample over C, H, W; unbiased std; eps added to the std, not the variance; per-channel gamma / beta."""
    ln = LayerNorm(3).requires_grad_(False)
    assert float(ln.gamma.min()) >= 0 and float(ln.gamma.max()) < 1 and not ln.beta.any()  # U[0, 1) and 0
    ln.gamma.copy_(torch.tensor([1.0, 2.0, 0.5]))
    ln.beta.copy_(torch.tensor([0.0, 1.0, -1.0]))
    x = images(2, (4, 5)).double() * 3
    y = ln.double()(x).numpy()
    for b in range(2):
        a = x[b].numpy()
        norm = (a - a.mean()) / (a.std(ddof=1) + 1e-5)
        want = norm * np.array([1.0, 2.0, 0.5])[:, None, None] + np.array([0.0, 1.0, -1.0])[:, None, None]
        np.testing.assert_allclose(y[b], want, rtol=1e-10, atol=1e-10)


def test_initialisation():
    m = MUNITModel(get_config("munit", "paper", info()), info()).requires_grad_(False)
    conv = m.gen_a.enc_content.model[1].conv
    fan_in = conv.weight[0].numel()
    assert abs(float(conv.weight.std()) - (2 / fan_in) ** 0.5) < 0.1 * (2 / fan_in) ** 0.5  # kaiming, fan_in
    dconv = m.dis_a.cnns[0][1].conv
    assert abs(float(dconv.weight.std()) - 0.02) < 0.002  # gaussian 0.02
    biases = [mod.bias for net in (m.gen_a, m.dis_b) for mod in net.modules()
              if isinstance(mod, (torch.nn.Conv2d, torch.nn.Linear))]
    assert biases and all(not b.any() for b in biases)


# ----------------------------------------------------------------------------- losses and schedule

@pytest.mark.parametrize("gan_type", ["lsgan", "nsgan"])
def test_discriminator_losses_match_direct_computation(gan_type):
    torch.manual_seed(0)
    d = MsImageDis(3, dim=4, n_layer=2, num_scales=3, gan_type=gan_type)
    fake, real = images(2, seed=1), images(2, seed=2)
    of, orr = d(fake), d(real)
    if gan_type == "lsgan":  # summed over scales, not halved
        want_d = sum((o ** 2).mean() + ((r - 1) ** 2).mean() for o, r in zip(of, orr))
        want_g = sum(((o - 1) ** 2).mean() for o in of)
    else:
        want_d = sum(F.binary_cross_entropy(torch.sigmoid(o), torch.zeros_like(o))
                     + F.binary_cross_entropy(torch.sigmoid(r), torch.ones_like(r)) for o, r in zip(of, orr))
        want_g = sum(F.binary_cross_entropy(torch.sigmoid(o), torch.ones_like(o)) for o in of)
    torch.testing.assert_close(d.calc_dis_loss(fake, real), want_d)
    torch.testing.assert_close(d.calc_gen_loss(fake), want_g)


def test_munit_generator_losses_match_direct_computation():
    m = tiny_model("munit", recon_x_cyc_w=3.0, recon_s_w=2.0, recon_c_w=0.5, gan_w=1.5, recon_x_w=7.0)
    x_a, x_b = images(2, seed=1), images(2, seed=2)
    torch.manual_seed(9)
    got = m.generator_losses(x_a, x_b)
    torch.manual_seed(9)
    s_a, s_b = torch.randn(2, 3, 1, 1), torch.randn(2, 3, 1, 1)  # the authors' draws, in their order
    ga, gb = m.gen_a, m.gen_b
    c_a, sp_a = ga.enc_content(x_a), ga.enc_style(x_a)
    c_b, sp_b = gb.enc_content(x_b), gb.enc_style(x_b)
    x_ba, x_ab = ga.decode(c_b, s_a), gb.decode(c_a, s_b)
    l1 = lambda a, b: (a - b).abs().mean()  # noqa: E731
    want = {"adv_a": 1.5 * m.dis_a.calc_gen_loss(x_ba), "adv_b": 1.5 * m.dis_b.calc_gen_loss(x_ab),
            "recon_x_a": 7 * l1(ga.decode(c_a, sp_a), x_a), "recon_s_a": 2 * l1(ga.enc_style(x_ba), s_a),
            "recon_c_a": 0.5 * l1(gb.enc_content(x_ab), c_a), "recon_x_b": 7 * l1(gb.decode(c_b, sp_b), x_b),
            "recon_s_b": 2 * l1(gb.enc_style(x_ab), s_b), "recon_c_b": 0.5 * l1(ga.enc_content(x_ba), c_b),
            "cycrecon_x_a": 3 * l1(ga.decode(gb.enc_content(x_ab), sp_a), x_a),
            "cycrecon_x_b": 3 * l1(gb.decode(ga.enc_content(x_ba), sp_b), x_b)}
    assert list(got) == list(want)
    for k in want:
        torch.testing.assert_close(got[k], want[k], msg=k)
    assert not {"cycrecon_x_a", "cycrecon_x_b"} & set(tiny_model("munit").generator_losses(x_a, x_b))  # weight 0


def test_unit_generator_losses_match_direct_computation():
    m = tiny_model("unit", recon_kl_w=0.3, recon_kl_cyc_w=0.2, recon_x_cyc_w=4.0)
    x_a, x_b = images(2, seed=1), images(2, seed=2)
    torch.manual_seed(9)
    got = m.generator_losses(x_a, x_b)
    torch.manual_seed(9)
    ga, gb = m.gen_a, m.gen_b
    h_a = ga.enc(x_a)
    n_a = torch.randn(h_a.shape)  # the noise draws, in the authors' order
    h_b = gb.enc(x_b)
    n_b = torch.randn(h_b.shape)
    x_ba, x_ab = ga.dec(h_b + n_b), gb.dec(h_a + n_a)
    h_b_r = ga.enc(x_ba)
    n_b_r = torch.randn(h_b_r.shape)
    h_a_r = gb.enc(x_ab)
    n_a_r = torch.randn(h_a_r.shape)
    l1 = lambda a, b: (a - b).abs().mean()  # noqa: E731
    want = {"adv_a": m.dis_a.calc_gen_loss(x_ba), "adv_b": m.dis_b.calc_gen_loss(x_ab),
            "recon_x_a": 10 * l1(ga.dec(h_a + n_a), x_a), "recon_kl_a": 0.3 * (h_a ** 2).mean(),
            "recon_x_b": 10 * l1(gb.dec(h_b + n_b), x_b), "recon_kl_b": 0.3 * (h_b ** 2).mean(),
            "cyc_x_a": 4 * l1(ga.dec(h_a_r + n_a_r), x_a), "recon_kl_cyc_aba": 0.2 * (h_a_r ** 2).mean(),
            "cyc_x_b": 4 * l1(gb.dec(h_b_r + n_b_r), x_b), "recon_kl_cyc_bab": 0.2 * (h_b_r ** 2).mean()}
    assert list(got) == list(want)
    for k in want:
        torch.testing.assert_close(got[k], want[k], msg=k)


def test_lr_schedule_is_the_authors_steplr():
    """get_scheduler's StepLR, stepped before every iteration (train.py): iteration i runs at the lr StepLR has after
    i + 1 steps."""
    m = tiny_model("munit", lr_policy="step", step_size=3, gamma=0.5)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=1e-4)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    for i in range(10):
        opt.step()  # no gradient: nothing moves (the order torch expects)
        sched.step()
        assert m.lr_factor(i) * 1e-4 == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12), i
    opts = m.optimizers()
    m.schedule(5, 100, opts, {"G": [2e-4], "D": [1e-4]})
    assert opts["G"].param_groups[0]["lr"] == pytest.approx(0.5e-4) and opts["D"].param_groups[0]["lr"] == \
        pytest.approx(0.25e-4)
    assert all(o.param_groups[0]["weight_decay"] == 1e-4 for o in opts.values())
    assert tiny_model("munit", lr_policy="constant").lr_factor(10 ** 6) == 1.0


# ----------------------------------------------------------------------------- multimodal generation

def test_munit_seeds_batch_independence_and_conformance():
    gen = tiny_gen("munit")
    gen.reinitialize(5)
    assert gen.multimodal and gen.tasks == ("unpaired",)
    batch = source_batch(3)
    a = gen.generate(batch, seeds=[1, 2, 3])
    assert torch.equal(a, gen.generate(batch, seeds=[1, 2, 3]))  # same seeds, same images
    b = gen.generate(batch, seeds=[4, 5, 6])
    assert all(not torch.equal(a[i], b[i]) for i in range(3))  # other seeds, other images
    singles = torch.cat([gen.generate({"source": batch["source"][i:i + 1], "path": ["x"]}, seeds=[s])
                         for i, s in enumerate([1, 2, 3])])
    assert torch.equal(singles, a)  # batch-size independence
    same_input = {"source": batch["source"][:1].repeat(2, 1, 1, 1), "path": ["x", "y"]}
    two = gen.generate(same_input, seeds=[7, 8])
    assert not torch.equal(two[0], two[1])  # one input, two styles
    checks = run_checks(gen, batch, [11, 12, 13])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks if not c.ok]


def test_unit_is_deterministic_and_conforms():
    gen = tiny_gen("unit")
    gen.reinitialize(5)
    assert not gen.multimodal and gen.tasks == ("unpaired",)
    batch = source_batch(3)
    assert torch.equal(gen.generate(batch, seeds=[1, 2, 3]), gen.generate(batch, seeds=[7, 8, 9]))
    checks = run_checks(gen, batch, [11, 12, 13])
    assert all(c.ok for c in checks), [(c.name, c.message) for c in checks if not c.ok]
    with pytest.raises(BenchError, match="no 'source'"):
        gen.generate({"label": torch.zeros(1, 1, 32, 32), "path": ["x"]}, seeds=[0])


# ----------------------------------------------------------------------------- training

@pytest.mark.parametrize("residual", [False, True])
@pytest.mark.parametrize("method", sorted(RELEASES))
def test_training_steps_change_every_network(method, residual):
    gen = tiny_gen(method, residual=residual)
    m = gen.model
    m.train()
    data = _Unpaired(FakeUnpaired())
    before = copy.deepcopy(m.state_dict())
    opts = m.optimizers()
    ctx = StepContext(torch.device("cpu"), False, {})
    for step in range(2):
        batch = _collate([data[i] for i in range(2 * step, 2 * step + 2)])
        torch.manual_seed(step)
        logs = m.train_step(batch, opts, ctx)
        assert all(np.isfinite(v) for v in logs.values())
    want = {"adv_a", "adv_b", "recon_x_a", "recon_x_b", "D"}
    assert want <= set(logs)
    after = m.state_dict()
    for net in ("gen_a", "gen_b", "dis_a", "dis_b"):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net + ".")), net
    assert all(p.requires_grad for p in m.parameters())  # D unfrozen again after G's update


def test_vgg_loss_is_refused():
    with pytest.raises(ValueError, match="vgg_w"):
        MUNITModel(get_config("munit", "mini", info(), **TINY_MUNIT, vgg_w=1.0), info())


@pytest.mark.parametrize("method", sorted(RELEASES))
def test_save_load_identical_outputs(tmp_path, method):
    gen = tiny_gen(method)
    gen.reinitialize(11)
    state = gen.generator_state()
    assert {k.split(".")[0] for k in state if not k.startswith("_meta")} == {"gen_a", "gen_b"}
    p = atomic_save(state, tmp_path / "generator.pth")
    other = tiny_gen(method)
    other.reinitialize(12)
    batch = source_batch()
    assert not torch.equal(gen.generate(batch, seeds=[1, 2, 3]), other.generate(batch, seeds=[1, 2, 3]))
    other.load(p)
    assert torch.equal(gen.generate(batch, seeds=[1, 2, 3]), other.generate(batch, seeds=[1, 2, 3]))
    with pytest.raises(BenchError, match=f"trained for method '{method}'"):
        (tiny_gen("unit") if method == "munit" else tiny_gen("munit")).load(p)


def test_exact_resume(tmp_path):
    data = FakeUnpaired(8)

    def make():
        return tiny_gen("munit", save_every=2, batch_size=2)

    full = make()
    Trainer(full, _Unpaired(data), out_dir=tmp_path / "full", seed=7, steps=4, progress=False).run()
    part = make()
    Trainer(part, _Unpaired(data), out_dir=tmp_path / "part", seed=7, steps=4, progress=False, stop_after=2).run()
    assert not json.loads((tmp_path / "part" / "train.json").read_text())["complete"]
    resumed = make()
    Trainer(resumed, _Unpaired(data), out_dir=tmp_path / "part", seed=7, steps=4, progress=False).run()
    a, b = full.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys() and [k for k in a if not torch.equal(a[k], b[k])] == []
    fresh = make()
    assert any(not torch.equal(a[k], v) for k, v in fresh.model.state_dict().items())  # training moved the weights


def test_adapter_train_wraps_dataset(tmp_path):
    gen = tiny_gen("unit", save_every=1, batch_size=2)
    path = gen.train(FakeUnpaired(4), out_dir=str(tmp_path), seed=0, steps=1)
    assert Path(path).is_file() and gen.checkpoint == path


# ----------------------------------------------------------------------------- configs

def test_configs():
    p = get_config("munit", "paper", info((256, 256)))
    assert (p.dim, p.mlp_dim, p.style_dim, p.activ, p.n_downsample, p.n_res, p.pad_type) == \
        (64, 256, 8, "relu", 2, 4, "reflect")
    assert (p.dis_dim, p.dis_norm, p.dis_activ, p.n_layer, p.gan_type, p.num_scales, p.dis_pad_type) == \
        (64, "none", "lrelu", 4, "lsgan", 3, "reflect")
    assert (p.gan_w, p.recon_x_w, p.recon_s_w, p.recon_c_w, p.recon_x_cyc_w, p.vgg_w) == (1, 10, 1, 1, 0, 0)
    assert (p.lr_g, p.lr_d, p.beta1, p.beta2, p.weight_decay, p.init) == (1e-4, 1e-4, 0.5, 0.999, 1e-4, "kaiming")
    assert (p.lr_policy, p.step_size, p.gamma, p.batch_size, p.steps, p.flip) == \
        ("step", 100_000, 0.5, 1, 1_000_000, True)
    u = get_config("unit", "paper", info((256, 256)))
    assert (u.recon_x_w, u.recon_kl_w, u.recon_x_cyc_w, u.recon_kl_cyc_w, u.gan_w) == (10, 0.01, 10, 0.01, 1)
    assert (u.dim, u.n_downsample, u.n_res, u.lr_g, u.weight_decay) == (64, 2, 4, 1e-4, 1e-4)
    for method in ("munit", "unit"):
        mini = get_config(method, "mini", info((64, 64)))
        assert mini.steps and mini.steps <= 1000 and mini.dim < 64 and mini.vgg_w == 0
