"""Command line: exit codes, one-line errors, byte-identical generation, verify summary."""

import json
import subprocess
import sys

import pytest

from mixlane.cli import main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "mixlane", *args], capture_output=True, text=True)


@pytest.mark.parametrize("args, needle", [
    (["generate", "--set", "width=100", "-o", "x"], "width: 100 is not allowed"),
    (["generate", "--preset", "nope", "-o", "x"], "preset: 'nope' is not a preset"),
    (["generate", "--config", "missing.toml", "-o", "x"], "not found"),
    (["generate", "--set", "width", "-o", "x"], "KEY=VALUE"),
    (["verify", "--rtl", "missing.v"], "--rtl: 'missing.v' not found"),
    (["verify", "--set", "width=32", "--scenario", "bogus"], "scenario 'bogus' unknown"),
    (["verify", "--vectors", "0"], "--vectors: 0"),
    (["--plugin", "missing_arch.py", "presets"], "plugin: 'missing_arch.py' not found"),
    (["--plugin", "no_such_module_xyz", "presets"], "plugin: cannot import 'no_such_module_xyz'"),
    (["generate", "--set", "mac=bit_serial", "--set", "mac_options={\"serial\":\"3d\"}", "-o", "x"],
     "mac_options.serial: '3d' is not allowed"),
])
def test_bad_input_is_one_line(args, needle, tmp_path):
    res = subprocess.run([sys.executable, "-m", "mixlane", *args], capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mixlane: error:") and needle in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_presets_lists_all(capsys):
    from mixlane.config import PRESETS
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS)


def test_presets_json_has_rates_per_precision(capsys):
    from mixlane.config import PRESETS
    assert main(["presets", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in table] == list(PRESETS)
    rows = {row["name"]: row for row in table}
    assert rows["default"]["macs_per_cycle"] == {"1": 128, "2": 64, "4": 32}
    assert rows["int8-conventional"]["macs_per_cycle"] == {"8": 16}
    assert rows["multipass-124"]["macs_per_cycle"]["4"] == pytest.approx(32 / 3, rel=1e-5)
    assert rows["bit-serial"]["macs_per_cycle"]["8"] == 2 and rows["bit-serial"]["config"]["mac"] == "bit_serial"


def test_help_lists_the_architectures():
    res = run_cli("--help")
    assert res.returncode == 0
    for name in ("sum_together", "conventional", "multipass", "bit_serial", "bitfusion"):
        assert f"  {name}" in res.stdout


def test_generate_byte_identical(tmp_path):
    for d in ("a", "b"):
        assert main(["generate", "--preset", "channel-3level", "--set", "width=64", "-o", str(tmp_path / d)]) == 0
    va, vb = ((tmp_path / d / "mixlane_datapath.v").read_bytes() for d in ("a", "b"))
    assert va == vb and b"module mixlane_datapath" in va and b"/work/" not in va
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    assert cfg["width"] == 64 and cfg["precision_mode"] == "channel"


def test_toml_config_and_verify(tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text('width = 32\nprecisions = [2, 4]\nprecision_mode = "pattern"\n'
                    'patterns = [[[4, 8]], [[2, 8], [4, 4]]]\noutputs = 2\n')
    code = main(["verify", "--config", str(toml), "--vectors", "200", "--scenario", "random",
                 "--scenario", "corners", "-o", str(tmp_path / "v")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "PASS" in out and "checked" in out and "lane-MACs" in out
    assert (tmp_path / "v" / "results_icarus.xml").exists()


def test_verify_rtl_mismatch_exits_1(tmp_path, capsys):
    assert main(["generate", "--set", "width=32", "-o", str(tmp_path / "g")]) == 0
    src = (tmp_path / "g" / "mixlane_datapath.v").read_text()
    bad = src.replace("assign i__ready = ~ stall;", "assign i__ready = ~ stall;\n  // mutated")
    bad = bad.replace("$signed(acc_cur) + $signed(addend)", "$signed(acc_cur) - $signed(addend)")
    assert bad != src
    (tmp_path / "bad.v").write_text(bad)
    code = main(["verify", "--set", "width=32", "--rtl", str(tmp_path / "bad.v"), "--scenario", "corners",
                 "-o", str(tmp_path / "v")])
    captured = capsys.readouterr()
    assert code == 1
    assert "MISMATCH" in captured.out and "FAIL" in captured.err
    assert "expected" in captured.err and "seed 1" in captured.err
