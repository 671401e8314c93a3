"""Tensor helpers (golden/tensor.py): the register model must read out exactly the numpy integers.

Every case builds ops with a helper, executes them with ``mixlane.golden.run`` and compares the read-out
with an exact numpy reference computed here (conv: a direct sum over kernel offsets on the padded input).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixlane.config import PRESETS, Config
from mixlane.golden import (OP_ACC, OP_LOAD, OP_READ_LOAD, conv2d_ops, decode, dot_ops, im2col, matvec_ops,
                            pack_reduction, pattern_layouts, read_order, register_sum, results_to_tensor, run)

VARIANTS = {
    # uniform 1-bit bipolar, 32-bit registers: odd reductions leave bipolar padding pairs
    "bipolar1-w32-out4": Config(width=32, precisions=(1,), binary="bipolar", outputs=4),
    "uniform-1248-bipolar-signed-out4": Config(width=64, precisions=(1, 2, 4, 8), activation_signed=True,
                                               outputs=4, acc_width=40),
    "pattern-mixed-1bit": Config(precision_mode="pattern", width=64, precisions=(1, 4),
                                 patterns=(((4, 8), (1, 32)), ((1, 64),), ((1, 16), (4, 12))), outputs=4),
    "pattern-default-1248": Config(precision_mode="pattern", width=128, precisions=(1, 2, 4, 8), outputs=3),
    "channel-bipolar-w64-out4": Config(precision_mode="channel", width=64, channel_levels=(1, 2, 4),
                                       binary="bipolar", outputs=4),
    "channel-1-8-unipolar": Config(precision_mode="channel", width=256, precisions=(1, 8),
                                   channel_levels=(8, 1), binary="unipolar", weight_signed=False),
    "element-1248-w32-bipolar": Config(precision_mode="element", width=32, precisions=(1, 2, 4, 8),
                                       activation_signed=True, outputs=4),
    "element-24-w128": Config(precision_mode="element", width=128, precisions=(2, 4), outputs=2),
    "saturate-out4": Config(outputs=4, overflow="saturate", acc_width=24),
}
# presets whose ACC adds the exact sum of products (run-time trimming presets compute their own: golden.run)
CONFIGS = {**{name: cfg for name, (_, cfg) in PRESETS.items() if cfg.architecture.exact}, **VARIANTS}
IDS = list(CONFIGS)


# -------------------------------------------------------------------------------------------- helpers
def rand_vals(cfg: Config, rng, prec: np.ndarray, operand: str, shape=()) -> np.ndarray:
    """Random values of the given per-element precisions (last axis), range ends included often."""
    prec = np.broadcast_to(prec, shape + prec.shape)
    out = np.zeros(prec.shape, np.int64)
    for p in np.unique(prec):
        mask = prec == p
        lo, hi = cfg.element_range(int(p), operand)
        v = rng.integers(lo, hi + 1, int(mask.sum()))
        ends = rng.random(v.size) < 0.2
        v[ends] = np.where(rng.random(int(ends.sum())) < 0.5, lo, hi)
        if p == 1 and cfg.binary == "bipolar":
            v = np.where(v >= 0, 1, -1)
        out[mask] = v
    return out


def mixed_prec(cfg: Config, rng, K: int) -> np.ndarray:
    """A per-element precision sequence the mode can hold (pattern: concatenated pattern layouts)."""
    mode = cfg.precision_mode
    if mode == "uniform":
        return np.full(K, rng.choice(cfg.precisions))
    if mode == "pattern":
        slots = [row[row > 0] for row in pattern_layouts(cfg)[: len(cfg.patterns)]]
        seq = np.concatenate([slots[i] for i in rng.integers(0, len(slots), K // 4 + 2)])
        return seq[:K]
    if mode == "channel":
        return rng.choice(cfg.channel_levels, K)
    # element: runs of one precision, as trained networks have
    return np.repeat(rng.choice(cfg.precisions, K // 3 + 1), 3)[:K]


def reads(cfg: Config, ops):
    res = run(cfg, ops)
    return res.value, res.sel


def conv_reference(x, weights, stride, padding):
    O, C, kh, kw = weights.shape
    xp = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    Ho = (xp.shape[1] - kh) // stride + 1
    Wo = (xp.shape[2] - kw) // stride + 1
    out = np.zeros((O, Ho, Wo), np.int64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride]
            out += np.einsum("oc,chw->ohw", weights[:, :, i, j], patch)
    return out


# -------------------------------------------------------------------------------------------- dot
@pytest.mark.parametrize("name", IDS)
def test_dot_every_precision(name):
    cfg = CONFIGS[name]
    rng = np.random.default_rng(IDS.index(name))
    precs = cfg.mode_precisions
    if cfg.precision_mode == "pattern":                # only precisions with a pattern of their own
        precs = [p for p in precs if any(all(q == p for q, _ in pat) for pat in cfg.patterns)]
    for p in precs:
        for K in (1, 3, cfg.width // p - 1, cfg.width // p, 2 * (cfg.width // p) + 5):
            prec = np.full(K, p)
            a, w = rand_vals(cfg, rng, prec, "a"), rand_vals(cfg, rng, prec, "w")
            bias = int(rng.integers(-50, 50))
            ops, expected = dot_ops(cfg, a, w, p, bias=bias)
            assert expected == int(a @ w) + bias
            vals, _ = reads(cfg, ops)
            assert vals.tolist() == [expected]
            assert ops.op[0] == OP_LOAD and ops.op[-1] == OP_READ_LOAD and (ops.op[1:-1] == OP_ACC).all()


@pytest.mark.parametrize("name", IDS)
def test_dot_mixed_precisions(name):
    cfg = CONFIGS[name]
    rng = np.random.default_rng(100 + IDS.index(name))
    for K in (0, 1, 7, 61, 300):
        prec = mixed_prec(cfg, rng, K)
        a, w = rand_vals(cfg, rng, prec, "a"), rand_vals(cfg, rng, prec, "w")
        sel = int(rng.integers(0, cfg.outputs))
        ops, expected = dot_ops(cfg, a, w, prec, bias=-3, sel=sel)
        assert expected == int(a @ w) - 3
        vals, sels = reads(cfg, ops)
        assert vals.tolist() == [expected] and sels.tolist() == [sel]
        assert (ops.sel == sel).all()


def test_dot_pattern_ids_explicit_and_greedy():
    cfg = VARIANTS["pattern-mixed-1bit"]
    rng = np.random.default_rng(7)
    slots = [row[row > 0] for row in pattern_layouts(cfg)[: len(cfg.patterns)]]
    ids = [0, 2, 1, 0, 2]
    prec = np.concatenate([slots[i] for i in ids])[:-5]          # last register partly padding
    a, w = rand_vals(cfg, rng, prec, "a"), rand_vals(cfg, rng, prec, "w")
    for kwargs in ({"pattern_ids": ids}, {"prec": prec, "pattern_ids": ids}, {"prec": prec}):
        packed = pack_reduction(cfg, a, w, **kwargs)
        assert packed.pattern_ids.tolist() == ids
        assert np.array_equal(packed.prec, prec)
        ops, expected = dot_ops(cfg, a, w, bias=11, **kwargs)
        assert reads(cfg, ops)[0].tolist() == [expected] == [int(a @ w) + 11]
    # the 5 padding 1-bit pairs of the last register (pattern 2 ends with 4-bit elements -> those are 4-bit)
    packed = pack_reduction(cfg, a, w, pattern_ids=ids)
    pad = (packed.index < 0) & (packed.layout == 1)
    assert packed.pad_correction == -int(pad.sum())


@pytest.mark.parametrize("K", [1, 31, 33, 63, 65, 100])
def test_bipolar_padding_correction(K):
    cfg = VARIANTS["bipolar1-w32-out4"]
    rng = np.random.default_rng(K)
    a, w = rng.choice([-1, 1], K), rng.choice([-1, 1], K)
    packed = pack_reduction(cfg, a, w, 1)
    R = -(-K // 32)
    assert packed.registers == R and packed.a_bits.shape == (R, 32)
    assert packed.pad_correction == -(R * 32 - K)
    # the raw register sums over-count exactly the padding pairs
    sums = register_sum(cfg, packed.a_bits, packed.w_bits, packed.meta)
    assert int(sums.sum()) + packed.pad_correction == int(a @ w)
    ops, expected = dot_ops(cfg, a, w, 1)
    assert ops.bias[0] == packed.pad_correction
    assert reads(cfg, ops)[0].tolist() == [expected] == [int(a @ w)]


def test_channel_packing_groups_and_lanes():
    cfg = VARIANTS["channel-bipolar-w64-out4"]          # pmax 4, 16 lanes
    prec = np.array([4, 1, 2, 1, 4, 2, 2, 1, 1, 1, 4])
    rng = np.random.default_rng(3)
    a, w = rand_vals(cfg, rng, prec, "a"), rand_vals(cfg, rng, prec, "w")
    packed = pack_reduction(cfg, a, w, prec)
    # 1-bit: 5 elements -> 2 lanes (3 padding pairs), 2-bit: 3 -> 2 lanes, 4-bit: 3 -> 3 lanes; rest off
    levels = [cfg.channel_levels.index(p) for p in (1, 1, 2, 2, 4, 4, 4)]
    assert packed.meta.tolist() == [levels + [3] * 9]
    order = packed.index[packed.index >= 0].tolist()
    assert order == [1, 3, 7, 8, 9, 2, 5, 6, 0, 4, 10]                   # stable groups, ascending precision
    assert packed.pad_correction == -3
    ops, expected = dot_ops(cfg, a, w, prec)
    assert reads(cfg, ops)[0].tolist() == [expected]


def test_element_packing_tail():
    cfg = Config(precision_mode="element", width=32, precisions=(1, 2, 4, 8), binary="bipolar")
    prec = np.array([8, 8, 8, 4, 2, 8, 1, 4])       # 30 bits, then 8 does not fit: 2-bit pad; then 13 bits
    a = rand_vals(cfg, np.random.default_rng(0), prec, "a")
    w = rand_vals(cfg, np.random.default_rng(1), prec, "w")
    packed = pack_reduction(cfg, a, w, prec)
    P = cfg.precisions
    assert packed.meta[0, :6].tolist() == [P.index(p) for p in (8, 8, 8, 4, 2, 2)]
    # 8 + 1 + 4 = 13 bits, tail of 19 bits: 8, 8, 2, 1 (one bipolar padding pair)
    assert packed.meta[1, :7].tolist() == [P.index(p) for p in (8, 1, 4, 8, 8, 2, 1)]
    assert packed.pad_correction == -1
    assert (decode(cfg, packed.meta) > 0).sum() == 6 + 7
    ops, expected = dot_ops(cfg, a, w, prec)
    assert reads(cfg, ops)[0].tolist() == [expected] == [int(a @ w)]


# -------------------------------------------------------------------------------------------- matvec
@pytest.mark.parametrize("name", IDS)
def test_matvec(name):
    cfg = CONFIGS[name]
    rng = np.random.default_rng(200 + IDS.index(name))
    for M, K in ((1, 5), (7, 40), (10, 129)):
        prec = mixed_prec(cfg, rng, K)
        x = rand_vals(cfg, rng, prec, "a")
        A = rand_vals(cfg, rng, prec, "w", (M,))
        bias = rng.integers(-100, 100, M)
        ops, expected = matvec_ops(cfg, A, x, prec, bias=bias)
        assert np.array_equal(expected, A @ x + bias)
        vals, sels = reads(cfg, ops)
        assert np.array_equal(vals, expected)
        assert sels.tolist() == [m % cfg.outputs for m in range(M)]
        assert np.array_equal(read_order(ops, expected), expected)
        assert np.array_equal(results_to_tensor(run(cfg, ops), expected.shape), expected)


def test_matvec_interleaves_accumulators():
    cfg = VARIANTS["uniform-1248-bipolar-signed-out4"]     # width 64, outputs 4
    rng = np.random.default_rng(5)
    M, K = 10, 40                                          # 4-bit: 16 per register -> 3 registers per row
    A = rand_vals(cfg, rng, np.full(K, 4), "w", (M,))
    x = rand_vals(cfg, rng, np.full(K, 4), "a")
    ops, expected = matvec_ops(cfg, A, x, 4, bias=np.arange(M))
    # LOAD x4, then per tile: 3 registers x (rows of the tile), then READ_LOADs preloading the next tile
    assert ops.op[:4].tolist() == [OP_LOAD] * 4 and ops.bias[:4].tolist() == [0, 1, 2, 3]
    assert ops.sel[4:16].tolist() == [0, 1, 2, 3] * 3 and (ops.op[4:16] == OP_ACC).all()
    assert ops.op[16:20].tolist() == [OP_READ_LOAD] * 4 and ops.bias[16:20].tolist() == [4, 5, 6, 7]
    assert ops.sel[-8:].tolist() == [0, 1] * 3 + [0, 1] and ops.bias[-2:].tolist() == [0, 0]
    assert len(ops) == 4 + M * (3 + 1)
    assert np.array_equal(run(cfg, ops).value, expected)
    assert run(cfg, ops).final == [0, 0, 0, 0]


def test_matvec_wraps_like_the_accumulator():
    cfg = Config(precisions=(8,), acc_width=22, activation_signed=True)    # 128-bit: 16 products <= 2^14
    rng = np.random.default_rng(9)
    K = 16 * 40
    x = np.full(K, -128)
    A = np.vstack([np.full(K, -128), rng.integers(-128, 128, K)])
    ops, expected = matvec_ops(cfg, A, x, 8)
    exact = A @ x
    half = 1 << 21
    assert np.array_equal(expected, ((exact + half) % (2 * half)) - half)
    assert np.array_equal(run(cfg, ops).value, expected)


# -------------------------------------------------------------------------------------------- conv2d
def test_im2col_matches_direct_indexing():
    rng = np.random.default_rng(1)
    x = rng.integers(-5, 5, (3, 6, 7))
    for kh, kw, s, pad in ((3, 3, 1, 1), (2, 3, 2, 0), (1, 1, 1, 0), (3, 2, 3, 2)):
        cols = im2col(x, kh, kw, stride=s, padding=pad)
        xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
        Ho, Wo = (xp.shape[1] - kh) // s + 1, (xp.shape[2] - kw) // s + 1
        assert cols.shape == (3 * kh * kw, Ho * Wo)
        for k in range(cols.shape[0]):
            c, i, j = k // (kh * kw), (k // kw) % kh, k % kw
            for pix in range(Ho * Wo):
                y, xx = divmod(pix, Wo)
                assert cols[k, pix] == xp[c, y * s + i, xx * s + j]


def common_values(cfg: Config, rng, precs, operand: str, shape) -> np.ndarray:
    """Random values valid at every precision in ``precs`` (a pixel seen at several kernel positions)."""
    cand = np.arange(-128, 256)
    for p in np.unique(precs):
        lo, hi = cfg.element_range(int(p), operand)
        cand = cand[(cand >= lo) & (cand <= hi)]
        if p == 1 and cfg.binary == "bipolar":
            cand = cand[cand != 0]
    return rng.choice(cand, shape)


@pytest.mark.parametrize("name", IDS)
@pytest.mark.parametrize("geom", [(3, 3, 1, 1), (2, 2, 2, 0), (1, 1, 1, 0)])
def test_conv2d(name, geom):
    cfg = CONFIGS[name]
    kh, kw, stride, padding = geom
    rng = np.random.default_rng([IDS.index(name), kh, stride, padding])
    C, H, W, O = 5, 6, 5, 3
    mode = cfg.precision_mode
    bipolar_pad = padding and cfg.binary == "bipolar"
    if mode == "pattern":                              # one precision per reduction element
        prec_k = mixed_prec(cfg, rng, C * kh * kw)
        prec_arg = prec_k
    else:                                              # one precision per input channel
        choices = [p for p in cfg.mode_precisions if not (bipolar_pad and p == 1)] or [1]
        prec_c = rng.choice(choices, C) if mode in ("channel", "element") else np.full(C, rng.choice(choices))
        prec_k = np.repeat(prec_c, kh * kw)
        prec_arg = prec_c
    x = np.stack([common_values(cfg, rng, prec_k[c * kh * kw:(c + 1) * kh * kw], "a", (H, W)) for c in range(C)])
    weights = rand_vals(cfg, rng, prec_k, "w", (O,)).reshape(O, C, kh, kw)
    bias = rng.integers(-20, 20, O)
    if bipolar_pad and (prec_k == 1).any():
        with pytest.raises(ValueError, match="spatial zero padding is not representable"):
            conv2d_ops(cfg, x, weights, stride=stride, padding=padding, prec=prec_arg, bias=bias)
        return
    ops, expected = conv2d_ops(cfg, x, weights, stride=stride, padding=padding, prec=prec_arg, bias=bias)
    ref = conv_reference(x, weights, stride, padding) + bias[:, None, None]
    assert expected.shape == ref.shape and np.array_equal(expected, ref)
    res = run(cfg, ops)
    assert np.array_equal(results_to_tensor(res, expected.shape), ref)
    assert res.sel.tolist() == [d % cfg.outputs for d in range(ref.size)]


def test_conv2d_bipolar_1bit_without_padding():
    cfg = VARIANTS["channel-bipolar-w64-out4"]
    rng = np.random.default_rng(11)
    C, O = 7, 2
    prec_c = np.array([1, 1, 2, 4, 1, 2, 1])
    x = np.moveaxis(rand_vals(cfg, rng, prec_c, "a", (5, 6)), -1, 0)
    weights = rand_vals(cfg, rng, np.repeat(prec_c, 9), "w", (O,)).reshape(O, C, 3, 3)
    ops, expected = conv2d_ops(cfg, x, weights, prec=prec_c)
    assert np.array_equal(expected, conv_reference(x, weights, 1, 0))
    assert np.array_equal(results_to_tensor(run(cfg, ops), expected.shape), expected)


# -------------------------------------------------------------------------------------------- property
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(IDS), seed=st.integers(0, 2**32 - 1), K=st.integers(0, 200),
       M=st.integers(1, 9))
def test_matvec_property(name, seed, K, M):
    cfg = CONFIGS[name]
    rng = np.random.default_rng(seed)
    prec = mixed_prec(cfg, rng, K)
    x = rand_vals(cfg, rng, prec, "a")
    A = rand_vals(cfg, rng, prec, "w", (M,))
    ops, expected = matvec_ops(cfg, A, x, prec)
    assert np.array_equal(expected, A @ x)
    assert np.array_equal(run(cfg, ops).value, expected)


# -------------------------------------------------------------------------------------------- errors
def one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("name, prec, match", [
    ("default", 8, "8-bit elements are not allowed in uniform mode"),
    ("channel-3level", 8, "not allowed in channel mode"),
    ("channel-2level", 4, "not allowed in channel mode"),
    ("pattern-sysmol", 8, "not allowed in pattern mode"),
    ("element", 8, "not allowed in element mode"),
    ("default", [1, 2, 2, 4], "uniform mode needs one precision"),
    ("pattern-sysmol", [1, 2, 2, 4], "no pattern fits the elements from index 0"),
    ("default", [1, 2], "expected a scalar or 4 precisions"),
    ("element", None, "required in element mode"),
])
def test_prec_errors(name, prec, match):
    cfg = CONFIGS[name]
    with pytest.raises(ValueError) as err:
        dot_ops(cfg, np.ones(4, int), np.ones(4, int), prec)
    assert match in one_line(err)


@pytest.mark.parametrize("name, a, w, p, what", [
    ("default", [0, 4], [1, 1], 2, "a[1]: value 4 does not fit a 2-bit element of operand 'a'"),
    ("default", [0, -1], [1, 1], 4, "a[1]: value -1 does not fit a 4-bit element of operand 'a'"),
    ("default", [1, 1], [8, 0], 4, "w[0]: value 8 does not fit a 4-bit element of operand 'w'"),
    ("default", [1, 0], [1, 1], 1, "a[1]: value 0 does not fit a 1-bit element of operand 'a'"),
    ("multi-output", [1, 2], [1, 1], 1, "a[1]: value 2 does not fit a 1-bit element"),
    ("int8", [256, 0], [1, 1], 8, "value 256 does not fit a 8-bit element"),
])
def test_value_range_errors(name, a, w, p, what):
    with pytest.raises(ValueError) as err:
        dot_ops(CONFIGS[name], a, w, p)
    assert what in one_line(err)


def test_matvec_and_conv_range_errors_name_the_tensor():
    cfg = PRESETS["default"][1]
    with pytest.raises(ValueError) as err:
        matvec_ops(cfg, [[1, 2], [3, 9]], [1, 1], 4)
    assert "A[1, 1]: value 9 does not fit a 4-bit element of operand 'w'" in one_line(err)
    with pytest.raises(ValueError) as err:
        matvec_ops(cfg, [[1, 2]], [1, 16], 4)
    assert "x[1]: value 16" in one_line(err)
    x = np.zeros((2, 4, 4), int)
    x[1, 2, 3] = 5
    with pytest.raises(ValueError) as err:
        conv2d_ops(cfg, x, np.ones((1, 2, 3, 3), int), padding=1, prec=2)
    assert "x[1, 2, 3]: value 5 does not fit a 2-bit element of operand 'a'" in one_line(err)
    with pytest.raises(ValueError) as err:
        conv2d_ops(CONFIGS["channel-3level"], np.zeros((2, 4, 4), int), np.full((1, 2, 3, 3), -3), prec=[4, 2])
    assert "weights[0, 1, 0, 0]: value -3 does not fit a 2-bit element of operand 'w'" in one_line(err)


def test_other_errors():
    bip = VARIANTS["channel-bipolar-w64-out4"]
    with pytest.raises(ValueError) as err:
        conv2d_ops(bip, np.ones((2, 4, 4), int), np.ones((1, 2, 3, 3), int), padding=1, prec=[2, 1])
    assert "spatial zero padding is not representable for bipolar 1-bit" in one_line(err)
    cfg = PRESETS["default"][1]
    with pytest.raises(ValueError, match="only used in pattern mode"):
        dot_ops(cfg, [1], [1], 1, pattern_ids=[0])
    pat = PRESETS["pattern-sysmol"][1]
    with pytest.raises(ValueError, match="registers hold 32 elements but the reduction has 40"):
        dot_ops(pat, np.ones(40, int), np.ones(40, int), pattern_ids=[0])
    with pytest.raises(ValueError, match="only padding"):
        dot_ops(pat, np.ones(4, int), np.ones(4, int), pattern_ids=[0, 1])
    with pytest.raises(ValueError, match="not a pattern id"):
        dot_ops(pat, np.ones(4, int), np.ones(4, int), pattern_ids=[4])
    with pytest.raises(ValueError, match="element 0 has precision 2 but register 0"):
        dot_ops(pat, np.ones(4, int), np.ones(4, int), prec=2, pattern_ids=[0])
    with pytest.raises(ValueError, match="needs prec or pattern_ids"):
        dot_ops(pat, [1], [1])
    with pytest.raises(ValueError, match="sel: 1 is not an accumulator"):
        dot_ops(cfg, [1], [1], 1, sel=1)
    with pytest.raises(ValueError, match="expected shapes"):
        matvec_ops(cfg, np.ones((2, 3), int), np.ones(4, int), 1)
    with pytest.raises(ValueError, match="integer values"):
        dot_ops(cfg, [0.5], [1], 1)
    sat = VARIANTS["saturate-out4"]            # 24-bit saturating: 100 000 products of 15*7 may saturate
    with pytest.raises(ValueError, match="could saturate the 24-bit accumulator"):
        dot_ops(sat, np.full(100000, 15), np.full(100000, 7), 4)
    with pytest.raises(ValueError, match="4 values but the ops have 1 reads"):
        read_order(dot_ops(cfg, [1], [1], 1)[0], np.zeros(4))


def test_empty_reduction_is_the_bias():
    empty = np.zeros(0, np.int64)
    for name in ("default", "pattern-sysmol", "channel-3level", "element"):
        cfg = CONFIGS[name]
        kwargs = {"pattern_ids": []} if cfg.precision_mode == "pattern" else {"prec": 1}
        ops, expected = dot_ops(cfg, empty, empty, bias=17, **kwargs)
        assert expected == 17 and run(cfg, ops).value.tolist() == [17]
        assert ops.op.tolist() == [OP_LOAD, OP_READ_LOAD]
