"""OpenSTA on a mapped netlist: critical path and Fmax (:func:`sta_timing`), vectorless power
(:func:`sta_power_vectorless`), and the pieces the activity-based power measurement reuses
(:func:`sta_vars`, :func:`run_sta`, :func:`parse_sta_power`).

Scripts: ``synth/scripts/sta_setup.tcl`` (liberty, netlist, clock; rendered as ``${SETUP}``) with
``sta_timing.tcl`` or ``sta_power.tcl``. Every run writes its scripts and log beside the results; a log with an
``Error`` line, unlinked (black-boxed) cells, no ``mixlane: done`` marker or no linked cells raises
:class:`~mixlane.synth.tools.SynthError` (this OpenSTA exits 0 even after an error).

Units: time in ns, frequency in MHz, power in W, activity in transitions per clock period.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

from .liberty import liberty_path
from .tools import DEFAULT_CLOCK_NS, DEFAULT_STA, TOP_NAME, SynthError, find_tool, render_script, stage_file

__all__ = [
    "parse_sta_problems",
    "run_sta",
    "sta_vars",
    "parse_sta_timing",
    "sta_timing",
    "parse_sta_power",
    "sta_power_vectorless",
]


def _tcl_word(value: str | Path) -> str:
    text = str(value)
    if re.fullmatch(r"[\w./+-]+", text):
        return text
    if "{" in text or "}" in text or "\\" in text:
        raise SynthError(f"path {text!r}: braces and backslashes are not supported in OpenSTA file names")
    return "{" + text + "}"


def parse_sta_problems(text: str) -> list[str]:
    """Lines of an OpenSTA log that mean the run cannot be trusted (errors, unlinked/black-boxed cells)."""
    problems = []
    for line in text.splitlines():
        s = line.strip()
        if re.match(r"(Error|ERROR)\b", s) or "Error:" in s:
            problems.append(s)
        elif s.startswith("Warning") and ("not found" in s or "black box" in s or "unlinked" in s.lower()):
            problems.append(s)
    return problems


def run_sta(script: str, out_dir: Path, variables: dict[str, Any], sta: str, timeout: float | None) -> tuple[str, Path]:
    """Render ``script`` and its set-up script into ``out_dir``, run OpenSTA there; ``(log text, log path)``.

    Raises :class:`~mixlane.synth.tools.SynthError` for a problem line (:func:`parse_sta_problems`), a run that
    stopped before ``mixlane: done`` or a linked design without cells.
    """
    exe = find_tool(sta)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = Path(script).stem
    setup = f"{stem}_setup.tcl"
    (out_dir / setup).write_text(render_script("sta_setup.tcl", variables))
    (out_dir / script).write_text(render_script(script, {**variables, "SETUP": setup}))
    log = out_dir / f"{stem}.log"
    try:
        proc = subprocess.run([exe, "-no_init", "-no_splash", "-exit", script], cwd=out_dir,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SynthError(f"{sta} {script}: timed out after {timeout} s") from None
    text = proc.stdout  # stderr interleaved: the first problem line is the cause, not a consequence
    log.write_text(text)
    problems = parse_sta_problems(text)
    if problems:
        raise SynthError(f"{sta} {script}: {problems[0]} (log: {log})")
    if "mixlane: done" not in text:
        last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "no output")
        raise SynthError(f"{sta} {script} stopped early (exit {proc.returncode}): {last} (log: {log})")
    m = re.search(r"mixlane: linked (\d+) cells", text)
    if not m or int(m.group(1)) == 0:
        raise SynthError(f"{sta} {script}: the linked design has no cells (log: {log})")
    return text, log


def sta_vars(netlist: str | Path, liberty: str | Path | None, clock_ns: float, out_dir: Path,
              top: str, clock_port: str) -> dict[str, Any]:
    """Placeholders of ``sta_setup.tcl`` (liberty, netlist, top, clock port, period); a ``.gz`` liberty is
    decompressed into ``out_dir``. One-line error for a missing file or a non-positive period."""
    net = Path(netlist).resolve()
    if not net.is_file():
        raise SynthError(f"netlist {str(netlist)!r} not found; run synthesize() first")
    lib = liberty_path(liberty)
    if lib.name.endswith(".gz"):
        out_dir.mkdir(parents=True, exist_ok=True)
        lib = out_dir / stage_file(lib, out_dir)
    if not clock_ns > 0:
        raise SynthError(f"clock_ns: {clock_ns!r} is not allowed; use a positive period in ns")
    return {"LIBERTY": _tcl_word(lib.resolve()), "NETLIST": _tcl_word(net), "TOP": top,
            "CLOCK_PORT": clock_port, "PERIOD_NS": f"{clock_ns:g}"}


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def parse_sta_timing(text: str) -> dict[str, Any]:
    """Parse the first ``report_checks -path_delay max`` path of an OpenSTA log.

    Returns ``{"startpoint", "endpoint", "path_group", "arrival_ns", "required_ns", "slack_ns", "met",
    "path", "tns_ns"}``; ``path`` lists the data-path points ``{"delay_ns", "time_ns", "edge", "point"}``
    (whatever extra ``-fields`` columns precede them are skipped). Raises :class:`SynthError` when the
    log has no path.
    """
    start = re.search(r"^Startpoint:\s*(.+)$", text, re.M)
    if not start:
        if re.search(r"No paths found", text):
            raise SynthError("OpenSTA found no constrained path (is the clock port right?)")
        raise SynthError("OpenSTA log has no report_checks path (Startpoint missing)")
    body = text[start.start():]
    end = re.search(r"^Endpoint:\s*(.+)$", body, re.M)
    group = re.search(r"^Path Group:\s*(.+)$", body, re.M)
    arrival = re.search(rf"^\s*({_NUM})\s+data arrival time", body, re.M)
    required = re.search(rf"^\s*({_NUM})\s+data required time", body, re.M)
    slack = re.search(rf"^\s*({_NUM})\s+slack \((MET|VIOLATED)\)", body, re.M)
    if not (arrival and slack):
        raise SynthError("OpenSTA report_checks output has no arrival time or slack")
    path = []
    head = body[:arrival.start()]
    for line in head.splitlines():
        m = re.match(rf"^\s*((?:{_NUM}\s+)*?)({_NUM})\s+({_NUM})\s+([v^])\s+(.+)$", line)
        if m:
            path.append({"delay_ns": float(m.group(2)), "time_ns": float(m.group(3)), "edge": m.group(4),
                         "point": m.group(5).strip()})
    tns = re.search(rf"^tns\s+({_NUM})", text, re.M)
    return {"startpoint": start.group(1).strip(), "endpoint": end.group(1).strip() if end else None,
            "path_group": group.group(1).strip() if group else None,
            "arrival_ns": float(arrival.group(1)), "required_ns": float(required.group(1)) if required else None,
            "slack_ns": float(slack.group(1)), "met": slack.group(2) == "MET", "path": path,
            "tns_ns": float(tns.group(1)) if tns else None}


def sta_timing(netlist: str | Path, liberty: str | Path | None = None, clock_ns: float = DEFAULT_CLOCK_NS,
               out_dir: str | Path | None = None, *, sta: str = DEFAULT_STA, top: str = TOP_NAME,
               clock_port: str = "clk", timeout: float | None = 600) -> dict[str, Any]:
    """Critical path and worst slack of a mapped netlist with OpenSTA; ``fmax_mhz = 1000 / (period - slack)``.

    ``out_dir`` (default: the netlist's folder) receives ``sta_timing.tcl``, its set-up script and
    ``sta_timing.log``. Raises :class:`SynthError` (one line) for a missing tool or file, any ``Error``
    in the log, or unlinked (black-boxed) cells.
    """
    out = Path(out_dir).resolve() if out_dir is not None else Path(netlist).resolve().parent
    variables = sta_vars(netlist, liberty, clock_ns, out, top, clock_port)
    text, log = run_sta("sta_timing.tcl", out, variables, sta, timeout)
    timing = parse_sta_timing(text)
    critical = clock_ns - timing["slack_ns"]
    if critical <= 0:
        raise SynthError(f"OpenSTA slack {timing['slack_ns']} ns is not below the period {clock_ns} ns")
    return {"method": "static", "clock_ns": clock_ns, **timing, "critical_path_ns": critical,
            "fmax_mhz": 1000.0 / critical, "log": str(log)}


def parse_sta_power(text: str) -> dict[str, Any]:
    """Parse ``report_power``: per group and total internal/switching/leakage/total power in W."""
    groups: dict[str, dict[str, float]] = {}
    for m in re.finditer(rf"^(\w+)\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})\s+({_NUM})%\s*$", text, re.M):
        groups[m.group(1).lower()] = {"internal_w": float(m.group(2)), "switching_w": float(m.group(3)),
                                      "leakage_w": float(m.group(4)), "total_w": float(m.group(5))}
    if "total" not in groups:
        raise SynthError("OpenSTA log has no report_power Total line")
    total = groups.pop("total")
    return {**total, "groups": groups}


def sta_power_vectorless(netlist: str | Path, liberty: str | Path | None = None,
                         clock_ns: float = DEFAULT_CLOCK_NS, activity: float = 0.1,
                         out_dir: str | Path | None = None, *, duty: float = 0.5, sta: str = DEFAULT_STA,
                         top: str = TOP_NAME, clock_port: str = "clk",
                         timeout: float | None = 600) -> dict[str, Any]:
    """Vectorless power: every net toggles ``activity`` times per clock period, high ``duty`` of the time.

    Returns ``{"method": "vectorless", "activity", "duty", "clock_ns", "internal_w", "switching_w",
    "leakage_w", "total_w", "groups", "log"}`` (W). Errors as :func:`sta_timing`.
    """
    if not (activity >= 0 and 0 <= duty <= 1):
        raise SynthError(f"activity={activity!r}, duty={duty!r}: use activity >= 0 and 0 <= duty <= 1")
    out = Path(out_dir).resolve() if out_dir is not None else Path(netlist).resolve().parent
    variables = {**sta_vars(netlist, liberty, clock_ns, out, top, clock_port),
                 "ACTIVITY": f"{activity:g}", "DUTY": f"{duty:g}"}
    text, log = run_sta("sta_power.tcl", out, variables, sta, timeout)
    return {"method": "vectorless", "activity": activity, "duty": duty, "clock_ns": clock_ns,
            **parse_sta_power(text), "log": str(log)}
