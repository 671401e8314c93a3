#!/usr/bin/env bash
# Installs what mixlane needs on a Debian/Ubuntu machine, then a virtual environment in .venv.
# Idempotent: a second run only checks. System packages need root (or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

# iverilog: Icarus simulator; make/g++/perl: Verilator's C++ build; opensta + qflow-tech-osu018: timing,
# power and the default standard-cell library for synthesis reports.
# gcc-riscv64-unknown-elf + picolibc-riscv64-unknown-elf: the bare-metal C compiler and C library of the
# processor target (`mixlane soc`, rv32im/ilp32 multilib).
APT_PACKAGES=(iverilog make g++ perl opensta qflow-tech-osu018 python3-venv python3-dev
              gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root to install ${missing[*]}; run as root or install sudo" >&2; exit 1; }
    SUDO="sudo"
  fi
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
stamp=.venv/.mixlane-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "setup: installing mixlane and its dependencies into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,codesign,ray,soc]"
  touch "$stamp"
fi
# cocotb embeds Python in the simulator: it needs the shared libpython
.venv/bin/cocotb-config --libpython >/dev/null || { echo "setup: cocotb cannot find a shared libpython; install python3-dev / a Python built with --enable-shared" >&2; exit 1; }
