"""Importing this module registers every reference method (and the VGG19 weight file)."""

from reference_models import losses  # noqa: F401  (registers the VGG19 weight file)
from reference_models.pix2pix import Pix2Pix
from reference_models.pix2pixhd import Pix2PixHD
from reference_models.spade import SPADEMethod

METHODS = {"pix2pix": Pix2Pix, "pix2pixhd": Pix2PixHD, "spade": SPADEMethod}
