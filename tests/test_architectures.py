"""The architecture interface: registry, options, one-line errors, a plug-in architecture defined in this file
(picked up by generate, verify and synth with no other edit), multi-cycle operations and the bit-serial lanes."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from amaranth.hdl import Module, Mux, signed
from amaranth.lib import wiring

from mixlane import architectures
from mixlane.architectures import Architecture, Option
from mixlane.config import Config, ConfigError, random_config
from mixlane.golden import OP_ACC, decode, op_cycles, peak_macs_per_cycle, register_sum, run, unpack
from mixlane.golden.serial import bit_plane_sum
from mixlane.rtl.contract import LaneContract, lane_signature
from mixlane.rtl.generate import to_verilog, write_design
from mixlane.sim_tb.runner import run_regression
from mixlane.sim_tb.stimulus import random_ops


# ------------------------------------------------------------------ a plug-in architecture, defined right here
class TwoPassLane(wiring.Component):
    """Test architecture: one plain multiplier per lane, the weight in two halves over two cycles
    (``a * w_lo`` then ``a * w_hi``, weight ``2**(lane_bits/2)``); one precision, uniform mode."""

    def __init__(self, *, lane_bits: int, a_signed: bool, w_signed: bool):
        self._lb, self._h = lane_bits, lane_bits // 2
        self._a_signed, self._w_signed = a_signed, w_signed
        n = lane_bits + self._h + 2
        self._bias = 1 << (n - 1)
        self._contract = LaneContract(row_width=n, offsets=((-self._bias, -self._bias), (-self._bias,)),
                                      shifts=(0, 0), weights=((0, self._h), (0,)), cycles=(2, 1), register_code=True)
        super().__init__(lane_signature(lane_bits=lane_bits, code_bits=1, row_width=n, step_bits=1))

    @property
    def contract(self) -> LaneContract:
        return self._contract

    def elaborate(self, platform):
        m = Module()
        h = self._h
        a = self.a.as_signed() if self._a_signed else self.a
        hi = self.w[h:].as_signed() if self._w_signed else self.w[h:]
        half = Mux(self.step, hi, self.w[:h]).as_signed() if self._w_signed else Mux(self.step, hi, self.w[:h])
        m.d.comb += [self.sum.eq(Mux(self.en & (self.code == 0), a * half, 0) + self._bias), self.carry.eq(0)]
        return m


def two_pass_sum(cfg, a_bits, w_bits, meta):
    """Golden: sum of a * (w_lo + w_hi * 2**(p/2)) with w_lo unsigned and w_hi carrying the sign."""
    layout = decode(cfg, meta)
    a = unpack(cfg, a_bits, layout, "a")
    w = unpack(cfg, w_bits, layout, "w")
    h = cfg.pmax // 2
    lo = w & ((1 << h) - 1)
    return (a * lo + a * ((w - lo) >> h << h)).sum(axis=1)


class TwoPass(Architecture):
    name = "test_two_pass"
    summary = "test plug-in: plain multipliers, the weight in two halves over two cycles"
    rtl = f"{__name__}:TwoPassLane"
    golden = f"{__name__}:two_pass_sum"
    modes = ("uniform",)
    options = {"note": Option("none", ("none", "x"), help="an option that changes nothing")}

    def check(self, cfg):
        super().check(cfg)
        if len(cfg.precisions) != 1 or cfg.pmax < 4:
            raise ConfigError(f"mac: {self.name!r} needs one precision of 4 or 8 bits, not {list(cfg.precisions)}")

    def lane_params(self, cfg):
        return dict(lane_bits=cfg.lane_bits, a_signed=cfg.activation_signed, w_signed=cfg.weight_signed)

    def cycles(self, cfg, precision):
        return 2


architectures.register(TwoPass)
PLUGIN = Config(width=32, precisions=(4,), mac="test_two_pass", activation_signed=True, outputs=2)


def test_plugin_is_registered_and_described():
    assert "test_two_pass" in architectures.names()
    assert architectures.plugin_sources() and architectures.plugin_sources()[0].endswith("test_architectures.py")
    assert PLUGIN.architecture.describe(PLUGIN).endswith("mac=test_two_pass, note=none")
    assert PLUGIN.to_dict()["mac_options"] == {"note": "none"}
    assert peak_macs_per_cycle(PLUGIN, 4) == 4            # 8 elements every 2 cycles
    with pytest.raises(ConfigError, match="needs one precision of 4 or 8 bits"):
        PLUGIN.replace(precisions=[2, 4])


def test_plugin_generates_and_verifies(tmp_path):
    path = write_design(PLUGIN, tmp_path / "rtl")
    assert "step_last" in path.read_text()
    res = run_regression(PLUGIN, sim="icarus", out_dir=tmp_path / "run", vectors=200, seed=3, fast_build=True)
    assert res.passed, "\n".join(res.failures) or res.log
    assert sum(t["busy_cycles"] for t in res.tests) > sum(t["ops"] for t in res.tests)   # two-cycle ACCs


def test_plugin_synthesizes(tmp_path):
    """``mixlane synth`` measures a plug-in like any architecture: its area, power at its precision, and
    MACs per cycle from its own cycle count (8 elements every 2 cycles at width 32)."""
    from mixlane.synth.power import missing_power_tools
    from mixlane.synth.report import run_synth

    if missing_power_tools():
        pytest.skip(missing_power_tools())
    report = run_synth(PLUGIN, tmp_path, power_ops=120, window=64, warmup=16, cache_dir=tmp_path / "cache")
    row = report["comparison"][0]
    assert row["precision"] == 4 and row["macs_per_cycle"] == 4
    cfg = report["designs"]["config"]
    assert cfg["summary"].endswith("mac=test_two_pass, note=none") and cfg["area_um2"] > 0
    assert cfg["precisions"]["4"]["results_checked"] > 0
    assert cfg["precisions"]["4"]["measured_macs_per_cycle"] == pytest.approx(4 * 15 / 16, rel=0.1)


def test_plugin_through_the_command_line(tmp_path):
    """``mixlane --plugin FILE.py`` registers the file's architectures for every command (and --help)."""
    import subprocess
    import sys

    me = __file__
    run = lambda *a: subprocess.run([sys.executable, "-m", "mixlane", "--plugin", me, *a],  # noqa: E731
                                    capture_output=True, text=True, cwd=tmp_path)
    assert "test_two_pass" in run("--help").stdout
    res = run("generate", "--set", "mac=test_two_pass", "--set", "precisions=[8]", "--set", "width=32",
              "-o", "out")
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "out" / "config.json").read_text())["mac"] == "test_two_pass"
    res = subprocess.run([sys.executable, "-m", "mixlane", "generate", "--set", "mac=test_two_pass", "-o", "x"],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2 and "mac: 'test_two_pass' is not allowed" in res.stderr


def test_plugin_wrong_cycle_count_is_caught(tmp_path, monkeypatch):
    """The testbench checks the cycles of each operation, not only its values: a golden model that
    expects one cycle per ACC fails against RTL that takes two."""
    path = write_design(PLUGIN, tmp_path / "rtl")
    monkeypatch.setenv("MIXLANE_TEST_CYCLES", "1")
    res = run_regression(PLUGIN, sim="icarus", out_dir=tmp_path / "run", vectors=50, rtl=path, fast_build=True,
                         scenarios=["corners"])
    # the simulator process loads this file afresh (two cycles); the wrong count is made there through the env
    assert not res.passed and any("cycle" in f for f in res.failures), res.failures


if __name__.startswith("mixlane_plugin_"):           # loaded by a simulator process through MIXLANE_PLUGINS
    import os
    if os.environ.get("MIXLANE_TEST_CYCLES"):
        TwoPass.cycles = lambda self, cfg, p: int(os.environ["MIXLANE_TEST_CYCLES"])


# ------------------------------------------------------------------------------------------ config errors
@pytest.mark.parametrize("changes, needle", [
    ({"mac": "nope"}, "mac: 'nope' is not allowed; use one of"),
    ({"mac": "bit_serial", "precision_mode": "pattern"}, "does not support precision_mode = 'pattern'"),
    ({"mac": "bit_serial", "mac_options": {"bits": 2}}, "mac_options.bits: unknown option of mac = 'bit_serial'"),
    ({"mac": "bit_serial", "mac_options": {"bits_per_cycle": 3}}, "mac_options.bits_per_cycle: 3 is not allowed"),
    ({"mac": "bit_serial", "mac_options": {"serial": True}}, "mac_options.serial: True is not allowed"),
    ({"mac_options": {"serial": "both"}}, "unknown option of mac = 'sum_together'"),
    ({"mac": "conventional"}, "the conventional baseline needs precisions = [8]"),
    ({"mac": "bitfusion"}, "its 2x2 bricks build 2, 4 and 8 bits (drop [1])"),
    ({"mac": "multipass", "precisions": [1, 2], "mac_options": {"digit_bits": 4}}, "use at most the widest"),
    ({"mac": "sum_apart", "overflow": "saturate"}, "subword accumulators wrap around"),
    ({"mac": "sum_apart", "precisions": [4, 8], "acc_width": 8}, "subwords at 4 bits need 8 bits"),
])
def test_architecture_errors_are_one_line(changes, needle):
    with pytest.raises(ConfigError) as exc:
        Config().replace(**changes)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_options_round_trip_and_hash():
    cfg = Config(mac="bit_serial", mac_options={"serial": "both"})
    assert cfg.mac_options == (("bits_per_cycle", 1), ("serial", "both"))
    assert Config.from_dict(json.loads(cfg.to_json())) == cfg
    assert "mac_options" not in Config().to_dict()             # configurations without options keep their hash
    assert cfg.replace(mac="sum_together").mac_options == ()


# --------------------------------------------------------------------------------------------- bit-serial
def _serial_cfg(seed: int, **opts) -> Config:
    cfg = random_config(seed, mode="uniform", max_width=128)
    return cfg.replace(mac="bit_serial", mac_options=opts)


@pytest.mark.parametrize("seed", range(12))
def test_bit_plane_golden_equals_products(seed):
    """The bit-plane golden (popcounts of plane pairs) equals the sum of element products."""
    cfg = _serial_cfg(seed, serial=("weights", "both")[seed % 2], bits_per_cycle=(1, 2, 4)[seed % 3])
    ops = random_ops(cfg, np.random.default_rng(seed), 300)
    assert (bit_plane_sum(cfg, ops.a, ops.w, ops.meta) == register_sum(cfg, ops.a, ops.w, ops.meta)).all()


@pytest.mark.parametrize("serial, bpc, p, cycles", [
    ("weights", 1, 8, 8), ("weights", 2, 8, 4), ("weights", 4, 2, 1), ("both", 1, 4, 16), ("both", 2, 8, 16),
    ("both", 1, 2, 4), ("weights", 1, 1, 1)])
def test_bit_serial_cycles(serial, bpc, p, cycles):
    cfg = Config(precisions=(1, 2, 4, 8), mac="bit_serial", mac_options={"serial": serial, "bits_per_cycle": bpc},
                 binary="unipolar")
    meta = np.array([[cfg.precisions.index(p)]] * 2)
    assert op_cycles(cfg, np.array([OP_ACC, 1]), meta).tolist() == [cycles, 1]
    assert peak_macs_per_cycle(cfg, p) == cfg.width // p / cycles
    assert run(cfg, random_ops(cfg, np.random.default_rng(1), 20)).cycles.max() <= 64


# Random configurations of each architecture on both simulators: (mac, options, precisions or None for the
# random ones, width, simulator, seed, precision mode). One Verilator build per architecture in the default run (20-50 s
# each), the wider ones with -m slow.
_slow = pytest.mark.slow
REGRESSION_CASES = [
    ("bit_serial", {"serial": "weights", "bits_per_cycle": 1}, None, 32, "icarus", 31, "uniform"),
    pytest.param("bit_serial", {"serial": "weights", "bits_per_cycle": 2}, None, 128, "verilator", 32, "uniform",
                 marks=_slow),
    ("bit_serial", {"serial": "both", "bits_per_cycle": 2}, None, 64, "icarus", 33, "uniform"),
    pytest.param("bit_serial", {"serial": "both", "bits_per_cycle": 1}, None, 256, "verilator", 34, "uniform", marks=_slow),
    ("bit_serial", {"serial": "weights", "bits_per_cycle": 4}, None, 32, "icarus", 35, "uniform"),
    ("multipass", {"digit_bits": 2}, (1, 2, 4), 32, "icarus", 41, "uniform"),
    pytest.param("multipass", {"digit_bits": 2}, (2, 4, 8), 128, "verilator", 42, "uniform", marks=_slow),
    ("multipass", {"digit_bits": 4}, (1, 2, 4, 8), 64, "icarus", 43, "uniform"),
    pytest.param("multipass", {"digit_bits": 1}, (1, 2, 4), 64, "verilator", 44, "uniform", marks=_slow),
    pytest.param("multipass", {"digit_bits": 2}, (1, 2, 8), 256, "icarus", 45, "uniform", marks=_slow),
    ("multipass", {"digit_bits": 4, "schedule": "paired"}, (2, 4, 8), 32, "icarus", 46, "uniform"),
    ("multipass", {"digit_bits": 2, "schedule": "paired"}, (1, 2, 4, 8), 32, "icarus", 47, "uniform"),
    ("bitfusion", {}, (2, 4, 8), 32, "icarus", 51, "uniform"),
    pytest.param("bitfusion", {}, (2, 4, 8), 64, "verilator", 52, "uniform", marks=_slow),
    ("bitfusion", {}, (2, 8), 64, "icarus", 53, "uniform"),
    pytest.param("bitfusion", {}, (4, 8), 256, "verilator", 54, "uniform", marks=_slow),
    ("bitfusion", {}, (2, 4), 64, "icarus", 55, "uniform"),
    ("bitfusion", {}, (2, 4, 8), 64, "icarus", 56, "channel"),
    ("bitfusion", {}, (2, 8), 128, "icarus", 57, "pattern"),
    ("sum_apart", {}, (1, 2, 4, 8), 32, "icarus", 61, "uniform"),
    ("sum_apart", {}, (1, 2, 4), 64, "verilator", 62, "uniform"),
    ("sum_apart", {}, (2, 8), 64, "icarus", 63, "uniform"),
    pytest.param("sum_apart", {}, (1, 4, 8), 256, "verilator", 64, "uniform", marks=_slow),
    ("sum_apart", {}, (1, 2), 64, "icarus", 65, "uniform"),
    ("sum_apart", {}, (1, 2, 4), 64, "icarus", 66, "channel"),
    ("sum_apart", {}, (2, 4, 8), 64, "icarus", 67, "pattern"),
]


@pytest.mark.parametrize("mac, opts, precs, width, sim, seed, mode", REGRESSION_CASES)
def test_architecture_regression(mac, opts, precs, width, sim, seed, mode, tmp_path):
    """Every scenario (random, stalls, corners, overflow, exhaustive pairs up to 4 bits, a tensor) with the
    cycle-count check, on a random configuration of the architecture in ``mode``."""
    cfg = random_config(seed, mode=mode, min_width=width, max_width=width)
    changes = {"precisions": precs, "patterns": (), "channel_levels": (), "acc_width": max(cfg.acc_width, 32)} \
        if precs else {}
    if mac == "sum_apart":            # subword accumulators: wrap-around, wide enough for the narrowest subword
        changes.update(overflow="wrap", acc_width=32 if width < 256 else 64)
    cfg = cfg.replace(mac=mac, mac_options=opts, **changes)
    res = run_regression(cfg, sim=sim, out_dir=tmp_path, vectors=300 if sim == "icarus" else 2000, seed=seed,
                         fast_build=True)
    assert res.passed, f"{sim} {cfg.to_dict()}:\n" + ("\n".join(res.failures) or res.log)
    assert {t["scenario"] for t in res.tests} >= {"exhaustive", "corners", "random_stalls", "overflow"}


def test_sum_apart_golden_keeps_products_apart():
    """One ACC into a cleared accumulator leaves each element's product in its own subword."""
    from mixlane.golden.apart import element_products

    cfg = Config(width=32, precisions=(2, 8), mac="sum_apart", activation_signed=True, acc_width=32)
    ops = random_ops(cfg, np.random.default_rng(4), 40)
    res = run(cfg, ops)
    prods, layout = element_products(cfg, ops)
    for k, i in enumerate(res.index):
        if i == 0 or ops.op[i - 1] != OP_ACC or ops.op[i - 2] not in (1, 3) or ops.bias[i - 2] != 0:
            continue                      # a READ right after LOAD 0, ACC on the same accumulator
        if ops.sel[i - 1] != ops.sel[i] or ops.sel[i - 2] != ops.sel[i]:
            continue
        p = int(layout[i - 1][layout[i - 1] > 0][0])
        F = 32 * p // 8
        fields = [(int(res.value[k]) >> (F * j)) & ((1 << F) - 1) for j in range(32 // p)]
        want = [int(v) % (1 << F) for v in prods[i - 1][layout[i - 1] > 0]]
        assert fields == want


def test_bitfusion_bricks():
    """An 8-bit BitFusion lane has 16 bricks; every precision uses the bricks of its own elements only."""
    from amaranth.hdl import Fragment

    from mixlane.rtl.bitfusion_lane import BitFusionLane, bitfusion_terms

    lane = BitFusionLane(precisions=(2, 4, 8), lane_bits=8, a_signed=True, w_signed=True)
    Fragment.get(lane, None)
    assert lane.bricks == 16 and lane.compressor_inputs < 16 * 5 + 16
    for p, used in ((2, 4), (4, 8), (8, 16)):
        (_, _, terms), = bitfusion_terms(p, lane_bits=8)
        assert len({t[0][:2] for t in terms}) == used == 8 * p // 4


@pytest.mark.parametrize("schedule, digits, p, cycles", [
    ("diagonal", 2, 4, 3), ("diagonal", 2, 8, 7), ("diagonal", 4, 8, 3), ("paired", 4, 8, 2), ("paired", 2, 4, 2),
    ("paired", 2, 8, 5), ("paired", 2, 2, 1)])
def test_multipass_cycles(schedule, digits, p, cycles):
    cfg = Config(precisions=(2, 4, 8), mac="multipass", mac_options={"digit_bits": digits, "schedule": schedule})
    assert op_cycles(cfg, np.array([OP_ACC]), np.array([[cfg.precisions.index(p)]])).tolist() == [cycles]


def test_multipass_lane_is_as_small_as_its_digits():
    """A {1, 2, 4} multi-pass lane on 2-bit digits has the compressor of two 2-bit lanes (8 inputs per 4 bits,
    against 16 for the centred sum-together lane) and runs 4-bit operations in 3 passes."""
    from amaranth.hdl import Fragment

    from mixlane.rtl.mac_lane import SumTogetherLane
    from mixlane.rtl.multipass_lane import MultiPassLane

    kw = dict(precisions=(1, 2, 4), lane_bits=4, a_signed=False, w_signed=True, bipolar=True)
    lane = MultiPassLane(digit_bits=2, **kw)
    Fragment.get(lane, None)
    assert lane.compressor_inputs == lane.cells == 8 and lane.contract.cycles[:3] == (1, 1, 3)
    centred = SumTogetherLane(packed=True, centred=True, **kw)
    Fragment.get(centred, None)
    assert centred.compressor_inputs == 16


# mutations of the bit-serial datapath: (module, regex in that module, replacement)
SERIAL_MUTANT = Config(width=32, precisions=(1, 2, 4), mac="bit_serial", activation_signed=True, outputs=2,
                       acc_width=16, overflow="saturate", mac_options={"serial": "weights", "bits_per_cycle": 1})
SERIAL_MUTATIONS = {
    "step_counter_skips": ("", r"step \+ 1'h1", "step + 2'h2"),
    "last_step_early": ("", r"assign step_last = (\d+)'([dh])([0-9a-f]+) >>",
                        lambda m: f"assign step_last = {m[1]}'d{int(m[3], 10 if m[2] == 'd' else 16) | 0xFF} >>"),
    "weight_dropped": ("", r"assign step_weight1 = (\d+)'h[0-9a-f]+ >>", lambda m: f"assign step_weight1 = {m[1]}'h0 >>"),
    "partial_not_cleared": ("", r"step_last \? (\d+)'h0+ : (\S+ \[\d+:0\])", lambda m: f"step_last ? {m[2]} : {m[2]}"),
    "cell_and_to_or": ("lane3", r"= a\[2\] & ", "= a[2] | "),
    "sign_inversion_dropped": ("lane1", r"(assign slot\d+_c\d+ = \S+)\s+\^\s+\S+;", lambda m: f"{m[1]} ;"),
}


def _mutate(text: str, module: str, pattern: str, new) -> str:
    name = rf"\\mixlane_datapath\.{module} " if module else r"mixlane_datapath\("
    start = re.search(rf"^module {name}", text, re.M)
    assert start, f"module {module!r} not found"
    end = text.index("endmodule", start.end())
    body, n = re.subn(pattern, new, text[start.end():end], count=1)
    assert n == 1, f"{pattern!r} not found in module {module!r}: the generator changed, update the mutation"
    return text[:start.end()] + body + text[end:]


MULTIPASS_MUTANT = Config(width=32, precisions=(1, 2, 4), mac="multipass", activation_signed=True, outputs=2, binary="unipolar",
                          acc_width=16, overflow="saturate")
MULTIPASS_MUTATIONS = {
    "pass_weight_dropped": ("", r"assign step_weight2 = (\d+)'h[0-9a-f]+ >>", lambda m: f"assign step_weight2 = {m[1]}'h0 >>"),
    "last_pass_early": ("", r"assign step_last = (\d+)'h([0-9a-f]+) >>",
                        lambda m: f"assign step_last = {m[1]}'h{int(m[2], 16) | 0x100:x} >>"),
    "centre_not_shifted_back": ("tree", r"assign tree_shift1 = (\d+)'h[0-9a-f]+ >>",
                                lambda m: f"assign tree_shift1 = {m[1]}'h0 >>"),
    "cell_and_to_or": ("lane2", r"= a\[2\] & ", "= a[2] | "),
    "digit_route_dropped": ("lane2", r"(assign cell\d+_w = \S+)\s+\|\s+\S+ ;", lambda m: f"{m[1]} ;"),
    "sign_inversion_dropped": ("lane2", r"(assign slot\d+_c\d+ = \S+)\s+\^\s+\S+;", lambda m: f"{m[1]} ;"),
}
BITFUSION_MUTANT = Config(width=32, precisions=(2, 4, 8), mac="bitfusion", activation_signed=True, outputs=2,
                          acc_width=20, overflow="saturate")
BITFUSION_MUTATIONS = {
    "brick_sign_dropped": ("lane1", r"= a\[3\] & ctx_in_\w+;", "= 1'h0;"),
    "brick_multiply_to_add": ("lane1", r"(\$signed\(\{ \S+ , a\[3:2\] \}\)) \* ", r"\1 + "),
    "brick_bias_changed": ("lane1", r"\$signed\(6'h10\)", "$signed(6'h0f)"),
    "shift_route_dropped": ("lane1", r"(assign slot\d+_c\d+ = \S+)\s+\|\s+\S+ ;", lambda m: f"{m[1]} ;"),
}
BITFUSION_CHANNEL_MUTANT = BITFUSION_MUTANT.replace(precision_mode="channel")
BITFUSION_CHANNEL_MUTATIONS = {      # per-lane precisions: the lanes add their code's offset themselves
    "folded_bias_dropped_when_off": ("lane1", r"(assign fold_b\d+ = \S+ \[\d+\] \? \S+ +): 1'h1;",
                                     lambda m: f"{m[1]}: 1'h0;"),
    "folded_code_constant_dropped": ("lane1", r"(assign fold_b4 = \S+ \[\d+\] \? )\S+ +:",
                                     lambda m: f"{m[1]}1'h0 :"),
}
SUM_APART_MUTANT = Config(width=32, precisions=(1, 2, 4), mac="sum_apart", activation_signed=True, outputs=2,
                          acc_width=16)
SUM_APART_MUTATIONS = {
    "sign_inversion_dropped": ("lane1", r"(assign pp_u\d+_v\d+ = \S+)\s+\^\s+\S+;", lambda m: f"{m[1]} ;"),
    "product_field_cut_dropped": ("lane1", r"(= \\\$\d+ \[2\]) & \\\$\d+ ;", lambda m: f"{m[1]} ;"),
    "subword_cut_dropped": ("acc", r"assign cut_lane1_b8 = (\d+)'h\w+ >>",
                            lambda m: f"assign cut_lane1_b8 = {m[1]}'h0 >>"),
    "subword_sign_extension_dropped": ("acc", r"\{ vec\[7\], ", "{ 1'h0, "),
    "load_ignores_bias": ("acc", r"= bias;", "= 16'h0000;"),
}
MUTANTS = {"bit_serial": (SERIAL_MUTANT, SERIAL_MUTATIONS), "multipass": (MULTIPASS_MUTANT, MULTIPASS_MUTATIONS),
           "bitfusion": (BITFUSION_MUTANT, BITFUSION_MUTATIONS),
           "bitfusion-channel": (BITFUSION_CHANNEL_MUTANT, BITFUSION_CHANNEL_MUTATIONS),
           "sum_apart": (SUM_APART_MUTANT, SUM_APART_MUTATIONS)}
MUTANT_SCENARIOS = ["corners", "exhaustive", "overflow", "random_stalls"]


@pytest.fixture(scope="module")
def mutant_sources():
    return {arch: to_verilog(cfg) for arch, (cfg, _) in MUTANTS.items()}


@pytest.mark.parametrize("arch", list(MUTANTS))
def test_unmutated_passes(arch, mutant_sources, tmp_path):
    path = tmp_path / "dut.v"
    path.write_text(mutant_sources[arch])
    res = run_regression(MUTANTS[arch][0], sim="icarus", out_dir=tmp_path / "run", vectors=100, rtl=path,
                         fast_build=True, scenarios=MUTANT_SCENARIOS)
    assert res.passed, "\n".join(res.failures)


@pytest.mark.parametrize("arch, mutation", [(a, k) for a, (_, muts) in MUTANTS.items() for k in muts])
def test_mutant_is_caught(arch, mutation, mutant_sources, tmp_path):
    cfg, muts = MUTANTS[arch]
    path = tmp_path / "mutant.v"
    path.write_text(_mutate(mutant_sources[arch], *muts[mutation]))
    res = run_regression(cfg, sim="icarus", out_dir=tmp_path / "run", vectors=100, rtl=path,
                         fast_build=True, scenarios=MUTANT_SCENARIOS)
    assert not res.passed and res.failures, f"mutation {mutation} of {arch} survived the regression"
