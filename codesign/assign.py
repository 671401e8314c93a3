"""Per-channel precisions under a bit budget, and the initial quantization steps.

Steps: ``s_a`` per input channel minimises the activation's quantization error on calibration data at its
precision; ``s_w`` per output channel (one for the classifier) minimises the error of the effective weights
``W * t``. Sensitivity of a precision group (an input channel, or a whole layer where the configuration
cannot mix precisions inside one reduction) at ``p`` bits: the change of the loss estimated to second order
with the empirical Fisher information of the layer's outputs,
``sum_n sum_o (dL/dy[n, o])^2 * (dy[n, o] from quantizing the group at p)^2``. The greedy assignment starts
every group at the widest precision and repeatedly lowers the group with the least sensitivity per weight
bit saved until the mean weight precision meets the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixlane.config import Config
from .errors import CodesignError, require
from .integer import patches
from .model import LayerQuant, LayerSpec, add_bias, layer_product, layer_quant

__all__ = ["Assignment", "fit_steps", "sensitivities", "assign_precisions", "check_budget"]

_GRID = np.linspace(0.15, 1.0, 35)


@dataclass
class Assignment:
    """Precision of every input channel of every layer, with the weight bits it costs."""

    prec: list[np.ndarray]
    weight_bits: int
    weights: int

    @property
    def mean_bits(self) -> float:
        return self.weight_bits / max(1, self.weights)


def _act_step(x: np.ndarray, hi: float) -> float:
    """MSE-optimal step for non-negative values ``x`` held as ``0..hi`` steps."""
    top = float(np.percentile(x, 99.9)) if x.size else 0.0
    if top <= 0:
        return 1.0
    cands = _GRID * top / hi
    err = [np.mean((x - s * np.clip(np.floor(x / s + 0.5), 0, hi)) ** 2) for s in cands]
    return float(cands[int(np.argmin(err))])


def _weight_steps(v: np.ndarray, q: LayerQuant, shared: bool) -> np.ndarray:
    """MSE-optimal ``s_w`` per row of effective weights ``v (O, C, taps)`` (one for all rows if ``shared``)."""
    reach = np.where(v >= 0, q.w_hi[None, :, None], -q.w_lo[None, :, None])   # largest code in v's direction
    ratio = np.where(reach > 0, np.abs(v) / np.maximum(reach, 1e-12), 0.0)   # no code on that side (unipolar 1 bit)
    top = ratio.reshape(len(v), -1).max(axis=1)                                  # unclipped step per row
    if shared:
        top = np.full(len(v), top.max())
    top = np.where(top > 0, top, 1.0)
    s = _GRID[:, None, None, None] * top[None, :, None, None]                         # (G, O, 1, 1)
    qv = q.weight_codes(v[None] / s) * s
    err = ((v[None] - qv) ** 2).sum(axis=(2, 3))                                        # (G, O)
    if shared:
        err = np.broadcast_to(err.sum(axis=1, keepdims=True), err.shape)
    best = s[np.argmin(err, axis=0), np.arange(len(v)), 0, 0]
    return best[:1] if shared else best


def fit_steps(cfg: Config, layers: list[LayerSpec], params: list[dict], inputs: list[np.ndarray],
              prec: list[np.ndarray]) -> list[dict]:
    """Initial ``log_sa`` (per input channel) and ``log_sw`` steps for the precisions ``prec``."""
    steps = []
    for L, p, x, pr in zip(layers, params, inputs, prec):
        q = layer_quant(cfg, pr)
        xc = np.moveaxis(x, 1, 0).reshape(L.cin, -1)
        sa = np.array([_act_step(xc[c], float(q.a_hi[c])) for c in range(L.cin)])
        t = sa * q.g
        v = p["w"].reshape(L.cout, L.cin, L.taps) * t[None, :, None]
        sw = _weight_steps(v, q, shared=not L.relu)
        steps.append({"log_sa": np.log(sa).astype(np.float32), "log_sw": np.log(sw).astype(np.float32)})
    return steps


def _output_grads(layers: list[LayerSpec], params: list[dict], x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """``dL/dy`` of every layer's pre-activation output, per example, as ``(N, O, P)``."""
    jax = require("jax")
    optax = require("optax")
    jnp = jax.numpy

    def loss(eps):
        h = jnp.asarray(x)
        for L, p, e in zip(layers, params, eps):
            if L.kind == "dense":
                h = h.reshape(h.shape[0], -1)
            z = add_bias(L, layer_product(L, h, p["w"]), p["b"]) + e
            h = jax.nn.relu(z) if L.relu else z
        return optax.softmax_cross_entropy_with_integer_labels(h, jnp.asarray(y)).sum()

    eps = [jnp.zeros((len(x),) + L.out_shape, jnp.float32) for L in layers]
    grads = jax.grad(loss)(eps)
    return [np.asarray(g).reshape(len(x), L.cout, -1) for g, L in zip(grads, layers)]


