#!/usr/bin/env bash
# Everything measured on one GPU, in one call of at most BUDGET seconds (default 560):
#   1. the GPU tests (GPU vs CPU, tests/test_gpu.py),
#   2. benchmarks/reach.py --gpu (first call and warm steady state, value_and_grad),
#   3. benchmarks/thermo.py --gpu --sweep-only (mean-field sweeps, points/s),
#   4. scripts/scan_dip.py at SCAN_N (default 240) for Γ ∈ [2.0, 3.2] with the time left
#      (resumable: rows already in the CSV are skipped).
# Results (logs, JSON, the scan's CSV) go to $OUT if set, else benchmarks/results/ (the scripts'
# JSON through PERMJAX_BENCH_RESULTS, see benchmarks/common.py).
#
#     bash benchmarks/gpu.sh                  # all stages
#     STAGES="scan" SCAN_N=320 bash benchmarks/gpu.sh
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
R=${OUT:-benchmarks/results}
mkdir -p "$R"
export PERMJAX_BENCH_RESULTS=$(cd "$R" && pwd)
END=$(( $(date +%s) + ${BUDGET:-560} ))
STAGES=${STAGES:-"tests reach thermo scan"}
SCAN_N=${SCAN_N:-240}
CSV=${SCAN_CSV:-docs/dip_scan.csv}

left() {  # seconds left, less a reserve for copying results, capped at $1
    local l=$(( END - $(date +%s) - 10 ))
    (( l > $1 )) && l=$1
    (( l < 1 )) && l=1
    echo $l
}

python3 -c "import jax, jaxlib; print('jax', jax.__version__, jax.devices())" 2>&1 | tee "$R/gpu_env.log"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$R/gpu_env.log"

for stage in $STAGES; do
    echo "=== $stage ($(( END - $(date +%s) )) s left)"
    case $stage in
    tests)
        timeout "$(left 150)" python3 -m pytest -q -m gpu tests/test_gpu.py -p no:cacheprovider 2>&1 | tee "$R/gpu_tests.log" ;;
    reach)
        timeout "$(left 260)" python3 benchmarks/reach.py --gpu --N 160 400 --piqs-max 0 --cgls-max 0 \
            --rates-N 10000 --grad-N 160 --timeout 150 2>&1 | tee "$R/reach_gpu.log" ;;
    thermo)
        timeout "$(left 150)" python3 benchmarks/thermo.py --gpu --sweep-only --points 1000 8000 --repeats 1 \
            2>&1 | tee "$R/thermo_gpu.log" ;;
    scan)
        timeout "$(left 600)" python3 scripts/scan_dip.py --N "$SCAN_N" --Gamma-min 2.0 --Gamma-max 3.2 \
            --csv "$CSV" --no-plot 2>&1 | tee "$R/scan_$SCAN_N.log"
        cp "$CSV" "$R/dip_scan.csv" 2>/dev/null ;;
    esac
done
echo "done ($(( END - $(date +%s) )) s left)"
