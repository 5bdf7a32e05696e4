"""DSGAN (reference_models/dsgan.py): the diversity-sensitive regulariser against a brute-force numpy computation
(with the paper's bound tau, and the release's detached second output), the sign of its gradient, z reaching every
U-Net level, the generator's keys against the authors' class (fixture listed by instantiating it:
benchmarks/oracle_dsgan.py, which also compares outputs on the same weights), and seeded multimodal generation.
The shared contract (shapes, adapter checks, save / load, resume) is in tests/test_reference_models.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.adapter import DatasetInfo
from reference_models.dsgan import DSGAN, ZUnetGenerator, diversity_ratio

pytestmark = pytest.mark.usefixtures("one_thread")

FIXTURE = Path(__file__).parent / "fixtures" / "reference_models" / "dsgan" / "facades_G.json"


def _brute(f1, f2, z1, z2, tau=None, eps=1e-5):
    f1, f2, z1, z2 = (np.asarray(t, dtype=np.float64) for t in (f1, f2, z1, z2))
    out = []
    for i in range(f1.shape[0]):
        img = np.abs(f1[i] - f2[i]).sum() / f1[i].size
        lat = np.abs(z1[i] - z2[i]).sum() / z1[i].size
        r = img / (lat + eps)
        out.append(min(r, tau) if tau is not None else r)
    return np.array(out)


@pytest.mark.parametrize("tau", [None, 0.3])
def test_diversity_ratio_matches_a_brute_force_computation(tau):
    g = torch.Generator().manual_seed(0)
    f1, f2 = torch.rand((3, 3, 8, 8), generator=g) * 2 - 1, torch.rand((3, 3, 8, 8), generator=g) * 2 - 1
    z1, z2 = torch.randn((3, 8), generator=g), torch.randn((3, 8), generator=g)
    got = diversity_ratio(f1, f2, z1, z2, tau).numpy()
    want = _brute(f1, f2, z1, z2, tau)
    np.testing.assert_allclose(got, want, rtol=1e-5)  # float32 sums vs float64
    if tau is not None:
        assert (want >= tau).any() and (got <= tau + 1e-7).all()  # the bound is active in this case


def test_the_second_output_is_detached_and_the_regulariser_pushes_outputs_apart():
    f1 = torch.zeros((1, 3, 4, 4), requires_grad=True)
    f2 = torch.full((1, 3, 4, 4), 0.5, requires_grad=True)
    z1, z2 = torch.zeros((1, 8)), torch.ones((1, 8))
    (-diversity_ratio(f1, f2, z1, z2).mean()).backward()
    assert f2.grad is None  # the release detaches the second output
    assert (f1.grad > 0).all()  # minimising -ratio moves f1 away from f2 (f1 < f2 here)

    torch.manual_seed(0)
    G = ZUnetGenerator(4, 3, nz=8, num_downs=5, ngf=8, dropout=False)
    x = torch.rand((2, 4, 32, 32))
    z1, z2 = torch.randn((2, 8)), torch.randn((2, 8))
    opt = torch.optim.Adam(G.parameters(), lr=1e-3)

    def ratio():
        return diversity_ratio(G(x, z1), G(x, z2), z1, z2).mean()

    with torch.no_grad():
        before = float(ratio())
    for _ in range(10):
        opt.zero_grad()
        (-ratio()).backward()
        opt.step()
    with torch.no_grad():
        after = float(ratio())
    assert after > 1.5 * before, (before, after)


def test_z_enters_every_level_of_the_unet():
    torch.manual_seed(0)
    G = ZUnetGenerator(4, 3, nz=8, num_downs=6, ngf=8)
    convs = [m for m in G.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 6 and convs[0].in_channels == 4 + 8
    assert all(c.in_channels == c_prev.out_channels + 8 for c_prev, c in zip(convs, convs[1:]))
    G.eval()
    x = torch.rand((1, 4, 64, 64))
    assert not torch.equal(G(x, torch.zeros(1, 8)), G(x, torch.ones(1, 8)))


def test_generator_keys_are_the_authors():
    fx = json.loads(FIXTURE.read_text())
    info = DatasetInfo("facades", 12, (256, 256), palette=tuple((i, i, i) for i in range(12)))
    ours = DSGAN(info, config="paper-facades").model.G.state_dict()
    assert {k: list(v.shape) for k, v in ours.items()} == fx["keys"]
    assert len(fx["keys"]) == 32 and "model.submodule.submodule.down.1.weight" in fx["keys"]


def test_samples_depend_on_the_seed_only():
    info = DatasetInfo("synthetic-streets", 8, (64, 64), palette=tuple((i, i, i) for i in range(8)))
    gen = DSGAN(info, config="mini")
    label = torch.randint(0, 8, (2, 1, 64, 64), generator=torch.Generator().manual_seed(1))
    batch = {"label": label, "instance": torch.zeros_like(label)}
    a = gen.generate(batch, seeds=[5, 6])
    b = gen.generate(batch, seeds=[5, 7])
    assert a.dtype == torch.uint8 and tuple(a.shape) == (2, 3, 64, 64)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[1], b[1])
    assert torch.equal(gen.generate({k: v[1:] for k, v in batch.items()}, seeds=[6])[0], a[1])  # batch-independent
