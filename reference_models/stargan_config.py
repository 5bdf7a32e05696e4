"""Configs of stargan (merged into ``reference_models.configs``): defaults, named configs, and the datasets whose
published setup ``paper`` resolves to.

Sources (read, not copied): yunjey/stargan ``main.py`` (c_dim 5 with the attributes Black_Hair, Blond_Hair,
Brown_Hair, Male, Young; image_size 128 from a 178 center crop; g_conv_dim = d_conv_dim 64, g_repeat_num = d_repeat_num
6; lambda_cls 1, lambda_rec 10, lambda_gp 10; batch 16, num_iters 200,000, num_iters_decay 100,000, lr_update_step
1000, g_lr = d_lr 1e-4, n_critic 5, beta1 0.5, beta2 0.999), ``solver.py`` (the losses, the target shuffle, the
learning-rate arithmetic) and ``data_loader.py`` (random horizontal flips in training). Option names follow the
authors' (``g_conv_dim``, ``g_repeat_num``, ``lambda_cls``, ``num_iters_decay``, ``lr_update_step``, ``n_critic``);
their ``num_iters`` is our ``steps`` (one step = one D update) and their ``g_lr`` / ``d_lr`` our ``lr_g`` / ``lr_d``.
"""

from __future__ import annotations

from typing import Any

from reference_models.configs import COMMON, MINI_COMMON

DEFAULTS: dict[str, dict[str, Any]] = {
    "stargan": {
        **COMMON,
        # None: the dataset's attribute count (task_params "attributes"; 5 on the authors' CelebA setup); a set value
        # must agree with it
        "c_dim": None,
        # G: 7x7 conv, two stride-2 convs, g_repeat_num residual blocks, two transposed convs, 7x7 conv (no biases,
        # InstanceNorm with affine parameters and running statistics)
        "g_conv_dim": 64, "g_repeat_num": 6,
        # D: d_repeat_num stride-2 convs (LeakyReLU 0.01), then D_src (3x3, PatchGAN) and D_cls (the attributes)
        "d_conv_dim": 64, "d_repeat_num": 6,
        # not in the paper (False in ``paper``): G adds its last conv's output to the input's pre-tanh value, so it
        # starts as the identity mapping (cyclegan's mini option)
        "residual": False,
        # G's upsampling: "transpose" (the authors' 4x4 stride-2 transposed convs) or "bilinear" (not in the paper:
        # bilinear resize + 3x3 conv, the checkerboard remedy of cyclegan's mini)
        "upsample": "transpose",
        # not in the paper (True in ``paper``): False drops G's first InstanceNorm, which removes the constant the
        # label channels add away from the image border (the target then reaches the interior only as a
        # per-channel affine change of that norm's statistics, through the border pixels)
        "first_norm": True,
        "lambda_cls": 1.0, "lambda_rec": 10.0, "lambda_gp": 10.0,
        "n_critic": 5,  # D updates per G update (one trainer step = one D update)
        "lr_g": 1e-4, "lr_d": 1e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 16,
        "steps": 200_000,
        # the learning rate is lowered after every lr_update_step-th of the last num_iters_decay steps: by
        # lr / num_iters_decay ("code": the authors' solver.py, 0.1 % in all at these values) or by
        # lr * lr_update_step / num_iters_decay ("linear": to 0 at the end, the paper's description). ``decay_from``
        # is not used (the model's own schedule)
        "num_iters_decay": 100_000, "lr_update_step": 1000, "lr_decay": "code",
        "flip": True,
    },
}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "stargan": {
        # the authors' CelebA setup (the released celeba-128x128-5attrs generator is this G at c_dim 5)
        "paper": {"native_resolution": (128, 128)},
        # 64x64 synthetic-streets-attributes (3 attributes) in minutes on one CPU core (457 s beside two other
        # trainings): widths 16, 3 blocks, D of 5 halvings (a 2x2 patch map, as the paper's 6 at 128x128), batch 8,
        # 800 steps, a residual G (starts as the identity), n_critic 1 at lr 2e-4: every G step counts in minutes;
        # n_critic 5 (1500 steps at 1e-4) and 2 (1000 steps) transferred no attribute (class acc. 0 / 0.7 % against
        # 7.7 %), bilinear upsampling transferred none either; without G's first InstanceNorm (``first_norm``
        # False: the target reaches the interior) class acc. rose from 7.7 % to 30 % (seed 0; docs/stargan.md).
        # The decay: linear to 0 over the last half
        "mini": {**MINI_COMMON, "g_conv_dim": 16, "g_repeat_num": 3, "d_conv_dim": 16, "d_repeat_num": 5,
                 "batch_size": 8, "steps": 800, "n_critic": 1, "residual": True, "first_norm": False,
                 "lr_g": 2e-4, "lr_d": 2e-4, "num_iters_decay": 400, "lr_update_step": 10, "lr_decay": "linear"},
    },
}

# one setup for every dataset: ``paper`` itself
PAPER_DATASETS: dict[str, dict[str, str]] = {"stargan": {}}
