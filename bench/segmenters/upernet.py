"""ADE20K protocol: UPerNet with a ResNet-101 encoder (CSAILVision/semantic-segmentation-pytorch), 150 classes.

Architecture written to match ``mit_semseg/models/models.py`` ``Resnet(resnet101())`` (deep stem conv1-conv3,
torchvision-style bottlenecks) and ``UPerNet(num_class=150, fc_dim=2048, fpn_dim=512)`` (build_decoder
'upernet') key for key; the release is two files, ``encoder_epoch_50.pth`` and ``decoder_epoch_50.pth``.

Two releases share this architecture but not their input normalisation:
  * ``upernet101-ade20k``: ``baseline-resnet101-upernet`` (2018), the model SPADE, CC-FPSE and OASIS used.
    Trained by the 2018 code: BGR, 0..255, minus the Caffe means (102.98, 115.95, 122.77), std 1.
  * ``upernet101-ade20k-2019``: ``ade20k-resnet101-upernet`` (retrained after the August 2019 change to RGB
    ImageNet mean/std on [0, 1]).
Labels: ADEChallengeData2016 stores 0 = other, 1..150 = classes; the network predicts k-1 for class k and 0 is
not evaluated (``ade20k_to_segmenter``). Protocol input: the generated 256x256 image, single scale (sizes
rounded up to a multiple of 8, as the 2018 test code's padding constant); scores resized (bilinear) to the label
map. The official evaluation averages softmax over several short-side sizes instead (``img_sizes=``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence

from bench import weights
from bench.errors import BenchError
from bench.segmenters.base import LabelMapping, Segmenter, SegmenterProtocol, combined_sha256, load_release

_ROOT = "http://sceneparsing.csail.mit.edu/model/pytorch/"
_LIC = "BSD-3-Clause (CSAILVision/semantic-segmentation-pytorch); ADE20K terms of use"

WEIGHT_FILES = {
    "upernet101-ade20k": (
        weights.register(weights.WeightFile(
            name="upernet101-ade20k-encoder", filename="encoder_epoch_50.pth", sha256="",
            urls=(_ROOT + "baseline-resnet101-upernet/encoder_epoch_50.pth",), license=_LIC,
            description="baseline-resnet101-upernet encoder (2018); sha256 not published")),
        weights.register(weights.WeightFile(
            name="upernet101-ade20k-decoder", filename="decoder_epoch_50.pth", sha256="",
            urls=(_ROOT + "baseline-resnet101-upernet/decoder_epoch_50.pth",), license=_LIC,
            description="baseline-resnet101-upernet decoder (2018); sha256 not published")),
    ),
    # Same file names as the 2018 release: put them in a separate $BENCH_WEIGHTS_DIR (or pass paths).
    "upernet101-ade20k-2019": (
        weights.register(weights.WeightFile(
            name="upernet101-ade20k-2019-encoder", filename="encoder_epoch_50.pth", sha256="",
            urls=(_ROOT + "ade20k-resnet101-upernet/encoder_epoch_50.pth",), license=_LIC,
            description="ade20k-resnet101-upernet encoder (2019); sha256 not published")),
        weights.register(weights.WeightFile(
            name="upernet101-ade20k-2019-decoder", filename="decoder_epoch_50.pth", sha256="",
            urls=(_ROOT + "ade20k-resnet101-upernet/decoder_epoch_50.pth",), license=_LIC,
            description="ade20k-resnet101-upernet decoder (2019); sha256 not published")),
    ),
}

# ADEChallengeData2016: 0 = other (not evaluated), k in 1..150 -> k - 1
ADE20K_TO_SEGMENTER: dict[int, int] = {0: 255, **{k: k - 1 for k in range(1, 151)}}
ade20k_to_segmenter = LabelMapping("ADE20K 0..150 -> 150 classes", ADE20K_TO_SEGMENTER)

_COMMON = dict(label_space="ade20k-150", num_classes=150, ignore_index=255, input_size=None, image_resize="bilinear",
               size_multiple=8, resize="prediction-to-label")
PROTOCOLS = {
    "upernet101-ade20k": SegmenterProtocol(
        name="upernet101-ade20k", channel_order="BGR", scale=1.0, mean=(102.9801, 115.9465, 122.7717),
        std=(1.0, 1.0, 1.0), weights=tuple(w.name for w in WEIGHT_FILES["upernet101-ade20k"]),
        reference="CSAILVision/semantic-segmentation-pytorch baseline-resnet101-upernet (2018 code: BGR, Caffe "
        "means); as used by SPADE (NVlabs/SPADE issue #39), CC-FPSE, OASIS", **_COMMON),
    "upernet101-ade20k-2019": SegmenterProtocol(
        name="upernet101-ade20k-2019", channel_order="RGB", scale=1.0 / 255.0, mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225), weights=tuple(w.name for w in WEIGHT_FILES["upernet101-ade20k-2019"]),
        reference="CSAILVision/semantic-segmentation-pytorch ade20k-resnet101-upernet (config "
        "ade20k-resnet101-upernet.yaml, RGB ImageNet normalisation)", **_COMMON),
}


def _sync_bn_compat() -> Any:
    """BatchNorm2d with the three extra buffers of mit_semseg's ``SynchronizedBatchNorm2d`` (training-only running
    sums, saved in the released checkpoints; unused at inference)."""
    import torch
    import torch.nn as nn

    class SynchronizedBatchNorm2d(nn.BatchNorm2d):
        def __init__(self, num_features: int):
            super().__init__(num_features)
            self.register_buffer("_tmp_running_mean", torch.zeros(num_features))
            self.register_buffer("_tmp_running_var", torch.ones(num_features))
            self.register_buffer("_running_iter", torch.ones(1))

    return SynchronizedBatchNorm2d


def build_resnet101_encoder() -> Any:
    """``mit_semseg`` ``Resnet(resnet101())``: deep stem, returns the four stage outputs."""
    import torch.nn as nn

    BatchNorm2d = _sync_bn_compat()

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, planes: int, stride: int, downsample: nn.Module | None):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
            self.bn1 = BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
            self.bn2 = BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + (x if self.downsample is None else self.downsample(x)))

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
            self.bn1 = BatchNorm2d(64)
            self.relu1 = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
            self.bn2 = BatchNorm2d(64)
            self.relu2 = nn.ReLU(inplace=True)
            self.conv3 = nn.Conv2d(64, 128, 3, padding=1, bias=False)
            self.bn3 = BatchNorm2d(128)
            self.relu3 = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            cin = 128
            for i, (planes, n, stride) in enumerate(((64, 3, 1), (128, 4, 2), (256, 23, 2), (512, 3, 2)), 1):
                down = None
                if stride != 1 or cin != planes * 4:
                    down = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride=stride, bias=False),
                                         BatchNorm2d(planes * 4))
                blocks = [Bottleneck(cin, planes, stride, down)] + [Bottleneck(planes * 4, planes, 1, None)
                                                                     for _ in range(1, n)]
                setattr(self, f"layer{i}", nn.Sequential(*blocks))
                cin = planes * 4

        def forward(self, x):
            x = self.relu1(self.bn1(self.conv1(x)))
            x = self.relu2(self.bn2(self.conv2(x)))
            x = self.maxpool(self.relu3(self.bn3(self.conv3(x))))
            feats = []
            for i in range(1, 5):
                x = getattr(self, f"layer{i}")(x)
                feats.append(x)
            return feats

    return Encoder()


def build_upernet_decoder(num_class: int = 150, fc_dim: int = 2048, fpn_dim: int = 512,
                          pool_scales: Sequence[int] = (1, 2, 3, 6),
                          fpn_inplanes: Sequence[int] = (256, 512, 1024, 2048)) -> Any:
    """``mit_semseg`` ``UPerNet``: PPM on the last stage + FPN + fusion; returns logits at stride 4."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    BatchNorm2d = _sync_bn_compat()

    def cbr(cin: int, cout: int, k: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), BatchNorm2d(cout), nn.ReLU(inplace=True)]

    class UPerNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.ppm_pooling = nn.ModuleList(nn.AdaptiveAvgPool2d(s) for s in pool_scales)
            self.ppm_conv = nn.ModuleList(nn.Sequential(*cbr(fc_dim, 512, 1)) for _ in pool_scales)
            self.ppm_last_conv = nn.Sequential(*cbr(fc_dim + len(pool_scales) * 512, fpn_dim, 3))
            self.fpn_in = nn.ModuleList(nn.Sequential(*cbr(c, fpn_dim, 1)) for c in fpn_inplanes[:-1])
            self.fpn_out = nn.ModuleList(nn.Sequential(nn.Sequential(*cbr(fpn_dim, fpn_dim, 3)))
                                         for _ in fpn_inplanes[:-1])
            self.conv_last = nn.Sequential(nn.Sequential(*cbr(len(fpn_inplanes) * fpn_dim, fpn_dim, 3)),
                                           nn.Conv2d(fpn_dim, num_class, 1))

        def forward(self, feats):
            c5 = feats[-1]
            size = c5.shape[-2:]
            ppm = [c5] + [conv(F.interpolate(pool(c5), size, mode="bilinear", align_corners=False))
                          for pool, conv in zip(self.ppm_pooling, self.ppm_conv)]
            f = self.ppm_last_conv(torch.cat(ppm, 1))
            outs = [f]
            for i in reversed(range(len(feats) - 1)):
                lat = self.fpn_in[i](feats[i])
                f = lat + F.interpolate(f, size=lat.shape[-2:], mode="bilinear", align_corners=False)
                outs.append(self.fpn_out[i](f))
            outs.reverse()
            size0 = outs[0].shape[-2:]
            fused = [outs[0]] + [F.interpolate(o, size0, mode="bilinear", align_corners=False) for o in outs[1:]]
            return self.conv_last(torch.cat(fused, 1))

    return UPerNet()


