"""Golden model of sum-apart datapaths: every element product accumulated apart, in subword accumulators.

Per output, one ``acc_width``-bit register per lane (``pmax`` bits of the register pair). An ACC splits the
register of each lane holding precision ``p`` (the register's, or the lane's in ``pattern``/``channel`` mode) into ``pmax / p`` subwords of ``acc_width * p / pmax`` bits and
adds product ``k`` of the lane into subword ``k`` (two's complement, wrap-around in the subword); the raw bits
stay, so a later ACC at another precision reads them through its own split. LOAD sets every lane register to
``bias`` (low ``acc_width`` bits). A READ returns the lane registers as one unsigned integer, lane 0 lowest.
"""

from __future__ import annotations

import numpy as np

from mixlane.config import Config
from .arith import Ops, unpack
from .layout import decode

__all__ = ["SubwordAccumulator", "element_products"]


def element_products(cfg: Config, ops: Ops) -> tuple[np.ndarray, np.ndarray]:
    """``(products (B, N), layout (B, N))``: the product of every element of every operation."""
    layout = decode(cfg, ops.meta)
    return unpack(cfg, ops.a, layout, "a") * unpack(cfg, ops.w, layout, "w"), layout


class SubwordAccumulator:
    """Accumulator model (``zero``, ``acc``, ``load``, ``read``) of :mod:`mixlane.golden.arith` ``run`` for
    sum-apart architectures; a state is one list of ``lanes`` raw ``acc_width``-bit register values."""

    def __init__(self, cfg: Config, ops: Ops):
        self.cfg = cfg
        self.products, self.layout = element_products(cfg, ops)

    def zero(self) -> list[int]:
        return [0] * self.cfg.lanes

    def acc(self, state: list[int], i: int) -> list[int]:
        cfg = self.cfg
        A, P = cfg.acc_width, cfg.lane_bits
        out = list(state)
        for g in np.nonzero(self.layout[i])[0]:     # element starting at bit g * pmin, of its lane's precision
            p = int(self.layout[i][g])
            F, mask = A * p // P, (1 << (A * p // P)) - 1
            bit = int(g) * cfg.pmin
            lane, k = bit // P, (bit % P) // p
            field = (out[lane] >> (k * F)) & mask
            field = (field + int(self.products[i][g])) & mask
            out[lane] = (out[lane] & ~(mask << (k * F))) | (field << (k * F))
        return out

    def load(self, bias: int) -> list[int]:
        return [bias & ((1 << self.cfg.acc_width) - 1)] * self.cfg.lanes

    def read(self, state: list[int]) -> int:
        return sum(v << (self.cfg.acc_width * lane) for lane, v in enumerate(state))
