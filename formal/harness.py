"""Proof harnesses: a lane module from the Verilog under test beside a behavioural reference (Amaranth).

The reference knows nothing of the lane's structure. Unless the architecture gives its own behavioural
reference (:meth:`~mixlane.architectures.Architecture.lane_reference`, e.g. run-time trimming), it unpacks the lane's ``a`` and ``w`` slices at the
code's precision (:meth:`~mixlane.architectures.Architecture.lane_elements` elements, element ``k`` in bits
``k*p ..``), reads each as the configuration says (two's complement when that operand is signed and
``p >= 2``; ``{-1, +1}`` for bipolar 1-bit, ``{0, 1}`` for unipolar) and multiplies and adds them with
Amaranth's ``*`` and ``+``. The lane side reads the lane's rows through its
:class:`~mixlane.rtl.contract.LaneContract` exactly as the datapath does.
"""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Instance, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from mixlane.rtl.contract import LaneContract

from .lanes import LaneModule

__all__ = ["element_value", "reference_products", "LaneHarness", "HARNESS_TOP"]

#: Module name of every harness (the proof's top).
HARNESS_TOP = "prove_top"


def element_value(cfg, bits, precision: int, operand: str):
    """The value of one ``precision``-bit element (an Amaranth value) of ``operand`` (``"a"`` or ``"w"``)."""
    if precision == 1:
        return Mux(bits[0], 1, -1) if cfg.binary == "bipolar" else bits[0]
    signed_ = cfg.activation_signed if operand == "a" else cfg.weight_signed
    return bits.as_signed() if signed_ else bits.as_unsigned()


def reference_products(cfg, a, w, precision: int) -> list:
    """Products of the elements of lane slices ``a`` and ``w`` at ``precision`` (Amaranth values)."""
    n = cfg.architecture.lane_elements(cfg, precision)
    p = precision
    return [element_value(cfg, a[k * p:(k + 1) * p], p, "a") * element_value(cfg, w[k * p:(k + 1) * p], p, "w")
            for k in range(n)]


def value_width(cfg, contract: LaneContract, code: int, precision: int) -> int:
    """Signed bits that hold the reference, every step's row value and their weighted sum without overflow."""
    n = cfg.architecture.lane_elements(cfg, precision)
    ref = n * cfg.max_product(precision) << contract.shifts[code]
    rows = 2 ** (contract.row_width + 1) + max(abs(o) for o in contract.offsets[code])
    steps = contract.cycles[code] * rows << max(contract.weights[code])
    return max(ref, steps).bit_length() + 2


class LaneHarness(wiring.Component):
    """One lane module (one instance per step of the code's operation) beside the reference.

    Parameters
    ----------
    cfg : Config
    lane : LaneModule
        The module under proof and its port map.
    contract : LaneContract
        The lane's contract (from the configuration's architecture).
    code : int
        Precision code under proof (``en`` is 1).

    Members
    -------
    a, w : In(lane_bits)
    free : In(n)
        Port bits of the instances that no contract port maps to (at least 1 bit, unused then).
    expected, actual : Out(...)
        ``"sum"`` lanes: the reference sum of products, and ``sum_s(((sum + carry + offset) >> shift) <<
        weight)`` over the steps, both signed and wide enough to be exact. ``"apart"`` lanes: the reference
        vector (product ``k`` modulo ``2**(2p)`` in bits ``2kp ..``) and the lane's ``vec``.
    aligned : Out(1)
        The low ``shift`` bits of every step's ``sum + carry + offset`` are zero (always 1 without shift).
    ok : Out(1)
        ``expected == actual`` and ``aligned``: the proof shows ``ok`` is 1 for every input.
    """

    def __init__(self, *, cfg, lane: LaneModule, contract: LaneContract, code: int):
        self._cfg, self._lane, self._ct, self._code = cfg, lane, contract, code
        self._prec = cfg.precisions[code]
        apart = contract.kind == "apart"
        shape = unsigned(contract.row_width) if apart else signed(value_width(cfg, contract, code, self._prec))
        n_free = len(lane.free_bits) * contract.cycles[code]
        bits = cfg.architecture.lane_width(cfg)
        super().__init__({"a": In(bits), "w": In(bits), "free": In(max(1, n_free)),
                          "expected": Out(shape), "actual": Out(shape), "aligned": Out(1), "ok": Out(1)})

    def _instance(self, m: Module, step: int, free_at: int) -> dict:
        """Instance ``lane_s<step>`` of the lane module; returns its contract outputs (name -> Amaranth value)."""
        lane, ct = self._lane, self._ct
        src = {"a": self.a, "w": self.w, "code": Const(self._code, len(lane.inputs["code"])), "en": Const(1, 1)}
        if "step" in lane.inputs:
            src["step"] = Const(step, len(lane.inputs["step"]))
        feed = {bit: src[name][i] for name, bits in lane.inputs.items() for i, bit in enumerate(bits)
                if not isinstance(bit, int)}
        for k, bit in enumerate(lane.free_bits):
            feed[bit] = self.free[free_at + k]
        ports, outs = {}, {}
        for port, (direction, width) in lane.ports.items():
            if direction == "input":
                ports[f"i_{port}"] = Cat(*(feed[(port, i)] for i in range(width)))
            else:
                outs[port] = Signal(width, name=f"s{step}_{port}")
                ports[f"o_{port}"] = outs[port]
        m.submodules[f"lane_s{step}"] = Instance(lane.module, **ports)
        return {name: Cat(*(Const(b, 1) if isinstance(b, int) else outs[b[0]][b[1]] for b in bits))
                for name, bits in lane.outputs.items()}

    def elaborate(self, platform):
        m = Module()
        cfg, ct, code, p = self._cfg, self._ct, self._code, self._prec
        # the reference sees the operand bits the lane module is specialised for (constants) as those constants
        a, w = (Cat(*(Const(b, 1) if isinstance(b, int) else port[i]
                      for i, b in enumerate(self._lane.inputs[name])))
                for name, port in (("a", self.a), ("w", self.w)))
        reference = cfg.architecture.lane_reference(cfg, a, w, p)
        products = reference_products(cfg, a, w, p) if reference is None or ct.kind == "apart" else []
        n_free = len(self._lane.free_bits)
        rows = [self._instance(m, s, s * n_free) for s in range(ct.cycles[code])]
        if ct.kind == "apart":
            m.d.comb += [self.expected.eq(Cat(*(x[:2 * p] for x in products))), self.actual.eq(rows[0]["vec"]),
                         self.aligned.eq(1)]
        else:
            width, shift = len(self.actual), ct.shifts[code]
            total, aligned = 0, 1
            for s, r in enumerate(rows):
                x = Signal(signed(width), name=f"step{s}_value")
                m.d.comb += x.eq(r["sum"] + r["carry"] + ct.offsets[code][s])
                total = total + ((x >> shift) << ct.weights[code][s])
                if shift:
                    aligned = aligned & (x[:shift] == 0)
            m.d.comb += [self.expected.eq(sum(products) if reference is None else reference),
                         self.actual.eq(total), self.aligned.eq(aligned)]
        m.d.comb += self.ok.eq((self.expected == self.actual) & self.aligned)
        return m
