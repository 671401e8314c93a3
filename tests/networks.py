"""Small networks with random weights and steps, for tests that need an integer network without training."""

from __future__ import annotations

import numpy as np

from mixlane.codesign import model
from mixlane.config import Config


def random_network(cfg: Config, seed: int = 0, spec: str = "cnn:3,4s2", classes: int = 5):
    """``(layers, params, steps, prec)`` of a ``spec`` CNN on 8x8 images, precisions drawn from ``cfg``'s mode."""
    rng = np.random.default_rng(seed)
    layers = model.parse_model(spec, (1, 8, 8), classes)
    params = model.init_params(layers, seed)
    for p in params:
        p["b"] = rng.normal(0, 0.3, p["b"].shape).astype(np.float32)
    choices = np.array(cfg.mode_precisions)
    prec = [rng.choice(choices, L.cin) for L in layers]
    if cfg.precision_mode == "uniform":
        prec = [np.full(L.cin, rng.choice(choices)) for L in layers]
    steps = [{"log_sa": np.log(rng.uniform(0.05, 0.3, L.cin)).astype(np.float32),
              "log_sw": np.log(rng.uniform(0.01, 0.05, L.cout if L.relu else 1)).astype(np.float32)}
             for L in layers]
    return layers, params, steps, prec
