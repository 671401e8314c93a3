"""Block-level tests of the Amaranth components, run in Amaranth 0.5's own simulator.

Every expected value comes from the golden model (``mixlane.golden``); the tests only translate between
port integers and the golden model's arrays. Blocks covered:

* :class:`SumTogetherLane` against golden ``decode``/``unpack`` of a one-lane register,
* :func:`compress` and :class:`ReductionTree` against the exact integer sum (``wrap`` for the tree),
* :class:`PrecisionDecoder` against golden ``decode`` (the slots must describe the same element layout),
* :class:`Aligner` (element mode) against golden ``unpack``,
* :class:`Accumulators` against golden ``run`` (with ``wrap``/``saturate``),

plus negative tests that break a block on purpose and check that the comparison reports it.

Speed: combinational blocks sit in a :class:`_Flat` harness that packs all inputs into one signal and all
outputs into another, so each vector costs one ``ctx.set`` (one settle) and one ``ctx.get``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from amaranth.hdl import Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.sim import Simulator

import mixlane.golden.arith as golden_arith
import mixlane.rtl.mac_lane as mac_lane_mod
from mixlane.config import PRESETS, Config
from mixlane.golden import (OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD, Ops, bits_to_ints, decode,
                            encode_meta_ints, ints_to_bits, meta_field_bits, meta_fields, run, saturate,
                            unpack, wrap)
from mixlane.rtl.accumulator import Accumulators
from mixlane.rtl.aligner import Aligner
from mixlane.rtl.compress import ReductionTree, compress
from mixlane.rtl.decoder import PrecisionDecoder, slot_layout
from mixlane.rtl.mac_lane import SumTogetherLane, centre_shift


# ------------------------------------------------------------------------------------------ harness
def _value(port):
    """An Amaranth value of a port (``lib.data`` views as their raw bits; member arrays concatenated,
    element 0 lowest)."""
    if isinstance(port, (list, tuple)):
        return Cat(*(_value(p) for p in port))
    return port.as_value() if hasattr(port, "as_value") else port


class _Flat(Elaboratable):
    """Wraps a combinational component: input ports concatenated into ``x``, outputs into ``y``."""

    def __init__(self, dut, inputs, outputs):
        self.dut = dut
        self._ins = [_value(p) for p in inputs]
        self._outs = [_value(p) for p in outputs]
        self.in_widths = [len(v) for v in self._ins]
        self.out_widths = [len(v) for v in self._outs]
        self.x = Signal(sum(self.in_widths), name="x")
        self.y = Signal(sum(self.out_widths), name="y")

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = self.dut
        m.d.comb += [Cat(*self._ins).eq(self.x), self.y.eq(Cat(*self._outs))]
        return m


def _join(values, widths) -> int:
    out, shift = 0, 0
    for v, w in zip(values, widths):
        assert 0 <= v < (1 << w), (v, w)
        out |= v << shift
        shift += w
    return out


def _split(value: int, widths) -> list[int]:
    out = []
    for w in widths:
        out.append(value & ((1 << w) - 1))
        value >>= w
    return out


def sim_comb(dut, inputs, outputs, vectors) -> list[list[int]]:
    """Drive ``vectors`` (tuples of unsigned port ints, in ``inputs`` order) into a combinational ``dut``
    and return the unsigned values of ``outputs`` for each vector."""
    flat = _Flat(dut, inputs, outputs)
    xs = [_join(v, flat.in_widths) for v in vectors]
    ys: list[int] = []

    async def tb(ctx):
        for x in xs:
            ctx.set(flat.x, x)
            ys.append(ctx.get(flat.y))

    sim = Simulator(flat)
    sim.add_testbench(tb)
    sim.run()
    return [_split(y, flat.out_widths) for y in ys]


# ============================================================================== 1. SumTogetherLane
def lane_config(precisions, *, packed: bool, a_signed: bool, w_signed: bool, bipolar: bool) -> Config:
    """A 32-bit golden configuration whose element encodings match the lane's parameters."""
    return Config(width=32, precisions=tuple(precisions), precision_mode="uniform" if packed else "element",
                  activation_signed=a_signed, weight_signed=w_signed,
                  binary="bipolar" if bipolar else "unipolar")


def golden_lane_layout(cfg: Config, lane_bits: int, packed: bool, code: int, en: int) -> np.ndarray:
    """Golden layout ``(1, N)`` of a register whose only live bits are one lane at bits ``0..lane_bits-1``.

    packed: the golden uniform decoder's layout for ``code``, restricted to elements starting in the lane;
    unpacked: the golden element decoder's first element when every code is ``code``. ``en = 0``: no element.
    """
    N = cfg.max_elements
    if not en:
        return np.zeros((1, N), dtype=np.int64)
    if packed:
        layout = decode(cfg, np.array([[code]]))
        layout[:, np.arange(N) * cfg.pmin >= lane_bits] = 0
    else:
        layout = decode(cfg, np.full((1, N), code))
        layout[:, 1:] = 0
    return layout


def golden_lane_sums(cfg: Config, lane_bits: int, packed: bool, a, w, code, en) -> np.ndarray:
    """Golden product sum of one lane for each vector (``a``, ``w`` lane integers)."""
    a, w, code, en = (np.asarray(x, dtype=np.int64) for x in (a, w, code, en))
    out = np.zeros(len(a), dtype=np.int64)
    for c, e in set(zip(code.tolist(), en.tolist())):
        idx = np.nonzero((code == c) & (en == e))[0]
        layout = np.repeat(golden_lane_layout(cfg, lane_bits, packed, c, e), len(idx), axis=0)
        a_bits = ints_to_bits(a[idx].tolist(), cfg.width)
        w_bits = ints_to_bits(w[idx].tolist(), cfg.width)
        out[idx] = (unpack(cfg, a_bits, layout, "a") * unpack(cfg, w_bits, layout, "w")).sum(axis=1)
    return out


