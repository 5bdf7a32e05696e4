"""The embedded classifiers, trained by ``scripts/train_embedded_classifier.py`` (weights and sidecar JSON in
``bench/classifiers/weights/``): ``embedded-digits`` (the ``digits`` track), ``embedded-daytime`` (day or dusk:
``synthetic-streets-dusk2day``) and ``embedded-attributes`` (the 8 domains of ``synthetic-streets-attributes``)."""

from __future__ import annotations

from bench import weights
from bench.classifiers import ClassifierSpec
from bench.classifiers.cnn import ARCH

def _committed(name: str, dataset: str, num_classes: int, size: tuple[int, int], what: str) -> ClassifierSpec:
    """The spec of ``embedded-<name>`` and its committed weight file (digest from the sidecar JSON), registered."""
    spec = ClassifierSpec(f"embedded-{name}", f"embedded-{name}-classifier", dataset, num_classes, size, ARCH,
                          f"embedded-{name}.json")
    weights.register(weights.WeightFile(
        name=spec.weights,
        filename=f"embedded-{name}.safetensors",
        sha256=spec.meta().get("sha256", "0" * 64),  # the committed file's digest (see the sidecar JSON)
        carriers=(("bench", f"classifiers/weights/embedded-{name}.safetensors"),),
        license="MIT (cgan-bench)",
        description=f"cgan-bench's embedded {what} classifier (scripts/train_embedded_classifier.py"
                    + ("" if name == "digits" else f" --which {name}") + ")",
    ))
    return spec


SPEC = _committed("digits", "digits@1", 10, (32, 32), "digits")

# ``embedded-daytime``: day (0) or dusk (1), for ``class_acc`` on ``synthetic-streets-dusk2day`` (the share of
# translations the classifier takes for daylight: the attribute-transfer score of StarGAN's evaluation, with a
# classifier of the dataset's own two domains)
DAYTIME = _committed("daytime", "synthetic-streets-dusk2day@1", 2, (64, 64), "day / dusk")

# ``embedded-attributes``: the domain (0-7) of a synthetic-streets view: dusk + 2 fog + 4 autumn
# (``bench.data.attributes.domain_index``), for ``class_acc`` on ``synthetic-streets-attributes`` (the share of
# translations assigned to their target domain: StarGAN's classification accuracy)
ATTRIBUTES = _committed("attributes", "synthetic-streets-attributes@1", 8, (64, 64), "8-domain (dusk / fog / autumn)")
