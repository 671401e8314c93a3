"""Power from simulated switching activity: golden workload -> gate-level simulation -> VCD toggles -> OpenSTA.

Steps of :func:`measure_power` (every file lands in ``out_dir``, beside its log):

1. **Workload** (:func:`workload_ops`): random activations and weights at one precision, a fraction of the
   activations zero (ReLU-like), back-to-back ACCs with a READ_LOAD every 16 operations; the golden model
   (:func:`mixlane.golden.run`) gives the expected results.
2. **Gate-level simulation** with Icarus: the mapped netlist, the library's Verilog cell models and a plain
   Verilog testbench (``synth/scripts/power_tb.v``) reading the operation stream with ``$readmemh``. It dumps a
   VCD of the netlist's nets for a short window after warm-up only, and writes every result it sees; they
   must equal the golden results (:class:`SynthError` otherwise: a power number from a broken netlist is
   worthless). Default: zero-delay simulation (functional transitions only); ``glitches=True`` uses the cell
   models' specify delays (``-gspecify``), which adds glitches with the models' fixed, load-independent delays.
3. **Toggle counting** (:func:`parse_vcd`, streaming): transitions per net bit per clock period and the
   fraction of time high.
4. **OpenSTA** (``synth/scripts/sta_power_activity.tcl``): every cell output pin annotated with the activity of
   the net it drives (``sta::set_power_pin_activity``), every data input port with its own, then
   ``report_power``. This OpenSTA (Debian 2019 snapshot) re-propagates activities through each cell's logic
   function before every report and overwrites annotations on outputs reachable from an input (tested: an
   annotated NAND output kept its propagated value), so the script runs on a copy of the liberty whose
   output pins have themselves as function (:func:`activity_liberty`). That copy also puts internal power
   on one documented model (mean rise/fall energy per transition, input arcs averaged: current OpenSTA's
   model with equal arc weights); the 2019 build's own model counts about twice the internal energy.
   Self-checks: uniform annotation must equal ``set_power_activity -global`` at the same activity (the
   annotation took effect), and switching and leakage power must equal those of the original liberty.
5. **Vectorless figures** for comparison, clearly labelled: ``vectorless`` (every net at one activity,
   same power model as the measurement) and ``vectorless_native`` (:func:`mixlane.synth.sta_power_vectorless`
   on the original liberty, the 2019 build's internal-power model).

Units: power in W, energy in pJ, activity in transitions per clock period (OpenSTA's convention), time in ns.
Energy per MAC = total power x clock period / MACs per cycle, where MACs per cycle counts the element
products of the ACC operations in the measured window (READ_LOAD cycles do no MAC: 15/16 of the elements
per register with one READ_LOAD every 16 operations).
"""

from __future__ import annotations

import gzip
import math
import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .flow import (DEFAULT_CLOCK_NS, DEFAULT_LIBERTY, DEFAULT_STA, TOP_NAME, SynthError, _liberty_path, _run_sta,
                   _sta_vars, find_tool, parse_sta_power, render_script, sta_power_vectorless)

__all__ = [
    "DEFAULT_CELL_MODELS",
    "READ_EVERY",
    "workload_ops",
    "workload_macs",
    "write_stimulus",
    "netlist_ports",
    "VcdActivity",
    "parse_vcd",
    "activity_liberty",
    "measure_power",
    "parse_workload",
    "mix_meta",
    "check_mix",
    "WORKLOADS",
    "WORKLOAD_DEFAULTS",
]

#: Verilog models of the OSU 0.18 um cells (Debian package ``qflow-tech-osu018``), matching DEFAULT_LIBERTY.
DEFAULT_CELL_MODELS = Path("/usr/share/qflow/tech/osu018/osu018_stdcells.v")
#: One READ_LOAD every this many operations in the workload.
READ_EVERY = 16
RESET_CYCLES = 4

_TOOL_HINTS = {"iverilog": "install the Debian package iverilog (apt-get install iverilog)",
               "vvp": "install the Debian package iverilog (apt-get install iverilog)"}


def _tool(name: str) -> str:
    try:
        return find_tool(name)
    except SynthError:
        hint = _TOOL_HINTS.get(Path(name).name, "install it or pass its path")
        raise SynthError(f"{name}: not found; {hint}") from None


# ---------------------------------------------------------------------------------------------- workload
#: Power workload settings and their defaults (``mixlane synth --workload``).
WORKLOAD_DEFAULTS = {"zero_fraction": 0.5, "ops": 400, "window": 256, "warmup": 32, "seed": 1, "glitches": False,
                     "mix": None}
