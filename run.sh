#!/usr/bin/env bash
# bash run.sh main   - set up, generate + verify the default configuration on Icarus and Verilator, report
# bash run.sh test   - set up, run the test suite (pytest, 2 workers)
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/setup.sh
case "${1:-main}" in
  main)
    .venv/bin/mixlane generate --preset default -o out/main/rtl
    .venv/bin/mixlane verify --preset default --sim icarus --vectors 2000 -o out/main/icarus
    .venv/bin/mixlane verify --preset default --sim verilator --vectors 20000 -o out/main/verilator
    ;;
  test)
    shift || true
    .venv/bin/python -m pytest -n 2 "$@"
    ;;
  *)
    echo "usage: bash run.sh [main|test [pytest args]]" >&2; exit 2;;
esac