def lane_mismatches(lane: SumTogetherLane, cfg: Config, lane_bits: int, packed: bool, vectors) -> list:
    """Simulate ``lane`` on ``vectors`` ``(a, w, code, en)``; ``[(vector, expected, actual), ...]`` that differ."""
    outs = sim_comb(lane, [lane.a, lane.w, lane.code, lane.en], [lane.sum, lane.carry], vectors)
    a, w, code, en = zip(*vectors)
    exp = golden_lane_sums(cfg, lane_bits, packed, a, w, code, en)
    bad = []
    for vec, (s, c), e in zip(vectors, outs, exp.tolist()):
        got = s + c + lane.offsets[vec[2]]
        if got != e << lane.shifts[vec[2]]:
            bad.append((vec, e, got))
    return bad


_CORNERS = {4: [0x0, 0xF, 0x8, 0x7, 0xA, 0x5, 0x1],
            8: [0x00, 0xFF, 0x80, 0x7F, 0x88, 0x77, 0xAA, 0x55, 0x01]}


def lane_vectors(lane_bits: int, code_bits: int, rng: np.random.Generator, samples: int) -> list[tuple]:
    """Exhaustive (a, w) for 4-bit lanes, range ends + ``samples`` random pairs for wider ones; every code
    (reserved ones included) with ``en = 1``, and ``en = 0`` with cycling codes."""
    codes = range(1 << code_bits)
    if lane_bits <= 4:
        pairs = list(itertools.product(range(1 << lane_bits), repeat=2))
        vecs = [(a, w, c, 1) for c in codes for a, w in pairs]
        vecs += [(a, w, k % (1 << code_bits), 0) for k, (a, w) in enumerate(pairs)]
        return vecs
    ends = _CORNERS[lane_bits]
    vecs = [(a, w, c, 1) for c in codes for a in ends for w in ends]
    vecs += [(a, w, k % (1 << code_bits), 0) for k, (a, w) in enumerate(itertools.product(ends, ends))]
    ab = rng.integers(0, 1 << lane_bits, (samples, 2))
    cs = rng.integers(0, 1 << code_bits, samples)
    es = (rng.random(samples) < 0.9).astype(int)
    vecs += [(int(x), int(y), int(c), int(e)) for (x, y), c, e in zip(ab, cs, es)]
    return vecs


LANE_CASES = [(4, (1, 2, 4)), (4, (2, 4)), (4, (4,)), (8, (1, 2, 4, 8)), (8, (2, 8)), (8, (8,))]
#: random (a, w, code, en) samples per 8-bit lane on top of the range ends x every code
LANE_SAMPLES = {(1, 2, 4, 8): 1000, (2, 8): 600, (8,): 600}
SIGNS = [(False, False), (False, True), (True, False), (True, True)]


def _make_lane(precisions, lane_bits, packed, a_signed, w_signed, bipolar, centred=False):
    lane = SumTogetherLane(precisions=precisions, lane_bits=lane_bits, packed=packed, a_signed=a_signed,
                           w_signed=w_signed, bipolar=bipolar, centred=centred)
    cfg = lane_config(precisions, packed=packed, a_signed=a_signed, w_signed=w_signed, bipolar=bipolar)
    return lane, cfg


def check_lane(lane_bits, precisions, packed, a_signed, w_signed, bipolar, samples, seed=0, centred=False):
    lane, cfg = _make_lane(precisions, lane_bits, packed, a_signed, w_signed, bipolar, centred)
    rng = np.random.default_rng([seed, lane_bits, len(precisions), packed, a_signed, w_signed, bipolar])
    vecs = lane_vectors(lane_bits, len(lane.code), rng, samples)
    bad = lane_mismatches(lane, cfg, lane_bits, packed, vecs)
    assert not bad, (f"lane precisions={precisions} lane_bits={lane_bits} packed={packed} centred={centred} "
                     f"a_signed={a_signed} w_signed={w_signed} bipolar={bipolar}: {len(bad)}/{len(vecs)} "
                     f"mismatches; first ((a, w, code, en), expected, actual): {bad[:5]}")


def _lane_params(cases):
    """Parametrize over ``cases`` x (packed, centred packed, single) x the four signedness combinations x
    unipolar/bipolar."""
    marks = [
        pytest.mark.parametrize("lane_bits,precisions", cases,
                                ids=[f"lb{lb}-{'-'.join(map(str, P))}" for lb, P in cases]),
        pytest.mark.parametrize("packed,centred", [(True, False), (True, True), (False, False)],
                                ids=["packed", "centred", "single"]),
        pytest.mark.parametrize("a_signed,w_signed", SIGNS, ids=["uu", "us", "su", "ss"]),
        pytest.mark.parametrize("bipolar", [False, True], ids=["unipolar", "bipolar"]),
    ]

    def deco(fn):
        for mark in marks:
            fn = mark(fn)
        return fn
    return deco


@_lane_params(LANE_CASES)
def test_lane_matches_golden(lane_bits, precisions, packed, centred, a_signed, w_signed, bipolar):
    """4-bit lanes exhaustively; 8-bit lanes: range ends x every code, plus random samples."""
    check_lane(lane_bits, precisions, packed, a_signed, w_signed, bipolar, LANE_SAMPLES.get(precisions, 0),
               centred=centred)


