"""Mutation testing of the generated Verilog: how many one-change mutants does the regression kill?

A *site* is one textual change inside one statement of one module of the generated file: an operator swapped
(``+``/``-``, ``&``/``|``, ``^`` to ``&`` or ``|``, comparisons, shift directions), a negation or a
``$signed`` dropped, a sized constant perturbed (+1, -1, top bit flipped), a shift amount changed, the arms of
a ``?:`` swapped, the right operand of ``x = a OP b`` dropped, plus the rules of the configuration's
architecture (:meth:`mixlane.architectures.Architecture.mutation_rules`). Sites are enumerated in text order
and drawn in a seeded random order, so a mutant is reproducible from (configuration, seed, index).

Each mutant runs the regression (:func:`mixlane.sim_tb.runner.run_regression`) in its own process, with a
wall-clock limit: *killed* when a scenario fails (or the simulation crashes or hangs), *survived* when every
scenario passes, *invalid* when the simulator cannot compile it (then the next site of the draw replaces it).
A survivor is then checked for equivalence (:mod:`mixlane.sim_tb.equivalence`, a Yosys proof): *equivalent*
when the mutant provably computes the same function (it does not count, and the next site replaces it, as for
an invalid one), else it stays *survived*.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from mixlane import architectures
from mixlane.config import Config

__all__ = ["Site", "MutantResult", "MutationReport", "MutationError", "SCENARIOS", "VECTORS", "REPLACED",
           "find_modules",
           "enumerate_sites", "apply_site", "draw_order", "run_mutants"]

#: Scenarios run on every mutant unless told otherwise: short, and together they kill most mutants.
SCENARIOS = ("corners", "exhaustive", "overflow", "random_stalls", "random", "dense")
#: Random operations per random scenario of a mutant run.
VECTORS = 100

# operator -> replacements (the generic kinds of the hand-written mutation tests, and their siblings)
_OP_SWAPS = {
    "+": ("-",), "-": ("+",), "*": ("+",),
    "&": ("|",), "|": ("&",), "^": ("&", "|"), "~^": ("^",), "^~": ("^",), "~&": ("&",), "~|": ("|",),
    "&&": ("||",), "||": ("&&",),
    "<": ("<=",), "<=": ("<",), ">": (">=",), ">=": (">",), "==": ("!=",), "!=": ("==",),
    "<<": (">>",), ">>": ("<<",), ">>>": (">>",), "<<<": ("<<",),
}
_OP_KIND = {**dict.fromkeys("+-*", "arithmetic"), **dict.fromkeys(("<", "<=", ">", ">=", "==", "!="), "compare"),
            **dict.fromkeys(("<<", ">>", ">>>", "<<<"), "shift")}
_DROPPABLE = ("^", "|", "&", "+", "-")     # x = a OP b  ->  x = a
_TOKEN = re.compile(r"""
    (?P<esc>\\\S+)                                   # escaped identifier (ends at white space)
  | (?P<num>\d+'[sS]?[hHdDbBoO][0-9a-fA-FxXzZ_?]+|\d+)
  | (?P<id>[A-Za-z_$][\w$]*)
  | (?P<sel>\[[^\]]*\])                              # bit or part select: never mutated
  | (?P<op>>>>|<<<|~\^|\^~|~&|~\||&&|\|\||<=|>=|==|!=|<<|>>|[-+*/%&|^~!<>?:])
  | (?P<punct>[(){},])
  | (?P<ws>\s+)
