"""The sweep's results as one table: ``results.csv``, ``results.json`` and ``results.sqlite`` (table
``points``), one row per point: its axis values, configuration hash and summary fields, status, error, the
metrics of every step and each step's seconds."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

from .spec import Point

__all__ = ["rows", "write_table", "TABLE_FILES"]

TABLE_FILES = ("results.csv", "results.json", "results.sqlite")
_SUMMARY = ("mac", "width", "precision_mode", "precisions", "outputs")


def _plain(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return v


def rows(pts: list[Point], outcomes: list[dict]) -> list[dict[str, Any]]:
    out = []
    for p, o in zip(pts, outcomes):
        row: dict[str, Any] = {"point": p.index, "status": o["status"], "error": o.get("error", "")}
        row.update({f"axis_{k}": _plain(v) for k, v in p.fields.items()})
        if p.config is not None:
            d = p.config.to_dict()
            row["config_hash"] = p.config.content_hash
            row.update({k: _plain(d[k]) for k in _SUMMARY})
        for s in o.get("steps", []):
            row.update({k: _plain(v) for k, v in s.get("metrics", {}).items()})
            row[f"{s['step']}_seconds"] = s.get("seconds")
            row[f"{s['step']}_cached"] = s.get("cached")
        out.append(row)
    return out


def write_table(table: list[dict[str, Any]], out: Path) -> list[Path]:
    out = Path(out)
    cols: list[str] = []
    for r in table:
        cols += [c for c in r if c not in cols]
    with open(out / "results.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(table)
    (out / "results.json").write_text(json.dumps(table, indent=1, default=str) + "\n")
    db = out / "results.sqlite"
    db.unlink(missing_ok=True)
    con = sqlite3.connect(db)
    try:
        con.execute("CREATE TABLE points (" + ", ".join(f'"{c}"' for c in cols) + ")")
        con.executemany("INSERT INTO points VALUES (" + ", ".join("?" * len(cols)) + ")",
                        [[r.get(c) for c in cols] for r in table])
        con.commit()
    finally:
        con.close()
    return [out / f for f in TABLE_FILES]
