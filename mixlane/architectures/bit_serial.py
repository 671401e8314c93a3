"""Bit-serial MAC lanes (``mac = "bit_serial"``): operands as bit planes, latency proportional to the bits.

Options (``mac_options``): ``serial = "weights"`` (1-D, weights serial, activations parallel, UNPU-like) or
``"both"`` (2-D, Loom-like); ``bits_per_cycle`` planes per step (1, 2, 4, 8). An operation at precision ``p``
takes ``ceil(p / bits_per_cycle)`` cycles (1-D) or its square (2-D); any configured precision at run time, in
``uniform`` mode (the register's code sets the cycle count). RTL: :class:`mixlane.rtl.serial_lane.BitSerialLane`;
golden: :func:`mixlane.golden.serial.bit_plane_sum`.
"""

from __future__ import annotations

import math
from typing import Any

from . import Architecture, MutationRule, Option

__all__ = ["BitSerial"]


class BitSerial(Architecture):
    name = "bit_serial"
    summary = ("bit-serial: popcount(A_i AND W_j) << (i+j) per cycle, weights serial (1-D) or both operands (2-D), "
               "bits_per_cycle planes per cycle, uniform mode")
    rtl = "mixlane.rtl.serial_lane:BitSerialLane"
    golden = "mixlane.golden.serial:bit_plane_sum"
    modes = ("uniform",)
    options = {
        "serial": Option("weights", ("weights", "both"), help="serial operands: weights (1-D) or both (2-D)"),
        "bits_per_cycle": Option(1, (1, 2, 4, 8), help="bit planes of a serial operand per cycle"),
    }

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(precisions=cfg.precisions, lane_bits=cfg.lane_bits, a_signed=cfg.activation_signed,
                    w_signed=cfg.weight_signed, bipolar=cfg.binary == "bipolar",
                    bits_per_cycle=cfg.option("bits_per_cycle"), serial=cfg.option("serial"))

    def mutation_rules(self, cfg: Any) -> tuple[MutationRule, ...]:
        # the step sum restarts at the last step: keep the running partial instead
        return (MutationRule("partial sum not cleared", r"step_last \? \d+'h0+ : (\S+ \[\d+:0\])",
                             r"step_last ? \1 : \1"),)

    def cycles(self, cfg: Any, precision: int) -> int:
        if precision == 1 and cfg.binary == "bipolar":
            return 1
        planes = math.ceil(precision / cfg.option("bits_per_cycle"))
        return planes if cfg.option("serial") == "weights" else planes * planes
