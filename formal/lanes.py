"""The MAC lane modules of a datapath Verilog file (generated, or hand-edited), read with Yosys.

:func:`read_lanes` reads the file once (``proc; opt_clean; write_json``), finds the lane instances of the top
module (cells ``lane0``, ``lane1``, ... as :class:`~mixlane.rtl.datapath.SimdDatapath` names them), groups the
instances whose modules have the same Verilog text (up to module and port names) and, for each distinct module,
maps the lane contract's ports (``a``, ``w``, ``code``, ``en``, ``step`` in; ``sum``, ``carry`` or ``vec`` out)
onto the module's real ports. Amaranth keeps the lane's port signals as named wires inside the module but may
merge or rename the ports themselves (``code`` and ``en`` become bits of one ``port$N$0``, ``sum`` the port
``lane_row0``); after ``opt_clean`` a named wire and the port bits it aliases share Yosys's bit numbers, which
is how the mapping is found. Port bits no contract port maps to are left free in the proof.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mixlane.synth.tools import SynthError, run_yosys

__all__ = ["ProveError", "LaneModule", "read_lanes", "module_text"]

#: Instance names of the lanes in the datapath's top module (``m.submodules[f"lane{s}"]``).
LANE_CELL = re.compile(r"lane(\d+)$")


class ProveError(SynthError):
    """A proof could not be set up or run (missing lane ports, Yosys failure); one line naming the problem."""


@dataclass
class LaneModule:
    """One distinct lane module of a design.

    Attributes
    ----------
    module : str
        Verilog name of the module proved (the first of its identical copies).
    slots : tuple of int
        Datapath slots (``lane<s>`` instances) whose module has this Verilog text.
    text : str
        Verilog of the module and of the modules it instantiates.
    ports : dict
        Real port name -> ``(direction, width)``.
    inputs : dict
        Contract input name -> per bit ``(port, index)``, or a constant ``0``/``1`` the module is specialised
        for.
    outputs : dict
        Contract output name -> per bit ``(port, index)`` or a constant ``0``/``1``.
    """

    module: str
    slots: tuple[int, ...]
    text: str
    ports: dict[str, tuple[str, int]] = field(default_factory=dict)
    inputs: dict[str, tuple] = field(default_factory=dict)
    outputs: dict[str, tuple] = field(default_factory=dict)

    def tied(self, name: str) -> dict[int, int]:
        """Bits of contract input ``name`` that the module has as constants (index -> 0/1): Amaranth
        specialises a lane whose input bits the datapath drives with constants (zeros past the register end in
        ``element`` mode)."""
        return {i: b for i, b in enumerate(self.inputs.get(name, ())) if isinstance(b, int)}

    def accepts(self, name: str, value: int) -> bool:
        """Whether ``value`` on contract input ``name`` agrees with the module's constant bits of it."""
        return all((value >> i & 1) == b for i, b in self.tied(name).items())

    @property
    def free_bits(self) -> list[tuple[str, int]]:
        """Input port bits that no contract input maps to (free inputs of the proof)."""
        used = {b for bits in self.inputs.values() for b in bits if not isinstance(b, int)}
        return [(p, i) for p, (d, n) in self.ports.items() if d == "input" for i in range(n) if (p, i) not in used]


_MODULE_RE = r"^module\s+\\?{name}\s*\((?:.|\n)*?^endmodule\b[^\n]*\n"


def module_text(verilog: str, name: str) -> str:
    """The Verilog text of module ``name`` (``module`` .. ``endmodule``) in ``verilog``."""
    m = re.search(_MODULE_RE.format(name=re.escape(name)), verilog, re.M)
    if not m:
        raise ProveError(f"module {name!r} not found in the Verilog text")
    return m.group(0)


