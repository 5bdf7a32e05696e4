"""Reference GANs (pix2pix, pix2pixHD, SPADE, OASIS, pix2pix-seg-clip, ECGAN; unpaired translation: CycleGAN, MUNIT, UNIT; class-conditional: cGAN, AC-GAN, SNGAN-projection): trainable with
a shared trainer, the semantic ones loadable from the authors' releases; inpainting: context encoders
(``context-encoder``); super-resolution: SRResNet, SRGAN, ESRGAN (``srresnet``, ``srgan``, ``esrgan``; ESRGAN
loads the authors' released generators).

The core (``bench``) never imports this package by name: it is a plugin, declared by entry points in
pyproject.toml: the methods ``pix2pix``, ``pix2pixhd``,
``spade``, ``oasis``, ``pix2pix-seg-clip``, ``ecgan``, ``cyclegan``, ``munit``, ``unit``, ``cgan``, ``acgan``, ``sngan-proj``, ``context-encoder``, ``srresnet``, ``srgan`` and ``esrgan`` (group ``bench.methods``), their weight files
(``bench.weights``: ``weight_files``) and the ``bench train`` subcommand (``bench.commands``: ``cli.register``).
``import reference_models.registered`` registers all of them directly. The package and ``cli`` import nothing
heavy, so ``bench --help`` (which wires ``bench train``) stays fast.
"""

from typing import Any

__all__ = ["METHODS", "Pix2Pix", "Pix2PixHD", "SPADEMethod", "CGAN", "ACGAN", "SNGANProjection", "ContextEncoder",
           "SRResNet", "SRGAN", "ESRGAN", "Pix2PixSegClip", "OASIS", "ECGAN", "CycleGAN",
           "MUNIT", "UNIT"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reference_models import registered

        return getattr(registered, name)
    raise AttributeError(f"module 'reference_models' has no attribute '{name}'")
