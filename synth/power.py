"""Power from simulated switching activity: golden workload -> gate-level simulation -> VCD toggles -> OpenSTA.

Steps of :func:`measure_power` (every file lands in ``out_dir``, beside its log):

1. **Workload** (:func:`mixlane.synth.workload.workload_ops`): random activations and weights at one precision,
   a fraction of the activations zero (ReLU-like), back-to-back ACCs with a READ_LOAD every 16 operations; the
   golden model (:func:`mixlane.golden.run`) gives the expected results.
2. **Gate-level simulation** with Icarus: the mapped netlist, the library's Verilog cell models and a plain
   Verilog testbench (``synth/scripts/power_tb.v``) reading the operation stream with ``$readmemh``. It dumps a
   VCD of the netlist's nets for a short window after warm-up only, and writes every result it sees; they
   must equal the golden results (:class:`SynthError` otherwise: a power number from a broken netlist is
   worthless). Default: zero-delay simulation (functional transitions only); ``glitches=True`` uses the cell
   models' specify delays (``-gspecify``), which adds glitches with the models' fixed, load-independent delays.
3. **Toggle counting** (:func:`mixlane.synth.vcd.parse_vcd`, streaming): transitions per net bit per clock
   period and the fraction of time high.
4. **OpenSTA** (``synth/scripts/sta_power_activity.tcl``): every cell output pin annotated with the activity of
   the net it drives (``sta::set_power_pin_activity``), every data input port with its own, then
   ``report_power``. This OpenSTA (Debian 2019 snapshot) re-propagates activities through each cell's logic
   function before every report and overwrites annotations on outputs reachable from an input (tested: an
   annotated NAND output kept its propagated value), so the script runs on a copy of the liberty whose
   output pins have themselves as function (:func:`mixlane.synth.liberty.activity_liberty`). That copy also puts
   internal power on one documented model (mean rise/fall energy per transition, input arcs averaged: current
   OpenSTA's model with equal arc weights); the 2019 build's own model counts about twice the internal energy.
   Self-checks: uniform annotation must equal ``set_power_activity -global`` at the same activity (the
   annotation took effect), and switching and leakage power must equal those of the original liberty.
5. **Vectorless figures** for comparison, clearly labelled: ``vectorless`` (every net at one activity,
   same power model as the measurement) and ``vectorless_native`` (:func:`mixlane.synth.sta_power_vectorless`
   on the original liberty, the 2019 build's internal-power model).

This module holds the steps' glue (ports, testbench, simulation, result check, the activity run) and
:func:`missing_power_tools`; the workload, VCD, liberty and OpenSTA pieces are their own modules.

Units: power in W, energy in pJ, activity in transitions per clock period (OpenSTA's convention), time in ns.
Energy per MAC = total power x clock period / MACs per cycle, where MACs per cycle counts the element
products of the ACC operations in the measured window (READ_LOAD cycles do no MAC: 15/16 of the elements
per register with one READ_LOAD every 16 operations).
"""

from __future__ import annotations

import math
import re
import subprocess
import time
from pathlib import Path
from typing import Any

from .liberty import activity_liberty, cell_models_path, liberty_path
from .sta import parse_sta_power, run_sta, sta_power_vectorless, sta_vars
from .tools import DEFAULT_CLOCK_NS, DEFAULT_STA, TOP_NAME, SynthError, find_tool, render_script
from .vcd import parse_vcd
from .workload import payload_fields, workload_macs, workload_ops, write_stimulus

__all__ = [
    "RESET_CYCLES",
    "netlist_ports",
    "measure_power",
    "missing_power_tools",
]


RESET_CYCLES = 4

_TOOL_HINTS = {"iverilog": "install the Debian package iverilog (apt-get install iverilog)",
               "vvp": "install the Debian package iverilog (apt-get install iverilog)"}


def _tool(name: str) -> str:
    try:
        return find_tool(name)
    except SynthError:
        hint = _TOOL_HINTS.get(Path(name).name, "install it or pass its path")
        raise SynthError(f"{name}: not found; {hint}") from None


