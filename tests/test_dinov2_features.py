"""DINOv2 features against the official code path (dgm-eval's preprocessing + torch hub's dinov2), which is not
installable: its outputs on a tiny model of the official class with random weights are committed in
tests/fixtures/dinov2 (PROVENANCE.md: commits, licences, the generator script). The full ViT-L/14 is checked by its
state dict's keys and shapes: our build must take every official tensor, strictly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.errors import BenchError
from bench.features_dinov2 import Dinov2Features, ViTConfig, dinov2_preprocess, official_pos_embed, vit_from_state_dict
from bench.safetensors_io import load_safetensors

FIXTURES = Path(__file__).parent / "fixtures" / "dinov2"
TINY = ViTConfig(embed_dim=32, depth=2, num_heads=4)


def _images() -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted((FIXTURES / "images").glob("*.png"))]


def _tiny() -> torch.nn.Module:
    return vit_from_state_dict(load_safetensors(FIXTURES / "tiny_official_state_dict.safetensors"), TINY)


def test_the_tiny_fixture_is_the_official_configuration_but_for_its_size():
    cfg = json.loads((FIXTURES / "tiny_config.json").read_text())["constructor_kwargs"]
    assert (cfg["embed_dim"], cfg["depth"], cfg["num_heads"]) == (TINY.embed_dim, TINY.depth, TINY.num_heads)
    full = ViTConfig()
    assert (cfg["patch_size"], cfg["interpolate_offset"], cfg["interpolate_antialias"]) == (
        full.patch_size, full.interpolate_offset, False)


def test_preprocessing_equals_dgm_evals():
    want = np.load(FIXTURES / "preprocessed_inputs.npy")
    got = np.stack([dinov2_preprocess(im) for im in _images()])
    np.testing.assert_array_equal(got, want)


def test_features_equal_the_official_code_in_float32_and_float64():
    model = _tiny()
    x = torch.from_numpy(np.load(FIXTURES / "preprocessed_inputs.npy"))
    want32 = np.load(FIXTURES / "expected_features_float32.npy")
    feats = Dinov2Features(model=model)
    got32 = feats(feats.preprocess(_images())).numpy()
    # measured: bit-identical here (float32 and float64); the tolerances allow other BLAS / attention kernels
    np.testing.assert_allclose(got32, want32, rtol=0, atol=1e-5 * np.abs(want32).max())
    # float64 separates the architecture from round-off: a wrong pos-embed resampling (size= instead of the scale
    # factor) moves these by ~3e-4, antialiasing by ~7e-4, the CLS token before the final norm by ~2 (PROVENANCE.md)
    want64 = np.load(FIXTURES / "expected_features_float64.npy")
    with torch.no_grad():
        got64 = model.double()(x.double()).numpy()
    np.testing.assert_allclose(got64, want64, rtol=0, atol=1e-8 * np.abs(want64).max())


def test_the_full_vitl14_takes_every_official_tensor_strictly():
    shapes = json.loads((FIXTURES / "vitl14_state_dict_shapes.json").read_text())
    state = {k: torch.empty(s, device="meta") for k, s in shapes}
    model = vit_from_state_dict(state)  # raises on any missing or unexpected key
    params = dict(model.named_parameters())
    assert sum(p.numel() for p in params.values()) == sum(int(np.prod(s)) for k, s in shapes if k != "mask_token") - (
        1370 - 257) * 1024  # the position embedding resampled from 37 x 37 to 16 x 16 patches
    for k, s in shapes:
        if k not in ("mask_token", "pos_embed"):
            assert tuple(params[k].shape) == tuple(s), k
    assert tuple(params["pos_embed"].shape) == (1, 257, 1024)
    missing = dict(state)
    missing.pop("blocks.23.ls2.gamma")
    with pytest.raises(BenchError, match="missing"):
        vit_from_state_dict(missing)


def test_pos_embed_resampling_keeps_the_class_token_and_a_matching_grid():
    pe = torch.randn(1, 1 + 37 * 37, 8, generator=torch.Generator().manual_seed(0))
    out = official_pos_embed(pe, 16)
    assert out.shape == (1, 257, 8)
    assert torch.equal(out[:, 0], pe[:, 0])
    assert official_pos_embed(pe, 37) is pe
    with pytest.raises(BenchError, match="square"):
        official_pos_embed(pe[:, :-1], 16)


def test_without_the_weights_the_dinov2_metrics_are_unavailable_with_the_file_named(tmp_path, monkeypatch):
    from bench.evaluate import EvalOptions, evaluate_folders
    from conftest import smooth_images, write_folder

    monkeypatch.setenv("BENCH_OFFLINE", "1")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BENCH_WEIGHTS_DIR", str(tmp_path / "weights"))
    real = write_folder(tmp_path / "real", smooth_images(6, size=32, seed=0))
    fake = write_folder(tmp_path / "fake", smooth_images(6, size=32, seed=1))
    rec = evaluate_folders(real, fake, opts=EvalOptions(metrics=None, candidates=("fid", "fd_dinov2", "kid_dinov2")))
    assert "fid" in rec["metrics"]
    for m in ("fd_dinov2", "kid_dinov2"):
        assert "dinov2_vitl14_pretrain.pth" in rec["unavailable"][m]
    with pytest.raises(BenchError) as err:
        evaluate_folders(real, fake, opts=EvalOptions(metrics=("fd_dinov2",)))
    assert err.value.exit_code == 3
