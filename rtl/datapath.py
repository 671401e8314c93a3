"""Top component: the mixed-precision SIMD datapath with stream interfaces."""

from __future__ import annotations

from amaranth.hdl import Cat, Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from mixlane.config import Config
from .accumulator import OP_ACC, OP_READ, OP_READ_LOAD, Accumulators
from .aligner import Aligner
from .apart import SubwordAccumulators
from .compress import ReductionTree
from .contract import LaneContract, check_lane
from .decoder import PrecisionDecoder

__all__ = ["SimdDatapath", "op_signature", "result_signature"]


def op_signature(cfg: Config) -> wiring.Signature:
    """Operation stream (source view): valid/ready plus ``op``, ``sel``, ``meta``, ``a``, ``w``, ``bias``."""
    members = {"valid": Out(1), "ready": In(1), "op": Out(2)}
    if cfg.sel_bits:
        members["sel"] = Out(cfg.sel_bits)
    members.update({"meta": Out(cfg.meta_bits), "a": Out(cfg.width), "w": Out(cfg.width),
                    "bias": Out(signed(cfg.acc_width))})
    return wiring.Signature(members)


def result_signature(cfg: Config) -> wiring.Signature:
    """Result stream (source view): valid/ready plus ``data`` (the architecture's result: one signed
    accumulator, or a vector of subword accumulators) and ``sel``."""
    arch = cfg.architecture
    shape = (signed if arch.result_signed(cfg) else unsigned)(arch.result_width(cfg))
    members = {"valid": Out(1), "ready": In(1), "data": Out(shape)}
    if cfg.sel_bits:
        members["sel"] = Out(cfg.sel_bits)
    return wiring.Signature(members)