# ----------------------------------------------------------------------------------- ports, testbench, results
def _expected_ports(cfg: Any) -> dict[str, tuple[str, int]]:
    ports = {"clk": ("input", 1), "rst": ("input", 1), "i__valid": ("input", 1), "o__ready": ("input", 1),
             "i__ready": ("output", 1), "o__valid": ("output", 1),
             "o__data": ("output", cfg.architecture.result_width(cfg))}
    ports.update({name: ("input", width) for name, width in payload_fields(cfg)})
    if cfg.sel_bits:
        ports["o__sel"] = ("output", cfg.sel_bits)
    return ports


def netlist_ports(netlist: str | Path, top: str = TOP_NAME) -> dict[str, tuple[str, int]]:
    """Ports of module ``top`` in a (Yosys-written) Verilog netlist: name -> (direction, width)."""
    text = Path(netlist).read_text(errors="replace")
    m = re.search(rf"^\s*module\s+\\?{re.escape(top)}\s*\(", text, re.M)
    if not m:
        raise SynthError(f"{netlist}: no module {top!r}")
    end = text.find("endmodule", m.end())
    body = text[m.end(): end if end >= 0 else len(text)]
    ports = {}
    for d in re.finditer(r"^\s*(input|output|inout)\s+(?:wire\s+|reg\s+)?(?:\[\s*(\d+)\s*:\s*(\d+)\s*\]\s*)?"
                         r"\\?([^\s;]+)\s*;", body, re.M):
        width = abs(int(d.group(2)) - int(d.group(3))) + 1 if d.group(2) else 1
        ports[d.group(4)] = (d.group(1), width)
    return ports


def _check_ports(cfg: Any, netlist: Path, top: str) -> dict[str, tuple[str, int]]:
    got = netlist_ports(netlist, top)
    want = _expected_ports(cfg)
    for name, spec in want.items():
        if got.get(name) != spec:
            have = got.get(name)
            is_ = f"{have[0]} {have[1]} bits" if have else "missing"
            raise SynthError(f"{netlist.name}: port {name} is {is_}, the configuration needs {spec[0]} {spec[1]} "
                             f"bits (netlist of another configuration?)")
    extra = sorted(set(got) - set(want))
    if extra:
        raise SynthError(f"{netlist.name}: unexpected port {extra[0]} (netlist of another configuration?)")
    return got


def _render_testbench(cfg: Any, out: Path, *, top: str, n_ops: int, word_bits: int, clock_ns: float,
                      warmup_cycles: int, window_cycles: int, max_cycles: int) -> Path:
    ports = _expected_ports(cfg)
    decls, port_map = [], []
    for name, (direction, width) in ports.items():
        if name in ("clk", "rst"):
            continue
        rng = f"[{width - 1}:0] " if width > 1 else ""
        decls.append(f"  {'reg' if direction == 'input' else 'wire'} {rng}{name};")
    for name in ports:
        port_map.append(f"    .{name}({name})")
    drive = 0.02 * clock_ns
    variables = {
        "TOP": top, "DECLS": "\n".join(decls), "PORT_MAP": ",\n".join(port_map),
        "PAYLOAD": ", ".join(name for name, _ in payload_fields(cfg)), "WORD_BITS": word_bits,
        "N_OPS": n_ops, "MAX_CYCLES": max_cycles, "HALF_NS": f"{clock_ns / 2:.6g}", "DRIVE_NS": f"{drive:.6g}",
        "SAMPLE_NS": f"{clock_ns - drive:.6g}", "RESET_CYCLES": RESET_CYCLES, "WARMUP_CYCLES": warmup_cycles,
        "WINDOW_CYCLES": window_cycles, "STIM_FILE": "stimulus.hex", "RESULTS_FILE": "results.txt",
        "VCD_FILE": "window.vcd", "OUT_SEL": "o__sel" if cfg.sel_bits else "1'b0",
    }
    path = out / "power_tb.v"
    path.write_text(render_script("power_tb.v", variables))
    return path


