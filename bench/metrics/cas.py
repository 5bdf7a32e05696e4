"""Classification Accuracy Score (Ravuri & Vinyals 2019): train a classifier on the generated samples, labelled with
the class each was generated for, and report its accuracy on the real images. A generator whose samples carry the
features of their classes, in their variety, trains a classifier that works on real data; one that draws a single
prototype per class, or images of the wrong class, does not, whatever its FID.

Protocol (fingerprinted): the classifier recipe of bench.classifiers.cnn (the one the embedded classifier was trained
with), ``cas_steps`` steps, one classifier per seed in ``cas_seeds`` (mean and std over seeds reported); trained on
every evaluated sample, in file-name order, tested on every real image of the real folder. The paper trains on as
many samples as the real training set and tests on the real test set; here the samples are those of the evaluated
split and the test set is its real images (say so when comparing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bench import images as imio
from bench.metrics.base import Metric
from bench.metrics.classes import real_classes, sample_classes
from bench.metrics.registry import Column, MetricSpec

DEFAULT_STEPS = 300  # the embedded recipe reaches 99.2 % on real digits val in 300 steps from the 1,442 train images


def _options(ctx) -> Any:
    from bench.classifiers.cnn import TrainOptions

    return TrainOptions(steps=ctx.opts.cas_steps or DEFAULT_STEPS)


def classification_accuracy_score(train_u8: torch.Tensor, train_cls: torch.Tensor, test_u8: torch.Tensor,
                                  test_cls: torch.Tensor, num_classes: int, opts: Any, seeds: tuple[int, ...],
                                  device: str = "cpu") -> dict[str, Any]:
    """Accuracy on (test_u8, test_cls) of the classifier trained on (train_u8, train_cls), per seed."""
    from bench.classifiers import cnn

    per_seed = []
    for seed in seeds:
        net = cnn.train(train_u8, train_cls, num_classes, opts, seed, device=device)
        per_seed.append(float((cnn.predict(net, test_u8) == test_cls).double().mean()))
    return {"cas": float(np.mean(per_seed)), "cas_std": float(np.std(per_seed)), "per_seed": per_seed}


class CAS(Metric):
    name = "cas"

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        order = sorted(p.file.rel for p in ctx.pairs)
        self.position = {rel: i for i, rel in enumerate(order)}
        self.add_cat_state("images")
        self.add_cat_state("class")
        self.add_cat_state("order")

    def update_view(self, view) -> None:
        self._append("images", view.fake)
        self._append("class", torch.from_numpy(sample_classes(self.ctx, view.items)))
        self._append("order", torch.tensor([self.position[f.rel] for f in view.files], dtype=torch.int64))

    def compute(self) -> dict:
        order = torch.argsort(self.state("order"))  # file-name order, whatever the batching and sharding
        train_u8, train_cls = self.state("images")[order], self.state("class")[order]
        test_u8 = torch.stack([torch.tensor(imio.decode(r)).permute(2, 0, 1) for r in self.ctx.reals])
        test_cls = torch.from_numpy(real_classes(self.ctx))
        n = int(max(int(test_cls.max()), int(train_cls.max()))) + 1
        out = classification_accuracy_score(train_u8, train_cls, test_u8, test_cls, n, _options(self.ctx),
                                            tuple(self.ctx.opts.cas_seeds), str(self.ctx.opts.device))
        return {"cas": out["cas"], "cas_std": out["cas_std"], "_details": {"cas_per_seed": out["per_seed"]}}


def _protocol(ctx) -> dict[str, Any]:
    from bench.protocol import Protocol

    return {"cas": Protocol.freeze({**_options(ctx).as_dict(), "seeds": list(ctx.opts.cas_seeds),
                                    "train": "every evaluated sample, labelled with its condition's class",
                                    "test": "every image of the real folder"})}


SPEC = MetricSpec(
    "cas", higher_is_better=True, inputs=("pixels", "classes"), build=CAS, protocol=_protocol, one_size=True,
    columns=(Column("cas", "CAS", True, 1, percent=True),), builtin=True,
    description="accuracy on the real images of a classifier trained on the samples (Ravuri & Vinyals 2019)",
)
