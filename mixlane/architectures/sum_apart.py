"""Sum-apart lanes (``mac = "sum_apart"``, DVAFS-style): every element position keeps its own accumulator.

Each ``pmax``-bit lane computes its ``pmax / p`` products apart (one partial-product array, carries cut between
the products) and each output's ``acc_width``-bit lane register splits into ``pmax / p`` subword accumulators
of ``acc_width * p / pmax`` bits as precision falls. A READ returns every lane register: ``lanes * acc_width``
bits, unsigned, lane 0 lowest (``docs/format.md``). Uniform, pattern and channel modes (each lane's split
follows its own precision); the subwords wrap around (``overflow = "wrap"``). RTL: :class:`mixlane.rtl.apart.SumApartLane`; golden:
:class:`mixlane.golden.apart.SubwordAccumulator`.
"""

from __future__ import annotations

from typing import Any

from mixlane.errors import ConfigError

from . import Architecture, MutationRule

__all__ = ["SumApart"]


class SumApart(Architecture):
    name = "sum_apart"
    summary = ("sum-apart (DVAFS): products kept apart, each element position accumulating in its own subword "
               "of the lane's accumulator; a read returns the vector; uniform, pattern and channel modes")
    rtl = "mixlane.rtl.apart:SumApartLane"
    golden = "mixlane.golden.arith:register_sum"
    golden_accumulator = "mixlane.golden.apart:SubwordAccumulator"
    modes = ("uniform", "pattern", "channel")
    scalar_readout = False

    def check(self, cfg: Any) -> None:
        super().check(cfg)
        if cfg.overflow != "wrap":
            raise ConfigError(f"overflow: {cfg.overflow!r} is not allowed with mac = 'sum_apart'; its subword "
                              f"accumulators wrap around (use 'wrap')")

    def check_acc_width(self, cfg: Any) -> None:
        P = cfg.lane_bits
        for p in cfg.precisions:
            F = cfg.acc_width * p / P
            need = cfg.max_product(p).bit_length() + 1
            if F != int(F) or F < need:
                k = max(need * P // p, P // cfg.pmin)
                raise ConfigError(f"acc_width: {cfg.acc_width!r} is not allowed with mac = 'sum_apart'; its "
                                  f"{P // p} subwords at {p} bits need {need} bits each and acc_width a "
                                  f"multiple of {P // cfg.pmin} (e.g. {-(-k // (P // cfg.pmin)) * (P // cfg.pmin)})")

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(precisions=cfg.precisions, lane_bits=cfg.lane_bits, a_signed=cfg.activation_signed,
                    w_signed=cfg.weight_signed, bipolar=cfg.binary == "bipolar")

    def mutation_rules(self, cfg: Any) -> tuple[MutationRule, ...]:
        # a subword's sign extension when the accumulator reads it (the top element of each concatenation)
        return (MutationRule("sign extension dropped", r"\{ (\w+\[\d+\]), ", "{ 1'h0, ", modules="acc"),)

    def result_width(self, cfg: Any) -> int:
        return cfg.lanes * cfg.acc_width

    def result_signed(self, cfg: Any) -> bool:
        return False
