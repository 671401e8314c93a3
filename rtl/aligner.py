"""Aligner: packed registers -> per-slot operand slices for the MAC lanes."""

from __future__ import annotations

from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from mixlane.config import Config
from .decoder import slot_layout

__all__ = ["Aligner"]


class Aligner(wiring.Component):
    """Moves elements of the packed registers ``a`` and ``w`` into MAC slots (combinational).

    Lane modes (``uniform``, ``pattern``, ``channel``): slot ``l`` is lane ``l`` (bits ``l*pmax ..``), pure
    wiring. ``element`` mode: slot ``k`` receives the ``pmax`` register bits starting at the element's offset
    (zeros past the end), selected among the offsets element ``k`` can have: ``k*pmin .. k*pmax`` in steps
    of ``pmin``. Only the low ``p`` bits of a slot are meaningful.

    Members
    -------
    a, w : In(width)
    slots : In(slot_layout).array(cfg.slots)
        From the :class:`PrecisionDecoder` (offsets used in ``element`` mode).
    slot_a, slot_w : Out(pmax).array(cfg.slots)
        One port per slot, so that in event-driven simulation a change wakes only that slot's lane.
    """

    def __init__(self, *, config: Config):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a mixlane Config, not {config!r}")
        self._cfg = config
        S = config.slots
        super().__init__({
            "a": In(config.width),
            "w": In(config.width),
            "slots": In(slot_layout(config)).array(S),
            "slot_a": Out(config.lane_bits).array(S),
            "slot_w": Out(config.lane_bits).array(S),
        })

    @property
    def mux_inputs(self) -> int:
        """Offsets the element-mode multiplexers choose among, summed over slots (0 in lane modes)."""
        cfg = self._cfg
        if cfg.precision_mode != "element":
            return 0
        return sum(len(self._candidates(k)) for k in range(cfg.slots))

    def _candidates(self, k: int) -> range:
        cfg = self._cfg
        last = min(k * cfg.pmax, cfg.width - cfg.pmin)
        return range(k * cfg.pmin, last + 1, cfg.pmin)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        lb = cfg.lane_bits
        if cfg.precision_mode != "element":
            for s in range(cfg.slots):
                m.d.comb += [self.slot_a[s].eq(self.a[s * lb:(s + 1) * lb]),
                             self.slot_w[s].eq(self.w[s * lb:(s + 1) * lb])]
            return m
        pad = lb  # zero bits past the register end
        a_ext = Signal(cfg.width + pad, name="a_ext")
        w_ext = Signal(cfg.width + pad, name="w_ext")
        m.d.comb += [a_ext.eq(self.a), w_ext.eq(self.w)]
        for k in range(cfg.slots):
            cands = self._candidates(k)
            off = self.slots[k].offset
            if len(cands) == 1:
                m.d.comb += [self.slot_a[k].eq(a_ext[cands[0]:cands[0] + lb]),
                             self.slot_w[k].eq(w_ext[cands[0]:cands[0] + lb])]
                continue
            with m.Switch(off):
                for c in cands:
                    with m.Case(c):
                        m.d.comb += [self.slot_a[k].eq(a_ext[c:c + lb]),
                                     self.slot_w[k].eq(w_ext[c:c + lb])]
        return m