#: Named workloads: starting points that ``key=value`` items refine.
WORKLOADS = {"relu": {"zero_fraction": 0.5}, "dense": {"zero_fraction": 0.0}, "sparse": {"zero_fraction": 0.75}}
_WORKLOAD_ALIASES = {"zeros": "zero_fraction"}


def parse_workload(spec: str) -> dict[str, Any]:
    """Parse ``[NAME][,key=value...]`` (``relu,zeros=0.3,ops=800,window=512,warmup=32,seed=7,glitches=1``,
    ``mix=1:0.25/2:0.5/4:0.25`` for an extra measurement at a precision mix, see :func:`mix_meta`)
    into the settings it names (only those). Keys: :data:`WORKLOAD_DEFAULTS` (``zeros`` for ``zero_fraction``);
    names: :data:`WORKLOADS`. Raises :class:`SynthError` with one line naming the bad item."""
    out: dict[str, Any] = {}
    for n, item in enumerate(x.strip() for x in spec.split(",")):
        if not item:
            raise SynthError(f"--workload {spec!r}: empty item; use NAME[,key=value...] or key=value[,...]")
        if "=" not in item:
            if n or item not in WORKLOADS:
                raise SynthError(f"--workload {spec!r}: {item!r} is not a workload name; use one of "
                                 f"{', '.join(WORKLOADS)} first, then key=value items")
            out.update(WORKLOADS[item])
            continue
        key, _, text = (s.strip() for s in item.partition("="))
        key = _WORKLOAD_ALIASES.get(key, key)
        if key not in WORKLOAD_DEFAULTS:
            raise SynthError(f"--workload {spec!r}: unknown key {key!r}; use zeros, "
                             f"{', '.join(k for k in WORKLOAD_DEFAULTS if k != 'zero_fraction')}")
        try:
            if key == "mix":           # mix=1:0.25/2:0.5/4:0.25 (precision:fraction, fractions sum to 1)
                value = {int(p): float(f) for p, f in (x.split(":") for x in text.split("/"))}
                ok = bool(value) and all(f >= 0 for f in value.values()) and \
                    math.isclose(sum(value.values()), 1.0, abs_tol=1e-6)
            elif key == "zero_fraction":
                value: Any = float(text)
                ok = 0.0 <= value <= 1.0
            elif key == "glitches":
                value = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}[text.lower()]
                ok = True
            else:
                value = int(text)
                ok = value >= (0 if key == "seed" else 1)
        except (ValueError, KeyError):
            ok = False
        if not ok:
            allowed = {"zero_fraction": "a fraction from 0 to 1", "glitches": "0 or 1",
                       "mix": "precision:fraction items joined by / whose fractions sum to 1 (mix=2:0.7/4:0.3)",
                       "seed": "an integer >= 0"}.get(key, "a positive integer")
            raise SynthError(f"--workload {spec!r}: {key}={text!r} is not allowed; use {allowed}")
        out[key] = value
    return out


def mix_meta(cfg: Any, mix: dict[int, float], n: int, rng: Any) -> Any:
    """Metadata of ``n`` operations drawing precisions from ``mix`` (precision -> probability, summing to 1).

    What a draw decides follows the mode: ``uniform`` and ``pattern`` one precision per operation (``pattern``:
    the pattern with the most elements of it); ``channel`` the level of each lane, once for the whole workload
    (a layer's channels keep their precision), lanes apportioned to the mix and shuffled; ``element`` the
    precision of each element of each operation.
    """
    from mixlane.golden.layout import meta_fields
    from mixlane.sim_tb.stimulus import meta_for_precision

    precs = sorted(mix)
    probs = np.array([mix[p] for p in precs], float)
    mode = cfg.precision_mode
    if mode in ("uniform", "pattern"):
        draw = rng.choice(len(precs), size=n, p=probs)
        meta = np.zeros((n, meta_fields(cfg)), np.int64)
        for k, p in enumerate(precs):
            meta[draw == k] = meta_for_precision(cfg, p, 1)[0]
        return meta
    if mode == "channel":
        lanes = cfg.lanes
        counts = np.floor(probs * lanes).astype(int)
        for k in np.argsort(-(probs * lanes - counts), kind="stable")[: lanes - counts.sum()]:
            counts[k] += 1                                   # largest remainders
        row = np.concatenate([np.full(c, cfg.channel_levels.index(p)) for p, c in zip(precs, counts)])
        return np.repeat(rng.permutation(row)[None, :].astype(np.int64), n, axis=0)
    draw = rng.choice(len(precs), size=(n, cfg.max_elements), p=probs)
    return np.array([cfg.precisions.index(p) for p in precs], np.int64)[draw]


