"""The integer network: weight codes, accumulator preloads and requantization, as the datapath runs it.

Per layer: ``w (O, K)`` codes (``K = C * taps``, channel-major like :func:`mixlane.golden.im2col`), ``preload
(O,)`` = bias code + ``sum`` of the weight codes of bipolar 1-bit channels (a bipolar code ``2b - 1`` stands for
``b`` steps, so ``sum u*w = sum code*w + sum w``). Between layers, outside the datapath, in integer arithmetic:
``b = clip((acc * m + 2**(F-1)) >> F, 0, hi)`` per input channel of the next layer with the fixed-point
multiplier ``m = round(s_w / s_a * 2**F)``, ``m`` up to 31 bits wide (``F`` per channel; the 64-bit product
``acc * m`` cannot overflow for the previous layer's largest sum) (ReLU is the clip at 0); the datapath code is ``b``, or ``2b - 1``
for a bipolar 1-bit channel. The first layer's codes come from the float input: ``clip(floor(x / s_a + 1/2))``.
The classifier's accumulator values are the logits (one weight step for all classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixlane.config import Config
from .errors import CodesignError
from .model import LOG_STEP_RANGE, LayerSpec, layer_quant

__all__ = ["IntLayer", "IntNetwork", "to_integer", "check_capacity", "input_codes", "requantize", "patches", "columns"]


@dataclass
class IntLayer:
    spec: LayerSpec
    prec: np.ndarray          # (C,) precision of every input channel
    w: np.ndarray             # (O, K) int64 weight codes
    preload: np.ndarray       # (O,) int64
    a_hi: np.ndarray          # (C,) largest step count b of each input channel
    a_bipolar: np.ndarray     # (C,) bool: code 2b - 1
    s_a: np.ndarray           # (C,) float activation steps
    s_w: np.ndarray           # (O,) float weight steps (output scale of the accumulator)
    mult: np.ndarray          # (C,) int64 requantization multipliers from the previous layer (unused: first)
    shift: np.ndarray         # (C,) their fraction bits F

    @property
    def prec_k(self) -> np.ndarray:
        """Precision of every reduction element ``(K,)``."""
        return np.repeat(self.prec, self.spec.taps)

    def code_bound(self) -> np.ndarray:
        """Largest |activation code| of every reduction element ``(K,)``."""
        return np.repeat(np.maximum(self.a_hi, 1), self.spec.taps).astype(np.int64)


@dataclass
class IntNetwork:
    cfg: Config
    layers: list[IntLayer]

    @property
    def weight_bits(self) -> int:
        return int(sum((L.prec_k * L.spec.cout).sum() for L in self.layers))

    @property
    def weights(self) -> int:
        return int(sum(L.spec.weights for L in self.layers))


def to_integer(cfg: Config, layers: list[LayerSpec], params: list[dict], steps: list[dict],
               prec: list[np.ndarray]) -> IntNetwork:
    """Export trained parameters and steps to the integer network; checks that ``cfg``'s accumulators hold
    every layer's worst-case sum (one-line :class:`CodesignError` otherwise)."""
    out: list[IntLayer] = []
    prev_bound = 0
    for i, (L, p, s, pr) in enumerate(zip(layers, params, steps, prec)):
        q = layer_quant(cfg, pr)
        if not all(np.isfinite(v).all() for v in (*s.values(), *p.values())):
            raise CodesignError(f"layer {i}: training diverged (non-finite parameters); lower the learning rate "
                                "or change --seed")
        sa = np.exp(np.clip(s["log_sa"].astype(np.float64), *LOG_STEP_RANGE))
        sw = np.broadcast_to(np.exp(np.clip(s["log_sw"].astype(np.float64), *LOG_STEP_RANGE)), (L.cout,)).copy()
        t = sa * q.g
        v = p["w"].astype(np.float64).reshape(L.cout, L.cin, L.taps) * t[None, :, None] / sw[:, None, None]
        w = q.weight_codes(v).astype(np.int64).reshape(L.cout, L.reduction)
        bound = q.sum_bound(L.taps)
        bq = np.clip(np.floor(p["b"].astype(np.float64) / sw + 0.5), -bound, bound).astype(np.int64)
        bip_k = np.repeat(q.w_bipolar & (cfg.binary == "bipolar"), L.taps)
        preload = bq + (w * bip_k[None, :]).sum(axis=1)
        mult, shift = np.zeros(L.cin, np.int64), np.ones(L.cin, np.int64)
        if out:
            per_in = np.repeat(out[-1].s_w, L.cin // out[-1].spec.cout)   # conv -> dense: channel-major features
            mult, shift = _multipliers(per_in / sa, prev_bound)
        layer = IntLayer(L, np.asarray(pr, np.int64), w, preload, q.a_hi.astype(np.int64), q.w_bipolar.copy(),
                         sa, sw, mult, shift)
        prev_bound = _check_sums(cfg, i, layer)
        out.append(layer)
    return IntNetwork(cfg, out)


def _multipliers(ratio: np.ndarray, acc_bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-point ``(m, F)`` per channel with ``m / 2**F ~ ratio``: ``m`` as wide as the 64-bit product
    ``acc * m`` allows for ``|acc| <= acc_bound`` (at most 31 bits), ``F >= 1``."""
    mbits = min(31, 62 - int(acc_bound).bit_length())
    if mbits < 8:
        raise CodesignError(f"requantization: sums up to {acc_bound} leave fewer than 8 multiplier bits in 64-bit "
                            "arithmetic; use a narrower acc_width or a smaller model")
    exp = np.floor(np.log2(np.maximum(ratio, 1e-300))).astype(np.int64)
    shift = np.clip(mbits - 1 - exp, 1, 62)
    mult = np.round(ratio * np.exp2(shift.astype(np.float64))).astype(np.int64)
    if (mult >= 1 << mbits).any():
        raise CodesignError(f"requantization: a step ratio of {float(ratio.max()):.3g} does not fit {mbits}-bit "
                            "multipliers; retrain with another --seed")
    return mult, shift


def check_capacity(cfg: Config, layers: list[LayerSpec], what: str = "acc_width") -> None:
    """Before training: every layer's worst-case sum at the widest precision must fit the accumulators."""
    p = max(cfg.mode_precisions)
    for i, L in enumerate(layers):
        bound = L.reduction * cfg.max_product(p) + cfg.width
        need = bound.bit_length() + 1
        if need > cfg.acc_width:
            raise CodesignError(f"{what}: {cfg.acc_width} bits cannot hold layer {i} ({L.describe()}) sums at "
                                f"{p} bits (up to {bound}); use acc_width >= {need} or a smaller model")


def _check_sums(cfg: Config, i: int, L: IntLayer) -> int:
    """The layer's largest |accumulator value|; raises when the accumulators cannot hold it."""
    bound = int((np.abs(L.w) @ L.code_bound() + np.abs(L.preload)).max()) + cfg.width
    need = bound.bit_length() + 1
    if need > cfg.acc_width:
        raise CodesignError(f"acc_width: {cfg.acc_width} bits cannot hold layer {i} ({L.spec.describe()}) sums "
                            f"(up to {bound}); use acc_width >= {need} or narrower precisions")
    return bound


def input_codes(L: IntLayer, x: np.ndarray) -> np.ndarray:
    """Codes of the float network input ``x`` (first layer)."""
    if L.spec.kind == "dense":
        x = x.reshape(len(x), -1)
    shape = (1, -1, 1, 1) if L.spec.kind == "conv" else (1, -1)
    b = np.clip(np.floor(x.astype(np.float64) / L.s_a.reshape(shape) + 0.5), 0, L.a_hi.reshape(shape))
    return _codes(L, b.astype(np.int64), shape)


def requantize(L: IntLayer, acc: np.ndarray) -> np.ndarray:
    """Codes of layer ``L``'s input from the previous layer's accumulator values ``acc (N, O, P)``."""
    n = len(acc)
    flat = acc.reshape(n, -1) if L.spec.kind == "dense" else acc
    shape = (1, -1) if L.spec.kind == "dense" else (1, -1, 1)
    sh = L.shift.reshape(shape)
    b = np.clip((flat * L.mult.reshape(shape) + (np.int64(1) << (sh - 1))) >> sh, 0, L.a_hi.reshape(shape))
    if L.spec.kind == "conv":
        b = b.reshape((n,) + L.spec.in_shape)
        shape = (1, -1, 1, 1)
    return _codes(L, b, shape)


def _codes(L: IntLayer, b: np.ndarray, shape) -> np.ndarray:
    return np.where(L.a_bipolar.reshape(shape), 2 * b - 1, b)


def patches(x: np.ndarray, L: LayerSpec) -> np.ndarray:
    """``(N, C, taps, P)`` input patches of a conv layer (``(N, F, 1, 1)`` for dense)."""
    if L.kind == "dense":
        return x.reshape(len(x), -1)[:, :, None, None]
    win = np.lib.stride_tricks.sliding_window_view(x, (L.k, L.k), axis=(2, 3))[:, :, ::L.stride, ::L.stride]
    n, c, ho, wo = win.shape[:4]
    return win.reshape(n, c, ho * wo, L.k * L.k).transpose(0, 1, 3, 2)


def columns(x: np.ndarray, L: LayerSpec) -> np.ndarray:
    """The reduction columns ``(K, N*P)`` of a batch (column ``n*P + pixel``)."""
    pat = patches(x, L)
    n, c, t, p = pat.shape
    return np.ascontiguousarray(pat.transpose(1, 2, 0, 3)).reshape(c * t, n * p)
