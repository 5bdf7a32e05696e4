"""The embedded classifiers, trained by ``scripts/train_embedded_classifier.py`` (weights and sidecar JSON in
``bench/classifiers/weights/``): ``embedded-digits`` (the ``digits`` track), ``embedded-daytime`` (day or dusk:
``synthetic-streets-dusk2day``) and ``embedded-attributes`` (the 8 domains of ``synthetic-streets-attributes``)."""

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

# ``embedded-attributes``: the domain (0-7) of a synthetic-streets view: dusk + 2 fog + 4 autumn
# (``bench.data.attributes.domain_index``), for ``class_acc`` on ``synthetic-streets-attributes`` (the share of
# translations assigned to their target domain: StarGAN's classification accuracy); trained by
# ``scripts/train_embedded_classifier.py --which attributes``
ATTRIBUTES = ClassifierSpec("embedded-attributes", "embedded-attributes-classifier",
                            "synthetic-streets-attributes@1", 8, (64, 64), ARCH, "embedded-attributes.json")

ATTRIBUTES_WEIGHTS = weights.register(weights.WeightFile(
    name=ATTRIBUTES.weights,
    filename="embedded-attributes.safetensors",
    sha256=ATTRIBUTES.meta().get("sha256", "0" * 64),
    carriers=(("bench", "classifiers/weights/embedded-attributes.safetensors"),),
    license="MIT (cgan-bench)",
    description="cgan-bench's embedded 8-domain (dusk / fog / autumn) classifier "
                "(scripts/train_embedded_classifier.py --which attributes)",
))