""", re.X)
_STATEMENT = re.compile(r"^\s*(?:assign\s+)?(?:\\\S+\s+|[A-Za-z_][\w$]*|\{[^}]*\})\s*(?:\[[^\]]*\])?\s*=(?!=)\s*"
                        r"(?P<rhs>.*?)\s*;\s*$")
_DECLARATION = re.compile(r"^\s*(wire|reg|input|output|inout|integer|parameter|localparam)\b")
_ESCAPED_END = re.compile(r"\\\S+$")
_MODULE = re.compile(r"^module\s+(\\\S+|\w+)", re.M)


class MutationError(RuntimeError):
    """The mutation run cannot start or go on (e.g. the unmutated design fails); one-line message."""


@dataclass(frozen=True)
class Site:
    """One mutation: in ``module`` at ``line``/``column`` (1-based, of the whole file) ``old`` becomes ``new``."""

    module: str
    line: int
    column: int
    kind: str
    old: str
    new: str

    def describe(self) -> str:
        return f"{self.module}:{self.line}:{self.column} {self.kind}: {self.old!r} -> {self.new!r}"


# ------------------------------------------------------------------------------------------- sites
def find_modules(text: str, top: str | None = None) -> list[tuple[str, int, int]]:
    """``(short name, first body line, end line)`` per module (1-based lines); ``top.x`` is shortened to ``x``."""
    from mixlane.rtl.generate import TOP_NAME

    top = top or TOP_NAME
    lines = text.splitlines()
    out = []
    for m in _MODULE.finditer(text):
        name = m[1].lstrip("\\")
        name = name[len(top) + 1:] if name.startswith(top + ".") else name
        first = text.count("\n", 0, m.start()) + 1
        end = next(k for k in range(first, len(lines) + 1) if lines[k - 1].strip() == "endmodule")
        out.append((name, first + 1, end))
    return out


def _tokens(rhs: str) -> list[tuple[str, str, int]]:
    out = []
    for m in _TOKEN.finditer(rhs):
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m[0], m.start()))
    return out


def _constant_mutants(tok: str) -> list[str]:
    """A sized literal's neighbours: +1, -1 (wrapping in its width) and its top bit flipped."""
    m = re.fullmatch(r"(\d+)'([sS]?)([hHdDbBoO])([0-9a-fA-F_]+)", tok)
    if not m:
        return []
    width, signed, base, digits = int(m[1]), m[2], m[3], m[4].replace("_", "")
    radix = {"h": 16, "d": 10, "b": 2, "o": 8}[base.lower()]
    value, mask = int(digits, radix), (1 << width) - 1
    fmt = {16: "x", 10: "d", 2: "b", 8: "o"}[radix]
    pad = len(digits) if radix != 10 else 0
    out = []
    for v in ((value + 1) & mask, (value - 1) & mask, value ^ (1 << (width - 1))):
        new = f"{width}'{signed}{base}{v:0{pad}{fmt}}"
        if v != value and new not in out:
            out.append(new)
    return out


def _ternary(tokens, rhs: str) -> tuple[int, int, int, int] | None:
    """``(start, end)`` of both arms of the one top-level ``c ? x : y`` in ``rhs``, else None."""
    depth, q, colon = 0, None, None
    for kind, tok, pos in tokens:
        if tok in "({":
            depth += 1
        elif tok in ")}":
            depth -= 1
        elif depth == 0 and tok == "?":
            if q is not None:
                return None
            q = pos
        elif depth == 0 and tok == ":" and q is not None and colon is None:
            colon = pos
    if q is None or colon is None:
        return None
    a0 = q + 1 + (len(rhs[q + 1:]) - len(rhs[q + 1:].lstrip()))
    b0 = colon + 1 + (len(rhs[colon + 1:]) - len(rhs[colon + 1:].lstrip()))
    return a0, len(rhs[:colon].rstrip()), b0, len(rhs)


def _rhs_sites(rhs: str) -> list[tuple[int, str, str, str]]:
    """``(offset, kind, old, new)`` of every generic mutation of one right-hand side."""
    toks = _tokens(rhs)
    out = []
    for k, (kind, tok, pos) in enumerate(toks):
        prev = toks[k - 1][1] if k else None
        if kind == "op" and tok in _OP_SWAPS:
            out += [(pos, _OP_KIND.get(tok, "logic"), tok, new) for new in _OP_SWAPS[tok]]
        elif kind == "op" and tok in ("~", "!"):
            out.append((pos, "negation dropped", tok, ""))
        elif kind == "num" and "'" in tok:
            out += [(pos, "constant", tok, new) for new in _constant_mutants(tok)]
        elif kind == "num" and prev in ("<<", ">>", "<<<", ">>>"):
            out += [(pos, "shift amount", tok, str(v)) for v in (int(tok) + 1, int(tok) - 1) if v >= 0]
        elif kind == "id" and tok == "$signed" and k + 1 < len(toks) and toks[k + 1][1] == "(":
            out.append((pos, "$signed dropped", tok, ""))
    arms = _ternary(toks, rhs)
    if arms:
        a0, a1, b0, b1 = arms
        out.append((a0, "mux arms swapped", rhs[a0:b1], rhs[b0:b1] + rhs[a1:b0] + rhs[a0:a1]))
    operands = [t for t in toks if t[0] != "sel"]
    if len(operands) == 3 and operands[1][0] == "op" and operands[1][1] in _DROPPABLE \
            and operands[0][0] in ("id", "esc", "num") and operands[2][0] in ("id", "esc", "num"):
        a_end = len(rhs[:operands[1][2]].rstrip())
        out.append((0, "operand dropped", rhs, rhs[:a_end]))
    return out


