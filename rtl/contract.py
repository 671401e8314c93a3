"""The contract between a MAC lane (processing element) and the datapath that instantiates it.

Every lane component has the ports of :func:`lane_signature` and a :attr:`contract` property returning a
:class:`LaneContract`. The datapath needs nothing else: it wires ``a``/``w``/``code``/``en`` (and ``step``),
sums the lanes' carry-save rows in one tree with the contract's offsets and shifts, and for multi-cycle lanes
sequences the steps and weights their results.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["LaneContract", "lane_signature", "check_lane"]


@dataclass(frozen=True)
class LaneContract:
    """What a lane's rows mean, per precision code and per step of an operation.

    Attributes
    ----------
    row_width : int
        Width of the ``sum`` and ``carry`` rows (unsigned).
    offsets : tuple of tuple of int
        ``offsets[code][step]``: constant to add to ``sum + carry`` (negative-weight corrections).
    shifts : tuple of int
        ``shifts[code]``: ``sum + carry + offset`` is the step's value times ``2**shifts[code]`` (its low bits
        are zero); the tree shifts it back.
    weights : tuple of tuple of int
        ``weights[code][step]``: the step's value enters the operation's result times ``2**weight``.
    cycles : tuple of int
        ``cycles[code]``: steps (clock cycles) of one operation, >= 1; ``step`` counts ``0 .. cycles - 1``.
    register_code : bool
        Offsets, shifts, weights or cycles depend on the code: every lane of a register must have the same
        code (``uniform`` mode), and the datapath applies them register-wide.
    kind : str
        ``"sum"``: the lane's products are summed (``sum``/``carry`` rows into the datapath's tree, one
        accumulator per output). ``"apart"``: the lane keeps its products apart in ``vec`` (``row_width``
        bits; at precision ``p`` product ``k`` in bits ``2kp .. 2kp+2p-1``, two's complement) and the datapath
        accumulates them in subword accumulators (offsets, shifts and weights unused, all 0).
    """

    row_width: int
    offsets: tuple[tuple[int, ...], ...]
    shifts: tuple[int, ...]
    weights: tuple[tuple[int, ...], ...]
    cycles: tuple[int, ...]
    register_code: bool
    kind: str = "sum"

    def __post_init__(self):
        n = len(self.cycles)
        if n < 1 or n & (n - 1) or len(self.offsets) != n or len(self.shifts) != n or len(self.weights) != n:
            raise ValueError(f"LaneContract: one entry per code (a power of two) in offsets, shifts, weights and "
                             f"cycles, not {len(self.offsets)}, {len(self.shifts)}, {len(self.weights)}, {n}")
        for c, k in enumerate(self.cycles):
            if k < 1 or len(self.offsets[c]) != k or len(self.weights[c]) != k:
                raise ValueError(f"LaneContract: code {c} takes {k} cycles; it needs >= 1 cycle and one offset "
                                 f"and one weight per cycle")
        if self.kind not in ("sum", "apart"):
            raise ValueError(f"LaneContract: kind {self.kind!r}; use 'sum' or 'apart'")
        if min(self.shifts) < 0 or min(min(w) for w in self.weights) < 0:
            raise ValueError("LaneContract: shifts and weights must be >= 0")
        if not self.register_code and (self.max_cycles > 1 or len(set(self.shifts)) > 1
                                       or len({o for per in self.offsets for o in per}) > 1):
            raise ValueError("LaneContract: offsets, shifts or cycles that depend on the code need "
                             "register_code = True")

    @property
    def max_cycles(self) -> int:
        return max(self.cycles)

    @property
    def step_bits(self) -> int:
        """Width of the ``step`` port (0: single-cycle lanes have none)."""
        return (self.max_cycles - 1).bit_length()

    @property
    def offset(self) -> int:
        """The offset, when it depends on neither code nor step."""
        values = {o for per in self.offsets for o in per}
        if len(values) != 1:
            raise ValueError("this lane's offset depends on the code or step; use offsets[code][step]")
        return values.pop()


def lane_signature(*, lane_bits: int, code_bits: int, row_width: int, step_bits: int = 0,
                   kind: str = "sum") -> wiring.Signature:
    """Ports of a lane: ``a``, ``w`` (``lane_bits``), ``code``, ``en``, ``step`` (only with ``step_bits``) in;
    ``sum``, ``carry`` (``row_width``) out, or ``vec`` (``row_width``) for ``kind = "apart"``."""
    members = {"a": In(lane_bits), "w": In(lane_bits), "code": In(code_bits), "en": In(1)}
    if step_bits:
        members["step"] = In(step_bits)
    if kind == "apart":
        members["vec"] = Out(unsigned(row_width))
    else:
        members.update({"sum": Out(unsigned(row_width)), "carry": Out(unsigned(row_width))})
    return wiring.Signature(members)


def check_lane(lane: wiring.Component, *, lane_bits: int, code_bits: int) -> LaneContract:
    """The lane's contract, after checking that its ports are :func:`lane_signature`'s; a ``TypeError``
    naming the lane class otherwise."""
    contract = getattr(lane, "contract", None)
    if not isinstance(contract, LaneContract):
        raise TypeError(f"{type(lane).__name__}: a lane needs a `contract` property returning a LaneContract")
    want = lane_signature(lane_bits=lane_bits, code_bits=code_bits, row_width=contract.row_width,
                          step_bits=contract.step_bits, kind=contract.kind)
    if dict(lane.signature.members) != dict(want.members):
        raise TypeError(f"{type(lane).__name__}: ports {dict(lane.signature.members)} differ from the lane "
                        f"contract's {dict(want.members)}")
    if len(contract.cycles) != 1 << code_bits:
        raise TypeError(f"{type(lane).__name__}: contract has {len(contract.cycles)} codes, the datapath "
                        f"{1 << code_bits}")
    return contract