@pytest.mark.slow
@_lane_params([c for c in LANE_CASES if c[0] == 8])
def test_lane_matches_golden_long(lane_bits, precisions, packed, centred, a_signed, w_signed, bipolar):
    """Opt-in (``-m slow``): 8-bit lanes with 5000 fresh random samples each."""
    check_lane(lane_bits, precisions, packed, a_signed, w_signed, bipolar, 5000, seed=1, centred=centred)


def test_lane_golden_reference_sanity():
    """The lane reference really is the golden product sum (spot values worked out from docs/format.md)."""
    cfg = lane_config((1, 2, 4), packed=True, a_signed=False, w_signed=True, bipolar=True)
    # 4-bit element: a = 3 (unsigned), w = 0xF = -1 (signed) -> -3
    assert golden_lane_sums(cfg, 4, True, [0x3], [0xF], [2], [1]).tolist() == [-3]
    # 2-bit elements: a = (1, 2), w = (-1, 1) -> -1 + 2 = 1
    assert golden_lane_sums(cfg, 4, True, [0b1001], [0b0111], [1], [1]).tolist() == [1]
    # four bipolar bits, all equal -> +4; all different -> -4; reserved code 3 and en = 0 -> 0
    assert golden_lane_sums(cfg, 4, True, [0b1010, 0b1010, 0xF, 0xF], [0b1010, 0b0101, 0xF, 0xF],
                            [0, 0, 3, 2], [1, 1, 1, 0]).tolist() == [4, -4, 0, 0]
    # single element (element mode): only the low p bits count
    cfg = lane_config((1, 2, 4), packed=False, a_signed=True, w_signed=True, bipolar=False)
    # 2-bit: a = 0b10 = -2, w = 0b11 = -1 -> 2; 1-bit unipolar: a bit 0 = 0 -> 0
    assert golden_lane_sums(cfg, 4, False, [0b1110, 0xE], [0b0111, 0xF], [1, 0], [1, 1]).tolist() == [2, 0]


def test_lane_breaking_a_term_is_detected(monkeypatch):
    """Flip the sign of one partial-product bit: the lane comparison must report mismatches."""
    original = mac_lane_mod.lane_terms

    def broken(p, **kw):
        terms = original(p, **kw)
        if p == 2:
            col, neg, kind, u, v = terms[1]
            terms[1] = (col, not neg, kind, u, v)
        return terms

    monkeypatch.setattr(mac_lane_mod, "lane_terms", broken)
    lane, cfg = _make_lane((1, 2, 4), 4, True, True, True, True)
    vecs = lane_vectors(4, len(lane.code), np.random.default_rng(0), 0)
    bad = lane_mismatches(lane, cfg, 4, True, vecs)
    assert bad and all(v[2] == 1 and v[3] == 1 for v, _, _ in bad)   # only code 1 (2-bit) is wrong


def test_lane_wrong_offset_is_detected():
    class OffByOne(SumTogetherLane):
        @property
        def offsets(self):
            return tuple(o + 1 for o in super().offsets)

    lane = OffByOne(precisions=(2, 8), lane_bits=8, packed=True, a_signed=False, w_signed=True, bipolar=False)
    cfg = lane_config((2, 8), packed=True, a_signed=False, w_signed=True, bipolar=False)
    vecs = lane_vectors(8, len(lane.code), np.random.default_rng(1), 20)
    assert len(lane_mismatches(lane, cfg, 8, True, vecs)) == len(vecs)


@pytest.mark.filterwarnings("ignore::amaranth.hdl.UnusedElaboratable")   # built to count inputs only
@pytest.mark.parametrize("lane_bits,precisions", [(4, (1, 2, 4)), (8, (1, 2, 4, 8)), (8, (2, 8)), (4, (2, 4))])
@pytest.mark.parametrize("a_signed,w_signed", SIGNS, ids=["uu", "us", "su", "ss"])
@pytest.mark.parametrize("bipolar", [False, True], ids=["unipolar", "bipolar"])
def test_centred_lane_has_one_input_per_full_precision_product_bit(lane_bits, precisions, a_signed, w_signed,
                                                                     bipolar):
    """Centred: every precision's bits fit the full-precision array (lane_bits**2 inputs); the fixed-sign
    layout needs more whenever the lane has several precisions."""
    kw = dict(precisions=precisions, lane_bits=lane_bits, packed=True, a_signed=a_signed, w_signed=w_signed,
              bipolar=bipolar)
    centred = SumTogetherLane(**kw, centred=True)
    assert centred.compressor_inputs == lane_bits ** 2
    assert SumTogetherLane(**kw).compressor_inputs > lane_bits ** 2
    assert [centred.shifts[c] for c in range(len(precisions))] == [
        centre_shift(p, lane_bits=lane_bits, bipolar=bipolar) for p in precisions]
    assert centred.shifts[-1] == 0 and centred.offsets[len(precisions) - 1] <= 0


def test_centred_lane_wrong_inversion_is_detected(monkeypatch):
    """A centred slot shared by a negative and a positive bit must flip its inversion with the code: a lane
    that inverts by one fixed code-independent pattern gets the 2-bit mode (code 1) wrong."""
    lane, cfg = _make_lane((1, 2, 4), 4, True, False, True, False, centred=True)
    mixed = [s for s in lane._slots if len(set(s[3][:3])) > 1]
    assert mixed, "expected slots whose sign depends on the precision"
    lane._slots = [(col, key, k, (inv[2],) * len(inv)) for col, key, k, inv in lane._slots]
    vecs = lane_vectors(4, len(lane.code), np.random.default_rng(0), 0)
    bad = lane_mismatches(lane, cfg, 4, True, vecs)
    assert bad and any(v[2] == 1 and v[3] == 1 for v, _, _ in bad)


