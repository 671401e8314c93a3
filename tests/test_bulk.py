"""Bulk verification (generated harness, whole stimulus at once) and functional coverage.

Bulk and per-cycle modes must observe the same thing on every preset; the stimulus files must encode the
operation batch exactly; the coverage model must count what the stimulus holds and show what it misses.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mixlane.config import PRESETS, Config, preset
from mixlane.golden import OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD, Ops, bits_to_ints, encode_meta_ints, run
from mixlane.rtl.generate import write_design
from mixlane.sim_tb import bulk, stimulus
from mixlane.sim_tb.coverage import Coverage, coverage_model, features, merge_hits, summarize
from mixlane.sim_tb.runner import run_regression

AGREE_SCENARIOS = ["random_stalls"]   # idle cycles, back-pressure and its directed tail: where the modes could differ
# lane modes, element mode and a multi-cycle architecture by default; the rest with -m slow
AGREE_DEFAULT = ("default", "element", "multipass-124")


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n in AGREE_DEFAULT else [pytest.mark.slow])
                                  for n in PRESETS])
def test_modes_agree_on_preset(name, tmp_path):
    """Same results, same cycle of every result, same cycles per operation, in both modes (Icarus)."""
    cfg = preset(name)
    rtl = write_design(cfg, tmp_path / "design")          # generated once (element mode takes ~10 s)
    seen = {}
    for mode in ("bulk", "cycle"):
        res = run_regression(cfg, sim="icarus", out_dir=tmp_path / mode, vectors=60, scenarios=AGREE_SCENARIOS,
                             mode=mode, rtl=rtl)
        assert res.passed, f"{name} {mode}: {res.failures}"
        seen[mode] = {t["scenario"]: (t["digest"], t["results"], t["cycles"]) for t in res.tests}
    assert seen["bulk"] == seen["cycle"]


def _decode_words(cfg: Config, data: bytes) -> dict[str, list[int]]:
    size = bulk.payload_bytes(cfg)
    words = [int.from_bytes(data[k:k + size], "big") for k in range(0, len(data), size)]
    return {name: [(w >> at) & ((1 << width) - 1) for w in words] for name, at, width in bulk.payload_fields(cfg)}


@pytest.mark.parametrize("name", ["default", "pattern-sysmol", "channel-3level", "element"])
def test_stimulus_words_encode_the_batch(name, tmp_path):
    cfg = preset(name)
    ops = stimulus.build(cfg, "random", 3, 200)
    idle, ready = bulk.stall_patterns(ops, np.random.default_rng(1), 0.3, 0.5)
    bulk.write_stimulus(cfg, bulk.layout(cfg), tmp_path, ops, idle, ready, n_expected=5, limit=99)
    fields = _decode_words(cfg, (tmp_path / "bulk_ops.bin").read_bytes())
    assert fields["op"] == ops.op.tolist()
    assert fields["a"] == bits_to_ints(ops.a) and fields["w"] == bits_to_ints(ops.w)
    assert fields["meta"] == encode_meta_ints(cfg, ops.meta)
    mask = (1 << cfg.acc_width) - 1
    assert fields["bias"] == [b & mask for b in ops.bias.tolist()]
    if cfg.sel_bits:
        assert fields["sel"] == ops.sel.tolist()
    hdr = [int(x, 16) for x in (tmp_path / "bulk_hdr.hex").read_text().split()]
    assert hdr == [len(ops), 5, 99, len(idle), len(ready)]
    assert list((tmp_path / "bulk_idle.bin").read_bytes()) == idle.astype(int).tolist()


def test_harness_is_deterministic_and_complete():
    cfg = preset("pattern-sysmol")
    text = bulk.harness_verilog(cfg, depth=64, top="mixlane_datapath")
    assert text == bulk.harness_verilog(Config.from_dict(cfg.to_dict()), depth=64, top="mixlane_datapath")
    for name, _, _ in bulk.payload_fields(cfg):
        assert f".i__{name}(i_{name})" in text
    assert "module mixlane_bulk(" in text and '$fopen("bulk_ops.bin", "rb")' in text


def test_bulk_reports_unknown_results_as_mismatch(tmp_path):
    """A result with x bits is not silently parsed: it becomes ``None`` and mismatches."""
    cfg = preset("default")
    (tmp_path / "bulk_results.txt").write_text("3 0 0000001x\n")
    (tmp_path / "bulk_cycles.hex").write_text("000300020001\n")
    (tmp_path / "bulk_end.txt").write_text("9\n")
    cycle, sel, value, stats, cycles = bulk.read_results(bulk.layout(cfg), tmp_path)
    assert value.tolist() == [None] and stats.tolist() == [[1, 2, 3]] and cycles == 9


# ---------------------------------------------------------------------------------------------- coverage
def _ops(cfg: Config, kinds: list[int], sel: list[int] | None = None) -> Ops:
    n = len(kinds)
    ops = stimulus.random_ops(cfg, np.random.default_rng(0), n)[:n]
    ops.op[:] = kinds
    ops.sel[:] = sel if sel is not None else 0
    return ops


def test_coverage_model_of_default():
    cfg = preset("default")
    model = coverage_model(cfg)
    assert len(model["codes"]) == 1 << cfg.code_bits
    assert len(model["corners"]) == 6 * len(cfg.mode_precisions)
    assert len(model["sequence"]) == 16 and len(model["stalls"]) == 8
    assert model["accumulator"] == [f"{cfg.overflow}_up", f"{cfg.overflow}_down"]


def test_coverage_counts_sequences_and_stalls():
    cfg = preset("default").replace(outputs=2)
    kinds = [OP_LOAD, OP_READ, OP_ACC, OP_READ_LOAD, OP_READ_LOAD]
    ops = _ops(cfg, kinds, sel=[0, 0, 1, 1, 1])
    stats = np.array([[1, 0, 0], [1, 2, 0], [1, 0, 3], [1, 0, 0], [1, 1, 0]])
    cov = Coverage(cfg)
    cov.sample(features(cfg, ops, run(cfg, ops), stats))
    hits = cov.hits()
    assert hits["sequence"]["LOAD>READ"] == 1 and hits["sequence"]["READ_LOAD>READ_LOAD"] == 1
    assert hits["sequence"]["ACC>READ_LOAD"] == 1 and hits["sequence"]["READ>ACC"] == 0   # other accumulator
    assert hits["order"]["READ>ACC"] == 1
    assert hits["stalls"]["READ held"] == 1 and hits["stalls"]["READ_LOAD held"] == 1
    assert hits["stalls"]["ACC after_idle"] == 1 and hits["stalls"]["LOAD held"] == 0


def test_coverage_sees_overflow_and_corners():
    cfg = preset("default")
    ops = stimulus.build(cfg, "overflow", 1, 0)
    expected = run(cfg, ops)
    cov = Coverage(cfg)
    cov.sample(features(cfg, ops, expected, np.ones((len(ops), 3), np.int64)))
    hits = cov.hits()
    assert hits["accumulator"][f"{cfg.overflow}_up"] > 0 and hits["accumulator"][f"{cfg.overflow}_down"] > 0
    corners = Coverage(cfg)
    ops = stimulus.build(cfg, "corners", 1, 0)
    corners.sample(features(cfg, ops, run(cfg, ops), np.ones((len(ops), 3), np.int64)))
    summary = summarize(corners.hits())
    assert summary["items"]["corners"]["coverage"] == 100.0
    assert summary["items"]["codes"]["coverage"] == 100.0


def test_merge_and_summary():
    a = {"x": {"b1": 1, "b2": 0}}
    b = {"x": {"b1": 0, "b2": 0}}
    s = summarize(merge_hits([a, b]))
    assert s["coverage"] == 50.0 and s["items"]["x"]["missing"] == ["b2"]


def test_weak_stimulus_misses_bins(tmp_path):
    """The corners scenario alone has no back-pressure-held LOAD and no overflow: the coverage file says so."""
    cfg = Config(width=32, outputs=2, acc_width=16)
    res = run_regression(cfg, sim="icarus", out_dir=tmp_path, vectors=50, scenarios=["corners"])
    assert res.passed
    data = json.loads(open(res.coverage_file).read())
    assert data["coverage"] < 100.0 and data["config_hash"] == cfg.content_hash
    assert "LOAD held" in data["items"]["stalls"]["missing"]
    assert data["items"]["accumulator"]["missing"] == ["wrap_up", "wrap_down"]
    assert (tmp_path / "coverage_icarus.yml").exists()
