"""Non-blocking SMT lanes (``mac = "nbsmt"``, SySMT-like): ``threads`` adjacent register elements share one
8b x 8b unit per cycle (``precisions = [8]``, ``uniform``; unsigned activations, signed weights).

A thread with a zero activation or weight needs no share. One busy thread runs exact; on a collision the unit
splits (2 ways: 4-bit activation windows, ``placements`` 5/3/2; 4 ways with four threads: 2-bit windows, every
position) and each busy thread's trimmed activation multiplies its exact weight. Never a stall: one cycle per
operation, ``threads`` times the elements per multiplier of the INT8 baseline. Options: ``threads`` (2, 4),
``placements``, ``rounding``. RTL: :class:`mixlane.rtl.shared_lane.SharedLane`; golden:
:func:`mixlane.golden.sparse.nbsmt_sum`.
"""

from __future__ import annotations

from typing import Any

from mixlane.golden.sparse import DEFAULT_PLACEMENTS

from . import Option
from .sparq import EightBitActivations

__all__ = ["NbSmt"]


class NbSmt(EightBitActivations):
    name = "nbsmt"
    summary = ("NB-SMT: threads (2 or 4) of adjacent elements share one 8x8 unit; a lone busy thread runs "
               "exact, colliding ones get trimmed activation windows; never stalls")
    rtl = "mixlane.rtl.shared_lane:SharedLane"
    golden = "mixlane.golden.sparse:nbsmt_sum"
    options = {
        "threads": Option(2, (2, 4), help="elements sharing one 8b x 8b unit"),
        "placements": Option(5, (5, 3, 2), help="positions of the 4-bit window on a two-way collision"),
        "rounding": Option(True, (True, False), help="round half to even on the dropped bits (else truncate)"),
    }

    def slots_per_lane(self, cfg: Any) -> int:
        return cfg.option("threads")

    def trim_windows(self, cfg: Any) -> list[tuple[int, int]]:
        return [(4, cfg.option("placements"))] + ([(2, DEFAULT_PLACEMENTS[2])] if cfg.option("threads") == 4 else [])

    def shares_unit(self, cfg: Any) -> bool:
        return True

    def busy(self, cfg: Any, a: Any, w: Any) -> Any:
        return (a != 0) & (w != 0)

    def trimmed(self, cfg: Any, a: Any, busy: Any) -> dict[int, Any]:
        count = busy.sum(axis=-1, keepdims=True)
        out = {4: busy & (count == 2)}
        if cfg.option("threads") == 4:
            out[2] = busy & (count >= 3)
        return out

    def used_activations(self, cfg: Any, acts: list, weights: list) -> list:
        from amaranth.hdl import Mux

        busy = sum((x.any() & y.any()).as_unsigned() for x, y in zip(acts, weights))
        four = self.trim_table(acts, 4, cfg.option("placements"), cfg.option("rounding"))
        two = self.trim_table(acts, 2, DEFAULT_PLACEMENTS[2], cfg.option("rounding"))
        return [Mux(busy <= 1, x, Mux(busy == 2, f, t)) for x, f, t in zip(acts, four, two)]

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(threads=cfg.option("threads"), policy="operands", lsbs=self.window_positions(*self.trim_windows(cfg)),
                    window=None, rounding=cfg.option("rounding"), code_bits=cfg.code_bits)
