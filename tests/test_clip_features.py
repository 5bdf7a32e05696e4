"""FD_CLIP / KID_CLIP against clean-fid's ``model_name="clip_vit_b_32"`` path, run for real on the same weights.

OpenAI's ViT-B-32.pt is not here (and is 350 MB), so both sides load a small random CLIP of OpenAI's own class
(``clip.model.CLIP``), saved as a TorchScript archive as OpenAI's release is. Their side is clean-fid's code
unchanged, with OpenAI's ``clip.load`` run unchanged too: only its download step (``clip.clip._download``) is
replaced by the path of that archive, so ``clip.load`` itself reads it, rebuilds it with ``build_model`` and
``.float()``s it on CPU. Our side reads the same archive through the weight resolver and ``torch.jit.load``.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench import weights
from bench.errors import BenchError
from bench.evaluate import EvalOptions, evaluate_folders
from bench.features_clip import ClipFeatures, clip_preprocess, visual_from_state_dict
from bench.fileio import sha256_file
from conftest import perturb, smooth_images, write_folder

CPU = torch.device("cpu")
# width 128 = two attention heads of 64 (OpenAI's ViT takes heads = width // 64), so a wrong head split would show;
# the text tower is required by OpenAI's build_model (width 64: its heads = width // 64 must be >= 1)
TINY = dict(embed_dim=512, image_resolution=224, vision_layers=2, vision_width=128, vision_patch_size=32,
            context_length=8, vocab_size=50, transformer_width=64, transformer_heads=1, transformer_layers=1)
# (width, height): non-square both ways, smaller and larger than 224, 224 itself, odd sizes
SIZES = [(64, 48), (48, 80), (224, 224), (300, 200), (100, 333), (37, 61), (500, 260), (225, 224)]


def _import_openai_clip():
    """``import clip`` (openai-clip 1.0.1) with a stand-in ``pkg_resources``.

    clip/clip.py does ``from pkg_resources import packaging`` only to compare torch's version, and the installed
    setuptools no longer ships pkg_resources, so the import fails. A minimal module exposing the installed
    ``packaging`` (with ``packaging.version`` loaded) is registered for the import and removed afterwards (the same
    kind of shim as ../shared/OFFLINE.md describes for basicsr's ``torchvision.transforms.functional_tensor``).
    """
    import packaging
    import packaging.version  # noqa: F401 - clip.py reads packaging.version

    with pytest.MonkeyPatch.context() as mp:
        if importlib.util.find_spec("pkg_resources") is None:
            shim = types.ModuleType("pkg_resources")
            shim.packaging = packaging
            mp.setitem(sys.modules, "pkg_resources", shim)
        import clip
        import cleanfid.clip_features  # noqa: F401 - imports clip too: done while the shim is there
    return clip


def _randomize(model: torch.nn.Module, seed: int) -> None:
    """Every parameter non-trivial (OpenAI's init leaves LayerNorms at 1/0 and attention biases at 0), then rounded
    to float16 values, as OpenAI's release holds its weights."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(("ln_pre.weight", "ln_post.weight", "ln_1.weight", "ln_2.weight", "ln_final.weight")):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() >= 2 and "embedding" not in name:
                p.copy_(torch.randn(p.shape, generator=g) / p[0].numel() ** 0.5)
            else:  # biases, class and position embeddings, logit scale
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            p.copy_(p.half().float())


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    """(clip module, TorchScript archive named as OpenAI's file, its state dict, its sha256)."""
    clip = _import_openai_clip()
    model = clip.model.CLIP(**TINY).eval()
    _randomize(model, seed=0)
    g = torch.Generator().manual_seed(1)
    example = (torch.randn(1, 3, 224, 224, generator=g), torch.randint(0, TINY["vocab_size"], (1, 8), generator=g))
    path = tmp_path_factory.mktemp("clip-weights") / weights.CLIP_VIT_B32.filename
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notices, the tracer's notes on shape checks
        torch.jit.save(torch.jit.trace(model, example, check_trace=False), str(path))
    return clip, path, model.state_dict(), sha256_file(path)


@pytest.fixture
def openai_load_reads(monkeypatch, tiny_clip):
    """OpenAI's ``clip.load`` unchanged but for its download, which returns our archive."""
    clip, path, _, _ = tiny_clip
    asked = []

    def download(url: str, root: str) -> str:
        asked.append(url)
        return str(path)

    monkeypatch.setattr(clip.clip, "_download", download)
    return asked


def _cleanfid_clip_fx():
    from cleanfid.clip_features import CLIP_fx

    return CLIP_fx("ViT-B/32", device=CPU)


def _cleanfid_folder_features(folder: Path, fx) -> np.ndarray:
    from cleanfid.clip_features import img_preprocess_clip
    from cleanfid.fid import get_folder_features

    return get_folder_features(str(folder), fx, num_workers=0, batch_size=4, device=CPU, mode="clean",
                               custom_fn_resize=img_preprocess_clip, verbose=False)


def _images(sizes, seed: int) -> list[np.ndarray]:
    """Smooth random images (bicubic-upsampled 6x6 noise) plus pixel noise, so that resampling details matter."""
    rng = np.random.default_rng(seed)
    out = []
    for w, h in sizes:
        base = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((w, h), Image.BICUBIC)
        noisy = np.asarray(base).astype(np.int64) + rng.integers(-20, 21, (h, w, 3))
        out.append(np.clip(noisy, 0, 255).astype(np.uint8))
    return out


def _exact_fd(feats1: np.ndarray, feats2: np.ndarray) -> float:
    """FD without a 512 x 512 matrix root: with A, B the centred rows, the non-zero eigenvalues of S1 S2 are the
    squared singular values of A B^T / sqrt((n1 - 1)(n2 - 1)), a 10 x 12 matrix here (well conditioned)."""
    a, b = feats1.astype(np.float64), feats2.astype(np.float64)
    diff = a.mean(axis=0) - b.mean(axis=0)
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    tr1, tr2 = (a * a).sum() / (len(a) - 1), (b * b).sum() / (len(b) - 1)
    tr_root = np.linalg.svd(a @ b.T, compute_uv=False).sum() / np.sqrt((len(a) - 1) * (len(b) - 1))
    return float(diff @ diff + tr1 + tr2 - 2.0 * tr_root)


def test_openai_clip_load_is_what_our_registry_names(tiny_clip):
    clip = tiny_clip[0]
    # the same file: clip.load's URL for ViT-B/32 (which clean-fid asks for) carries the sha256 we verify
    assert clip.clip._MODELS["ViT-B/32"] == weights.CLIP_VIT_B32.urls[0]
    assert weights.CLIP_VIT_B32.sha256 in weights.CLIP_VIT_B32.urls[0]


def test_preprocessing_equals_cleanfids_exactly():
    _import_openai_clip()  # cleanfid.clip_features imports clip: alone (-k), this test must not rely on another's import
    from cleanfid.clip_features import img_preprocess_clip

    for im in _images(SIZES, seed=2):
        ours, theirs = clip_preprocess(im), img_preprocess_clip(im)
        assert ours.dtype == theirs.dtype == np.uint8 and ours.shape == (224, 224, 3)
        np.testing.assert_array_equal(ours, theirs)


def test_our_build_takes_the_same_tensors_as_openais(tiny_clip):
    clip, path, state, _ = tiny_clip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        archived = torch.jit.load(str(path), map_location="cpu").state_dict()
    ours = visual_from_state_dict(archived).state_dict()
    theirs = clip.model.build_model(dict(state)).float().visual.state_dict()
    assert set(ours) == set(theirs)
    for key, value in theirs.items():
        assert ours[key].dtype == torch.float32 and torch.equal(ours[key], value), key


def test_a_float32_checkpoint_is_rounded_as_openais_load_rounds_it(tiny_clip):
    # every tensor, the output projection included (torch-fidelity's convert_weights alone leaves visual.proj in
    # float32: features then differed by ~6e-4 from clip.load's on a float32 checkpoint; found by this file's author)
    clip, _, state, _ = tiny_clip
    unrounded = {k: v + 1e-4 * torch.randn_like(v) if v.is_floating_point() else v for k, v in state.items()}
    ours = visual_from_state_dict(unrounded)
    theirs = clip.model.build_model(dict(unrounded)).float().visual
    for key, value in theirs.state_dict().items():
        assert torch.equal(ours.state_dict()[key], value), key


def test_features_match_cleanfid_clip_vit_b_32(tiny_clip, openai_load_reads, tmp_path):
    _, path, _, _ = tiny_clip
    folder = write_folder(tmp_path / "images", _images(SIZES, seed=3))
    theirs = _cleanfid_folder_features(folder, _cleanfid_clip_fx())
    assert openai_load_reads == [weights.CLIP_VIT_B32.urls[0]]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        visual = visual_from_state_dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    net = ClipFeatures(visual=visual)
    decoded = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]
    ours = net(net.preprocess(decoded)).numpy()

    assert ours.shape == theirs.shape == (len(SIZES), 512) and ours.dtype == np.float32
    scale = float(np.abs(theirs).max())
    # measured: bit-identical (max difference 0.0; features up to ~1.7); the tolerance allows another BLAS
    tol = 1e-5 * scale
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=tol)
    # the tolerance is far below what the images change, and below what a wrong normalisation changes
    assert np.abs(theirs - theirs.mean(axis=0)).max() > 1e4 * tol
    net.mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)  # ImageNet's instead of CLIP's
    net.std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)
    assert np.abs(net(net.preprocess(decoded)).numpy() - theirs).max() > 100 * tol