def build_upernet101(num_class: int = 150) -> Any:
    """Encoder + decoder in one module whose children are named ``encoder`` and ``decoder``."""
    import torch.nn as nn

    class EncoderDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = build_resnet101_encoder()
            self.decoder = build_upernet_decoder(num_class)

        def forward(self, x):
            return self.decoder(self.encoder(x))

    return EncoderDecoder()


class UPerNetADE20K(Segmenter):
    """``upernet101-ade20k`` (default) or ``release="upernet101-ade20k-2019"``.

    ``encoder``/``decoder``: paths of the two release files (default: the resolver). ``img_sizes``: short-side
    sizes whose softmax outputs are averaged, as the official evaluation (default: the image's own size).
    """

    def __init__(self, encoder: str | None = None, decoder: str | None = None, *,
                 release: str = "upernet101-ade20k", pretrained: bool = True, img_sizes: Sequence[int] = (),
                 device: str = "cpu", batch_size: int = 4) -> None:
        if release not in PROTOCOLS:
            raise BenchError(f"unknown UPerNet release '{release}' (known: {', '.join(PROTOCOLS)})")
        protocol = PROTOCOLS[release]
        if img_sizes:
            protocol = dataclasses.replace(protocol, test_sizes=tuple(int(x) for x in img_sizes))
        net = build_upernet101(protocol.num_classes)
        digest = paths = None
        if pretrained:
            digests, paths = [], []
            for part, wf, explicit in zip(("encoder", "decoder"), WEIGHT_FILES[release], (encoder, decoder)):
                path, d = load_release(getattr(net, part), wf.name, explicit, f"{release} {part}")
                digests.append(d)
                paths.append(path)
            digest = combined_sha256(digests)
        super().__init__(net, protocol, weights_sha256=digest, device=device, batch_size=batch_size,
                         weights_path=";".join(paths) if paths else None)

    def predict_logits(self, images: Any, out_size: tuple[int, int] | None = None) -> Any:
        if not self.protocol.test_sizes:
            return super().predict_logits(images, out_size)
        return self._multi_size(images, out_size)

    def _multi_size(self, images: Any, out_size: tuple[int, int] | None) -> Any:
        """Mean of softmax over short-side sizes (max side <= 1000), as mit_semseg eval.py; returns probabilities."""
        import torch
        import torch.nn.functional as F

        from bench.segmenters.base import _as_uint8_nchw

        images = _as_uint8_nchw(images)
        h, w = images.shape[-2:]
        size = tuple(out_size) if out_size is not None else (h, w)
        total = torch.zeros(images.shape[0], self.num_classes, *size)
        saved = self.protocol
        sizes = saved.test_sizes
        try:
            for short in sizes:
                s = min(short / min(h, w), 1000 / max(h, w))
                # the protocol is frozen: run this size under a copy with that input size
                self.protocol = dataclasses.replace(saved, input_size=(int(h * s), int(w * s)))
                logits = Segmenter.predict_logits(self, images, size)
                total += F.softmax(logits, dim=1) / len(sizes)
        finally:
            self.protocol = saved
        return total


class UPerNetADE20K2019(UPerNetADE20K):
    """``upernet101-ade20k-2019``: the re-trained ``ade20k-resnet101-upernet`` release (RGB ImageNet normalisation)."""

    def __init__(self, encoder: str | None = None, decoder: str | None = None, **options: Any) -> None:
        super().__init__(encoder, decoder, release="upernet101-ade20k-2019", **options)