class SimdDatapath(wiring.Component):
    """Mixed-precision SIMD datapath: decoder -> aligner -> MAC lanes -> sum tree -> accumulators.

    Protocol, latency and throughput: ``docs/format.md``. The MAC lanes are those of the configuration's
    architecture (``config.architecture``: its lane component, built with its lane parameters, read through
    its :class:`~mixlane.rtl.contract.LaneContract`). An ACC takes ``contract.cycles[code]`` cycles (1 for
    single-cycle lanes; ``i.ready`` stays low for the others), LOAD/READ/READ_LOAD one; a READ accepted at edge
    ``t`` presents its result right after edge ``t+1``; a pending result with ``o.ready`` low holds the
    pipeline.

    Members
    -------
    i : In(op_signature(cfg))
    o : Out(result_signature(cfg))

    With ``zero_gating``, :attr:`lane_gates` holds each lane's gate signal (1: operands isolated) once the
    design is elaborated (probes and tests).
    """

    def __init__(self, *, config: Config):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a mixlane Config, not {config!r}")
        self._cfg = config
        arch = config.architecture
        self._lane_cls = arch.lane_class()
        self._lane_args = arch.lane_params(config)
        self._lane0 = probe = self._lane_cls(**self._lane_args)      # becomes lane 0 of the datapath
        self._group = arch.slots_per_lane(config)
        if config.slots % self._group:
            raise ValueError(f"{type(probe).__name__}: {config.slots} slots do not split into lanes of "
                             f"{self._group} (the architecture must reject this configuration)")
        self._contract = check_lane(probe, lane_bits=arch.lane_width(config), code_bits=config.code_bits)
        if self._contract.register_code and config.precision_mode != "uniform":
            raise ValueError(f"{type(probe).__name__}: its offsets, shifts or cycles depend on the code, which "
                             f"needs precision_mode 'uniform' (the architecture must reject this configuration)")
        self.lane_gates: list[Signal] = []    # filled when elaborated with zero gating (see the class docstring)
        super().__init__({"i": In(op_signature(config)), "o": Out(result_signature(config))})

    @property
    def config(self) -> Config:
        return self._cfg

    @property
    def contract(self) -> LaneContract:
        return self._contract

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        sw = cfg.register_sum_width

        m.submodules.decoder = dec = PrecisionDecoder(config=cfg)
        m.submodules.aligner = ali = Aligner(config=cfg)
        m.d.comb += [dec.meta.eq(self.i.meta), ali.a.eq(self.i.a), ali.w.eq(self.i.w)]
        m.d.comb += [ali.slots[s].eq(dec.slots[s]) for s in range(cfg.slots)]

        lanes = []
        self.lane_gates = []             # zero gating's per-lane gate signals, in lane order (for tests, probes)
        g = self._group                  # slots per lane; a lane's code and enable are its first slot's
        for k in range(cfg.slots // g):
            lane = self._lane0 if k == 0 else self._lane_cls(**self._lane_args)
            m.submodules[f"lane{k}"] = lane
            first = k * g
            a = Cat(*(ali.slot_a[s] for s in range(first, first + g)))
            w = Cat(*(ali.slot_w[s] for s in range(first, first + g)))
            if cfg.zero_gating:
                a, w = self._isolate(m, k, a, w, dec.slots[first])
            m.d.comb += [lane.a.eq(a), lane.w.eq(w), lane.code.eq(dec.slots[first].code),
                         lane.en.eq(dec.slots[first].en)]
            lanes.append(lane)
        ct = self._contract
        if ct.kind == "apart":
            self._apart(m, lanes, [dec.slots[s].code for s in range(cfg.slots)])
            return m
        if ct.max_cycles > 1:
            total, step, last = self._sequencer(m, lanes, dec.slots[0].code, sw)
        else:
            total = self._tree(m, lanes, dec.slots[0].code, sw)

        # stage 1: register sum and operation
        s1_valid = Signal(name="s1_valid")
        s1_op = Signal(2, name="s1_op")
        s1_sel = Signal(max(1, cfg.sel_bits), name="s1_sel")
        s1_sum = Signal(signed(sw), name="s1_sum")
        s1_bias = Signal(signed(cfg.acc_width), name="s1_bias")
        stall = Signal(name="stall")
        if ct.max_cycles == 1:
            m.d.comb += [stall.eq(self.o.valid & ~self.o.ready), self.i.ready.eq(~stall)]
            taken = self.i.valid
        else:
            m.d.comb += stall.eq(self.o.valid & ~self.o.ready)
            taken = self.i.valid & self.i.ready
            # an ACC is accepted in its last step; earlier steps hold it at the ports (valid, payload stable)
            m.d.comb += self.i.ready.eq(~stall & ((self.i.op != OP_ACC) | last))
            with m.If(~stall & self.i.valid & (self.i.op == OP_ACC)):
                with m.If(last):
                    m.d.sync += step.eq(0)
                with m.Else():
                    m.d.sync += step.eq(step + 1)
        with m.If(~stall):
            m.d.sync += [s1_valid.eq(taken), s1_op.eq(self.i.op), s1_sum.eq(total),
                         s1_bias.eq(self.i.bias)]
            if cfg.sel_bits:
                m.d.sync += s1_sel.eq(self.i.sel)

        # stage 2: accumulators and the result register
        m.submodules.acc = acc = Accumulators(outputs=cfg.outputs, acc_width=cfg.acc_width, addend_width=sw,
                                              saturate=cfg.overflow == "saturate")
        m.d.comb += [acc.en.eq(s1_valid & ~stall), acc.op.eq(s1_op), acc.sel.eq(s1_sel),
                     acc.addend.eq(s1_sum), acc.bias.eq(s1_bias)]
        self._result(m, s1_valid, s1_op, s1_sel, stall, acc.read)
        return m

    def _isolate(self, m: Module, k: int, a, w, slot):
        """Zero gating of lane ``k``: when its activation or weight elements are all zero under a code where that
        means a zero product (:meth:`Config.gateable`), both operands are held at 0 (operand isolation: the
        lane's nets keep still while such pairs stream through). In ``element`` mode a slot's element is its
        low ``p`` bits (the code's precision); otherwise the whole lane. Returns the lane's operands."""
        cfg = self._cfg
        n = 1 << cfg.code_bits
        mask = sum(1 << c for c, p in enumerate(cfg.precisions) if cfg.gateable(p))
        code_ok = Signal(name=f"lane{k}_gateable")
        m.d.comb += code_ok.eq(Const(mask, n).bit_select(slot.code, 1))
        a_zero, w_zero = Signal(name=f"lane{k}_a_zero"), Signal(name=f"lane{k}_w_zero")
        if cfg.precision_mode == "element":
            for c, p in enumerate(cfg.precisions):
                with m.If(slot.code == c):
                    m.d.comb += [a_zero.eq(a[:p] == 0), w_zero.eq(w[:p] == 0)]
        else:
            m.d.comb += [a_zero.eq(a == 0), w_zero.eq(w == 0)]
        gated = Signal(name=f"lane{k}_gated")
        m.d.comb += gated.eq(slot.en & code_ok & (a_zero | w_zero))
        self.lane_gates.append(gated)
        a_iso = Signal(len(a), name=f"lane{k}_a_iso")
        w_iso = Signal(len(w), name=f"lane{k}_w_iso")
        m.d.comb += [a_iso.eq(Mux(gated, 0, a)), w_iso.eq(Mux(gated, 0, w))]
        return a_iso, w_iso

    def _result(self, m: Module, s1_valid, s1_op, s1_sel, stall, read) -> None:
        """The result register: a READ or READ_LOAD in stage 1 presents ``read`` (the accumulator before the
        edge) on ``o`` after the edge; held while the result stream stalls."""
        is_read = Signal(name="s1_is_read")
        m.d.comb += is_read.eq(s1_valid & ((s1_op == OP_READ) | (s1_op == OP_READ_LOAD)))
        with m.If(~stall):
            m.d.sync += self.o.valid.eq(is_read)
            with m.If(is_read):
                m.d.sync += self.o.data.eq(read)
                if self._cfg.sel_bits:
                    m.d.sync += self.o.sel.eq(s1_sel)

    def _tree(self, m: Module, lanes, code, sw: int):
        """Single-cycle lanes: one tree sums their rows and offsets (per code, register-wide, when the lanes'
        offsets or shifts depend on it: ``uniform`` mode); returns the register sum (``sw`` bits)."""
        cfg, ct = self._cfg, self._contract
        if ct.register_code:
            codes = range(len(ct.cycles))
            m.submodules.tree = tree = ReductionTree(
                count=len(lanes), row_width=ct.row_width, out_width=sw,
                offset=[sum(lane.contract.offsets[c][0] for lane in lanes) for c in codes], shifts=ct.shifts)
            m.d.comb += tree.code.eq(code)
        else:
            m.submodules.tree = tree = ReductionTree(count=len(lanes), row_width=ct.row_width,
                                                     offset=sum(lane.contract.offset for lane in lanes), out_width=sw)
        for s, lane in enumerate(lanes):
            m.d.comb += [tree.rows[2 * s].eq(lane.sum), tree.rows[2 * s + 1].eq(lane.carry)]
        return tree.total

    def _sequencer(self, m: Module, lanes, code, sw: int):
        """Steps of a multi-cycle operation: a ``step`` counter, one tree whose offsets are indexed by
        ``(code, step)``, each step's value weighted by ``2**weights[code][step]`` and added to a partial sum.
        Returns ``(total, step, last)``: the operation's value so far including this step (exact when
        ``last``), the counter and whether this is the operation's last step. Arithmetic is modulo ``2**sw``;
        the final value fits ``sw`` signed bits, so the intermediate wrap-around is harmless."""
        cfg, ct = self._cfg, self._contract
        sb, n_codes = ct.step_bits, len(ct.cycles)
        step = Signal(sb, name="step")
        partial = Signal(signed(sw), name="step_partial")
        ctx = Signal(cfg.code_bits + sb, name="step_ctx")
        m.d.comb += ctx.eq(Cat(step, code))
        n_ctx = n_codes << sb

        def per_ctx(fn):
            return [fn(c, s) if s < ct.cycles[c] else 0 for c in range(n_codes) for s in range(1 << sb)]

        offsets = per_ctx(lambda c, s: sum(lane.contract.offsets[c][s] for lane in lanes))
        shifts = [ct.shifts[c] for c in range(n_codes) for _ in range(1 << sb)]
        m.submodules.tree = tree = ReductionTree(count=len(lanes), row_width=ct.row_width, out_width=sw,
                                                 offset=offsets, shifts=shifts)
        m.d.comb += tree.code.eq(ctx)
        for s, lane in enumerate(lanes):
            m.d.comb += [lane.step.eq(step), tree.rows[2 * s].eq(lane.sum), tree.rows[2 * s + 1].eq(lane.carry)]

        def ctx_bit(name, mask):
            bit = Signal(name=name)
            m.d.comb += bit.eq(Const(mask, n_ctx).bit_select(ctx, 1))
            return bit

        last_mask = sum(1 << (c << sb | s) for c in range(n_codes) for s in range(1 << sb) if s >= ct.cycles[c] - 1)
        last = ctx_bit("step_last", last_mask)
        weights = per_ctx(lambda c, s: ct.weights[c][s])
        weighted = tree.total
        for w in sorted(set(weights) - {0}):
            hit = ctx_bit(f"step_weight{w}", sum(1 << k for k, x in enumerate(weights) if x == w))
            weighted = Mux(hit, (tree.total << w)[:sw], weighted)
        value = Signal(signed(sw), name="step_value")
        total = Signal(signed(sw), name="step_total")
        m.d.comb += [value.eq(weighted), total.eq(partial + value)]
        stall = self.o.valid & ~self.o.ready
        with m.If(~stall & self.i.valid & (self.i.op == OP_ACC)):
            m.d.sync += partial.eq(Mux(last, 0, total))
        return total, step, last

    def _apart(self, m: Module, lanes, codes) -> None:
        """Lanes that keep their products apart: stage 1 registers every lane's product vector and code,
        stage 2 adds them into :class:`~mixlane.rtl.apart.SubwordAccumulators`."""
        cfg = self._cfg
        vec = Cat(*[lane.vec for lane in lanes])
        s1_valid = Signal(name="s1_valid")
        s1_op = Signal(2, name="s1_op")
        s1_sel = Signal(max(1, cfg.sel_bits), name="s1_sel")
        s1_vec = Signal(len(vec), name="s1_vec")
        s1_codes = Signal(cfg.code_bits * len(codes), name="s1_codes")
        s1_bias = Signal(signed(cfg.acc_width), name="s1_bias")
        stall = Signal(name="stall")
        m.d.comb += [stall.eq(self.o.valid & ~self.o.ready), self.i.ready.eq(~stall)]
        with m.If(~stall):
            m.d.sync += [s1_valid.eq(self.i.valid), s1_op.eq(self.i.op), s1_vec.eq(vec), s1_codes.eq(Cat(*codes)),
                         s1_bias.eq(self.i.bias)]
            if cfg.sel_bits:
                m.d.sync += s1_sel.eq(self.i.sel)
        m.submodules.acc = acc = SubwordAccumulators(outputs=cfg.outputs, lanes=len(lanes), lane_bits=cfg.lane_bits,
                                                     acc_width=cfg.acc_width, precisions=cfg.precisions)
        cb = cfg.code_bits
        m.d.comb += [acc.en.eq(s1_valid & ~stall), acc.op.eq(s1_op), acc.sel.eq(s1_sel), acc.vec.eq(s1_vec),
                     acc.bias.eq(s1_bias)]
        m.d.comb += [acc.codes[k].eq(s1_codes[cb * k: cb * k + cb]) for k in range(len(codes))]
        self._result(m, s1_valid, s1_op, s1_sel, stall, acc.read)
