"""COCO-Stuff protocol: DeepLab-v2 ResNet-101 with multi-scale inputs (kazuto1011/deeplab-pytorch), 182 classes.

Architecture written to match ``libs/models`` ``DeepLabV2_ResNet101_MSC(n_classes=182)`` key for key (``base.``
= the MSC wrapper; MSRA bottlenecks with the stride on the 1x1 ``reduce``; dilations 2 and 4 in the last two
stages; ASPP = sum of four 3x3 convolutions with rates 6, 12, 18, 24). MSC: the image at scales 1, 0.75 and 0.5
(bilinear), scores resized to the scale-1 scores and combined by a pixel-wise max. Input: BGR on 0..255 minus
the Caffe means (B 104.008, G 116.669, R 122.675), std 1 (configs/cocostuff164k.yaml). Output stride 8; scores are
resized (bilinear) to the image.

Labels: COCO-Stuff-164k ``stuffthingmaps`` PNGs hold 0..181 (the 182 COCO thing+stuff ids minus 1; 11 thing ids are
unused) and 255 = unlabeled; the network predicts the same 182 ids; 255 is ignored (``cocostuff_to_segmenter``).
Protocol (SPADE, CC-FPSE issue #4): the generated 256x256 image is the input and the label map is resized to
256x256 with nearest neighbour. The original DeepLab evaluation (513 long side, full-resolution labels) gives
lower scores on real images (66.8 acc / 39.1 mIoU vs CC-FPSE's 70.7 / 41.6 at 256x256).
"""

from __future__ import annotations

from typing import Any

from bench import weights
from bench.segmenters.base import LabelMapping, Segmenter, SegmenterProtocol, load_release

WEIGHTS = weights.register(weights.WeightFile(
    name="deeplabv2-cocostuff164k",
    filename="deeplabv2_resnet101_msc-cocostuff164k-100000.pth",
    sha256="",  # not published by kazuto1011/deeplab-pytorch: the digest of the file used is recorded per result
    urls=("https://github.com/kazuto1011/deeplab-pytorch/releases/download/v1.0/"
          "deeplabv2_resnet101_msc-cocostuff164k-100000.pth",),
    foreign_caches=("torch-hub",),  # hubconf.py downloads it with load_state_dict_from_url
    license="MIT (kazuto1011/deeplab-pytorch); COCO-Stuff labels CC BY 4.0",
    description="kazuto1011/deeplab-pytorch v1.0 release: DeepLab-v2 ResNet-101 MSC trained on COCO-Stuff 164k",
))

# stuffthingmaps: 0..181 as is, 255 unlabeled (ignored)
COCOSTUFF_TO_SEGMENTER: dict[int, int] = {**{k: k for k in range(182)}, 255: 255}
cocostuff_to_segmenter = LabelMapping("COCO-Stuff 0..181 + 255", COCOSTUFF_TO_SEGMENTER)

PROTOCOL = SegmenterProtocol(
    name="deeplabv2-cocostuff164k",
    label_space="cocostuff-182",
    num_classes=182,
    ignore_index=255,
    input_size=None,  # the generated image as is (256x256 in SPADE's protocol)
    image_resize="bilinear",
    channel_order="BGR",
    scale=1.0,
    mean=(104.008, 116.669, 122.675),
    std=(1.0, 1.0, 1.0),
    multi_scale=(1.0, 0.75, 0.5),
    resize="label-to-prediction",
    weights=("deeplabv2-cocostuff164k",),
    reference="kazuto1011/deeplab-pytorch DeepLabV2_ResNet101_MSC + deeplabv2_resnet101_msc-cocostuff164k-100000.pth; "
    "as used by SPADE (issue #39), CC-FPSE (issue #4: 256x256 input, labels nearest-resized), OASIS",
)


def build_deeplabv2_resnet101_msc(n_classes: int = 182, rates: tuple[int, ...] = (6, 12, 18, 24),
                                  scales: tuple[float, ...] = (0.5, 0.75)) -> Any:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class ConvBnReLU(nn.Sequential):
        def __init__(self, cin: int, cout: int, k: int, stride: int, pad: int, dil: int, relu: bool = True):
            super().__init__()
            self.add_module("conv", nn.Conv2d(cin, cout, k, stride, pad, dil, bias=False))
            self.add_module("bn", nn.BatchNorm2d(cout, eps=1e-5, momentum=0.001))
            if relu:
                self.add_module("relu", nn.ReLU())

    class Bottleneck(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, dil: int, downsample: bool):
            super().__init__()
            mid = cout // 4
            self.reduce = ConvBnReLU(cin, mid, 1, stride, 0, 1)
            self.conv3x3 = ConvBnReLU(mid, mid, 3, 1, dil, dil)
            self.increase = ConvBnReLU(mid, cout, 1, 1, 0, 1, relu=False)
            self.shortcut = ConvBnReLU(cin, cout, 1, stride, 0, 1, relu=False) if downsample else nn.Identity()

        def forward(self, x):
            return F.relu(self.increase(self.conv3x3(self.reduce(x))) + self.shortcut(x))

    def res_layer(n: int, cin: int, cout: int, stride: int, dil: int) -> nn.Sequential:
        layer = nn.Sequential()
        for i in range(n):
            layer.add_module(f"block{i + 1}", Bottleneck(cin if i == 0 else cout, cout, stride if i == 0 else 1,
                                                         dil, i == 0))
        return layer

    class ASPP(nn.Module):
        def __init__(self, cin: int, cout: int):
            super().__init__()
            for i, r in enumerate(rates):
                self.add_module(f"c{i}", nn.Conv2d(cin, cout, 3, 1, padding=r, dilation=r, bias=True))

        def forward(self, x):
            return sum(branch(x) for branch in self.children())

    base = nn.Sequential()
    stem = nn.Sequential()
    stem.add_module("conv1", ConvBnReLU(3, 64, 7, 2, 3, 1))
    stem.add_module("pool", nn.MaxPool2d(3, 2, 1, ceil_mode=True))
    base.add_module("layer1", stem)
    base.add_module("layer2", res_layer(3, 64, 256, 1, 1))
    base.add_module("layer3", res_layer(4, 256, 512, 2, 1))
    base.add_module("layer4", res_layer(23, 512, 1024, 1, 2))
    base.add_module("layer5", res_layer(3, 1024, 2048, 1, 4))
    base.add_module("aspp", ASPP(2048, n_classes))

    class MSC(nn.Module):
        def __init__(self):
            super().__init__()
            self.base = base
            self.scales = tuple(scales)

        def forward(self, x):
            logits = self.base(x)
            size = logits.shape[-2:]
            outs = [logits]
            for p in self.scales:
                xs = F.interpolate(x, scale_factor=p, mode="bilinear", align_corners=False)
                outs.append(F.interpolate(self.base(xs), size=size, mode="bilinear", align_corners=False))
            return torch.stack(outs).max(0)[0]

    return MSC()


class DeepLabV2COCOStuff(Segmenter):
    """``deeplabv2-cocostuff164k``. ``weights``: path of the release file (default: the resolver)."""

    def __init__(self, weights: str | None = None, *, pretrained: bool = True, device: str = "cpu",
                 batch_size: int = 4) -> None:
        net = build_deeplabv2_resnet101_msc(PROTOCOL.num_classes)
        path, digest = load_release(net, WEIGHTS.name, weights, PROTOCOL.name) if pretrained else (None, None)
        super().__init__(net, PROTOCOL, weights_sha256=digest, device=device, batch_size=batch_size,
                         weights_path=path)
