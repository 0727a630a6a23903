#!/usr/bin/env bash
# The gate benchmark (release build): 8 simulated exit lanes at once, 12 trucks each, against
# the controller. Ends with one line:
#
#   gate-bench: vehicles=N wrong_verdict=N p50_ms=X p99_ms=X custody_escapes=N max_permit_waybills=N
#
# wrong_verdict: trucks that left without being entitled or were held though entitled (the
# simulator's ground truth); p50/p99: from the plate event the controller decided on (the
# truck's last one sent before the open command) to the barrier open command held in the
# gate I/O simulator (weighbridge settling excluded), the load check included: every truck
# with an approved permit carries bags its permit names (one in BENCH_BIG_EVERY=8 a permit of
# BENCH_BIG_BAGS=50 bags x BENCH_BAG_PARCELS=100 waybills), some with a parcel held after it
# dropped or a waybill never sorted; custody_escapes: trucks that left carrying those.
# BENCH_LANES and BENCH_PER_LANE change the size; RUST_LOG=info shows the controller's log.
# Smoke mode (BENCH_SMOKE=1, scripts/lib/bench.sh): 1 lane, 1 truck, dev build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
if bench_smoke; then
    export BENCH_LANES=${BENCH_LANES:-1} BENCH_PER_LANE=${BENCH_PER_LANE:-1}
    export BENCH_BIG_BAGS=${BENCH_BIG_BAGS:-2} BENCH_BAG_PARCELS=${BENCH_BAG_PARCELS:-5}
fi
bench_cargo_build --example gate_bench
"$(bench_target_dir)/examples/gate_bench" | bench_check gate-bench vehicles wrong_verdict p50_ms p99_ms custody_escapes max_permit_waybills
