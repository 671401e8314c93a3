"""Output-stationary accumulators with a wrap or saturate overflow policy."""

from __future__ import annotations

import operator

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Accumulators", "OP_ACC", "OP_LOAD", "OP_READ", "OP_READ_LOAD"]

OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD = 0, 1, 2, 3


class Accumulators(wiring.Component):
    """``outputs`` signed accumulators of ``acc_width`` bits (one register each, reset to 0).

    On a cycle with ``en`` high the operation ``op`` is applied to ``acc[sel]`` at the next edge:
    ACC adds ``addend`` (wrap or saturate), LOAD and READ_LOAD load ``bias``, READ leaves it.
    ``read`` is ``acc[sel]`` before the edge (0 when ``sel >= outputs``). Latency 1 cycle.

    Members
    -------
    en : In(1)
    op : In(2)
    sel : In(sel_bits)
    addend : In(signed(addend_width))
    bias : In(signed(acc_width))
    read : Out(signed(acc_width))
    """

    def __init__(self, *, outputs: int, acc_width: int, addend_width: int, saturate: bool):
        self._outputs = operator.index(outputs)
        self._acc_width = operator.index(acc_width)
        self._addend_width = operator.index(addend_width)
        self._saturate = bool(saturate)
        if self._outputs < 1:
            raise ValueError(f"outputs must be a positive integer, not {outputs!r}")
        if not 2 <= self._addend_width <= self._acc_width:
            raise ValueError(f"addend_width must be 2..acc_width ({acc_width}), not {addend_width!r}")
        self._sel_bits = (self._outputs - 1).bit_length()
        super().__init__({
            "en": In(1),
            "op": In(2),
            "sel": In(max(1, self._sel_bits)),
            "addend": In(signed(self._addend_width)),
            "bias": In(signed(self._acc_width)),
            "read": Out(signed(self._acc_width)),
        })

    def elaborate(self, platform):
        m = Module()
        A = self._acc_width
        regs = [Signal(signed(A), name=f"acc{k}") for k in range(self._outputs)]
        inside = Signal(name="sel_inside")
        m.d.comb += inside.eq(self.sel < self._outputs)
        # read multiplexer as a chain of 2:1 muxes (continuous assignments): an `always @*` block whose
        # inputs all start at their initial values never runs at time 0 in event-driven simulators
        cur = Signal(signed(A), name="acc_cur")
        sel_value = Signal(signed(A), name="acc_sel_value")
        chain = regs[0]
        for k in range(1, self._outputs):
            chain = Mux(self.sel == k, regs[k], chain)
        m.d.comb += [sel_value.eq(chain), cur.eq(Mux(inside, sel_value, 0))]
        m.d.comb += self.read.eq(cur)

        total = Signal(signed(A + 1), name="acc_sum")
        m.d.comb += total.eq(cur + self.addend)
        nxt = Signal(signed(A), name="acc_next")
        if self._saturate:
            hi, lo = (1 << (A - 1)) - 1, -(1 << (A - 1))
            m.d.comb += nxt.eq(Mux(total > hi, hi, Mux(total < lo, lo, total)))
        else:
            m.d.comb += nxt.eq(total[:A])

        for k, reg in enumerate(regs):
            with m.If(self.en & (self.sel == k)):
                with m.Switch(self.op):
                    with m.Case(OP_ACC):
                        m.d.sync += reg.eq(nxt)
                    with m.Case(OP_LOAD, OP_READ_LOAD):
                        m.d.sync += reg.eq(self.bias)
        return m