def check_mix(cfg: Any, mix: dict[int, float]) -> dict[int, float]:
    """Validate a precision mix against ``cfg``; the mix with int keys. One-line :class:`SynthError`."""
    out = {int(p): float(f) for p, f in mix.items()}
    bad = [p for p in out if p not in cfg.mode_precisions]
    if bad:
        raise SynthError(f"--workload mix: precision {bad[0]} is not one this configuration runs; use some of "
                         f"{list(cfg.mode_precisions)}")
    if any(not (f >= 0) for f in out.values()) or not math.isclose(sum(out.values()), 1.0, abs_tol=1e-6):
        raise SynthError(f"--workload mix: fractions {list(out.values())} must be >= 0 and sum to 1")
    return {p: f for p, f in sorted(out.items()) if f > 0}


def workload_ops(cfg: Any, *, precision: int | None = None, zero_fraction: float, n_ops: int, seed: int,
                 mix: dict[int, float] | None = None) -> Any:
    """A deterministic MAC workload at one precision, or at a precision ``mix`` (:func:`mix_meta`; give one
    of the two), as a :class:`mixlane.golden.Ops` batch.

    ``n_ops`` operations: ACCs of random register pairs with a READ_LOAD (bias 0) every :data:`READ_EVERY`
    operations (accumulator ``(i // 16) % outputs``), then a READ_LOAD of every accumulator so each ACC is
    checked. The metadata selects ``precision`` everywhere (:func:`mixlane.sim_tb.stimulus.meta_for_precision`:
    in ``pattern`` mode the pattern with the most ``precision``-bit elements, whose other elements get random
    values of their own precision). Element values are uniform over their range; a fraction ``zero_fraction``
    of the activations is set to 0 (not for bipolar 1-bit elements, which have no 0). READ_LOAD operations
    keep the previous operands on the bus (a driver holds them; they do no MAC).
    """
    from mixlane.golden import OP_ACC, OP_READ_LOAD, Ops, decode, pack
    from mixlane.sim_tb.stimulus import meta_for_precision

    if (precision is None) == (mix is None):
        raise SynthError("workload: give a precision or a mix, not both or neither")
    if mix is not None:
        mix = check_mix(cfg, mix)
    elif precision not in cfg.mode_precisions:
        raise SynthError(f"precision: {precision!r} is not allowed; this configuration has "
                         f"{list(cfg.mode_precisions)}")
    if not 0.0 <= zero_fraction <= 1.0:
        raise SynthError(f"zero_fraction: {zero_fraction!r} is not allowed; use 0 to 1")
    if isinstance(n_ops, bool) or not isinstance(n_ops, (int, np.integer)) or n_ops < 1:
        raise SynthError(f"n_ops: {n_ops!r} is not allowed; use a positive integer")
    n = int(n_ops)
    if mix is None:
        rng = np.random.default_rng([int(seed), int(precision)])
        meta = meta_for_precision(cfg, precision, n)
    else:
        rng = np.random.default_rng([int(seed), 0, *[int(p) for p in mix]])
        meta = mix_meta(cfg, mix, n, rng)
    layout = decode(cfg, meta)
    vals = {"a": np.zeros(layout.shape, np.int64), "w": np.zeros(layout.shape, np.int64)}
    for p in (int(q) for q in np.unique(layout[layout > 0])):
        mask = layout == p
        k = int(mask.sum())
        for operand in ("a", "w"):
            if p == 1 and cfg.binary == "bipolar":
                v = np.where(rng.random(k) < 0.5, -1, 1)
            else:
                lo, hi = cfg.element_range(p, operand)
                v = rng.integers(lo, hi + 1, k)
                if operand == "a" and zero_fraction > 0:
                    v[rng.random(k) < zero_fraction] = 0
            vals[operand][mask] = v
    op = np.full(n, OP_ACC, np.int64)
    op[READ_EVERY - 1::READ_EVERY] = OP_READ_LOAD
    a = pack(cfg, vals["a"], layout, "a")
    w = pack(cfg, vals["w"], layout, "w")
    for r in np.nonzero(op == OP_READ_LOAD)[0]:
        if r > 0:
            a[r], w[r] = a[r - 1], w[r - 1]
    body = Ops(op=op, sel=(np.arange(n) // READ_EVERY) % cfg.outputs, meta=meta, a=a, w=w,
               bias=np.zeros(n, np.int64))
    k = cfg.outputs
    tail = Ops(op=np.full(k, OP_READ_LOAD, np.int64), sel=np.arange(k, dtype=np.int64),
               meta=np.repeat(meta[-1:], k, axis=0), a=np.repeat(a[-1:], k, axis=0),
               w=np.repeat(w[-1:], k, axis=0), bias=np.zeros(k, np.int64))
    return Ops.concat([body, tail])


def workload_macs(cfg: Any, ops: Any, start: int = 0, stop: int | None = None) -> dict[str, Any]:
    """MACs of ``ops[start:stop]`` at one operation per cycle.

    Returns ``{"elements_per_register"`` (element products of one ACC register pair, the most in the range),
    ``"macs"`` (element products of the ACC operations), ``"ops"``, ``"acc_ops"``, ``"macs_per_cycle"``
    (``macs / ops``)}.
    """
    from mixlane.golden import OP_ACC, decode

    sub = ops[start:stop]
    if len(sub) == 0:
        raise SynthError(f"workload_macs: no operations in [{start}:{stop}]")
    acc = sub.op == OP_ACC
    per = (decode(cfg, sub.meta) > 0).sum(axis=1)
    macs = int(per[acc].sum())
    return {"elements_per_register": int(per[acc].max()) if acc.any() else 0, "macs": macs, "ops": len(sub),
            "acc_ops": int(acc.sum()), "macs_per_cycle": macs / len(sub)}


# ------------------------------------------------------------------------------------- stimulus, ports
def _payload_fields(cfg: Any) -> list[tuple[str, int]]:
    """Input payload ports MSB first in one packed operation word (docs/format.md section 5)."""
    fields = [("i__op", 2)]
    if cfg.sel_bits:
        fields.append(("i__sel", cfg.sel_bits))
    fields += [("i__meta", cfg.meta_bits), ("i__a", cfg.width), ("i__w", cfg.width), ("i__bias", cfg.acc_width)]
    return fields


def write_stimulus(cfg: Any, ops: Any, path: str | Path) -> int:
    """Write ``ops`` as a ``$readmemh`` file, one packed word a line (see ``power_tb.v``); returns its bit width."""
    from mixlane.golden import bits_to_ints, encode_meta_ints

    fields = _payload_fields(cfg)
    bits = sum(w for _, w in fields)
    columns = {"i__op": [int(v) for v in ops.op], "i__sel": [int(v) for v in ops.sel],
               "i__meta": encode_meta_ints(cfg, ops.meta), "i__a": bits_to_ints(ops.a),
               "i__w": bits_to_ints(ops.w), "i__bias": [int(v) for v in ops.bias]}
    digits = (bits + 3) // 4
    lines = []
    for i in range(len(ops)):
        word = 0
        for name, width in fields:
            word = (word << width) | (columns[name][i] & ((1 << width) - 1))
        lines.append(f"{word:0{digits}x}")
    Path(path).write_text("\n".join(lines) + "\n")
    return bits


def _expected_ports(cfg: Any) -> dict[str, tuple[str, int]]:
    ports = {"clk": ("input", 1), "rst": ("input", 1), "i__valid": ("input", 1), "o__ready": ("input", 1),
             "i__ready": ("output", 1), "o__valid": ("output", 1), "o__data": ("output", cfg.acc_width)}
    ports.update({name: ("input", width) for name, width in _payload_fields(cfg)})
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
                      warmup_cycles: int, window_cycles: int) -> Path:
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
        "PAYLOAD": ", ".join(name for name, _ in _payload_fields(cfg)), "WORD_BITS": word_bits,
        "N_OPS": n_ops, "HALF_NS": f"{clock_ns / 2:.6g}", "DRIVE_NS": f"{drive:.6g}",
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


