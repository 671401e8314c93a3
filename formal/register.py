"""The whole-register proof: the datapath, at its ports, adds the sum of products of a register pair.

A bounded sequential proof (Yosys ``sat -seq``) of one scenario per precision of the mode, over every value of
the register pair ``(a, w)``: reset; ``ACC`` of ``(a, w)`` with the metadata that fills the register with that
precision's elements (held for all its cycles until the datapath takes it); ``READ``; the result equals the
reference ``sum_k a_k * w_k`` over the register's elements (element positions from the metadata format,
values as in :mod:`mixlane.formal.harness`, Amaranth ``*`` and ``+``). The datapath is the Verilog under test,
instantiated by its port names (``docs/format.md``), so the lanes, the decoder, the aligner, the tree, the step
sequencer and the accumulator are all inside the proof. Architectures whose result is a single signed
accumulator only (``"sum"`` lanes); the cost grows quickly with the width (meant for 32-bit registers).
"""

from __future__ import annotations

from amaranth.hdl import ClockSignal, Const, Instance, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .harness import element_value

__all__ = ["RegisterHarness", "register_layout", "REGISTER_TOP"]

REGISTER_TOP = "prove_register"
OP_ACC, OP_READ = 0, 2      # docs/format.md section 6


def register_layout(cfg, precision: int) -> tuple[int, list[tuple[int, int]]]:
    """``(meta, elements)``: the ``meta`` port value that fills a register with ``precision``-bit elements as
    far as the mode allows, and the ``(bit offset, precision)`` of every element it then holds."""
    from mixlane.golden.layout import decode, encode_meta_ints, meta_for_precision

    meta = meta_for_precision(cfg, precision, 1)
    layout = decode(cfg, meta)[0]
    return encode_meta_ints(cfg, meta)[0], [(g * cfg.pmin, int(p)) for g, p in enumerate(layout) if p]


class RegisterHarness(wiring.Component):
    """Drives the datapath through reset, ACC and READ and compares the READ result with the reference.

    Members
    -------
    a, w : In(width)
        Sampled in the first cycle and held (the register pair under proof).
    held_a, held_w : Out(width)
        The held pair (for counterexamples).
    expected, result : Out(signed(acc_width))
        The reference sum (it fits: ``acc_width`` holds any register sum) and the READ's result.
    done : Out(1)
        The READ's result has arrived.
    ok : Out(1)
        ``done`` and ``result == expected``.
    """

    def __init__(self, *, cfg, precision: int):
        self._cfg, self._prec = cfg, precision
        self._meta, self._elements = register_layout(cfg, precision)
        W, A = cfg.width, cfg.acc_width
        super().__init__({"a": In(W), "w": In(W), "held_a": Out(W), "held_w": Out(W),
                          "expected": Out(signed(A)), "result": Out(signed(A)), "done": Out(1), "ok": Out(1)})

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        started, first = Signal(name="started"), Signal(name="first")   # every register starts at 0
        state = Signal(2, name="state")          # 0: ACC, 1: READ, 2: wait for the result, 3: done
        m.d.sync += started.eq(1)
        m.d.comb += first.eq(~started)
        with m.If(first):
            m.d.sync += [self.held_a.eq(self.a), self.held_w.eq(self.w)]
        valid, ready, o_valid = Signal(name="dp_valid"), Signal(name="dp_ready"), Signal(name="dp_o_valid")
        op, data = Signal(2, name="dp_op"), Signal(signed(cfg.acc_width), name="dp_data")
        # the pair while the ACC is offered, zeros otherwise (the time steps after it need no copy of the lanes)
        a, w = Signal(cfg.width, name="dp_a"), Signal(cfg.width, name="dp_w")
        m.d.comb += [a.eq(Mux(state == 0, self.held_a, 0)), w.eq(Mux(state == 0, self.held_w, 0))]
        m.d.comb += [valid.eq(~first & (state < 2)), op.eq(Mux(state == 1, OP_READ, OP_ACC))]
        ports = {"i_clk": ClockSignal(), "i_rst": first, "i_i__valid": valid, "i_i__op": op,
                 "i_i__meta": Const(self._meta, cfg.meta_bits), "i_i__a": a, "i_i__w": w,
                 "i_i__bias": Const(0, cfg.acc_width), "i_o__ready": Const(1, 1),
                 "o_i__ready": ready, "o_o__valid": o_valid, "o_o__data": data}
        if cfg.sel_bits:
            ports.update({"i_i__sel": Const(0, cfg.sel_bits), "o_o__sel": Signal(cfg.sel_bits, name="dp_o_sel")})
        m.submodules.dp = Instance("mixlane_datapath", **ports)
        with m.If(valid & ready & (state < 2)):
            m.d.sync += state.eq(state + 1)
        with m.If((state == 2) & o_valid):
            m.d.sync += [state.eq(3), self.result.eq(data)]
        products = [element_value(cfg, self.held_a[o:o + p], p, "a") * element_value(cfg, self.held_w[o:o + p], p, "w")
                    for o, p in self._elements]
        m.d.comb += [self.expected.eq(sum(products)), self.done.eq(state == 3),
                     self.ok.eq((state == 3) & (self.result == self.expected))]
        return m
