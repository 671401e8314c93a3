"""The processor target: the datapath as VexRiscv's custom function unit, C programs, networks, bad input.

One SoC build of ``channel-3level`` (mixed precisions per input channel) is shared by the tests of this file
(they run on one worker: ``xdist_group``); a second one, with one operator of the datapath changed, shows that
a network run notices a broken extension.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mixlane.config import ConfigError, preset
from mixlane.golden import run
from mixlane.sim_tb import stimulus

pytestmark = [pytest.mark.xdist_group("soc"),
              pytest.mark.skipif(shutil.which("riscv64-unknown-elf-gcc") is None,
                                 reason="needs gcc-riscv64-unknown-elf (scripts/setup.sh installs it)")]
pytest.importorskip("pythondata_cpu_vexriscv", reason="needs the RISC-V core: pip install 'mixlane[soc]'")

from mixlane.cli import main                                  # noqa: E402
from mixlane.soc.build import build_soc                       # noqa: E402
from mixlane.soc.program import compile_program, run_program  # noqa: E402
from mixlane.soc.stream import ops_program, parse_readouts    # noqa: E402

CH3 = preset("channel-3level")


@pytest.fixture(scope="session")      # session: other files' tests may run in between on this worker
def soc():
    return build_soc(CH3)                # the cache folder: the co-design stage below finds it there


def _stream(soc, ops, folder, name):
    src = folder / f"{name}.c"
    src.write_text(ops_program(soc.config, ops))
    res = run_program(soc, compile_program(soc, [src], folder / f"{name}.bin"))
    return res, parse_readouts(res.stdout, soc.config)


@pytest.mark.parametrize("scenario", ["random", "corners", "overflow", "exhaustive"])
def test_intrinsics_give_the_golden_results(soc, tmp_path, scenario):
    """Every read-out of a scenario's operation stream, issued by C through the intrinsics, equals the golden
    model's: every precision code, every lane level, corner operands, accumulator overflow."""
    seed = 3
    ops = stimulus.build(CH3, scenario, seed, 300)
    expected = run(CH3, ops).value
    res, got = _stream(soc, ops, tmp_path, scenario)
    assert res.exit_code == 0 and len(expected) > 0
    bad = np.flatnonzero(got != expected) if len(got) == len(expected) else [0]
    assert len(got) == len(expected) and not len(bad), (
        f"configuration {CH3.content_hash}, scenario {scenario}, seed {seed}: read-out {bad[0]}: "
        f"expected {expected[bad[0]] if len(expected) else None}, got {got[bad[0]] if len(got) > bad[0] else None}")


def test_intrinsics_on_a_multi_cycle_multi_accumulator_extension(tmp_path):
    """A multi-cycle architecture (the unit waits on the datapath's ready, idle only once drained) with four
    accumulators (run-time select helpers) and buffer depths that are not powers of two."""
    cfg = preset("bit-serial").replace(outputs=4)
    soc = build_soc(cfg, tmp_path / "soc", a_regs=48, w_regs=5, fast_build=True)
    ops = stimulus.build(cfg, "random", 11, 200)
    expected = run(cfg, ops).value
    res, got = _stream(soc, ops, tmp_path, "random")
    assert res.exit_code == 0 and len(expected) > 0 and np.array_equal(got, expected), (cfg.content_hash, got, expected)


def test_header_facts_and_info(soc, tmp_path):
    src = tmp_path / "info.c"
    src.write_text('#include <stdio.h>\n#include "mixlane_cfu.h"\nint main(void) {\n'
                   '  printf("%u %u %u %u\\n", (unsigned)mlx_info(0), (unsigned)mlx_info(1), (unsigned)mlx_info(2),'
                   ' (unsigned)mlx_info(3));\n  return mlx_info(MLX_INFO_CONFIG_HASH) == MLX_CONFIG_HASH ? 0 : 1;\n}\n')
    res = run_program(soc, compile_program(soc, [src], tmp_path / "info.bin"))
    assert res.exit_code == 0
    assert res.stdout.split() == [str(CH3.width), "64", "64", str(CH3.meta_bits)]


