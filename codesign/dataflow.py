"""Operand and accumulator traffic of stationary orders for one layer on one configuration (after YFlows).

Machine model: the datapath's two operand registers (one activation register ``a(p, r)``, one weight register
``w(o, r)``, each ``width`` bits) and its ``outputs`` accumulators. A layer has ``O`` output channels, ``P``
output pixels and ``R`` register pairs per output (the packed reduction). An operand register is loaded
whenever the next ACC needs a different register than the one it holds; when an ACC's output is not in an
accumulator, its partial sum is filled from memory (if it has one) after the least recently used accumulator
spills its partial sum (if unfinished). Every output is read once at the end.

- ``output``: tiles of ``outputs`` outputs stay in the accumulators while ``r`` runs over the reduction
  (tiles along pixels, which reuse the weight register, or along channels, which reuse the activation; the
  better of the two);
- ``weight``: ``for o, for r`` hold ``w(o, r)`` and sweep every pixel;
- ``input``: ``for p, for r`` hold ``a(p, r)`` and sweep every output channel.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["Traffic", "ORDERS", "traffic", "compare"]


@dataclass(frozen=True)
class Traffic:
    order: str
    a_loads: int
    w_loads: int
    acc_fills: int
    acc_spills: int
    result_reads: int

    @property
    def total(self) -> int:
        """Register moves: operand loads plus accumulator fills, spills and reads."""
        return self.a_loads + self.w_loads + self.acc_fills + self.acc_spills + self.result_reads

    def as_dict(self) -> dict:
        return {**asdict(self), "total": self.total}


def _sequence(order: str, O: int, P: int, R: int, A: int, tile_along: str = "pixels") -> np.ndarray:
    """The ``(o, p, r)`` of every ACC, shape ``(O*P*R, 3)``."""
    o, p, r = np.meshgrid(np.arange(O), np.arange(P), np.arange(R), indexing="ij")
    o, p, r = o.ravel(), p.ravel(), r.ravel()
    if order == "weight":
        key = (p, r, o)            # np.lexsort: last key is the outermost loop
    elif order == "input":
        key = (o, r, p)
    else:
        d = o * P + p if tile_along == "pixels" else p * O + o
        key = (d, r, d // A)      # tile of A consecutive outputs, then r, then the outputs in the tile
    idx = np.lexsort(key)
    return np.stack([o[idx], p[idx], r[idx]], axis=1)


def _count(order: str, seq: np.ndarray, P: int, R: int, A: int) -> Traffic:
    a_key = seq[:, 1] * R + seq[:, 2]
    w_key = seq[:, 0] * R + seq[:, 2]
    a_loads = int(1 + np.count_nonzero(np.diff(a_key))) if len(seq) else 0
    w_loads = int(1 + np.count_nonzero(np.diff(w_key))) if len(seq) else 0
    live: OrderedDict[int, int] = OrderedDict()      # output -> ACCs done, in LRU order
    done: dict[int, int] = {}
    fills = spills = 0
    for o, p, _ in seq.tolist():
        d = o * P + p
        if d in live:
            live.move_to_end(d)
            live[d] += 1
            continue
        if len(live) == A:
            old, n = live.popitem(last=False)
            if n < R:
                spills += 1
                done[old] = n
        if d in done:
            fills += 1
        live[d] = done.pop(d, 0) + 1
    return Traffic(order, a_loads, w_loads, fills, spills, len(np.unique(seq[:, 0] * P + seq[:, 1])))


ORDERS = ("output", "weight", "input")


def traffic(order: str, O: int, P: int, R: int, A: int) -> Traffic:
    """Traffic of ``order`` for a layer of ``O`` channels, ``P`` pixels, ``R`` register pairs per output on
    ``A`` accumulators (``output``: the better tiling)."""
    if order != "output":
        return _count(order, _sequence(order, O, P, R, A), P, R, A)
    both = [_count(order, _sequence(order, O, P, R, A, t), P, R, A) for t in ("pixels", "channels")]
    return min(both, key=lambda t: t.total)


def compare(O: int, P: int, R: int, A: int) -> dict:
    """Every order's traffic and the best one: ``{"orders": {name: dict}, "best": name}``."""
    rows = {name: traffic(name, O, P, R, A) for name in ORDERS}
    best = min(ORDERS, key=lambda n: (rows[n].total, ORDERS.index(n)))
    return {"orders": {n: t.as_dict() for n, t in rows.items()}, "best": best}
