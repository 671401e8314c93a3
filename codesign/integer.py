"""The integer network: weight codes, accumulator preloads and requantization, as the datapath runs it.

Per layer: ``w (O, K)`` codes (``K = C * taps``, channel-major like :func:`mixlane.golden.im2col`), ``preload
(O,)`` = bias code + ``sum`` of the weight codes of bipolar 1-bit channels (a bipolar code ``2b - 1`` stands for
``b`` steps, so ``sum u*w = sum code*w + sum w``). Between layers, outside the datapath, in integer arithmetic:
``b = clip((acc * m + 2**(F-1)) >> F, 0, hi)`` per input channel of the next layer with the fixed-point
multiplier ``m = round(s_w / s_a * 2**F)`` (ReLU is the clip at 0); the datapath code is ``b``, or ``2b - 1``
for a bipolar 1-bit channel. The first layer's codes come from the float input: ``clip(floor(x / s_a + 1/2))``.
The classifier's accumulator values are the logits (one weight step for all classes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixlane.config import Config
from .errors import CodesignError
from .model import LOG_STEP_RANGE, LayerSpec, layer_quant

__all__ = ["IntLayer", "IntNetwork", "to_integer", "check_capacity", "input_codes", "requantize", "patches", "columns",
           "FRACTION_BITS"]

#: Fraction bits of the requantization multipliers.
FRACTION_BITS = 16


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
    out = []
    prev_sw = None
    for i, (L, p, s, pr) in enumerate(zip(layers, params, steps, prec)):
        q = layer_quant(cfg, pr)
        if not all(np.isfinite(v).all() for v in (*s.values(), *p.values())):
            raise CodesignError(f"layer {i}: training diverged (non-finite parameters); lower the learning rate "
                                "or change --seed")
        sa = np.exp(np.clip(s["log_sa"].astype(np.float64), *LOG_STEP_RANGE))
        sw = np.broadcast_to(np.exp(np.clip(s["log_sw"].astype(np.float64), *LOG_STEP_RANGE)), (L.cout,)).copy()
        t = sa * q.g
        v = p["w"].astype(np.float64).reshape(L.cout, L.cin, L.taps) * t[None, :, None] / sw[:, None, None]
        lo, hi = q.w_lo[None, :, None], q.w_hi[None, :, None]
        code = np.where(q.w_bipolar[None, :, None], np.where(v >= 0, 1, -1), np.clip(np.floor(v + 0.5), lo, hi))
        w = code.astype(np.int64).reshape(L.cout, L.reduction)
        bound = q.sum_bound(L.taps)
        bq = np.clip(np.floor(p["b"].astype(np.float64) / sw + 0.5), -bound, bound).astype(np.int64)
        bip_k = np.repeat(q.w_bipolar & (cfg.binary == "bipolar"), L.taps)
        preload = bq + (w * bip_k[None, :]).sum(axis=1)
        mult = np.zeros(L.cin, np.int64)
        if prev_sw is not None:
            per_in = np.repeat(prev_sw, L.cin // len(prev_sw))          # conv -> dense: channel-major features
            mult = np.round(per_in / sa * (1 << FRACTION_BITS)).astype(np.int64)
        layer = IntLayer(L, np.asarray(pr, np.int64), w, preload, q.a_hi.astype(np.int64), q.w_bipolar.copy(),
                         sa, sw, mult)
        _check_sums(cfg, i, layer)
        out.append(layer)
        prev_sw = sw
    return IntNetwork(cfg, out)


def check_capacity(cfg: Config, layers: list[LayerSpec]) -> None:
    """Before training: every layer's worst-case sum at the widest precision must fit the accumulators."""
    p = max(cfg.mode_precisions)
    for i, L in enumerate(layers):
        bound = L.reduction * cfg.max_product(p) + cfg.width
        need = bound.bit_length() + 1
        if need > cfg.acc_width:
            raise CodesignError(f"acc_width: {cfg.acc_width} bits cannot hold layer {i} ({L.describe()}) sums at "
                                f"{p} bits (up to {bound}); use acc_width >= {need} or a smaller model")


def _check_sums(cfg: Config, i: int, L: IntLayer) -> None:
    bound = int((np.abs(L.w) @ L.code_bound() + np.abs(L.preload)).max()) + cfg.width
    need = bound.bit_length() + 1
    if need > cfg.acc_width:
        raise CodesignError(f"acc_width: {cfg.acc_width} bits cannot hold layer {i} ({L.spec.describe()}) sums "
                            f"(up to {bound}); use acc_width >= {need} or narrower precisions")
    if bound * int(max(L.mult.max(initial=0), 1)) >= 1 << 62:
        raise CodesignError(f"layer {i}: requantization of sums up to {bound} overflows 64 bits; "
                            "use smaller activation steps ratios (retrain)")


def input_codes(L: IntLayer, x: np.ndarray) -> np.ndarray:
    """Codes of the float network input ``x`` (first layer)."""
    shape = (1, -1, 1, 1) if L.spec.kind == "conv" else (1, -1)
    b = np.clip(np.floor(x.astype(np.float64) / L.s_a.reshape(shape) + 0.5), 0, L.a_hi.reshape(shape))
    return _codes(L, b.astype(np.int64), shape)


def requantize(L: IntLayer, acc: np.ndarray) -> np.ndarray:
    """Codes of layer ``L``'s input from the previous layer's accumulator values ``acc (N, O, P)``."""
    n = len(acc)
    flat = acc.reshape(n, -1) if L.spec.kind == "dense" else acc
    shape = (1, -1) if L.spec.kind == "dense" else (1, -1, 1)
    half = np.int64(1 << (FRACTION_BITS - 1))
    b = np.clip((flat * L.mult.reshape(shape) + half) >> FRACTION_BITS, 0, L.a_hi.reshape(shape))
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
