"""Bulk verification: the whole stimulus of a scenario handed to the simulator at once.

A generated Verilog harness (module :data:`HARNESS_NAME`) wraps the datapath with a clock, a stimulus
memory (one payload word per operation), the idle and output-ready patterns and two result files. cocotb
writes the stimulus files, raises ``start`` and awaits ``done``: no Python runs per clock cycle. The harness
drives and samples exactly as the per-cycle driver and monitor of :mod:`mixlane.sim_tb.testbench` do
(payload and ``valid`` after the falling edge, handshakes sampled before the rising edge, ``valid`` held
until the transfer, only the fields an operation uses rewritten), so both modes see the same cycles.

Files, in the simulator's working folder (all text):

- ``bulk_hdr.hex``: operations, expected results, cycle limit, idle-pattern length, ready-pattern length.
- ``bulk_ops.bin``: one payload word per operation, fields of :func:`payload_fields` from bit 0 up, stored
  big-endian in ``ceil(width / 8)`` bytes (the layout ``$fread`` reads into a memory).
- ``bulk_idle.bin`` / ``bulk_ready.bin``: one byte (0 or 1) per cycle, repeated cyclically (absent: never idle /
  always ready).
- written by the harness: ``bulk_results.txt`` (``cycle sel data`` per transferred result, cycle decimal,
  sel and data hex), ``bulk_cycles.hex`` (per accepted operation, one 48-bit hex word: idle cycles before its
  offer, cycles held by the result stream, unstalled cycles; 16 bits each, saturating) and
  ``bulk_end.txt`` (cycles the run took, decimal).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mixlane.config import Config
from mixlane.golden import OP_ACC, Ops

__all__ = ["HARNESS_NAME", "READY_PERIOD", "payload_fields", "payload_bytes", "layout", "harness_verilog",
           "write_harness",
           "write_stimulus", "read_results", "stall_patterns"]

#: Top module of the bulk harness.
HARNESS_NAME = "mixlane_bulk"
#: Length of the output-ready pattern (a prime, so it does not beat with the operation pattern).
READY_PERIOD = 4099
HEX = np.frombuffer(b"0123456789abcdef", np.uint8)


def _ports(cfg: Config) -> tuple[dict[str, int], dict[str, int]]:
    """Payload widths of the operation stream and the result stream, from the datapath's signature."""
    from amaranth.hdl import Shape

    from mixlane.rtl.datapath import op_signature, result_signature

    def widths(sig):
        return {name: Shape.cast(m.shape).width for name, m in sig.members.items() if name not in ("valid", "ready")}
    return widths(op_signature(cfg)), widths(result_signature(cfg))


