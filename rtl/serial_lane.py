"""Bit-serial MAC lane: operands as bit planes, a few planes per cycle.

At precision ``p`` a ``lane_bits`` slice holds ``n = lane_bits // p`` elements. An operation takes several
steps (cycles); step ``s`` adds ``sum_e a_e[i] * w_e[j] * 2**(i + j)`` over the bit pairs ``(i, j)`` the step
covers, as a popcount of ``a_i AND w_j`` planes per column (Cowan et al.): the top plane of a two's complement
operand has negative weight, bipolar 1-bit elements multiply by XNOR (``2 * xnor - 1``).

- ``serial = "weights"`` (1-D, UNPU-like): the activation bits in parallel, ``bits_per_cycle`` weight planes
  per step: ``ceil(p / bits_per_cycle)`` steps, ``lane_bits * bits_per_cycle`` AND cells.
- ``serial = "both"`` (2-D, Loom-like): ``bits_per_cycle`` planes of each operand per step:
  ``ceil(p / bits_per_cycle) ** 2`` steps, ``(lane_bits // pmin) * bits_per_cycle ** 2`` AND cells.

The hardware is a :class:`~mixlane.rtl.term_lane.TermLane` of these terms: every step's bits enter the same
carry-save compressor, a step's value is scaled by ``2**weight`` in the datapath
(:class:`~mixlane.rtl.contract.LaneContract` ``weights``).
"""

from __future__ import annotations

import operator

from .term_lane import TermLane

__all__ = ["BitSerialLane", "bit_serial_terms", "SERIAL_KINDS"]

SERIAL_KINDS = ("weights", "both")


def _groups(p: int, bpc: int) -> list[range]:
    return [range(g, min(p, g + bpc)) for g in range(0, p, bpc)]


def bit_serial_terms(p: int, *, lane_bits: int, a_signed: bool, w_signed: bool, bipolar: bool,
                     bits_per_cycle: int, serial: str):
    """Per step of one operation at precision ``p``: ``(weight, constant, terms)``, each term
    ``(cell, col, negative, kind, a_bit, w_bit)``. ``cell`` names the AND/XNOR cell that computes it (chosen so
    that a cell keeps its ``a`` source across steps and precisions where it can); ``kind`` is ``"and"`` or
    ``"xnor"``; the step's value is ``constant + sum(+-bit << col)``."""
    n = lane_bits // p
    if p == 1 and bipolar:       # 2 * xnor - 1 per element, one step, on the cells of the AND terms
        cell = (lambda e: (e, 0)) if serial == "weights" else (lambda e: (e, 0, 0))
        return [(0, -n, [(cell(e), 1, False, "xnor", e, e) for e in range(n)])]
    neg_a = lambda i: a_signed and p > 1 and i == p - 1      # noqa: E731
    neg_w = lambda j: w_signed and p > 1 and j == p - 1      # noqa: E731
    steps = []
    groups = _groups(p, bits_per_cycle)
    if serial == "weights":
        for gw in groups:
            terms = [((e * p + i, j - gw[0]), i + j - gw[0], neg_a(i) != neg_w(j), "and", e * p + i, e * p + j)
                     for e in range(n) for i in range(p) for j in gw]
            steps.append((gw[0], 0, terms))
    else:
        for ga in groups:
            for gw in groups:
                terms = [((e, i - ga[0], j - gw[0]), i - ga[0] + j - gw[0], neg_a(i) != neg_w(j), "and",
                          e * p + i, e * p + j) for e in range(n) for i in ga for j in gw]
                steps.append((ga[0] + gw[0], 0, terms))
    return steps


class BitSerialLane(TermLane):
    """Multi-precision bit-serial MAC lane (combinational per step; the datapath sequences the steps).

    Parameters
    ----------
    precisions : tuple of int
        Supported precisions, sorted; ``code`` indexes this tuple.
    lane_bits : int
        Width of the operand slices (``pmax``).
    a_signed, w_signed : bool
        Two's complement operands for precisions >= 2.
    bipolar : bool
        1-bit elements are {-1, +1} (XNOR) instead of {0, 1} (AND).
    bits_per_cycle : int
        Bit planes of a serial operand handled per step (1, 2, 4 or 8).
    serial : str
        ``"weights"`` (1-D) or ``"both"`` (2-D), see the module docstring.

    Members: as :class:`~mixlane.rtl.term_lane.TermLane` (``step`` counts the planes).
    """

    def __init__(self, *, precisions, lane_bits: int, a_signed: bool, w_signed: bool, bipolar: bool,
                 bits_per_cycle: int = 1, serial: str = "weights"):
        precisions = tuple(operator.index(p) for p in precisions)
        lane_bits = operator.index(lane_bits)
        if not precisions or any(p < 1 or lane_bits % p for p in precisions):
            raise ValueError(f"precisions must divide lane_bits {lane_bits}, not {precisions!r}")
        if bits_per_cycle not in (1, 2, 4, 8):
            raise ValueError(f"bits_per_cycle must be 1, 2, 4 or 8, not {bits_per_cycle!r}")
        if serial not in SERIAL_KINDS:
            raise ValueError(f"serial must be one of {SERIAL_KINDS}, not {serial!r}")
        steps = {c: bit_serial_terms(p, lane_bits=lane_bits, a_signed=bool(a_signed), w_signed=bool(w_signed),
                                     bipolar=bool(bipolar), bits_per_cycle=bits_per_cycle, serial=serial)
                 for c, p in enumerate(precisions)}
        super().__init__(lane_bits=lane_bits, code_bits=max(1, (len(precisions) - 1).bit_length()), steps=steps)
