"""Generated Verilog against the golden model on Icarus and Verilator (through the cocotb runner).

Every preset on both simulators, random valid configurations of every precision mode, and mutation tests
showing that the regression catches a one-operator change in the datapath. Wide sweeps: ``-m slow``.
"""

from __future__ import annotations

import re

import pytest

from mixlane.config import PRESETS, Config, preset, random_config
from mixlane.rtl.generate import to_verilog
from mixlane.sim_tb.runner import run_regression
from mixlane.sim_tb.stimulus import default_scenarios

SIMS = ("icarus", "verilator")
# Icarus is event-driven and ~100x slower than Verilator on these netlists; the presets run on it with the
# default vector count of `mixlane verify` (their coverage must reach 100% with it), other cases with fewer.
VECTORS = {"icarus": 300, "verilator": 3000}
DEFAULT_VECTORS = 2000


def _check(cfg: Config, sim: str, out, **kw):
    res = run_regression(cfg, sim=sim, out_dir=out, vectors=kw.pop("vectors", VECTORS[sim]), fast_build=True, **kw)
    detail = "\n".join(res.failures) or f"incomplete run, see {res.log}"
    assert res.passed, f"{sim} regression failed for {cfg.to_dict()}:\n{detail}"
    assert res.checked_results > 0 and res.lane_macs > 0
    return res


# Verilator builds take 20-40 s each (C++ compile): the default run builds a representative subset, `-m slow`
# adds the rest. Icarus runs every preset except those in SLOW_ON_ICARUS.
VERILATOR_DEFAULT = ("default", "element", "int8-conventional")
# The multi-cycle presets take up to 8 cycles per 8-bit operation (40 s on Icarus for bit-serial): their
# architectures are covered in tests/test_architectures.py, the presets themselves with -m slow.
SLOW_ON_ICARUS = ("bit-serial", "multipass-1248",
                  # covered by other presets of their mode and by their architectures' own tests
                  "uniform-12", "channel-2level", "multi-output", "vsparq", "nbsmt-2t")


def _preset_marks(name: str, sim: str) -> list:
    slow = (sim == "verilator" and name not in VERILATOR_DEFAULT) or (sim == "icarus" and name in SLOW_ON_ICARUS)
    return [pytest.mark.slow] if slow else []


PRESET_CASES = [pytest.param(name, sim, marks=_preset_marks(name, sim)) for name in PRESETS for sim in SIMS]


@pytest.mark.parametrize("name, sim", PRESET_CASES)
def test_preset(name, sim, tmp_path):
    res = _check(preset(name), sim, tmp_path, vectors=max(DEFAULT_VECTORS, VECTORS[sim]))
    assert {t["scenario"] for t in res.tests} == set(default_scenarios(preset(name)))
    missed = {item: c["missing"] for item, c in res.coverage["items"].items() if c["missing"]}
    assert res.coverage["coverage"] == 100.0, f"{name}: functional coverage bins missed: {missed}"


# Random valid configurations of every mode; element mode is kept narrow (its aligner grows as width^2).
# Odd seeds run on Verilator.
# one Verilator build of a random configuration by default (uniform); the other modes' builds are opt-in.
RANDOM = [pytest.param(mode, seed, marks=[pytest.mark.slow] if seed == 11 and mode != "uniform" else [])
          for mode in ("uniform", "pattern", "channel", "element") for seed in (11, 12)]


@pytest.mark.parametrize("mode, seed", RANDOM)
def test_random_config(mode, seed, tmp_path):
    cfg = random_config(seed, mode=mode, max_width=64 if mode == "element" else 128)
    sim = SIMS[seed % 2]
    _check(cfg, sim, tmp_path, seed=seed)


@pytest.mark.slow
@pytest.mark.parametrize("sim", SIMS)
@pytest.mark.parametrize("seed", range(100, 112))
def test_random_config_wide(seed, sim, tmp_path):
    mode = ("uniform", "pattern", "channel", "element")[seed % 4]
    cfg = random_config(seed, mode=mode, min_width=256, max_width=256 if mode == "element" else 512)
    _check(cfg, sim, tmp_path, seed=seed, vectors=200 if sim == "icarus" else 2000)


