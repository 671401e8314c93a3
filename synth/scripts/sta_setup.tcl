# OpenSTA set-up shared by the timing and power scripts (Debian `opensta`, 2019 snapshot; also newer).
# Rendered by mixlane.synth.flow (upper-case ${...} placeholders only; Tcl $var stays) and sourced
# from the work folder.
#
#   ${LIBERTY}     liberty file (decompressed)
#   ${NETLIST}     mapped, flattened gate-level netlist from liberty.ys
#   ${TOP}         top module (mixlane_datapath)
#   ${CLOCK_PORT}  clock input port (clk)
#   ${PERIOD_NS}   clock period in ns (the library's time unit)
#
# Constraints: ideal clock, every other input arrives at the clock edge (input delay 0), every output is
# captured at the next edge (output delay 0): the reported worst slack is the register/IO-to-register/IO
# critical path against the period. Note: `sta` exits 0 even after an error; flow.py reads the log.

read_liberty ${LIBERTY}
read_verilog ${NETLIST}
link_design ${TOP}
create_clock -name ${CLOCK_PORT} -period ${PERIOD_NS} [get_ports ${CLOCK_PORT}]
set_input_delay 0 -clock ${CLOCK_PORT} [delete_from_list [all_inputs] [get_ports ${CLOCK_PORT}]]
set_output_delay 0 -clock ${CLOCK_PORT} [all_outputs]
