"""mixlane sweep: spec validation, points, caching, failing and timed-out points, resume (generate and a
failing synth step keep it fast)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from mixlane.cli import main
from mixlane.sweep import SweepError
from mixlane.sweep.run import run_sweep
from mixlane.sweep.spec import load_spec, parse_spec, points

SPEC = {"steps": ["generate"], "base": {"preset": "default"},
        "axes": {"width": [32, 64]}, "zip": [{"precisions": [[1, 2, 4], [2, 4, 8]],
                                               "precision_mode": ["uniform", "channel"]}]}


def test_points_are_the_product_of_axes_and_zips():
    pts = points(parse_spec(SPEC))
    assert [p.fields for p in pts] == [
        {"width": 32, "precisions": [1, 2, 4], "precision_mode": "uniform"},
        {"width": 32, "precisions": [2, 4, 8], "precision_mode": "channel"},
        {"width": 64, "precisions": [1, 2, 4], "precision_mode": "uniform"},
        {"width": 64, "precisions": [2, 4, 8], "precision_mode": "channel"}]
    assert all(p.config is not None for p in pts)
    assert pts[1].config.channel_levels == (2, 4, 8) and pts[2].config.width == 64
    bad = points(parse_spec({**SPEC, "axes": {"width": [32, 48]}}))
    assert bad[2].config is None and bad[2].error.startswith("width: 48 is not allowed")


@pytest.mark.parametrize("change, message", [
    ({"stepz": []}, "stepz: unknown key"),
    ({"steps": ["generate", "simulate"]}, "'simulate' is not a step"),
    ({"steps": []}, "steps: expected a non-empty list"),
    ({"axes": {"widht": [32]}}, "axes.widht: not a configuration field"),
    ({"axes": {"width": []}}, "axes.width: expected a non-empty list"),
    ({"zip": [{"width": [32, 64], "outputs": [1]}]}, "equal lengths"),
    ({"axes": {"precisions": [[1, 2]]}}, "precisions: varied by more than one"),
    ({"options": {"verify": {"vectors": 10}}}, "options.verify: not a step of this sweep"),
    ({"steps": ["synth"], "options": {"synth": {"clock": 5}}}, "options.synth.clock: not an option"),
    ({"base": {"preset": "default", "colour": 1}}, "base.colour: not a configuration field"),
    ({"timeout": -1}, "timeout: -1 is not allowed"),
])
def test_spec_errors_name_the_key(change, message):
    with pytest.raises(SweepError, match=message):
        parse_spec({**SPEC, **change})


def test_bad_spec_file_is_one_line(tmp_path, capsys):
    (tmp_path / "s.toml").write_text("steps = [\n")
    assert main(["sweep", str(tmp_path / "s.toml"), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert "not valid TOML" in err and len(err.splitlines()) == 1
    assert main(["sweep", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "o")]) == 2


def test_rerun_runs_nothing_and_resumes_what_is_missing(tmp_path):
    spec = parse_spec({**SPEC, "axes": {"width": [32]}})
    first = run_sweep(spec, tmp_path, jobs=2)
    assert [o["status"] for o in first] == ["ok", "ok"] and not any(o["steps"][0]["cached"] for o in first)
    again = run_sweep(spec, tmp_path, jobs=2)
    assert all(o["steps"][0]["cached"] for o in again)
    assert [o["steps"][0]["metrics"] for o in again] == [o["steps"][0]["metrics"] for o in first]
    # an interrupted sweep: one point never finished -> only it runs
    h = points(spec)[1].config.content_hash
    next((tmp_path / "points" / h).glob("generate-*/result.json")).unlink()
    resumed = run_sweep(spec, tmp_path, jobs=1)
    assert [o["steps"][0]["cached"] for o in resumed] == [True, False]


def test_failing_and_timed_out_points_do_not_stop_the_sweep(tmp_path, capsys):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('steps = ["generate", "synth"]\n[base]\npreset = "default"\n[axes]\nwidth = [32, 64]\n'
                         '[options.synth]\nclock_ns = -1.0\n')
    assert main(["sweep", str(spec_file), "-o", str(tmp_path / "o"), "--jobs", "2"]) == 1
    table = json.loads((tmp_path / "o" / "results.json").read_text())
    assert [r["status"] for r in table] == ["failed", "failed"]
    assert all("synth: SynthError: --clock-ns" in r["error"] for r in table)
    assert all(r["verilog_lines"] > 100 for r in table)          # the generate step before it still counts
    con = sqlite3.connect(tmp_path / "o" / "results.sqlite")
    assert con.execute("SELECT COUNT(*) FROM points WHERE status = 'failed'").fetchone()[0] == 2
    con.close()
    spec = load_spec(spec_file)
    timed = run_sweep(parse_spec({**SPEC, "axes": {"width": [32]}, "timeout": 0.05}), tmp_path / "t")
    assert {o["status"] for o in timed} == {"timeout"} and "timeout" in timed[0]["error"]
    assert spec.steps == ("generate", "synth")


_VOLATILE = ("_seconds", "_cached")


def _stable(table):
    return [{k: v for k, v in r.items() if not k.endswith(_VOLATILE)} for r in table]


def test_ray_gives_the_same_table_as_local_processes(tmp_path):
    pytest.importorskip("ray", reason="the Ray executor needs mixlane[ray]")
    from mixlane.sweep.table import rows

    spec = parse_spec({**SPEC, "axes": {"width": [32, 48]}})     # width 48: an invalid point in both
    pts = points(spec)
    local = rows(pts, run_sweep(spec, tmp_path / "local", jobs=2))
    ray_ = rows(pts, run_sweep(spec, tmp_path / "ray", jobs=2, executor="ray"))
    assert _stable(local) == _stable(ray_)
    assert [r["status"] for r in ray_] == ["ok", "ok", "invalid", "invalid"]
    assert not any(r["generate_cached"] for r in ray_ if r["status"] == "ok")


def test_html_report_and_pareto_front(tmp_path):
    import numpy as np

    from mixlane.sweep.html import pareto_front, write_html

    assert pareto_front(np.array([1, 2, 3, 1.5]), np.array([3, 1, 2, 0.5])).tolist() == [0, 3]
    assert pareto_front(np.array([1, 2, 3]), np.array([1, 2, 3]), minimize_y=False).tolist() == [0, 1, 2]
    table = [{"point": i, "status": "ok", "mac": m, "width": w, "precision_mode": mode, "area_um2": a,
              "macs_per_cycle_2b": mc, "pj_per_mac_2b": e, "area_precision_decoder_um2": 900.0,
              "area_aligner_um2": 100.0 * i, "acc_mixed": 0.9 + 0.01 * i, "cycles": 1000 - 100 * i}
             for i, (m, w, mode, a, mc, e) in enumerate([("sum_together", 64, "uniform", 1e5, 32, 1.0),
                                                          ("bit_serial", 64, "uniform", 5e4, 8, 2.0),
                                                          ("sum_together", 128, "channel", 2e5, 64, 0.9)])]
    table.append({"point": 3, "status": "invalid", "error": "width: 48 is not allowed"})
    page = write_html(table, tmp_path)
    text = page.read_text()
    for name in ("pareto_area_macs", "pareto_energy_area", "codesign_energy_accuracy", "efficiency_per_precision",
                 "overhead_per_mode", "efficiency_vs_ideal"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000 and f'src="{name}.png"' in text
    assert text.count("<tr>") == 5 and "width: 48 is not allowed" in text


def _chromium():
    import shutil

    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


@pytest.mark.skipif(_chromium() is None, reason="no headless Chromium installed (Debian: apt-get install chromium)")
def test_html_report_renders_in_a_headless_browser(tmp_path):
    import subprocess

    from mixlane.sweep.html import write_html

    table = [{"point": 0, "status": "ok", "mac": "sum_together", "width": 64, "precision_mode": "uniform",
              "area_um2": 1e5, "macs_per_cycle_2b": 32, "pj_per_mac_2b": 1.0},
             {"point": 1, "status": "ok", "mac": "bit_serial", "width": 64, "precision_mode": "uniform",
              "area_um2": 5e4, "macs_per_cycle_2b": 8, "pj_per_mac_2b": 2.0}]
    page = write_html(table, tmp_path)
    dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                          "--no-first-run", "--disable-background-networking", "--disable-component-update",
                          "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
                          "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True, timeout=120).stdout
    assert 'data-check="images-ok 4 2"' in dom, dom[-2000:]


def test_report_command_reads_sweep_folders(tmp_path, capsys):
    spec_file = tmp_path / "s.toml"
    spec_file.write_text('steps = ["generate"]\n[base]\npreset = "default"\n[axes]\nwidth = [32]\n')
    assert main(["sweep", str(spec_file), "-o", str(tmp_path / "sw")]) == 0
    assert (tmp_path / "sw" / "report.html").exists()
    assert main(["report", str(tmp_path / "sw"), "-o", str(tmp_path / "rep")]) == 0
    assert "sum_together" in (tmp_path / "rep" / "report.html").read_text()


@pytest.mark.parametrize("name", ["taxonomy.toml", "codesign_sweep.toml", "sweep_widths.toml", "soc_sweep.toml"])
def test_example_specs_are_valid(name):
    from pathlib import Path

    pts = points(load_spec(Path(__file__).resolve().parents[1] / "examples" / name))
    assert pts and all(p.config is not None for p in pts), [p.error for p in pts if p.config is None]


def test_points_that_are_the_same_configuration_run_once(tmp_path):
    # an axis listing one value twice: two points, one configuration
    spec = parse_spec({"steps": ["generate"], "base": {"preset": "default", "width": 32},
                       "axes": {"outputs": [1, 1]}})
    res = run_sweep(spec, tmp_path, jobs=2)
    assert [o["point"] for o in res] == [0, 1] and res[0]["steps"] == res[1]["steps"]
    assert len(list((tmp_path / "points").iterdir())) == 1