def _run(cmd: list[str], cwd: Path, log: Path, what: str, timeout: float | None) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SynthError(f"{what}: timed out after {timeout} s (log: {log})") from None
    log.write_text(proc.stdout)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
        err = next((ln for ln in lines if re.search(r"error|syntax|unknown|not found", ln, re.I)), None)
        err = err or (lines[-1] if lines else "no output")
        raise SynthError(f"{what} failed (exit {proc.returncode}): {err} (log: {log})")
    return proc.stdout


def _read_results(path: Path, data_width: int, signed: bool = True) -> dict[str, Any]:
    if not path.is_file():
        raise SynthError(f"gate-level simulation wrote no results ({path})")
    results, window, end = [], {}, None
    for line in path.read_text().splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "R" and len(parts) == 3:
            sel, data = parts[1], parts[2]
            if re.search(r"[^0-9a-fA-F]", sel + data):
                results.append((None, None, line))
                continue
            value = int(data, 16)
            if signed and value >= 1 << (data_width - 1):
                value -= 1 << data_width
            results.append((int(sel, 16), value, line))
        elif parts[0] in ("W0", "W1"):
            window[parts[0]] = int(parts[1])
        elif parts[0] in ("DONE", "TIMEOUT"):
            end = (parts[0], int(parts[1]))
    if end is None:
        raise SynthError(f"gate-level simulation stopped early: no DONE line in {path}")
    if end[0] == "TIMEOUT":
        raise SynthError(f"gate-level simulation timed out after {end[1]} cycles: the netlist stopped "
                         f"accepting operations (i__ready low?) ({path})")
    return {"results": results, "window": window, "cycles": end[1]}


def _check_results(cfg: Any, ops: Any, sim: dict[str, Any], path: Path, hint: str = "") -> int:
    from mixlane.golden import run

    exp = run(cfg, ops)
    got = sim["results"]
    n_exp = len(exp.value)
    bad = []
    for k in range(min(n_exp, len(got))):
        s, v, _ = got[k]
        if s != int(exp.sel[k]) or v != int(exp.value[k]):
            bad.append(k)
    if bad or len(got) != n_exp:
        if bad:
            k = bad[0]
            s, v, line = got[k]
            what = (f"result {k} (operation {int(exp.index[k])}): got "
                    f"{line.split(maxsplit=1)[1] if s is None else f'sel {s} value {v}'}, "
                    f"expected sel {int(exp.sel[k])} value {int(exp.value[k])} ({len(bad)} of {n_exp} differ)")
        else:
            what = f"{len(got)} results, expected {n_exp}"
        raise SynthError(f"gate-level results differ from the golden model: {what}; the netlist is broken"
                         f"{hint} ({path})")
    return n_exp


# ------------------------------------------------------------------------------------------------ flow
def _sta_marker(text: str, pattern: str, log: Path) -> re.Match:
    m = re.search(pattern, text, re.M)
    if not m:
        raise SynthError(f"OpenSTA activity script printed no {pattern.split('(')[0].strip()!r} line (log: {log})")
    return m


def _between(text: str, begin: str, end: str, log: Path) -> str:
    i, j = text.find(begin), text.find(end)
    if i < 0 or j < i:
        raise SynthError(f"OpenSTA activity script printed no {begin!r} block (log: {log})")
    return text[i:j]