@pytest.mark.filterwarnings("ignore:The `disp` argument is deprecated:DeprecationWarning")  # clean-fid's sqrtm
def test_fd_and_kid_clip_match_cleanfid(tiny_clip, openai_load_reads, tmp_path, monkeypatch):
    from cleanfid.fid import compute_fid, kernel_distance

    _, path, _, digest = tiny_clip
    # our side finds the archive as it finds OpenAI's file (in $BENCH_WEIGHTS_DIR under its name, sha256-checked,
    # then torch.jit.load(...).state_dict()); the registry entry is swapped for one with this file's digest
    monkeypatch.setitem(weights.REGISTRY, weights.CLIP_VIT_B32.name,
                        dataclasses.replace(weights.CLIP_VIT_B32, sha256=digest))
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(path.parent))
    monkeypatch.setenv("BENCH_OFFLINE", "1")
    real = write_folder(tmp_path / "real", smooth_images(12, size=64, seed=5))
    fake = write_folder(tmp_path / "fake", [np.ascontiguousarray(im[:48]) for im in  # 64 wide, 48 high
                                            perturb(smooth_images(10, size=64, seed=6), seed=7, amount=30)])
    record = evaluate_folders(real, fake, opts=EvalOptions(metrics=("fd_clip", "kid_clip"), batch_size=4,
                                                           cache=False, progress=False))
    assert record["weights"]["clip-vit-b-32"]["sha256"] == digest
    assert record["weights"]["clip-vit-b-32"]["source"] == "$BENCH_WEIGHTS_DIR"
    fd, kid = record["metrics"]["fd_clip"], record["metrics"]["kid_clip"]

    ref_fd = compute_fid(str(fake), str(real), mode="clean", model_name="clip_vit_b_32", device=CPU,
                         num_workers=0, batch_size=4, verbose=False)
    assert openai_load_reads == [weights.CLIP_VIT_B32.urls[0]]
    fx = _cleanfid_clip_fx()
    feats_real, feats_fake = _cleanfid_folder_features(real, fx), _cleanfid_folder_features(fake, fx)
    exact = _exact_fd(feats_fake, feats_real)
    assert ref_fd > 1.0
    # With N (10, 12) far below the 512 dimensions both covariances are singular, and scipy's sqrtm of their product
    # (clean-fid) carries round-off of order sqrt(eps) per null eigenvalue: measured, clean-fid's value is 1.35e-6
    # (relative) below the exact FD of its own features, ours 3.3e-9 below it. So: ours vs the exact value at 1e-7,
    # and vs clean-fid's compute_fid at 1e-5 (its own error; it shrinks as N grows towards the dimension).
    assert abs(fd - exact) <= 1e-7 * exact, (fd, exact)
    assert abs(fd - ref_fd) <= 1e-5 * ref_fd, (fd, ref_fd)

    # KID: clean-fid's subsets have min(N_real, N_fake, 1000) = 10 rows, so the 10 fake rows are the whole set but
    # the real subsets are 10 of 12, drawn by np.random's global state (unseeded in clean-fid). Both draw with
    # RandomState.choice(n, m, replace=False), fake rows first (clean-fid's feats2), then real: seeding the global
    # state with our kid_seed (0) makes clean-fid draw exactly our subsets.
    state = np.random.get_state()
    try:
        np.random.seed(0)
        ref_kid32 = kernel_distance(feats_real, feats_fake)  # clean-fid's own call: float32 features, float32 sums
        np.random.seed(0)
        ref_kid64 = kernel_distance(feats_real.astype(np.float64), feats_fake.astype(np.float64))
    finally:
        np.random.set_state(state)
    scale = abs(ref_kid64)  # small N: this unbiased estimate may be negative
    assert scale > 1e-4
    # measured: ours vs float64 1e-14 relative (same features, same subsets, same sums); vs clean-fid's own float32
    # arithmetic 1.2e-7 absolute (2.5e-5 relative: KID of -0.0046 is a difference of kernel means of order 1, so
    # float32 cancellation, not a different estimator); allowed: 1e-9 relative and 1e-6 absolute
    assert abs(kid - ref_kid64) <= 1e-9 * scale, (kid, ref_kid64)
    assert abs(kid - ref_kid32) <= 1e-6, (kid, ref_kid32)