def test_generation_is_deterministic():
    cfg = preset("pattern-sysmol").replace(width=64, patterns=())
    assert to_verilog(cfg) == to_verilog(Config.from_dict(cfg.to_dict()))


# ------------------------------------------------------------------------------------------ mutations
MUTANT_CFG = Config(width=32, outputs=2, overflow="saturate", acc_width=16, activation_signed=True)
MUTANT_SCENARIOS = ["corners", "exhaustive", "overflow", "random_stalls"]

# (module, old, new): one textual change inside one module of the generated Verilog
MUTATIONS = {
    "acc_add_to_sub": ("acc", "$signed(acc_cur) + $signed(addend)", "$signed(acc_cur) - $signed(addend)"),
    "acc_saturation_limit": ("acc", "17'h07fff", "17'h07ffe"),
    "acc_select_range": ("acc", "sel < 2'h2", "sel < 2'h1"),
    "decoder_code_range": ("decoder", "meta < 2'h3", "meta < 2'h2"),
    "lane_pp_and_to_or": ("lane5", "a[1] & w_perm1", "a[1] | w_perm1"),
    "lane_xnor_to_and": ("lane2", "a[1] ^ w_perm2", "a[1] & w_perm2"),
    "lane_sign_xor_dropped": ("lane2", " ^ inv_2;", ";"),
    "tree_2bit_not_shifted_back": ("tree", "assign tree_shift2 = 2'h3 >> code;", "assign tree_shift2 = 2'h1 >> code;"),
    "tree_sum_xor_to_or": ("tree", "^ tree_l1_c1_s0;", "| tree_l1_c1_s0;"),
    "top_ignores_backpressure": ("", "assign i__ready = ~ stall;", "assign i__ready = 1'h1;"),
}


def _mutate(text: str, module: str, old: str, new: str) -> str:
    name = rf"\\mixlane_datapath\.{module} " if module else r"mixlane_datapath\("
    start = re.search(rf"^module {name}", text, re.M)
    assert start, f"module {module!r} not found"
    end = text.index("endmodule", start.end())
    body = text[start.end():end]
    assert old in body, f"{old!r} not found in module {module!r}: the generator changed, update the mutation"
    return text[:start.end()] + body.replace(old, new, 1) + text[end:]


@pytest.fixture(scope="module")
def mutant_source():
    return to_verilog(MUTANT_CFG)


def test_unmutated_passes(mutant_source, tmp_path):
    path = tmp_path / "dut.v"
    path.write_text(mutant_source)
    _check(MUTANT_CFG, "icarus", tmp_path / "run", rtl=path, scenarios=MUTANT_SCENARIOS)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_mutant_is_caught(mutation, mutant_source, tmp_path):
    """Both verification modes catch every mutant and observe the same behaviour (per-scenario digests of every
    result and every operation's cycles)."""
    path = tmp_path / "mutant.v"
    path.write_text(_mutate(mutant_source, *MUTATIONS[mutation]))
    seen = {}
    for mode in ("bulk", "cycle"):
        res = run_regression(MUTANT_CFG, sim="icarus", out_dir=tmp_path / mode, vectors=100, rtl=path,
                             fast_build=True, scenarios=MUTANT_SCENARIOS, mode=mode)
        assert not res.passed and res.failures, f"mutation {mutation} survived the regression ({mode} mode)"
        seen[mode] = {t["scenario"]: (t["mismatches"] > 0, t.get("digest")) for t in res.tests}
    assert seen["bulk"] == seen["cycle"], f"{mutation}: bulk and cycle modes disagree: {seen}"


@pytest.mark.parametrize("seed", range(200, 224))
def test_random_configs_elaborate(seed):
    """Every valid configuration elaborates (Amaranth netlist, no simulation); element mode up to 128 bits."""
    from amaranth.hdl import Fragment

    from mixlane.rtl.datapath import SimdDatapath

    cfg = random_config(seed, max_width=512)
    if cfg.precision_mode == "element":
        cfg = random_config(seed, mode="element", max_width=128)
    Fragment.get(SimdDatapath(config=cfg), None)