def _read_results(path: Path, acc_width: int) -> dict[str, Any]:
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
            if value >= 1 << (acc_width - 1):
                value -= 1 << acc_width
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


# ------------------------------------------------------------------------------------------------ VCD
_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12, "fs": 1e-15}


def _norm(name: str) -> str:
    """Net name as VCD and OpenSTA both reduce to: escapes and blanks removed (``\\acc.x [3]`` -> ``acc.x[3]``)."""
    return re.sub(r"[\\\s]", "", name)


@dataclass
class VcdActivity:
    """Switching activity counted from a VCD over its dumping intervals.

    ``bits`` maps every dumped net bit (normalised name, ``bus[3]`` for vector bits) to an index into
    ``toggles`` (0<->1 transitions; a pass through x/z between equal values is none), ``high`` (time
    high) and ``unknown`` (x/z seen while counting). ``duration`` is the counted time in VCD units of
    ``timescale_s`` seconds.
    """

    timescale_s: float
    duration: int = 0
    bits: dict[str, int] = field(default_factory=dict)
    toggles: list[int] = field(default_factory=list)
    high: list[int] = field(default_factory=list)
    unknown: list[bool] = field(default_factory=list)

    def cycles(self, clock_ns: float) -> float:
        """Clock periods in the counted time."""
        return self.duration * self.timescale_s / (clock_ns * 1e-9)

    def activity(self, clock_ns: float) -> dict[str, tuple[float, float]]:
        """Net bit -> (transitions per clock period, fraction of time high)."""
        cycles = self.cycles(clock_ns)
        if cycles <= 0:
            raise SynthError("VCD: no counted time (dumping never on?)")
        dur = float(self.duration)
        return {name: (self.toggles[i] / cycles, self.high[i] / dur) for name, i in self.bits.items()}