def measure_power(cfg: Any, netlist: str | Path, out_dir: str | Path, *, liberty: str | Path | None = None,
                  cell_models: str | Path | None = None, clock_ns: float = DEFAULT_CLOCK_NS, precision: int | None,
                  zero_fraction: float = 0.5, n_ops: int = 400, seed: int = 1, window_cycles: int = 256,
                  warmup_cycles: int = 32, glitches: bool = False, vectorless_activity: float = 0.1,
                  min_annotated: float = 0.99, top: str = TOP_NAME, clock_port: str = "clk",
                  sta: str = DEFAULT_STA, iverilog: str = "iverilog", vvp: str = "vvp",
                  timeout: float | None = 1200, mix: dict[int, float] | None = None) -> dict[str, Any]:
    """Power of a mapped netlist under a golden workload, from simulated switching activity (OpenSTA).

    ``cfg`` is the netlist's :class:`mixlane.config.Config`; ``netlist`` the mapped, flattened netlist of
    :func:`mixlane.synth.synthesize`; ``out_dir`` receives the stimulus, testbench, VCD, results, scripts and
    logs. ``liberty`` defaults to OSU 0.18 um and ``cell_models`` to its Verilog models. The workload is
    :func:`~mixlane.synth.workload.workload_ops` (``precision`` or ``mix``, ``zero_fraction``, ``n_ops``, ``seed``); the VCD covers
    ``window_cycles`` cycles after ``warmup_cycles`` (both within ``n_ops``). ``glitches`` simulates with the
    cell models' specify delays instead of zero delay.

    Returns a JSON-able dict: ``method`` ("simulated activity"), ``simulation`` ("zero-delay" or
    "specify delays"), ``precision``, ``mix``, ``macs_per_acc_op`` (element products per ACC of the window's
    operations), ``macs_per_acc_cycle`` (element products per cycle of those ACCs run back to back), ``zero_fraction``, ``zeros_applied`` (False for bipolar 1-bit),
    ``clock_ns``, ``window_cycles``, ``window_ops`` ([first, last) operation indices), ``elements_per_register``,
    ``macs_per_cycle`` (in the window), ``results_checked`` (results equal to the golden model's),
    ``annotated_fraction`` (cell output pins annotated from the VCD), ``driver_pins``, ``mean_activity``
    (over those pins), ``nets_with_x``, ``internal_w``, ``switching_w``, ``leakage_w``, ``total_w``,
    ``groups`` (report_power's sequential/combinational/... rows), ``energy_per_cycle_pj``, ``pj_per_mac``,
    ``vectorless`` (every net at ``vectorless_activity``, same power model as the measurement) and
    ``vectorless_native`` (:func:`mixlane.synth.sta_power_vectorless`, original liberty): for comparison only,
    neither is this workload; ``liberty_rewrite`` (counts from :func:`~mixlane.synth.liberty.activity_liberty`), ``files`` and
    ``seconds`` per step. Raises :class:`SynthError` (one line) for missing tools or files, a netlist whose
    ports or results do not match the configuration and the golden model, or a failed self-check.
    """
    from mixlane.golden import op_cycles

    t_start = time.perf_counter()
    seconds: dict[str, float] = {}
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    net = Path(netlist).resolve()
    if not net.is_file():
        raise SynthError(f"netlist {str(netlist)!r} not found; run synthesize() first")
    if not clock_ns > 0:
        raise SynthError(f"clock_ns: {clock_ns!r} is not allowed; use a positive period in ns")
    if window_cycles < 1 or warmup_cycles < 1 or warmup_cycles + window_cycles > n_ops:
        raise SynthError(f"window: warmup_cycles={warmup_cycles} + window_cycles={window_cycles} must be positive "
                         f"and fit in n_ops={n_ops}")
    lib = liberty_path(liberty)
    models = cell_models_path(liberty, cell_models)
    iverilog_exe, vvp_exe = _tool(iverilog), _tool(vvp)
    find_tool(sta)
    _check_ports(cfg, net, top)

    # 1. workload
    t0 = time.perf_counter()
    ops = workload_ops(cfg, precision=precision, zero_fraction=zero_fraction, n_ops=n_ops, seed=seed, mix=mix)
    word_bits = write_stimulus(cfg, ops, out / "stimulus.hex")
    cycles_per_op = op_cycles(cfg, ops.op, ops.meta)
    seconds["workload"] = time.perf_counter() - t0

    # 2. gate-level simulation
    t0 = time.perf_counter()
    tb = _render_testbench(cfg, out, top=top, n_ops=len(ops), word_bits=word_bits, clock_ns=clock_ns,
                           warmup_cycles=warmup_cycles, window_cycles=window_cycles,
                           max_cycles=4 * int(cycles_per_op.sum()) + 64)
    for stale in ("results.txt", "window.vcd"):
        (out / stale).unlink(missing_ok=True)
    compile_cmd = [iverilog_exe, "-g2005", "-o", "power_tb.vvp", "-s", "power_tb"]
    if glitches:
        compile_cmd += ["-gspecify", "-Ttyp"]
    _run(compile_cmd + [tb.name, str(net), str(Path(models).resolve())], out, out / "iverilog.log",
         "iverilog (testbench + netlist + cell models)", timeout)
    seconds["compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    _run([vvp_exe, "-n", "power_tb.vvp"], out, out / "vvp.log", "vvp (gate-level simulation)", timeout)
    sim = _read_results(out / "results.txt", cfg.architecture.result_width(cfg), cfg.architecture.result_signed(cfg))
    checked = _check_results(cfg, ops, sim, out / "results.txt",
                             " (or misses timing at this clock: glitches=True simulates the cell delays)"
                             if glitches else "")
    seconds["simulate"] = time.perf_counter() - t0
    if "W0" not in sim["window"] or "W1" not in sim["window"]:
        raise SynthError(f"gate-level simulation did not reach the end of the window ({out / 'results.txt'})")
    first, last = sim["window"]["W0"], sim["window"]["W1"]
    macs = workload_macs(cfg, ops, first, last)
    # the operations accepted in the window take window_cycles cycles, give or take the one in flight at each end
    slack = int(cycles_per_op.max()) - 1
    if last <= first or abs(macs["cycles"] - window_cycles) > slack:
        raise SynthError(f"the window accepted {last - first} operations of {macs['cycles']} cycles in "
                         f"{window_cycles} cycles: the netlist stalled with o__ready high ({out / 'results.txt'})")

    # 3. toggles
    t0 = time.perf_counter()
    vcd = parse_vcd(out / "window.vcd")
    cycles = vcd.cycles(clock_ns)
    if not math.isclose(cycles, window_cycles, rel_tol=1e-6):
        raise SynthError(f"VCD window is {cycles:g} clock periods, expected {window_cycles} ({out / 'window.vcd'})")
    activity = vcd.activity(clock_ns)
    with open(out / "activity.tsv", "w") as fh:
        for name, (a, d) in sorted(activity.items()):
            fh.write(f"{name}\t{a:.6g}\t{d:.6g}\n")
    nets_with_x = sum(vcd.unknown)
    seconds["vcd"] = time.perf_counter() - t0

    # 4. OpenSTA on the activity liberty
    t0 = time.perf_counter()
    act_lib = out / "activity_model.lib"
    lib_counts = activity_liberty(lib, act_lib)
    variables = {**sta_vars(net, act_lib, clock_ns, out, top, clock_port), "ACTIVITY_FILE": "activity.tsv",
                 "CHECK_ACTIVITY": f"{vectorless_activity:g}"}
    text, log = run_sta("sta_power_activity.tcl", out, variables, sta, timeout)
    m = _sta_marker(text, r"^mixlane: driver pins (\d+) annotated (\d+) unconnected (\d+)", log)
    drivers, annotated = int(m.group(1)), int(m.group(2))
    missing = _sta_marker(text, r"^mixlane: missing(.*)$", log).group(1).strip()
    chk = _sta_marker(text, r"^mixlane: check uniform (\S+) global (\S+)", log)
    uniform, glob = float(chk.group(1)), float(chk.group(2))
    mean_act = float(_sta_marker(text, r"^mixlane: mean activity (\S+)", log).group(1))
    measured = parse_sta_power(_between(text, "mixlane: measured begin", "mixlane: measured end", log))
    vect_same = parse_sta_power(_between(text, "mixlane: vectorless begin", "mixlane: vectorless end", log))
    seconds["sta"] = time.perf_counter() - t0
    if drivers == 0:
        raise SynthError(f"OpenSTA found no cell output pins (log: {log})")
    if not math.isclose(uniform, glob, rel_tol=1e-5, abs_tol=1e-15):
        raise SynthError(f"activity annotation did not take effect in this OpenSTA: uniform annotation gives "
                         f"{uniform:.6g} W, global activity {glob:.6g} W (log: {log})")
    fraction = annotated / drivers
    if fraction < min_annotated:
        raise SynthError(f"only {annotated} of {drivers} cell output nets found in the VCD (e.g. {missing}); "
                         f"net names do not match (log: {log})")

    # 5. vectorless with OpenSTA's own model (original liberty): switching and leakage must not change
    t0 = time.perf_counter()
    vect = sta_power_vectorless(net, lib, clock_ns, vectorless_activity, out, sta=sta, top=top,
                                clock_port=clock_port, timeout=timeout)
    seconds["vectorless"] = time.perf_counter() - t0
    for key in ("switching_w", "leakage_w"):
        if not math.isclose(vect[key], vect_same[key], rel_tol=1e-3, abs_tol=1e-12):
            raise SynthError(f"the activity liberty changed {key[:-2]} power: {vect_same[key]:.6g} W, "
                             f"{vect[key]:.6g} W with {lib.name} at activity {vectorless_activity:g} (log: {log})")

    period_s = clock_ns * 1e-9
    energy_cycle_pj = measured["total_w"] * period_s * 1e12
    seconds["total"] = time.perf_counter() - t_start
    return {
        "method": "simulated activity",
        "simulation": "specify delays (glitches)" if glitches else "zero-delay (functional transitions)",
        "precision": precision, "mix": None if mix is None else {str(p): f for p, f in mix.items()},
        "zero_fraction": zero_fraction,
        "zeros_applied": not (precision == 1 and cfg.binary == "bipolar"), "n_ops": n_ops, "seed": seed,
        "macs_per_acc_op": macs["macs"] / macs["acc_ops"] if macs["acc_ops"] else None,
        "macs_per_acc_cycle": macs["macs"] / macs["acc_cycles"] if macs["acc_cycles"] else None,
        "clock_ns": clock_ns, "window_cycles": window_cycles, "warmup_cycles": warmup_cycles,
        "window_ops": [first, last], "elements_per_register": macs["elements_per_register"],
        "macs_per_cycle": macs["macs_per_cycle"], "gated_lane_fraction": macs["gated_lane_fraction"],
        "results_checked": checked,
        "annotated_fraction": fraction, "driver_pins": drivers, "mean_activity": mean_act,
        "nets_with_x": nets_with_x,
        "internal_w": measured["internal_w"], "switching_w": measured["switching_w"],
        "leakage_w": measured["leakage_w"], "total_w": measured["total_w"], "groups": measured["groups"],
        "energy_per_cycle_pj": energy_cycle_pj,
        "pj_per_mac": energy_cycle_pj / macs["macs_per_cycle"] if macs["macs_per_cycle"] else None,
        "vectorless": {"method": "vectorless (same power model)", "activity": vectorless_activity, "duty": 0.5,
                       **vect_same},
        "vectorless_native": {"method": "vectorless (OpenSTA 2019 internal-power model, original liberty)",
                              **{k: vect[k] for k in ("activity", "duty", "internal_w", "switching_w", "leakage_w",
                                                      "total_w", "groups")}},
        "liberty_rewrite": lib_counts,
        "liberty": str(lib), "cell_models": str(models), "netlist": str(net),
        "files": {"stimulus": str(out / "stimulus.hex"), "testbench": str(tb), "results": str(out / "results.txt"),
                  "vcd": str(out / "window.vcd"), "activity": str(out / "activity.tsv"), "sta_log": str(log)},
        "seconds": seconds,
    }


def missing_power_tools() -> str | None:
    """Why the default synthesis + power flow cannot run here (a one-line reason naming the package), or None."""
    from . import tools

    for tool in (tools.DEFAULT_YOSYS, "sta", "iverilog", "vvp"):
        try:
            tools.find_tool(tool)
        except SynthError as exc:
            return str(exc)
    for path in (tools.DEFAULT_LIBERTY, tools.DEFAULT_CELL_MODELS):
        if not Path(path).is_file():
            return f"{path} missing (Debian package qflow-tech-osu018)"
    return None
