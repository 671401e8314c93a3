"""``mixlane prove``: every architecture's lanes are proved at small widths, a mutated lane gives a real
counterexample, bad input is a one-line error. Full-width presets run with ``-m slow``."""

import json
import re
import subprocess
import sys

import pytest

from mixlane.cli import main
from mixlane.config import PRESETS, Config, preset

# Small configurations of every built-in architecture (4-bit lanes: each proof takes well under a second).
SMALL = {
    "sum_together": Config(width=32),
    "sum_together-element": Config(width=32, precision_mode="element"),
    "sum_together-channel": Config(width=32, precision_mode="channel", channel_levels=(1, 2, 4),
                                   activation_signed=True, binary="unipolar"),
    "conventional": Config(width=32, precisions=(8,), mac="conventional"),
    "bit_serial": Config(width=32, mac="bit_serial"),
    "bit_serial-both": Config(width=32, mac="bit_serial", mac_options={"serial": "both", "bits_per_cycle": 2}),
    "multipass": Config(width=32, mac="multipass", mac_options={"digit_bits": 2}),
    "multipass-paired": Config(width=32, mac="multipass", mac_options={"digit_bits": 1, "schedule": "paired"},
                               precisions=(1, 2)),
    "bitfusion": Config(width=32, mac="bitfusion", precisions=(2, 4), activation_signed=True),
    "bitfusion-pattern": Config(width=32, mac="bitfusion", precisions=(2, 4), precision_mode="pattern"),
    "sum_apart": Config(width=32, mac="sum_apart", acc_width=48),
    # shared-unit lanes: every activation pair with weights in {0, 1, -1, 127, -128} per element
    "sparq-vsparq": Config(width=32, precisions=(8,), mac="sparq", mac_options={"vsparq": True}),
}


