"""Importing this module registers every reference method (and their weight files) with the core.

``bench`` itself never imports it: it finds the methods through the ``bench.methods`` entry points and the weight
files through ``bench.weights`` (pyproject.toml), as it would a third party's.
"""

from reference_models import weight_files  # noqa: F401  (registers the VGG19 and release weight files)
from reference_models.acgan import ACGAN
from reference_models.cgan import CGAN
from reference_models.context_encoder import ContextEncoder
from reference_models.cyclegan import CycleGAN
from reference_models.dsgan import DSGAN
from reference_models.ecgan import ECGAN
from reference_models.esrgan import ESRGAN
from reference_models.gan_int_cls import GANINTCLS
from reference_models.munit import MUNIT, UNIT
from reference_models.oasis import OASIS
from reference_models.pix2pix import Pix2Pix
from reference_models.pix2pix_seg_clip import Pix2PixSegClip
from reference_models.pix2pixhd import Pix2PixHD
from reference_models.sngan_proj import SNGANProjection
from reference_models.spade import SPADEMethod
from reference_models.srgan import SRGAN, SRResNet
from reference_models.stackgan import StackGAN
from reference_models.stargan import StarGAN

# every reference method; ``tasks`` says which track each is for (semantic: the first three, class: the others)
METHODS = {"pix2pix": Pix2Pix, "pix2pixhd": Pix2PixHD, "spade": SPADEMethod,
           "cgan": CGAN, "acgan": ACGAN, "sngan-proj": SNGANProjection,
           "context-encoder": ContextEncoder}  # inpainting
METHODS.update({"srresnet": SRResNet, "srgan": SRGAN, "esrgan": ESRGAN})  # super-resolution
METHODS.update({"oasis": OASIS, "pix2pix-seg-clip": Pix2PixSegClip, "ecgan": ECGAN})  # semantic synthesis II
METHODS.update({"dsgan": DSGAN})  # diversity-sensitive pix2pix (label map -> photo)
METHODS.update({"cyclegan": CycleGAN})  # unpaired translation
METHODS.update({"munit": MUNIT, "unit": UNIT})  # unpaired translation (NVlabs/MUNIT code base)
METHODS.update({"stargan": StarGAN})  # multi-domain attribute translation
METHODS.update({"gan-int-cls": GANINTCLS, "stackgan": StackGAN})  # text-to-image
