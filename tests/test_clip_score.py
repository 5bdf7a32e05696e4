"""The CLIP score (text track) against OpenAI's own CLIP code on the same random weights: tokenizer, text tower and
the score through the evaluator. The archive is built as tests/test_clip_features.py builds its own (OpenAI's
``clip.model.CLIP``, randomised, saved as TorchScript as the release is), with the real vocabulary size and context
(49,408 tokens, 77) so that OpenAI's tokenizer output is valid input."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from bench import weights
from bench.evaluate import EvalOptions, evaluate_folders
from bench.fileio import sha256_file
from test_clip_features import _import_openai_clip, _randomize

TEXT_CLIP = dict(embed_dim=512, image_resolution=224, vision_layers=1, vision_width=128, vision_patch_size=32,
                 context_length=77, vocab_size=49408, transformer_width=128, transformer_heads=2, transformer_layers=2)
CAPTIONS = ["a red car and one person on a street", "this bird has a yellow belly and black wings",
            "a flower with many pink petals, " * 20]  # the last one is longer than 77 tokens: truncated


@pytest.fixture(scope="module")
def text_clip(tmp_path_factory):
    clip = _import_openai_clip()
    model = clip.model.CLIP(**TEXT_CLIP).eval()
    _randomize(model, seed=3)
    g = torch.Generator().manual_seed(1)
    example = (torch.randn(1, 3, 224, 224, generator=g), torch.randint(0, 49408, (1, 77), generator=g))
    path = tmp_path_factory.mktemp("clip-text") / weights.CLIP_VIT_B32.filename
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.trace(model, example, check_trace=False), str(path))
    return clip, model, path


def test_tokenizer_is_openai_clip_tokenize():
    from bench.clip_text import tokenize

    clip = _import_openai_clip()
    assert torch.equal(tokenize(CAPTIONS), clip.tokenize(CAPTIONS, truncate=True).long())


def test_text_tower_equals_openai_encode_text(text_clip, monkeypatch):
    from bench.clip_text import ClipTextEncoder

    clip, model, path = text_clip
    monkeypatch.setitem(weights.REGISTRY, weights.CLIP_VIT_B32.name,
                        dataclasses.replace(weights.CLIP_VIT_B32, sha256=sha256_file(path)))
    ours = ClipTextEncoder("cpu", str(path))(CAPTIONS)
    with torch.no_grad():
        theirs = model.float().encode_text(clip.tokenize(CAPTIONS, truncate=True)).float()
    assert ours.shape == (3, 512)
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-5), (ours - theirs).abs().max()


def test_clip_score_through_the_evaluator_is_the_direct_value(text_clip, tmp_path, monkeypatch):
    clip, model, path = text_clip
    monkeypatch.setitem(weights.REGISTRY, weights.CLIP_VIT_B32.name,
                        dataclasses.replace(weights.CLIP_VIT_B32, sha256=sha256_file(path)))
    rng = np.random.default_rng(0)
    real, fake = tmp_path / "real", tmp_path / "fake"
    real.mkdir(), fake.mkdir()
    captions = {}
    for i in range(5):
        img = np.asarray(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).resize((64, 64), Image.BICUBIC))
        Image.fromarray(img).save(real / f"{i:04d}.png")
        Image.fromarray(img).save(fake / f"{i:04d}.png")
        captions[f"{i:04d}"] = CAPTIONS[i % 3] + f" number {i}"
    values = []
    for bs in (2, 5):
        opts = EvalOptions(metrics=["clip_score"], captions=captions, clip_weights=str(path), batch_size=bs,
                           cache=False, progress=False)
        values.append(evaluate_folders(real, fake, None, opts)["metrics"]["clip_score"])
    # OpenAI's path: its preprocess (PIL bicubic resize of the shorter side, centre crop, x / 255, normalise)
    from torchvision import transforms

    prep = transforms.Compose([transforms.Resize(224, interpolation=transforms.InterpolationMode.BICUBIC),
                               transforms.CenterCrop(224), transforms.ToTensor(),
                               transforms.Normalize((0.48145466, 0.4578275, 0.40821073),
                                                    (0.26862954, 0.26130258, 0.27577711))])
    keys = sorted(captions)
    with torch.no_grad():
        img = model.float().encode_image(torch.stack([prep(Image.open(fake / f"{k}.png").convert("RGB")) for k in keys]))
        txt = model.float().encode_text(clip.tokenize([captions[k] for k in keys], truncate=True))
    cos = torch.nn.functional.cosine_similarity(img.double(), txt.double(), dim=1)
    want = float((100 * cos.clamp_min(0)).mean())
    # float32 networks: a batch of 2 and one of 5 round differently in the last bits (2e-7 seen)
    assert values[0] == pytest.approx(values[1], abs=1e-5)
    assert values[0] == pytest.approx(want, abs=1e-3)


def test_clip_score_without_weights_is_unavailable_naming_the_file(tmp_path):
    from conftest import smooth_images, write_folder

    real = write_folder(tmp_path / "real", smooth_images(3, size=32, seed=0))
    opts = EvalOptions(captions={"0000": "a", "0001": "b", "0002": "c"}, candidates=("clip_score",), cache=False,
                       progress=False, clip_weights=str(tmp_path / "absent.pt"))
    rec = evaluate_folders(real, real, None, opts)
    assert "clip_score" not in rec["metrics"] and "absent.pt" in rec["unavailable"]["clip_score"]
