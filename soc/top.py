"""The SoC: VexRiscv (with its CFU port) + on-chip RAM + console, exit and trap registers + the extension.

Memory map (byte addresses):

- ``0x40000000`` RAM, ``ram_kib`` KiB, both buses, zero wait states (combinational Wishbone ACK);
  the program is written through the ``load_*`` ports while the core is held in reset.
- ``0xF0000000`` console: a byte written here is ``console_data`` with ``console_valid`` for one cycle.
- ``0xF0000004`` exit: a word written here ends the run (``exit_valid``, ``exit_code``).
- ``0xF0000008`` trap: the start-up code's trap handler writes ``mcause`` here after ``mepc`` (``0xF000000C``)
  and ``mtval`` (``0xF0000010``): ``trap_valid`` with the three values.
- any other address: ``buserr_valid`` with the word address and whether it was a write (VexRiscv ignores
  Wishbone ERR, so the SoC reports it and the simulator stops).
"""

from __future__ import annotations

import operator
from pathlib import Path

from amaranth.hdl import ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from mixlane.config import Config
from .extension import MixlaneCfu, cfu_signature

__all__ = ["RAM_BASE", "MMIO_BASE", "SOC_TOP", "Soc", "core_verilog"]

RAM_BASE = 0x4000_0000
MMIO_BASE = 0xF000_0000
SOC_TOP = "mixlane_soc"
CONSOLE, EXIT, TRAP_CAUSE, TRAP_EPC, TRAP_TVAL = 0x0, 0x4, 0x8, 0xC, 0x10
#: The core's Verilog in the PyPI package ``pythondata-cpu-vexriscv`` (module ``VexRiscv``).
CORE_FILE = "VexRiscv_FullCfu.v"


def core_verilog() -> Path:
    """Path of VexRiscv with the CFU plugin; raises :class:`~mixlane.config.ConfigError` naming the package."""
    from mixlane.config import ConfigError
    try:
        import pythondata_cpu_vexriscv as pd
    except ImportError:
        raise ConfigError("the RISC-V core is missing: install it with `pip install 'mixlane[soc]'` "
                          "(PyPI pythondata-cpu-vexriscv)") from None
    return Path(pd.data_location) / CORE_FILE


def _bus(prefix: str, members: dict) -> dict:
    return {f"{prefix}_{k}": v for k, v in members.items()}


