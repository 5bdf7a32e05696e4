"""Fixed classifiers of a class dataset's classes (``class_acc``: how often a fixed classifier recognises the class a
generated image was asked for, the AC-GAN paper's "Inception accuracy" idea with a classifier of the dataset itself).

    from bench.classifiers import get_classifier
    clf = get_classifier("embedded-digits")      # committed weights, sha256-checked through bench.weights
    clf(images_u8)                                # int64 [B] predicted classes of uint8 [B,3,32,32] images

A dataset names its classifier in ``datasets/<name>/loader.json`` (``default_classifier``), as it names its
segmenter; ``bench eval --classifier NAME`` picks one for two folders. Each classifier is registered here with its
weight file, its input size and the dataset it was trained on; ``scripts/train_embedded_classifier.py`` trains the
embedded one and writes the weights and a JSON sidecar (sha256, recipe, accuracy on the real val split).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import weights
from bench.errors import BenchError
from bench.registry import Registry

WEIGHTS_DIR = Path(__file__).parent / "weights"


@dataclass(frozen=True)
class ClassifierSpec:
    """A classifier we ship: its weight file, what it classifies and how its input must look."""

    name: str
    weights: str  # registered weight-file name (bench.weights)
    dataset: str  # the card whose classes it predicts
    num_classes: int
    input_size: tuple[int, int]  # (H, W) of the images it takes; other sizes are refused, never resized silently
    arch: str
    meta_file: str  # sidecar JSON next to the weights (recipe, sha256, val accuracy)

    def meta(self) -> dict[str, Any]:
        p = WEIGHTS_DIR / self.meta_file
        return json.loads(p.read_text()) if p.is_file() else {}

    def protocol(self) -> dict[str, Any]:
        """The classifier's part of a fingerprint: name, architecture, input, the registered weights' sha256."""
        return {"name": self.name, "arch": self.arch, "dataset": self.dataset, "num_classes": self.num_classes,
                "input_size": list(self.input_size), "weights_sha256": weights.get(self.weights).sha256}


# name -> "module:SPEC" (imported on first use; the module registers the weight file)
CLASSIFIERS: Registry[Any] = Registry("classifier")
CLASSIFIERS.register("embedded-digits", "bench.classifiers.embedded:SPEC")
CLASSIFIERS.register("embedded-daytime", "bench.classifiers.embedded:DAYTIME")
CLASSIFIERS.register("embedded-attributes", "bench.classifiers.embedded:ATTRIBUTES")


class Classifier:
    """A :class:`ClassifierSpec` with its weights loaded: ``__call__(uint8 [B,3,H,W]) -> int64 [B]``."""

    def __init__(self, spec: ClassifierSpec, explicit_weights: str | None = None, device: str = "cpu") -> None:
        from bench.classifiers.cnn import build_net
        from bench.safetensors_io import load_safetensors
        from bench.segmenters.base import load_release

        self.spec = spec
        net = build_net(spec.num_classes)
        path, self.sha256 = load_release(net, spec.weights, explicit_weights, f"classifier '{spec.name}'",
                                         load_safetensors)
        self.path = str(path)
        self.net = net.eval().to(device)

    def __call__(self, images_u8: Any) -> Any:
        from bench.classifiers.cnn import predict

        h, w = images_u8.shape[-2:]
        if (h, w) != self.spec.input_size:
            raise BenchError(f"classifier '{self.spec.name}' takes {self.spec.input_size[0]}x{self.spec.input_size[1]} "
                             f"images (trained on {self.spec.dataset}), got {h}x{w}")
        return predict(self.net, images_u8)


def get_spec(name: str) -> ClassifierSpec:
    """A registered classifier by name; unknown names raise with a did-you-mean."""
    return CLASSIFIERS.get(name)


def get_classifier(name: str, weights_path: str | None = None, device: str = "cpu") -> Classifier:
    return Classifier(get_spec(name), weights_path, device)


def names() -> list[str]:
    return CLASSIFIERS.names()


def class_arrays(dataset: str, split: str) -> tuple[Any, Any]:
    """(uint8 [N,3,H,W] images, int64 [N] classes) of a class dataset's split, in the loader's order."""
    import torch

    from bench.data import get_dataset, load_card
    from bench.tasks import get_task

    task = get_task(load_card(dataset).task)
    if task.class_of is None:
        raise BenchError(f"{dataset} is a {task.name} dataset: its conditions have no classes")
    ds = get_dataset(dataset, split=split)
    items = [ds[i] for i in range(len(ds))]
    images = torch.stack([torch.as_tensor(it["image"]) for it in items])
    return images, torch.tensor([task.class_of(it) for it in items], dtype=torch.int64)