def parse_vcd(path: str | Path, scope: str | None = None) -> VcdActivity:
    """Count transitions per net bit in a VCD, streaming (files can be large).

    Counting runs from the end of the initial ``$dumpvars`` block to ``$dumpoff`` (or the last time
    stamp), and again after each ``$dumpon`` block (whose values are a new baseline, not transitions).
    ``scope``: only variables of that scope path (dot-joined, e.g. ``power_tb.dut``); default all.
    """
    path = Path(path)
    if not path.is_file():
        raise SynthError(f"VCD {path} not found")
    opener = gzip.open if path.name.endswith(".gz") else open
    act = None
    ids: dict[str, list[tuple[int, int]]] = {}     # id code -> [(first bit index, width)]
    cur: list[str] = []
    last: list[str] = []
    since: list[int] = []
    with opener(path, "rt", errors="replace") as fh:
        # ---- header
        tokens: list[str] = []
        scopes: list[str] = []
        timescale = None
        for line in fh:
            tokens.extend(line.split())
            if "$enddefinitions" in line:
                break
        else:
            raise SynthError(f"VCD {path}: no $enddefinitions (truncated header?)")
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            j = i + 1
            while j < len(tokens) and tokens[j] != "$end":
                j += 1
            args = tokens[i + 1:j]
            if tok == "$timescale":
                m = re.fullmatch(r"(\d+)\s*([a-z]+)", "".join(args))
                if not m or m.group(2) not in _UNITS:
                    raise SynthError(f"VCD {path}: cannot read $timescale {' '.join(args)!r}")
                timescale = int(m.group(1)) * _UNITS[m.group(2)]
            elif tok == "$scope" and len(args) >= 2:
                scopes.append(args[1])
            elif tok == "$upscope":
                scopes.pop() if scopes else None
            elif tok == "$var" and len(args) >= 4:
                if scope is None or ".".join(scopes) == scope:
                    width, code, ref = int(args[1]), args[2], " ".join(args[3:])
                    if act is None:
                        act = VcdActivity(timescale_s=1.0)
                    m = re.fullmatch(r"(.*?)\s*\[\s*(-?\d+)\s*(?::\s*(-?\d+)\s*)?\]", ref)
                    base = _norm(m.group(1)) if m else _norm(ref)
                    start = len(cur)
                    if m and m.group(3) is not None:
                        msb, lsb = int(m.group(2)), int(m.group(3))
                        step = -1 if msb >= lsb else 1
                        names = [f"{base}[{msb + step * k}]" for k in range(width)]
                    elif m:
                        names = [f"{base}[{m.group(2)}]"] if width == 1 else \
                            [f"{base}[{int(m.group(2)) - k}]" for k in range(width)]
                    else:
                        names = [base] if width == 1 else [f"{base}[{width - 1 - k}]" for k in range(width)]
                    for k, name in enumerate(names):
                        act.bits.setdefault(name, start + k)
                    if not m and width == 1:      # Icarus dumps a `wire [0:0] n` as plain `n`; OpenSTA names it n[0]
                        act.bits.setdefault(f"{base}[0]", start)
                    ids.setdefault(code, []).append((start, width))
                    cur.extend("x" * width)
            i = j + 1
        if timescale is None:
            raise SynthError(f"VCD {path}: no $timescale")
        if act is None:
            raise SynthError(f"VCD {path}: no variables" + (f" in scope {scope!r}" if scope else ""))
        act.timescale_s = timescale
        n = len(cur)
        last = ["x"] * n
        since = [0] * n
        act.toggles = [0] * n
        act.high = [0] * n
        act.unknown = [False] * n
        toggles, high, unknown = act.toggles, act.high, act.unknown
        # ---- value changes
        t = 0
        counting = False
        block = None           # "$dumpvars" / "$dumpon" / "$dumpoff" / "$dumpall" while inside that block
        t_on = 0

        def change(b: int, ch: str) -> None:
            old = cur[b]
            if old == ch:
                return
            cur[b] = ch
            if counting:
                if old == "1":
                    high[b] += t - since[b]
                if ch == "1":
                    since[b] = t
                if ch in "01":
                    if last[b] != ch and last[b] in "01":
                        toggles[b] += 1
                    last[b] = ch
                else:
                    unknown[b] = True
            elif ch in "01":
                last[b] = ch

        def start_counting() -> None:
            nonlocal counting, t_on
            counting, t_on = True, t
            for b in range(n):
                since[b] = t
                if cur[b] in "01":
                    last[b] = cur[b]

        def stop_counting() -> None:
            nonlocal counting
            for b in range(n):
                if cur[b] == "1":
                    high[b] += t - since[b]
            act.duration += t - t_on
            counting = False

        for line in fh:
            line = line.strip()
            if not line:
                continue
            c = line[0]
            if c == "#":
                t = int(line[1:])
                continue
            if c in "01xzXZ":
                entries = ids.get(line[1:].strip())
                if entries:
                    ch = c.lower()
                    for start, _ in entries:
                        change(start, ch)
                continue
            if c in "bB":
                value, _, code = line[1:].partition(" ")
                entries = ids.get(code.strip())
                if entries:
                    value = value.lower()
                    for start, width in entries:
                        v = value
                        if len(v) < width:
                            v = (v[0] if v[0] in "xz" else "0") * (width - len(v)) + v
                        elif len(v) > width:
                            v = v[-width:]
                        for k, ch in enumerate(v):
                            change(start + k, ch)
                continue
            if c in "rR":
                continue
            if c == "$":
                word = line.split()[0]
                if word in ("$dumpvars", "$dumpon", "$dumpall", "$dumpoff"):
                    if word == "$dumpoff" and counting:
                        stop_counting()
                    block = word
                    if line.endswith("$end") and word != line:
                        line = "$end"
                if line == "$end" or line.endswith(" $end") or word == "$end":
                    if block in ("$dumpvars", "$dumpon"):
                        start_counting()
                    block = None
                continue
        if counting:
            stop_counting()
    return act


