#!/usr/bin/env bash
# Benchmark: the Rust risk engine (crates/coverage-risk, bin risk-bench) against
# the vectorised numpy reference (scripts/risk_numpy.py), same portfolio, same
# scenario count, same machine. Prints each side's best time over RUNS runs
# (the simulation alone as each reports it; the whole process's wall time and
# CPU time, all threads) and the ratios. On a shared or busy machine the wall
# times move with the load; the CPU times much less.
#
#   pip install numpy                       # once
#   scripts/bench_risk.sh [PORTFOLIO] [SCENARIOS] [RUNS]
#   scripts/bench_risk.sh risk/portfolio.toml 1000000 3     # the defaults
#
# RISK_BENCH_BIN=path skips the release build. The numpy side runs with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (they slow a current numpy where
# the machine sets them); nothing else is changed.
set -euo pipefail
cd "$(dirname "$0")/.."
portfolio=${1:-risk/portfolio.toml}
scenarios=${2:-1000000}
runs=${3:-3}
seed=1

if [ -z "${RISK_BENCH_BIN:-}" ]; then
    echo "building risk-bench (release)..." >&2
    RISK_BENCH_BIN=$(cargo build --release --manifest-path crates/coverage-risk/Cargo.toml --bin risk-bench \
        --message-format=json-render-diagnostics |
        python3 -c 'import json, sys
exe = [m["executable"] for m in map(json.loads, sys.stdin)
       if m.get("reason") == "compiler-artifact" and m.get("executable")]
print(exe[-1])')
fi
python3 -c 'import numpy' 2>/dev/null || { echo "numpy missing: pip install numpy" >&2; exit 1; }

# run LABEL CMD...: over $runs runs, the best simulation time (as the program
# reports it), the best wall time and the best CPU time (user + sys, all
# threads) of the whole process
run() {
    local label=$1
    shift
    local out
    out=$(python3 - "$runs" "$@" <<'PY'
import os, re, resource, subprocess, sys, time
runs, cmd = int(sys.argv[1]), sys.argv[2:]
sims, walls, cpus, last = [], [], [], ""
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True)
    walls.append(time.perf_counter() - t0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    sims.append(float(re.search(r"simulate_seconds=([0-9.]+)", p.stderr).group(1)))
    last = p.stderr.strip()
print(f"{min(sims):.4f} {min(walls):.4f} {min(cpus):.4f} {last}")
PY
)
    read -r sim wall cpu rest <<<"$out"
    printf '%-6s simulate %7.4f s   process: wall %7.4f s, cpu %7.4f s   (%s)\n' "$label" "$sim" "$wall" "$cpu" "$rest" >&2
    eval "${label}_sim=$sim ${label}_wall=$wall ${label}_cpu=$cpu"
}

echo "portfolio $portfolio, $scenarios scenarios, best of $runs runs, $(nproc) cores, $(python3 -c 'import numpy; print("numpy", numpy.__version__)')" >&2
run rust "$RISK_BENCH_BIN" "$portfolio" --scenarios "$scenarios" --seed "$seed"
run numpy env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/risk_numpy.py "$portfolio" \
    --scenarios "$scenarios" --seed "$seed"
python3 -c "print(f'ratio (numpy / rust): simulate {$numpy_sim / $rust_sim:.1f}x, '
               f'whole process {$numpy_wall / $rust_wall:.1f}x wall, {$numpy_cpu / $rust_cpu:.1f}x cpu')"
