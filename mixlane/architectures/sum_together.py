"""Subword-parallel sum-together lanes (``mac = "sum_together"``, the default).

Every lane multiplies the elements of its ``pmax``-bit slices of ``a`` and ``w`` at the precision its code
selects and sums the products (one carry-save pair per lane); one tree sums the lanes into the register sum.
One operation per cycle at every precision. RTL: :class:`mixlane.rtl.mac_lane.SumTogetherLane`; golden:
:func:`mixlane.golden.arith.register_sum`.
"""

from __future__ import annotations

from typing import Any

from . import Architecture

__all__ = ["SumTogether"]


class SumTogether(Architecture):
    name = "sum_together"
    summary = ("subword-parallel sum-together: all products of a register pair summed into one accumulator, "
               "one operation per cycle, every precision mode")
    rtl = "mixlane.rtl.mac_lane:SumTogetherLane"
    golden = "mixlane.golden.arith:register_sum"

    @staticmethod
    def centred(cfg: Any) -> bool:
        """Whether the lanes place each precision's products at the centre of the ``pmax`` array
        (``lane_bits ** 2`` compressor inputs per lane, result shifted back by the register-wide code): needs
        every lane of a register at the same precision (``uniform`` mode) and more than one precision."""
        return cfg.precision_mode == "uniform" and len(cfg.precisions) > 1

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(precisions=cfg.precisions, lane_bits=cfg.lane_bits, packed=cfg.precision_mode != "element",
                    a_signed=cfg.activation_signed, w_signed=cfg.weight_signed, bipolar=cfg.binary == "bipolar",
                    centred=self.centred(cfg))

    def describe(self, cfg: Any) -> str:
        return super().describe(cfg).replace(f", mac={self.name}", "")