def enumerate_sites(text: str, rules: Iterable[architectures.MutationRule] = ()) -> list[Site]:
    """Every mutation site of the Verilog ``text``, in text order (deterministic). ``rules`` add
    architecture-specific sites (regular expressions over the statement lines of the modules they name)."""
    lines = text.splitlines()
    rules = tuple(rules)
    sites, seen = [], set()
    for module, first, end in find_modules(text):
        module_rules = [r for r in rules if re.fullmatch(r.modules, module)]
        for n in range(first, end):
            line = lines[n - 1]
            if _DECLARATION.match(line):
                continue
            found = []
            m = _STATEMENT.match(line)
            if m:
                found += [(m.start("rhs") + off, kind, old, new) for off, kind, old, new in _rhs_sites(m["rhs"])]
            for rule in module_rules:
                found += [(r.start(), rule.kind, r[0], r.expand(rule.replacement))
                          for r in re.finditer(rule.pattern, line)]
            for col, kind, old, new in found:
                if _ESCAPED_END.search(new) and not line[col + len(old):col + len(old) + 1].isspace():
                    new += " "     # an escaped identifier ends at white space: keep it from eating the ';'
                key = (n, col, old, new)
                if old != new and key not in seen:
                    seen.add(key)
                    sites.append(Site(module, n, col + 1, kind, old, new))
    return sites


def apply_site(text: str, site: Site) -> str:
    """``text`` with ``site`` applied (exactly one change); ValueError if ``site.old`` is not at its place."""
    lines = text.split("\n")
    line = lines[site.line - 1]
    c = site.column - 1
    if line[c:c + len(site.old)] != site.old:
        raise ValueError(f"{site.describe()}: {site.old!r} is not at line {site.line}, column {site.column}")
    lines[site.line - 1] = line[:c] + site.new + line[c + len(site.old):]
    return "\n".join(lines)


def draw_order(n_sites: int, seed: int) -> list[int]:
    """The order in which sites are tried: a permutation of ``range(n_sites)`` fixed by ``seed``."""
    order = list(range(n_sites))
    random.Random(seed).shuffle(order)
    return order


# ------------------------------------------------------------------------------------------ running
@dataclass
class MutantResult:
    """The verdict on one mutant: ``killed``, ``survived``, ``equivalent`` (survived, proven equivalent) or
    ``invalid`` (did not compile). ``detail`` of a survivor or an equivalent mutant is the check's outcome."""

    index: int                 # position in the draw order (0-based)
    site: Site
    verdict: str
    scenario: str = ""         # failing scenarios of a killed mutant, comma-separated ("crash", "timeout", ...)
    detail: str = ""
    seconds: float = 0.0
    folder: str = ""
    equiv_seconds: float = 0.0  # the equivalence check of a survivor


#: Verdicts that do not count: the next site of the draw replaces the mutant.
REPLACED = ("invalid", "equivalent")


