"""Configs of pix2pix-seg-clip (merged into ``reference_models.configs``): defaults, named configs, and the
datasets whose published setup ``paper`` resolves to.

The slides fix: COCO-Stuff at 256x256, G(x, z) from the one-hot label map and noise, a (classes + 1)-way segmentation
discriminator (OASIS's), lambda_D 2.5 on the adversarial cross-entropy, VGG 10 (pix2pixHD's layer weights) and CLIP
30 (1 - cosine similarity of CLIP image embeddings). They leave open, and we chose:
  * the generator: pix2pix's U-Net 256 (8 halvings, ngf 64) with z (64-d, OASIS's z_dim) replicated over the
    pixels and concatenated to the input; instance norm, no dropout (z is the noise source);
  * the discriminator's widths: OASIS's (its defaults in ``reference_models.oasis``); no LabelMix (not on the slides);
  * the CLIP model: OpenAI's ViT-B/32 (the project's FD_CLIP network and weight file);
  * the optimiser and schedule: OASIS's COCO-Stuff setup, which trains this discriminator: Adam (0, 0.999), G 1e-4,
    D 4e-4, batch 32, 100 epochs, no decay; the augmentation: pix2pix's resize to 286 and random 256 crop + flips.
"""

from __future__ import annotations

from typing import Any

from reference_models import configs as _configs
from reference_models.configs import COMMON, MINI_COMMON

OFFICIAL_D_CHANNELS = (3, 128, 128, 256, 256, 512, 512)  # reference_models.oasis.OFFICIAL_D_CHANNELS (not imported:
# configs stay free of torch)

# the random-crop augmentation keys (load_size / crop_size), where this checkout's configs have them
_AUGMENT = dict(getattr(_configs, "AUGMENT", {}))

DEFAULTS: dict[str, dict[str, Any]] = {
    "pix2pix-seg-clip": {
        **COMMON, **_AUGMENT,
        "instance": False,
        # G: pix2pix U-Net on [one-hot label map, z replicated over the pixels]
        "ngf": 64, "num_downs": 8, "norm": "instance", "dropout": False, "z_dim": 64,
        # D: OASIS's U-Net (reference_models.oasis.OASISDiscriminator): input + down-block widths (6 blocks: H, W
        # multiples of 64), the last up block's width, spectral norm; class-balanced CE on real targets
        "d_channels": OFFICIAL_D_CHANNELS, "d_last_channels": 64, "d_spectral_norm": True, "class_balance": True,
        # losses
        "lambda_d": 2.5,         # the adversarial (N+1)-way cross-entropy, G's and D's
        "lambda_vgg": 10.0, "vgg": True,
        "lambda_clip": 30.0, "clip": True,
        "clip_weights": None,    # explicit path of OpenAI's ViT-B-32.pt (default: the weight resolver)
        "lambda_l1": 0.0,        # pixel L1 (not on the slides; 0 = off)
        # OASIS's COCO-Stuff optimisation
        "lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.999, "batch_size": 32, "epochs": 100,
        "decay_from": 1.0,
    },
}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "pix2pix-seg-clip": {
        "paper": {**({"load_size": 286, "crop_size": 256} if _AUGMENT else {})},
        # pix2pix mini's U-Net (ngf 16, 6 halvings) + z 16; OASIS D with widths 8-32 (4 blocks: H, W multiples of 16;
        # width 16 trained at ~10 img/s instead of ~18); pix2pix's optimiser; pixel L1 100 as pix2pix (offline there
        # are neither VGG nor CLIP weights: with L1 10, 600 steps ended at FID 339 / mIoU 36 %, with L1 100 at
        # 270 / 66 %, 1000 steps at 201 / 71 %; seed 0, synthetic-streets val, measured)
        "mini": {**MINI_COMMON, "steps": 1000, "ngf": 16, "num_downs": 6, "z_dim": 16, "lambda_l1": 100.0,
                 "d_channels": (3, 8, 16, 32, 32), "d_last_channels": 8,
                 "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "decay_from": 0.7},
    },
}

# one setup (COCO-Stuff's): ``paper`` itself for every dataset
PAPER_DATASETS: dict[str, dict[str, str]] = {"pix2pix-seg-clip": {}}
