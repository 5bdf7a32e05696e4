"""ECGAN (reference_models/ecgan.py): sub-network shapes, the contrastive losses against brute-force loops, the edge
target against a literal transcription of the authors' scripts/canny.m, the similarity loss, strict loading of the
authors' generator keys (fixtures listed by instantiating their classes: benchmarks/oracle_ecgan.py), determinism.

The registry-parametrized tests (tests/test_reference_models.py) cover the adapter contract, training, save/load and
exact resume once the method is registered."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.adapter import DatasetInfo
from bench.checkpoints import normalize_release
from reference_models.common import strict_load
from reference_models.configs import get_config
from reference_models.ecgan import (ECGAN, ECGANGenerator, ECGANModel, canny_edges, class_contrastive_loss,
                                    contrastive_losses, edge_target, official_to_ours, pixel_contrastive_loss)
from reference_models.trainer import StepContext

FIXTURES = Path(__file__).parent / "fixtures" / "reference_models" / "ecgan"


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one intra-op thread


def streets(resolution=(32, 32)):
    return DatasetInfo("synthetic-streets", 8, resolution, True, 255)


def tiny_batch(resolution=(32, 32), b=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    h, w = resolution
    label = torch.randint(0, 8, (b, 1, h // 8, w // 8), generator=g).repeat_interleave(8, 2).repeat_interleave(8, 3)
    image = torch.randint(0, 256, (b, 3, h, w), generator=g, dtype=torch.uint8)
    return {"label": label, "instance": label * 1000, "image": image, "path": [str(i) for i in range(b)]}


TINY = {"ngf": 8, "nhidden": 16, "ndf": 8, "n_layers_d": 2, "contrast_per_class": 16}


def tiny_model(info=None, **over) -> ECGANModel:
    info = info or streets()
    torch.manual_seed(0)
    return ECGANModel(get_config("ecgan", "mini", info, **{**TINY, **over}), info)


# ----------------------------------------------------------------------------- shapes

@pytest.mark.parametrize("mode,res", [("normal", (32, 64)), ("more", (64, 128)), ("most", (128, 128))])
def test_generator_outputs_and_features(mode, res):
    torch.manual_seed(0)
    G = ECGANGenerator(semantic_nc=10, label_nc=8, resolution=res, ngf=8, nhidden=16, num_upsampling_layers=mode)
    seg = torch.zeros(2, 10, *res)
    seg[:, 3] = 1
    image, final, edge, feat = G(seg, features=True)
    final_nc = 4 if mode == "most" else 8
    assert G.final_nc == final_nc and feat.shape == (2, final_nc, *res)
    for t in (image, final, edge):
        assert t.shape == (2, 3, *res)
    assert final.abs().max() <= 1 and edge.abs().max() <= 1 and image.abs().max() <= 2  # image * att + image
    assert G.conv_comb1.out_channels == 8 and G.conv_comb2.in_channels == 8
    assert G.conv_comb1.in_channels == final_nc + 3 + 3 + 10 == G.conv_comb2.out_channels
    assert [G.conv_img1.out_channels, G.conv_img2.out_channels, G.conv_img3.out_channels, G.conv_img4.out_channels] \
        == [32, 16, 8, 3] == [G.conv_edge1.out_channels, G.conv_edge2.out_channels, G.conv_edge3.out_channels,
                               G.conv_edge4.out_channels]
    assert tuple(G.fc1.weight.shape) == (8, 8)
    (image.sum() + final.sum() + edge.sum()).backward()
    assert G.fc1.weight.grad is None  # created, never called (as in the authors' forward)
    assert G.conv_comb1.weight.grad is not None and G.conv_edge1.weight.grad is not None


def test_discriminator_and_model_shapes():
    info = streets((32, 64))
    m = tiny_model(info)
    assert m.semantic_nc == 9 and m.label_nc == 8
    b = tiny_batch((32, 64))
    seg = m.encode(b["label"], b["instance"])
    real = torch.rand(2, 3, 32, 64) * 2 - 1
    pf, pr = m._discriminate(seg, real, real)
    assert len(pf) == 2 and all(len(s) == 2 + 1 for s in pf)  # num_d scales, n_layers_d + 1 features
    assert pf[0][-1].shape[:2] == (2, 1) and pr[0][-1].shape == pf[0][-1].shape
    assert m.generate(b["label"][:1], b["instance"][:1], 0).shape == (1, 3, 32, 64)
    m2 = tiny_model(info, output="image")
    assert m2.generate(b["label"][:1], b["instance"][:1], 0).abs().max() <= 2
    m3 = tiny_model(info, contrast_head=6)  # the optional projection head: trained with G, outside G's file
    assert m3.P(torch.zeros(1, 8, 4, 4)).shape == (1, 6, 4, 4) and not hasattr(m, "P")
    assert {id(q) for q in m3.P.parameters()} <= {id(q) for g in m3.optimizers()["G"].param_groups for q in g["params"]}
    assert any(k.startswith("P.") for k in m3.state_dict()) and set(m3.G.state_dict()) == set(m.G.state_dict())


def test_authors_label_nc_with_dontcare_class():
    info = DatasetInfo("ade20k", 151, (64, 64), False, 255)
    cfg = get_config("ecgan", "paper", info, ngf=8, nhidden=16, ndf=8)
    assert cfg.name == "paper-ade20k" and cfg.dontcare_in_classes and not cfg.instance
    with torch.device("meta"):
        m = ECGANModel(cfg, info)
    assert m.semantic_nc == 151 and m.G.conv_comb1.out_channels == 150 and m.G.fc1.in_features == 150


# ----------------------------------------------------------------------------- contrastive losses vs loops

def brute_pixel(emb, lab, tau):
    emb, lab = emb.double().numpy(), lab.numpy()
    total, n = 0.0, 0
    for a in range(len(lab)):
        pos = [p for p in range(len(lab)) if p != a and lab[p] == lab[a]]
        neg = [q for q in range(len(lab)) if lab[q] != lab[a]]
        if not pos or not neg:
            continue
        negsum = sum(math.exp(float(emb[a] @ emb[q]) / tau) for q in neg)
        la = 0.0
        for p in pos:
            e = math.exp(float(emb[a] @ emb[p]) / tau)
            la += -math.log(e / (e + negsum))
        total += la / len(pos)
        n += 1
    return total / n if n else 0.0


def brute_class(emb, lab, num_classes, tau):
    emb, lab = emb.double().numpy(), lab.numpy()
    centers = {}
    for k in range(num_classes):
        members = [emb[i] for i in range(len(lab)) if lab[i] == k]
        if members:
            c = sum(members) / len(members)
            centers[k] = c / np.sqrt(float(c @ c))
    total = 0.0
    for i in range(len(lab)):
        den = sum(math.exp(float(emb[i] @ c) / tau) for c in centers.values())
        total += -math.log(math.exp(float(emb[i] @ centers[int(lab[i])]) / tau) / den)
    return total / len(lab)


def test_pixel_and_class_contrastive_losses_match_loops():
    g = torch.Generator().manual_seed(0)
    emb = torch.nn.functional.normalize(torch.randn(9, 4, generator=g, dtype=torch.float64), dim=1)
    lab = torch.tensor([0, 0, 1, 1, 1, 2, 0, 3, 1])  # class 2 and 3: one member each (anchors without positives)
    for tau in (0.1, 0.5):
        assert float(pixel_contrastive_loss(emb, lab, tau)) == pytest.approx(brute_pixel(emb, lab, tau), rel=1e-10)
        want = brute_class(emb, lab, 5, tau)
        assert float(class_contrastive_loss(emb, lab, 5, tau)) == pytest.approx(want, rel=1e-10)
    one = torch.zeros(4, dtype=torch.long)  # a single class: no negatives, no contrast
    assert float(pixel_contrastive_loss(emb[:4], one, 0.1)) == 0.0
    assert float(class_contrastive_loss(emb[:4], one, 5, 0.1)) == 0.0


def test_contrastive_losses_over_a_feature_map():
    """Every labelled pixel of every image (no sampling when per_class exceeds the counts); ignored ids left out."""
    g = torch.Generator().manual_seed(1)
    feat = torch.randn(2, 3, 2, 3, generator=g, dtype=torch.float64, requires_grad=True)
    label = torch.tensor([[[[0, 0, 1], [1, 255, 2]]], [[[2, 2, 0], [1, 1, 1]]]])
    pix, cls = contrastive_losses(feat, label, 3, per_class=100, tau=0.2)
    emb, labs = [], []
    for b in range(2):
        for i in range(2):
            for j in range(3):
                if label[b, 0, i, j] < 3:
                    v = feat[b, :, i, j].detach()
                    emb.append(v / v.norm())
                    labs.append(int(label[b, 0, i, j]))
    emb, labs = torch.stack(emb), torch.tensor(labs)
    assert float(pix.detach()) == pytest.approx(brute_pixel(emb, labs, 0.2), rel=1e-10)
    assert float(cls.detach()) == pytest.approx(brute_class(emb, labs, 3, 0.2), rel=1e-10)
    (pix + cls).backward()
    assert feat.grad is not None and bool(feat.grad.abs().sum() > 0)


def test_contrastive_sampling_is_bounded_and_seeded():
    g = torch.Generator().manual_seed(2)
    feat = torch.randn(2, 4, 8, 8, generator=g)
    label = torch.randint(0, 3, (2, 1, 8, 8), generator=g)
    runs = []
    for _ in range(2):
        torch.manual_seed(5)
        runs.append([float(t) for t in contrastive_losses(feat, label, 3, per_class=4, tau=0.1)])
    assert runs[0] == runs[1]
    torch.manual_seed(6)
    other = [float(t) for t in contrastive_losses(feat, label, 3, per_class=4, tau=0.1)]
    assert other[0] != runs[0][0] and other[1] == runs[0][1]  # other anchors; class-wise: every pixel
    emb = torch.nn.functional.normalize(torch.randn(12, 3, generator=g), dim=1)
    lab = torch.tensor([0, 1, 2] * 4)
    sel = torch.tensor([0, 4, 8, 9])  # anchors against the centers of all rows
    want = class_contrastive_loss(emb, lab, 3, 0.1)  # per-anchor terms, averaged over the chosen ones
    terms = [float(class_contrastive_loss(emb, lab, 3, 0.1, torch.tensor([i]))) for i in sel.tolist()]
    assert float(class_contrastive_loss(emb, lab, 3, 0.1, sel)) == pytest.approx(sum(terms) / 4, rel=1e-6)
    assert float(want) == pytest.approx(sum(float(class_contrastive_loss(emb, lab, 3, 0.1, torch.tensor([i])))
                                            for i in range(12)) / 12, rel=1e-6)


# ----------------------------------------------------------------------------- the edge target (canny.m)

def canny_m(img: np.ndarray) -> np.ndarray:
    """scripts/canny.m, transcribed statement by statement (1-based loops made 0-based) for HxWx3 uint8 images."""
    rgb = img.astype(np.float64)
    grey = np.floor(0.298936021293775 * rgb[..., 0] + 0.587043074451121 * rgb[..., 1]
                    + 0.114020904255103 * rgb[..., 2] + 0.5)  # rgb2gray of uint8 (rounded), then double

    def conv2_same(x, k):
        kh, kw = len(k), len(k[0])
        out = np.zeros_like(x)
        for i in range(x.shape[0]):
            for j in range(x.shape[1]):
                acc = 0.0
                for a in range(kh):
                    for b in range(kw):
                        kv = k[kh - 1 - a][kw - 1 - b]
                        p, q = i + a - kh // 2, j + b - kw // 2
                        if kv and 0 <= p < x.shape[0] and 0 <= q < x.shape[1]:
                            acc = acc + kv * x[p, q]
                out[i, j] = acc
        return out

    B = [[v * (1 / 159.0) for v in row] for row in
         [[2, 4, 5, 4, 2], [4, 9, 12, 9, 4], [5, 12, 15, 12, 5], [4, 9, 12, 9, 4], [2, 4, 5, 4, 2]]]
    A = conv2_same(grey, B)
    fx = conv2_same(A, [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    fy = conv2_same(A, [[1, 2, 1], [0, 0, 0], [-1, -2, -1]])
    arah = np.rad2deg(np.arctan2(fy, fx))
    pan, leb = A.shape
    for i in range(pan):
        for j in range(leb):
            if arah[i, j] < 0:
                arah[i, j] = 360 + arah[i, j]
    arah2 = np.zeros((pan, leb))
    for i in range(pan):
        for j in range(leb):
            a = arah[i, j]
            if (0 <= a < 22.5) or (157.5 <= a < 202.5) or (337.5 <= a <= 360):
                arah2[i, j] = 0
            elif (22.5 <= a < 67.5) or (202.5 <= a < 247.5):
                arah2[i, j] = 45
            elif (67.5 <= a < 112.5) or (247.5 <= a < 292.5):
                arah2[i, j] = 90
            elif (112.5 <= a < 157.5) or (292.5 <= a < 337.5):
                arah2[i, j] = 135
    mag = np.sqrt(fx ** 2 + fy ** 2)
    BW = np.zeros((pan, leb))
    for i in range(1, pan - 1):
        for j in range(1, leb - 1):
            d = arah2[i, j]
            nbrs = {0: [(i, j + 1), (i, j - 1)], 45: [(i + 1, j - 1), (i - 1, j + 1)], 90: [(i + 1, j), (i - 1, j)],
                    135: [(i + 1, j + 1), (i - 1, j - 1)]}[d]
            BW[i, j] = mag[i, j] == max([mag[i, j]] + [mag[p] for p in nbrs])
    BW = BW * mag
    lo, hi = 0.075 * BW.max(), 0.175 * BW.max()
    res = np.zeros((pan, leb))
    for i in range(pan):
        for j in range(leb):
            if BW[i, j] < lo:
                res[i, j] = 0
            elif BW[i, j] > hi:
                res[i, j] = 1
            elif any(BW[i + di, j + dj] > hi for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj):
                res[i, j] = 1
    return res


SQUARE_EDGES = """
000000000000
000000000000
000000000000
000000000000
000011110000
000010010000
000010010000
000011110000
000000000000
000000000000
000000000000
000000000000"""


def test_canny_on_a_hand_made_map():
    img = torch.zeros(1, 3, 12, 12, dtype=torch.uint8)
    img[:, :, 4:8, 4:8] = 255  # a white 4x4 square on black (far from the zero-padded border)
    want = torch.tensor([[int(c) for c in row] for row in SQUARE_EDGES.split()], dtype=torch.float32)
    got = canny_edges(img)
    assert got.shape == (1, 1, 12, 12) and torch.equal(got[0, 0], want)
    assert np.array_equal(canny_m(img[0].permute(1, 2, 0).numpy()), want.numpy())
    t = edge_target(img)
    assert t.shape == (1, 3, 12, 12) and set(t.unique().tolist()) == {-1.0, 1.0} and torch.equal(t[:, 0], t[:, 2])
    assert not canny_edges(torch.full((1, 3, 6, 6), 77, dtype=torch.uint8)).any()  # flat: no edges


def test_canny_matches_the_script_transcription():
    g = torch.Generator().manual_seed(3)
    blobs = torch.zeros(1, 3, 14, 16)
    yy, xx = torch.meshgrid(torch.arange(14.0), torch.arange(16.0), indexing="ij")
    blobs[0] = 255 * torch.stack([((yy - 6) ** 2 + (xx - 7) ** 2 < 20).float(), (xx > 9).float(), (yy / 14)])
    noise = torch.randint(0, 256, (2, 3, 10, 12), generator=g, dtype=torch.uint8)
    cases = [noise[0:1], noise[1:2], blobs.round().to(torch.uint8)]
    for img in cases:
        want = canny_m(img[0].permute(1, 2, 0).numpy())
        assert np.array_equal(canny_edges(img)[0, 0].numpy(), want)
    batch = torch.cat([cases[0], cases[1]])
    assert torch.equal(canny_edges(batch), torch.cat([canny_edges(cases[0]), canny_edges(cases[1])]))


# ----------------------------------------------------------------------------- the similarity loss

def test_similarity_loss_uses_the_frozen_segmenter():
    from bench.data.synthetic import make_sample

    m = tiny_model(streets((64, 64)))
    rng = torch.get_rng_state()
    seg = m.segmenter()  # built on first use, inside a training step: the step's random draws stay the same
    assert torch.equal(torch.get_rng_state(), rng)
    assert seg is not None and m.similarity_status().startswith("enabled: embedded-synthetic-streets")
    image, lab, _ = make_sample(0, "val", 0, (64, 64))  # a val photo and its label map, generated
    label = torch.from_numpy(lab.astype(np.int64))[None, None]
    real = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1
    noise = (torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0)) * 2 - 1).requires_grad_(True)
    assert float(seg.loss(real, label)) < 0.5 * float(seg.loss(noise, label).detach())
    seg.loss(noise, label).backward()
    assert noise.grad is not None and bool(noise.grad.abs().sum() > 0)
    assert all(p.grad is None and not p.requires_grad for p in seg.seg.net.parameters())
    assert not any("seg" in k for k in m.state_dict())  # frozen and outside every checkpoint


def test_similarity_loss_without_a_segmenter_is_off_with_a_warning():
    m = tiny_model(seg_net=None)
    b = tiny_batch()
    opts = m.optimizers()
    with pytest.warns(UserWarning, match="similarity loss disabled"):
        logs = m.train_step(b, opts, StepContext(torch.device("cpu"), False, {}))
    assert "G_Sim" not in logs and "G_Contrast" in logs and m.similarity_status().startswith("disabled")


# ----------------------------------------------------------------------------- the authors' generator keys

CASES = {
    "ecgan_cityscapes_G": DatasetInfo("cityscapes", 35, (256, 512), True, 255),
    "ecgan_ade20k_G": DatasetInfo("ade20k", 151, (256, 256), False, 255),
    "ecgan_coco_G": DatasetInfo("coco-stuff", 183, (256, 256), True, 255),
}


def test_every_fixture_has_a_case():
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_official_keys_load_strictly(name):
    info = CASES[name]
    fixture = json.loads((FIXTURES / f"{name}.json").read_text())
    assert "Ha0Tang/ECGAN" in fixture["source"]
    state = {k: torch.empty(shape, device="meta") for k, shape in fixture["keys"].items()}
    with torch.device("meta"):
        model = ECGANModel(get_config("ecgan", "paper", info), info)
    mapped = normalize_release(model.G, official_to_ours(state))
    assert set(mapped) == set(model.G.state_dict())
    strict_load(model.G, mapped, name, model.input_keys())


# ----------------------------------------------------------------------------- determinism

def test_training_and_generation_are_deterministic():
    b = tiny_batch()
    states, logs = [], []
    for _ in range(2):
        m = tiny_model()
        opts = m.optimizers()
        ctx = StepContext(torch.device("cpu"), False, {})
        m.train()
        run = []
        for step in range(2):
            torch.manual_seed(100 + step)  # as the trainer: the global RNG re-seeded before each step
            run.append(m.train_step(b, opts, ctx))
        states.append(m.state_dict())
        logs.append(run)
    assert logs[0] == logs[1]
    assert {"G_GAN", "G_Feat", "G_L1", "G_Sim", "G_Contrast", "D_fake", "D_real"} <= set(logs[0][0])
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    gen = ECGAN(streets(), config="mini")
    x1 = gen.generate(b, seeds=[1, 2])
    x2 = gen.generate(b, seeds=[3, 4])
    assert torch.equal(x1, x2) and not gen.multimodal and gen.needs_instance


def test_configs():
    for ds, name, res in (("cityscapes", "paper-cityscapes", (256, 512)), ("ade20k", "paper-ade20k", (256, 256)),
                          ("coco-stuff", "paper-coco-stuff", (256, 256)), ("facades", "paper", None)):
        cfg = get_config("ecgan", "paper", type("I", (), {"name": ds})())
        assert cfg.name == name and (tuple(cfg.native_resolution) if cfg.native_resolution else None) == res
        assert cfg.lambda_l1 == 0 and cfg.lambda_vgg == 10 and cfg.lambda_feat == 10 and cfg.branch_weights == (1, 1, 2)
        assert (cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.beta2, cfg.gan_mode) == (1e-4, 4e-4, 0.0, 0.9, "hinge")
    mini = get_config("ecgan", "mini")
    assert mini.batch_size == 8 and mini.seg_net == "embedded-synthetic-streets" and mini.lambda_l1 > 0



def test_training_record_says_whether_the_similarity_loss_ran(tmp_path, train_ds):
    import warnings

    from conftest import Subset, info_for

    from reference_models.trainer import Trainer

    for seg_net, expect in (("embedded-synthetic-streets", "enabled: embedded-synthetic-streets"),
                            (None, "disabled: no segmenter configured")):
        gen = ECGAN(info_for(train_ds), config="mini")
        gen.cfg = gen.cfg.replace(sample_every=0, batch_size=2, **TINY, seg_net=seg_net)
        gen.model = gen.build(gen.cfg, gen.info)  # the tiny widths
        out = tmp_path / str(seg_net)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the VGG / similarity warnings are once per process
            gen.checkpoint = Trainer(gen, Subset(train_ds, 4), out_dir=out, seed=1, steps=1, progress=False).run()
        rec = json.loads((out / "train.json").read_text())
        assert rec["similarity_loss"].startswith(expect), rec["similarity_loss"]
        assert gen.provenance()["training"]["similarity_loss"] == rec["similarity_loss"]  # the run record's block
        # and the CPU kernels the weights were computed with (bit-reproducible only on the same capability)
        assert rec["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
        assert gen.provenance()["training"]["cpu_capability"] == rec["cpu_capability"]
