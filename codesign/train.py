"""Training: the float network first, then quantization-aware fine-tuning of weights and steps (Adam, optax).

Deterministic: minibatch order from ``numpy.random.default_rng(seed)``; JAX runs on the CPU.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import require

__all__ = ["fit", "accuracy"]


def _loss_fn(forward: Callable, weight_decay: float):
    jax = require("jax")
    optax = require("optax")

    def loss(trainable, frozen, x, y):
        logits = forward(trainable, frozen, x)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        l2 = sum(jax.numpy.sum(p["w"] ** 2) for p in trainable["params"]) if weight_decay else 0.0
        return ce + weight_decay * l2
    return loss


def fit(forward: Callable, trainable: dict, frozen, x: np.ndarray, y: np.ndarray, *, epochs: int, lr: float,
        seed: int, batch: int = 64, weight_decay: float = 0.0) -> dict:
    """Minimise cross-entropy of ``forward(trainable, frozen, x) -> logits`` over ``epochs`` passes; returns
    the trained ``trainable`` pytree (numpy leaves). Cosine-decayed Adam, gradients clipped to norm 5."""
    jax = require("jax")
    optax = require("optax")
    n = len(x)
    steps_per_epoch = max(1, n // batch)          # the loop below drops a last partial batch
    sched = optax.cosine_decay_schedule(lr, max(1, epochs * steps_per_epoch))
    opt = optax.chain(optax.clip_by_global_norm(5.0), optax.adam(sched))
    loss = _loss_fn(forward, weight_decay)

    @jax.jit
    def step(state, opt_state, xb, yb):
        g = jax.grad(loss)(state, frozen, xb, yb)
        upd, opt_state = opt.update(g, opt_state, state)
        return optax.apply_updates(state, upd), opt_state

    state = jax.tree_util.tree_map(jax.numpy.asarray, trainable)
    opt_state = opt.init(state)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(n)
        for i in range(0, n - batch + 1 if n >= batch else 1, batch):
            idx = order[i:i + batch]
            state, opt_state = step(state, opt_state, x[idx], y[idx])
    return jax.tree_util.tree_map(np.asarray, state)


def accuracy(forward: Callable, trainable: dict, frozen, x: np.ndarray, y: np.ndarray, batch: int = 512) -> float:
    """Fraction of ``x`` whose argmax logit is ``y``."""
    jax = require("jax")
    f = jax.jit(lambda t, xb: forward(t, frozen, xb))
    hits = sum(int((np.asarray(f(trainable, x[i:i + batch])).argmax(1) == y[i:i + batch]).sum())
               for i in range(0, len(x), batch))
    return hits / len(x)
