"""The INT8 reference (``mac = "conventional"``): one plain 8x8 multiplier per 8-bit lane.

What every precision-scalable design is compared against (:data:`mixlane.architectures.BASELINE`). RTL:
:class:`mixlane.rtl.mac_lane.ConventionalLane` (Amaranth ``*``, mapped by the synthesis tool); golden:
:func:`mixlane.golden.arith.register_sum`.
"""

from __future__ import annotations

from typing import Any

from mixlane.errors import ConfigError

from . import Architecture

__all__ = ["Conventional"]


class Conventional(Architecture):
    name = "conventional"
    summary = "baseline: one plain 8x8 multiplier per 8-bit lane (precisions [8], uniform mode only)"
    rtl = "mixlane.rtl.mac_lane:ConventionalLane"
    golden = "mixlane.golden.arith:register_sum"
    modes = ("uniform",)

    def check(self, cfg: Any) -> None:
        if cfg.precisions != (8,) or cfg.precision_mode != "uniform":
            raise ConfigError(f"mac: {self.name!r} is not allowed; the conventional baseline needs "
                              f"precisions = [8] and precision_mode = 'uniform'")
        super().check(cfg)

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(precisions=cfg.precisions, lane_bits=cfg.lane_bits, packed=True,
                    a_signed=cfg.activation_signed, w_signed=cfg.weight_signed, bipolar=cfg.binary == "bipolar")

    def describe(self, cfg: Any) -> str:
        return f"INT8 conventional (mac=conventional), width {cfg.width}"
