"""``mixlane prove``: formal equivalence of every MAC lane of a design with a behavioural reference.

What is proved, per distinct lane module of the Verilog (generated from the configuration, or a given file) and
per precision code of the configuration, with ``en`` = 1: for **every** value of the lane's ``a`` and ``w``
slices (and of any lane port bit the contract does not name), the lane's result read through its
:class:`~mixlane.rtl.contract.LaneContract` equals the reference of :mod:`mixlane.formal.harness`:

- single-cycle ``"sum"`` lanes: ``(sum + carry + offsets[code][0]) >> shifts[code]`` == the sum of products,
  and the low ``shifts[code]`` bits are zero;
- multi-cycle lanes: one copy of the lane per step ``s`` of the operation (``step`` tied to ``s``, operands
  shared) and ``sum_s(((sum + carry + offsets[code][s]) >> shift) << weights[code][s])`` == the sum of products.
  This is the bounded proof over one operation's cycles: the lanes are combinational (their ``step`` input is
  the datapath's counter), so the values the datapath adds in cycles ``0 .. cycles - 1`` are exactly these;
- ``"apart"`` lanes: ``vec`` == the products, product ``k`` modulo ``2**(2p)`` in bits ``2kp ..``.

Every comparison is exact (integers wide enough never to wrap), which is stronger than the datapath needs (its
tree wraps at the register-sum width). Each proof is one Yosys ``sat -prove ok 1``; for lanes of 8 or more bits
the proof is split into ``2**split`` cases by the value of the top ``split`` bits of ``w`` (all cases together
cover every input; constant-weight cases are far easier for the SAT solver than one multiplier miter).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from amaranth.hdl import Shape
from amaranth.lib import wiring

from mixlane.synth.tools import DEFAULT_YOSYS, find_tool, yosys_version

from .harness import HARNESS_TOP, LaneHarness
from .lanes import LaneModule, ProveError, read_lanes

__all__ = ["Proof", "ProveReport", "prove", "lane_contract", "default_split", "element_values"]

_ROW = re.compile(r"^\s+\\(\S+)\s+\S+\s+\S+\s+([01xz]+)\s*$")


@dataclass
class Proof:
    """One proof: a lane module at one precision code (``status``: ``proved``, ``counterexample``,
    ``timeout``)."""

    module: str
    slots: tuple[int, ...]
    code: int
    precision: int
    steps: int
    cases: int
    status: str
    seconds: float
    counterexample: dict | None = None
    #: ``"every input"``, or what the cases fix (an architecture's :meth:`proof_weights`)
    scope: str = "every input"


@dataclass
class ProveReport:
    """Every proof of a design, with the configuration, the Verilog proved and the engine."""

    config: dict
    config_hash: str
    rtl: str
    engine: str
    proofs: list[Proof] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(p.status == "proved" for p in self.proofs)

    def to_dict(self) -> dict:
        return {"config": self.config, "config_hash": self.config_hash, "rtl": self.rtl, "engine": self.engine,
                "passed": self.passed, "seconds": round(sum(p.seconds for p in self.proofs), 3),
                "proofs": [asdict(p) for p in self.proofs]}


def lane_contract(cfg):
    """``(contract, members)`` of the configuration's lane: its :class:`LaneContract` and its ports as
    ``name -> ("in" | "out", width)``."""
    from mixlane.rtl.contract import check_lane

    arch = cfg.architecture
    lane = arch.lane_class()(**arch.lane_params(cfg))
    lane._MustUse__silence = True       # built for its contract and ports only (Amaranth's opt-out flag)
    contract = check_lane(lane, lane_bits=arch.lane_width(cfg), code_bits=cfg.code_bits)
    members = {name: ("in" if m.flow == wiring.In else "out", Shape.cast(m.shape).width)
               for name, m in lane.signature.members.items()}
    return contract, members


def default_split(cfg) -> int:
    """Top bits of ``w`` enumerated case by case: 4 of 8-bit lanes (16 cases), none below."""
    return max(0, cfg.lane_bits - 4)


def element_values(cfg, bits: int, precision: int, operand: str) -> list[int]:
    """The element values a lane slice ``bits`` holds at ``precision`` (for printing counterexamples)."""
    out = []
    for k in range(cfg.architecture.lane_elements(cfg, precision)):
        x = bits >> (k * precision) & ((1 << precision) - 1)
        if precision == 1:
            out.append(2 * x - 1 if cfg.binary == "bipolar" else x)
            continue
        signed = cfg.activation_signed if operand == "a" else cfg.weight_signed
        out.append(x - (1 << precision) if signed and x >> (precision - 1) else x)
    return out


def _model(log: str) -> dict[str, str] | None:
    """The first failing model of a sat log: signal -> bit string (None when every case was proved)."""
    at = log.find("model found: FAIL!")
    if at < 0:
        return None
    rows = {}
    for line in log[at:].splitlines()[1:]:
        m = _ROW.match(line)
        if m:
            rows[m.group(1)] = m.group(2)
        elif rows and not line.strip():
            break
    return rows


def _counterexample(cfg, proof: Proof, rows: dict[str, str], apart: bool, lane: LaneModule) -> dict:
    tied = [(sum(1 << i for i in lane.tied(n)), sum(b << i for i, b in lane.tied(n).items())) for n in "aw"]
    as_int = lambda s: int(s.replace("x", "0").replace("z", "0"), 2)  # noqa: E731
    signed = lambda s: as_int(s) - (1 << len(s)) * (s[0] == "1") if not apart else as_int(s)  # noqa: E731
    a, w = (as_int(rows[n]) & ~mask | value for n, (mask, value) in zip("aw", tied))
    return {"a_bits": a, "w_bits": w, "a": element_values(cfg, a, proof.precision, "a"),
            "w": element_values(cfg, w, proof.precision, "w"), "expected": signed(rows["expected"]),
            "actual": signed(rows["actual"]), "aligned": rows.get("aligned", "1") == "1",
            "free_bits": as_int(rows.get("free", "0"))}


def _script(lane_file: str, harness_file: str, split: int, lane_bits: int, weights=None) -> str:
    lines = [f"read_verilog {lane_file}", f"read_rtlil {harness_file}", f"hierarchy -top {HARNESS_TOP}",
             "proc", "flatten", "opt_clean"]
    show = "-show-inputs -show-outputs"
    if weights is not None:
        return "\n".join(lines + [f"sat -prove ok 1 -set w {v} {show}" for v in weights]) + "\n"
    if not split:
        return "\n".join(lines + [f"sat -prove ok 1 {show}"]) + "\n"
    top = f"w[{lane_bits - 1}:{lane_bits - split}]"
    return "\n".join(lines + [f"sat -prove ok 1 -set {top} {v} {show}" for v in range(1 << split)]) + "\n"


def _run(exe: str, work: Path, script: str, timeout: float | None) -> tuple[str | None, float]:
    """Run Yosys on ``script`` in ``work``; ``(log text, seconds)``, log ``None`` on timeout."""
    log = Path(script).with_suffix(".log").name
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([exe, "-q", "-l", log, script], cwd=work, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    seconds = time.perf_counter() - t0
    text = (work / log).read_text(errors="replace") if (work / log).exists() else ""
    if proc.returncode != 0:
        err = next((ln.strip() for ln in (text + proc.stderr).splitlines() if ln.startswith("ERROR")), None)
        raise ProveError(f"yosys {script} failed (exit {proc.returncode}): {err or proc.stderr.strip()[-200:]} "
                         f"(log: {work / log})")
    return text, seconds


def _prove_one(cfg, lane: LaneModule, index: int, contract, code: int, work: Path, exe: str, split: int,
               timeout: float | None) -> Proof:
    from amaranth.back import rtlil

    stem = f"lane{index}_c{code}"
    harness = LaneHarness(cfg=cfg, lane=lane, contract=contract, code=code)
    (work / f"{stem}.il").write_text(rtlil.convert(harness, name=HARNESS_TOP))
    weights = cfg.architecture.proof_weights(cfg)
    (work / f"{stem}.ys").write_text(_script(f"lane{index}.v", f"{stem}.il", split,
                                             cfg.architecture.lane_width(cfg), weights))
    proof = Proof(module=lane.module, slots=lane.slots, code=code, precision=cfg.precisions[code],
                  steps=contract.cycles[code], cases=1 << split if weights is None else len(weights),
                  status="timeout", seconds=0.0)
    if weights is not None:
        proof.scope = f"every activation; w fixed to {len(weights)} values (weights per element in " \
                      f"{{{', '.join(map(str, cfg.architecture.proof_weight_values(cfg)))}}})"
    log, proof.seconds = _run(exe, work, f"{stem}.ys", timeout)
    if log is None:
        return proof
    cases = log.count("no model found: SUCCESS!")
    rows = _model(log)
    if rows is not None:
        proof.status = "counterexample"
        proof.counterexample = _counterexample(cfg, proof, rows, contract.kind == "apart", lane)
    elif cases == proof.cases:
        proof.status = "proved"
    else:
        raise ProveError(f"yosys {stem}.ys: {cases} of {proof.cases} cases reported (log: {work / stem}.log)")
    return proof


_SEQ_ROW = re.compile(r"^\s+(\d+)\s+\\(\S+)\s+\S+\s+\S+\s+([01xz]+)\s*$")


def _last_step(log: str) -> dict[str, str] | None:
    """Signal -> bit string at the last time step of a failing ``sat -seq`` model (None when proved)."""
    at = log.find("model found: FAIL!")
    if at < 0:
        return None
    rows: dict[int, dict[str, str]] = {}
    for line in log[at:].splitlines():
        m = _SEQ_ROW.match(line)
        if m:
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
    return rows[max(rows)] if rows else {}


def _prove_register(cfg, precision: int, design: str, work: Path, exe: str, timeout: float | None) -> Proof:
    """The bounded whole-register proof at ``precision`` (:mod:`mixlane.formal.register`)."""
    from amaranth.back import rtlil

    from .register import REGISTER_TOP, RegisterHarness, register_layout

    stem = f"register_p{precision}"
    steps = cfg.architecture.cycles(cfg, precision) + 5      # reset, the ACC's cycles, READ, result, done
    (work / f"{stem}.il").write_text(rtlil.convert(RegisterHarness(cfg=cfg, precision=precision),
                                                   name=REGISTER_TOP))
    (work / f"{stem}.ys").write_text("\n".join([
        f"read_verilog {design}", f"read_rtlil {stem}.il", f"hierarchy -top {REGISTER_TOP}", "proc", "flatten",
        "opt_clean", f"sat -seq {steps} -prove ok 1 -prove-skip {steps - 1} -set-init-zero -set rst 0 "
                     f"-show held_a,held_w,expected,result,done"]) + "\n")
    proof = Proof(module="register (whole datapath)", slots=tuple(range(cfg.slots)),
                  code=cfg.precisions.index(precision), precision=precision, steps=steps, cases=1,
                  status="timeout", seconds=0.0)
    log, proof.seconds = _run(exe, work, f"{stem}.ys", timeout)
    if log is None:
        return proof
    rows = _last_step(log)
    if rows is None:
        proof.status = "proved" if "no model found: SUCCESS!" in log else "timeout"
        return proof
    as_int = lambda s: int(s.replace("x", "0").replace("z", "0"), 2) if s else 0  # noqa: E731
    signed = lambda s: as_int(s) - ((1 << len(s)) if s and s[0] == "1" else 0)  # noqa: E731
    a, w = as_int(rows.get("held_a", "")), as_int(rows.get("held_w", ""))
    _, elements = register_layout(cfg, precision)
    values = lambda bits, op: [element_values(cfg, bits >> o, p, op)[0] for o, p in elements]  # noqa: E731
    proof.status = "counterexample"
    proof.counterexample = {"a_bits": a, "w_bits": w, "a": values(a, "a"), "w": values(w, "w"),
                            "expected": signed(rows.get("expected", "")),
                            "actual": signed(rows.get("result", "")) if rows.get("done") == "1" else None,
                            "aligned": True, "free_bits": 0}
    return proof


def prove(cfg, work: str | Path, *, rtl: str | Path | None = None, yosys: str = DEFAULT_YOSYS,
          timeout: float | None = None, split: int | None = None, register: bool = False,
          progress=None) -> ProveReport:
    """Prove every distinct lane module of ``cfg``'s datapath (generated into ``work``, or ``rtl``) at every
    precision code; ``timeout`` seconds per (module, code). ``register`` adds the whole-register proof of
    :mod:`mixlane.formal.register` at every precision of the mode (``"sum"`` lanes only). Raises :class:`ProveError` (one line) when a tool is missing or the file has no lanes of this
    configuration."""
    from mixlane.rtl.generate import TOP_NAME, write_design

    work = Path(work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if rtl is not None and not Path(rtl).is_file():
        raise ProveError(f"--rtl: file {str(rtl)!r} not found")
    exe = find_tool(yosys)
    source = Path(rtl) if rtl is not None else write_design(cfg, work / "rtl")
    contract, members = lane_contract(cfg)
    lanes = read_lanes(source, work, top=TOP_NAME, members=members, yosys=yosys, timeout=timeout)
    split = default_split(cfg) if split is None else max(0, min(split, cfg.architecture.lane_width(cfg)))
    report = ProveReport(config=cfg.to_dict(), config_hash=cfg.content_hash, rtl=str(source),
                         engine=yosys_version(yosys))
    for index, lane in enumerate(lanes):
        (work / f"lane{index}.v").write_text(lane.text)
        for code in range(len(cfg.precisions)):
            if not (lane.accepts("code", code) and lane.accepts("en", 1)):
                continue        # a module specialised for other codes (or disabled) never sees this one
            proof = _prove_one(cfg, lane, index, contract, code, work, exe, split, timeout)
            report.proofs.append(proof)
            if progress:
                progress(proof)
    if register and contract.kind == "sum":
        for p in cfg.mode_precisions:
            report.proofs.append(_prove_register(cfg, p, "design.v", work, exe, timeout))
            if progress:
                progress(report.proofs[-1])
    (work / "prove.json").write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    return report
