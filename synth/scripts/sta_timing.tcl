# Static timing of the mapped netlist: the critical (max-delay) path and the worst slack.
# Rendered by mixlane.synth.flow; see sta_setup.tcl (rendered as ${SETUP}) for the placeholders and constraints.
# flow.py parses the report_checks block ("data arrival time", "slack (MET|VIOLATED)") and the
# "mixlane:" marker lines; fmax = 1 / (period - slack).

source ${SETUP}
puts "mixlane: linked [llength [get_cells *]] cells"
report_checks -path_delay max -digits 4 -fields {fanout cap slew}
report_tns -digits 4
puts "mixlane: done"
