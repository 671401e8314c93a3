"""Golden arithmetic of bit-serial MACs: register sums from bit planes (Cowan et al.).

``sum_k a_k * w_k = sum_(i,j) s_i * s_j * 2**(i + j) * popcount(A_i AND W_j)``, where ``A_i`` is the plane of
bit ``i`` of every activation element, ``s_i = -1`` for the top plane of a two's complement operand and ``+1``
otherwise; bipolar 1-bit elements give ``2 * popcount(XNOR) - n``. Computed from the packed bits, independently
of :func:`mixlane.golden.arith.unpack`, so the two golden paths check each other.
"""

from __future__ import annotations

import numpy as np

from mixlane.config import Config
from .layout import decode

__all__ = ["bit_plane_sum"]


def bit_plane_sum(cfg: Config, a_bits: np.ndarray, w_bits: np.ndarray, meta: np.ndarray) -> np.ndarray:
    """Register sums ``(B,)`` of packed register pairs ``(B, width)`` from their bit planes."""
    a_bits = np.asarray(a_bits, dtype=np.int64)
    w_bits = np.asarray(w_bits, dtype=np.int64)
    layout = decode(cfg, meta)
    out = np.zeros(len(layout), dtype=np.int64)
    starts = np.arange(cfg.max_elements) * cfg.pmin
    for p in cfg.precisions:
        present = layout == p                                      # (B, N): an element of p bits starts here
        if not present.any():
            continue
        pos = np.minimum(starts[:, None] + np.arange(p)[None, :], cfg.width - 1)      # (N, p)
        A = a_bits[:, pos] * present[:, :, None]                   # (B, N, p) planes, zero where no element
        W = w_bits[:, pos] * present[:, :, None]
        if p == 1 and cfg.binary == "bipolar":
            xnor = (A[:, :, 0] == W[:, :, 0]) & present
            out += 2 * xnor.sum(axis=1) - present.sum(axis=1)
            continue
        sign_a = np.ones(p, dtype=np.int64)
        sign_w = np.ones(p, dtype=np.int64)
        if p > 1 and cfg.activation_signed:
            sign_a[-1] = -1
        if p > 1 and cfg.weight_signed:
            sign_w[-1] = -1
        for i in range(p):
            for j in range(p):
                count = (A[:, :, i] & W[:, :, j]).sum(axis=1)         # popcount(A_i AND W_j)
                out += sign_a[i] * sign_w[j] * (count << (i + j))
    return out
