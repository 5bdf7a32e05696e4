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
    # boschresearch/OASIS README "Pretrained models": zip files in a Dropbox folder (no direct link per file)
    "oasis": {
        "cityscapes": "https://www.dropbox.com/sh/nf6of02pyk84zjg/AAC8hnnj0T_MAiPx3tzdAyiWa (oasis_cityscapes_pretrained.zip: best_EMA.pth)",
        "ade20k": "same folder: oasis_ade20k_pretrained.zip (best_EMA.pth)",
        "coco-stuff": "same folder: oasis_coco_pretrained.zip (best_EMA.pth)",
    },
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

# ESRGAN's released generators (``reference_models.esrgan``): xinntao/ESRGAN's two files sit in a Google-Drive folder
# (README "Test models"; no direct link, no digest published): put them in $BENCH_WEIGHTS_DIR or pass --checkpoint.
# BasicSR publishes renamed copies ({"params": ...}) whose names end in the first 8 hex digits of their sha256
# (BasicSR scripts/publish_models.py), pinned as prefixes; the GAN one has a direct link (Real-ESRGAN
# docs/model_zoo.md), the PSNR one only a Google-Drive id (BasicSR scripts/download_pretrained_models.py).
_ESRGAN_DRIVE = "https://drive.google.com/drive/folders/17VYV_SoZZesU6mbxz2dMAIccSSlqLecY (xinntao/ESRGAN README)"
ESRGAN_RELEASES = tuple(weights.register(w) for w in (
    weights.WeightFile(
        name="esrgan-rrdb-esrgan-x4", filename="RRDB_ESRGAN_x4.pth", sha256="",
        license="Apache-2.0 (xinntao/ESRGAN)",
        description=f"ESRGAN x4 generator (RRDBNet, the paper's GAN model); from {_ESRGAN_DRIVE}"),
    weights.WeightFile(
        name="esrgan-rrdb-psnr-x4", filename="RRDB_PSNR_x4.pth", sha256="",
        license="Apache-2.0 (xinntao/ESRGAN)",
        description=f"ESRGAN's PSNR-oriented x4 RRDBNet (L1 only); from {_ESRGAN_DRIVE}"),
    weights.WeightFile(
        name="basicsr-esrgan-x4", filename="ESRGAN_SRx4_DF2KOST_official-ff704c30.pth", sha256="ff704c30",
        urls=("https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.1/"
              "ESRGAN_SRx4_DF2KOST_official-ff704c30.pth",),
        license="Apache-2.0 (XPixelGroup/BasicSR)",
        description="BasicSR's copy of RRDB_ESRGAN_x4 (renamed keys, {'params': ...})"),
    weights.WeightFile(
        name="basicsr-esrgan-psnr-x4", filename="ESRGAN_PSNR_SRx4_DF2K_official-150ff491.pth", sha256="150ff491",
        license="Apache-2.0 (XPixelGroup/BasicSR)",
        description="BasicSR's copy of RRDB_PSNR_x4 (renamed keys); Google Drive id "
                    "1swaV5iBMFfg-DL6ZyiARztbhutDCWXMM (BasicSR scripts/download_pretrained_models.py)"),
))
WEIGHT_FILES += ESRGAN_RELEASES
