"""Running a sweep: every valid point is one job (its steps in order, each reused from the cache when its key
matches), run by local worker threads ``jobs`` at a time or by Ray tasks. A job is a ``python -m mixlane.sweep.worker``
process, so a point that hangs is killed at the spec's ``timeout`` and recorded, and the sweep goes on; an
interrupted sweep resumes from the results on disk."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Callable

from mixlane.config import Config
from .cache import read_result, step_dir, step_key, write_result
from .spec import Point, SweepError, SweepSpec, points
from .steps import STEPS

__all__ = ["run_point", "run_sweep", "EXECUTORS"]

EXECUTORS = ("local", "ray")


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"


def run_point(config: dict[str, Any], steps: list[str], options: dict[str, dict], out: str,
              retry_failed: bool = False) -> list[dict[str, Any]]:
    """Run (or reuse) the steps of one configuration; stops at the first failing step. Step output goes to
    ``step.log`` in the step's folder. Returns one result dict per step reached."""
    cfg = Config.from_dict(config)
    results = []
    for name in steps:
        step = STEPS[name]
        opts = step.resolved(options.get(name, {}))
        key = step_key(cfg.to_dict(), name, opts, step.packages)
        folder = step_dir(Path(out), cfg.content_hash, name, opts)
        prev = read_result(folder)
        if prev and prev.get("key") == key and (prev["status"] == "ok" or not retry_failed):
            results.append({**prev, "cached": True})
            if prev["status"] != "ok":
                break
            continue
        folder.mkdir(parents=True, exist_ok=True)
        res = _run_step(step, cfg, folder, opts, key)
        write_result(folder, res)
        results.append({**res, "cached": False})
        if res["status"] != "ok":
            break
    return results


def _run_step(step, cfg: Config, folder: Path, opts: dict, key: str) -> dict[str, Any]:
    from mixlane.sim_tb.runner import quietly

    t0 = time.perf_counter()
    log = folder / "step.log"
    log.unlink(missing_ok=True)

    def attempt():
        try:
            return step.run(cfg, folder, **opts), "ok", ""
        except Exception as exc:   # a failing point is recorded, never fatal to the sweep
            traceback.print_exc()
            return {}, "failed", _one_line(exc)
    metrics, status, error = quietly(True, log, attempt)
    return {"step": step.name, "key": key, "status": status, "metrics": metrics, "error": error,
            "seconds": round(time.perf_counter() - t0, 3), "log": str(log)}


def _job(point: Point, spec: SweepSpec, out: Path, retry_failed: bool) -> dict[str, Any]:
    """One point in a worker process (killed after ``spec.timeout`` seconds)."""
    args = {"config": point.config.to_dict(), "steps": list(spec.steps), "options": spec.options,
            "out": str(out), "retry_failed": retry_failed}
    with tempfile.TemporaryDirectory() as tmp:
        a, r = Path(tmp) / "args.json", Path(tmp) / "results.json"
        a.write_text(json.dumps(args))
        try:
            proc = subprocess.run([sys.executable, "-m", "mixlane.sweep.worker", str(a), str(r)],
                                  capture_output=True, text=True, timeout=spec.timeout)
        except subprocess.TimeoutExpired:
            return {"point": point.index, "status": "timeout",
                    "error": f"timeout: the point's steps took more than {spec.timeout:g} s"}
        if proc.returncode != 0 or not r.exists():
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            return {"point": point.index, "status": "failed", "error": f"worker exited {proc.returncode}: {tail}"}
        steps = json.loads(r.read_text())
    status = "ok" if all(s["status"] == "ok" for s in steps) and len(steps) == len(spec.steps) else "failed"
    return {"point": point.index, "status": status, "steps": steps,
            "error": next((f"{s['step']}: {s['error']}" for s in steps if s["status"] != "ok"), "")}


def run_sweep(spec: SweepSpec, out: str | Path, *, jobs: int = 1, retry_failed: bool = False,
              executor: str = "local", address: str | None = None,
              progress: Callable[[dict], None] | None = None) -> list[dict[str, Any]]:
    """Run every valid point (points that are the same configuration once); returns one outcome per point
    (invalid ones with their configuration error).
    ``executor``: ``local`` (``jobs`` worker processes) or ``ray`` (one Ray task per point, each starting the
    same worker process; ``address`` of a cluster, else a local Ray with ``jobs`` CPUs). ``progress`` is called
    after each point with the running counts."""
    if executor not in EXECUTORS:
        raise SweepError(f"--executor: {executor!r} is not an executor; use one of {list(EXECUTORS)}")
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    pts = points(spec)
    outcomes: dict[int, dict] = {p.index: {"point": p.index, "status": "invalid", "error": p.error}
                                 for p in pts if p.config is None}
    counts = {"done": 0, "failed": 0, "cached": 0, "running": 0, "invalid": len(outcomes), "total": len(pts)}
    same: dict[str, list[Point]] = {}          # points that are the same configuration run once
    for p in pts:
        if p.config is not None:
            same.setdefault(p.config.content_hash, []).append(p)
    run = _run_ray if executor == "ray" else _run_local
    left = len(same)
    counts["running"] = min(max(1, jobs), left)
    if progress:
        progress(dict(counts))
    for res in run([group[0] for group in same.values()], spec, out, retry_failed, jobs, address):
        left -= 1
        counts["running"] = min(max(1, jobs), left)
        for p in same[pts[res["point"]].config.content_hash]:
            outcomes[p.index] = {**res, "point": p.index}
            counts["done"] += 1
            counts["failed"] += res["status"] != "ok"
            counts["cached"] += bool(res.get("steps")) and all(s.get("cached") for s in res["steps"])
            if progress:
                progress(dict(counts))
    return [outcomes[p.index] for p in pts]


def _run_local(valid: list[Point], spec: SweepSpec, out: Path, retry_failed: bool, jobs: int, address):
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = [pool.submit(_job, p, spec, out, retry_failed) for p in valid]
        for fut in as_completed(futures):
            yield fut.result()


def _run_ray(valid: list[Point], spec: SweepSpec, out: Path, retry_failed: bool, jobs: int, address):
    try:
        import ray
    except ImportError:
        raise SweepError("--executor ray: Ray is not installed; pip install 'mixlane[ray]'") from None
    started = not ray.is_initialized()
    if started:
        kw = {"address": address} if address else {"num_cpus": max(1, jobs)}
        ray.init(include_dashboard=False, log_to_driver=False, ignore_reinit_error=True, **kw)
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_job)
        pending = [task.remote(p, spec, out, retry_failed) for p in valid]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            yield ray.get(done[0])
    finally:
        if started:
            ray.shutdown()