def _network(seed=5):
    pytest.importorskip("jax", reason="networks need the optional extra mixlane[codesign]")
    from mixlane.codesign import integer
    from mixlane.codesign.data import load
    from mixlane.codesign.infer import infer, plan
    from networks import random_network

    net = integer.to_integer(CH3, *random_network(CH3, seed, spec="cnn:4,8s2", classes=10))
    reds = plan(net)
    x = load("digits").x_test[:3]
    return net, reds, x, infer(net, reds, x, golden_run=True).logits


def test_network_runs_bit_exact_on_the_processor(soc, tmp_path):
    """A compiled network: every image's logits from the extension (every schedule), from the reference kernels
    and from the bit-serial kernels on the plain core equal the golden model's; the extension takes the fewest
    cycles, the multiply-add loops the most."""
    from mixlane.soc.network import run_network

    net, reds, x, logits = _network()
    runs = [run_network(soc, net, reds, x, logits, tmp_path, schedule=s)
            for s in ("resident", "weights", "activations", "streamed")]
    for r in runs:
        assert r.mismatches == 0 and r.logits.shape == logits.shape and np.array_equal(r.logits, logits)
        assert r.cycles.shape == (3, 3) and (r.cycles > 0).all()
    ref = run_network(soc, net, reds, x, logits, tmp_path, kind="rv32im")
    bits = run_network(soc, net, reds, x, logits, tmp_path, kind="bitserial")
    assert ref.mismatches == 0 and bits.mismatches == 0
    assert runs[0].cycles_per_inference < bits.cycles_per_inference < ref.cycles_per_inference


def test_a_broken_extension_is_caught_by_the_network_run(tmp_path):
    """One operator of the datapath's Verilog changed: the network run on that SoC reports mismatching images."""
    from mixlane.sim_tb.mutate import apply_site, enumerate_sites
    from mixlane.soc.network import run_network

    def flip_a_tree_operator(text: str) -> str:
        """The adder tree's first full-adder sum in column 4 (lanes 0 and 1): XOR becomes AND."""
        lines = text.splitlines()
        sites = [s for s in enumerate_sites(text) if s.module.endswith(".tree") and s.old == "^"
                 and "assign tree_l0_c4_s0 =" in lines[s.line - 1]]
        assert sites, "no such XOR in the reduction tree"
        return apply_site(text, sites[0])

    net, reds, x, logits = _network()
    broken = build_soc(CH3, tmp_path / "broken", edit=flip_a_tree_operator, fast_build=True)
    r = run_network(broken, net, reds, x, logits, tmp_path)
    assert r.mismatches > 0


@pytest.mark.parametrize("body, status, message", [
    ("int main(void) { return undefined_name; }", 2, "compiling"),
    ("int main(void) { volatile int x = 0; for (;;) x++; }", 3, "no exit after 20000 cycles"),
    ('int main(void) { __asm__ volatile(".word 0x0000007f"); return 0; }', 3, "illegal instruction at pc 0x4"),
    ("int main(void) { return *(volatile int *)0x10000000; }", 3, "bus error: read from unmapped address 0x10000000"),
    ('#include <stdio.h>\nint main(void) { printf("hi %d\\n", 6 * 7); return 5; }', 5, ""),
])
def test_soc_run_outcomes(soc, tmp_path, capsys, body, status, message):
    src = tmp_path / "prog.c"
    src.write_text(body + "\n")
    code = main(["soc", "run", "--preset", "channel-3level", "--build-dir", str(soc.folder), "--max-cycles", "20000",
                 "--cycles", str(src)])
    out, err = capsys.readouterr()
    assert code == status
    if status == 5:
        assert out == "hi 42\n" and "cycles:" in err
    else:
        lines = [ln for ln in err.splitlines() if ln.startswith("mixlane: error:")]
        assert len(lines) == 1 and message in lines[0], err
        if status == 2:
            assert "undefined_name" in err      # the compiler's own message is shown


