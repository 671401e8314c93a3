"""The datapath as a RISC-V custom function unit (CFU): operand buffers, a MAC sequencer, the CFU handshake.

Instructions: :mod:`mixlane.soc.isa` (``docs/isa.md``). The unit keeps three buffers filled 64 bits per
instruction and read by a sequencer that issues one datapath ACC per cycle (per the architecture's cycles):

- ``A``: ``a_regs`` activation registers of ``width`` bits;
- ``M``: ``a_regs`` metadata words of ``meta_bits`` (one per reduction register; read with the same index as A);
- ``W``: ``w_regs`` weight registers of ``width`` bits (resident weights are reused across output positions).

The response is registered (one cycle after acceptance), so pushes, ``setptr`` and ``info`` stream one per
cycle; ``mac`` of ``n`` register pairs takes ``n`` datapath ACCs (times the architecture's cycles per ACC) plus
one cycle; ``load`` two; ``read`` the datapath's read latency (two edges) plus two. Measured figures:
``docs/isa.md``.
"""

from __future__ import annotations

import operator

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from mixlane.config import Config, ConfigError
from mixlane.rtl.accumulator import OP_ACC, OP_LOAD, OP_READ, OP_READ_LOAD
from mixlane.rtl.datapath import SimdDatapath
from . import isa

__all__ = ["cfu_signature", "MixlaneCfu", "check_extension"]


def cfu_signature() -> wiring.Signature:
    """The CFU port of VexRiscv's CfuPlugin, unit side: command in, response out."""
    return wiring.Signature({
        "cmd_valid": In(1), "cmd_ready": Out(1), "cmd_function_id": In(10),
        "cmd_inputs_0": In(32), "cmd_inputs_1": In(32),
        "rsp_valid": Out(1), "rsp_ready": In(1), "rsp_outputs_0": Out(32),
    })


def check_extension(cfg: Config, a_regs: int, w_regs: int) -> None:
    """Raise :class:`ConfigError` (one line, naming the fix) when ``cfg`` cannot sit behind the CFU port."""
    arch = cfg.architecture
    if not arch.scalar_readout:
        raise ConfigError(f"mac {cfg.mac!r}: its read-out is a vector of subword sums, which one 32-bit CFU "
                          "response cannot return; use an architecture with a scalar read-out")
    if cfg.acc_width > 32:
        raise ConfigError(f"acc_width: {cfg.acc_width} does not fit the CFU's 32-bit response; use acc_width <= 32")
    if cfg.outputs > 64:
        raise ConfigError(f"outputs: {cfg.outputs} accumulators exceed the 6-bit select of `read`; use <= 64")
    for name, v in (("a_regs", a_regs), ("w_regs", w_regs)):
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1 << 14:
            raise ConfigError(f"{name}: {v!r} is not allowed; use an integer from 1 to {1 << 14}")


