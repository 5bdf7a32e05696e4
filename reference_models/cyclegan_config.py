"""Configs of cyclegan (merged into ``reference_models.configs``): defaults, named configs, and the
datasets whose published setup ``paper`` resolves to.

Sources (read, not copied): junyanz/pytorch-CycleGAN-and-pix2pix ``options/base_options.py`` (ngf / ndf 64, netG
resnet_9blocks, netD basic = the 70x70 PatchGAN, norm instance, init normal 0.02, batch 1, load 286 / crop 256, flips),
``options/train_options.py`` (lsgan, pool 50, lr 2e-4, beta1 0.5, 100 + 100 epochs with linear decay),
``models/cycle_gan_model.py`` (lambda_A = lambda_B = 10, lambda_identity 0.5, no dropout) and the paper's appendix
(Zhu et al., ICCV 2017, 7.2: 6 residual blocks for 128x128 training images, 9 for 256x256 and larger). Option names
follow the authors' where they have one (``lambda_a`` = ``--lambda_A``, ``lambda_b``, ``lambda_identity``,
``pool_size``, ``n_layers_d``, ``init_gain``).
"""

from __future__ import annotations

from typing import Any

from reference_models import configs as _configs
from reference_models.configs import COMMON, MINI_COMMON

_AUGMENT = dict(getattr(_configs, "AUGMENT", {}))  # load_size / crop_size: the random-crop augmentation keys

DEFAULTS: dict[str, dict[str, Any]] = {
    "cyclegan": {
        **COMMON, **_AUGMENT,
        # G_A (A -> B, the evaluated direction) and G_B: ResnetGenerator, two stride-2 downsamplings, n_blocks
        # residual blocks, two transposed-conv upsamplings, reflection padding, no dropout
        "ngf": 64, "n_blocks": 9, "norm": "instance", "dropout": False, "init_gain": 0.02,
        # not in the paper (False in ``paper``): G adds its last conv's output to the input's pre-tanh value, so it
        # starts near the identity mapping (the mini: minutes of training from scratch gave blurry, noisy images)
        "residual": False,
        # G's upsampling: "transpose" (the authors' 3x3 stride-2 transposed convs) or "bilinear" (bilinear resize,
        # reflection pad, 3x3 conv: the remedy for checkerboard artifacts in the authors' docs/qa.md)
        "upsample": "transpose",
        # D_A (judges B) and D_B (judges A): PatchGAN, n_layers_d 3 = 70x70 receptive field
        "ndf": 64, "n_layers_d": 3,
        "gan_mode": "lsgan",
        "lambda_a": 10.0,         # cycle loss A -> B -> A
        "lambda_b": 10.0,         # cycle loss B -> A -> B
        "lambda_identity": 0.5,   # identity loss weight, relative to lambda_a / lambda_b (0: off)
        "pool_size": 50,          # history of generated images shown to D (0: the current batch only)
        "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 1,
        "epochs": 200, "decay_from": 0.5,  # 100 epochs at 2e-4, then 100 decaying linearly to 0
        "flip": True,
        **({"load_size": 286, "crop_size": 256} if _AUGMENT else {}),
    },
}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "cyclegan": {
        # the authors' default: resnet_9blocks; the released generators (latest_net_G.pth) are this network
        "paper": {},
        # the paper's setup for 128x128 training images (e.g. Cityscapes): 6 residual blocks
        "paper-128": {"n_blocks": 6},
        # 64x64 synthetic-streets-dusk2day in ~4 minutes on one CPU core (2000 images, 10 epochs): widths 16, 3
        # blocks, and three changes without which the minutes gave blurry or noisy images that lost to the identity
        # baseline on FID (docs/cyclegan.md): a residual G (starts as the
        # identity), bilinear upsampling (the authors' docs/qa.md checkerboard remedy) and no identity loss (the
        # paper's setting outside painting <-> photo; with it G_A stayed at the identity: InstanceNorm hides the
        # brightness that tells dusk from day)
        "mini": {**MINI_COMMON, "ngf": 16, "n_blocks": 3, "ndf": 16, "n_layers_d": 3, "batch_size": 4,
                 "steps": 500, "decay_from": 0.5, "residual": True, "upsample": "bilinear", "lambda_identity": 0.0,
                 **({"load_size": None} if _AUGMENT else {})},
    },
}

# one setup for every dataset: ``paper`` itself
PAPER_DATASETS: dict[str, dict[str, str]] = {"cyclegan": {}}
