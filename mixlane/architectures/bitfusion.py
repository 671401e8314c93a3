"""BitFusion lanes (``mac = "bitfusion"``): 2x2 BitBricks fused by shift-add into 2-, 4- and 8-bit products.

The register-datapath form: every ``pmax``-bit lane is one fusion unit of ``(pmax/2)**2`` bricks fed by the
lane's ``pmax`` bits of ``a`` and ``w``; at precision ``p`` it multiplies its ``pmax/p`` elements (using
``pmax*p/4`` bricks) and sums the products, one operation per cycle. (In BitFusion's own form the operand
bandwidth grows as precision falls, so that all bricks stay busy: ``(pmax/p)**2`` products per unit per cycle;
reports give that figure as the per-unit normalisation.) Precisions 2, 4, 8; uniform mode (the brick shifts, signs
and offsets follow the register's code) and per-lane precisions (``pattern``, ``channel``: each lane adds its
code's offset itself). RTL: :class:`mixlane.rtl.bitfusion_lane.BitFusionLane`; golden:
:func:`mixlane.golden.arith.register_sum`.
"""

from __future__ import annotations

from typing import Any

from mixlane.errors import ConfigError

from . import Architecture

__all__ = ["BitFusion"]


class BitFusion(Architecture):
    name = "bitfusion"
    summary = ("BitFusion: 2x2 BitBricks fused by shift-add into 2/4/8-bit products, one fusion unit per "
               "pmax-bit lane, one operation per cycle; uniform, pattern and channel modes")
    rtl = "mixlane.rtl.bitfusion_lane:BitFusionLane"
    golden = "mixlane.golden.arith:register_sum"
    modes = ("uniform", "pattern", "channel")

    def check(self, cfg: Any) -> None:
        super().check(cfg)
        bad = [p for p in cfg.precisions if p not in (2, 4, 8)]
        if bad:
            raise ConfigError(f"precisions: {list(cfg.precisions)} is not allowed with mac = 'bitfusion'; its "
                              f"2x2 bricks build 2, 4 and 8 bits (drop {bad})")

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        # uniform: the offsets go to the tree, register-wide; per-lane precisions fold them into the lanes
        return dict(precisions=cfg.precisions, lane_bits=cfg.lane_bits, a_signed=cfg.activation_signed,
                    w_signed=cfg.weight_signed, fold_offsets=cfg.precision_mode != "uniform")