def test_centred_lane_wrong_shift_is_detected():
    class NoShift(SumTogetherLane):
        @property
        def shifts(self):
            return (0,) * len(super().shifts)

    lane = NoShift(precisions=(1, 2, 4), lane_bits=4, packed=True, a_signed=False, w_signed=True,
                   bipolar=True, centred=True)
    cfg = lane_config((1, 2, 4), packed=True, a_signed=False, w_signed=True, bipolar=True)
    vecs = lane_vectors(4, len(lane.code), np.random.default_rng(2), 0)
    bad = lane_mismatches(lane, cfg, 4, True, vecs)
    assert bad and {v[2] for v, _, _ in bad} == {0, 1}        # 1-bit and 2-bit modes, never 4-bit


# ================================================================ 2. compress() and ReductionTree
class _CompressHarness(Elaboratable):
    """``compress`` over a column set whose bits are input bits (a bit may appear in several columns)
    or constant ones."""

    def __init__(self, spec: dict[int, list], n_inputs: int, limit):
        self.x = Signal(n_inputs, name="x")
        self.m = Module()
        cols = {c: [Const(1, 1) if b == "one" else self.x[b] for b in bits] for c, bits in spec.items()}
        self.row0, self.row1 = compress(self.m, cols, name="t", limit=limit)

    def elaborate(self, platform):
        return self.m


def _random_column_spec(rng: np.random.Generator):
    n_inputs = int(rng.integers(1, 40))
    spec: dict[int, list] = {}
    for col in rng.choice(16, size=int(rng.integers(1, 9)), replace=False).tolist():
        n = int(rng.integers(1, 14))
        bits: list = rng.integers(0, n_inputs, n).tolist()     # repeats allowed: the same bit twice
        if rng.random() < 0.3:
            bits.append("one")
        spec[col] = bits
    return spec, n_inputs


def compress_mismatches(spec, n_inputs, limit, xs, *, harness=_CompressHarness) -> list:
    h = harness(spec, n_inputs, limit)
    ys = []

    async def tb(ctx):
        for x in xs:
            ctx.set(h.x, x)
            ys.append((ctx.get(h.row0), ctx.get(h.row1)))

    sim = Simulator(h)
    sim.add_testbench(tb)
    sim.run()
    bad = []
    for x, (r0, r1) in zip(xs, ys):
        exact = sum((1 if b == "one" else (x >> b) & 1) << c for c, bits in spec.items() for b in bits)
        got = r0 + r1
        if limit is not None:
            exact, got = exact % (1 << limit), got % (1 << limit)
        if got != exact:
            bad.append((x, exact, got))
    return bad


@pytest.mark.parametrize("seed", range(12))
def test_compress_preserves_the_sum(seed):
    rng = np.random.default_rng([2, seed])
    spec, n_inputs = _random_column_spec(rng)
    limit = None if seed % 3 == 0 else int(rng.integers(1, 20))
    xs = [0, (1 << n_inputs) - 1] + [int(v) for v in rng.integers(0, 1 << n_inputs, 80, dtype=np.uint64)]
    bad = compress_mismatches(spec, n_inputs, limit, xs)
    assert not bad, f"spec {spec} limit {limit}: (x, expected, got) {bad[:5]}"


def test_compress_tall_single_column():
    """One column of 40 bits (many adder levels) and a sparse high column."""
    spec = {0: list(range(40)), 9: [0, 1, 2, "one"]}
    xs = [0, (1 << 40) - 1] + [int(v) for v in np.random.default_rng(3).integers(0, 1 << 40, 60,
                                                                                 dtype=np.uint64)]
    assert not compress_mismatches(spec, 40, None, xs)
    assert not compress_mismatches(spec, 40, 7, xs)


def test_compress_dropped_bit_is_detected():
    class Dropping(_CompressHarness):
        def __init__(self, spec, n_inputs, limit):
            spec = {c: (bits[:-1] if c == min(spec) and len(bits) > 1 else bits) for c, bits in spec.items()}
            super().__init__(spec, n_inputs, limit)

    spec = {0: [0, 1, 2, 3], 1: [4, 5, 6], 3: [7]}
    xs = list(range(256))
    assert compress_mismatches(spec, 8, None, xs, harness=Dropping)


TREE_CASES = [  # count, row_width, offset, out_width
    (1, 1, 0, 2), (1, 5, -7, 8), (2, 4, 3, 6), (3, 6, -100, 12), (4, 3, 1000, 5), (5, 8, -(1 << 13), 16),
    (8, 2, 17, 4), (6, 7, -3, 10), (2, 9, (1 << 12) + 5, 9), (3, 4, -1, 2), (3, 10, 5, 6),
]


def tree_mismatches(tree: ReductionTree, count, row_width, offset, out_width, vectors) -> list:
    outs = sim_comb(tree, list(tree.rows), [tree.total], vectors)
    bad = []
    for rows, (total,) in zip(vectors, outs):
        exp = wrap(offset + sum(rows), out_width)
        got = wrap(total, out_width)          # the port's bits read as two's complement
        if got != exp:
            bad.append((rows, exp, got))
    return bad


def _tree_vectors(count, row_width, rng, n=120):
    top = (1 << row_width) - 1
    vecs = [tuple([0] * 2 * count), tuple([top] * 2 * count)]
    vecs += [tuple(int(v) for v in row) for row in rng.integers(0, top + 1, (n, 2 * count))]
    return vecs


