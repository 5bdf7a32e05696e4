"""The embedded classifiers, trained by ``scripts/train_embedded_classifier.py`` (weights and sidecar JSON in
``bench/classifiers/weights/``): ``embedded-digits`` (the ``digits`` track) and ``embedded-daytime`` (day or dusk:
``synthetic-streets-dusk2day``)."""

from __future__ import annotations

from bench import weights
from bench.classifiers import ClassifierSpec
from bench.classifiers.cnn import ARCH

SPEC = ClassifierSpec("embedded-digits", "embedded-digits-classifier", "digits@1", 10, (32, 32), ARCH,
                      "embedded-digits.json")

WEIGHTS = weights.register(weights.WeightFile(
    name=SPEC.weights,
    filename="embedded-digits.safetensors",
    sha256=SPEC.meta().get("sha256", "0" * 64),  # the committed file's digest (see the sidecar JSON)
    carriers=(("bench", "classifiers/weights/embedded-digits.safetensors"),),
    license="MIT (cgan-bench)",
    description="cgan-bench's embedded digits classifier (scripts/train_embedded_classifier.py)",
))

# ``embedded-daytime``: day (0) or dusk (1), for ``class_acc`` on ``synthetic-streets-dusk2day`` (the share of
# translations the classifier takes for daylight: the attribute-transfer score of StarGAN's evaluation, with a
# classifier of the dataset's own two domains); trained by ``scripts/train_embedded_classifier.py --which daytime``
DAYTIME = ClassifierSpec("embedded-daytime", "embedded-daytime-classifier", "synthetic-streets-dusk2day@1", 2,
                         (64, 64), ARCH, "embedded-daytime.json")

DAYTIME_WEIGHTS = weights.register(weights.WeightFile(
    name=DAYTIME.weights,
    filename="embedded-daytime.safetensors",
    sha256=DAYTIME.meta().get("sha256", "0" * 64),
    carriers=(("bench", "classifiers/weights/embedded-daytime.safetensors"),),
    license="MIT (cgan-bench)",
    description="cgan-bench's embedded day / dusk classifier (scripts/train_embedded_classifier.py --which daytime)",
))
