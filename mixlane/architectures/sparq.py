"""SPARQ lanes (``mac = "sparq"``): unsigned 8-bit activations trimmed at run time to a few bits placed
after their leading zeros, signed 8-bit weights exact (``precisions = [8]``, ``uniform``).

Options (``mac_options``): ``window`` (4, 3 or 2 bits kept), ``placements`` (window positions: 5/3/2 for a
4-bit window, 6/2 for 3 bits, 7/4/3/2 for 2 bits; 0, the default, every position), ``rounding`` (round half to even, else truncate) and
``vsparq`` (adjacent register elements share the unit: one of a pair zero, the other runs exact; 4-bit window
only). Two elements per lane, one ``window x 8`` multiplier slice each. RTL:
:class:`mixlane.rtl.shared_lane.SharedLane`; golden: :func:`mixlane.golden.sparse.sparq_sum`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mixlane.errors import ConfigError
from mixlane.golden.sparse import (ACT_BITS, DEFAULT_PLACEMENTS, bsparq_trim, check_window, pad_groups, register_values,
                                   trim_parts, window_lsbs)

from . import Architecture, Option

__all__ = ["Sparq", "EightBitActivations"]


class EightBitActivations(Architecture):
    """Base of the run-time sparsity architectures: unsigned 8-bit activations, signed 8-bit weights,
    ``uniform`` mode, one lane per group of :meth:`slots_per_lane` register elements."""

    modes = ("uniform",)
    exact = False
    #: every activation value alone, everywhere and among partners; tensors at 0 / 50 / 80% zero activations
    scenarios = ("activations", "zeros0", "zeros50", "zeros80")

    def check(self, cfg: Any) -> None:
        if cfg.precisions != (ACT_BITS,) or cfg.activation_signed or not cfg.weight_signed:
            raise ConfigError(f"mac: {self.name!r} is not allowed here; it needs precisions = [8], "
                              f"activation_signed = false and weight_signed = true (ReLU activations, signed "
                              f"weights)")
        super().check(cfg)

    def check_window(self, window: int, placements: int) -> None:
        try:
            check_window(window, placements)
        except ValueError as exc:
            raise ConfigError(f"mac_options.{exc}") from None

    # ------------------------------------------------------------------------ what the scheme does per lane
    def trim_windows(self, cfg: Any) -> list[tuple[int, int]]:
        """``(window, placements)`` of every trimming the scheme applies."""
        raise NotImplementedError

    def shares_unit(self, cfg: Any) -> bool:
        """Whether elements share the unit by who is busy (else every element is trimmed on its own slice)."""
        raise NotImplementedError

    def busy(self, cfg: Any, a: Any, w: Any) -> Any:
        """Busy elements (``(..., threads)`` groups) for a sharing scheme, or ``None`` (every element trimmed)."""
        raise NotImplementedError

    def trimmed(self, cfg: Any, a: Any, busy: Any) -> dict[int, Any]:
        """Window width -> mask of the elements (``(..., threads)``) trimmed to it."""
        raise NotImplementedError

    def coverage_bins(self, cfg: Any) -> list[str]:
        """Busy threads per lane (sharing schemes), every position of every window, a rounding carry
        saturating each window."""
        threads = self.slots_per_lane(cfg)
        bins = [f"busy {n}/{threads}" for n in range(threads + 1)] if self.shares_unit(cfg) else []
        for window, places in self.trim_windows(cfg):
            bins += [f"{window}b window at {lsb}" for lsb in window_lsbs(window, places)]
            if cfg.option("rounding"):
                bins.append(f"{window}b carry saturated")
        return bins

    def coverage_events(self, cfg: Any, a_bits: Any, w_bits: Any, meta: Any) -> list[frozenset]:
        a, w = register_values(cfg, a_bits, w_bits, meta)
        threads = self.slots_per_lane(cfg)
        ga, gw = pad_groups(a, threads), pad_groups(w, threads)
        busy = self.busy(cfg, ga, gw)
        places = dict(self.trim_windows(cfg))
        events = [set() for _ in range(len(a))]
        if busy is not None:
            for b, counts in enumerate(busy.sum(axis=-1).tolist()):
                events[b] |= {f"busy {n}/{threads}" for n in set(counts)}
        for window, mask in self.trimmed(cfg, ga, busy).items():
            mask = mask & (ga != 0)
            rows = np.nonzero(mask)[0]
            vals = ga[mask]
            raw, shifts = trim_parts(vals, window=window, placements=places[window], rounding=False)
            carry = (raw == (1 << window) - 1) & (shifts > 0) & ((vals >> np.maximum(shifts - 1, 0)) & 1 == 1)
            for r, sh, c in zip(rows.tolist(), shifts.tolist(), carry.tolist()):
                events[r].add(f"{window}b window at {sh}")
                if c and cfg.option("rounding"):
                    events[r].add(f"{window}b carry saturated")
        return [frozenset(e) for e in events]

    def lane_reference(self, cfg: Any, a: Any, w: Any, precision: int) -> Any:
        """Sum over the lane's elements of the activation as the scheme uses it (:meth:`used_activations`)
        times the weight: the proof reference of the shared lanes."""
        n = self.slots_per_lane(cfg)
        acts = [a[ACT_BITS * t: ACT_BITS * (t + 1)] for t in range(n)]
        weights = [w[ACT_BITS * t: ACT_BITS * (t + 1)].as_signed() for t in range(n)]
        return sum(u * x for u, x in zip(self.used_activations(cfg, acts, weights), weights))

    def proof_weight_values(self, cfg: Any) -> tuple[int, ...]:
        # zero (no slot), one (the activation path itself), the most negative weight (sign and width)
        return (0, 1, -128) if self.slots_per_lane(cfg) > 2 else (0, 1, -1, 127, -128)

    def proof_weights(self, cfg: Any) -> tuple[int, ...]:
        """Every combination of :meth:`proof_weight_values` over the lane's elements: the trimming, window
        placement, slot arbitration and shifts proved for every activation (2**(8 * elements) inputs); the
        multiplier slices themselves are Amaranth ``*`` (checked by simulation)."""
        import itertools

        n = self.slots_per_lane(cfg)
        return tuple(sum((v & 0xFF) << (ACT_BITS * t) for t, v in enumerate(combo))
                     for combo in itertools.product(self.proof_weight_values(cfg), repeat=n))

    def used_activations(self, cfg: Any, acts: list, weights: list) -> list:
        """Amaranth values of the activations of one lane as its scheme uses them."""
        raise NotImplementedError

    @staticmethod
    def trim_table(acts: list, window: int, placements: int, rounding: bool) -> list:
        """``acts`` through the golden bSPARQ table (a 256-entry word select each)."""
        from amaranth.hdl import Const

        values = bsparq_trim(np.arange(256), placements, rounding, window)
        table = Const(sum(int(v) << (ACT_BITS * i) for i, v in enumerate(values)), ACT_BITS * 256)
        return [table.word_select(x, ACT_BITS) for x in acts]

    @staticmethod
    def window_positions(*windows: tuple[int, int]) -> dict[int, tuple[int, ...]]:
        """Window width -> allowed positions, for ``(width, placements)`` pairs (the lanes' ``lsbs``)."""
        return {w: window_lsbs(w, p) for w, p in windows}


class Sparq(EightBitActivations):
    name = "sparq"
    summary = ("SPARQ: 8-bit ReLU activations trimmed to a window after their leading zeros (bSPARQ), or pairs "
               "sharing one 8-bit budget (vSPARQ); window x 8 multiplier slices, two elements per lane")
    rtl = "mixlane.rtl.shared_lane:SharedLane"
    golden = "mixlane.golden.sparse:sparq_sum"
    options = {
        "window": Option(4, (4, 3, 2), help="activation bits kept"),
        "placements": Option(0, (0, 2, 3, 4, 5, 6, 7), help="window positions (4 bits: 5, 3, 2; 3 bits: 6, 2; "
                                                            "2 bits: 7, 4, 3, 2); 0: every position"),
        "rounding": Option(True, (True, False), help="round half to even on the dropped bits (else truncate)"),
        "vsparq": Option(False, (True, False), help="pairs of adjacent elements: one zero, the other exact"),
    }

    def check(self, cfg: Any) -> None:
        super().check(cfg)
        self.check_window(*self.trim_windows(cfg)[0])
        if cfg.option("vsparq") and cfg.option("window") != 4:
            raise ConfigError(f"mac_options.vsparq: true is not allowed with window = {cfg.option('window')}; "
                              f"vSPARQ pairs share 4-bit windows (use window = 4)")

    def slots_per_lane(self, cfg: Any) -> int:
        return 2

    def trim_windows(self, cfg: Any) -> list[tuple[int, int]]:
        window = cfg.option("window")
        return [(window, cfg.option("placements") or DEFAULT_PLACEMENTS[window])]

    def shares_unit(self, cfg: Any) -> bool:
        return cfg.option("vsparq")

    def busy(self, cfg: Any, a: Any, w: Any) -> Any:
        return (a != 0) if self.shares_unit(cfg) else None

    def trimmed(self, cfg: Any, a: Any, busy: Any) -> dict[int, Any]:
        if busy is None:
            return {cfg.option("window"): np.ones(a.shape, bool)}
        return {4: busy & (busy.sum(axis=-1, keepdims=True) == 2)}

    def used_activations(self, cfg: Any, acts: list, weights: list) -> list:
        from amaranth.hdl import Mux

        trimmed = self.trim_table(acts, *self.trim_windows(cfg)[0], cfg.option("rounding"))
        if not cfg.option("vsparq"):
            return trimmed
        both = acts[0].any() & acts[1].any()
        return [Mux(both, t, x) for t, x in zip(trimmed, acts)]

    def lane_params(self, cfg: Any) -> dict[str, Any]:
        return dict(threads=2, policy="activations" if cfg.option("vsparq") else "always",
                    lsbs=self.window_positions(*self.trim_windows(cfg)),
                    window=None if cfg.option("vsparq") else cfg.option("window"),
                    rounding=cfg.option("rounding"), code_bits=cfg.code_bits)