# ---------------------------------------------------------------------------------------------- liberty
_LIB_TOKEN = re.compile(r'(\w+)\s*\(([^(){}]*)\)\s*\{|(\})|(\w+)\s*:\s*("[^"]*"|[^;{}"]+?)\s*;|\bvalues\s*\(')
_END_VALUES = re.compile(r"\)\s*;")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def _liberty_tree(lines: list[str]) -> dict[str, Any]:
    """Group structure of a liberty file: kind, argument, attributes (value, line), children, values spans."""
    root = {"kind": "", "arg": "", "line": -1, "attrs": {}, "children": [], "values": []}
    stack = [root]
    in_values = None
    in_comment = False
    for i, line in enumerate(lines):
        code = line
        if in_comment:
            k = code.find("*/")
            if k < 0:
                continue
            code, in_comment = code[k + 2:], False
        code = re.sub(r"/\*.*?\*/", "", code)
        k = code.find("/*")
        if k >= 0:
            code, in_comment = code[:k], True
        pos = 0
        if in_values is not None:
            m = _END_VALUES.search(code)
            if not m:
                continue
            in_values["end"], in_values, pos = i, None, m.end()
        while True:
            m = _LIB_TOKEN.search(code, pos)
            if not m:
                break
            pos = m.end()
            if m.group(1):
                group = {"kind": m.group(1), "arg": m.group(2).strip().strip('"'), "line": i, "attrs": {},
                         "children": [], "values": []}
                stack[-1]["children"].append(group)
                stack.append(group)
            elif m.group(3):
                if len(stack) > 1:
                    stack.pop()
            elif m.group(4):
                stack[-1]["attrs"][m.group(4)] = (m.group(5).strip().strip('"'), i)
            else:
                span = {"start": i, "end": i}
                stack[-1]["values"].append(span)
                e = _END_VALUES.search(code, pos)
                if e:
                    pos = e.end()
                else:
                    in_values = span
                    break
    return root


def _groups(group: dict[str, Any], kind: str):
    for child in group["children"]:
        if child["kind"] == kind:
            yield child
        yield from _groups(child, kind)


def _table_lines(group: dict[str, Any]):
    for span in group["values"]:
        yield from range(span["start"], span["end"] + 1)
    for child in group["children"]:
        yield from _table_lines(child)


