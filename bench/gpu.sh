#!/usr/bin/env bash
# The one GPU command (bench/gpu.py): preflight, benchmark, the paper grid, a summary.
#   bash bench/gpu.sh [--budget 540] [--partial] ...     from the repository root or anywhere
# Results go to $OUT (default ./gpu-out): gpu.json, records.tar.gz and gpu.log.
set -o pipefail
cd "$(dirname "$0")/.." || exit 2
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT="${OUT:-$PWD/gpu-out}"
export OUT
mkdir -p "$OUT"
"${PYTHON:-python3}" -m bench.gpu --out "$OUT" "$@" 2>&1 | tee "$OUT/gpu.log"
