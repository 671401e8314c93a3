"""Shared-unit MAC lanes for unsigned 8-bit activations and signed 8-bit weights: SPARQ and NB-SMT.

A lane takes ``threads`` consecutive elements of the register (``8 * threads`` bits of ``a`` and ``w``) and one
multiplier unit made of ``threads`` *slices*: a slice multiplies a ``slice_bits``-bit unsigned digit by an
8-bit signed weight and shifts the product left (Amaranth ``*``, mapped by the synthesis tool, like the INT8
baseline). Which thread a slice serves, and which digit of it, is decided every cycle:

- ``policy = "operands"`` (NB-SMT): a thread is *busy* when its activation and weight are both non-zero. With
  ``n`` busy threads the unit is split ``ways = 1, 2, 4`` ways (``n <= 1``, ``n = 2``, ``n >= 3``); the busy
  thread of rank ``r`` (``r`` busy threads before it) owns slices ``r * threads/ways ..`` and feeds them the
  digits of its activation trimmed to ``8 / ways`` bits (one busy thread: exact);
- ``policy = "activations"`` (vSPARQ, two threads): as above with busy meaning a non-zero activation;
- ``policy = "always"`` (bSPARQ): every thread owns one slice of ``window`` bits and always runs trimmed.

Trimming (``trim``) is the bSPARQ window: leading-one detection over the allowed window positions, the window
multiplexer, round half to even over the dropped bits and saturation of a carry out to the window's ones.

The lane's value leaves as ``sum`` biased to be non-negative (``carry`` is 0); ``en`` low or a reserved code
gives 0. Combinational; one cycle per operation.
"""

from __future__ import annotations

import functools
import operator

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .contract import LaneContract

__all__ = ["SharedLane", "trim", "POLICIES"]

POLICIES = ("operands", "activations", "always")
ACT_BITS = 8


def trim(m: Module, a, *, window: int, lsbs: tuple[int, ...], rounding: bool, name: str):
    """Hardware bSPARQ of the unsigned 8-bit value ``a``: ``(digits, shift)`` signals with
    ``trimmed = digits << shift``; ``lsbs`` are the allowed window positions (ascending, from 0)."""
    digits = Signal(window, name=f"{name}_digits")
    shift = Signal(range(ACT_BITS), name=f"{name}_shift")
    if window >= ACT_BITS:
        m.d.comb += [digits.eq(a), shift.eq(0)]
        return digits, shift
    raw = Signal(window, name=f"{name}_raw")
    up = Signal(name=f"{name}_round_up")
    # the lowest window whose top bit is at or above the leading one: placement i is taken when a has a one
    # above window i - 1 (a thermometer over the placements)
    for n, i in enumerate(reversed(range(len(lsbs)))):
        lsb = lsbs[i]
        branch = m.Else() if i == 0 else (m.If if n == 0 else m.Elif)(a[lsbs[i - 1] + window:].any())
        with branch:
            m.d.comb += [raw.eq(a[lsb:lsb + window]), shift.eq(lsb)]
            if rounding and lsb:
                sticky = a[:lsb - 1].any() if lsb > 1 else Const(0)
                m.d.comb += up.eq(a[lsb - 1] & (a[lsb] | sticky))
    bumped = Signal(window + 1, name=f"{name}_rounded")
    m.d.comb += bumped.eq(raw + up)
    m.d.comb += digits.eq(Mux(bumped[window], (1 << window) - 1, bumped[:window]))
    return digits, shift