@pytest.mark.parametrize("count,row_width,offset,out_width", TREE_CASES)
def test_reduction_tree_sum_modulo(count, row_width, offset, out_width):
    tree = ReductionTree(count=count, row_width=row_width, offset=offset, out_width=out_width)
    vecs = _tree_vectors(count, row_width, np.random.default_rng([3, count, row_width, out_width]))
    bad = tree_mismatches(tree, count, row_width, offset, out_width, vecs)
    assert not bad, f"(rows, expected, got): {bad[:5]}"


def test_reduction_tree_wrong_offset_is_detected():
    tree = ReductionTree(count=3, row_width=4, offset=-5, out_width=8)
    vecs = _tree_vectors(3, 4, np.random.default_rng(4), 30)
    assert len(tree_mismatches(tree, 3, 4, -4, 8, vecs)) == len(vecs)


CODED_TREE_CASES = [  # count, row_width, offsets per code, shifts per code, out_width
    (2, 5, (-7, 3, 0, -100), (2, 1, 0, 0), 8),
    (4, 6, (-40, -40, -8, 0), (3, 2, 0, 0), 10),
    (3, 4, (5, -5), (0, 1), 6),
    (1, 9, (-(1 << 9), 17, 0, 1), (4, 3, 0, 2), 7),
]


def coded_tree_mismatches(tree, offsets, shifts, out_width, vectors) -> list:
    outs = sim_comb(tree, [*tree.rows, tree.code], [tree.total], vectors)
    bad = []
    for vec, (total,) in zip(vectors, outs):
        *rows, code = vec
        exp = wrap((offsets[code] + sum(rows)) >> shifts[code], out_width)
        if wrap(total, out_width) != exp:
            bad.append((vec, exp, wrap(total, out_width)))
    return bad


@pytest.mark.parametrize("count,row_width,offsets,shifts,out_width", CODED_TREE_CASES)
def test_reduction_tree_per_code_offset_and_shift(count, row_width, offsets, shifts, out_width):
    """``(offsets[code] + sum(rows)) >> shifts[code]`` (floor) modulo ``2**out_width`` for every code."""
    tree = ReductionTree(count=count, row_width=row_width, offset=offsets, shifts=shifts, out_width=out_width)
    rng = np.random.default_rng([5, count, row_width])
    vecs = [v + (c,) for c in range(len(offsets)) for v in _tree_vectors(count, row_width, rng, 60)]
    bad = coded_tree_mismatches(tree, offsets, shifts, out_width, vecs)
    assert not bad, f"(rows + (code,), expected, got): {bad[:5]}"


def test_reduction_tree_wrong_shift_is_detected():
    tree = ReductionTree(count=2, row_width=5, offset=(0, 0), shifts=(0, 1), out_width=8)
    vecs = [v + (1,) for v in _tree_vectors(2, 5, np.random.default_rng(6), 30)]
    assert coded_tree_mismatches(tree, (0, 0), (0, 2), 8, vecs)


@pytest.mark.parametrize("kw", [dict(offset=(1, 2, 3), shifts=None), dict(offset=(1, 2), shifts=(0,)),
                                dict(offset=0, shifts=(0, -1))])
def test_reduction_tree_rejects_bad_per_code_parameters(kw):
    with pytest.raises(ValueError, match="one offset and one shift"):
        ReductionTree(count=2, row_width=4, out_width=8, **kw)


# ======================================================================== 3. PrecisionDecoder
def _variants() -> list[tuple[str, Config]]:
    out = []
    for name, (_, cfg) in PRESETS.items():
        for width in (32, 64):
            out.append((f"{name}-w{width}", cfg.replace(width=width)))
    out += [
        ("pattern-3of4-w32", Config(width=32, precision_mode="pattern",
                                    patterns=(((4, 4), (2, 8)), ((1, 32),), ((2, 8), (4, 4))))),
        ("pattern-single-w64", Config(width=64, precision_mode="pattern", precisions=(2, 8),
                                      patterns=(((8, 8),),))),
        ("pattern-1248-w64", Config(width=64, precision_mode="pattern", precisions=(1, 2, 4, 8),
                                    patterns=(((1, 16), (8, 4), (2, 8)), ((4, 8), (2, 8), (1, 8), (8, 1))))),
        ("channel-unsorted-w32", Config(width=32, precision_mode="channel", channel_levels=(4, 1))),
        ("channel-1248-w64", Config(width=64, precision_mode="channel", precisions=(1, 2, 4, 8),
                                    channel_levels=(8, 1, 4))),
        ("channel-one-level-w32", Config(width=32, precision_mode="channel", precisions=(2, 4),
                                         channel_levels=(2,))),
        ("element-1248-w32", Config(width=32, precision_mode="element", precisions=(1, 2, 4, 8))),
        ("element-28-w64", Config(width=64, precision_mode="element", precisions=(2, 8))),
        ("element-4-w32", Config(width=32, precision_mode="element", precisions=(4,))),
        ("uniform-1-w32", Config(width=32, precisions=(1,), binary="unipolar")),
        ("uniform-248-w64", Config(width=64, precisions=(2, 4, 8))),
    ]
    return out


DECODER_CONFIGS = _variants()