@dataclass
class MutationReport:
    config: dict
    sim: str
    seed: int
    vectors: int
    scenarios: list[str]
    sites: int                 # mutation sites of the design
    results: list[MutantResult] = field(default_factory=list)
    baseline_seconds: float = 0.0
    seconds: float = 0.0
    equivalence_check: bool = True

    @property
    def valid(self) -> list[MutantResult]:
        """The mutants that count: neither invalid nor proven equivalent."""
        return [r for r in self.results if r.verdict not in REPLACED]

    @property
    def equivalent(self) -> list[MutantResult]:
        return [r for r in self.results if r.verdict == "equivalent"]

    @property
    def killed(self) -> int:
        return sum(r.verdict == "killed" for r in self.results)

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if r.verdict == "survived"]

    @property
    def score(self) -> float:
        return 100.0 * self.killed / len(self.valid) if self.valid else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(killed=self.killed, valid=len(self.valid), equivalent=len(self.equivalent),
                 score=round(self.score, 2))
        return d


def _job(cfg: Config, rtl: Path, sim: str, vectors: int, seed: int, scenarios: list[str]) -> dict:
    return {"config": cfg.to_dict(), "rtl": str(rtl), "sim": sim, "vectors": vectors, "seed": seed,
            "scenarios": scenarios}


def _prepare(cfg: Config, sim: str, scenarios: list[str] | None,
             equivalence: bool) -> tuple[str, list[Site], list[str]]:
    """Check the simulator, the prover and the scenarios; the design's Verilog, its sites and the scenarios."""
    from mixlane.rtl.generate import to_verilog
    from mixlane.synth.tools import SynthError

    from . import stimulus
    from .equivalence import check_prover
    from .runner import check_simulator

    check_simulator(sim)
    if equivalence:
        try:
            check_prover()
        except SynthError as exc:
            raise MutationError(f"equivalence check: {exc} (or pass --no-equiv-check)") from None
    scenarios = list(scenarios or SCENARIOS)
    unknown = [s for s in scenarios if s not in stimulus.SCENARIOS]
    if unknown:
        raise MutationError(f"--scenario: {unknown[0]!r} is unknown; use some of {list(stimulus.SCENARIOS)}")
    text = to_verilog(cfg)
    sites = enumerate_sites(text, architectures.get(cfg.mac).mutation_rules(cfg))
    return text, sites, scenarios


def run_mutants(cfg: Config, *, out_dir: str | Path, count: int = 50, seed: int = 1, sim: str = "icarus",
                vectors: int = VECTORS, scenarios: list[str] | None = None, jobs: int = 1,
                timeout: float | None = None, equivalence: bool = True, equiv_timeout: float | None = None,
                progress: Callable[[MutantResult], None] | None = None) -> MutationReport:
    """Verify ``count`` mutants of ``cfg``'s Verilog (sites drawn with ``seed``; the stimulus uses ``seed`` too),
    ``jobs`` at a time. The unmutated design runs first and must pass; its time sets the per-mutant limit
    (``timeout``, default 10x and at least 120 s). With ``equivalence`` each survivor is checked (each Yosys
    step limited to ``equiv_timeout``, default 60 s); a proven one is replaced by the next site. ``progress``
    sees each verdict as it arrives."""
    from .equivalence import DEFAULT_TIMEOUT, EquivalenceChecker

    t_start = time.perf_counter()
    text, sites, scenarios = _prepare(cfg, sim, scenarios, equivalence)
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "original.v").write_text(text)
    report = MutationReport(config=cfg.to_dict(), sim=sim, seed=seed, vectors=vectors, scenarios=scenarios,
                            sites=len(sites), equivalence_check=equivalence)
    checker = EquivalenceChecker(text, out / "equiv", timeout=equiv_timeout or DEFAULT_TIMEOUT) \
        if equivalence else None
    base = _run_job(_job(cfg, out / "original.v", sim, vectors, seed, scenarios), out / "original", 3600)
    if base["verdict"] != "survived":
        raise MutationError(f"the unmutated design does not pass verify ({base['verdict']}: "
                            f"{base.get('detail') or base.get('scenario')}); fix that first, see {out / 'original'}")
    report.baseline_seconds = base["seconds"]
    limit = timeout or max(120.0, 10 * base["seconds"])
    order = draw_order(len(sites), seed)

    def one(k: int) -> MutantResult:
        site, folder = sites[order[k]], out / "mutants" / f"{k:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        mutant = apply_site(text, site)
        (folder / "mutant.v").write_text(mutant)
        (folder / "site.txt").write_text(site.describe() + "\n")
        v = _run_job(_job(cfg, folder / "mutant.v", sim, vectors, seed, scenarios), folder, limit)
        res = MutantResult(k, site, v["verdict"], v.get("scenario", ""), v.get("detail", ""),
                           round(v["seconds"], 2), str(folder))
        if res.verdict == "survived" and checker:
            eq = checker.check(mutant, folder / "equiv")
            res.verdict = "equivalent" if eq.proven else "survived"
            res.detail, res.equiv_seconds = eq.reason, eq.seconds
        return res

    report.results = _drain(one, count, len(order), jobs, progress)
    report.seconds = time.perf_counter() - t_start
    return report