def test_without_weights_clip_metrics_are_unavailable_or_an_error(tmp_path, monkeypatch):
    from bench.metrics import registry

    monkeypatch.setenv("BENCH_OFFLINE", "1")
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path / "weights"))  # empty; BENCH_CACHE_DIR: conftest's tmp
    (tmp_path / "weights").mkdir()
    # clip.load's own cache (~/.cache/clip) is searched too: a developer's copy there must not be found
    monkeypatch.setitem(weights.FOREIGN_CACHES, "openai-clip", lambda: tmp_path / "no-clip-cache")
    real = write_folder(tmp_path / "real", smooth_images(4, size=32, seed=8))
    fake = write_folder(tmp_path / "fake", perturb(smooth_images(4, size=32, seed=8), seed=9))

    # metrics=None (the default set) drops a metric whose weights are missing instead of failing. The full default
    # set also runs Inception FID/KID/bootstrap (15-45 s on 2 shared cores), so `candidates` limits the built-ins
    # to the two under test and PSNR; fd_clip and kid_clip are in the full default set (every registered metric).
    assert {"fd_clip", "kid_clip"} <= set(registry.names())
    record = evaluate_folders(real, fake, opts=EvalOptions(candidates=("psnr", "fd_clip", "kid_clip"), cache=False,
                                                           progress=False))
    assert "psnr" in record["metrics"]
    for m in ("fd_clip", "kid_clip"):
        assert m not in record["metrics"]
        assert "ViT-B-32.pt" in record["unavailable"][m], record["unavailable"][m]
    assert "clip-vit-b-32" not in record["weights"]

    with pytest.raises(BenchError, match="ViT-B-32.pt") as err:
        evaluate_folders(real, fake, opts=EvalOptions(metrics=("fd_clip",), cache=False, progress=False))
    assert err.value.exit_code == 3
    assert "fd_clip" in str(err.value)