def decoder_metas(cfg: Config, rng: np.random.Generator, n: int = 120) -> np.ndarray:
    """Golden-format metadata codes ``(B, F)``: exhaustive for single-field modes; random and corner
    cases (reserved codes, lane-off codes, overflow past the end, exact fills) otherwise."""
    F, fb = meta_fields(cfg), meta_field_bits(cfg)
    top = (1 << fb) - 1
    if F == 1:
        return np.arange(top + 1)[:, None]
    rows = [np.zeros(F, np.int64), np.full(F, top)]
    rows += [np.full(F, c) for c in range(1, top)]
    rows += [np.arange(F) % (top + 1), (np.arange(F) // 3) % (top + 1)]
    out = [np.array(rows), rng.integers(0, top + 1, (n, F))]
    if cfg.precision_mode == "element":
        nv = len(cfg.precisions)
        valid = rng.integers(0, nv, (n, F))                     # no reserved code: runs past the end
        out.append(valid)
        runs = np.repeat(rng.integers(0, nv, (n, F // 4 + 1)), 4, axis=1)[:, :F]
        out.append(runs)
        if nv < top + 1:                                          # one reserved code at a random place
            bad = valid.copy()
            bad[np.arange(n), rng.integers(0, F, n)] = rng.integers(nv, top + 1, n)
            out.append(bad)
        out.append(np.full((1, F), nv - 1))                    # the largest precision only
        # elements that end exactly on the last bit, or a last one that straddles it; then random codes
        P = cfg.precisions
        for straddle in (False, True) * (n // 8):
            row, room, k = rng.integers(0, top + 1, F), cfg.width, 0
            while room > 0:
                if straddle and room < P[-1]:
                    row[k] = nv - 1
                    break
                row[k] = rng.choice([c for c in range(nv) if P[c] <= room])
                room -= P[row[k]]
                k += 1
            out.append(row[None, :])
    return np.concatenate(out).astype(np.int64)


def _slot_fields(cfg: Config, value: int) -> list[dict]:
    sl = slot_layout(cfg)
    out = []
    for k in range(cfg.slots):
        raw = (value >> (k * sl.size)) & ((1 << sl.size) - 1)
        out.append({name: (raw >> f.offset) & ((1 << f.width) - 1) for name, f in sl})
    return out


def slots_to_layout(cfg: Config, slots: list[dict]) -> tuple[np.ndarray, list[str]]:
    """The element layout ``(N,)`` the decoder's slots describe, and any inconsistencies found.

    Lane modes: slot ``l`` enabled with a valid code ``c`` holds ``pmax / P[c]`` elements of ``P[c]``
    (a reserved code makes the lane contribute 0). Element mode: slot ``k`` enabled with offset ``o`` and a
    valid code ``c`` is an element of ``P[c]`` at bit ``o``; it must lie in the register, not overlap another
    element, and be one of the offsets the aligner can select for slot ``k``.
    """
    P, N, W, pmin, lb = cfg.precisions, cfg.max_elements, cfg.width, cfg.pmin, cfg.lane_bits
    layout = np.zeros(N, dtype=np.int64)
    problems: list[str] = []
    if cfg.precision_mode != "element":
        for lane, s in enumerate(slots):
            if s["en"] and s["code"] < len(P):
                p = P[s["code"]]
                for j in range(lb // p):
                    layout[(lane * lb + j * p) // pmin] = p
        return layout, problems
    used = np.zeros(W, dtype=bool)
    for k, s in enumerate(slots):
        if not (s["en"] and s["code"] < len(P)):
            continue
        p, off = P[s["code"]], s["offset"]
        if off % pmin or off + p > W or used[off:off + p].any():
            problems.append(f"slot {k}: element of {p} bits at offset {off} is outside or overlaps")
            continue
        if not k * pmin <= off <= min(k * cfg.pmax, W - pmin):
            problems.append(f"slot {k}: offset {off} is not one the aligner can select")
        used[off:off + p] = True
        layout[off // pmin] = p
    return layout, problems


def decoder_mismatches(dut: PrecisionDecoder, cfg: Config, metas: np.ndarray) -> list:
    ints = encode_meta_ints(cfg, metas)
    outs = sim_comb(dut, [dut.meta], [dut.slots], [(v,) for v in ints])
    exp = decode(cfg, metas)
    bad = []
    for i, (slots_value,) in enumerate(outs):
        layout, problems = slots_to_layout(cfg, _slot_fields(cfg, slots_value))
        if problems or not np.array_equal(layout, exp[i]):
            bad.append((metas[i].tolist(), exp[i].tolist(), layout.tolist(), problems))
    return bad


@pytest.mark.parametrize("cfg", [c for _, c in DECODER_CONFIGS], ids=[n for n, _ in DECODER_CONFIGS])
def test_decoder_matches_golden_decode(cfg):
    metas = decoder_metas(cfg, np.random.default_rng([5, int(cfg.content_hash[:8], 16)]))
    bad = decoder_mismatches(PrecisionDecoder(config=cfg), cfg, metas)
    assert not bad, (f"{len(bad)}/{len(metas)} mismatches for {cfg.to_dict()}; first "
                     f"(codes, golden layout, decoder layout, problems): {bad[:3]}")


def test_decoder_dead_lane_is_detected():
    class LastLaneDead(PrecisionDecoder):
        def _elab_uniform(self, m, cfg):
            for s in range(cfg.slots):
                en = (self.meta < len(cfg.precisions)) if s < cfg.slots - 1 else 0
                m.d.comb += [self.slots[s].code.eq(self.meta), self.slots[s].en.eq(en)]

    cfg = Config(width=32, precisions=(1, 2, 4))
    bad = decoder_mismatches(LastLaneDead(config=cfg), cfg, decoder_metas(cfg, np.random.default_rng(0)))
    assert [b[0] for b in bad] == [[0], [1], [2]]          # every valid code; reserved code 3 is all-off


def test_decoder_lane_off_code_is_detected():
    class LaneOffIgnored(PrecisionDecoder):
        """Level code 3 (lane off) decodes as level 0 instead of switching the lane off."""

        def _elab_channel(self, m, cfg):
            for s in range(cfg.slots):
                lvl = self.meta[2 * s: 2 * s + 2]
                code = Const(cfg.precisions.index(cfg.channel_levels[0]), cfg.code_bits)
                for c, p in enumerate(cfg.channel_levels):
                    code = Mux(lvl == c, cfg.precisions.index(p), code)
                m.d.comb += [self.slots[s].code.eq(code), self.slots[s].en.eq(1)]

    cfg = Config(width=32, precision_mode="channel", channel_levels=(1, 2, 4))
    metas = decoder_metas(cfg, np.random.default_rng(1), 40)
    bad = decoder_mismatches(LaneOffIgnored(config=cfg), cfg, metas)
    assert sorted(map(tuple, (b[0] for b in bad))) == sorted(tuple(r) for r in metas.tolist() if 3 in r)
    assert bad


def test_decoder_narrow_element_offsets_are_detected(monkeypatch):
    """Element offsets one bit too narrow: prefix sums saturate at or below the width, so elements that do
    not fit (or the last one) get wrong offsets or enables."""
    import mixlane.rtl.decoder as decoder_mod

    monkeypatch.setattr(decoder_mod, "offset_bits", lambda cfg: cfg.width.bit_length() - 1)
    cfg = Config(width=32, precision_mode="element")
    metas = decoder_metas(cfg, np.random.default_rng(2), 24)
    bad = decoder_mismatches(PrecisionDecoder(config=cfg), cfg, metas)
    assert len(bad) > len(metas) // 2


# ======================================================================= Aligner (element mode)
ALIGNER_CONFIGS = [c for _, c in DECODER_CONFIGS if c.precision_mode == "element" and c.max_elements <= 32]


def aligner_mismatches(cfg: Config, metas: np.ndarray, a_bits: np.ndarray, w_bits: np.ndarray) -> list:
    """Decoder + aligner: the low ``p`` bits of each enabled slot, read as a ``p``-bit element by golden
    ``unpack``, must equal golden ``unpack`` of the register at the matching element of the golden layout."""
    dec, ali = PrecisionDecoder(config=cfg), Aligner(config=cfg)

    class Pair(Elaboratable):
        def elaborate(self, platform):
            m = Module()
            m.submodules.dec, m.submodules.ali = dec, ali
            m.d.comb += [a.eq(d) for a, d in zip(ali.slots, dec.slots)]
            return m

    vecs = list(zip(encode_meta_ints(cfg, metas), bits_to_ints(a_bits), bits_to_ints(w_bits)))
    outs = sim_comb(Pair(), [dec.meta, ali.a, ali.w], [dec.slots, ali.slot_a, ali.slot_w], vecs)
    layout = decode(cfg, metas)
    want = {"a": unpack(cfg, a_bits, layout, "a"), "w": unpack(cfg, w_bits, layout, "w")}
    lb, N = cfg.lane_bits, cfg.max_elements
    bad = []
    for i, (slots_value, slot_a, slot_w) in enumerate(outs):
        for k, s in enumerate(_slot_fields(cfg, slots_value)):
            if not (s["en"] and s["code"] < len(cfg.precisions)):
                continue
            one = np.zeros((1, N), dtype=np.int64)
            one[0, 0] = cfg.precisions[s["code"]]
            for operand, port in (("a", slot_a), ("w", slot_w)):
                piece = (port >> (k * lb)) & ((1 << lb) - 1)
                got = int(unpack(cfg, ints_to_bits([piece], cfg.width), one, operand)[0, 0])
                exp = int(want[operand][i, s["offset"] // cfg.pmin])
                if got != exp:
                    bad.append((metas[i].tolist(), k, operand, exp, got))
    return bad


@pytest.mark.parametrize("cfg", ALIGNER_CONFIGS, ids=lambda c: c.name)
def test_aligner_delivers_golden_elements(cfg):
    """Element mode: decoder + aligner hand every slot the bits of its element (lane modes are wiring)."""
    rng = np.random.default_rng([6, len(cfg.precisions)])
    cfg = cfg.replace(activation_signed=True)
    metas = decoder_metas(cfg, rng, 40)
    a_bits = rng.integers(0, 2, (len(metas), cfg.width)).astype(np.uint8)
    w_bits = rng.integers(0, 2, (len(metas), cfg.width)).astype(np.uint8)
    bad = aligner_mismatches(cfg, metas, a_bits, w_bits)
    assert not bad, f"(codes, slot, operand, expected, got): {bad[:5]}"


# ============================================================================ 4. Accumulators
def acc_config(outputs: int, acc_width: int, overflow: str) -> Config:
    """A golden configuration with these accumulators (its register sums are replaced, see below)."""
    return Config(width=32, precisions=(1,), binary="unipolar", outputs=outputs, acc_width=acc_width,
                  overflow=overflow)


def golden_acc_run(cfg: Config, op, sel, addend, bias, monkeypatch):
    """Golden ``run`` on an operation sequence whose register sums are ``addend`` (the accumulators'
    input), by substituting golden ``register_sum`` for the duration of the call."""
    B = len(op)
    ops = Ops(op=np.asarray(op, np.int64), sel=np.asarray(sel, np.int64),
              meta=np.zeros((B, meta_fields(cfg)), np.int64), a=np.zeros((B, cfg.width), np.uint8),
              w=np.zeros((B, cfg.width), np.uint8), bias=np.asarray(bias, np.int64))
    with monkeypatch.context() as mp:
        mp.setattr(golden_arith, "register_sum", lambda *_: np.asarray(addend, np.int64))
        return run(cfg, ops)


def acc_sequence(outputs: int, acc_width: int, addend_width: int, rng: np.random.Generator, n: int):
    """Random cycles ``(en, op, sel, addend, bias)``: out-of-range selectors, extreme addends and biases,
    idle cycles; ends with a READ of every accumulator."""
    sel_w = max(1, (outputs - 1).bit_length())
    amax, bmax = 1 << (addend_width - 1), 1 << (acc_width - 1)
    cyc = []
    for _ in range(n):
        en = int(rng.random() < 0.85)
        op = int(rng.choice(4, p=[0.5, 0.12, 0.23, 0.15]))
        sel = int(rng.integers(0, 1 << sel_w))
        add = int(rng.choice([-amax, amax - 1])) if rng.random() < 0.4 else int(rng.integers(-amax, amax))
        bias = int(rng.choice([-bmax, bmax - 1, 0])) if rng.random() < 0.3 else int(rng.integers(-bmax, bmax))
        cyc.append((en, op, sel, add, bias))
    cyc += [(1, OP_READ, s, 0, 0) for s in range(1 << sel_w)]
    return cyc


def acc_mismatches(dut: Accumulators, cfg: Config, cycles, monkeypatch) -> list:
    reads: list[int] = []

    async def tb(ctx):
        for en, op, sel, add, bias in cycles:
            ctx.set(dut.en, en)
            ctx.set(dut.op, op)
            ctx.set(dut.sel, sel)
            ctx.set(dut.addend, add)
            ctx.set(dut.bias, bias)
            if en and op in (OP_READ, OP_READ_LOAD):
                reads.append(ctx.get(dut.read))
            await ctx.tick()

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(tb)
    sim.run()
    live = [c for c in cycles if c[0]]
    res = golden_acc_run(cfg, [c[1] for c in live], [c[2] for c in live], [c[3] for c in live],
                         [c[4] for c in live], monkeypatch)
    assert len(res.value) == len(reads)
    return [(int(i), int(e), g) for i, e, g in zip(res.index, res.value, reads) if int(e) != g]


ACC_CASES = [(o, A, aw, ovf) for o in (1, 3) for ovf in ("wrap", "saturate") for A, aw in ((8, 8), (12, 9))]


@pytest.mark.parametrize("outputs,acc_width,addend_width,overflow", ACC_CASES)
def test_accumulators_match_golden_run(outputs, acc_width, addend_width, overflow, monkeypatch):
    cfg = acc_config(outputs, acc_width, overflow)
    rng = np.random.default_rng([7, outputs, acc_width, overflow == "wrap"])
    cycles = acc_sequence(outputs, acc_width, addend_width, rng, 400)
    dut = Accumulators(outputs=outputs, acc_width=acc_width, addend_width=addend_width,
                       saturate=overflow == "saturate")
    bad = acc_mismatches(dut, cfg, cycles, monkeypatch)
    assert not bad, f"(op index, expected, got): {bad[:5]}"
    # the sequence must exercise the policy: wrap and saturate disagree somewhere on it
    other = acc_config(outputs, acc_width, "saturate" if overflow == "wrap" else "wrap")
    live = [c for c in cycles if c[0]]
    cols = [[c[j] for c in live] for j in range(1, 5)]
    assert not np.array_equal(golden_acc_run(cfg, *cols, monkeypatch).value,
                              golden_acc_run(other, *cols, monkeypatch).value)
    # and reads of an out-of-range selector must occur (outputs = 3 leaves selector value 3 unused)
    assert any(c[2] >= outputs and c[1] in (OP_READ, OP_READ_LOAD) for c in live)


def test_golden_acc_reference_sanity(monkeypatch):
    cfg = acc_config(1, 8, "saturate")
    res = golden_acc_run(cfg, [OP_ACC, OP_ACC, OP_READ, OP_LOAD, OP_ACC, OP_READ_LOAD, OP_READ],
                         [0] * 7, [100, 100, 0, 0, -5, 0, 0], [0, 0, 0, -128, 0, 7, 0], monkeypatch)
    assert res.value.tolist() == [saturate(200, 8), saturate(-133, 8), 7]
    cfg = acc_config(1, 8, "wrap")
    res = golden_acc_run(cfg, [OP_ACC, OP_ACC, OP_READ], [0] * 3, [100, 100, 0], [0] * 3, monkeypatch)
    assert res.value.tolist() == [wrap(200, 8)]


def test_accumulators_wrong_policy_is_detected(monkeypatch):
    cfg = acc_config(3, 8, "saturate")
    cycles = acc_sequence(3, 8, 8, np.random.default_rng(8), 200)
    dut = Accumulators(outputs=3, acc_width=8, addend_width=8, saturate=False)
    assert acc_mismatches(dut, cfg, cycles, monkeypatch)


def test_accumulators_sel_out_of_range_is_checked(monkeypatch):
    """A golden run with one output fewer disagrees with the RTL on the same sequence."""
    cycles = acc_sequence(3, 12, 9, np.random.default_rng(9), 200)
    dut = Accumulators(outputs=3, acc_width=12, addend_width=9, saturate=False)
    assert acc_mismatches(dut, acc_config(2, 12, "wrap"), cycles, monkeypatch)
