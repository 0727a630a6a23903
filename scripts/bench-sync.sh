#!/usr/bin/env bash
# The platform-sync benchmark, release build, against a Mosquitto started here:
#
#   1. drain: the controller starts with BENCH_BACKLOG (100000) sort results waiting in its
#      outbox (as after an outage) and sends them to the platform simulator, which applies
#      each stream in order and acknowledges; timed from the first to the last message the
#      platform applied.
#   2. ingest: the platform simulator publishes BENCH_LISTS (1000000) declaration lists in
#      batches of 1000 on the downlink; timed from the first list stored to the last.
#
# Ends with one line:
#
#   sync-bench: backlog=N drain_msgs_per_s=X lost=N applied_twice=N reordered=N resent=N ingest_rows_per_s=X rss_mb=X
#
# lost: backlog messages the platform never applied; applied_twice: records the platform
# applied under two sequence numbers; reordered: messages that reached the platform ahead
# of an earlier one of their stream; resent: messages the platform received again after
# applying them; rss_mb: the controller's peak resident set (VmHWM) over both phases.
#
# The consoles answer 409 until a first administrator exists: the controller creates one
# from CUSTOMS_EDGE_ADMIN_USER / _PASSWORD at start and the ingest phase logs in as it.
#
# Smoke mode (BENCH_SMOKE=1, scripts/lib/bench.sh): 2,000 backlog messages, 20,000 lists,
# dev build, seconds.
#
# BENCH_SECURE=1 runs the link as a site must: the shipped site broker (config/mosquitto/:
# TLS, client certificates, per-site ACL), the controller on mTLS, and every message signed
# (Ed25519) both ways (scripts/lib/site_broker.sh); the summary line then says secure=1.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh

BACKLOG=${BENCH_BACKLOG:-100000}
LISTS=${BENCH_LISTS:-1000000}
if bench_smoke; then
    BACKLOG=${BENCH_BACKLOG:-2000}
    LISTS=${BENCH_LISTS:-20000}
fi
SITE=3511W001
ADMIN_USER=bench.admin
ADMIN_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
SECURE=${BENCH_SECURE:-0}

command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || bash scripts/setup.sh
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
bench_cargo_build --bin customs-edge --example sync_backlog
bench_cargo_build -p customs-edge-simulators --bin platform-sim
BIN=$(bench_target_dir)

work=$(mktemp -d -t sync-bench-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${BENCH_KEEP:-}" ]; then echo "sync-bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 1 200); do
        python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "sync-bench: nothing listens on $1" >&2; exit 1
}

port=$(free_port)
SB_SITE_TOML="" SB_SIGNING_TOML="" SB_PLATFORM_ARGS=()
if [ "$SECURE" = 1 ]; then
    . scripts/lib/site_broker.sh
    site_broker_setup "$work" "$port" "$SITE" "$BIN/customs-edge"
else
cat > "$work/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
max_queued_messages 1000000
max_inflight_messages 1000
user root
log_dest file $work/mosquitto.log
CONF
fi
"$MOSQUITTO" -c "$work/mosquitto.conf" & pids+=($!)
wait_port "$port"
broker="mqtt://127.0.0.1:$port"
[ "$SECURE" = 1 ] && broker=$SB_BROKER

"$BIN/examples/sync_backlog" "$work/data" "$BACKLOG" 2> "$work/backlog.log"

cat > "$work/site.toml" <<TOML
[site]
code = "$SITE"
[storage]
data_dir = "$work/data"
[web]
listen = "127.0.0.1:0"
[platform]
broker = "$broker"
stats_interval_s = 0
$SB_SITE_TOML
$SB_SIGNING_TOML
TOML
"$BIN/customs-edge" check-config "$work/site.toml" > /dev/null

"$BIN/platform-sim" --broker "$broker" --site "$SITE" --http 127.0.0.1:0 --keep-bodies 0 \
    --client-id bench-platform "${SB_PLATFORM_ARGS[@]}" > "$work/platform.out" 2> "$work/platform.log" & pids+=($!)
for _ in $(seq 1 200); do [ -s "$work/platform.out" ] && break; sleep 0.05; done
platform_http=$(head -1 "$work/platform.out" | grep -oE '[0-9.]+:[0-9]+' | head -1)
[ -n "$platform_http" ] || { echo "sync-bench: platform-sim printed no address" >&2; cat "$work/platform.log" >&2; exit 1; }

