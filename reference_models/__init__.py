"""Reference GANs (pix2pix, pix2pixHD, SPADE): trainable with a shared trainer, loadable from the authors' releases.

``import reference_models.registered`` registers the methods ``pix2pix``, ``pix2pixhd`` and ``spade`` with
``bench.adapter`` and the VGG19 weight file with ``bench.weights`` (``bench.adapter`` does this on first lookup).
The package itself imports nothing heavy, so ``bench --help`` (which wires ``bench train``) stays fast.
"""

from typing import Any

__all__ = ["METHODS", "Pix2Pix", "Pix2PixHD", "SPADEMethod"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from reference_models import registered

        return getattr(registered, name)
    raise AttributeError(f"module 'reference_models' has no attribute '{name}'")
