"""Configs of munit and unit (merged into ``reference_models.configs``): defaults, named configs, and the datasets
whose published setup ``paper`` resolves to.

Sources (read, not copied): NVlabs/MUNIT ``configs/edges2shoes_folder.yaml`` (the config of the released
edges2shoes model; edges2handbags and summer2winter_yosemite256 differ only in ``recon_x_cyc_w`` 10 for the
latter, synthia2cityscape also in ``vgg_w`` 1 and 512x512 crops) and mingyuliutw/UNIT
``configs/unit_edges2shoes_folder.yaml`` (unit_gta2city, the released UNIT model's, differs in ``vgg_w`` 1 only),
read by ``trainer.py`` (``MUNIT_Trainer`` / ``UNIT_Trainer``) and ``utils.py`` (``get_scheduler``,
``weights_init``, the data loaders: resize the shorter side to ``new_size`` 256, random 256x256 crop, random
horizontal flip). Option names are the authors' (``gen`` keys as they are, ``dis`` keys prefixed ``dis_`` where the
name is taken: ``dis_dim``, ``dis_norm``, ``dis_activ``, ``dis_pad_type``); ``lr`` is ``lr_g`` = ``lr_d``,
``max_iter`` is ``steps``. UNIT's ``recon_h_w`` (0) is read by no code and left out; ``vgg_w`` must stay 0 (the VGG
loss is not implemented here).
"""

from __future__ import annotations

from typing import Any

from reference_models import configs as _configs
from reference_models.configs import COMMON, MINI_COMMON

_AUGMENT = dict(getattr(_configs, "AUGMENT", {}))  # load_size / crop_size: the random-crop augmentation keys

_SHARED = {
    **COMMON, **_AUGMENT,
    # gen: ContentEncoder 7x7 conv + n_downsample stride-2 convs + n_res residual blocks; Decoder mirrors it
    "dim": 64, "activ": "relu", "n_downsample": 2, "n_res": 4, "pad_type": "reflect",
    "init": "kaiming",  # G's Conv2d / Linear weights (D: always gaussian 0.02, as the trainers)
    # not in the authors' code (False in ``paper``; the minis): the decoders' last convs start at zero and the
    # translation is the source image plus, in pre-tanh values, MUNIT's decoder output (cyclegan's ``residual``) or
    # the difference of UNIT's two decoders' renderings of the latent, so it starts as the identity
    "residual": False,
    # dis: MsImageDis, num_scales PatchGAN-like networks of n_layer 4x4 stride-2 convs
    "dis_dim": 64, "dis_norm": "none", "dis_activ": "lrelu", "n_layer": 4, "gan_type": "lsgan", "num_scales": 3,
    "dis_pad_type": "reflect",
    "gan_w": 1.0, "recon_x_w": 10.0,
    "vgg_w": 0.0,  # domain-invariant perceptual loss: not implemented (0 in both edges2shoes configs)
    # Adam lr 1e-4 (0.5, 0.999), weight decay 1e-4 for G and D; lr halved every step_size iterations
    "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 1e-4,
    "lr_policy": "step", "step_size": 100_000, "gamma": 0.5,
    "batch_size": 1, "steps": 1_000_000, "decay_from": 1.0,  # max_iter; the trainer's linear decay is unused
    "flip": True,
    **({"load_size": None} if _AUGMENT else {}),  # the random 256 crop of a 256 image (edges2shoes) is the image
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "munit": {**_SHARED,
              "style_dim": 8, "mlp_dim": 256,
              "recon_s_w": 1.0, "recon_c_w": 1.0,
              "recon_x_cyc_w": 0.0},  # the explicit style-augmented cycle loss (10 for summer2winter)
    "unit": {**_SHARED,
             "recon_kl_w": 0.01, "recon_x_cyc_w": 10.0, "recon_kl_cyc_w": 0.01},
}

# The minis: 64x64 synthetic-streets-dusk2day (200 unpaired training items) in minutes on one CPU core: widths 16, 2
# residual blocks, a 2-scale D of 3 layers, batch 4, 500 steps (10 epochs) at a constant lr 2e-4, and residual
# decoders (the translation starts as the identity). Without ``residual`` the MUNIT mini's translations were still
# noise after 500 steps (FID 397.7 against the identity baseline's 123.7; measured, docs/munit.md).
_MINI = {**MINI_COMMON, "dim": 16, "n_res": 2, "dis_dim": 16, "n_layer": 3, "num_scales": 2, "batch_size": 4,
         "steps": 500, "lr_g": 2e-4, "lr_d": 2e-4, "lr_policy": "constant", "residual": True}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "munit": {
        # configs/edges2shoes_folder.yaml: the released edges2shoes.pt is this network
        "paper": {},
        "mini": {**_MINI, "mlp_dim": 64},
    },
    "unit": {
        # configs/unit_edges2shoes_folder.yaml (the released unit_gta2city.pt has the same generators)
        "paper": {},
        "mini": {**_MINI},
    },
}

# one setup for every dataset: ``paper`` itself
PAPER_DATASETS: dict[str, dict[str, str]] = {"munit": {}, "unit": {}}
