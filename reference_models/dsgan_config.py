"""Configs of dsgan (merged into ``reference_models.configs``): defaults, named configs, and the datasets whose
published setup ``paper`` resolves to.

Sources (read, not copied): maga33/DSGAN ``Image2ImageTranslation/code/cfg/facades_bicycleGAN_NE.yml`` (IMSIZE 256,
LOAD_SIZE 280, Z_NUM 8, batch 8, 200 epochs, lr 2e-4 for G and D, COEFF NE 8 and L1 10, GEN_Bicycle / DIS_Bicycle),
``miscc/config.py`` (defaults: NE_MARGIN off, FEAT_DIFF off), ``miscc/utils.py`` ``load_networks`` (G_Unet_add_all
with 8 halvings, ngf 64, InstanceNorm, dropout; D_NLayersMulti with 2 scales, ndf 64, 3 layers; LSGAN) and
``trainer.py`` (Adam (0.5, 0.999); the learning rate ``lr * (1 - (count - MAX/2) / (MAX/2 + 1))``: a linear decay
from twice the configured rate to 0 over the run, so ``paper`` starts at 4e-4 and decays from step 0).
"""

from __future__ import annotations

from typing import Any

from reference_models import configs as _configs
from reference_models.configs import COMMON, MINI_COMMON

_AUGMENT = dict(getattr(_configs, "AUGMENT", {}))  # load_size / crop_size: the random-crop augmentation keys

DEFAULTS: dict[str, dict[str, Any]] = {
    "dsgan": {
        **COMMON, **_AUGMENT,
        "input": "onehot",  # "onehot" (semantic maps) or "rgb" (the label map in the card's colours, as facades)
        "instance": False,
        # G: G_Unet_add_all (z concatenated at every level), InstanceNorm, dropout in the ngf*8 blocks
        "ngf": 64, "num_downs": 8, "nz": 8, "dropout": True,
        # D: D_NLayersMulti, num_d PatchGANs (the i-th on the input average-pooled i times, width ndf / 2**i)
        "ndf": 64, "n_layers_d": 3, "num_d": 2,
        # "default": PyTorch's initialisation (the release: its load_networks calls no init); "normal": pix2pix's
        # normal(0, 0.02) (the minis, as measured)
        "init": "default",
        "gan_mode": "lsgan",
        "lambda_l1": 10.0,   # COEFF.L1
        "lambda_ds": 8.0,    # COEFF.NE: the diversity-sensitive regulariser (0: off)
        "ds_tau": None,      # the paper's bound on each sample's ratio (None: unbounded, the release's default)
        "lr_g": 4e-4, "lr_d": 4e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 8,
        "epochs": 200, "decay_from": 0.0,
        "flip": True,
        **({"load_size": 280, "crop_size": 256} if _AUGMENT else {}),
    },
}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "dsgan": {
        "paper": {},
        # the authors' facades setup: the label map as the card's RGB picture (CLASS_NUM 3)
        "paper-facades": {"input": "rgb"},
        # pix2pix mini's budget and widths (64x64 synthetic-streets, ~4 minutes on one core): ngf / ndf 16, 6
        # halvings, batch 8, 1200 steps, lr 2e-4 decaying after 70 %; the release's loss weights (L1 10, NE 8).
        # Probes (seed 0, docs/dsgan.md): L1 100 as pix2pix mini gave FID 214 / MS-SSIM diversity 0.950 (0.986
        # without NE), L1 100 with NE 80 (the release's ratio) 231 / 0.565, like these weights' 240 / 0.584
        "mini": {**MINI_COMMON, "steps": 1200, "ngf": 16, "ndf": 16, "num_downs": 6, "lr_g": 2e-4, "lr_d": 2e-4,
                 "init": "normal", **({"load_size": None} if _AUGMENT else {})},
        # the same without the regulariser: what it adds, measured (docs/dsgan.md)
        "mini-no-ds": {**MINI_COMMON, "steps": 1200, "ngf": 16, "ndf": 16, "num_downs": 6, "lr_g": 2e-4,
                       "lr_d": 2e-4, "lambda_ds": 0.0, "init": "normal", **({"load_size": None} if _AUGMENT else {})},
    },
}

PAPER_DATASETS: dict[str, dict[str, str]] = {"dsgan": {"facades": "paper-facades"}}