def _prove(cfg: Config, tmp_path, *extra):
    args = ["prove", "--config", str(tmp_path / "cfg.json"), "-o",
            str(tmp_path / "work"), "--json", str(tmp_path / "prove.json"), *extra]
    (tmp_path / "cfg.json").write_text(cfg.to_json())
    rc = main(args)
    return rc, json.loads((tmp_path / "prove.json").read_text()) if (tmp_path / "prove.json").exists() else None


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_architecture_is_proved_at_small_width(name, tmp_path, capsys):
    cfg = SMALL[name]
    rc, report = _prove(cfg, tmp_path)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert report["passed"] and "PASS" in out
    proofs = report["proofs"]
    # every precision of every distinct lane module, and every slot covered by some module
    assert {p["precision"] for p in proofs} == set(cfg.precisions)
    assert set().union(*(p["slots"] for p in proofs)) == set(range(cfg.slots // cfg.architecture.slots_per_lane(cfg)))
    for p in proofs:
        assert p["steps"] == cfg.architecture.cycles(cfg, p["precision"])
        assert p["status"] == "proved" and p["seconds"] > 0
        if name.startswith("sparq"):      # 5 weights per element, 2 elements per lane
            assert p["cases"] == 25 and p["scope"].startswith("every activation; w fixed to 25 values")
        else:
            assert p["scope"] == "every input"


def _mutate(text: str, module: str) -> str:
    """Swap the first ``&`` of an ``assign`` in ``module`` for ``|`` (one gate of one lane)."""
    start = text.index(f"module \\{module} ")
    body = text[start:text.index("endmodule", start)]
    m = re.search(r"assign \S+ = \S+ +& ", body)
    assert m, "no AND gate to mutate"
    mutated = body[:m.start()] + m.group(0).replace("&", "|") + body[m.end():]
    return text[:start] + mutated + text[start + len(body):]


def _reference(cfg: Config, a_bits: int, w_bits: int, p: int) -> int:
    """Sum of element products of one lane (written out here, independently of mixlane.formal)."""
    total = 0
    for k in range(cfg.lane_bits // p):
        vals = []
        for bits, signed in ((a_bits, cfg.activation_signed), (w_bits, cfg.weight_signed)):
            x = bits >> (k * p) & ((1 << p) - 1)
            if p == 1:
                vals.append(2 * x - 1 if cfg.binary == "bipolar" else x)
            else:
                vals.append(x - (1 << p) if signed and x >= 1 << (p - 1) else x)
        total += vals[0] * vals[1]
    return total


@pytest.mark.parametrize("name", ["sum_together", "bit_serial"])
def test_mutated_lane_gives_a_real_counterexample(name, tmp_path, capsys):
    from mixlane.rtl.generate import to_verilog

    cfg = SMALL[name]
    rtl = tmp_path / "mutated.v"
    rtl.write_text(_mutate(to_verilog(cfg), "mixlane_datapath.lane3"))
    rc, report = _prove(cfg, tmp_path, "--rtl", str(rtl))
    captured = capsys.readouterr()
    assert rc == 1
    bad = [p for p in report["proofs"] if p["status"] == "counterexample"]
    assert bad and all(p["module"] == "mixlane_datapath.lane3" and p["slots"] == [3] for p in bad)
    # the other lanes are still proved
    assert all(p["status"] == "proved" for p in report["proofs"] if 3 not in p["slots"])
    assert "COUNTEREXAMPLE mixlane_datapath.lane3" in captured.err and "FAIL" in captured.err
    for p in bad:
        cx = p["counterexample"]
        assert cx["expected"] == _reference(cfg, cx["a_bits"], cx["w_bits"], p["precision"])
        assert cx["actual"] != cx["expected"] or not cx["aligned"]
        line = next(ln for ln in captured.err.splitlines()
                    if ln.startswith("COUNTEREXAMPLE") and f"= {p['precision']}-bit" in ln)
        assert f"a = {cx['a']}" in line and f"w = {cx['w']}" in line
        assert f"reference {cx['expected']}, lane {cx['actual']}" in line


def test_given_file_is_proved_once_per_distinct_lane_and_split_cases_cover_it(tmp_path, capsys):
    from mixlane.rtl.generate import to_verilog

    cfg = SMALL["sum_together"]
    rtl = tmp_path / "design.v"
    rtl.write_text(to_verilog(cfg))
    rc, report = _prove(cfg, tmp_path, "--rtl", str(rtl), "--split", "2")
    assert rc == 0
    assert len(report["proofs"]) == len(cfg.precisions)       # the 8 lanes are one module's copies
    assert report["proofs"][0]["slots"] == list(range(cfg.slots))
    assert report["rtl"] == str(rtl) and all(p["cases"] == 4 for p in report["proofs"])
    table = capsys.readouterr().out
    assert "lane module" in table and "proofs passed" in table


@pytest.mark.parametrize("mutate", [pytest.param(False, marks=pytest.mark.slow), True])   # proving: minutes
def test_whole_register_proof_at_its_ports(mutate, tmp_path, capsys):
    from mixlane.rtl.generate import to_verilog

    cfg = Config(width=32, precisions=(1,))          # 1-bit lanes: the cheapest whole-datapath proof
    text = to_verilog(cfg)
    rtl = tmp_path / "design.v"
    rtl.write_text(text.replace("assign \\$2  = a ^ w;", "assign \\$2  = a | w;", 1) if mutate else text)
    rc, report = _prove(cfg, tmp_path, "--rtl", str(rtl), "--register")
    reg = [p for p in report["proofs"] if p["module"].startswith("register")]
    assert len(reg) == 1 and reg[0]["steps"] == 6
    if not mutate:
        assert rc == 0 and reg[0]["status"] == "proved"
        return
    assert rc == 1 and reg[0]["status"] == "counterexample"
    cx = reg[0]["counterexample"]
    a = [2 * (cx["a_bits"] >> k & 1) - 1 for k in range(32)]
    w = [2 * (cx["w_bits"] >> k & 1) - 1 for k in range(32)]
    assert cx["a"] == a and cx["w"] == w
    assert cx["expected"] == sum(x * y for x, y in zip(a, w)) != cx["actual"]
    assert "COUNTEREXAMPLE register (whole datapath)" in capsys.readouterr().err


@pytest.mark.parametrize("args, needle", [
    (["prove", "--rtl", "missing.v"], "--rtl: 'missing.v' not found"),
    (["prove", "--set", "width=32", "--timeout", "0"], "--timeout: 0"),
    (["prove", "--set", "width=32", "--split", "9"], "--split: 9"),
    (["prove", "--set", "width=32", "--yosys", "/no/such/yosys"], "not found"),
    (["prove", "--set", "width=32", "--rtl", "other.v"], "has no lane instances"),
])
def test_bad_input_is_one_line(args, needle, tmp_path):
    (tmp_path / "other.v").write_text("module mixlane_datapath(input a, output b);\n  assign b = a;\nendmodule\n")
    res = subprocess.run([sys.executable, "-m", "mixlane", *args], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mixlane: error:") and needle in lines[0], res.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_is_proved_at_full_width(name, tmp_path):
    rc, report = _prove(preset(name), tmp_path)
    assert rc == 0 and report["passed"]


@pytest.mark.slow
def test_whole_register_is_proved_at_width_32(tmp_path):
    cfg = Config(width=32, precisions=(1, 2))
    rc, report = _prove(cfg, tmp_path, "--register")
    assert rc == 0
    regs = [p for p in report["proofs"] if p["module"].startswith("register")]
    assert [p["precision"] for p in regs] == [1, 2] and all(p["status"] == "proved" for p in regs)
