#!/usr/bin/env bash
# Synthesis, timing and power of every preset against its INT8 baseline (width 128), the width sweep of the
# default configuration (64..512), and the comparison pages. Figures in docs/benchmarks.md come from here.
#
#   bash benchmarks/bench_synth.sh [OUT]      (default OUT: out/bench_synth; needs `bash scripts/setup.sh`)
#
# Each run is `mixlane synth --gate-check --jobs 1` (one step at a time, so the synthesis times are not
# inflated by a concurrent step); baselines come from the cache after their first measurement
# (MIXLANE_CACHE=OUT/cache), so each distinct baseline is synthesized once.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-out/bench_synth}
MIXLANE=${MIXLANE:-.venv/bin/mixlane}
export MIXLANE_CACHE="$OUT/cache"
mkdir -p "$OUT/widths"
presets=(default uniform-12 uniform-1248 pattern-sysmol channel-3level channel-2level int8 multi-output element)
declare -A mix=([uniform-12]=1:0.5/2:0.5 [channel-2level]=2:0.75/8:0.25 [int8]=)
for p in "${presets[@]}"; do
  m=${mix[$p]-1:0.25/2:0.5/4:0.25}         # a precision mix the preset runs (none for int8)
  /usr/bin/time -f "$p: wall %e s" "$MIXLANE" synth --preset "$p" --gate-check --jobs 1 \
      ${m:+--workload relu,mix=$m} -o "$OUT/$p" > "$OUT/$p.log" 2>&1
  tail -1 "$OUT/$p.log"
done
"$MIXLANE" report "${presets[@]/#/$OUT/}" -o "$OUT/compare" --title "mixlane presets at width 128 against INT8"
for w in 64 128 256 512; do
  /usr/bin/time -f "width $w: wall %e s" "$MIXLANE" synth --preset default --set width=$w --jobs 1 \
      -o "$OUT/widths/default_w$w" > "$OUT/widths/w$w.log" 2>&1
  tail -1 "$OUT/widths/w$w.log"
done
"$MIXLANE" report "$OUT"/widths/default_w{64,128,256,512} -o "$OUT/widths/compare" \
    --title "default configuration against INT8 at widths 64-512"
"$(dirname "$MIXLANE")/python" benchmarks/synth_tables.py "$OUT" > "$OUT/tables.md"
echo "tables for docs/benchmarks.md: $OUT/tables.md"
