"""The weight files of the reference models, declared without importing torch (``bench ls`` / ``bench weights``
list them through the ``bench.weights`` entry point ``reference_models.weight_files:WEIGHT_FILES``).

Importing this module also registers them with ``bench.weights``, so ``losses`` and ``official_keys`` resolve them
by name whether or not the entry points are installed.
"""

from __future__ import annotations

from bench import weights

# The authors' released generators (see ``official_keys``): the pix2pix one has a direct link.
RELEASE_URLS = {
    "spade": {
        "cityscapes": "https://drive.google.com/file/d/12gvlTbMvUcJewQlSEaZdeb2CdOB-b8kQ (checkpoints.tar.gz: cityscapes_pretrained/latest_net_G.pth)",
        "ade20k": "same archive: ade20k_pretrained/latest_net_G.pth",
        "coco-stuff": "same archive: coco_pretrained/latest_net_G.pth",
    },
    "pix2pixhd": {"cityscapes": "NVIDIA/pix2pixHD README: label2city_1024p/latest_net_G.pth (Google Drive)"},
    "pix2pix": {"facades": "http://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/facades_label2photo.pth"},
}

VGG19 = weights.register(weights.WeightFile(
    name="torchvision-vgg19",
    filename="vgg19-dcbe5be5.pth",
    sha256="dcbe5be5",
    urls=("https://download.pytorch.org/models/vgg19-dcbe5be5.pth",),
    foreign_caches=("torch-hub",),
    license="BSD-3-Clause (torchvision); weights trained on ImageNet",
    description="torchvision VGG19 ImageNet weights: the perceptual (VGG) loss of pix2pixHD and SPADE.",
))

PIX2PIX_FACADES = weights.register(weights.WeightFile(
    name="pix2pix-facades-label2photo",
    filename="facades_label2photo.pth",
    sha256="",  # not published by the authors: the digest of the file used is recorded per result
    urls=(RELEASE_URLS["pix2pix"]["facades"],),
    license="BSD (junyanz/pytorch-CycleGAN-and-pix2pix)",
    description="pix2pix U-Net 256 generator, facades labels -> photos (the authors' PyTorch release)",
))

WEIGHT_FILES = (VGG19, PIX2PIX_FACADES)