def _normalised(text: str, name: str) -> str:
    """Module text with its own name and Amaranth's numbered port names (``port$1920$0``) made neutral, so that
    identical lanes compare equal."""
    text = text.replace(name, "MODULE")
    seen: dict[str, str] = {}
    return re.sub(r"port\$\d+\$\d+", lambda m: seen.setdefault(m.group(0), f"port${len(seen)}"), text)


def _submodules(design: dict, name: str) -> list[str]:
    """``name`` and every (non-primitive) module below it."""
    out, todo = [], [name]
    while todo:
        mod = todo.pop()
        if mod in out:
            continue
        out.append(mod)
        todo += [c["type"] for c in design[mod]["cells"].values() if c["type"] in design]
    return out


def _bit_map(mod: dict, direction: str) -> dict:
    """Yosys bit number -> ``(port, index)`` over the module's ports of ``direction``."""
    out = {}
    for port, info in mod["ports"].items():
        if info["direction"] == direction:
            for i, b in enumerate(info["bits"]):
                if isinstance(b, int):
                    out.setdefault(b, (port, i))
    return out


def _map_ports(lane: LaneModule, mod: dict, members: dict[str, tuple[str, int]]) -> None:
    """Fill ``lane.ports``/``inputs``/``outputs`` from the module's JSON and the contract's ``members``
    (name -> (``"in"``/``"out"``, width))."""
    lane.ports = {p: (i["direction"], len(i["bits"])) for p, i in mod["ports"].items()}
    ins, outs = _bit_map(mod, "input"), _bit_map(mod, "output")
    for name, (flow, width) in members.items():
        net = mod["netnames"].get(name)
        if net is None or len(net["bits"]) != width:
            raise ProveError(f"lane module {lane.module!r}: no {width}-bit wire {name!r} (the lane contract's "
                             f"port); is this a datapath of this configuration?")
        bits = []
        for i, b in enumerate(net["bits"]):
            if flow == "in" and b in ins:
                bits.append(ins[b])
            elif flow == "out" and b in outs:
                bits.append(outs[b])
            elif b in ("0", "1"):       # an output tied to a constant, or an input the module is specialised for
                bits.append(int(b))
            else:
                what = "an input port bit or a constant" if flow == "in" else "an output port bit or a constant"
                raise ProveError(f"lane module {lane.module!r}: bit {i} of {name!r} is not {what}")
        (lane.inputs if flow == "in" else lane.outputs)[name] = tuple(bits)


def read_lanes(verilog: Path, work: Path, *, top: str, members: dict[str, tuple[str, int]],
               yosys: str, timeout: float | None = None) -> list[LaneModule]:
    """The distinct lane modules of ``verilog`` (top module ``top``), their ports mapped onto ``members``.

    ``verilog`` is copied into ``work`` as ``design.v``; Yosys writes ``design.json`` there."""
    work.mkdir(parents=True, exist_ok=True)
    text = verilog.read_text(errors="replace")
    (work / "design.v").write_text(text)
    (work / "lanes.ys").write_text(f"read_verilog design.v\nhierarchy -top {top}\nproc\nopt_clean\n"
                                   f"write_json design.json\n")
    run_yosys(work / "lanes.ys", work, yosys=yosys, timeout=timeout)
    design = json.loads((work / "design.json").read_text())["modules"]
    cells = [(int(LANE_CELL.match(n).group(1)), c["type"]) for n, c in design[top]["cells"].items()
             if LANE_CELL.match(n) and c["type"] in design]
    if not cells:
        raise ProveError(f"{verilog}: the top module {top!r} has no lane instances (cells lane0, lane1, ...)")
    groups: dict[str, LaneModule] = {}
    for slot, mod in sorted(cells):
        body = "".join(module_text(text, m) for m in _submodules(design, mod))
        key = _normalised(body, mod)
        if key in groups:
            groups[key].slots += (slot,)
            continue
        groups[key] = lane = LaneModule(module=mod, slots=(slot,), text=body)
        _map_ports(lane, design[mod], members)
    return list(groups.values())
