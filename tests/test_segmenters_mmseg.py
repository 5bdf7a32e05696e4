"""The mmsegmentation backend. Runs in the ``mmseg`` tox env (``tox -e mmseg``); in the default env, where the
extra is not installed, only the "not installed" message is tested."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from bench.errors import BenchError
from bench.segmenters import get_segmenter

HAS_MMSEG = importlib.util.find_spec("mmseg") is not None
CONFIG = "mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py"


@pytest.mark.skipif(HAS_MMSEG, reason="mmseg is installed")
def test_clear_message_when_the_extra_is_missing():
    with pytest.raises(BenchError, match=r"pip install 'cgan-bench\[mmseg\]'"):
        get_segmenter("mmseg", config=CONFIG)


needs_mmseg = pytest.mark.skipif(not HAS_MMSEG, reason="needs the mmseg extra (tox -e mmseg)")


@needs_mmseg
@pytest.mark.filterwarnings("ignore")
def test_config_builds_on_cpu_with_random_weights_and_scores_a_batch():
    from bench.metrics.miou import confusion_matrix, scores_from_confusion

    torch.manual_seed(0)
    seg = get_segmenter("mmseg", config=CONFIG, checkpoint=None)
    assert seg.num_classes == 150 and seg.weights_sha256 is None
    p = seg.protocol
    assert p.name == "mmseg:segformer_mit-b0_8xb2-160k_ade20k-512x512"
    assert p.channel_order == "RGB" and p.mean == pytest.approx((123.675, 116.28, 103.53))  # bgr_to_rgb=True
    images = torch.randint(0, 256, (2, 3, 64, 96), dtype=torch.uint8)
    pred = seg(images)
    assert pred.shape == (2, 64, 96) and pred.dtype == torch.int64
    assert 0 <= int(pred.min()) and int(pred.max()) < 150
    labels = np.random.default_rng(0).integers(0, 150, (2, 64, 96))
    cm = confusion_matrix(pred.numpy(), labels, 150, 255)
    assert cm.sum() == 2 * 64 * 96
    assert 0.0 <= scores_from_confusion(cm)["pixel_acc"] <= 1.0
    # batch size does not change predictions
    seg.batch_size = 1
    assert torch.equal(seg(images), pred)


@needs_mmseg
@pytest.mark.filterwarnings("ignore")
def test_checkpoint_is_loaded_and_hashed(tmp_path):
    seg = get_segmenter("mmseg", config=CONFIG)
    ckpt = tmp_path / "ckpt.pth"
    torch.save({"state_dict": seg.net.state_dict(), "meta": {}}, ckpt)
    again = get_segmenter("mmseg", config=CONFIG, checkpoint=str(ckpt))
    assert again.weights_sha256 is not None and len(again.weights_sha256) == 64
    images = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(again(images), seg(images))
    with pytest.raises(BenchError, match="does not exist"):
        get_segmenter("mmseg", config=CONFIG, checkpoint=str(tmp_path / "missing.pth"))


@needs_mmseg
@pytest.mark.filterwarnings("ignore")
def test_clear_message_when_compiled_ops_are_missing():
    from bench.segmenters.mmseg_backend import compiled_ops_available

    if compiled_ops_available():
        pytest.skip("full mmcv with compiled ops is installed")
    with pytest.raises(BenchError, match="compiled ops are missing"):
        get_segmenter("mmseg", config=CONFIG, ops="require")
    # a config that needs a compiled op (PSAMask) fails naming the op and the fix
    with pytest.raises(BenchError, match=r"PSAMask.*compiled ops are missing.*mmcv==2\.1\.0"):
        seg = get_segmenter("mmseg", config="mmseg::psanet/psanet_r50-d8_4xb2-40k_cityscapes-512x1024.py")
        seg(torch.zeros(1, 3, 64, 64, dtype=torch.uint8))
