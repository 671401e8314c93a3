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
    (tmp_path / "points" / h / "generate" / "result.json").unlink()
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
