"""MAC architectures: the one place that knows what each ``mac`` value of a configuration means.

An architecture is a subclass of :class:`Architecture` registered with :func:`register`. It owns everything
the rest of mixlane needs to know about it:

- which configurations it accepts (:meth:`Architecture.check`, one-line :class:`ConfigError`) and its
  options (``mac_options``, :attr:`Architecture.options`);
- its RTL processing element (:attr:`Architecture.rtl`, a lane component with a
  :class:`mixlane.rtl.contract.LaneContract`) and the lane's parameters (:meth:`Architecture.lane_params`);
- its golden arithmetic (:attr:`Architecture.golden`, a function ``(cfg, a_bits, w_bits, meta) -> (B,)``
  register results) and the cycles an operation takes at each precision (:meth:`Architecture.cycles`);
- how reports describe it (:meth:`Architecture.describe`);
- the mutations of its generated Verilog that ``mixlane mutate`` adds to the generic ones
  (:meth:`Architecture.mutation_rules`).

The datapath, golden model, stimulus, scoreboard, power workloads and reports ask the architecture; no other
module compares ``cfg.mac`` with a name. Adding an architecture is one module (its class, pointing at one RTL
component and one golden function) plus one line in :data:`BUILTIN`; an architecture defined outside mixlane
registers itself with :func:`register` and is found by simulator processes through ``MIXLANE_PLUGINS``
(:func:`plugin_sources`, :func:`load_plugins`).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

from mixlane.errors import ConfigError

__all__ = ["Architecture", "Option", "MutationRule", "register", "get", "names", "registry", "BASELINE", "BUILTIN",
           "plugin_sources", "load_plugins", "PLUGIN_ENV", "resolve"]

#: The reference every design is measured against: plain INT8 multipliers (``mixlane synth``'s baseline).
BASELINE = "conventional"
#: Environment variable listing modules or ``.py`` files that register more architectures (``os.pathsep``).
PLUGIN_ENV = "MIXLANE_PLUGINS"


@dataclass(frozen=True)
class Option:
    """One key of ``mac_options``: its default, the allowed values (a tuple, or a predicate with a text
    saying what it allows) and a one-line help."""

    default: Any
    allowed: tuple | Callable[[Any], bool]
    allowed_text: str = ""
    help: str = ""

    def check(self, arch: str, key: str, value: Any) -> Any:
        ok = value in self.allowed if isinstance(self.allowed, tuple) else self.allowed(value)
        if isinstance(value, bool) and not isinstance(self.default, bool):
            ok = False
        if not ok:
            text = self.allowed_text or f"use one of {list(self.allowed)}"
            raise ConfigError(f"mac_options.{key}: {value!r} is not allowed for mac = {arch!r}; {text}")
        return value


@dataclass(frozen=True)
class MutationRule:
    """One architecture-specific mutation of the generated Verilog (``mixlane mutate``).

    In every statement line of the modules whose short name (``acc``, ``lane3``, ``tree``; the top module is
    ``mixlane_datapath``) fully matches ``modules``, each match of the regular expression ``pattern`` is one
    mutation site; ``replacement`` is a :meth:`re.Match.expand` template for the new text. ``kind`` names the
    mutation in reports (e.g. ``"sign extension dropped"``).
    """

    kind: str
    pattern: str
    replacement: str
    modules: str = ".*"


def resolve(path: str) -> Any:
    """The object at import path ``"package.module:name"``."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class Architecture:
    """Base of every MAC architecture (stateless; one instance per registered name).

    Subclasses set :attr:`name`, :attr:`summary`, :attr:`rtl`, :attr:`golden` and, when they take them,
    :attr:`modes` and :attr:`options`; they override :meth:`check`, :meth:`lane_params` and, for operations
    that take more than one cycle, :meth:`cycles`.
    """

    #: ``mac`` value in the configuration schema.
    name: ClassVar[str] = ""
    #: One line for ``mixlane presets``, ``--help`` and the README.
    summary: ClassVar[str] = ""
    #: Import path of the lane component (``rtl/``), constructed with :meth:`lane_params`.
    rtl: ClassVar[str] = ""
    #: Import path of the golden function ``(cfg, a_bits, w_bits, meta) -> (B,)`` register results.
    golden: ClassVar[str] = ""
    #: Import path of the golden accumulator model (``zero``, ``acc``, ``load``, ``read``; see
    #: :class:`mixlane.golden.arith.ScalarAccumulator`), constructed with ``(cfg, ops)``.
    golden_accumulator: ClassVar[str] = "mixlane.golden.arith:ScalarAccumulator"
    #: Precision modes this architecture supports.
    modes: ClassVar[tuple[str, ...]] = ("uniform", "pattern", "channel", "element")
    #: ``mac_options`` keys this architecture takes.
    options: ClassVar[dict[str, Option]] = {}
    #: A READ returns one signed sum of everything accumulated (a dot product), so a compiled layer's outputs
    #: are read directly; False where a read-out holds several partial sums (sum-apart subwords).
    scalar_readout: ClassVar[bool] = True
    #: An ACC adds the exact sum of its element products (what the golden tensor helpers compute); False where
    #: the arithmetic approximates at run time (trimming), so flows take the golden register model's results.
    exact: ClassVar[bool] = True
    #: Stimulus scenarios (:data:`mixlane.sim_tb.stimulus.SCENARIOS`) a regression of this architecture runs
    #: besides the default ones.
    scenarios: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------------------------------ checks
    def check(self, cfg: Any) -> None:
        """Raise a one-line :class:`ConfigError` when ``cfg`` is not a configuration of this architecture."""
        if cfg.precision_mode not in self.modes:
            raise ConfigError(f"mac: {self.name!r} does not support precision_mode = {cfg.precision_mode!r}; "
                              f"use one of {list(self.modes)}, or another mac")
        self.check_acc_width(cfg)

    def check_acc_width(self, cfg: Any) -> None:
        """The accumulators must hold what one ACC adds: by default a full register sum."""
        need = cfg.register_sum_width
        if cfg.acc_width < need:
            raise ConfigError(f"acc_width: {cfg.acc_width!r} is not allowed; a full register sum needs {need} "
                              f"signed bits here; use acc_width >= {need}")

    def normalise_options(self, raw: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
        """Validated ``mac_options`` with defaults filled in, as sorted ``(key, value)`` pairs."""
        unknown = sorted(set(raw) - set(self.options))
        if unknown:
            allowed = sorted(self.options) or "none"
            raise ConfigError(f"mac_options.{unknown[0]}: unknown option of mac = {self.name!r}; "
                              f"its options are {allowed}")
        return tuple(sorted((k, opt.check(self.name, k, raw.get(k, opt.default)))
                            for k, opt in self.options.items()))

    # ---------------------------------------------------------------------------------------- hardware
    def lane_params(self, cfg: Any) -> dict[str, Any]:
        """Keyword arguments of the :attr:`rtl` lane component for ``cfg``."""
        raise NotImplementedError

    def slots_per_lane(self, cfg: Any) -> int:
        """Aligner slots one lane takes (default 1): a lane of ``k`` slots has ``a``/``w`` ports of
        ``k * lane_bits`` bits, slot ``s`` in bits ``s * lane_bits ..`` (elements that share one unit)."""
        return 1

    def lane_width(self, cfg: Any) -> int:
        """Bits of ``a`` (and ``w``) one lane takes: ``slots_per_lane * lane_bits``."""
        return self.slots_per_lane(cfg) * cfg.lane_bits

    def lane_elements(self, cfg: Any, precision: int) -> int:
        """Elements one MAC lane multiplies at ``precision``, element ``k`` in its bits
        ``k*precision ..``: ``lane_width // precision`` in lane modes, one in the low bits in ``element`` mode
        (the aligner's slot layout). ``mixlane prove`` builds each lane's behavioural reference from this, the
        lane's contract and the configuration's operand signedness."""
        return 1 if cfg.precision_mode == "element" else self.lane_width(cfg) // precision

    def lane_reference(self, cfg: Any, a: Any, w: Any, precision: int) -> Any:
        """What one lane computes from its ``a``/``w`` slices (Amaranth values) at ``precision``, described
        behaviourally for ``mixlane prove``; ``None`` (default): the sum of the element products."""
        return None

    def proof_weights(self, cfg: Any) -> tuple[int, ...] | None:
        """Values of a lane's whole ``w`` port that ``mixlane prove`` enumerates, each with every ``a`` (a
        proof of the activation path where a free multiplier miter is out of the solver's reach); ``None``
        (default): every input, split by the top bits of ``w``."""
        return None

    def proof_weight_values(self, cfg: Any) -> tuple[int, ...]:
        """The per-element weights :meth:`proof_weights` combines (for reports)."""
        return ()

    def coverage_bins(self, cfg: Any) -> list[str]:
        """Labels of this architecture's own functional-coverage bins (item ``lane`` of a verify run; default
        none): cases of its lane arithmetic a regression must reach."""
        return []

    def coverage_events(self, cfg: Any, a_bits: Any, w_bits: Any, meta: Any) -> list[frozenset]:
        """Per ACC register pair, the :meth:`coverage_bins` labels it hits."""
        return [frozenset()] * len(meta)

    def lane_class(self) -> type:
        return resolve(self.rtl)

    def golden_function(self) -> Callable:
        return resolve(self.golden)

    def accumulator_model(self) -> type:
        return resolve(self.golden_accumulator)

    # ------------------------------------------------------------------------------------------ results
    def result_width(self, cfg: Any) -> int:
        """Bits of ``o.data``: one ``acc_width`` accumulator by default."""
        return cfg.acc_width

    def result_signed(self, cfg: Any) -> bool:
        """Whether ``o.data`` is read as two's complement (else as an unsigned bit vector)."""
        return True

    # ------------------------------------------------------------------------------------------- timing
    def cycles(self, cfg: Any, precision: int) -> int:
        """Cycles an ACC operation takes when its register holds ``precision``-bit elements (the datapath
        keeps ``i.ready`` low for all but the last). Codes without a precision and other operations: 1."""
        return 1

    def code_cycles(self, cfg: Any) -> tuple[int, ...]:
        """:meth:`cycles` per precision code (``2**code_bits`` entries; reserved codes take 1 cycle)."""
        out = [1] * (1 << cfg.code_bits)
        for c, p in enumerate(cfg.precisions):
            out[c] = self.cycles(cfg, p)
        return tuple(out)

    # --------------------------------------------------------------------------------------- mutations
    def mutation_rules(self, cfg: Any) -> tuple[MutationRule, ...]:
        """Mutations of this architecture's generated Verilog beyond the generic operator, constant, mux and
        ``$signed`` ones of ``mixlane mutate`` (default: none)."""
        return ()

    # ---------------------------------------------------------------------------------------- reporting
    def describe(self, cfg: Any) -> str:
        """One line for reports: mode, precisions, width and the architecture with its options."""
        extra = ""
        if cfg.precision_mode == "channel":
            extra = f", levels {list(cfg.channel_levels)}"
        if cfg.precision_mode == "pattern":
            extra = f", {len(cfg.patterns)} patterns"
        opts = "".join(f", {k}={v}" for k, v in cfg.mac_options)
        return (f"{cfg.precision_mode} {'/'.join(map(str, cfg.precisions))}-bit{extra}, width {cfg.width}, "
                f"mac={self.name}{opts}")


_REGISTRY: dict[str, Architecture] = {}
_SOURCES: dict[str, str] = {}        # name -> module file of architectures registered outside mixlane


def register(cls: type[Architecture]) -> type[Architecture]:
    """Register an :class:`Architecture` subclass under its :attr:`~Architecture.name` (usable as a class
    decorator). Registering the same class again (a plugin module imported twice) is a no-op."""
    if not (isinstance(cls, type) and issubclass(cls, Architecture)) or not cls.name:
        raise TypeError(f"register: {cls!r} is not an Architecture subclass with a name")
    old = _REGISTRY.get(cls.name)
    if old is not None and (type(old).__qualname__, type(old).__module__) != (cls.__qualname__, cls.__module__):
        raise ValueError(f"register: architecture {cls.name!r} is already registered by {type(old).__module__}")
    _REGISTRY[cls.name] = cls()
    module = sys.modules.get(cls.__module__)
    if not cls.__module__.startswith("mixlane.") and module is not None and getattr(module, "__file__", None):
        _SOURCES[cls.name] = str(Path(module.__file__).resolve())
    return cls


def get(name: str) -> Architecture:
    """The architecture registered as ``name`` (one-line :class:`ConfigError` if there is none)."""
    _ensure_loaded(plugins=False)
    if name not in _REGISTRY:
        _ensure_loaded()
    if name not in _REGISTRY:
        raise ConfigError(f"mac: {name!r} is not allowed; use one of {names()}")
    return _REGISTRY[name]


def names() -> list[str]:
    _ensure_loaded()
    return sorted(_REGISTRY)


def registry() -> dict[str, Architecture]:
    """Every registered architecture, by name (built-in ones first, in :data:`BUILTIN` order)."""
    _ensure_loaded()
    return dict(_REGISTRY)


def plugin_sources() -> list[str]:
    """Files of the modules that registered architectures from outside mixlane (for ``MIXLANE_PLUGINS``)."""
    return sorted(set(_SOURCES.values()))


def load_plugins(spec: str | None = None) -> None:
    """Import the modules named in ``spec`` (default: ``$MIXLANE_PLUGINS``), separated by ``os.pathsep``:
    dotted module names or paths of ``.py`` files. A missing one is a one-line :class:`ConfigError`."""
    spec = os.environ.get(PLUGIN_ENV, "") if spec is None else spec
    for item in filter(None, (s.strip() for s in spec.split(os.pathsep))):
        if item.endswith(".py"):
            path = Path(item)
            if not path.is_file():
                raise ConfigError(f"plugin: {item!r} not found; give existing .py files or module names "
                                  f"(--plugin, {PLUGIN_ENV})")
            mod_name = f"mixlane_plugin_{path.stem}"
            if mod_name in sys.modules:
                continue
            spec_ = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec_)
            sys.modules[mod_name] = module
            spec_.loader.exec_module(module)
        else:
            try:
                importlib.import_module(item)
            except ImportError as exc:
                raise ConfigError(f"plugin: cannot import {item!r} ({exc}); give importable modules or .py "
                                  f"files (--plugin, {PLUGIN_ENV})") from None


#: The architectures that ship with mixlane, as ``module:class`` (registered on first use, in this order).
BUILTIN = (
    "mixlane.architectures.sum_together:SumTogether",
    "mixlane.architectures.conventional:Conventional",
    "mixlane.architectures.bit_serial:BitSerial",
    "mixlane.architectures.multipass:MultiPass",
    "mixlane.architectures.bitfusion:BitFusion",
    "mixlane.architectures.sum_apart:SumApart",
    "mixlane.architectures.sparq:Sparq",
    "mixlane.architectures.nbsmt:NbSmt",
)

_loaded = {"builtin": False, "plugins": False}


def _ensure_loaded(plugins: bool = True) -> None:
    """Register :data:`BUILTIN` on first use; ``$MIXLANE_PLUGINS`` once a name is not built in or the whole
    registry is asked for (never while :mod:`mixlane.config` builds its presets, which plug-ins may import)."""
    if not _loaded["builtin"]:
        _loaded["builtin"] = True
        for path in BUILTIN:
            register(resolve(path))
    if plugins and not _loaded["plugins"]:
        _loaded["plugins"] = True
        load_plugins()