def payload_fields(cfg: Config) -> list[tuple[str, int, int]]:
    """``(name, offset, width)`` of each operation field in a ``bulk_ops.bin`` word, from bit 0; every field
    starts on a byte boundary (so the words are assembled from whole bytes)."""
    out, at = [], 0
    for name, width in _ports(cfg)[0].items():
        out.append((name, at, width))
        at += -(-width // 8) * 8
    return out


def payload_bytes(cfg: Config) -> int:
    """Bytes of one ``bulk_ops.bin`` word."""
    name, at, width = payload_fields(cfg)[-1]
    return (at + width + 7) // 8


def stall_patterns(ops: Ops, rng: np.random.Generator, idle: float, ready: float):
    """The per-cycle idle and output-ready patterns of a run (``None``: never idle / always ready), drawn in
    the same order and lengths as the per-cycle driver and monitor draw them."""
    idle_pat = (rng.random(len(ops) * 4 + 16) < idle) if idle else None
    ready_pat = (rng.random(READY_PERIOD) < ready) if ready < 1 else None
    return idle_pat, ready_pat


def _field_lines(cfg: Config, indent: str) -> list[str]:
    """Harness statements that present operation ``ops[k]``: ``op``/``sel`` always, ``meta``/``a``/``w`` for an
    ACC, the other fields otherwise (as the per-cycle driver rewrites only the fields an operation uses)."""
    fields = payload_fields(cfg)
    op_at = next(o for n, o, _ in fields if n == "op")
    acc_fields = {"meta", "a", "w"}

    def assign(n, o, w):
        return f"i_{n} <= ops[k][{o + w - 1}:{o}];"
    return ([indent + assign(n, o, w) for n, o, w in fields if n in ("op", "sel")]
            + [indent + f"if (ops[k][{op_at + 1}:{op_at}] == 2'd{OP_ACC}) begin"]
            + [indent + "  " + assign(n, o, w) for n, o, w in fields if n in acc_fields]
            + [indent + "end else begin"]
            + [indent + "  " + assign(n, o, w) for n, o, w in fields if n not in acc_fields | {"op", "sel"}]
            + [indent + "end"])


HARNESS_BODY = """\
  // phases: 0 wait for start, 1 reset (two rising edges), 2 run, 3 drain (four cycles), then done
  reg [1:0] phase = 2'd0;
  reg start_q = 1'b0;
  integer n_ops, n_exp, limit, idle_len, ready_len, k, shown, nres, work, stall, gap, cycle, ip, rp, count;
  integer fres, fend, rc;
  initial done = 1'b0;
  function [15:0] sat16(input integer v);
    sat16 = v > 65535 ? 16'hffff : v[15:0];
  endfunction
  // drive, at the falling edge
  always @(negedge clk) begin
    start_q <= start;
    case (phase)
      2'd0: if (start && !start_q) begin
        $readmemh("bulk_hdr.hex", hdr);
        n_ops = hdr[0]; n_exp = hdr[1]; limit = hdr[2]; idle_len = hdr[3]; ready_len = hdr[4];
        // binary files ($fread: one big-endian word of whole bytes per element; ~5x faster than $readmemh)
        fend = $fopen("bulk_ops.bin", "rb"); if (n_ops > 0) rc = $fread(ops, fend, 0, n_ops); $fclose(fend);
        if (idle_len > 0) begin
          fend = $fopen("bulk_idle.bin", "rb"); rc = $fread(idle_bits, fend, 0, idle_len); $fclose(fend);
        end
        if (ready_len > 0) begin
          fend = $fopen("bulk_ready.bin", "rb"); rc = $fread(ready_bits, fend, 0, ready_len); $fclose(fend);
        end
        fres = $fopen("bulk_results.txt", "w");
        done <= 1'b0; rst <= 1'b1; i_valid <= 1'b0; o_ready <= 1'b0;
        k = 0; shown = -1; nres = 0; work = 0; stall = 0; gap = 0; cycle = 0; ip = 0; rp = 0; count = 0;
        phase <= 2'd1;
      end
      2'd1, 2'd2: if (phase == 2'd1 && count < 2) begin
        // still in reset
      end else if ((k >= n_ops && nres >= n_exp) || cycle >= limit) begin
        i_valid <= 1'b0; o_ready <= 1'b1; rst <= 1'b0; count = 0; phase <= 2'd3;
      end else begin
        // an idle cycle delays a new offer; an offer not yet transferred stays (valid may not drop)
        if (k >= n_ops || (idle_len > 0 && idle_bits[ip] && !(i_valid && shown == k))) i_valid <= 1'b0;
        else begin
          shown = k;
@FIELDS@
          i_valid <= 1'b1;
        end
        o_ready <= ready_len > 0 ? ready_bits[rp] : 1'b1;
        rst <= 1'b0; phase <= 2'd2;   // the first cycle of the run is the one that releases reset
      end
      2'd3: if (count == 4) begin
        $fclose(fres);
        if (k > 0) $writememh("bulk_cycles.hex", stats, 0, k - 1);
        fend = $fopen("bulk_end.txt", "w"); $fwrite(fend, "%0d\\n", cycle); $fclose(fend);
        done <= 1'b1; phase <= 2'd0;
      end
    endcase
  end
  // sample the handshakes, at the rising edge (the datapath's registers update after this block reads)
  always @(posedge clk) begin
    if (phase == 2'd1) count = count + 1;
    if (phase == 2'd2 || phase == 2'd3) begin
      if (phase == 2'd2 && i_valid) begin
        if (!(o_valid && !o_ready)) work = work + 1;
        else stall = stall + 1;
        if (i_ready) begin
          stats[k] = {sat16(gap), sat16(stall), sat16(work)};
          k = k + 1; work = 0; stall = 0; gap = 0;
        end
      end else if (phase == 2'd2 && k < n_ops) gap = gap + 1;
      if (o_ready && o_valid) begin $fwrite(fres, "%0d %h %h\\n", cycle, @SEL@, o_data); nres = nres + 1; end
      cycle = cycle + 1;
      ip = ip + 1 == idle_len ? 0 : ip + 1;
      rp = rp + 1 == ready_len ? 0 : rp + 1;
      if (phase == 2'd3) count = count + 1;
    end
  end
endmodule
"""


def harness_verilog(cfg: Config, *, depth: int, top: str) -> str:
    """Verilog of the harness around module ``top``; ``depth`` operations at most per run."""
    _, outs = _ports(cfg)
    fields = payload_fields(cfg)
    pw = 8 * payload_bytes(cfg)
    decl = [f"  reg [{w - 1}:0] i_{n};" for n, _, w in fields]
    decl += [f"  wire [{w - 1}:0] o_{n};" for n, w in outs.items()]
    conns = [".clk(clk)", ".rst(rst)", ".i__valid(i_valid)", ".i__ready(i_ready)", ".o__valid(o_valid)",
             ".o__ready(o_ready)"]
    conns += [f".i__{n}(i_{n})" for n, _, _ in fields] + [f".o__{n}(o_{n})" for n in outs]
    body = (HARNESS_BODY.replace("@FIELDS@", "\n".join(_field_lines(cfg, "          ")))
            .replace("@SEL@", "o_sel" if "sel" in outs else "1'b0"))
    return "\n".join([
        "// Bulk-verification harness generated by mixlane (file formats: mixlane/sim_tb/bulk.py).",
        "`timescale 1ns/1ps",
        f"module {HARNESS_NAME}(input start /*verilator public_flat_rw*/,",
        "                    output reg done /*verilator public_flat_rw*/);",
        "  reg clk = 1'b0;",
        "  always #5 clk = ~clk;",
        "  reg rst = 1'b1;",
        "  reg i_valid = 1'b0;",
        "  reg o_ready = 1'b0;",
        "  wire i_ready, o_valid;",
        *decl,
        f"  {top} dut({', '.join(conns)});",
        f"  reg [{pw - 1}:0] ops [0:{depth - 1}];",
        f"  reg idle_bits [0:{4 * depth + 15}];",
        f"  reg ready_bits [0:{READY_PERIOD - 1}];",
        "  reg [63:0] hdr [0:4];",
        f"  reg [47:0] stats [0:{depth - 1}];   // per operation: idle cycles before, held cycles, unstalled cycles",
        body])


def layout(cfg: Config) -> dict:
    """What the cocotb side needs to write and read the files: ``fields`` (:func:`payload_fields`),
    ``payload_bytes``, ``data_width`` and ``data_signed`` of the result stream."""
    return {"fields": payload_fields(cfg), "payload_bytes": payload_bytes(cfg), "data_width": _ports(cfg)[1]["data"],
            "data_signed": cfg.architecture.result_signed(cfg)}


def write_harness(cfg: Config, folder: str | Path, *, depth: int, top: str) -> Path:
    """``<folder>/mixlane_bulk.v`` and ``mixlane_bulk.json`` (:func:`layout`, read by the simulation process so it
    needs no HDL library)."""
    path = Path(folder) / f"{HARNESS_NAME}.v"
    path.write_text(harness_verilog(cfg, depth=depth, top=top))
    path.with_suffix(".json").write_text(json.dumps(layout(cfg)) + "\n")
    return path


def _le_bytes(cfg: Config, ops: Ops, name: str, width: int) -> np.ndarray:
    """``(B, ceil(width / 8))`` little-endian bytes of operation field ``name`` (two's complement for ``bias``)."""
    nbytes = -(-width // 8)
    if name in ("a", "w"):
        return np.packbits(getattr(ops, name), axis=1, bitorder="little")[:, :nbytes]
    if name == "meta":
        from mixlane.golden import meta_field_bits

        fb = meta_field_bits(cfg)
        bits = ((ops.meta[:, :, None] >> np.arange(fb)) & 1).astype(np.uint8).reshape(len(ops), -1)
        return np.packbits(bits, axis=1, bitorder="little")[:, :nbytes]
    v = np.ascontiguousarray(getattr(ops, name), dtype="<i8")
    return v.view(np.uint8).reshape(len(ops), 8)[:, :nbytes]


def write_stimulus(cfg: Config, lay: dict, folder: str | Path, ops: Ops, idle_pat, ready_pat, *, n_expected: int,
                   limit: int) -> None:
    """Write the stimulus files of one run into ``folder`` (the simulator's working folder); ``lay`` is
    :func:`layout`'s dictionary."""
    folder = Path(folder)
    n = len(ops)
    fields = lay["fields"]
    size = lay["payload_bytes"]
    word = np.zeros((n, size), np.uint8)     # big-endian: byte 0 holds the top bits
    for name, at, width in fields:
        le = _le_bytes(cfg, ops, name, width)
        word[:, size - 1 - at // 8 - np.arange(le.shape[1])] = le
    (folder / "bulk_ops.bin").write_bytes(word.tobytes())
    for name, pat in (("idle", idle_pat), ("ready", ready_pat)):
        path = folder / f"bulk_{name}.bin"
        if pat is not None:
            path.write_bytes(np.asarray(pat, np.uint8).tobytes())
        else:
            path.unlink(missing_ok=True)
    hdr = [n, n_expected, limit, 0 if idle_pat is None else len(idle_pat),
           0 if ready_pat is None else len(ready_pat)]
    (folder / "bulk_hdr.hex").write_text("".join(f"{v:x}\n" for v in hdr))
    for name in ("bulk_results.txt", "bulk_cycles.hex", "bulk_end.txt"):
        (folder / name).unlink(missing_ok=True)


def _hex_value(text: str, width: int, signed: bool) -> int | None:
    """A result printed by ``%h``; ``None`` when it has unknown (x/z) bits."""
    try:
        v = int(text, 16)
    except ValueError:
        return None
    return v - (1 << width) if signed and v >> (width - 1) else v


def read_results(lay: dict, folder: str | Path):
    """``(cycle, sel, value)`` arrays of the transferred results, ``(B, 3)`` per-operation counts (unstalled
    cycles, stalled cycles, idle cycles before the offer) and the run's cycles, as written by the harness.
    ``value`` is int64, or Python ints (object) for results wider than 63 bits."""
    folder = Path(folder)
    width, signed = lay["data_width"], lay["data_signed"]
    rows = (folder / "bulk_results.txt").read_text().split()
    cycle = np.array(rows[0::3], dtype=np.int64)
    sel = np.array([int(s, 16) for s in rows[1::3]], dtype=np.int64)
    raw = [_hex_value(d, width, signed) for d in rows[2::3]]
    unknown = [k for k, v in enumerate(raw) if v is None]
    value = np.array(raw, dtype=np.int64 if width <= 63 and not unknown else object)
    path = folder / "bulk_cycles.hex"
    lines = path.read_text().splitlines() if path.exists() else []
    words = [int(x, 16) for x in lines if x.strip() and not x.lstrip().startswith("//")]   # // address comments
    w = np.array(words, dtype=np.int64)
    op_stats = np.stack([w & 0xFFFF, (w >> 16) & 0xFFFF, (w >> 32) & 0xFFFF], axis=1)
    cycles = int((folder / "bulk_end.txt").read_text())
    return cycle, sel, value, op_stats, cycles