class MixlaneCfu(wiring.Component):
    """The configuration's :class:`~mixlane.rtl.datapath.SimdDatapath` behind VexRiscv's CFU port.

    Parameters
    ----------
    config : Config
    a_regs : int
        Depth of the activation and metadata buffers (registers of ``width`` / ``meta_bits`` bits).
    w_regs : int
        Depth of the weight buffer.

    Members
    -------
    cfu : Out(cfu_signature())
    idle : Out(1)
        No instruction in flight, no response pending and the datapath's pipeline drained (3 cycles after its
        last operation): until the next command a clock edge changes no state that matters (only pipeline
        registers whose valid bit is low), so the unit's clock may be gated (the simulator skips it then).
    """

    def __init__(self, *, config: Config, a_regs: int = 64, w_regs: int = 64):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a mixlane Config, not {config!r}")
        check_extension(config, a_regs, w_regs)
        self._cfg = config
        self._a_regs = operator.index(a_regs)
        self._w_regs = operator.index(w_regs)
        super().__init__({"cfu": Out(cfu_signature()), "idle": Out(1)})

    @property
    def config(self) -> Config:
        return self._cfg

    @property
    def facts(self) -> dict[str, int]:
        """What ``info`` returns, by :data:`~mixlane.soc.isa.INFO_FIELDS` name."""
        cfg = self._cfg
        return {"width": cfg.width, "a_regs": self._a_regs, "w_regs": self._w_regs, "meta_bits": cfg.meta_bits,
                "outputs": cfg.outputs, "config_hash": int(cfg.content_hash[-8:], 16), "acc_width": cfg.acc_width,
                "chunks_a": isa.chunks(cfg.width), "chunks_m": isa.chunks(cfg.meta_bits)}

    def elaborate(self, platform):
        m = Module()
        cfg, bus = self._cfg, self.cfu
        m.submodules.datapath = dp = SimdDatapath(config=cfg)
        f3 = Signal(3, name="funct3")
        f7 = Signal(7, name="funct7")
        m.d.comb += [f3.eq(bus.cmd_function_id[:3]), f7.eq(bus.cmd_function_id[3:])]
        regs = {"ai": Signal(16, name="mac_a_index"), "wi": Signal(16, name="mac_w_index"),
                "count": Signal(16, name="mac_count"), "sel": Signal(7, name="op_sel"),
                "bias": Signal(32, name="op_bias")}
        ports = self._buffers(m, regs["ai"], regs["wi"])
        m.d.comb += [dp.i.sel.eq(regs["sel"]) if cfg.sel_bits else [], dp.i.bias.eq(regs["bias"]),
                     dp.i.a.eq(ports[isa.PTR_A][0].data), dp.i.w.eq(ports[isa.PTR_W][0].data),
                     dp.i.meta.eq(ports[isa.PTR_M][0].data)]
        drain = Signal(range(4), name="pipeline_drain")     # cycles until the datapath's last operation is done
        with m.If(dp.i.valid):
            m.d.sync += drain.eq(3)
        with m.Elif(drain != 0):
            m.d.sync += drain.eq(drain - 1)
        self._sequencer(m, dp, f3, f7, regs, ports, drain)
        return m

    def _buffers(self, m: Module, ai, wi) -> dict:
        """The A, M and W buffers: ``{kind: (read port, write port, pointer, chunk counter, chunks, depth)}``;
        A and M are read at ``ai``, W at ``wi`` (combinationally: the operands of the ACC at hand)."""
        cfg, bus = self._cfg, self.cfu
        bufs = {isa.PTR_A: ("abuf", self._a_regs, cfg.width), isa.PTR_M: ("mbuf", self._a_regs, cfg.meta_bits),
                isa.PTR_W: ("wbuf", self._w_regs, cfg.width)}
        ports = {}
        for kind, (name, depth, bits) in bufs.items():
            chunks = isa.chunks(bits)
            mem = memory.Memory(shape=chunks * isa.CHUNK_BITS, depth=depth, init=[])
            m.submodules[name] = mem
            rd = mem.read_port(domain="comb")
            wr = mem.write_port(granularity=isa.CHUNK_BITS)
            ptr = Signal(range(depth), name=f"{name}_ptr")
            chunk = Signal(range(max(chunks, 2)), name=f"{name}_chunk")
            m.d.comb += [rd.addr.eq(wi if kind == isa.PTR_W else ai), wr.addr.eq(ptr),
                         wr.data.eq(Cat(bus.cmd_inputs_0, bus.cmd_inputs_1).replicate(chunks))]
            ports[kind] = (rd, wr, ptr, chunk, chunks, depth)
        return ports

    def _sequencer(self, m: Module, dp, f3, f7, regs: dict, ports: dict, drain) -> None:
        """The CFU handshake and the FSM that turns instructions into datapath operations.

        The response is a register (VexRiscv's CfuPlugin takes it one stage after the command): an instruction is
        accepted when the response register is empty or being emptied, so instructions stream one per cycle."""
        bus = self.cfu
        ai, wi, count, sel, bias = (regs[k] for k in ("ai", "wi", "count", "sel", "bias"))
        fast = Signal(name="fast_insn")      # done in the cycle it is accepted
        m.d.comb += fast.eq(Cat(f3 == isa.BY_NAME[name].funct3 for name in isa.FAST).any()
                            | ((f3 == isa.BY_NAME["mac"].funct3) & (bus.cmd_inputs_0[isa.MAC_COUNT_SHIFT:] == 0)))
        info = Signal(32, name="info_value")
        with m.If(f3 == isa.BY_NAME["info"].funct3):
            with m.Switch(f7):
                for k, field in enumerate(isa.INFO_FIELDS):
                    with m.Case(k):
                        m.d.comb += info.eq(self.facts[field])
        rsp_valid = Signal(name="rsp_valid")
        rsp_data = Signal(32, name="rsp_data")
        free = Signal(name="rsp_free")       # the response register is empty after this cycle
        m.d.comb += [bus.rsp_valid.eq(rsp_valid), bus.rsp_outputs_0.eq(rsp_data),
                     free.eq(~rsp_valid | bus.rsp_ready)]
        with m.If(rsp_valid & bus.rsp_ready):
            m.d.sync += rsp_valid.eq(0)

        def respond(value) -> None:
            m.d.sync += [rsp_valid.eq(1), rsp_data.eq(value)]
            m.next = "IDLE"

        with m.FSM(name="cfu_fsm"):
            with m.State("IDLE"):
                m.d.comb += [bus.cmd_ready.eq(free), self.idle.eq(~rsp_valid & (drain == 0))]
                with m.If(bus.cmd_valid & free & fast):
                    self._fast(m, f3, f7, ports)
                    respond(info)
                with m.If(bus.cmd_valid & free & ~fast):
                    m.d.sync += [sel.eq(f7), bias.eq(bus.cmd_inputs_0), ai.eq(bus.cmd_inputs_0 & isa.MAC_INDEX_MASK),
                                 wi.eq(bus.cmd_inputs_1 & isa.MAC_INDEX_MASK),
                                 count.eq(bus.cmd_inputs_0[isa.MAC_COUNT_SHIFT:])]
                    with m.Switch(f3):
                        with m.Case(isa.BY_NAME["mac"].funct3):
                            m.next = "MAC"
                        with m.Case(isa.BY_NAME["load"].funct3):
                            m.next = "LOAD"
                        with m.Default():
                            m.next = "READ"
            with m.State("MAC"):            # the response register is empty here: it was free at acceptance
                m.d.comb += [dp.i.valid.eq(1), dp.i.op.eq(OP_ACC)]
                with m.If(dp.i.ready):
                    m.d.sync += [ai.eq(ai + 1), wi.eq(wi + 1), count.eq(count - 1)]
                    with m.If(count == 1):
                        respond(0)
            with m.State("LOAD"):
                m.d.comb += [dp.i.valid.eq(1), dp.i.op.eq(OP_LOAD)]
                with m.If(dp.i.ready):
                    respond(0)
            with m.State("READ"):
                m.d.comb += [dp.i.valid.eq(1), dp.i.op.eq(OP_READ_LOAD)]
                with m.If((sel & isa.READ_KEEP) != 0):
                    m.d.comb += dp.i.op.eq(OP_READ)
                with m.If(dp.i.ready):
                    m.next = "READ_WAIT"
            with m.State("READ_WAIT"):
                m.d.comb += dp.o.ready.eq(1)
                with m.If(dp.o.valid):
                    respond(dp.o.data)

    def _fast(self, m: Module, f3, f7, ports) -> None:
        """Pushes and ``setptr``: buffer writes and pointer moves of an accepted fast instruction."""
        for kind, (rd, wr, ptr, chunk, chunks, depth) in ports.items():
            with m.If(f3 == isa.BY_NAME[f"{isa.PTR_NAMES[kind].lower()}_push"].funct3):
                m.d.comb += wr.en.eq(Const(1, chunks) << chunk)
                with m.If(chunk == chunks - 1):
                    m.d.sync += [chunk.eq(0), ptr.eq(Mux(ptr == depth - 1, 0, ptr + 1))]
                with m.Else():
                    m.d.sync += chunk.eq(chunk + 1)
            with m.If((f3 == isa.BY_NAME["setptr"].funct3) & (f7 == kind)):
                m.d.sync += [ptr.eq(self.cfu.cmd_inputs_0), chunk.eq(0)]
