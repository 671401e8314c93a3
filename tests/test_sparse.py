"""Sparsity-aware arithmetic: the SPARQ / NB-SMT golden functions against scalar references written from the
description (per-value Python loops sharing no code with ``golden/sparse.py``), the ``sparq`` and ``nbsmt``
architectures on the simulators (every activation value, 0/50/80% zero tensors) and mutants of their lanes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mixlane.config import Config, ConfigError
from mixlane.golden import (bsparq_trim, decode, nbsmt_values, register_results, register_sum, scheme_stats,
                            trim_parts, uniform_meta, unpack, vsparq_pairs, zero_pair_fraction)
from mixlane.golden.sparse import allowed_placements, window_lsbs
from mixlane.rtl.generate import to_verilog
from mixlane.sim_tb.runner import run_regression
from mixlane.sim_tb.stimulus import build


# ------------------------------------------------------------------------------- scalar references
def ref_trim(v: int, window: int, lsbs: list[int], rounding: bool) -> int:
    """The window over the leading one, from the lowest allowed position up; exact below 2**window."""
    if v < (1 << window):
        return v
    lead = v.bit_length() - 1
    lsb = next(s for s in lsbs if s + window - 1 >= lead)
    kept = v >> lsb
    if rounding and lsb:
        rest = v - (kept << lsb)                 # the dropped bits as a number
        half = 1 << (lsb - 1)
        if rest > half or (rest == half and kept % 2 == 1):
            kept += 1
        kept = min(kept, (1 << window) - 1)
    return kept << lsb


def ref_nbsmt(a: list[int], w: list[int], threads: int, placements: int) -> list[int]:
    out = []
    for g in range(0, len(a), threads):
        ga, gw = a[g:g + threads], w[g:g + threads]
        busy = sum(1 for x, y in zip(ga, gw) if x and y)
        if busy <= 1:
            out += ga
        elif busy == 2:
            out += [ref_trim(x, 4, list(window_lsbs(4, placements)), True) for x in ga]
        else:
            out += [ref_trim(x, 2, list(range(7)), True) for x in ga]
    return out


# --------------------------------------------------------------------------------------- golden model
@pytest.mark.parametrize("value, trimmed", [(19, 20), (0x98, 160), (0x88, 128), (0x28, 40), (255, 240),
                                            (0x7F, 120), (31, 30), (15, 15), (16, 16), (0, 0), (200, 192)])
def test_bsparq_examples(value, trimmed):
    """Values worked by hand (and matching the SPARQ reference kernels): ties to even, carry saturates."""
    assert bsparq_trim(np.array([value]))[0] == trimmed


@pytest.mark.parametrize("window", [4, 3, 2])
@pytest.mark.parametrize("rounding", [True, False])
def test_bsparq_every_value_every_placement(window, rounding):
    values = np.arange(256)
    for placements in allowed_placements(window):
        lsbs = list(window_lsbs(window, placements))
        want = [ref_trim(int(v), window, lsbs, rounding) for v in values]
        got = bsparq_trim(values, placements, rounding, window)
        assert got.tolist() == want, (window, placements, rounding)
        digits, shifts = trim_parts(values, window=window, placements=placements, rounding=rounding)
        assert digits.max() < (1 << window) and set(shifts.tolist()) <= set(lsbs)
        if not rounding:
            assert (got <= values).all()


def test_placement_sets():
    assert window_lsbs(4, 5) == (0, 1, 2, 3, 4) and window_lsbs(4, 3) == (0, 2, 4) and window_lsbs(4, 2) == (0, 4)
    assert window_lsbs(3, 6) == (0, 1, 2, 3, 4, 5) and window_lsbs(2, 7) == tuple(range(7))
    assert bsparq_trim(np.array([0b00110000]), placements=3).tolist() == [0b00110000]   # bits 5-2 window
    assert bsparq_trim(np.array([0b00110000]), placements=2).tolist() == [0b00110000]   # bits 7-4 window


def test_vsparq_pairs():
    a = np.array([[0, 255, 19, 152, 7, 0, 200]])        # odd length: the last pairs with an implicit zero
    assert vsparq_pairs(a).tolist() == [[0, 255, 20, 160, 7, 0, 200]]
    assert vsparq_pairs(np.array([255, 255])).tolist() == [240, 240]


@settings(max_examples=80, deadline=None, database=None)
@given(st.sampled_from([2, 4]), st.sampled_from([5, 3, 2]),
       st.lists(st.tuples(st.integers(0, 255), st.integers(-128, 127)), min_size=1, max_size=24))
def test_nbsmt_against_the_scalar_reference(threads, placements, pairs):
    a = [x for x, _ in pairs] + [0] * ((-len(pairs)) % threads)
    w = [y for _, y in pairs] + [0] * ((-len(pairs)) % threads)
    got = nbsmt_values(np.array(a), np.array(w), threads, placements)
    assert got.tolist() == ref_nbsmt(a, w, threads, placements)


def test_nbsmt_lone_thread_is_exact_and_zero_weights_take_no_slot():
    a, w = np.array([200, 77, 0, 0]), np.array([5, 0, 0, 9])     # one busy thread: 77 has a zero weight
    assert nbsmt_values(a, w, 2).tolist() == [200, 77, 0, 0]
    assert nbsmt_values(a, w, 4).tolist() == [200, 77, 0, 0]
    a, w = np.array([200, 77, 99, 3]), np.ones(4, dtype=int)     # four busy threads: 2-bit windows
    assert nbsmt_values(a, w, 4).tolist() == [192, 64, 96, 3]


@pytest.mark.parametrize("call, needle", [
    (lambda: bsparq_trim(np.array([256])), "256 is outside 0..255"),
    (lambda: bsparq_trim(np.array([-1])), "-1 is outside 0..255"),
    (lambda: bsparq_trim(np.array([1.5])), "integers 0..255 expected"),
    (lambda: bsparq_trim(np.array([3]), window=5), "window: 5 is not supported"),
    (lambda: bsparq_trim(np.array([3]), placements=4), "placements: 4 is not supported for a 4-bit window"),
    (lambda: nbsmt_values(np.array([3]), np.array([200]), 2), "200 is outside -128..127"),
    (lambda: nbsmt_values(np.array([3, 4]), np.array([1, 1]), 3), "threads: 3 is not supported"),
])
def test_bad_input_is_one_line(call, needle):
    with pytest.raises(ValueError) as exc:
        call()
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_error_statistics():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (32, 64))
    a[rng.random(a.shape) < 0.5] = 0
    w = rng.integers(-128, 128, (32, 64))
    exact = scheme_stats("exact", a, w)
    assert exact.product_mae == 0 and exact.dot_rel_rms == 0 and exact.changed == 0
    b, v = scheme_stats("bsparq", a, w), scheme_stats("vsparq", a, w)
    assert 0 < v.product_mae < b.product_mae and v.changed < b.changed      # zero partners keep values exact
    assert abs(b.zero_operands - ((a == 0) | (w == 0)).mean()) < 1e-12
    pairs = a.reshape(32, 32, 2)
    assert zero_pair_fraction(a) == pytest.approx(((pairs == 0).any(axis=-1)).mean())
    t2, t4 = scheme_stats("nbsmt", a, w, threads=2), scheme_stats("nbsmt", a, w, threads=4)
    assert t2.product_mae < t4.product_mae
    with pytest.raises(ValueError, match="scheme: 'x' is not known"):
        scheme_stats("x", a, w)


# --------------------------------------------------------------------------------------- architectures
_slow = pytest.mark.slow
SPARSE_CASES = [
    ("sparq", {}, 32, "icarus"),
    ("sparq", {"vsparq": True, "placements": 3}, 64, "icarus"),
    pytest.param("sparq", {"window": 3, "placements": 6, "rounding": False}, 32, "icarus", marks=_slow),
    ("sparq", {"window": 2}, 32, "icarus"),                       # every position of a 2-bit window
    pytest.param("nbsmt", {}, 64, "icarus", marks=_slow),
    ("nbsmt", {"threads": 4, "placements": 2}, 32, "icarus"),
    pytest.param("nbsmt", {"threads": 4}, 64, "verilator", marks=_slow),
]


def _cfg(mac, opts, width, **kw) -> Config:
    return Config(width=width, precisions=(8,), mac=mac, mac_options=opts, outputs=2, **kw)


@pytest.mark.parametrize("mac, opts, width, sim", SPARSE_CASES)
def test_sparse_architecture_regression(mac, opts, width, sim, tmp_path):
    """Default scenarios plus every activation value (alone, everywhere, among partners) and 0/50/80% zeros."""
    cfg = _cfg(mac, opts, width, overflow="saturate" if width == 64 else "wrap")
    res = run_regression(cfg, sim=sim, out_dir=tmp_path, vectors=200 if sim == "icarus" else 2000, seed=width,
                         fast_build=True)
    assert res.passed, f"{sim} {cfg.to_dict()}:\n" + ("\n".join(res.failures) or res.log)
    assert {t["scenario"] for t in res.tests} >= {"activations", "zeros0", "zeros50", "zeros80"}
    lane = res.coverage["items"]["lane"]          # every window position, collision count and saturating carry
    assert not lane["missing"] and len(cfg.architecture.coverage_bins(cfg)) >= 6, lane


def test_lane_coverage_events():
    from mixlane.golden import ints_to_bits

    cfg = _cfg("nbsmt", {"threads": 4}, 32)
    a = ints_to_bits([0xFF_00_13_C8, 0x00_00_00_FF], 32)      # elements (low first): 200, 19, 0, 255 | 255 alone
    w = ints_to_bits([0x01_01_01_01, 0x01_01_01_01], 32)
    ev = cfg.architecture.coverage_events(cfg, a, w, uniform_meta(cfg, 8, 2))
    # three busy threads: 2-bit windows; 200 at 6, 19 at 3, 255 at 6 with a saturating carry
    assert ev[0] == {"busy 3/4", "2b window at 6", "2b window at 3", "2b carry saturated"}
    assert ev[1] == {"busy 1/4"}                                # a lone thread runs exact


@pytest.mark.parametrize("mac, opts", [("sparq", {}), ("sparq", {"vsparq": True}), ("nbsmt", {"threads": 4})])
def test_register_golden_is_the_scheme_on_register_elements(mac, opts):
    """The golden register sum is the scheme applied to a register's elements (pairs and threads never span
    registers) and differs from the exact sum on random data."""
    cfg = _cfg(mac, opts, 64)
    ops = build(cfg, "zeros50", 3, 400)
    layout = decode(cfg, ops.meta)
    a, w = unpack(cfg, ops.a, layout, "a"), unpack(cfg, ops.w, layout, "w")
    if mac == "nbsmt":
        used = nbsmt_values(a, w, 4)
    else:
        used = vsparq_pairs(a) if opts else bsparq_trim(a)
    assert register_results(cfg, ops.a, ops.w, ops.meta).tolist() == (used * w).sum(axis=1).tolist()
    assert (register_results(cfg, ops.a, ops.w, ops.meta) != register_sum(cfg, ops.a, ops.w, ops.meta)).any()


@pytest.mark.parametrize("changes, needle", [
    (dict(precisions=(4, 8), mac="sparq"), "needs precisions = [8]"),
    (dict(precisions=(8,), mac="nbsmt", activation_signed=True), "activation_signed = false"),
    (dict(precisions=(8,), mac="sparq", mac_options={"window": 2, "placements": 5}),
     "placements: 5 is not supported for a 2-bit"),
    (dict(precisions=(8,), mac="sparq", mac_options={"window": 3, "placements": 6, "vsparq": True}),
     "vSPARQ pairs share 4-bit windows"),
    (dict(precisions=(8,), mac="nbsmt", mac_options={"threads": 3}), "mac_options.threads: 3 is not allowed"),
    (dict(precisions=(8,), mac="nbsmt", precision_mode="channel"), "does not support precision_mode"),
])
def test_sparse_configuration_errors_are_one_line(changes, needle):
    with pytest.raises(ConfigError) as exc:
        Config(**changes)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_lane_count_and_threads():
    """A lane takes ``threads`` elements: width 64 at 8 bits is 8 elements, 4 lanes of 2 or 2 lanes of 4."""
    for threads, lanes in ((2, 4), (4, 2)):
        text = to_verilog(_cfg("nbsmt", {"threads": threads}, 64))
        assert len(set(re.findall(r"^module \\mixlane_datapath\.lane(\d+) ", text, re.M))) == lanes


# -------------------------------------------------------------------------------------------- mutants
NBSMT_MUTANT = _cfg("nbsmt", {"threads": 4}, 64)
VSPARQ_MUTANT = _cfg("sparq", {"vsparq": True}, 32)
MUTATIONS = {
    "saturation_dropped": (NBSMT_MUTANT, r"(assign t1_w4_digits = )t1_w4_rounded\[4\]", r"\g<1>1'h0"),
    "rounding_dropped": (NBSMT_MUTANT, r"(\n\s+t1_w4_round_up = )\\\$\d+ ;", r"\g<1>1'h0;"),
    "two_bit_window_misplaced": (NBSMT_MUTANT, r"t1_w2_shift = 3'h6;", "t1_w2_shift = 3'h5;"),
    "rank_ignored": (NBSMT_MUTANT, r"(assign take_s0_t1 = busy\[1\]) & \\\$\d+ ;", r"\g<1>;"),
    "vsparq_partner_check_dropped": (VSPARQ_MUTANT, r"(assign ways2 = )\\\$\d+  & \\\$\d+ ;", r"\g<1>1'h1;"),
}
MUTANT_SCENARIOS = ["activations", "zeros50", "corners"]


def _mutate(text: str, pattern: str, new: str) -> str:
    start = re.search(r"^module \\mixlane_datapath\.lane1 ", text, re.M)
    assert start, "lane1 not found"
    end = text.index("endmodule", start.end())
    body, n = re.subn(pattern, new, text[start.end():end], count=1)
    assert n == 1, f"{pattern!r} not found in lane1: the generator changed, update the mutation"
    return text[:start.end()] + body + text[end:]


@pytest.fixture(scope="module")
def sources():
    return {id(cfg): to_verilog(cfg) for cfg in (NBSMT_MUTANT, VSPARQ_MUTANT)}


@pytest.mark.parametrize("cfg", [NBSMT_MUTANT, VSPARQ_MUTANT], ids=["nbsmt4", "vsparq"])
def test_unmutated_sparse_lanes_pass(cfg, sources, tmp_path):
    path = tmp_path / "dut.v"
    path.write_text(sources[id(cfg)])
    res = run_regression(cfg, sim="icarus", out_dir=tmp_path / "run", vectors=100, rtl=path, fast_build=True,
                         scenarios=MUTANT_SCENARIOS)
    assert res.passed, "\n".join(res.failures)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_sparse_lane_mutant_is_caught(mutation, sources, tmp_path):
    cfg, pattern, new = MUTATIONS[mutation]
    path = tmp_path / "mutant.v"
    path.write_text(_mutate(sources[id(cfg)], pattern, new))
    res = run_regression(cfg, sim="icarus", out_dir=tmp_path / "run", vectors=100, rtl=path, fast_build=True,
                         scenarios=MUTANT_SCENARIOS)
    assert not res.passed and res.failures, f"mutation {mutation} survived the regression"


def test_formal_proof_finds_a_mutated_sparse_lane(sources, tmp_path, capsys):
    """``mixlane prove`` on a vSPARQ design whose lane 1 lost its saturation: a counterexample in lane 1 only,
    and the reference value it prints is the golden vSPARQ sum of the printed operands."""
    from mixlane.cli import main

    cfg = VSPARQ_MUTANT
    rtl = tmp_path / "mutant.v"
    rtl.write_text(_mutate(sources[id(cfg)], r"(assign t1_w4_digits = )t1_w4_rounded\[4\]", r"\g<1>1'h0"))
    (tmp_path / "cfg.json").write_text(cfg.to_json())
    rc = main(["prove", "--config", str(tmp_path / "cfg.json"), "--rtl", str(rtl), "-o", str(tmp_path / "work"),
               "--json", str(tmp_path / "prove.json")])
    assert rc == 1 and "COUNTEREXAMPLE mixlane_datapath.lane1" in capsys.readouterr().err
    import json
    proofs = json.loads((tmp_path / "prove.json").read_text())["proofs"]
    bad = [p for p in proofs if p["status"] == "counterexample"]
    assert [p["module"] for p in bad] == ["mixlane_datapath.lane1"]
    cx = bad[0]["counterexample"]
    a = np.array([(cx["a_bits"] >> (8 * t)) & 0xFF for t in range(2)])
    w = np.array([(cx["w_bits"] >> (8 * t)) & 0xFF for t in range(2)])
    w = np.where(w >= 128, w - 256, w)
    assert cx["expected"] == int((vsparq_pairs(a) * w).sum()) != cx["actual"]


# ------------------------------------------------------------------------------------------- zero gating
GATING_CASES = [
    pytest.param("sum_together-bipolar", dict(width=32), marks=_slow),   # bipolar 1-bit codes must not be gated
    pytest.param("element", dict(precision_mode="element", width=32)),
    pytest.param("nbsmt", dict(precisions=(8,), mac="nbsmt", width=32)),
    pytest.param("bit_serial", dict(mac="bit_serial", width=32)),         # multi-cycle: operands held over the steps
    pytest.param("sum_apart-channel", dict(mac="sum_apart", precision_mode="channel", width=32, acc_width=48),
                 marks=_slow),
]


@pytest.mark.parametrize("name, kw", GATING_CASES, ids=["sum_together-bipolar", "element", "nbsmt", "bit_serial",
                                                        "sum_apart-channel"])
def test_zero_gating_keeps_every_result(name, kw, tmp_path):
    cfg = Config(zero_gating=True, **kw)
    res = run_regression(cfg, sim="icarus", out_dir=tmp_path, vectors=150, seed=7, fast_build=True,
                         scenarios=["random", "corners", "exhaustive", "zeros80"])
    assert res.passed, f"{cfg.to_dict()}:\n" + ("\n".join(res.failures) or res.log)


def test_zero_gating_is_in_the_netlist_and_keeps_hashes():
    text = to_verilog(Config(width=32, zero_gating=True))
    assert len(set(re.findall(r"lane(\d+)_gated", text))) == Config(width=32).slots
    assert "_gated" not in to_verilog(Config(width=32))
    assert "zero_gating" not in Config().to_dict() and Config(zero_gating=True).to_dict()["zero_gating"] is True
    with pytest.raises(ConfigError, match="zero_gating"):
        Config(zero_gating="yes")


def test_gated_lanes_counts_zero_operand_lanes():
    from mixlane.golden import ints_to_bits, meta_for_precision
    from mixlane.golden.sparse import gated_lanes

    cfg = Config(width=32, precisions=(1, 2, 4), binary="bipolar", zero_gating=True)
    a = ints_to_bits([0x0000_F00F, 0x1234_5678], 32)          # lanes of 4 bits: zero nibbles in row 0
    w = ints_to_bits([0x1111_1111, 0x0F00_0000], 32)
    for p in (4, 2):
        meta = np.repeat(meta_for_precision(cfg, p, 1), 2, axis=0)
        assert gated_lanes(cfg, a, w, meta).tolist() == [[False, True, True, False, True, True, True, True],
                                                          [True] * 6 + [False, True]]
    meta = np.repeat(meta_for_precision(cfg, 1, 1), 2, axis=0)   # bipolar: a zero bit is -1, never gated
    assert not gated_lanes(cfg, a, w, meta).any()


def test_gating_mutant_is_caught(tmp_path):
    """Gating regardless of the code (bipolar 1-bit lanes whose bits are zero hold -1s) breaks results."""
    cfg = Config(width=32, zero_gating=True)
    text = to_verilog(cfg)
    mutated, n = re.subn(r"assign lane1_gateable = [^;]+;", "assign lane1_gateable = 1'h1;", text)
    assert n == 1
    (tmp_path / "mutant.v").write_text(mutated)
    res = run_regression(cfg, sim="icarus", out_dir=tmp_path / "run", vectors=100, rtl=tmp_path / "mutant.v",
                         fast_build=True, scenarios=["corners", "exhaustive"])
    assert not res.passed


def test_synth_reports_the_gated_fraction(tmp_path):
    """``mixlane synth`` of a gated design: every precision's power entry says which fraction of the lanes
    the workload's zeros gated (the baseline, without gating, says none)."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, MIXLANE_CACHE=str(tmp_path / "cache"))
    res = subprocess.run([sys.executable, "-m", "mixlane", "synth", "--set", "width=32", "--set", "zero_gating=true",
                          "--workload", "sparse,ops=64,window=32,warmup=8", "-o", str(tmp_path / "out")],
                         capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    rep = json.loads((tmp_path / "out" / "report.json").read_text())["designs"]
    for p, entry in rep["config"]["precisions"].items():
        assert entry["results_checked"] > 0
        if p == "1":                      # bipolar 1-bit elements are never gated
            assert entry["gated_lane_fraction"] == 0
        else:
            assert 0.3 < entry["gated_lane_fraction"] < 1
    assert all(e["gated_lane_fraction"] is None for e in rep["baseline"]["precisions"].values())


@pytest.mark.parametrize("kw", [dict(precision_mode="element", width=32), dict(width=32, binary="unipolar"),
                                dict(precision_mode="channel", width=32, channel_levels=(1, 2, 4)),
                                dict(precisions=(8,), mac="nbsmt", width=64)], ids=["element", "uniform", "channel",
                                                                                    "nbsmt"])
def test_rtl_gates_exactly_the_lanes_the_golden_model_counts(kw):
    """The datapath's gate signals (Amaranth simulation) equal :func:`gated_lanes` on zero-heavy registers."""
    from amaranth.sim import Simulator

    from mixlane.golden import bits_to_ints, encode_meta_ints
    from mixlane.golden.sparse import gated_lanes
    from mixlane.rtl.datapath import SimdDatapath

    cfg = Config(zero_gating=True, **kw)
    ops = build(cfg, "zeros80", 5, 128)
    ops = ops[np.nonzero(ops.op == 0)[0]]
    want = gated_lanes(cfg, ops.a, ops.w, ops.meta)
    dut = SimdDatapath(config=cfg)
    got = []

    async def tb(ctx):
        for a, w, meta in zip(bits_to_ints(ops.a), bits_to_ints(ops.w), encode_meta_ints(cfg, ops.meta)):
            ctx.set(dut.i.a, a)
            ctx.set(dut.i.w, w)
            ctx.set(dut.i.meta, meta)
            got.append([ctx.get(g) for g in dut.lane_gates])

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    assert np.array(got, dtype=bool).tolist() == want.tolist()
    assert 0.2 < want.mean() < 1
