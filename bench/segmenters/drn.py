"""Cityscapes protocol: DRN-D-105 (fyu/drn) with the ``drn-d-105_ms_cityscapes.pth`` release, 19 trainIds.

Architecture written to match fyu/drn ``segment.py`` ``DRNSeg('drn_d_105', 19)`` layer for layer (state-dict keys
``base.<i>...``, ``seg``, ``up``), so the released file loads strictly. Input: RGB in [0, 1] normalised with the
Cityscapes mean/std of fyu/drn ``datasets/cityscapes/info.json``; output: class scores at the input resolution
(a fixed bilinear 16x16 transposed convolution upsamples the stride-8 logits).

Protocol (SPADE, CC-FPSE, OASIS, CLADE): the generated 256x512 image is fed as is, single scale (no ``--ms``);
the label map is nearest-downsampled to 256x512 ("label-to-prediction"); mIoU over the 19 trainIds with 255
ignored. Pixel accuracy differs by protocol: SPADE's 81.9 counts the ignored (255) pixels as errors, 93.5
(SPADE issue #100, TSIT issue #1) leaves them out; ``bench`` reports the latter (its confusion matrix drops them).
"""

from __future__ import annotations

import math
from typing import Any

from bench import weights
from bench.segmenters.base import LabelMapping, Segmenter, SegmenterProtocol, load_release

WEIGHTS = weights.register(weights.WeightFile(
    name="drn-d-105-cityscapes",
    filename="drn-d-105_ms_cityscapes.pth",
    sha256="",  # not published by fyu/drn nor SPADE: the digest of the file used is recorded with every result
    urls=(),  # a Google Drive file: not downloadable without a browser
    license="BSD-3-Clause (fyu/drn)",
    description="Google Drive folder http://go.yf.io/drn-cityscapes-models (fyu/drn README) or the file linked "
    "in NVlabs/SPADE issue #39",
))

# cityscapesScripts helpers/labels.py: labelId -> trainId (255 = not evaluated). labelId -1 (license plate)
# never appears in *_gtFine_labelIds.png.
LABELID_TO_TRAINID: dict[int, int] = {
    0: 255, 1: 255, 2: 255, 3: 255, 4: 255, 5: 255, 6: 255, 7: 0, 8: 1, 9: 255, 10: 255, 11: 2, 12: 3, 13: 4,
    14: 255, 15: 255, 16: 255, 17: 5, 18: 255, 19: 6, 20: 7, 21: 8, 22: 9, 23: 10, 24: 11, 25: 12, 26: 13, 27: 14,
    28: 15, 29: 255, 30: 255, 31: 16, 32: 17, 33: 18,
}
TRAINID_NAMES = ("road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign",
                 "vegetation", "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle",
                 "bicycle")
labelids_to_trainids = LabelMapping("cityscapes labelIds -> trainIds", LABELID_TO_TRAINID)

# fyu/drn datasets/cityscapes/info.json
CITYSCAPES_MEAN = (0.29010095242892997, 0.32808144844279574, 0.28696394422942517)
CITYSCAPES_STD = (0.1829540508368939, 0.18656561047509476, 0.18447508988480435)

PROTOCOL = SegmenterProtocol(
    name="drn-d-105-cityscapes",
    label_space="cityscapes-trainIds",
    num_classes=19,
    ignore_index=255,
    input_size=(256, 512),
    image_resize="bicubic",
    channel_order="RGB",
    scale=1.0 / 255.0,
    mean=CITYSCAPES_MEAN,
    std=CITYSCAPES_STD,
    resize="label-to-prediction",
    weights=("drn-d-105-cityscapes",),
    reference="fyu/drn segment.py DRNSeg(drn_d_105) + drn-d-105_ms_cityscapes.pth; as used by SPADE (CVPR 2019), "
    "CC-FPSE, OASIS: generated 256x512 images, single scale, labels nearest-downsampled (OASIS issue #5, CLADE #3)",
)

# drn_d_105: DRN(Bottleneck, [1, 1, 3, 4, 23, 3, 1, 1], arch='D'), channels (16, 32, 64, 128, 256, 512, 512, 512)
LAYERS = (1, 1, 3, 4, 23, 3, 1, 1)
CHANNELS = (16, 32, 64, 128, 256, 512, 512, 512)


