"""Top component: the mixed-precision SIMD datapath with stream interfaces."""

from __future__ import annotations

import importlib

from amaranth.hdl import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from mixlane.config import MAC_ARCHITECTURES, Config
from .accumulator import OP_READ, OP_READ_LOAD, Accumulators
from .aligner import Aligner
from .compress import ReductionTree
from .decoder import PrecisionDecoder

__all__ = ["SimdDatapath", "op_signature", "result_signature", "lane_class"]


def op_signature(cfg: Config) -> wiring.Signature:
    """Operation stream (source view): valid/ready plus ``op``, ``sel``, ``meta``, ``a``, ``w``, ``bias``."""
    members = {"valid": Out(1), "ready": In(1), "op": Out(2)}
    if cfg.sel_bits:
        members["sel"] = Out(cfg.sel_bits)
    members.update({"meta": Out(cfg.meta_bits), "a": Out(cfg.width), "w": Out(cfg.width),
                    "bias": Out(signed(cfg.acc_width))})
    return wiring.Signature(members)


def result_signature(cfg: Config) -> wiring.Signature:
    """Result stream (source view): valid/ready plus ``data`` and ``sel``."""
    members = {"valid": Out(1), "ready": In(1), "data": Out(signed(cfg.acc_width))}
    if cfg.sel_bits:
        members["sel"] = Out(cfg.sel_bits)
    return wiring.Signature(members)


def lane_class(cfg: Config):
    """The MAC lane component registered for ``cfg.mac``."""
    module, _, name = MAC_ARCHITECTURES[cfg.mac]["rtl"].partition(":")
    return getattr(importlib.import_module(module), name)


class SimdDatapath(wiring.Component):
    """Mixed-precision SIMD datapath: decoder -> aligner -> MAC lanes -> sum tree -> accumulators.

    Protocol, latency and throughput: ``docs/format.md``. One operation per cycle; a READ accepted at
    edge ``t`` presents its result right after edge ``t+1``; a pending result with ``o.ready`` low holds
    the pipeline.

    Members
    -------
    i : In(op_signature(cfg))
    o : Out(result_signature(cfg))
    """

    def __init__(self, *, config: Config):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a mixlane Config, not {config!r}")
        self._cfg = config
        self._lane_cls = lane_class(config)
        packed = config.precision_mode != "element"
        self._lane_args = dict(precisions=config.precisions, lane_bits=config.lane_bits, packed=packed,
                               a_signed=config.activation_signed, w_signed=config.weight_signed,
                               bipolar=config.binary == "bipolar", centred=config.centred_lanes)
        super().__init__({"i": In(op_signature(config)), "o": Out(result_signature(config))})

    @property
    def config(self) -> Config:
        return self._cfg

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        sw = cfg.register_sum_width

        m.submodules.decoder = dec = PrecisionDecoder(config=cfg)
        m.submodules.aligner = ali = Aligner(config=cfg)
        m.d.comb += [dec.meta.eq(self.i.meta), ali.a.eq(self.i.a), ali.w.eq(self.i.w)]
        m.d.comb += [ali.slots[s].eq(dec.slots[s]) for s in range(cfg.slots)]

        lanes = []
        for s in range(cfg.slots):
            lane = self._lane_cls(**self._lane_args)
            m.submodules[f"lane{s}"] = lane
            m.d.comb += [lane.a.eq(ali.slot_a[s]), lane.w.eq(ali.slot_w[s]),
                         lane.code.eq(dec.slots[s].code), lane.en.eq(dec.slots[s].en)]
            lanes.append(lane)
        if cfg.centred_lanes:
            # uniform mode: every lane has the register's code, so offsets and shifts are register-wide
            codes = range(len(lanes[0].offsets))
            m.submodules.tree = tree = ReductionTree(
                count=cfg.slots, row_width=lanes[0].row_width, out_width=sw,
                offset=[sum(lane.offsets[c] for lane in lanes) for c in codes], shifts=lanes[0].shifts)
            m.d.comb += tree.code.eq(dec.slots[0].code)
        else:
            m.submodules.tree = tree = ReductionTree(count=cfg.slots, row_width=lanes[0].row_width,
                                                     offset=sum(lane.offset for lane in lanes), out_width=sw)
        for s, lane in enumerate(lanes):
            m.d.comb += [tree.rows[2 * s].eq(lane.sum), tree.rows[2 * s + 1].eq(lane.carry)]

        # stage 1: register sum and operation
        s1_valid = Signal(name="s1_valid")
        s1_op = Signal(2, name="s1_op")
        s1_sel = Signal(max(1, cfg.sel_bits), name="s1_sel")
        s1_sum = Signal(signed(sw), name="s1_sum")
        s1_bias = Signal(signed(cfg.acc_width), name="s1_bias")
        stall = Signal(name="stall")
        m.d.comb += [stall.eq(self.o.valid & ~self.o.ready), self.i.ready.eq(~stall)]
        with m.If(~stall):
            m.d.sync += [s1_valid.eq(self.i.valid), s1_op.eq(self.i.op), s1_sum.eq(tree.total),
                         s1_bias.eq(self.i.bias)]
            if cfg.sel_bits:
                m.d.sync += s1_sel.eq(self.i.sel)

        # stage 2: accumulators and the result register
        m.submodules.acc = acc = Accumulators(outputs=cfg.outputs, acc_width=cfg.acc_width, addend_width=sw,
                                              saturate=cfg.overflow == "saturate")
        m.d.comb += [acc.en.eq(s1_valid & ~stall), acc.op.eq(s1_op), acc.sel.eq(s1_sel),
                     acc.addend.eq(s1_sum), acc.bias.eq(s1_bias)]
        is_read = Signal(name="s1_is_read")
        m.d.comb += is_read.eq(s1_valid & ((s1_op == OP_READ) | (s1_op == OP_READ_LOAD)))
        with m.If(~stall):
            m.d.sync += self.o.valid.eq(is_read)
            with m.If(is_read):
                m.d.sync += self.o.data.eq(acc.read)
                if cfg.sel_bits:
                    m.d.sync += self.o.sel.eq(s1_sel)
        return m
