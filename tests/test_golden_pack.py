"""Property tests of the golden packers, the metadata decoder and the register sum (docs/format.md 1-3).

The references here are written straight from the format document with per-element Python loops; they
share no code with ``golden/``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mixlane.config import MODES, Config
from mixlane.golden import (bits_to_ints, decode, encode_meta_ints, ints_to_bits, meta_field_bits, meta_fields,
                            meta_from_ints, pack, register_sum, unpack)

SETTINGS = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------- strategies
@st.composite
def configs(draw, mode=None):
    width = draw(st.sampled_from([32, 64, 128, 256]))
    precs = tuple(sorted(draw(st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=4, unique=True))))
    mode = mode or draw(st.sampled_from(MODES))
    kw = dict(width=width, precisions=precs, precision_mode=mode,
              activation_signed=draw(st.booleans()), weight_signed=draw(st.booleans()),
              binary=draw(st.sampled_from(["unipolar", "bipolar"])), acc_width=48,
              outputs=draw(st.sampled_from([1, 2, 4])))
    if mode == "pattern" and draw(st.booleans()):
        pmax = precs[-1]
        lanes = width // pmax
        pats = []
        for _ in range(draw(st.integers(1, 4))):
            cuts = sorted(draw(st.sets(st.integers(1, lanes - 1), max_size=3))) if lanes > 1 else []
            bounds = [0, *cuts, lanes]
            segs = []
            for b0, b1 in zip(bounds, bounds[1:]):
                p = draw(st.sampled_from(precs))
                segs.append((p, (b1 - b0) * pmax // p))
            pats.append(tuple(segs))
        kw["patterns"] = tuple(dict.fromkeys(pats))     # distinct, order kept
    if mode == "channel":
        kw["channel_levels"] = tuple(draw(st.lists(st.sampled_from(precs), min_size=1,
                                                   max_size=min(3, len(precs)), unique=True)))
    return Config(**kw)


seeds = st.integers(0, 2**32 - 1)


# ----------------------------------------------------------------------------- references (slow, per spec)
def ref_elements(cfg: Config, codes) -> list[tuple[int, int]]:
    """(offset, precision) of every present element of one register, straight from section 3."""
    P, W, mode = cfg.precisions, cfg.width, cfg.precision_mode
    out = []
    if mode == "uniform":
        if codes[0] < len(P):
            p = P[codes[0]]
            out = [(o, p) for o in range(0, W, p)]
    elif mode == "pattern":
        if codes[0] < len(cfg.patterns):
            off = 0
            for p, count in cfg.patterns[codes[0]]:
                for _ in range(count):
                    out.append((off, p))
                    off += p
    elif mode == "channel":
        for lane, c in enumerate(codes):
            if c < len(cfg.channel_levels):
                p = cfg.channel_levels[c]
                out += [(lane * cfg.pmax + e * p, p) for e in range(cfg.pmax // p)]
    else:
        off, valid = 0, True
        for c in codes:
            valid = valid and c < len(P)
            if not valid:
                break
            p = P[c]
            if off + p <= W:
                out.append((off, p))
            off += p
    return out


def ref_value(cfg: Config, bits, off: int, p: int, operand: str) -> int:
    """Section 2: the value of the element at ``off`` of precision ``p``."""
    if p == 1:
        b = int(bits[off])
        return b if cfg.binary == "unipolar" else (1 if b else -1)
    v = sum(int(bits[off + i]) << i for i in range(p))
    signed = cfg.activation_signed if operand == "a" else cfg.weight_signed
    if signed and v >= 1 << (p - 1):
        v -= 1 << p
    return v


def ref_register_sum(cfg: Config, a_bits, w_bits, codes) -> int:
    return sum(ref_value(cfg, a_bits, off, p, "a") * ref_value(cfg, w_bits, off, p, "w")
               for off, p in ref_elements(cfg, codes))


def ref_layout(cfg: Config, meta) -> np.ndarray:
    out = np.zeros((len(meta), cfg.max_elements), np.int64)
    for b, codes in enumerate(meta.tolist()):
        for off, p in ref_elements(cfg, codes):
            out[b, off // cfg.pmin] = p
    return out


def random_meta(cfg: Config, rng: np.random.Generator, n: int) -> np.ndarray:
    """Random codes over the whole field range (reserved / off codes included)."""
    F, fb = meta_fields(cfg), meta_field_bits(cfg)
    meta = rng.integers(0, 1 << fb, (n, F))
    if cfg.precision_mode == "element":        # mostly valid codes, so long elements runs occur
        n_valid = len(cfg.precisions)
        meta = np.where(rng.random((n, F)) < 0.97, meta % n_valid, meta)
    return meta


def random_values(cfg: Config, rng: np.random.Generator, layout: np.ndarray, operand: str) -> np.ndarray:
    vals = np.zeros(layout.shape, np.int64)
    for p in cfg.precisions:
        mask = layout == p
        lo, hi = cfg.element_range(p, operand)
        v = rng.integers(lo, hi + 1, int(mask.sum()))
        if p == 1 and cfg.binary == "bipolar":
            v = np.where(v >= 0, 1, -1)
        vals[mask] = v
    return vals


def covered(cfg: Config, layout: np.ndarray) -> np.ndarray:
    cov = np.zeros((len(layout), cfg.width), bool)
    for b, g in zip(*np.nonzero(layout)):
        off = g * cfg.pmin
        cov[b, off:off + layout[b, g]] = True
    return cov


# ----------------------------------------------------------------------------------------------- tests
@SETTINGS
@given(cfg=configs(), seed=seeds)
def test_decode_matches_reference(cfg, seed):
    rng = np.random.default_rng(seed)
    meta = random_meta(cfg, rng, 6)
    layout = decode(cfg, meta)
    assert np.array_equal(layout, ref_layout(cfg, meta))
    # elements never overlap and stay inside the register
    cov = np.zeros((len(meta), cfg.width), np.int64)
    for b, g in zip(*np.nonzero(layout)):
        off = g * cfg.pmin
        assert off + layout[b, g] <= cfg.width
        cov[b, off:off + layout[b, g]] += 1
    assert cov.max(initial=0) <= 1
    if cfg.precision_mode != "element":       # lane modes: one precision per lane
        per_lane = layout.reshape(len(meta), cfg.lanes, -1)
        for row in per_lane.reshape(-1, per_lane.shape[-1]):
            assert len(set(row[row > 0].tolist())) <= 1


@SETTINGS
@given(cfg=configs(), seed=seeds, operand=st.sampled_from(["a", "w"]))
def test_unpack_of_pack_is_identity(cfg, seed, operand):
    rng = np.random.default_rng(seed)
    layout = decode(cfg, random_meta(cfg, rng, 5))
    vals = random_values(cfg, rng, layout, operand)
    bits = pack(cfg, vals, layout, operand)
    assert bits.dtype == np.uint8 and bits.shape == (len(layout), cfg.width)
    assert np.array_equal(unpack(cfg, bits, layout, operand), vals)
    assert not bits[~covered(cfg, layout)].any(), "bits outside every element must be 0"


@SETTINGS
@given(cfg=configs(), seed=seeds, operand=st.sampled_from(["a", "w"]))
def test_pack_of_unpack_on_covered_bits(cfg, seed, operand):
    rng = np.random.default_rng(seed)
    layout = decode(cfg, random_meta(cfg, rng, 5))
    bits = rng.integers(0, 2, (len(layout), cfg.width), dtype=np.uint8)
    again = pack(cfg, unpack(cfg, bits, layout, operand), layout, operand)
    cov = covered(cfg, layout)
    assert np.array_equal(again[cov], bits[cov])
    assert not again[~cov].any()


@SETTINGS
@given(cfg=configs(), seed=seeds)
def test_unpack_matches_reference_values(cfg, seed):
    rng = np.random.default_rng(seed)
    meta = random_meta(cfg, rng, 3)
    layout = decode(cfg, meta)
    bits = rng.integers(0, 2, (len(meta), cfg.width), dtype=np.uint8)
    for operand in ("a", "w"):
        got = unpack(cfg, bits, layout, operand)
        want = np.zeros_like(got)
        for b, codes in enumerate(meta.tolist()):
            for off, p in ref_elements(cfg, codes):
                want[b, off // cfg.pmin] = ref_value(cfg, bits[b], off, p, operand)
        assert np.array_equal(got, want)


@SETTINGS
@given(cfg=configs(), seed=seeds)
def test_meta_ints_round_trip(cfg, seed):
    rng = np.random.default_rng(seed)
    meta = rng.integers(0, 1 << meta_field_bits(cfg), (7, meta_fields(cfg)))
    ints = encode_meta_ints(cfg, meta)
    assert all(isinstance(v, int) and 0 <= v < 1 << cfg.meta_bits for v in ints)
    # field f at bits f*fb (section 3)
    fb = meta_field_bits(cfg)
    for v, row in zip(ints, meta.tolist()):
        assert v == sum(c << (f * fb) for f, c in enumerate(row))
    assert np.array_equal(meta_from_ints(cfg, ints), meta)
    back = [int(x) for x in rng.integers(0, 2, cfg.meta_bits)]
    value = sum(b << i for i, b in enumerate(back))
    assert encode_meta_ints(cfg, meta_from_ints(cfg, [value])) == [value]


@SETTINGS
@given(width=st.sampled_from([1, 7, 8, 32, 64, 100, 128, 256, 1024]), seed=seeds)
def test_bits_ints_round_trip(width, seed):
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (5, width), dtype=np.uint8)
    ints = bits_to_ints(bits)
    assert ints == [sum(int(b) << i for i, b in enumerate(row)) for row in bits]
    assert np.array_equal(ints_to_bits(ints, width), bits)
    values = [int(rng.integers(0, 2**min(width, 62))) << max(0, width - 62) for _ in range(4)] + [0, (1 << width) - 1]
    assert bits_to_ints(ints_to_bits(values, width)) == values


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(cfg=configs(), seed=seeds, style=st.sampled_from(["bits", "values"]))
def test_register_sum_matches_reference(cfg, seed, style):
    rng = np.random.default_rng(seed)
    meta = random_meta(cfg, rng, 4)
    if style == "bits":
        a = rng.integers(0, 2, (len(meta), cfg.width), dtype=np.uint8)
        w = rng.integers(0, 2, (len(meta), cfg.width), dtype=np.uint8)
    else:   # range ends are more likely through packed values
        layout = decode(cfg, meta)
        a = pack(cfg, random_values(cfg, rng, layout, "a"), layout, "a")
        w = pack(cfg, random_values(cfg, rng, layout, "w"), layout, "w")
    got = register_sum(cfg, a, w, meta)
    want = [ref_register_sum(cfg, a[b], w[b], codes) for b, codes in enumerate(meta.tolist())]
    assert got.tolist() == want
    assert all(abs(v) <= cfg.max_register_sum for v in want)


# ----------------------------------------------------------------------------------------- error paths
@pytest.mark.parametrize("cfg, p, operand, value", [
    (Config(precisions=(1, 2, 4)), 2, "a", 4),                               # unsigned 2-bit activations
    (Config(precisions=(1, 2, 4)), 2, "a", -1),
    (Config(precisions=(1, 2, 4)), 4, "w", 8),                               # signed 4-bit weights
    (Config(precisions=(1, 2, 4)), 4, "w", -9),
    (Config(precisions=(1, 8), activation_signed=True), 8, "a", 128),
    (Config(precisions=(1, 2), binary="bipolar"), 1, "a", 0),                # bipolar has no zero
    (Config(precisions=(1, 2), binary="bipolar"), 1, "w", 2),
    (Config(precisions=(1, 2), binary="unipolar"), 1, "w", -1),
])
def test_pack_rejects_out_of_range(cfg, p, operand, value):
    layout = decode(cfg, np.array([[cfg.precisions.index(p)]]))
    vals = np.where(layout > 0, 1, 0)
    vals[0, 3 * p // cfg.pmin] = value
    with pytest.raises(ValueError) as err:
        pack(cfg, vals, layout, operand)
    msg = str(err.value)
    assert "\n" not in msg
    assert str(value) in msg and f"{p}-bit" in msg and repr(operand) in msg


def test_pack_rejects_value_outside_elements_and_bad_shapes():
    cfg = Config(precisions=(1, 2, 4))
    layout = decode(cfg, np.array([[2]]))      # 4-bit elements, granules 1..3 of each lane empty
    vals = np.zeros_like(layout)
    vals[0, 1] = 1
    with pytest.raises(ValueError, match="no element"):
        pack(cfg, vals, layout, "a")
    with pytest.raises(ValueError, match="expected shape"):
        pack(cfg, vals[:, :5], layout[:, :5], "a")
    with pytest.raises(ValueError, match="operand"):
        unpack(cfg, np.zeros((1, cfg.width), np.uint8), layout, "x")
    with pytest.raises(ValueError, match="meta"):
        decode(cfg, np.array([[4]]))           # code outside the 2-bit field
