#!/usr/bin/env bash
# LVM commands in one lvm shell per task vs one process each (bench/lvm_shell_bench.py). Needs
# device-mapper: runs here when the kernel has it, otherwise in the test VM (bench/in_guest.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec bench/in_guest.sh bench/lvm_shell_bench.py lvm-shell BENCH_RUNS="${BENCH_RUNS:-3}"