def _nn():
    import torch.nn as nn

    return nn


def build_drn_d_105_seg(num_classes: int = 19) -> Any:
    """DRN-D-105 segmentation network with fyu/drn ``DRNSeg`` parameter names; returns an ``nn.Module``."""
    import torch
    import torch.nn as nn

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin: int, planes: int, stride: int, dilation: int, downsample: nn.Module | None):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + (self.downsample(x) if self.downsample is not None else x))

    state = {"cin": CHANNELS[0]}

    def conv_stage(cout: int, n: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        mods: list[nn.Module] = []
        for i in range(n):
            mods += [nn.Conv2d(state["cin"], cout, 3, stride=stride if i == 0 else 1, padding=dilation,
                               dilation=dilation, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            state["cin"] = cout
        return nn.Sequential(*mods)

    def res_stage(planes: int, n: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        # DRN._make_layer with new_level=False for the dilated stages: the first block already uses `dilation`
        down = None
        if stride != 1 or state["cin"] != planes * 4:
            down = nn.Sequential(nn.Conv2d(state["cin"], planes * 4, 1, stride=stride, bias=False),
                                 nn.BatchNorm2d(planes * 4))
        blocks = [Bottleneck(state["cin"], planes, stride, dilation, down)]
        state["cin"] = planes * 4
        blocks += [Bottleneck(state["cin"], planes, 1, dilation, None) for _ in range(1, n)]
        return nn.Sequential(*blocks)

    layer0 = nn.Sequential(nn.Conv2d(3, CHANNELS[0], 7, padding=3, bias=False), nn.BatchNorm2d(CHANNELS[0]),
                           nn.ReLU(inplace=True))
    base = nn.Sequential(
        layer0,
        conv_stage(CHANNELS[0], LAYERS[0]),
        conv_stage(CHANNELS[1], LAYERS[1], stride=2),
        res_stage(CHANNELS[2], LAYERS[2], stride=2),
        res_stage(CHANNELS[3], LAYERS[3], stride=2),
        res_stage(CHANNELS[4], LAYERS[4], dilation=2),
        res_stage(CHANNELS[5], LAYERS[5], dilation=4),
        conv_stage(CHANNELS[6], LAYERS[6], dilation=2),
        conv_stage(CHANNELS[7], LAYERS[7], dilation=1),
    )

    class DRNSeg(nn.Module):
        def __init__(self):
            super().__init__()
            self.base = base
            self.seg = nn.Conv2d(CHANNELS[-1], num_classes, 1, bias=True)
            # fixed bilinear x8 upsampling (a parameter in the released state dict, never trained)
            self.up = nn.ConvTranspose2d(num_classes, num_classes, 16, stride=8, padding=4, groups=num_classes,
                                         bias=False)
            self.up.weight.requires_grad_(False)
            with torch.no_grad():
                self.up.weight.copy_(bilinear_kernel(16).expand(num_classes, 1, 16, 16))

        def forward(self, x):
            return self.up(self.seg(self.base(x)))

    return DRNSeg()


def bilinear_kernel(size: int) -> Any:
    """[size, size] bilinear interpolation kernel (the initial value of DRNSeg's ``up`` weight)."""
    import torch

    f = math.ceil(size / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    r = 1 - (torch.arange(size, dtype=torch.float64) / f - c).abs()
    return (r[:, None] * r[None, :]).float()


class DRNCityscapes(Segmenter):
    """``drn-d-105-cityscapes``. ``weights``: path of ``drn-d-105_ms_cityscapes.pth`` (default: the resolver);
    ``pretrained=False`` gives random weights (tests only)."""

    def __init__(self, weights: str | None = None, *, pretrained: bool = True, device: str = "cpu",
                 batch_size: int = 4) -> None:
        net = build_drn_d_105_seg(PROTOCOL.num_classes)
        path, digest = load_release(net, WEIGHTS.name, weights, PROTOCOL.name) if pretrained else (None, None)
        super().__init__(net, PROTOCOL, weights_sha256=digest, device=device, batch_size=batch_size,
                         weights_path=path)