class SharedLane(wiring.Component):
    """``threads`` elements sharing one sliced multiplier unit (module docstring).

    Parameters
    ----------
    threads : int
        Elements per lane (2 or 4; ``"activations"`` takes 2).
    policy : str
        ``"operands"``, ``"activations"`` or ``"always"``.
    lsbs : dict
        Window width -> allowed window positions, for every width the policy uses (4, and 2 for four
        ``"operands"`` threads; ``window`` for ``"always"``).
    window : int or None
        Bits a thread keeps under ``"always"`` (2, 3 or 4); ``None`` for the sharing policies (their slices are
        ``8 // threads`` bits).
    rounding : bool
        Round half to even (else truncate).
    code_bits : int
        Width of ``code``; code 0 is the 8-bit precision, others are reserved (0).

    Members
    -------
    a : In(8 * threads)
        Unsigned activations, thread ``t`` in bits ``8t ..``.
    w : In(8 * threads)
        Signed weights, likewise.
    code : In(code_bits)
    en : In(1)
    sum, carry : Out(row_width)
        ``sum + offset`` is the lane's value (``offset = -2**(row_width - 1)``); ``carry`` is 0.
    """

    def __init__(self, *, threads: int, policy: str, lsbs: dict, window: int | None, rounding: bool,
                 code_bits: int = 1):
        self._threads = operator.index(threads)
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        if self._threads not in (2, 4) or (policy == "activations" and self._threads != 2):
            raise ValueError(f"threads must be 2 or 4 (2 for 'activations'), not {threads!r}")
        self._policy, self._rounding = policy, bool(rounding)
        if (policy == "always") != (window is not None):
            raise ValueError(f"window: give the kept bits (2, 3 or 4) for policy 'always' only, not {window!r}")
        self._window = operator.index(window) if window is not None else ACT_BITS // self._threads
        self._slice = self._window if policy == "always" else ACT_BITS // self._threads
        self._ways = (self._threads,) if policy == "always" else tuple(w for w in (1, 2, 4) if w <= self._threads)
        self._lsbs = {operator.index(k): tuple(operator.index(x) for x in v) for k, v in lsbs.items()}
        for way in self._ways:
            width = self._window if policy == "always" else ACT_BITS // way
            if width < ACT_BITS and (width not in self._lsbs or not self._lsbs[width]
                                     or self._lsbs[width][0] != 0 or self._lsbs[width][-1] != ACT_BITS - width):
                raise ValueError(f"lsbs must give the positions of the {width}-bit window from 0 to "
                                 f"{ACT_BITS - width}, not {lsbs!r}")
        self._code_bits = operator.index(code_bits)
        peak = self._threads * 255 * 128
        self._row_width = peak.bit_length() + 2
        self._bias = 1 << (self._row_width - 1)
        bits = ACT_BITS * self._threads
        super().__init__({"a": In(bits), "w": In(bits), "code": In(self._code_bits), "en": In(1),
                          "sum": Out(unsigned(self._row_width)), "carry": Out(unsigned(self._row_width))})

    @property
    def contract(self) -> LaneContract:
        n = 1 << self._code_bits
        return LaneContract(row_width=self._row_width, offsets=((-self._bias,),) * n, shifts=(0,) * n,
                            weights=((0,),) * n, cycles=(1,) * n, register_code=False)

    def _busy(self, m: Module, a, w):
        busy = Signal(self._threads, name="busy")
        for t in range(self._threads):
            if self._policy == "operands":
                m.d.comb += busy[t].eq(a[t].any() & w[t].any())
            else:
                m.d.comb += busy[t].eq(a[t].any())
        return busy

    def _owners(self, m: Module, busy):
        """``take[k][t]``: slice ``k`` serves thread ``t``; ``piece[k]``: which slice of its owner's digits."""
        T = self._threads
        if self._policy == "always":
            return [[Const(int(k == t)) for t in range(T)] for k in range(T)], {self._threads: None}
        count = Signal(range(T + 1), name="busy_count")
        m.d.comb += count.eq(sum(busy[t] for t in range(T)))
        ways = {}
        for way in self._ways:
            sel = Signal(name=f"ways{way}")
            lo = {1: 0, 2: 2, 4: 3}[way]
            hi = {1: 1, 2: 2, 4: 4}[way]
            m.d.comb += sel.eq((count >= lo) & (count <= hi))
            ways[way] = sel
        ranks = []
        for t in range(T):
            rank = Signal(range(T), name=f"rank{t}")
            m.d.comb += rank.eq(sum(busy[u] for u in range(t)) if t else 0)
            ranks.append(rank)
        take = []
        for k in range(T):
            row = []
            for t in range(T):
                bit = Signal(name=f"take_s{k}_t{t}")
                owns = [sel & (ranks[t] == k // (T // way)) for way, sel in ways.items()]
                m.d.comb += bit.eq(busy[t] & functools.reduce(operator.or_, owns))
                row.append(bit)
            take.append(row)
        return take, ways

    def elaborate(self, platform):
        m = Module()
        T, S = self._threads, self._slice
        a = [self.a[ACT_BITS * t: ACT_BITS * (t + 1)] for t in range(T)]
        w = [self.w[ACT_BITS * t: ACT_BITS * (t + 1)].as_signed() for t in range(T)]
        busy = self._busy(m, a, w) if self._policy != "always" else None
        take, ways = self._owners(m, busy)
        # every thread's digits for every split of the unit it may see
        cand = {}          # (way, t) -> (digits, shift)
        for way in ways:
            width = self._window if self._policy == "always" else ACT_BITS // way
            for t in range(T):
                cand[way, t] = trim(m, a[t], window=width, lsbs=self._lsbs.get(width, (0,)),
                                    rounding=self._rounding, name=f"t{t}_w{width}")
        live = Signal(name="live")
        m.d.comb += live.eq(self.en & (self.code == 0))
        total = 0
        for k in range(T):
            digit = Signal(S, name=f"slice{k}_digit")
            weight = Signal(signed(ACT_BITS), name=f"slice{k}_weight")
            shift = Signal(range(ACT_BITS), name=f"slice{k}_shift")
            d_or, w_or, s_or = 0, 0, 0
            for t in range(T):
                for way, sel in ways.items():
                    digits, sh = cand[way, t]
                    per = T // way if self._policy != "always" else 1
                    j = k % per                      # which slice of the owner's window this is
                    hit = take[k][t] & (sel if sel is not None else 1)
                    d_or = d_or | Mux(hit, digits[j * S:(j + 1) * S], 0)
                    s_or = s_or | Mux(hit, sh + j * S, 0)
                w_or = w_or | Mux(take[k][t], w[t].as_unsigned(), 0)
            m.d.comb += [digit.eq(d_or), weight.eq(w_or), shift.eq(s_or)]
            product = Signal(signed(S + ACT_BITS + 1), name=f"slice{k}_product")
            m.d.comb += product.eq(digit.as_unsigned() * weight)
            shifted = Signal(signed(S + 2 * ACT_BITS + 1), name=f"slice{k}_shifted")
            m.d.comb += shifted.eq(product << shift)
            total = total + shifted
        value = Signal(signed(self._row_width), name="lane_value")
        m.d.comb += value.eq(Mux(live, total, 0))
        m.d.comb += [self.sum.eq(value + self._bias), self.carry.eq(0)]
        return m
