# Power of the mapped netlist from simulated switching activity (OpenSTA, Debian 2019 snapshot; also newer).
# Rendered by mixlane.synth.power; see sta_setup.tcl (rendered as ${SETUP}) for the other placeholders.
#
#   ${ACTIVITY_FILE}  one net a line: "<name>\t<activity>\t<duty>", activity = transitions per clock period,
#                     name = the net's name with backslashes and blanks removed (e.g. lane3.sel2, i__a[5])
#   ${CHECK_ACTIVITY} activity of the self-check below
#
# Why the liberty here is a rewritten copy (mixlane.synth.power.activity_liberty): this OpenSTA propagates
# activities from the inputs through each cell's function before every power report and overwrites whatever
# `sta::set_power_pin_activity` set on a cell output reachable from an input (tested: an annotation on a
# NAND output changed nothing). With `function : "Y"` on pin Y the propagation copies each output's own
# annotated value, and cell input pins copy the activity of the net's driver, as they should. The copy
# also rescales internal-power tables to one energy model (see activity_liberty); timing arcs and
# capacitances are untouched. `set_power_activity -pins` is broken in this build.
#
# Annotated: every cell output pin (the net it drives) and every data input port; the clock keeps its
# clock activity (2 transitions per period). Self-check: every output pin and input port annotated with
# ${CHECK_ACTIVITY} must give exactly the power of `set_power_activity -global` at that activity, else the
# annotation did not take effect in this build. The global-activity report is also the vectorless figure
# under the same power model.

source ${SETUP}
puts "mixlane: linked [llength [get_cells *]] cells"

proc mixlane_norm {name} {
  return [string map [list "\\" "" " " "" "\t" ""] $name]
}

set mixlane_act [dict create]
set fh [open ${ACTIVITY_FILE} r]
while {[gets $fh line] >= 0} {
  set fields [split $line "\t"]
  if {[llength $fields] == 3} {
    dict set mixlane_act [lindex $fields 0] [lrange $fields 1 2]
  }
}
close $fh
puts "mixlane: activity entries [dict size $mixlane_act]"

# driver pins (cell outputs) with their nets; data input ports
set mixlane_drivers {}
set mixlane_unconnected 0
foreach cell [get_cells *] {
  foreach pin [get_pins -of_objects $cell] {
    if {[lsearch -exact {output tristate bidirect} [get_property $pin direction]] < 0} { continue }
    set net [get_nets -quiet -of_objects $pin]
    if {$net eq "" || $net eq "NULL"} {
      incr mixlane_unconnected
      lappend mixlane_drivers [list $pin ""]
    } else {
      lappend mixlane_drivers [list $pin [mixlane_norm [get_full_name $net]]]
    }
  }
}
set mixlane_ports {}
foreach port [all_inputs] {
  set name [get_full_name $port]
  if {$name eq "${CLOCK_PORT}"} { continue }
  lappend mixlane_ports [list $port [mixlane_norm $name]]
}

proc mixlane_total {} {
  return [lrange [sta::design_power [sta::cmd_corner]] 0 3]
}

# --- self-check: uniform annotation == global activity
foreach entry $mixlane_drivers {
  sta::set_power_pin_activity [lindex $entry 0] ${CHECK_ACTIVITY} 0.5
}
foreach entry $mixlane_ports {
  sta::set_power_input_port_activity [lindex $entry 0] ${CHECK_ACTIVITY} 0.5
}
set mixlane_uniform [mixlane_total]

# --- the simulated activities
set mixlane_hit 0
set mixlane_sum 0.0
set mixlane_miss {}
foreach entry $mixlane_drivers {
  set key [lindex $entry 1]
  if {$key ne "" && [dict exists $mixlane_act $key]} {
    lassign [dict get $mixlane_act $key] a d
    sta::set_power_pin_activity [lindex $entry 0] $a $d
    incr mixlane_hit
    set mixlane_sum [expr {$mixlane_sum + $a}]
  } else {
    if {[llength $mixlane_miss] < 5} { lappend mixlane_miss [get_full_name [lindex $entry 0]]:$key }
  }
}
set mixlane_port_hit 0
foreach entry $mixlane_ports {
  set key [lindex $entry 1]
  if {[dict exists $mixlane_act $key]} {
    lassign [dict get $mixlane_act $key] a d
    sta::set_power_input_port_activity [lindex $entry 0] $a $d
    incr mixlane_port_hit
  }
}
puts "mixlane: driver pins [llength $mixlane_drivers] annotated $mixlane_hit unconnected $mixlane_unconnected"
puts "mixlane: mean activity [expr {$mixlane_hit > 0 ? $mixlane_sum / $mixlane_hit : 0.0}]"
puts "mixlane: input ports [llength $mixlane_ports] annotated $mixlane_port_hit"
puts "mixlane: missing [join $mixlane_miss { }]"
puts "mixlane: measured begin"
report_power -digits 6
puts "mixlane: measured end"

# --- self-check, second half (global activity cannot be unset: keep it last)
set_power_activity -global -activity ${CHECK_ACTIVITY} -duty 0.5
set mixlane_global [mixlane_total]
puts "mixlane: check uniform [lindex $mixlane_uniform 3] global [lindex $mixlane_global 3]"
puts "mixlane: vectorless begin"
report_power -digits 6
puts "mixlane: vectorless end"
puts "mixlane: done"
