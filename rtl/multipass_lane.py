"""Multi-pass sum-together lane: narrow sum-together sub-lanes that also run wider precisions in passes.

The lane is ``lane_bits = pmax`` wide and made of ``lane_bits // digit_bits`` sub-lanes, each a
``digit_bits x digit_bits`` AND array (``lane_bits * digit_bits`` cells, as many compressor inputs):

- precisions ``p <= digit_bits`` run in one cycle, sum-together, ``digit_bits // p`` elements per sub-lane
  placed at the centre of its array (the ``w`` elements reversed, as in the centred sum-together lanes; the
  code's ``shift`` puts the sum back);
- a precision ``p = k * digit_bits`` splits every element into ``k`` digits of ``digit_bits`` bits (the top
  digit carries the two's complement sign, the others are unsigned), one digit of ``a`` per sub-lane. Pass
  ``t = 0 .. 2k-2`` adds the digit products on the anti-diagonal ``x + y = t``: sub-lane ``x`` of an element
  multiplies its ``a`` digit ``x`` by ``w`` digit ``t - x`` (routed to it), the others are off; the pass's value
  is weighted ``2**(digit_bits * t)``. ``2k - 1`` cycles, no compressor input beyond the sub-lanes' own.

Built as a :class:`~mixlane.rtl.term_lane.TermLane`.
"""

from __future__ import annotations

import operator

from mixlane.architectures.multipass import multipass_schedule

from .term_lane import TermLane

__all__ = ["MultiPassLane", "multipass_terms"]


def multipass_terms(p: int, *, lane_bits: int, digit_bits: int, a_signed: bool, w_signed: bool, bipolar: bool,
                    schedule: str = "diagonal"):
    """Steps ``(weight, constant, terms)`` of one operation at precision ``p`` (see :mod:`term_lane`), and the
    code's right shift."""
    d = digit_bits
    neg_a = lambda i: a_signed and p > 1 and i == p - 1      # noqa: E731  (bit i of the element)
    neg_w = lambda j: w_signed and p > 1 and j == p - 1      # noqa: E731
    if p <= d:
        n = d // p                                           # elements per sub-lane
        shift = max(0, d - 2) if (p == 1 and bipolar) else d - p
        terms, const = [], 0
        for sub in range(lane_bits // d):
            for e in range(n):
                base, rev = sub * d + e * p, (n - 1 - e) * p   # w elements reversed: products on the centre
                if p == 1 and bipolar:
                    terms.append(((base, rev), 1 + shift, False, "xnor", base, base))
                    const -= 1 << shift
                    continue
                for i in range(p):
                    for j in range(p):
                        terms.append(((base + i, rev + j), d - p + i + j, neg_a(i) != neg_w(j), "and",
                                      base + i, base + j))
        return [(0, const, terms)], shift
    k = p // d
    steps = []
    for group in multipass_schedule(k, schedule):
        terms, t0 = [], group[0]
        for t in group:                                   # later diagonals of a pass sit d*(t - t0) columns up
            for e in range(lane_bits // p):
                for x in range(max(0, t - k + 1), min(k, t + 1)):
                    y = t - x
                    for i in range(d):
                        for j in range(d):
                            ia, jw = x * d + i, y * d + j      # bit positions inside the element
                            terms.append(((e * p + ia, j), i + j + d * (t - t0), neg_a(ia) != neg_w(jw), "and",
                                          e * p + ia, e * p + jw))
        steps.append((d * t0, 0, terms))
    return steps, 0


class MultiPassLane(TermLane):
    """Sum-together lane of ``digit_bits``-wide sub-lanes; wider precisions in ``2k - 1`` passes.

    Parameters
    ----------
    precisions : tuple of int
        Supported precisions, sorted; ``code`` indexes this tuple. Those above ``digit_bits`` must be
        multiples of it.
    lane_bits : int
        Width of the operand slices (``pmax``).
    digit_bits : int
        Width of a sub-lane (1, 2 or 4), at most ``lane_bits``.
    a_signed, w_signed : bool
        Two's complement operands for precisions >= 2.
    bipolar : bool
        1-bit elements are {-1, +1} (XNOR) instead of {0, 1} (AND).
    schedule : str
        ``"diagonal"`` or ``"paired"`` (:func:`multipass_schedule`).

    Members: as :class:`~mixlane.rtl.term_lane.TermLane`.
    """

    def __init__(self, *, precisions, lane_bits: int, digit_bits: int, a_signed: bool, w_signed: bool,
                 bipolar: bool, schedule: str = "diagonal"):
        precisions = tuple(operator.index(p) for p in precisions)
        lane_bits, d = operator.index(lane_bits), operator.index(digit_bits)
        if d not in (1, 2, 4) or d > lane_bits or lane_bits % d:
            raise ValueError(f"digit_bits must be 1, 2 or 4 and divide lane_bits {lane_bits}, not {digit_bits!r}")
        if not precisions or any(p < 1 or lane_bits % p or (p > d and p % d) for p in precisions):
            raise ValueError(f"precisions must divide lane_bits {lane_bits} and be multiples of digit_bits {d} "
                             f"above it, not {precisions!r}")
        steps, shifts = {}, {}
        for c, p in enumerate(precisions):
            steps[c], shifts[c] = multipass_terms(p, lane_bits=lane_bits, digit_bits=d, a_signed=bool(a_signed),
                                                  w_signed=bool(w_signed), bipolar=bool(bipolar), schedule=schedule)
        super().__init__(lane_bits=lane_bits, code_bits=max(1, (len(precisions) - 1).bit_length()), steps=steps,
                         shifts=shifts)
