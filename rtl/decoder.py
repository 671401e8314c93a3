"""Precision decoder: per-operation metadata -> per-slot precision code, enable and (``element``) offset."""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from mixlane.config import Config

__all__ = ["PrecisionDecoder", "slot_layout"]


def slot_layout(cfg: Config) -> data.StructLayout:
    """What the decoder tells one MAC slot: ``code`` (index into precisions), ``en``, and in ``element``
    mode ``offset`` (bit position of the element in the register)."""
    fields = {"code": unsigned(cfg.code_bits), "en": unsigned(1)}
    if cfg.precision_mode == "element":
        fields["offset"] = unsigned(offset_bits(cfg))
    return data.StructLayout(fields)


def offset_bits(cfg: Config) -> int:
    """Bits of an element offset; wide enough for ``width + pmax`` so overflow past the end is visible."""
    return (cfg.width + cfg.pmax).bit_length()


class PrecisionDecoder(wiring.Component):
    """Decodes ``meta`` (``docs/format.md`` section 3) into one :func:`slot_layout` per MAC slot.

    Combinational. ``uniform``/``pattern``/``channel``: one slot per lane; ``element``: one slot per element,
    offsets computed by a log-depth (Hillis-Steele) prefix sum of the element widths.

    Members
    -------
    meta : In(meta_bits)
    slots : Out(slot_layout).array(cfg.slots)
    """

    def __init__(self, *, config: Config):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a mixlane Config, not {config!r}")
        self._cfg = config
        super().__init__({
            "meta": In(config.meta_bits),
            # one port per slot: in event-driven simulation a change in one slot then wakes only its readers
            "slots": Out(slot_layout(config)).array(config.slots),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        getattr(self, f"_elab_{cfg.precision_mode}")(m, cfg)
        return m

    def _elab_uniform(self, m, cfg):
        valid = Signal(name="code_valid")
        m.d.comb += valid.eq(self.meta < len(cfg.precisions))
        for s in range(cfg.slots):
            m.d.comb += [self.slots[s].code.eq(self.meta), self.slots[s].en.eq(valid)]

    def _elab_pattern(self, m, cfg):
        lb = cfg.lane_bits
        valid = Signal(name="pattern_valid")
        m.d.comb += valid.eq(self.meta < len(cfg.patterns))
        # lane -> precision code, per pattern id (a small ROM per lane)
        table = []
        for pat in cfg.patterns:
            row = []
            for p, count in pat:
                row += [cfg.precisions.index(p)] * (p * count // lb)
            table.append(row)
        for s in range(cfg.slots):
            code = Const(0, cfg.code_bits)
            for pid, row in enumerate(table):
                code = Mux(self.meta == pid, row[s], code)
            m.d.comb += [self.slots[s].code.eq(code), self.slots[s].en.eq(valid)]

    def _elab_channel(self, m, cfg):
        for s in range(cfg.slots):
            lvl = self.meta[2 * s: 2 * s + 2]
            code = Const(0, cfg.code_bits)
            for c, p in enumerate(cfg.channel_levels):
                code = Mux(lvl == c, cfg.precisions.index(p), code)
            m.d.comb += [self.slots[s].code.eq(code), self.slots[s].en.eq(lvl < len(cfg.channel_levels))]

    def _elab_element(self, m, cfg):
        cb, N, ob = cfg.code_bits, cfg.max_elements, offset_bits(cfg)
        sat = (1 << ob) - 1          # prefix sums saturate here (anything > width is "past the end")
        p_k, bad_k = [], []
        for k in range(N):
            code = self.meta[cb * k: cb * k + cb]
            p = Signal(ob, name=f"p{k}")
            bad = Signal(name=f"bad{k}")
            sel = Const(0, ob)
            for c, prec in enumerate(cfg.precisions):
                sel = Mux(code == c, prec, sel)
            m.d.comb += [p.eq(sel), bad.eq(code >= len(cfg.precisions))]
            p_k.append(p)
            bad_k.append(bad)
        # inclusive prefix sums of widths and prefix OR of reserved codes, log2(N) levels
        incl, anybad = list(p_k), list(bad_k)
        d, level = 1, 0
        while d < N:
            nxt_s, nxt_b = [], []
            for k in range(N):
                if k < d:
                    nxt_s.append(incl[k])
                    nxt_b.append(anybad[k])
                    continue
                s = Signal(ob, name=f"psum_l{level}_{k}")
                b = Signal(name=f"pbad_l{level}_{k}")
                total = incl[k] + incl[k - d]
                m.d.comb += [s.eq(Mux(total > sat, sat, total)), b.eq(anybad[k] | anybad[k - d])]
                nxt_s.append(s)
                nxt_b.append(b)
            incl, anybad = nxt_s, nxt_b
            d, level = d * 2, level + 1
        for k in range(N):
            slot = self.slots[k]
            m.d.comb += [
                slot.code.eq(self.meta[cb * k: cb * k + cb]),
                slot.offset.eq(incl[k] - p_k[k]),
                slot.en.eq(~anybad[k] & (incl[k] <= cfg.width)),
            ]