class Soc(wiring.Component):
    """Core, RAM, MMIO and the extension; ports for the simulator's harness.

    Parameters
    ----------
    config : Config or None
        The datapath behind the CFU port; ``None``: no extension inside (see ``cfu_port``).
    cfu_port : bool
        With ``config`` ``None``: bring the core's CFU port out (``cfu_*``; the simulator attaches the extension
        as a separate model) instead of answering every custom instruction with 0.
    ram_kib : int
        RAM size in KiB (a power of two).
    a_regs, w_regs : int
        Buffer depths of the extension (:class:`~mixlane.soc.extension.MixlaneCfu`).
    """

    def __init__(self, *, config: Config | None, ram_kib: int = 256, a_regs: int = 64, w_regs: int = 64,
                 cfu_port: bool = False):
        self._cfg = config
        self._cfu_port = bool(cfu_port) and config is None
        self._ram_words = operator.index(ram_kib) * 256
        if self._ram_words < 256 or self._ram_words & (self._ram_words - 1):
            raise ValueError(f"ram_kib must be a power of two >= 1, not {ram_kib!r}")
        self._ext = MixlaneCfu(config=config, a_regs=a_regs, w_regs=w_regs) if config is not None else None
        members = {"cfu": In(cfu_signature())} if self._cfu_port else {}
        super().__init__({
            **members,
            "load_valid": In(1), "load_addr": In(range(self._ram_words)), "load_data": In(32),
            "console_valid": Out(1), "console_data": Out(8),
            "exit_valid": Out(1), "exit_code": Out(32),
            "trap_valid": Out(1), "trap_cause": Out(32), "trap_epc": Out(32), "trap_tval": Out(32),
            "buserr_valid": Out(1), "buserr_addr": Out(32), "buserr_write": Out(1),
        })

    @property
    def extension(self) -> MixlaneCfu | None:
        return self._ext

    def elaborate(self, platform):
        m = Module()
        ib = {k: Signal(w, name=f"ibus_{k}") for k, w in _WB.items()}
        db = {k: Signal(w, name=f"dbus_{k}") for k, w in _WB.items()}
        cfu = {k: Signal(w, name=f"cfu_{k}") for k, w in _CFU.items()}
        ports = {"i_externalResetVector": Const(RAM_BASE, 32), "i_timerInterrupt": 0, "i_softwareInterrupt": 0,
                 "i_externalInterruptArray": Const(0, 32), "i_clk": ClockSignal(), "i_reset": ResetSignal()}
        for name, sig in ib.items():
            ports[f"{_dir(name)}_iBusWishbone_{name}"] = sig
        for name, sig in db.items():
            ports[f"{_dir(name)}_dBusWishbone_{name}"] = sig
        for name, sig in cfu.items():
            ports[f"{'o' if name in _CFU_OUT else 'i'}_CfuPlugin_bus_{name}"] = sig
        m.submodules.core = Instance("VexRiscv", **ports)

        if self._ext is not None or self._cfu_port:
            if self._ext is not None:
                m.submodules.extension = self._ext
            bus = self._ext.cfu if self._ext is not None else self.cfu
            m.d.comb += [bus.cmd_valid.eq(cfu["cmd_valid"]), cfu["cmd_ready"].eq(bus.cmd_ready),
                         bus.cmd_function_id.eq(cfu["cmd_payload_function_id"]),
                         bus.cmd_inputs_0.eq(cfu["cmd_payload_inputs_0"]),
                         bus.cmd_inputs_1.eq(cfu["cmd_payload_inputs_1"]),
                         cfu["rsp_valid"].eq(bus.rsp_valid), bus.rsp_ready.eq(cfu["rsp_ready"]),
                         cfu["rsp_payload_outputs_0"].eq(bus.rsp_outputs_0)]
        else:      # no extension: every custom instruction answers 0 at once
            m.d.comb += [cfu["cmd_ready"].eq(cfu["rsp_ready"]), cfu["rsp_valid"].eq(cfu["cmd_valid"])]

        m.submodules.ram = ram = memory.Memory(shape=32, depth=self._ram_words, init=[])
        iport = ram.read_port(domain="comb")
        dport = ram.read_port(domain="comb")
        wport = ram.write_port(granularity=8)
        ram_lo, ram_hi = RAM_BASE >> 2, (RAM_BASE >> 2) + self._ram_words
        # instruction bus: RAM only
        i_ram = Signal(name="ibus_in_ram")
        m.d.comb += [i_ram.eq((ib["ADR"] >= ram_lo) & (ib["ADR"] < ram_hi)), iport.addr.eq(ib["ADR"]),
                     ib["DAT_MISO"].eq(iport.data), ib["ACK"].eq(ib["CYC"] & ib["STB"])]
        # data bus: RAM and MMIO
        d_ram = Signal(name="dbus_in_ram")
        d_io = Signal(name="dbus_in_mmio")
        d_acc = Signal(name="dbus_access")
        io_off = Signal(8, name="mmio_offset")
        m.d.comb += [d_ram.eq((db["ADR"] >= ram_lo) & (db["ADR"] < ram_hi)),
                     d_io.eq(db["ADR"][6:] == (MMIO_BASE >> 8)), io_off.eq(db["ADR"][:6] << 2),
                     d_acc.eq(db["CYC"] & db["STB"]), db["ACK"].eq(d_acc),
                     dport.addr.eq(db["ADR"]), db["DAT_MISO"].eq(dport.data),
                     wport.addr.eq(db["ADR"]), wport.data.eq(db["DAT_MOSI"])]
        with m.If(d_acc & db["WE"] & d_ram):
            m.d.comb += wport.en.eq(db["SEL"])
        with m.If(self.load_valid):      # the harness loads the program (core in reset)
            m.d.comb += [wport.addr.eq(self.load_addr), wport.data.eq(self.load_data), wport.en.eq(0b1111)]
        write_io = d_acc & db["WE"] & d_io
        m.d.comb += [self.console_valid.eq(write_io & (io_off == CONSOLE)), self.console_data.eq(db["DAT_MOSI"][:8])]
        m.d.sync += [self.exit_valid.eq(self.exit_valid | (write_io & (io_off == EXIT))),
                     self.trap_valid.eq(self.trap_valid | (write_io & (io_off == TRAP_CAUSE)))]
        with m.If(write_io & (io_off == EXIT)):
            m.d.sync += self.exit_code.eq(db["DAT_MOSI"])
        for off, reg in ((TRAP_CAUSE, self.trap_cause), (TRAP_EPC, self.trap_epc), (TRAP_TVAL, self.trap_tval)):
            with m.If(write_io & (io_off == off)):
                m.d.sync += reg.eq(db["DAT_MOSI"])
        bad_d = d_acc & ~d_ram & ~(d_io & (io_off <= TRAP_TVAL))
        bad_i = ib["CYC"] & ib["STB"] & ~i_ram
        with m.If(~self.buserr_valid & (bad_d | bad_i)):
            m.d.sync += [self.buserr_valid.eq(1), self.buserr_addr.eq(Mux(bad_d, db["ADR"], ib["ADR"]) << 2),
                         self.buserr_write.eq(bad_d & db["WE"])]
        return m


_WB = {"CYC": 1, "STB": 1, "ACK": 1, "WE": 1, "ADR": 30, "DAT_MISO": 32, "DAT_MOSI": 32, "SEL": 4, "ERR": 1,
       "CTI": 3, "BTE": 2}
_WB_IN = {"ACK", "DAT_MISO", "ERR"}
_CFU = {"cmd_valid": 1, "cmd_ready": 1, "cmd_payload_function_id": 10, "cmd_payload_inputs_0": 32,
        "cmd_payload_inputs_1": 32, "rsp_valid": 1, "rsp_ready": 1, "rsp_payload_outputs_0": 32}
_CFU_OUT = {"cmd_valid", "cmd_payload_function_id", "cmd_payload_inputs_0", "cmd_payload_inputs_1", "rsp_ready"}


def _dir(name: str) -> str:
    return "i" if name in _WB_IN else "o"
