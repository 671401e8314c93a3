"""Driver, monitor and scoreboard for the generated datapath (cocotb 2.x).

The driver and the monitor act once per clock cycle from a single loop (one coroutine, two triggers per
cycle: cheap enough to reach >10k cycles/s), so many lanes are checked per simulated cycle. Inputs change
at the falling edge; handshakes are sampled in the ReadOnly phase before the next rising edge, which reads
the same on event-driven (Icarus) and cycle-based (Verilator) simulators. :class:`BulkTB` runs the same
protocol without Python per cycle, through the harness of :mod:`mixlane.sim_tb.bulk`; both share the
:class:`Scoreboard` and :func:`outcome`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field

import numpy as np

from mixlane.config import Config
from mixlane.golden import (OP_ACC, OP_NAMES, Ops, Results, bits_to_ints, encode_meta_ints, op_cycles, result_count,
                            run)

from .bulk import stall_patterns

__all__ = ["OpDriver", "ResultMonitor", "Scoreboard", "Mismatch", "CycleMismatch", "DatapathTB", "BulkTB",
           "cycle_limit", "outcome"]


class OpDriver:
    """Presents operations on the ``i`` stream; ``idle_pattern[c % len]`` true: no new offer in cycle ``c``."""

    def __init__(self, dut, cfg: Config, ops: Ops, idle_pattern):
        self.dut, self.cfg = dut, cfg
        # handles looked up once: attribute access on the DUT object costs per call
        self._h = {name: getattr(dut, f"i__{name}") for name in ("valid", "ready", "op", "meta", "a", "w", "bias")}
        if cfg.sel_bits:
            self._h["sel"] = dut.i__sel
        self.op = ops.op.tolist()
        self.sel = ops.sel.tolist()
        self.meta = encode_meta_ints(cfg, ops.meta)
        self.a = bits_to_ints(ops.a)
        self.w = bits_to_ints(ops.w)
        self.bias = ops.bias.tolist()
        self.idle = None if idle_pattern is None else np.asarray(idle_pattern).tolist()
        self.next = 0          # index of the operation on offer / to offer
        self.work = 0          # unstalled cycles the operation on offer has been offered so far
        self.stall = 0         # ... and cycles it was held by the result stream
        self.gap = 0           # idle cycles (valid low) before its offer
        self.op_stats: list[tuple[int, int, int]] = []   # per accepted operation: (work, stall, gap)
        self.shown = -1        # index whose payload is on the ports
        self.valid = 0
        self._last: dict[str, int] = {}   # values on the ports, to skip rewriting them
        self._cycle = 0
        self._has_sel = cfg.sel_bits > 0

    @property
    def done(self) -> bool:
        return self.next >= len(self.op)

    def drive(self) -> None:
        """Set ``valid`` and the payload for this cycle (called after the falling edge)."""
        h = self._h
        idle = self.idle[self._cycle % len(self.idle)] if self.idle else False
        self._cycle += 1
        # an idle cycle delays a new offer; an offer not yet transferred stays (valid may not drop)
        if self.done or (idle and not (self.valid and self.shown == self.next)):
            if self.valid:
                h["valid"].value = 0
                self.valid = 0
            return
        k = self.next
        if self.shown != k:
            last = self._last
            op = self.op[k]
            if last.get("op") != op:
                h["op"].value = last["op"] = op
            if self._has_sel and last.get("sel") != self.sel[k]:
                h["sel"].value = last["sel"] = self.sel[k]
            if op == OP_ACC:
                if last.get("meta") != self.meta[k]:
                    h["meta"].value = last["meta"] = self.meta[k]
                h["a"].value = self.a[k]
                h["w"].value = self.w[k]
            elif last.get("bias") != self.bias[k]:
                h["bias"].value = last["bias"] = self.bias[k]
            self.shown = k
        if not self.valid:
            h["valid"].value = 1
            self.valid = 1

    def sample(self, stalled: bool = False) -> int | None:
        """In ReadOnly: the index of the operation transferred at the coming edge, if any. ``stalled``: the
        result stream holds the pipeline this cycle (such cycles do not count towards the operation's cycles)."""
        if not self.valid:
            if not self.done:
                self.gap += 1
            return None
        if not stalled:
            self.work += 1
        else:
            self.stall += 1
        if self._h["ready"].value:
            k = self.next
            self.next += 1
            self.op_stats.append((self.work, self.stall, self.gap))
            self.work = self.stall = self.gap = 0
            return k
        return None


class ResultMonitor:
    """Drives ``o.ready`` from ``ready_pattern`` (``None``: always ready) and collects transferred results."""

    def __init__(self, dut, cfg: Config, ready_pattern):
        self.dut = dut
        self._ready_h, self._valid_h, self._data_h = dut.o__ready, dut.o__valid, dut.o__data
        self._sel_h = dut.o__sel if cfg.sel_bits else None
        self.ready_pattern = None if ready_pattern is None else np.asarray(ready_pattern).tolist()
        self.results: list[tuple[int, int, int]] = []   # (cycle, sel, value)
        self._ready = None
        self._cycle = 0
        self._has_sel = cfg.sel_bits > 0
        self._signed = cfg.architecture.result_signed(cfg)

    def drive(self) -> None:
        pat = self.ready_pattern
        r = 1 if pat is None else int(pat[self._cycle % len(pat)])
        self._cycle += 1
        if r != self._ready:
            self._ready_h.value = r
            self._ready = r

    def stalled(self) -> bool:
        """In ReadOnly: a result waits and the consumer is not ready (the datapath holds)."""
        return bool(self._valid_h.value) and not self._ready

    def sample(self, cycle: int) -> None:
        if self._ready and self._valid_h.value:
            sel = int(self._sel_h.value) if self._has_sel else 0
            data = self._data_h.value
            self.results.append((cycle, sel, data.to_signed() if self._signed else data.to_unsigned()))


@dataclass
class Mismatch:
    index: int           # position of the read among the results
    op_index: int        # position of the READ in the operation batch
    cycle: int
    sel: int
    expected: int
    actual: int | None


@dataclass
class CycleMismatch:
    op_index: int        # position of the operation in the batch
    expected: int        # cycles the golden model gives it (the architecture's count at its precision)
    actual: int          # unstalled cycles from its offer to its transfer


@dataclass
class Scoreboard:
    """Compares the monitor's results with the golden model's, in order."""

    cfg: Config
    ops: Ops
    expected: Results = field(init=False)

    def __post_init__(self):
        self.expected = run(self.cfg, self.ops)

    def check(self, cycle: np.ndarray, sel: np.ndarray, value: np.ndarray) -> list[Mismatch]:
        """Mismatches of the transferred results ``(cycle, sel, value)`` (arrays, in transfer order) against the
        expected ones, compared in one vectorised step; a missing result has ``actual = None``."""
        exp = self.expected
        n_e, n_g = len(exp.value), len(value)
        n = min(n_e, n_g)
        diff = (np.asarray(exp.sel[:n]) != np.asarray(sel[:n])) | \
            np.asarray(exp.value[:n] != value[:n], dtype=bool)
        bad = [Mismatch(int(k), int(exp.index[k]), int(cycle[k]), int(exp.sel[k]), int(exp.value[k]),
                        None if value[k] is None else int(value[k])) for k in np.nonzero(diff)[0]]
        bad += [Mismatch(k, int(exp.index[k]), -1, int(exp.sel[k]), int(exp.value[k]), None) for k in range(n, n_e)]
        bad += [Mismatch(k, -1, int(cycle[k]), int(sel[k]), 0, None if value[k] is None else int(value[k]))
                for k in range(n, n_g)]
        return bad

    def check_cycles(self, op_cycles) -> list[CycleMismatch]:
        """Operations whose transfer took another number of unstalled cycles than the golden model's."""
        got = np.asarray(op_cycles, dtype=np.int64)
        exp = np.asarray(self.expected.cycles[:len(got)], dtype=np.int64)
        return [CycleMismatch(int(k), int(exp[k]), int(got[k])) for k in np.nonzero(got != exp)[0]]

    def explain_cycles(self, m: CycleMismatch) -> str:
        ops, cfg = self.ops, self.cfg
        k = m.op_index
        meta = encode_meta_ints(cfg, ops.meta[k:k + 1])[0]
        return (f"op #{k} {OP_NAMES[int(ops.op[k])]} meta=0x{meta:x}: accepted after {m.actual} cycle(s), "
                f"expected {m.expected} ({cfg.mac} at this precision)")

    def explain(self, m: Mismatch, limit: int = 4) -> str:
        """Inputs that built the failing result: the ops on the same accumulator since its last load."""
        cfg, ops, exp = self.cfg, self.ops, self.expected
        lines = [f"result #{m.index} (op #{m.op_index}, acc {m.sel}, seen at cycle {m.cycle}): "
                 f"expected {m.expected}, actual {m.actual}"]
        if m.op_index < 0:
            return lines[0] + " (unexpected extra result)"
        contrib = []
        for i in range(m.op_index - 1, -1, -1):
            if int(ops.sel[i]) != m.sel:
                continue
            if int(ops.op[i]) != OP_ACC:
                contrib.append(i)
                break
            contrib.append(i)
        contrib.reverse()
        lines.append(f"  {len(contrib)} operation(s) on acc {m.sel} since its last load:")
        shown = contrib if len(contrib) <= 2 * limit else contrib[:limit] + contrib[-limit:]
        for i in shown:
            name = OP_NAMES[int(ops.op[i])]
            if int(ops.op[i]) == OP_ACC:
                a = bits_to_ints(ops.a[i:i + 1])[0]
                w = bits_to_ints(ops.w[i:i + 1])[0]
                meta = encode_meta_ints(cfg, ops.meta[i:i + 1])[0]
                lines.append(f"    op #{i} {name} meta=0x{meta:x} a=0x{a:0{cfg.width // 4}x} "
                             f"w=0x{w:0{cfg.width // 4}x} register_sum={int(exp.sums[i])}")
            else:
                lines.append(f"    op #{i} {name} bias={int(ops.bias[i])}")
        return "\n".join(lines)


class DatapathTB:
    """Owns clock, reset, driver, monitor and scoreboard for one operation batch."""

    def __init__(self, dut, cfg: Config):
        self.dut, self.cfg = dut, cfg

    async def reset(self) -> None:
        from cocotb.clock import Clock
        from cocotb.triggers import FallingEdge, RisingEdge

        dut = self.dut
        if not getattr(self, "_clock", None):
            self._clock = Clock(dut.clk, 10, unit="ns")
            self._clock.start()
        dut.i__valid.value = 0
        dut.o__ready.value = 0
        dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.rst.value = 0

    async def run(self, ops: Ops, rng: np.random.Generator, idle: float, ready: float) -> dict:
        """Run ``ops`` to completion, one Python step per cycle; return :func:`outcome`'s dictionary."""
        from cocotb.triggers import FallingEdge, ReadOnly

        await self.reset()
        dut = self.dut
        board = Scoreboard(self.cfg, ops)
        n_expected = len(board.expected.value)
        idle_pat, ready_pat = stall_patterns(ops, rng, idle, ready)
        drv = OpDriver(dut, self.cfg, ops, idle_pat)
        mon = ResultMonitor(dut, self.cfg, ready_pat)
        limit = cycle_limit(int(board.expected.cycles.sum()), idle, ready)
        cycle = 0
        while not (drv.done and len(mon.results) >= n_expected) and cycle < limit:
            drv.drive()
            mon.drive()
            await ReadOnly()
            drv.sample(mon.stalled())
            mon.sample(cycle)
            await FallingEdge(dut.clk)
            cycle += 1
        # a few more cycles: nothing else may come out
        if drv.valid:
            dut.i__valid.value = 0
        dut.o__ready.value = 1
        for _ in range(4):
            await ReadOnly()
            mon.sample(cycle)
            await FallingEdge(dut.clk)
            cycle += 1
        res = mon.results
        got = (np.array([r[0] for r in res], np.int64), np.array([r[1] for r in res], np.int64),
               np.array([r[2] for r in res], dtype=object))
        return outcome(board, got, np.array(drv.op_stats, np.int64).reshape(-1, 3), cycle)


class BulkTB:
    """Hands a whole operation batch to the bulk harness (:mod:`mixlane.sim_tb.bulk`) and checks the results
    it wrote; no Python runs per clock cycle. The DUT handle is the harness (``start`` in, ``done`` out)."""

    def __init__(self, dut, cfg: Config, folder: str | None = None):
        from .bulk import layout

        self.dut, self.cfg = dut, cfg
        self.folder = folder or os.getcwd()
        path = os.environ.get("MIXLANE_BULK_LAYOUT")
        if path:
            with open(path) as fh:
                self.layout = json.load(fh)
        else:
            self.layout = layout(cfg)

    async def run(self, ops: Ops, rng: np.random.Generator, idle: float, ready: float) -> dict:
        """Write the stimulus, run the harness, compute the golden model and compare."""
        from cocotb.triggers import RisingEdge, Timer

        from .bulk import read_results, write_stimulus

        t0 = time.perf_counter()
        idle_pat, ready_pat = stall_patterns(ops, rng, idle, ready)
        busy = int(op_cycles(self.cfg, ops.op, ops.meta).sum())
        write_stimulus(self.cfg, self.layout, self.folder, ops, idle_pat, ready_pat,
                       n_expected=result_count(ops), limit=cycle_limit(busy, idle, ready))
        t1 = time.perf_counter()
        dut = self.dut
        dut.start.value = 0
        await Timer(20, unit="ns")      # two falling edges see start low: the next rise starts a run
        dut.start.value = 1
        await RisingEdge(dut.done)
        dut.start.value = 0
        t2 = time.perf_counter()
        board = Scoreboard(self.cfg, ops)
        t3 = time.perf_counter()
        cycle, sel, value, op_stats, cycles = read_results(self.layout, self.folder)
        out = outcome(board, (cycle, sel, value), op_stats, cycles)
        out["phases"] = {"stimulus": t1 - t0, "simulation": t2 - t1, "golden": t3 - t2,
                         "check": time.perf_counter() - t3}
        return out


def cycle_limit(busy: int, idle: float, ready: float) -> int:
    """Cycles after which a run counts as hung: the golden model's busy cycles, with slack for stalls."""
    return 8 * busy + 64 if (idle or ready < 1) else busy + 64


def digest(got, op_cycles) -> str:
    """SHA-256 (16 hex digits) of a run's observable behaviour: every result ``(cycle, sel, value)`` and every
    operation's cycle count; equal digests mean two runs (e.g. bulk and per-cycle mode) saw the same."""
    import hashlib

    h = hashlib.sha256()
    for column in (*got, op_cycles):
        column = np.asarray(column)
        try:
            ints = column.astype(np.int64)     # exact for int64 and for object arrays of small Python ints
            exact = column.dtype != object or all(int(a) == b for a, b in zip(column.tolist(), ints.tolist()))
        except (TypeError, OverflowError):     # None (unknown bits) or wider than 64 bits
            exact = False
        h.update(ints.astype("<i8").tobytes() if exact else ",".join(map(str, column.tolist())).encode())
        h.update(b";")
    return h.hexdigest()[:16]


def outcome(board: Scoreboard, got, op_stats: np.ndarray, cycles: int) -> dict:
    """Compare a run's results ``got = (cycle, sel, value)`` and per-operation cycles (column 0 of ``op_stats``,
    ``(accepted, 3)``: unstalled, stalled and idle-before cycles) with the golden model: ``{"results",
    "expected", "cycles", "busy_cycles", "mismatches", "cycle_mismatches", "report", "digest", "op_stats",
    "golden", "values"}`` (``golden``: the golden model's :class:`Results`; ``values``: the results the design
    produced, in order)."""
    op_cycles = op_stats[:, 0]
    n_expected, n_ops, accepted = len(board.expected.value), len(board.ops), len(op_cycles)
    bad = board.check(*got)
    slow = board.check_cycles(op_cycles)
    report = ""
    if bad:
        hung = "" if accepted >= n_ops else f" (only {accepted} of {n_ops} operations accepted: hung?)"
        report = (f"{len(bad)} mismatching result(s) of {n_expected}{hung}\n"
                  + "\n".join(board.explain(m) for m in bad[:3]))
    if slow:
        report += (f"\n{len(slow)} operation(s) of {accepted} took the wrong number of cycles\n"
                   + "\n".join(board.explain_cycles(m) for m in slow[:3]))
    return {"results": len(got[2]), "expected": n_expected, "cycles": int(cycles),
            "digest": digest(got, op_stats.ravel()),
            "busy_cycles": int(board.expected.cycles.sum()), "mismatches": len(bad) + len(slow),
            "cycle_mismatches": len(slow), "report": report.strip(), "op_stats": op_stats,
            "golden": board.expected, "values": list(got[2])}


def env_mode() -> str:
    """``"bulk"`` or ``"cycle"``: how the runner built the simulation (``$MIXLANE_MODE``)."""
    return os.environ.get("MIXLANE_MODE", "cycle")


def env_settings() -> tuple[Config, int, int, str | None]:
    """Configuration, seed, vector count and summary path handed over by the runner's environment."""
    with open(os.environ["MIXLANE_CONFIG"]) as fh:
        cfg = Config.from_dict(json.load(fh))
    return (cfg, int(os.environ.get("MIXLANE_SEED", "1")), int(os.environ.get("MIXLANE_VECTORS", "2000")),
            os.environ.get("MIXLANE_SUMMARY"))
