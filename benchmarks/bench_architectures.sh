#!/usr/bin/env bash
# Every MAC architecture at width 128 through one run of the flow (Yosys 0.70, OSU 0.18 um, full-adder cells,
# OpenSTA, gate-level power), each against the INT8 conventional baseline; then the table of docs/benchmarks.md.
#
#   bash benchmarks/bench_architectures.sh [OUT]      (default OUT: out/bench_arch; needs `bash scripts/setup.sh`)
#
# Runs are `mixlane synth --gate-check --jobs 1`: one step at a time, every mapped netlist re-verified with the
# cell models (random and corner scenarios: the overflow scenario's thousands of multi-cycle operations would
# take many minutes at gate level). The baseline is measured once (MIXLANE_CACHE=OUT/cache).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/bench_arch}
MIXLANE=${MIXLANE:-.venv/bin/mixlane}
export MIXLANE_CACHE="$OUT/cache"
mkdir -p "$OUT"
# name | configuration options (mixlane --set ...)
designs=(
  "int8-conventional|--preset int8-conventional"
  "sum_together-8|--preset int8"
  "sum_together-248|--set precisions=[2,4,8]"
  "sum_together-1248|--preset uniform-1248"
  "sum_together-124|--preset default"
  "sum_together-12|--preset uniform-12"
  "multipass-124-d2|--preset multipass-124"
  "multipass-1248-d4|--preset multipass-1248"
  "multipass-248-d2|--set mac=multipass --set precisions=[2,4,8] --set mac_options={\"digit_bits\":2}"
  "multipass-248-d4|--set mac=multipass --set precisions=[2,4,8] --set mac_options={\"digit_bits\":4}"
  "multipass-248-d4-paired|--set mac=multipass --set precisions=[2,4,8] --set mac_options={\"digit_bits\":4,\"schedule\":\"paired\"}"
  "bitfusion-248|--set mac=bitfusion --set precisions=[2,4,8]"
  "bit_serial-1d-1248|--preset bit-serial"
  "bit_serial-2d-b2-1248|--preset bit-serial --set mac_options={\"serial\":\"both\",\"bits_per_cycle\":2}"
  "sum_apart-1248|--set mac=sum_apart --set precisions=[1,2,4,8]"
)
for entry in "${designs[@]}"; do
  name=${entry%%|*}
  read -r -a opts <<< "${entry#*|}"
  /usr/bin/time -f "$name: wall %e s" "$MIXLANE" synth "${opts[@]}" --gate-check --gate-vectors 100 --gate-scenario random --gate-scenario corners --jobs 1 \
      -o "$OUT/$name" > "$OUT/$name.log" 2>&1 || { tail -3 "$OUT/$name.log"; exit 1; }
  tail -1 "$OUT/$name.log"
done
"$(dirname "$MIXLANE")/python" benchmarks/architecture_table.py "$OUT" > "$OUT/table.md"
echo "table for docs/benchmarks.md: $OUT/table.md"