def test_codesign_on_the_processor(soc, tmp_path):
    """``codesign`` with the SoC stage: the report's ``soc`` section, both baselines bit-exact, a breakdown that
    adds up, and the markdown section."""
    pytest.importorskip("jax", reason="co-design needs the optional extra mixlane[codesign]")
    import json

    from mixlane.codesign.flow import Options, codesign
    from mixlane.soc.codesign_stage import SocOptions, soc_stage

    opts = Options(model="cnn:4,8s2", epochs=2, qat_epochs=1, test_limit=20, calibration=64, rtl_images=0)
    rep = codesign(CH3, opts, tmp_path, log=lambda s: None, stages=(soc_stage(SocOptions(images=2)),))
    s = json.loads((tmp_path / "report.json").read_text())["soc"]
    assert s == json.loads(json.dumps(rep["soc"]))
    assert s["images_checked"] == 2 and s["mismatches"] == 0
    assert all(b["mismatches"] == 0 and b["images_checked"] == 2 for b in s["baselines"].values())
    assert set(s["baselines"]) == {"rv32im_int8", "int8_extension", "bitserial_sw"}
    assert s["speedup"]["vs_rv32im_int8"] > 1
    assert sum(s["breakdown"]["parts"].values()) == s["breakdown"]["cycles"] and min(s["breakdown"]["parts"].values()) > 0
    assert "## On the processor" in (tmp_path / "report.md").read_text()


def test_configurations_the_port_cannot_carry_are_one_line_errors():
    from mixlane.soc.extension import check_extension

    with pytest.raises(ConfigError, match="vector of subword sums"):
        check_extension(preset("default").replace(mac="sum_apart"), 64, 64)
    with pytest.raises(ConfigError, match="acc_width <= 32"):
        check_extension(preset("default").replace(acc_width=40), 64, 64)
    with pytest.raises(ConfigError, match="a_regs"):
        check_extension(preset("default"), 0, 64)
    from mixlane.soc.codesign_stage import SocOptions, soc_stage
    from mixlane.soc import SocError
    with pytest.raises(SocError, match="--soc-images"):
        soc_stage(SocOptions(images=0))


def test_soc_build_writes_the_design_and_the_programming_kit(soc, capsys):
    """``soc build`` into an existing build folder reuses the simulator and adds the synthesizable SoC."""
    code = main(["soc", "build", "--preset", "channel-3level", "-o", str(soc.folder)])
    assert code == 0, capsys.readouterr().err
    verilog = (soc.folder / "mixlane_soc.v").read_text()
    assert "module mixlane_soc(" in verilog and "VexRiscv core" in verilog and "mixlane_soc.extension.datapath" in verilog
    header = (soc.folder / "mixlane_cfu.h").read_text()
    assert f"#define MLX_CONFIG_HASH {int(CH3.content_hash[-8:], 16)}u" in header and "mlx_mac(" in header
    for name in ("crt0.S", "link.ld", "console.c", "mixlane_soc.h", "soc_sim"):
        assert (soc.folder / name).exists(), name


def test_sweep_step_soc(soc, tmp_path):
    """The ``soc`` sweep step: cycles on the processor as table columns (the SoC builds come from the cache)."""
    pytest.importorskip("jax", reason="co-design needs the optional extra mixlane[codesign]")
    from mixlane.sweep.run import run_sweep
    from mixlane.sweep.spec import parse_spec

    spec = parse_spec({"steps": ["soc"], "base": {"preset": "channel-3level"},
                       "options": {"soc": {"model": "cnn:4,8s2", "epochs": 2, "qat_epochs": 1, "soc_images": 1}}})
    (out,) = run_sweep(spec, tmp_path, jobs=1)
    assert out["status"] == "ok", out
    m = out["steps"][0]["metrics"]
    assert m["soc_cycles"] > 0 and m["soc_cycles_rv32im_int8"] > m["soc_cycles"]
    assert m["soc_speedup_vs_rv32im"] == pytest.approx(m["soc_cycles_rv32im_int8"] / m["soc_cycles"])
