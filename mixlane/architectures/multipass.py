"""Multi-pass sum-together lanes (``mac = "multipass"``): the area of narrow lanes, wide precisions in passes.

``digit_bits`` (option, default 2) is the width of the sum-together sub-lanes. Precisions up to it run one
operation per cycle like ``sum_together``; a wider precision ``p`` runs as ``2 * p / digit_bits - 1`` passes of
digit products over the same sub-lanes (e.g. 4-bit operations in 3 cycles over 2-bit lanes, 8-bit in 3 over 4-bit
lanes), with no compressor input beyond the sub-lanes' own. Uniform mode (the register's code sets the passes).
RTL: :class:`mixlane.rtl.multipass_lane.MultiPassLane`; golden: :func:`mixlane.golden.arith.register_sum` (the
passes change the schedule, not the result).
"""

from __future__ import annotations

from typing import Any

from mixlane.errors import ConfigError

from . import Architecture, Option

__all__ = ["MultiPass"]


class MultiPass(Architecture):
    name = "multipass"
    summary = ("multi-pass sum-together: digit_bits-wide sum-together sub-lanes; wider precisions as 2p/d-1 "
               "passes of digit products (the area of the narrow lanes), uniform mode")
    rtl = "mixlane.rtl.multipass_lane:MultiPassLane"
    golden = "mixlane.golden.arith:register_sum"
    modes = ("uniform",)
    options = {"digit_bits": Option(2, (1, 2, 4), help="width of the sum-together sub-lanes")}

    def check(self, cfg: Any) -> None:
        super().check(cfg)
        d = cfg.option("digit_bits")
        if d > cfg.pmax:
            raise ConfigError(f"mac_options.digit_bits: {d} is not allowed; use at most the widest precision "
                              f"{cfg.pmax}")

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(precisions=cfg.precisions, lane_bits=cfg.lane_bits, digit_bits=cfg.option("digit_bits"),
                    a_signed=cfg.activation_signed, w_signed=cfg.weight_signed, bipolar=cfg.binary == "bipolar")

    def cycles(self, cfg: Any, precision: int) -> int:
        d = cfg.option("digit_bits")
        return 1 if precision <= d else 2 * (precision // d) - 1