def _quantized_channel(cfg: Config, p: int, x: np.ndarray, w: np.ndarray, sw: np.ndarray):
    """``(x_hat, w_hat)`` of one input channel (``x (N, taps, P)`` >= 0, ``w (O, taps)``) at ``p`` bits with
    row steps ``sw (O,)`` (or one)."""
    q = layer_quant(cfg, [p])
    sa = _act_step(x.ravel(), float(q.a_hi[0]))
    xh = sa * np.clip(np.floor(x / sa + 0.5), 0, q.a_hi[0])
    t = sa * q.g[0]
    code = q.weight_codes((w * t / sw.reshape(-1, 1))[:, None, :])[:, 0, :]
    return xh, code * sw.reshape(-1, 1) / t


def sensitivities(cfg: Config, layers: list[LayerSpec], params: list[dict], inputs: list[np.ndarray],
                  y: np.ndarray, choices: tuple[int, ...]) -> list[np.ndarray]:
    """Per layer ``(C, len(choices))``: the Fisher-weighted output error of quantizing input channel ``c`` at
    ``choices[j]`` bits (the other channels float). Row steps come from the widest choice."""
    grads = _output_grads(layers, params, inputs[0], y)
    out = []
    for L, p, x, g in zip(layers, params, inputs, grads):
        pat = patches(x, L)                                        # (N, C, taps, P)
        w = p["w"].reshape(L.cout, L.cin, L.taps)
        top = fit_steps(cfg, [L], [p], [x], [np.full(L.cin, max(choices))])[0]
        sw = np.exp(top["log_sw"]).astype(np.float64)
        sens = np.zeros((L.cin, len(choices)))
        for c in range(L.cin):
            exact = np.einsum("ot,ntp->nop", w[:, c], pat[:, c])
            for j, prec in enumerate(choices):
                xh, wh = _quantized_channel(cfg, prec, pat[:, c], w[:, c], sw)
                dy = np.einsum("ot,ntp->nop", wh, xh) - exact
                sens[c, j] = float(np.sum((g * dy) ** 2))
        out.append(sens)
    return out


def check_budget(budget: float, choices: tuple[int, ...]) -> None:
    """A budget must be a finite number of bits no lower than the narrowest precision."""
    if not (isinstance(budget, (int, float)) and np.isfinite(budget)) or budget < min(choices):
        raise CodesignError(f"--budget: {budget!r} bits per weight is not allowed; the narrowest precision this "
                            f"configuration allows is {min(choices)} bits; use --budget >= {min(choices)}")


def assign_precisions(cfg: Config, layers: list[LayerSpec], sens: list[np.ndarray], budget: float,
                      choices: tuple[int, ...], *, per_channel: bool) -> Assignment:
    """Greedy: every group at ``max(choices)``, then lower the group whose sensitivity grows least per weight
    bit saved until the mean weight precision is ``<= budget``. Groups are input channels (``per_channel``)
    or whole layers (configurations whose reductions hold one precision)."""
    check_budget(budget, choices)
    groups = []     # (layer, channel slice, weights per channel, sensitivity per choice)
    for i, (L, s) in enumerate(zip(layers, sens)):
        if per_channel:
            groups += [(i, slice(c, c + 1), L.cout * L.taps, s[c]) for c in range(L.cin)]
        else:
            groups.append((i, slice(0, L.cin), L.weights, s.sum(axis=0)))
    level = [len(choices) - 1] * len(groups)
    total = sum(L.weights for L in layers)
    bits = max(choices) * total
    while bits > budget * total:
        best, best_cost = -1, np.inf
        for gi, (_, _, n, s) in enumerate(groups):
            j = level[gi]
            if j == 0:
                continue
            cost = (s[j - 1] - s[j]) / (n * (choices[j] - choices[j - 1]))
            if cost < best_cost:
                best, best_cost = gi, cost
        if best < 0:
            break
        j = level[best]
        bits -= groups[best][2] * (choices[j] - choices[j - 1])
        level[best] = j - 1
    prec = [np.full(L.cin, max(choices), np.int64) for L in layers]
    for (i, sl, _, _), j in zip(groups, level):
        prec[i][sl] = choices[j]
    return Assignment(prec, int(sum(int((p * L.cout * L.taps).sum()) for p, L in zip(prec, layers))), total)
