// Gate-level power testbench for the mapped datapath (plain Verilog, Icarus; no cocotb).
// Rendered by mixlane.synth.power into the power work folder (upper-case placeholders, written with a dollar
// and braces in the code below) and compiled with the mapped netlist and the library's Verilog cell models.
//
//   TOP            top module of the netlist (mixlane_datapath)
//   DECLS          one reg/wire per port of the netlist (widths from the configuration, docs/format.md)
//   PORT_MAP       named port connections
//   PAYLOAD        the concatenation {i__op, [i__sel,] i__meta, i__a, i__w, i__bias}, MSB first
//   WORD_BITS      bits of one packed operation word in STIM_FILE (hex, one operation a line)
//   N_OPS          operations in STIM_FILE
//   MAX_CYCLES     cycles after reset before the run is declared a TIMEOUT (4x the workload's golden cycles)
//   HALF_NS        half clock period (ns)
//   DRIVE_NS       inputs change this long after the rising edge (away from the edge)
//   SAMPLE_NS      outputs and the handshake are sampled this long after the rising edge (just before the next)
//   RESET_CYCLES   rising edges with rst high
//   WARMUP_CYCLES  cycles after reset before the measurement window
//   WINDOW_CYCLES  cycles in the measurement window: VCD only of these (level 1 of the netlist: its nets)
//
// Protocol (docs/format.md section 7): valid/payload held until accepted (valid & ready at a rising edge),
// o__ready always 1. Every result transfer is written to RESULTS_FILE as "R <sel> <data>" (hex), so the
// caller can check them against the golden model: a power number from a broken netlist is worthless.
// Other lines: "W0 <op index>" / "W1 <op index>" at the window's start/end (index of the operation being
// offered), "DONE <cycles>" or "TIMEOUT <cycles>" at the end.
// The window opens and closes at the sample point (no edge activity there), so it spans exactly
// WINDOW_CYCLES rising edges with their input changes.

`timescale 1ns/1ps
module power_tb;
  reg clk = 1'b0;
  reg rst = 1'b0;
${DECLS}
  reg [${WORD_BITS}-1:0] stim [0:${N_OPS}-1];
  integer fd, idx, cycle, idle;
  reg accepted;

  ${TOP} dut (
${PORT_MAP}
  );

  always #(${HALF_NS}) clk = ~clk;

  initial begin
    $readmemh("${STIM_FILE}", stim);
    fd = $fopen("${RESULTS_FILE}", "w");
    i__valid = 1'b0;
    o__ready = 1'b1;
    {${PAYLOAD}} = {${WORD_BITS}{1'b0}};
    // Amaranth's always @* blocks do not run at time 0 unless an input changes: raise reset after #1
    #1 rst = 1'b1;
    repeat (${RESET_CYCLES}) @(posedge clk);
    #(${DRIVE_NS});
    rst = 1'b0;
    idx = 0;
    cycle = 0;
    idle = 0;
    i__valid = 1'b1;
    {${PAYLOAD}} = stim[0];
    while (idle < 4 && cycle < ${MAX_CYCLES}) begin
      #(${SAMPLE_NS} - ${DRIVE_NS});          // just before the next rising edge
      if (cycle == ${WARMUP_CYCLES}) begin
        $dumpfile("${VCD_FILE}");
        $dumpvars(1, dut);
        $fwrite(fd, "W0 %0d\n", idx);
      end
      if (cycle == ${WARMUP_CYCLES} + ${WINDOW_CYCLES}) begin
        $dumpoff;
        $dumpflush;
        $fwrite(fd, "W1 %0d\n", idx);
      end
      if (o__valid === 1'b1 && o__ready === 1'b1)
        $fwrite(fd, "R %h %h\n", ${OUT_SEL}, o__data);
      accepted = (i__valid === 1'b1) && (i__ready === 1'b1);
      @(posedge clk);
      #(${DRIVE_NS});                          // away from the edge
      cycle = cycle + 1;
      if (accepted) idx = idx + 1;
      if (idx < ${N_OPS}) begin
        {${PAYLOAD}} = stim[idx];
        i__valid = 1'b1;
      end else begin
        i__valid = 1'b0;
        idle = idle + 1;
      end
    end
    if (idle >= 4) $fwrite(fd, "DONE %0d\n", cycle);
    else $fwrite(fd, "TIMEOUT %0d\n", cycle);
    $fclose(fd);
    $finish;
  end
endmodule
