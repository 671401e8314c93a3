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

from . import Architecture, MutationRule, Option

__all__ = ["MultiPass", "multipass_schedule", "multipass_cycles", "SCHEDULES"]

SCHEDULES = ("diagonal", "paired")


def multipass_cycles(p: int, digit_bits: int, schedule: str = "diagonal") -> int:
    """Passes of one operation at precision ``p``."""
    return 1 if p <= digit_bits else len(multipass_schedule(p // digit_bits, schedule))


def multipass_schedule(k: int, schedule: str) -> list[tuple[int, ...]]:
    """The anti-diagonals ``t = x + y`` of a ``k x k`` digit product, grouped into passes. ``"diagonal"``: one
    per pass (``2k - 1`` passes). ``"paired"``: diagonal ``t`` shares a pass with ``2k - 2 - t`` when they use
    different sub-lanes (``k = 2``: ``a0w0 + a1w1`` then ``a0w1 + a1w0``, 2 passes; the second diagonal costs
    its own compressor columns)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, not {schedule!r}")
    diagonals = list(range(2 * k - 1))
    if schedule == "diagonal":
        return [(t,) for t in diagonals]
    lanes = lambda t: set(range(max(0, t - k + 1), min(k, t + 1)))  # noqa: E731  (sub-lanes of diagonal t)
    groups, done = [], set()
    for t in diagonals:
        if t in done:
            continue
        u = 2 * k - 2 - t
        if u > t and not lanes(t) & lanes(u):
            groups.append((t, u))
            done |= {t, u}
        else:
            groups.append((t,))
            done.add(t)
    return groups


class MultiPass(Architecture):
    name = "multipass"
    summary = ("multi-pass sum-together: digit_bits-wide sum-together sub-lanes; wider precisions as 2p/d-1 "
               "passes of digit products (the area of the narrow lanes), uniform mode")
    rtl = "mixlane.rtl.multipass_lane:MultiPassLane"
    golden = "mixlane.golden.arith:register_sum"
    modes = ("uniform",)
    options = {"digit_bits": Option(2, (1, 2, 4), help="width of the sum-together sub-lanes"),
               "schedule": Option("diagonal", SCHEDULES,
                                  help="one anti-diagonal of digit products per pass, or two where they use "
                                       "different sub-lanes (p = 2 * digit_bits in 2 passes)")}

    def check(self, cfg: Any) -> None:
        super().check(cfg)
        d = cfg.option("digit_bits")
        if d > cfg.pmax:
            raise ConfigError(f"mac_options.digit_bits: {d} is not allowed; use at most the widest precision "
                              f"{cfg.pmax}")

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(precisions=cfg.precisions, lane_bits=cfg.lane_bits, digit_bits=cfg.option("digit_bits"),
                    a_signed=cfg.activation_signed, w_signed=cfg.weight_signed, bipolar=cfg.binary == "bipolar",
                    schedule=cfg.option("schedule"))

    def mutation_rules(self, cfg: Any) -> tuple[MutationRule, ...]:
        # the step sum restarts at the last step: keep the running partial instead
        return (MutationRule("partial sum not cleared", r"step_last \? \d+'h0+ : (\S+ \[\d+:0\])",
                             r"step_last ? \1 : \1"),)

    def cycles(self, cfg: Any, precision: int) -> int:
        return multipass_cycles(precision, cfg.option("digit_bits"), cfg.option("schedule"))