def activity_liberty(src: str | Path, dst: str | Path) -> dict[str, int]:
    """Write the liberty copy the activity script runs on (``.gz`` sources read too); returns counts.

    Two changes, nothing else (timing arcs, capacitances, leakage and table indices are untouched):

    1. Every output pin's ``function`` becomes the pin itself (added where missing), so that OpenSTA's
       activity propagation copies each output's annotated activity instead of recomputing it from the
       cell's inputs (this OpenSTA build overwrites annotations otherwise; see the module docstring).
    2. Internal-power tables are rescaled so that an output transition costs the mean of the rise and fall
       energies averaged over the pin's input arcs (weights summing to 1), and an input-pin (passive)
       transition the mean of its rise and fall energies: current OpenSTA's model with equal arc weights.
       This build sums rise and fall energies times a per-arc duty: with identity functions 0.5 per arc
       (1 for clock-related arcs and clock pins, the condition's probability for ``when`` groups), so an
       output arc is scaled by ``0.5 / duty / n`` (``n`` related-pin sets of the pin, per supply pin) and a
       passive input table by ``0.5 / duty``. (With the original functions this build infers the arc duties
       from the function's syntax tree, unnormalised: about twice the energy of current OpenSTA.)
    """
    src, dst = Path(src), Path(dst)
    opener = gzip.open if src.name.endswith(".gz") else open
    with opener(src, "rt", errors="replace") as fh:
        lines = fh.read().splitlines(keepends=True)
    root = _liberty_tree(lines)
    replace: dict[int, str] = {}
    insert: dict[int, str] = {}
    scale: dict[int, float] = {}
    counts = {"cells": 0, "functions": 0, "functions_added": 0, "tables_scaled": 0}
    for cell in _groups(root, "cell"):
        counts["cells"] += 1
        pins = list(_groups(cell, "pin"))
        clocks = {p["arg"] for p in pins if p["attrs"].get("clock", ("",))[0] == "true"}
        for pin in pins:
            name = pin["arg"]
            output = pin["attrs"].get("direction", ("",))[0] in ("output", "inout")
            if output:
                if "function" in pin["attrs"]:
                    k = pin["attrs"]["function"][1]
                    replace[k] = re.sub(r'(\bfunction\s*:\s*)"[^"]*"', lambda m, n=name: f'{m.group(1)}"{n}"',
                                        lines[k], count=1)
                    counts["functions"] += 1
                else:
                    insert[pin["line"]] = f'    function : "{name}";\n'
                    counts["functions_added"] += 1
            powers = [g for g in pin["children"] if g["kind"] == "internal_power"]
            factors = []
            if output:
                related = [g for g in powers if "related_pin" in g["attrs"]]
                sets: dict[str, set] = {}
                for g in related:
                    pg = g["attrs"].get("related_pg_pin", ("",))[0]
                    sets.setdefault(pg, set()).add(" ".join(sorted(g["attrs"]["related_pin"][0].split())))
                for g in related:
                    n = len(sets[g["attrs"].get("related_pg_pin", ("",))[0]])
                    rel = g["attrs"]["related_pin"][0].split()
                    if "when" in g["attrs"] or (rel and all(r in clocks for r in rel)):
                        factors.append((g, 0.5 / n))
                    else:
                        factors.append((g, 1.0 / n))
            else:
                for g in powers:
                    if "related_pin" in g["attrs"]:
                        continue
                    factors.append((g, 0.5 if ("when" in g["attrs"] or name in clocks) else 1.0))
            for g, f in factors:
                if f != 1.0:
                    counts["tables_scaled"] += 1
                    for k in _table_lines(g):
                        scale[k] = f
    out = []
    for k, line in enumerate(lines):
        line = replace.get(k, line)
        if k in scale:
            f = scale[k]
            line = re.sub(r'"([^"]*)"', lambda q, f=f: '"' + _NUMBER.sub(
                lambda n: f"{float(n.group()) * f:.6g}", q.group(1)) + '"', line)
        out.append(line)
        if k in insert:
            out.append(insert[k])
    dst.write_text("".join(out))
    return counts


