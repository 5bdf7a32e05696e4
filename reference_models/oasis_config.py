"""Configs of oasis (merged into ``reference_models.configs``): defaults, named configs, and the
datasets whose published setup ``paper`` resolves to.

Sources: boschresearch/OASIS ``config.py`` (defaults and ``set_dataset_default_lm``), ``scripts/train_*.sh``
(batch sizes), ``dataloaders/*`` (label channels, don't-care label), and the paper (ICLR 2021, section 4 and
appendix). Option names follow the authors' where they have one (``channels_g``, ``num_res_blocks``, ``z_dim``,
``no_3dnoise``, ``no_spectral_norm``, ``param_free_norm``, ``spade_ks``, ``no_ema``, ``ema_decay``,
``lambda_labelmix``, ``no_balancing_inloss``, ``contain_dontcare_label``, ``lambda_vgg``).
"""

from __future__ import annotations

from typing import Any

from reference_models import configs as _configs
from reference_models.configs import COMMON, MINI_COMMON

# the random-crop augmentation keys (load_size / crop_size), where this checkout's configs have them
_AUGMENT = dict(getattr(_configs, "AUGMENT", {}))
# the authors' Ade20kDataset / CocoStuffDataset in training: resize to 286x286, a random 256x256 window, then flip
_CROP = {"load_size": 286, "crop_size": 256} if _AUGMENT else {}

DEFAULTS: dict[str, dict[str, Any]] = {
    # G: 6 SPADE res-blocks, channels_G 64, 3-D noise z 64, spectral norm, SyncBatchNorm (affine off), SPADE 3x3 with
    # 128 hidden; D: U-Net of residual blocks, 3-128-128-256-256-512-512, spectral norm, 64 channels before the
    # 1x1 N+1 head; Adam (0, 0.999), G 1e-4, D 4e-4, constant lr (no decay); LabelMix 10; class balancing on; EMA
    # 0.9999 (G_ema is the evaluated generator); VGG loss off (--add_vgg_loss, lambda 10); 200 epochs.
    "oasis": {**COMMON, **_AUGMENT,
              "channels_g": 64, "num_res_blocks": 6, "z_dim": 64, "no_3dnoise": False, "no_spectral_norm": False,
              "param_free_norm": "syncbatch", "spade_ks": 3,
              "nhidden": 128,            # SPADE hidden width (fixed at 128 in the authors' code; smaller in mini)
              "d_channels": (3, 128, 128, 256, 256, 512, 512),  # input + one per D down block (the authors' list)
              "d_last_channels": 64,     # width of D's last up block (fixed at 64 in the authors' code)
              "lambda_labelmix": 10.0, "no_balancing_inloss": False,
              # channel 0 is a don't-care label (weight 0 in the class-balanced loss): the authors' three datasets
              "contain_dontcare_label": False,
              # one-hot channel = (generator id + label_shift) mod channels: COCO-Stuff's unlabeled (our id 182) is
              # channel 0 in the authors' loader (label + 1, 255 -> 0); 0 for Cityscapes / ADE20K (ids as stored)
              "label_shift": 0,
              "no_ema": False, "ema_decay": 0.9999,
              "ema_warmup": False,       # decay min(ema_decay, (1 + t) / (10 + t)) at step t (not in OASIS; minis)
              # refresh G_ema's BatchNorm statistics with a train-mode forward on each step's batch (the authors run
              # G_ema on 51 training batches before every log / save / FID; see docs)
              "ema_bn_refresh": True,
              "vgg": False, "lambda_vgg": 10.0,
              "lambda_l1": 0.0,          # pixel L1 weight (not in the paper; 0 = off)
              "lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.999, "batch_size": 32, "epochs": 200,
              "decay_from": 1.0},
}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "oasis": {
        "paper": {},
        # config.py set_dataset_default_lm: lr_g 4e-4, LabelMix 5, EMA 0.999; scripts/train_cityscapes.sh: batch 20;
        # CityscapesDataset: 35 channels (labelIds 0-33 + 1), don't-care 0, 256x512, no crop
        "paper-cityscapes": {"lr_g": 4e-4, "lambda_labelmix": 5.0, "ema_decay": 0.999, "batch_size": 20,
                             "contain_dontcare_label": True, "native_resolution": (256, 512)},
        # Ade20kDataset: 151 channels, 0 ("other") = don't-care; batch 32; training crops 256 of 286
        "paper-ade20k": {"contain_dontcare_label": True, "native_resolution": (256, 256), **_CROP},
        # CocoStuffDataset: 183 channels, label + 1 with unlabeled -> 0 (don't-care); 100 epochs; batch 32; crops
        "paper-coco-stuff": {"contain_dontcare_label": True, "label_shift": 1, "epochs": 100,
                             "native_resolution": (256, 256), **_CROP},
        # 5 G blocks (latent 4x4 at 64x64), channels_g 16, SPADE hidden 16, z 8; D 3-16-32-64-64 (4 blocks) with
        # 16 channels before the head: as fast as SPADE's mini (measured side by side); G 2e-4; EMA 0.999 warmed up
        # ((1+t)/(10+t): a ~70-step window at the end); the minis' pixel L1 10 (VGG weights are unavailable
        # offline). Seed 0, synthetic-streets val: FID 232.5 / mIoU 82.5 % (EMA; the raw G 243.7 / 79.4 %); without
        # L1 360.7 / 48.0 %; channels_g 12 with a 3-16-16-32-32 D (1.6x faster) 247.8 / 69.6 % (measured)
        "mini": {**MINI_COMMON, "steps": 600, "channels_g": 16, "num_res_blocks": 5, "z_dim": 8, "nhidden": 16,
                 "d_channels": (3, 16, 32, 64, 64), "d_last_channels": 16, "lr_g": 2e-4, "lr_d": 4e-4,
                 "ema_decay": 0.999, "ema_warmup": True, "lambda_l1": 10.0},
    },
}

PAPER_DATASETS: dict[str, dict[str, str]] = {
    "oasis": {"cityscapes": "paper-cityscapes", "ade20k": "paper-ade20k", "coco-stuff": "paper-coco-stuff"},
}
