"""Layers -> the datapath's operations, through the golden tensor helpers.

A layer over a batch is one matrix product ``w (O, K) @ cols (K, N*P)``: it is given to
:func:`mixlane.golden.conv2d_ops` as a 1x1 convolution of a ``(K, 1, N*P)`` image, so each output is one dot
product over the layer's ``K`` reduction elements, scheduled output-stationary over the configuration's
``outputs`` accumulators (tiles of consecutive outputs: one output channel, neighbouring pixels), with the
preload as bias. The reduction is reordered by descending precision (a dot product does not depend on the
order); where the configuration's patterns cannot take a precision run as it is, each run but the last (the
narrowest precision) is padded to whole registers with zero elements. (A padded bipolar 1-bit run would use
``+1 * +1`` pairs taken back out of the preload; 1 bit is the narrowest precision, so its run is never padded.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mixlane.config import Config
from mixlane.golden import Ops, conv2d_ops
from .errors import CodesignError
from .integer import IntLayer

__all__ = ["Reduction", "plan_reduction", "layer_ops"]


@dataclass(frozen=True)
class Reduction:
    """The datapath's order of a layer's reduction: per position the element index (``-1``: padding), the
    precision, and the value of a padding element (activation and weight alike)."""

    order: np.ndarray
    prec: np.ndarray
    pad_value: np.ndarray

    @property
    def padding(self) -> int:
        return int((self.order < 0).sum())

    @property
    def pad_correction(self) -> int:
        """What the padding adds to every sum, negated (bipolar ``+1 * +1`` pairs)."""
        return -int(((self.order < 0) * self.pad_value * self.pad_value).sum())

    def apply(self, cols: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(cols (K', M), w (O, K'))`` in datapath order with the padding rows."""
        idx = np.maximum(self.order, 0)
        pad = (self.order < 0)[:, None]
        c = np.where(pad, self.pad_value[:, None], cols[idx])
        ww = np.where(pad.T, self.pad_value[None, :], w[:, idx])
        return c, ww


def _fits(cfg: Config, red: Reduction) -> bool:
    vals = np.where(red.prec == 1, 1, 0) if cfg.binary == "bipolar" else np.zeros(len(red.prec), np.int64)
    try:
        conv2d_ops(cfg, vals[:, None, None], vals[None, :, None, None], prec=red.prec)
    except ValueError:
        return False
    return True


def plan_reduction(cfg: Config, index: int, L: IntLayer) -> Reduction:
    """The reduction order (and padding) of layer ``L`` under ``cfg``; a one-line :class:`CodesignError` when
    the configuration cannot hold its precisions."""
    pk = L.prec_k
    order = np.argsort(-pk, kind="stable")
    red = Reduction(order, pk[order], np.zeros(len(order), np.int64))
    if _fits(cfg, red):
        return red
    parts_o, parts_p, parts_v = [], [], []
    levels = sorted(set(pk.tolist()), reverse=True)
    for j, p in enumerate(levels):
        members = order[pk[order] == p]
        extra = (-len(members)) % (cfg.width // p) if j < len(levels) - 1 else 0
        parts_o += [members, np.full(extra, -1, np.int64)]
        parts_p.append(np.full(len(members) + extra, p, np.int64))
        parts_v.append(np.full(len(members) + extra, 1 if (p == 1 and cfg.binary == "bipolar") else 0, np.int64))
    red = Reduction(np.concatenate(parts_o), np.concatenate(parts_p), np.concatenate(parts_v))
    if _fits(cfg, red):
        return red
    counts = {int(p): int((L.prec == p).sum()) for p in levels}
    raise CodesignError(f"layer {index} ({L.spec.describe()}): input channels at precisions {counts} (channels "
                        f"per precision) do not fit this configuration's patterns; use another precision mode")


def layer_ops(cfg: Config, L: IntLayer, red: Reduction, cols: np.ndarray) -> tuple[Ops, np.ndarray]:
    """Operations of layer ``L`` over the reduction columns ``cols (K, M)`` and the expected accumulator values
    ``(O, M)`` (the golden tensor helper's exact, wrapped sums)."""
    c, w = red.apply(cols, L.w)
    ops, expected = conv2d_ops(cfg, c[:, None, :], w[:, :, None, None], prec=red.prec,
                               bias=L.preload + red.pad_correction)
    return ops, expected.reshape(L.spec.cout, -1)