def _cell_models(liberty: str | Path | None, cell_models: str | Path | None) -> Path:
    if cell_models is not None:
        path = Path(cell_models)
        if not path.is_file():
            raise SynthError(f"cell_models {str(path)!r} not found; pass the Verilog models of the liberty's cells")
        return path
    lib = Path(liberty) if liberty is not None else DEFAULT_LIBERTY
    if lib.resolve() == DEFAULT_LIBERTY.resolve() or liberty is None:
        if not DEFAULT_CELL_MODELS.is_file():
            raise SynthError(f"cell models {DEFAULT_CELL_MODELS} not found; install the Debian package "
                             f"qflow-tech-osu018 or pass cell_models=<models .v>")
        return DEFAULT_CELL_MODELS
    stem = lib.name[:-3] if lib.name.endswith(".gz") else lib.name
    guess = lib.with_name(Path(stem).stem + ".v")
    if guess.is_file():
        return guess
    raise SynthError(f"cell_models: no Verilog models known for liberty {lib.name}; pass cell_models=<models .v>")


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
    :func:`workload_ops` (``precision`` or ``mix``, ``zero_fraction``, ``n_ops``, ``seed``); the VCD covers
    ``window_cycles`` cycles after ``warmup_cycles`` (both within ``n_ops``). ``glitches`` simulates with the
    cell models' specify delays instead of zero delay.

    Returns a JSON-able dict: ``method`` ("simulated activity"), ``simulation`` ("zero-delay" or
    "specify delays"), ``precision``, ``mix``, ``macs_per_acc_op`` (element products per ACC over the whole
    workload), ``zero_fraction``, ``zeros_applied`` (False for bipolar 1-bit),
    ``clock_ns``, ``window_cycles``, ``window_ops`` ([first, last) operation indices), ``elements_per_register``,
    ``macs_per_cycle`` (in the window), ``results_checked`` (results equal to the golden model's),
    ``annotated_fraction`` (cell output pins annotated from the VCD), ``driver_pins``, ``mean_activity``
    (over those pins), ``nets_with_x``, ``internal_w``, ``switching_w``, ``leakage_w``, ``total_w``,
    ``groups`` (report_power's sequential/combinational/... rows), ``energy_per_cycle_pj``, ``pj_per_mac``,
    ``vectorless`` (every net at ``vectorless_activity``, same power model as the measurement) and
    ``vectorless_native`` (:func:`mixlane.synth.sta_power_vectorless`, original liberty): for comparison only,
    neither is this workload; ``liberty_rewrite`` (counts from :func:`activity_liberty`), ``files`` and
    ``seconds`` per step. Raises :class:`SynthError` (one line) for missing tools or files, a netlist whose
    ports or results do not match the configuration and the golden model, or a failed self-check.
    """
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
    lib = _liberty_path(liberty)
    models = _cell_models(liberty, cell_models)
    iverilog_exe, vvp_exe = _tool(iverilog), _tool(vvp)
    find_tool(sta)
    _check_ports(cfg, net, top)

    # 1. workload
    t0 = time.perf_counter()
    ops = workload_ops(cfg, precision=precision, zero_fraction=zero_fraction, n_ops=n_ops, seed=seed, mix=mix)
    word_bits = write_stimulus(cfg, ops, out / "stimulus.hex")
    seconds["workload"] = time.perf_counter() - t0

    # 2. gate-level simulation
    t0 = time.perf_counter()
    tb = _render_testbench(cfg, out, top=top, n_ops=len(ops), word_bits=word_bits, clock_ns=clock_ns,
                           warmup_cycles=warmup_cycles, window_cycles=window_cycles)
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
    sim = _read_results(out / "results.txt", cfg.acc_width)
    checked = _check_results(cfg, ops, sim, out / "results.txt",
                             " (or misses timing at this clock: glitches=True simulates the cell delays)"
                             if glitches else "")
    seconds["simulate"] = time.perf_counter() - t0
    if "W0" not in sim["window"] or "W1" not in sim["window"]:
        raise SynthError(f"gate-level simulation did not reach the end of the window ({out / 'results.txt'})")
    first, last = sim["window"]["W0"], sim["window"]["W1"]
    if last - first != window_cycles:
        raise SynthError(f"the window accepted {last - first} operations in {window_cycles} cycles: the netlist "
                         f"stalled with o__ready high ({out / 'results.txt'})")
    macs = workload_macs(cfg, ops, first, last)

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
    variables = {**_sta_vars(net, act_lib, clock_ns, out, top, clock_port), "ACTIVITY_FILE": "activity.tsv",
                 "CHECK_ACTIVITY": f"{vectorless_activity:g}"}
    text, log = _run_sta("sta_power_activity.tcl", out, variables, sta, timeout)
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
        "clock_ns": clock_ns, "window_cycles": window_cycles, "warmup_cycles": warmup_cycles,
        "window_ops": [first, last], "elements_per_register": macs["elements_per_register"],
        "macs_per_cycle": macs["macs_per_cycle"], "results_checked": checked,
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
    from . import flow

    for tool in (flow.DEFAULT_YOSYS, "sta", "iverilog", "vvp"):
        try:
            flow.find_tool(tool)
        except SynthError as exc:
            return str(exc)
    for path in (flow.DEFAULT_LIBERTY, DEFAULT_CELL_MODELS):
        if not Path(path).is_file():
            return f"{path} missing (Debian package qflow-tech-osu018)"
    return None
