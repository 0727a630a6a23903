#!/usr/bin/env bash
# The sorting-line benchmark: BENCH_LINES lines (10) x BENCH_RATE parcels/s (20) for
# BENCH_SECONDS (60) against the release build of the controller, then one line:
#
#   line-bench: parcels=N wrong_lane=N missed=N p50_ms=X p99_ms=X cpu_pct=X rss_mb=X
#
# - The controller decides as soon as a parcel's inputs are complete (decision mode
#   `when_complete`: no officer judging window).
# - Latency: from the last input the decision needed (last scan, the weighing, the last
#   X-ray view, as the simulator emitted them) to the lane command held in the PLC
#   simulator; p50/p99 over every parcel, from the simulator's ground truth.
# - wrong_lane: parcels whose physical lane differs from the lane their data calls for
#   (every waybill is released and weighs what it declares, so: the release lane);
#   missed: parcels that reached the diverter without a lane command.
# - cpu_pct: the controller process's CPU time over the load, in % of one core;
#   rss_mb: its peak resident set (VmHWM).
#
# X-ray views go to /dev/shm when it exists (the simulator writes 2 views per parcel).
#
# Smoke mode (BENCH_SMOKE=1, scripts/lib/bench.sh): 1 line x 5 parcels/s for 3 s, dev build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh

LINES=${BENCH_LINES:-10}
RATE=${BENCH_RATE:-20}
SECONDS_=${BENCH_SECONDS:-60}
if bench_smoke; then
    LINES=${BENCH_LINES:-1} RATE=${BENCH_RATE:-5} SECONDS_=${BENCH_SECONDS:-3}
fi

command -v python3 >/dev/null || bash scripts/setup.sh
bench_cargo_build --bin customs-edge && bench_cargo_build -p customs-edge-simulators --bin edge-sim
BIN=$(bench_target_dir)

work=$(mktemp -d -t line-bench-XXXXXX)
shm_root=/dev/shm
[ -d "$shm_root" ] && [ -w "$shm_root" ] || shm_root=$work
xray=$(mktemp -d -p "$shm_root" line-bench-xray-XXXXXX)
sim_pid="" ctl_pid=""
cleanup() {
    [ -n "$ctl_pid" ] && kill "$ctl_pid" 2>/dev/null || true
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "line-bench: kept $work" >&2
        rm -rf "$xray"
    else
        rm -rf "$work" "$xray"
    fi
}
trap cleanup EXIT

# One unique waybill per parcel, all released, declared at 1 kg; the simulator weighs
# each at 1 kg (plus its scale noise).
count=$(( LINES * RATE * SECONDS_ + LINES * RATE * 2 + 100 ))
awk -v n="$count" 'BEGIN { for (i = 0; i < n; i++) printf "BL%011d release 1.0\n", i }' > "$work/codes.txt"
awk -v n="$count" 'BEGIN { for (i = 0; i < n; i++)
    printf "{\"logisticsNo\":\"BL%011d\",\"returnStatus\":800,\"grossWeight\":1.0}\n", i }' > "$work/lists.jsonl"
"$BIN/customs-edge" import-manifests "$work/lists.jsonl" --data "$work/data" 2>"$work/import.log" \
    || { cat "$work/import.log" >&2; exit 1; }

# At 20 parcels/s the belt runs 3000 mm/s with a 150 mm pitch; a real X-ray writes its
# views ~300 ms after entry, longer than the 50 ms between parcels here, which the view
# matching rule cannot tell apart (see src/sorting/xray_match.rs), so views come 25 ms in.
"$BIN/edge-sim" --lines "$LINES" --load-rate "$RATE" --load-seconds "$SECONDS_" \
    --codes "$work/codes.txt" --unique-codes --wait-for-clients \
    --base-port 0 --print-addresses-json --xray-dir "$xray" --xray-size 160x120 --xray-delay-ms 25 \
    --report-file "$work/report.json" > "$work/sim.out" 2> "$work/sim.log" &
sim_pid=$!
for _ in $(seq 1 200); do
    [ -s "$work/sim.out" ] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$work/sim.log" >&2; exit 1; }
    sleep 0.05
done
[ -s "$work/sim.out" ] || { echo "line-bench: edge-sim printed no addresses" >&2; exit 1; }

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
addrs = json.loads(open(f"{work}/sim.out").readline())
out = [
    '[site]', 'code = "3511W001"',
    '[storage]', f'data_dir = "{work}/data"',
    '[web]', 'listen = "127.0.0.1:0"',
]
for line in addrs["lines"]:
    out += [
        '[[lines]]', f'id = "{line["id"]}"',
        '[lines.plc]', f'address = "{line["plc"]}"', 'poll_interval_ms = 10',
        '[[lines.scanners]]', 'name = "top"', f'address = "{line["top"]}"',
        '[[lines.scanners]]', 'name = "side"', f'address = "{line["side"]}"',
        '[lines.geometry]', 'scale_at_mm = 300', 'scanner_at_mm = 600', 'xray_at_mm = 1200',
        'diverter_at_mm = 3000', 'scan_window_mm = 70',
        '[lines.xray]', f'dir = "{line["xray_dir"]}"', 'views = 2', 'window_s = 10',
        '[lines.decision]', 'mode = "when_complete"', 'lead_ms = 100',
    ]
open(f"{work}/site.toml", "w").write("\n".join(out) + "\n")
PY

"$BIN/customs-edge" check-config "$work/site.toml" > /dev/null
RUST_LOG=warn "$BIN/customs-edge" run --config "$work/site.toml" 2> "$work/controller.log" &
ctl_pid=$!

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
start_ticks=$(ticks "$ctl_pid")
start_ns=$(date +%s%N)
sim_status=0
wait "$sim_pid" || sim_status=$?
sim_pid=""
end_ticks=$(ticks "$ctl_pid")
end_ns=$(date +%s%N)
rss_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$ctl_pid/status")
kill -TERM "$ctl_pid"; wait "$ctl_pid" || true; ctl_pid=""

if [ ! -s "$work/report.json" ]; then
    echo "line-bench: no ground truth (edge-sim exit $sim_status)" >&2
    tail -20 "$work/sim.log" >&2
    exit 1
fi
python3 - "$work/report.json" "$start_ticks" "$end_ticks" "$start_ns" "$end_ns" "$hz" "$rss_kb" <<'PY' \
    | bench_check line-bench parcels wrong_lane missed p50_ms p99_ms cpu_pct rss_mb
import json, sys
report, t0, t1, n0, n1, hz, rss = sys.argv[1:]
s = json.load(open(report))["summary"]
lat = s.get("latency_ms") or {}
wall = (int(n1) - int(n0)) / 1e9
cpu = (int(t1) - int(t0)) / int(hz) / wall * 100 if wall > 0 else 0
fmt = lambda v: "-" if v is None else f"{v:.2f}"
print(f"line-bench: parcels={s['dropped']} wrong_lane={s['wrong_lane']} missed={s['missed']} "
      f"p50_ms={fmt(lat.get('p50'))} p99_ms={fmt(lat.get('p99'))} cpu_pct={cpu:.1f} rss_mb={int(rss) / 1024:.1f}")
PY