CUSTOMS_EDGE_ADMIN_USER=$ADMIN_USER CUSTOMS_EDGE_ADMIN_PASSWORD=$ADMIN_PASSWORD \
    RUST_LOG=warn,customs_edge::daemon=info "$BIN/customs-edge" --log-format json run --config "$work/site.toml" 2> "$work/controller.log" &
ctl_pid=$!; pids+=($ctl_pid)

python3 - "$platform_http" "$SITE" "$BACKLOG" "$work/drain.json" <<'PY'
import json, sys, time, urllib.request
http, site, backlog, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
deadline = time.time() + 300
last = None
while time.time() < deadline:
    ledger = json.load(urllib.request.urlopen(f"http://{http}/ledger"))
    s = ledger.get("sites", {}).get(site, {}).get("streams", {}).get("decisions")
    if s and s["last_applied"] >= backlog:
        last = ledger
        break
    time.sleep(0.2)
else:
    last = json.load(urllib.request.urlopen(f"http://{http}/ledger"))
json.dump(last, open(out, "w"))
PY

# Ingest: a second platform client publishes the lists; the controller counts what it applied.
web=$(python3 - "$work/controller.log" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("fields", {}).get("message") == "controller started" or e.get("message") == "controller started":
        print(e.get("fields", e).get("web_addr", "")); break
PY
)
[ -n "$web" ] || { echo "sync-bench: controller web address not found" >&2; cat "$work/controller.log" >&2; exit 1; }
"$BIN/platform-sim" --broker "$broker" --site "$SITE" --http 127.0.0.1:0 --keep-bodies 0 \
    --client-id bench-publisher "${SB_PLATFORM_ARGS[@]}" --generate "$LISTS" --batch 1000 \
    > "$work/publisher.out" 2> "$work/publisher.log" & pids+=($!)
ADMIN_USER=$ADMIN_USER ADMIN_PASSWORD=$ADMIN_PASSWORD python3 - "$web" "$LISTS" "$work/ingest.json" <<'PY'
import http.cookiejar, json, os, sys, time, urllib.request
web, target, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# Log in as the administrator the controller created at start (session cookie).
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
login = urllib.request.Request(
    f"http://{web}/api/login",
    data=json.dumps({"username": os.environ["ADMIN_USER"], "password": os.environ["ADMIN_PASSWORD"]}).encode(),
    headers={"Content-Type": "application/json"}, method="POST")
opener.open(login, timeout=30).read()
def count():
    return json.load(opener.open(f"http://{web}/api/sync", timeout=30))["link"]["applied_records"]
deadline = time.time() + 600
t0 = c0 = None
n = 0
while time.time() < deadline:
    n = count()
    now = time.time()
    if t0 is None and n > 0:
        t0, c0 = now, n
    if n >= target:
        break
    time.sleep(0.1)
t1 = time.time()
rate = (n - c0) / (t1 - t0) if t0 and t1 > t0 else 0.0
json.dump({"rows": n, "rows_per_s": rate}, open(out, "w"))
PY

rss_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$ctl_pid/status")
python3 - "$work/drain.json" "$work/ingest.json" "$SITE" "$BACKLOG" "$rss_kb" "$SECURE" <<'PY' \
    | bench_check sync-bench backlog drain_msgs_per_s lost applied_twice reordered resent \
        ingest_rows_per_s rss_mb
import json, sys
drain, ingest, site, backlog, rss, secure = sys.argv[1:]
ledger = json.load(open(drain))
s = ledger.get("sites", {}).get(site, {}).get("streams", {}).get("decisions", {})
applied = s.get("applied", 0)
ing = json.load(open(ingest))
print("sync-bench: backlog=%d drain_msgs_per_s=%.0f lost=%d applied_twice=%d reordered=%d resent=%d "
      "ingest_rows_per_s=%.0f rss_mb=%.1f%s" % (
    int(backlog), s.get("drain_rate_per_s") or 0.0, max(0, int(backlog) - applied),
    ledger["totals"]["applied_twice"], s.get("gaps", 0), s.get("resent", 0),
    ing["rows_per_s"], int(rss) / 1024.0, " secure=1" if secure == "1" else ""))
PY
