"""LPIPS and IS through `evaluate_folders`, with stand-in weight files registered under their sha256.

The real backbone / logits weights are downloads (unavailable offline); the pipeline is checked with random
weights against a direct call of the peer library on the same weights and images.
"""

import dataclasses

import lpips
import numpy as np
import pytest
import torch
import torchvision

from bench import weights
from bench.fileio import sha256_file
from bench.evaluate import EvalOptions, evaluate_folders
from bench.metrics.lpips import load_backbone, lpips_distance


def _register_file(monkeypatch, tmp_path, name, state):
    wf = weights.REGISTRY[name]
    folder = tmp_path / "weights"
    folder.mkdir(exist_ok=True)
    torch.save(state, folder / wf.filename)
    monkeypatch.setitem(weights.REGISTRY, name, dataclasses.replace(wf, sha256=sha256_file(folder / wf.filename)))
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(folder))
    return folder / wf.filename


def _load(folder):
    from PIL import Image

    files = sorted(folder.glob("*.png"))
    return torch.from_numpy(np.stack([np.asarray(Image.open(f)) for f in files])).permute(0, 3, 1, 2)


def test_lpips_equals_a_direct_lpips_call(folders, tmp_path, monkeypatch):
    real, fake = folders
    torch.manual_seed(0)
    alex = torchvision.models.alexnet(weights=None).state_dict()
    _register_file(monkeypatch, tmp_path, "torchvision-alexnet", alex)
    rec = evaluate_folders(real, fake, opts=EvalOptions(metrics=("lpips",), progress=False))
    direct = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    for i, slc in enumerate([direct.net.slice1, direct.net.slice2, direct.net.slice3, direct.net.slice4, direct.net.slice5]):
        for name, module in slc.named_children():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data.copy_(alex[f"features.{name}.weight"])
                module.bias.data.copy_(alex[f"features.{name}.bias"])
    with torch.no_grad():
        ref = direct(_load(fake).float() / 127.5 - 1, _load(real).float() / 127.5 - 1).mean().item()
    assert rec["metrics"]["lpips"] == pytest.approx(ref, rel=1e-6)
    assert rec["weights"]["torchvision-alexnet"]["sha256"] == weights.REGISTRY["torchvision-alexnet"].sha256
    assert rec["protocol"]["lpips_backbone_sha256"] == weights.ALEXNET.sha256  # the registry's, not the stand-in's


def test_load_backbone_refuses_a_state_dict_missing_keys():
    from bench.errors import BenchError

    model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
    sd = torchvision.models.alexnet(weights=None).state_dict()
    del sd["features.3.weight"]
    with pytest.raises(BenchError, match="features.3.weight"):
        load_backbone(model, sd)


def test_lpips_distance_of_identical_images_is_zero():
    model = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    x = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    assert lpips_distance(model, x, x).abs().max() < 1e-7


