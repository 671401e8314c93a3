# Vectorless power of the mapped netlist: one switching activity for every net, no simulation.
# Rendered by mixlane.synth.flow; see sta_setup.tcl (rendered as ${SETUP}) for the placeholders and constraints.
#
#   ${ACTIVITY}  transitions per clock period applied to every net (set_power_activity -global)
#   ${DUTY}      fraction of the time a net is high
#
# Activity is per clock period, so the clock from sta_setup.tcl sets the absolute rates. This is a
# vectorless estimate: real data (gated lanes, zero operands) switches very differently.
# (`set_power_activity -pins` is broken in the 2019 snapshot; per-pin annotation, when it comes, uses
# sta::set_power_pin_activity PIN ACTIVITY DUTY.)

source ${SETUP}
puts "mixlane: linked [llength [get_cells *]] cells"
set_power_activity -global -activity ${ACTIVITY} -duty ${DUTY}
report_power -digits 4
puts "mixlane: done"