def _drain(one: Callable[[int], MutantResult], count: int, available: int, jobs: int,
           progress: Callable[[MutantResult], None] | None) -> list[MutantResult]:
    """Run ``one(0)``, ``one(1)``, ... until ``count`` verdicts are not in :data:`REPLACED` (or the draw runs
    out)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    results: list[MutantResult] = []
    nxt = 0
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending = set()
        while nxt < min(count, available):
            pending.add(pool.submit(one, nxt))
            nxt += 1
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                r = fut.result()
                results.append(r)
                if progress:
                    progress(r)
                if r.verdict in REPLACED and nxt < available:
                    pending.add(pool.submit(one, nxt))
                    nxt += 1
    return sorted(results, key=lambda r: r.index)


def _worker_command(job: Path) -> list[str]:
    return [sys.executable, "-m", "mixlane.sim_tb.mutate", str(job)]


def _run_job(job: dict, folder: Path, timeout: float) -> dict:
    """Run one regression in a child process (own session, killed with its simulator after ``timeout``)."""
    from .runner import plugin_env

    folder.mkdir(parents=True, exist_ok=True)
    job_path, result_path = folder / "job.json", folder / "verdict.json"
    result_path.unlink(missing_ok=True)
    job_path.write_text(json.dumps({**job, "out": str(folder / "run"), "result": str(result_path)}))
    t0 = time.perf_counter()
    with open(folder / "worker.log", "wb") as log:
        proc = subprocess.Popen(_worker_command(job_path), stdout=log, stderr=subprocess.STDOUT,
                                env={**os.environ, **plugin_env()}, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"verdict": "killed", "scenario": "timeout", "detail": f"no verdict after {timeout:.0f} s",
                    "seconds": time.perf_counter() - t0}
    if not result_path.exists():
        return {"verdict": "killed", "scenario": "crash", "seconds": time.perf_counter() - t0,
                "detail": f"worker exited {proc.returncode} without a verdict; see {folder / 'worker.log'}"}
    return {**json.loads(result_path.read_text()), "seconds": time.perf_counter() - t0}


def _verdict(job: dict) -> dict:
    """In the child: the regression of ``job`` as a verdict."""
    from .runner import ToolError, run_regression

    cfg = Config.from_dict(job["config"])
    try:
        res = run_regression(cfg, sim=job["sim"], out_dir=job["out"], vectors=job["vectors"], seed=job["seed"],
                             rtl=job["rtl"], scenarios=job["scenarios"], fast_build=True)
    except ToolError as exc:
        invalid = "build failed" in str(exc)
        return {"verdict": "invalid" if invalid else "killed", "scenario": "" if invalid else "crash",
                "detail": str(exc)}
    shutil.rmtree(Path(job["out"]) / f"sim_{job['sim']}", ignore_errors=True)   # the build, large
    if res.passed:
        return {"verdict": "survived"}
    if not res.failures:
        return {"verdict": "killed", "scenario": "incomplete", "detail": f"a scenario did not finish; see {res.log}"}
    names = [f.split(":")[0].strip() for f in res.failures]
    lines = res.failures[0].splitlines()
    detail = next((ln.strip() for ln in lines if "mismatch" in ln), lines[0])
    return {"verdict": "killed", "scenario": ",".join(names), "detail": detail[:300]}


def _main(argv: list[str]) -> int:
    job = json.loads(Path(argv[0]).read_text())
    Path(job["result"]).write_text(json.dumps(_verdict(job)))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
