"""A sample of images through the generated Verilog: every operation of every layer, checked bit for bit."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mixlane.golden import Ops
from .infer import Inference

__all__ = ["check_on_rtl", "mismatching_images"]


def mismatching_images(values, n_results: int, logits: np.ndarray) -> int:
    """Images whose logits ``(images, classes)`` differ from the last read-outs of ``values`` (the design's
    read-outs of the whole stream, ``n_results`` expected; the classifier's outputs are read class-major).
    A missing or unknown read-out counts every image."""
    images, classes = logits.shape
    if len(values) != n_results or any(v is None for v in values[-images * classes:]):
        return images
    rtl = np.array([int(v) for v in values[-images * classes:]], np.int64).reshape(classes, images).T
    return int((rtl != logits).any(axis=1).sum())


def check_on_rtl(cfg, inf: Inference, images: int, *, sim: str, out_dir: str | Path, mode: str = "bulk") -> dict:
    """Run the operations collected in ``inf`` (all layers of ``images`` images, one chunk) on the generated
    datapath with ``sim`` and compare. The cocotb scoreboard checks every read-out (every output of every layer)
    and every operation's cycles against the golden model; in addition the design's read-out values are taken
    back and the last layer's ones compared with the golden logits image by image.

    Returns ``images_checked``, ``mismatches`` (images whose logits differ), ``results_checked``,
    ``result_mismatches`` (scoreboard), ``operations``, ``sim``, ``mode``, ``seconds``, ``passed``."""
    from mixlane.sim_tb.runner import run_regression
    from mixlane.sim_tb.stimulus import save_ops

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ops = Ops.concat(inf.ops)
    expected = np.concatenate(inf.expected)
    ops_file = out / "network_ops.npz"
    save_ops(ops_file, ops)
    values_file = out / f"values_{sim}.npy"
    values_file.unlink(missing_ok=True)          # never compare an earlier run's read-outs
    t0 = time.perf_counter()
    res = run_regression(cfg, sim=sim, out_dir=out, ops_file=ops_file, mode=mode, fast_build=True)
    seconds = time.perf_counter() - t0
    got = np.load(values_file, allow_pickle=True) if values_file.exists() else np.zeros(0, dtype=object)
    bad_images = mismatching_images(got, len(expected), inf.logits[:images])
    scoreboard = sum(t["mismatches"] for t in res.tests) if res.tests else len(expected)
    return {"images_checked": int(images), "mismatches": bad_images, "results_checked": int(len(expected)),
            "result_mismatches": int(scoreboard), "operations": int(len(ops)), "sim": sim, "mode": mode,
            "seconds": round(seconds, 2), "passed": bool(res.passed and bad_images == 0 and len(got) == len(expected)),
            "log": res.log}
