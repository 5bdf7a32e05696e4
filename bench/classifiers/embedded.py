"""``embedded-digits``: the classifier of the ``digits`` track, trained by ``scripts/train_embedded_classifier.py``
(weights and sidecar JSON in ``bench/classifiers/weights/``)."""

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
