"""The one configuration type of mixlane.

Every part of the project (RTL, golden model, testbench, synthesis, reports) reads a :class:`Config`.
It is frozen, validated on construction, and serialised as JSON beside every generated file.
Field names are the public schema (see ``README.md`` and ``docs/format.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixlane import architectures
from mixlane.errors import ConfigError

__all__ = [
    "ConfigError",
    "Config",
    "PRESETS",
    "ALL_PRECISIONS",
    "MODES",
    "load_config",
    "preset",
    "random_config",
    "parse_overrides",
]

ALL_PRECISIONS = (1, 2, 4, 8)
MODES = ("uniform", "pattern", "channel", "element")
BINARY_MODES = ("unipolar", "bipolar")
OVERFLOW_MODES = ("wrap", "saturate")
MAX_PATTERNS = 4
MAX_LEVELS = 3
#: Level code of a lane that contributes nothing (``channel`` mode).
LANE_OFF_CODE = 3

def _fail(name: str, value: Any, allowed: str) -> None:
    raise ConfigError(f"{name}: {value!r} is not allowed; {allowed}")


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(name, value, "expected an integer")
    return int(value)


@dataclass(frozen=True, kw_only=True)
class Config:
    """A validated datapath configuration (immutable; use :meth:`replace` for variants).

    Units: widths in bits. ``patterns`` and ``channel_levels`` are filled with defaults derived from
    ``width``/``precisions`` when their mode is selected and they are left empty. ``zero_gating``: isolate the
    operands of a lane whose activation or weight bits are all zero (its inputs held at 0: no switching
    inside it), on any architecture; results are unchanged (``docs/sparsity.md``).
    """

    width: int = 128
    precisions: tuple[int, ...] = (1, 2, 4)
    precision_mode: str = "uniform"
    patterns: tuple[tuple[tuple[int, int], ...], ...] = ()
    channel_levels: tuple[int, ...] = ()
    activation_signed: bool = False
    weight_signed: bool = True
    binary: str = "bipolar"
    acc_width: int = 32
    outputs: int = 1
    overflow: str = "wrap"
    mac: str = "sum_together"
    mac_options: tuple[tuple[str, Any], ...] = ()
    zero_gating: bool = False

    # ----------------------------------------------------------------------------------------- validation
    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass normalisation)

        width = _as_int("width", self.width)
        if width < 32 or width > 1024 or width & (width - 1):
            _fail("width", self.width, "use a power of two from 32 to 1024")
        set_("width", width)

        precs = self.precisions
        if isinstance(precs, (int, str)) or not precs:
            _fail("precisions", precs, f"use a non-empty list drawn from {list(ALL_PRECISIONS)}")
        precs = tuple(sorted({_as_int("precisions", p) for p in precs}))
        if len(precs) != len(tuple(self.precisions)) or any(p not in ALL_PRECISIONS for p in precs):
            _fail("precisions", list(self.precisions),
                  f"use distinct values drawn from {list(ALL_PRECISIONS)}")
        set_("precisions", precs)

        if self.precision_mode not in MODES:
            _fail("precision_mode", self.precision_mode, f"use one of {list(MODES)}")
        for name, allowed in (("binary", BINARY_MODES), ("overflow", OVERFLOW_MODES)):
            if getattr(self, name) not in allowed:
                _fail(name, getattr(self, name), f"use one of {list(allowed)}")
        for name in ("activation_signed", "weight_signed", "zero_gating"):
            if not isinstance(getattr(self, name), bool):
                _fail(name, getattr(self, name), "use true or false")
        if not isinstance(self.mac, str):
            _fail("mac", self.mac, f"use one of {architectures.names()}")
        arch = architectures.get(self.mac)
        opts = self.mac_options
        if isinstance(opts, (list, tuple)) and all(isinstance(kv, (list, tuple)) and len(kv) == 2 for kv in opts):
            opts = dict(opts)
        if not isinstance(opts, dict) or not all(isinstance(k, str) for k in opts):
            _fail("mac_options", self.mac_options, "use a table of option = value")
        set_("mac_options", arch.normalise_options(opts))

        outputs = _as_int("outputs", self.outputs)
        if not 1 <= outputs <= 256:
            _fail("outputs", outputs, "use 1 to 256 output accumulators")
        set_("outputs", outputs)

        # patterns
        if self.precision_mode == "pattern":
            pats = self.patterns or self._default_patterns()
            set_("patterns", self._check_patterns(pats))
        elif self.patterns:
            _fail("patterns", _plain(self.patterns),
                  "patterns are only used with precision_mode = 'pattern'; remove the key")
        # channel levels
        if self.precision_mode == "channel":
            levels = self.channel_levels or self.precisions[:MAX_LEVELS]
            if isinstance(levels, (int, str)):
                _fail("channel_levels", levels, "use a list of 1 to 3 precisions")
            levels = tuple(_as_int("channel_levels", p) for p in levels)
            if not 1 <= len(levels) <= MAX_LEVELS or len(set(levels)) != len(levels):
                _fail("channel_levels", list(levels), "use 1 to 3 distinct precisions")
            bad = [p for p in levels if p not in self.precisions]
            if bad:
                _fail("channel_levels", list(levels),
                      f"every level must be in precisions {list(self.precisions)} (add {bad} there)")
            set_("channel_levels", levels)
        elif self.channel_levels:
            _fail("channel_levels", list(self.channel_levels),
                  "channel_levels are only used with precision_mode = 'channel'; remove the key")

        acc = _as_int("acc_width", self.acc_width)
        if not 8 <= acc <= 64:
            _fail("acc_width", acc, "use 8 to 64 bits")
        set_("acc_width", acc)
        arch.check(self)

    def _default_patterns(self) -> tuple:
        w = self.width
        pats = [((p, w // p),) for p in sorted(self.precisions, reverse=True)][:MAX_PATTERNS]
        if len(pats) < MAX_PATTERNS and len(self.precisions) >= 2:
            hi, lo = sorted(self.precisions, reverse=True)[:2]
            pats.append(((hi, w // 2 // hi), (lo, w // 2 // lo)))
        return tuple(pats)

    def _check_patterns(self, pats: Any) -> tuple:
        if isinstance(pats, (int, str)) or not 1 <= len(pats) <= MAX_PATTERNS:
            _fail("patterns", _plain(pats), "use 1 to 4 patterns, each a list of [precision, count] segments")
        out = []
        for n, pat in enumerate(pats):
            segs = []
            if isinstance(pat, (int, str)) or not pat:
                _fail(f"patterns[{n}]", _plain(pat), "use a non-empty list of [precision, count] segments")
            for seg in pat:
                if isinstance(seg, (int, str)) or len(seg) != 2:
                    _fail(f"patterns[{n}]", _plain(pat), "each segment is [precision, count]")
                p, c = _as_int(f"patterns[{n}]", seg[0]), _as_int(f"patterns[{n}]", seg[1])
                if p not in self.precisions:
                    _fail(f"patterns[{n}]", _plain(pat),
                          f"precision {p} is not in precisions {list(self.precisions)}")
                if c <= 0:
                    _fail(f"patterns[{n}]", _plain(pat), "segment counts must be positive")
                if (p * c) % self.lane_bits:
                    _fail(f"patterns[{n}]", _plain(pat),
                          f"each segment must fill whole {self.lane_bits}-bit lanes "
                          f"(precision * count a multiple of {self.lane_bits})")
                segs.append((p, c))
            bits = sum(p * c for p, c in segs)
            if bits != self.width:
                _fail(f"patterns[{n}]", _plain(pat), f"its segments hold {bits} bits; they must sum to width {self.width}")
            out.append(tuple(segs))
        if len(set(out)) != len(out):
            _fail("patterns", _plain(pats), "patterns must be distinct")
        return tuple(out)

    # ----------------------------------------------------------------------------------- derived values
    @property
    def pmin(self) -> int:
        """Smallest supported precision (bits)."""
        return self.precisions[0]

    @property
    def pmax(self) -> int:
        """Largest supported precision (bits)."""
        return self.precisions[-1]

    @property
    def lane_bits(self) -> int:
        """Bits of register held by one MAC lane in lane-based modes (= ``pmax``)."""
        return self.pmax

    @property
    def lanes(self) -> int:
        """Lanes of ``lane_bits`` bits in a register."""
        return self.width // self.lane_bits

    @property
    def max_elements(self) -> int:
        """Most elements a register can hold (all at ``pmin``)."""
        return self.width // self.pmin

    @property
    def code_bits(self) -> int:
        """Bits of a precision code (index into ``precisions``)."""
        return max(1, math.ceil(math.log2(len(self.precisions))))

    @property
    def slots(self) -> int:
        """MAC slots in the datapath: lanes, or one slot per element in ``element`` mode."""
        return self.max_elements if self.precision_mode == "element" else self.lanes

    @property
    def meta_bits(self) -> int:
        """Width of the per-operation metadata field (bits)."""
        mode = self.precision_mode
        if mode == "uniform":
            return self.code_bits
        if mode == "pattern":
            return max(1, math.ceil(math.log2(len(self.patterns))))
        if mode == "channel":
            return 2 * self.lanes
        return self.code_bits * self.max_elements

    def gateable(self, p: int) -> bool:
        """Whether a lane slice of ``p``-bit elements whose activation or weight bits are all zero multiplies to
        zero (all but bipolar 1-bit elements, whose 0 bit means -1): what zero gating may isolate."""
        return not (p == 1 and self.binary == "bipolar")

    @property
    def sel_bits(self) -> int:
        """Width of the output-accumulator selector (0 when ``outputs == 1``)."""
        return max(0, math.ceil(math.log2(self.outputs)))

    @property
    def mode_precisions(self) -> tuple[int, ...]:
        """Precisions that can actually occur in a register under this mode."""
        if self.precision_mode == "pattern":
            return tuple(sorted({p for pat in self.patterns for p, _ in pat}))
        if self.precision_mode == "channel":
            return tuple(sorted(self.channel_levels))
        return self.precisions

    @property
    def mixes_in_reduction(self) -> bool:
        """Whether the elements of one reduction (a dot product over several registers) may have different
        precisions: every mode but ``uniform``, which holds one precision per reduction."""
        return self.precision_mode != "uniform"

    def element_range(self, p: int, operand: str) -> tuple[int, int]:
        """Inclusive value range of a ``p``-bit element of ``operand`` ('a' activation or 'w' weight)."""
        if p == 1:
            return (-1, 1) if self.binary == "bipolar" else (0, 1)
        signed = self.activation_signed if operand == "a" else self.weight_signed
        return (-(1 << (p - 1)), (1 << (p - 1)) - 1) if signed else (0, (1 << p) - 1)

    def max_product(self, p: int) -> int:
        """Largest |a*w| of one ``p``-bit element pair."""
        lo_a, hi_a = self.element_range(p, "a")
        lo_w, hi_w = self.element_range(p, "w")
        return max(abs(x * y) for x in (lo_a, hi_a) for y in (lo_w, hi_w))

    @property
    def max_register_sum(self) -> int:
        """Largest |sum of products| of one register pair over every layout this mode allows."""
        return max(self.width // p * self.max_product(p) for p in self.mode_precisions)

    @property
    def register_sum_width(self) -> int:
        """Signed bits holding any register sum."""
        return self.max_register_sum.bit_length() + 1

    @property
    def architecture(self) -> "architectures.Architecture":
        """The MAC architecture registered for ``mac`` (:mod:`mixlane.architectures`)."""
        return architectures.get(self.mac)

    def option(self, key: str) -> Any:
        """Value of ``mac_options[key]`` (defaults filled in by the architecture)."""
        return dict(self.mac_options)[key]

    # -------------------------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict whose keys are the schema's field names (``mac_options`` only when the
        architecture takes options, ``zero_gating`` only when on, so configurations without them keep their
        hash)."""
        out = {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out["mac_options"] = dict(self.mac_options)
        if not out["mac_options"]:
            del out["mac_options"]
        if not self.zero_gating:
            del out["zero_gating"]          # off by default: configurations without it keep their hash
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n"

    @property
    def content_hash(self) -> str:
        """Stable 16-hex-digit hash of the normalised configuration."""
        canon = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        """A short file-system-safe name: mode, width and hash."""
        return f"{self.precision_mode}_w{self.width}_{self.content_hash[:8]}"

    def replace(self, **changes: Any) -> "Config":
        """A new validated configuration with some fields changed."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"{sorted(unknown)[0]}: unknown configuration key; "
                              f"use one of {sorted(f.name for f in dataclasses.fields(self))}")
        base = self.to_dict()
        # mode-dependent fields fall back to defaults when the mode changes
        if "precision_mode" in changes or "width" in changes or "precisions" in changes:
            if "patterns" not in changes:
                base["patterns"] = ()
            if "channel_levels" not in changes:
                base["channel_levels"] = ()
        if "mac" in changes and "mac_options" not in changes:
            base.pop("mac_options", None)
        base.update(changes)
        return Config.from_dict(base)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        if not isinstance(data, dict):
            raise ConfigError(f"configuration: expected a table of keys, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ConfigError(f"{unknown[0]}: unknown configuration key; use one of {sorted(names)}")
        kw = dict(data)
        for key in ("precisions", "channel_levels"):
            if key in kw and isinstance(kw[key], list):
                kw[key] = tuple(kw[key])
        if "patterns" in kw and isinstance(kw["patterns"], list):
            try:
                kw["patterns"] = tuple(tuple(tuple(seg) for seg in pat) for pat in kw["patterns"])
            except TypeError:
                _fail("patterns", kw["patterns"], "use a list of patterns, each a list of [precision, count]")
        return cls(**kw)


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------------------------------------- presets
PRESETS: dict[str, tuple[str, Config]] = {
    "default": ("uniform 1/2/4-bit, 128-bit registers, one 32-bit accumulator", Config()),
    "uniform-1248": ("uniform 1/2/4/8-bit, 128-bit registers",
                     Config(precisions=(1, 2, 4, 8))),
    "uniform-12": ("uniform 1/2-bit only, 128-bit: the smallest lanes (2x2), for the 1- and 2-bit area goals",
                   Config(precisions=(1, 2))),
    "pattern-sysmol": ("four precision patterns over 1/2/4 bits (4b, 2b, 1b, 4b+2b halves), 128-bit",
                       Config(precision_mode="pattern",
                              patterns=(((4, 32),), ((2, 64),), ((1, 128),), ((4, 16), (2, 32))))),
    "channel-3level": ("per-lane input-channel levels 1/2/4 bits, 128-bit",
                       Config(precision_mode="channel", channel_levels=(1, 2, 4))),
    "channel-2level": ("two channel levels, 2 and 8 bits, signed activations, 128-bit",
                       Config(precision_mode="channel", precisions=(2, 8), channel_levels=(2, 8),
                              activation_signed=True)),
    "element": ("per-element precision codes 1/2/4 bits with a full aligner, 64-bit",
                Config(precision_mode="element", width=64)),
    "int8": ("uniform 8-bit only (unsigned activations x signed weights), 128-bit",
             Config(precisions=(8,))),
    "int8-conventional": ("INT8 baseline: 16 plain 8x8 multipliers (unsigned x signed) into one tree, 128-bit",
                          Config(precisions=(8,), mac="conventional")),
    "multipass-124": ("uniform 1/2/4-bit on 2-bit sum-together sub-lanes: 1/2-bit one op per cycle, 4-bit in 3 "
                      "passes, 128-bit", Config(mac="multipass", mac_options={"digit_bits": 2})),
    "multipass-1248": ("uniform 1/2/4/8-bit on 4-bit sum-together sub-lanes: 8-bit in 3 passes, 128-bit",
                       Config(precisions=(1, 2, 4, 8), mac="multipass", mac_options={"digit_bits": 4})),
    "bit-serial": ("uniform 1/2/4/8-bit bit-serial (1-D, weights serial, one plane per cycle), 128-bit",
                   Config(precisions=(1, 2, 4, 8), mac="bit_serial")),
    "vsparq": ("SPARQ: 8-bit ReLU activations, pairs sharing one 8-bit budget (one zero: the other exact, else "
               "both 4-bit windows, 5 placements), 128-bit", Config(precisions=(8,), mac="sparq",
                                                                    mac_options={"vsparq": True})),
    "nbsmt-2t": ("NB-SMT: two threads per 8x8 unit, a lone busy thread exact, collisions as 4-bit windows, 128-bit",
                 Config(precisions=(8,), mac="nbsmt", mac_options={"threads": 2})),
    "multi-output": ("uniform 1/2/4-bit, 4 stationary 20-bit saturating accumulators, signed, unipolar",
                     Config(outputs=4, acc_width=20, overflow="saturate", activation_signed=True,
                            binary="unipolar")),
}


def random_config(seed: int, *, mode: str | None = None, min_width: int = 32, max_width: int = 512) -> Config:
    """A random valid configuration (for sweeps and regression tests); deterministic in ``seed``."""
    import random

    rng = random.Random(seed)
    widths = [w for w in (32, 64, 128, 256, 512, 1024) if min_width <= w <= max_width]
    width = rng.choice(widths)
    mode = mode or rng.choice(MODES)
    precs = tuple(sorted(rng.sample(ALL_PRECISIONS, rng.randint(1, 4))))
    kw: dict[str, Any] = dict(width=width, precisions=precs, precision_mode=mode,
                              activation_signed=rng.random() < 0.5, weight_signed=rng.random() < 0.7,
                              binary=rng.choice(BINARY_MODES), outputs=rng.choice((1, 1, 2, 3, 4)),
                              overflow=rng.choice(OVERFLOW_MODES))
    if mode == "pattern":
        lanes, pats = width // precs[-1], set()
        for _ in range(rng.randint(1, MAX_PATTERNS) * 3):
            left, pat = lanes, []
            while left:
                take = rng.randint(1, left)
                p = rng.choice(precs)
                n = take * precs[-1] // p
                if pat and pat[-1][0] == p:
                    pat[-1] = (p, pat[-1][1] + n)
                else:
                    pat.append((p, n))
                left -= take
            pats.add(tuple(pat))
            if len(pats) == MAX_PATTERNS:
                break
        kw["patterns"] = tuple(sorted(pats))[:MAX_PATTERNS]
    if mode == "channel":
        kw["channel_levels"] = tuple(rng.sample(precs, min(len(precs), rng.randint(1, MAX_LEVELS))))
    base = Config(**{**kw, "acc_width": 64})
    kw["acc_width"] = rng.randint(max(8, base.register_sum_width), 40)
    return Config(**kw)


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise ConfigError(f"preset: {name!r} is not a preset; use one of {sorted(PRESETS)} (see `mixlane presets`)")
    return PRESETS[name][1]


def load_config(path: str | Path) -> Config:
    """Read a configuration from a ``.toml`` or ``.json`` file whose keys are the schema's field names."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config: file {str(path)!r} not found; pass an existing .toml or .json file")
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"config: {str(path)!r} has an unknown suffix; use a .toml or .json file")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"config: cannot parse {str(path)!r}: {exc}") from None
    return Config.from_dict(data)


def parse_overrides(items: list[str]) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` strings; VALUE is JSON (``[1,2]``, ``true``, ``64``) or a bare string."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set: {item!r} is not KEY=VALUE; write e.g. --set width=256")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out
