"""Datasets that ship inside scikit-learn (no download at run time), split deterministically.

Every dataset yields inputs scaled to ``[0, 1]`` (the first layer's activations are unsigned codes):
``digits`` as images ``(N, 1, 8, 8)`` (pixel / 16), the tabular ones as ``(N, F)`` min-max scaled with the
training split's range (test values clipped into it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import CodesignError, require

__all__ = ["Dataset", "DATASETS", "load"]


@dataclass(frozen=True)
class Dataset:
    name: str
    x_train: np.ndarray      # float32, (N, C, H, W) images or (N, F) features, in [0, 1]
    y_train: np.ndarray      # int64 class ids
    x_test: np.ndarray
    y_test: np.ndarray
    classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def is_image(self) -> bool:
        return self.x_train.ndim == 4


def _digits():
    d = require("sklearn.datasets").load_digits()
    return (d.images[:, None, :, :] / 16.0).astype(np.float32), d.target.astype(np.int64), True


def _tabular(loader: str) -> Callable:
    def load_it():
        d = getattr(require("sklearn.datasets"), loader)()
        return d.data.astype(np.float64), d.target.astype(np.int64), False
    return load_it


#: name -> (summary, loader returning (x, y, is_image))
DATASETS: dict[str, tuple[str, Callable]] = {
    "digits": ("8x8 handwritten digits, 1797 images, 10 classes (CNN)", _digits),
    "breast_cancer": ("Wisconsin breast cancer, 569 samples, 30 features, 2 classes (MLP)",
                      _tabular("load_breast_cancer")),
    "wine": ("wine recognition, 178 samples, 13 features, 3 classes (MLP)", _tabular("load_wine")),
}


def load(name: str, *, test_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """The dataset ``name`` split into train and test, stratified by class, deterministic in ``seed``."""
    if name not in DATASETS:
        raise CodesignError(f"--dataset: {name!r} is not a bundled dataset; use one of {sorted(DATASETS)}")
    if not 0.05 <= test_fraction <= 0.5:
        raise CodesignError(f"test_fraction: {test_fraction} is out of range; use 0.05 to 0.5")
    x, y, image = DATASETS[name][1]()
    split = require("sklearn.model_selection").train_test_split
    x_tr, x_te, y_tr, y_te = split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    if not image:
        lo, hi = x_tr.min(axis=0), x_tr.max(axis=0)
        span = np.where(hi > lo, hi - lo, 1.0)
        x_tr = ((x_tr - lo) / span).astype(np.float32)
        x_te = np.clip((x_te - lo) / span, 0.0, 1.0).astype(np.float32)
    return Dataset(name, x_tr, y_tr, x_te, y_te, int(y.max()) + 1)