@pytest.fixture
def fidelity_state(monkeypatch):
    """A random state dict with torch-fidelity's Inception keys (its constructor would download otherwise)."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    with monkeypatch.context() as m:
        m.setattr(fe, "load_state_dict_from_url", lambda *a, **k: {})
        m.setattr(fe.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, *a, **k: None)
        torch.manual_seed(0)
        model = fe.FeatureExtractorInceptionV3("inception-v3-compat", ["logits_unbiased"])
    state = {k: v.clone() for k, v in model.state_dict().items()}
    state["fc.weight"].normal_(0, 0.5)
    return state


def test_inception_score_equals_torch_fidelity_on_the_same_weights(folders, tmp_path, monkeypatch, fidelity_state):
    import torch_fidelity

    real, fake = folders
    path = _register_file(monkeypatch, tmp_path, "inception-v3-2015-12-05-logits", fidelity_state)
    rec = evaluate_folders(real, fake, opts=EvalOptions(metrics=("is",), progress=False))
    ref = torch_fidelity.calculate_metrics(input1=str(fake), isc=True, cuda=False, verbose=False,
                                           feature_extractor_weights_path=str(path), save_cpu_ram=True)
    assert rec["metrics"]["is"] == pytest.approx(ref["inception_score_mean"], rel=1e-6)
    assert rec["metrics"]["is"] > 1.0
    # which metrics a machine can compute does not change the protocol fingerprint
    monkeypatch.delenv("BENCH_WEIGHTS_DIR")
    without_is = evaluate_folders(real, fake, opts=EvalOptions(progress=False))
    assert "is" in without_is["unavailable"] and without_is["fingerprint"] == rec["fingerprint"]


def test_missing_is_weights_are_reported_not_fatal_unless_asked_for(folders, tmp_path):
    from bench.cli import main

    real, fake = folders
    rec = evaluate_folders(real, fake, opts=EvalOptions(progress=False, kid_subset_size=5))
    assert "weights-inception-2015-12-05-6726825d.pth" in rec["unavailable"]["is"]
    assert "is" not in rec["metrics"] and "fid" in rec["metrics"]
    out = tmp_path / "r.json"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fid,is", "--out", str(out)]) == 3
    assert not out.exists()


def test_lpips_diversity_equals_direct_lpips_over_all_pairs(tmp_path, monkeypatch):
    from conftest import perturb, smooth_images, write_folder

    torch.manual_seed(1)
    alex = torchvision.models.alexnet(weights=None).state_dict()
    _register_file(monkeypatch, tmp_path, "torchvision-alexnet", alex)
    reals = smooth_images(2, seed=50)
    write_folder(tmp_path / "real", reals)
    samples = {c: perturb([reals[c]] * 3, seed=60 + c, amount=60) for c in range(2)}
    for c in range(2):
        write_folder(tmp_path / "fake", samples[c], [f"{c:04d}/{i}.png" for i in range(3)])
    rec = evaluate_folders(tmp_path / "real", tmp_path / "fake",
                           opts=EvalOptions(metrics=("lpips_diversity",), diversity_pairs=100, progress=False))
    direct = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    load_backbone(direct, alex)
    to = lambda im: torch.from_numpy(im).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731
    with torch.no_grad():
        ref = np.mean([direct(to(samples[c][i]), to(samples[c][j])).item()
                       for c in range(2) for i, j in [(0, 1), (0, 2), (1, 2)]])
    assert rec["metrics"]["lpips_diversity"] == pytest.approx(ref, rel=1e-6)


def test_munit_pairing_equals_direct_lpips_over_consecutive_sample_pairs(tmp_path, monkeypatch):
    """--diversity-protocol munit (BicycleGAN / MUNIT): LPIPS over the pairs (0, 1), (2, 3), ... of each condition's
    samples, numbered numerically (10.png follows 9.png), against a direct lpips computation; a condition with fewer
    samples than the pairs need is refused, not scored on fewer pairs."""
    from conftest import perturb, smooth_images, write_folder

    from bench.errors import BenchError

    torch.manual_seed(2)
    alex = torchvision.models.alexnet(weights=None).state_dict()
    _register_file(monkeypatch, tmp_path, "torchvision-alexnet", alex)
    reals = smooth_images(2, seed=70)
    write_folder(tmp_path / "real", reals)
    k = 12  # 6 disjoint pairs; with 12 files, lexicographic order (0, 1, 10, 11, 2, ...) would pair other samples
    samples = {c: perturb([reals[c]] * k, seed=80 + c, amount=60) for c in range(2)}
    for c in range(2):
        write_folder(tmp_path / "fake", samples[c], [f"{c:04d}/{i}.png" for i in range(k)])
    direct = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    load_backbone(direct, alex)
    to = lambda im: torch.from_numpy(im).permute(2, 0, 1)[None].float() / 127.5 - 1  # noqa: E731

    def ref(pairs):
        with torch.no_grad():
            return np.mean([direct(to(samples[c][i]), to(samples[c][j])).item() for c in range(2) for i, j in pairs])

    def run(**kw):
        return evaluate_folders(tmp_path / "real", tmp_path / "fake",
                                opts=EvalOptions(metrics=("lpips_diversity",), progress=False, **kw))

    munit = run(diversity_pairing="disjoint", diversity_pairs=6)
    assert munit["metrics"]["lpips_diversity"] == pytest.approx(ref([(i, i + 1) for i in range(0, k, 2)]), rel=1e-6)
    capped = run(diversity_pairing="disjoint", diversity_pairs=2)
    assert capped["metrics"]["lpips_diversity"] == pytest.approx(ref([(0, 1), (2, 3)]), rel=1e-6)
    default = run()
    assert munit["protocol"]["diversity_pairing"] == "disjoint" and munit["protocol"]["diversity_pairs"] == 6
    # the default pairing is not written, so records made before the option keep their fingerprints
    assert "diversity_pairing" not in default["protocol"]
    assert len({munit["fingerprint"], capped["fingerprint"], default["fingerprint"]}) == 3
    with pytest.raises(BenchError, match="needs 38 samples of every condition; condition '0000' has 12 in "):
        run(diversity_pairing="disjoint", diversity_pairs=19)  # the munit protocol's 19 pairs on 12 samples
    with pytest.raises(BenchError, match="diversity pairing must be one of random, disjoint, got 'pairs'"):
        run(diversity_pairing="pairs")
