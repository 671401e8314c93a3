"""The sweep spec (TOML) and its points.

    steps = ["generate", "verify", "synth"]      # run in this order on every point
    [base]                                       # a configuration: preset = "NAME" plus schema fields
    preset = "default"
    [axes]                                       # the product of these lists
    width = [64, 128, 256]
    mac = ["sum_together", "bitfusion"]
    [[zip]]                                      # lists of equal length that vary together (repeatable)
    precisions = [[1, 2, 4], [2, 4, 8]]
    precision_mode = ["uniform", "channel"]
    [options.verify]                             # keyword options of a step
    vectors = 500

Points are the product of the axes and of every zip group, in spec order. A point whose fields do not make a
valid configuration keeps the configuration's one-line error and is skipped, not fatal.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixlane.config import Config, ConfigError, preset

__all__ = ["SweepError", "SweepSpec", "Point", "load_spec", "parse_spec", "points"]


class SweepError(ValueError):
    """A malformed sweep spec or a sweep that cannot start; the message is one line naming the fix."""


@dataclass(frozen=True)
class SweepSpec:
    steps: tuple[str, ...]
    base: dict[str, Any]
    axes: dict[str, list]
    zips: tuple[dict[str, list], ...] = ()
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    timeout: float | None = None          # seconds per point (all its steps)


@dataclass(frozen=True)
class Point:
    index: int
    fields: dict[str, Any]                # the axis values of this point
    config: Config | None                 # None when the fields are not a valid configuration
    error: str = ""

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.fields.items()) or "base"


_FIELDS = {f for f in Config.__dataclass_fields__}
_TOP = {"steps", "base", "axes", "zip", "options", "timeout"}


def _check_field_lists(where: str, table: Any) -> dict[str, list]:
    if not isinstance(table, dict):
        raise SweepError(f"{where}: expected a table of field = [values]")
    for key, values in table.items():
        if key not in _FIELDS:
            raise SweepError(f"{where}.{key}: not a configuration field; use one of {sorted(_FIELDS)}")
        if not isinstance(values, list) or not values:
            raise SweepError(f"{where}.{key}: expected a non-empty list of values")
    return dict(table)


def parse_spec(data: dict[str, Any]) -> SweepSpec:
    """Validate a parsed TOML spec (one-line :class:`SweepError` naming the key otherwise)."""
    from .steps import STEPS

    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise SweepError(f"{unknown[0]}: unknown key of a sweep spec; use {sorted(_TOP)}")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise SweepError(f"steps: expected a non-empty list of step names from {sorted(STEPS)}")
    bad = [s for s in steps if s not in STEPS]
    if bad:
        raise SweepError(f"steps: {bad[0]!r} is not a step; use some of {sorted(STEPS)}")
    if len(set(steps)) != len(steps):
        raise SweepError("steps: a step is listed twice")
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise SweepError("base: expected a table (preset = \"NAME\" and configuration fields)")
    bad = sorted(set(base) - _FIELDS - {"preset"})
    if bad:
        raise SweepError(f"base.{bad[0]}: not a configuration field; use preset or one of {sorted(_FIELDS)}")
    axes = _check_field_lists("axes", data.get("axes", {}))
    zips = data.get("zip", [])
    if not isinstance(zips, list):
        raise SweepError("zip: expected [[zip]] tables")
    zips = tuple(_check_field_lists(f"zip[{i}]", z) for i, z in enumerate(zips))
    for i, z in enumerate(zips):
        if len({len(v) for v in z.values()}) > 1:
            raise SweepError(f"zip[{i}]: its lists must have equal lengths, got "
                             f"{ {k: len(v) for k, v in z.items()} }")
    seen = list(axes) + [k for z in zips for k in z]
    dup = sorted({k for k in seen if seen.count(k) > 1})
    if dup:
        raise SweepError(f"{dup[0]}: varied by more than one axis or zip group; vary each field once")
    options = data.get("options", {})
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise SweepError("options: expected [options.STEP] tables")
    for name, opts in options.items():
        if name not in steps:
            raise SweepError(f"options.{name}: not a step of this sweep ({steps})")
        STEPS[name].check_options(opts)
    timeout = data.get("timeout")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise SweepError(f"timeout: {timeout!r} is not allowed; use seconds per point > 0")
    return SweepSpec(tuple(steps), dict(base), axes, zips, {k: dict(v) for k, v in options.items()}, timeout)


def load_spec(path: str | Path) -> SweepSpec:
    p = Path(path)
    if not p.is_file():
        raise SweepError(f"{str(p)!r}: sweep spec not found; pass a TOML file")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SweepError(f"{p}: not valid TOML ({exc})") from None
    return parse_spec(data)


def _base_config(spec: SweepSpec) -> dict[str, Any]:
    base = dict(spec.base)
    name = base.pop("preset", None)
    fields = preset(name).to_dict() if name else {}
    fields.update(base)
    return fields


def points(spec: SweepSpec) -> list[Point]:
    """Every point: the product of the axes and of the zip groups; invalid configurations keep their error."""
    try:
        base = _base_config(spec)
    except ConfigError as exc:
        raise SweepError(f"base: {exc}") from None
    axis_items = [[(k, v) for v in vals] for k, vals in spec.axes.items()]
    zip_items = [[tuple(zip(z, vals)) for vals in zip(*z.values())] for z in spec.zips]
    out = []
    for i, combo in enumerate(itertools.product(*axis_items, *zip_items)):
        fields: dict[str, Any] = {}
        for part in combo:
            fields.update(dict(part) if isinstance(part[0], tuple) else {part[0]: part[1]})
        try:
            cfg = Config.from_dict({**_reset_mode_fields(base, fields), **fields})
            out.append(Point(i, fields, cfg))
        except ConfigError as exc:
            out.append(Point(i, fields, None, str(exc)))
    return out


def _reset_mode_fields(base: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """The base without its mode-dependent defaults when a point changes what they derive from (as
    :meth:`Config.replace` does)."""
    out = dict(base)
    if {"precision_mode", "width", "precisions"} & set(fields):
        for k in ("patterns", "channel_levels"):
            if k not in fields:
                out.pop(k, None)
    if "mac" in fields and "mac_options" not in fields:
        out.pop("mac_options", None)
    return out
