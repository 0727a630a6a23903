#!/usr/bin/env bash
# Every check the project has: formatting, lints, unit, integration and end-to-end tests.
# (`cargo clippy --workspace --all-targets -- -D warnings` runs the same lints alone.)
# Installs missing system packages first (scripts/setup.sh). Tests start their own
# simulators on free loopback ports and need no running services.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase says when it starts (seconds since the start), so a slow run shows where.
phase() { echo "== [$SECONDS s] $*"; }
phase "setup"
bash scripts/setup.sh

# A clean clone gains nothing from incremental state; it only costs disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

phase "cargo fmt --check"
cargo fmt --all -- --check

# Clippy's lints ride on the builds below instead of a check build of their own (which
# compiled every dependency a second time: 170 s of a clean run). clippy-driver is rustc
# with the lints added, so as the compiler of the workspace's own crates it lints them and
# builds them; `cargo clippy` hands it its flags the same way. Every later cargo command
# here builds with it, so none rebuilds what an earlier one built. `cargo test` builds
# every target `cargo clippy --all-targets` lints (lib, bins, tests, examples; there are no
# benches), and fails on any lint or compiler warning.
phase "lints on (clippy-driver as the workspace's compiler, warnings denied)"
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

phase "pymodbus venv (conformance)"
bash scripts/conformance.sh setup

# Built before the tests: its builds (the site variant, the previous release) overwrite
# binaries in target/debug, which `cargo test` then builds back, and the lanes below use.
# Skips, saying why, without root or Debian's mirror.
phase "Debian packages: this tree's and the previous release's, built"
bash scripts/package-test.sh build

mkdir -p target/lanes
# The installs into a Debian root use only the staged packages (no cargo, nothing under
# target/debug) and mostly wait on apt and dpkg: they go on beside `cargo test` instead of
# after it (90 s of a clean run).
packages() {
    phase "Debian packages: installed into a debootstrapped root, upgraded from the previous release"
    bash scripts/package-test.sh install
}
packages >target/lanes/packages.log 2>&1 &
packages_pid=$!

# Everything `cargo test` runs, built first: every binary and example of this tree into
# target/debug, with the features the tests need. The lanes below run those instead of
# building again with one package's features (which rebuilt part of the dependency tree,
# about two minutes in all).
phase "cargo test: build"
if ! cargo test --workspace --locked --no-run; then
    wait "$packages_pid" || true # its root unmounted and removed before the exit
    exit 1
fi
export USE_TEST_BUILD=1 BENCH_BUILD=0

# The rest at once, each mostly waiting (the tests on devices, brokers and browsers; the
# lanes on Schemathesis's one core and the benches' simulated devices), none building.
# Each lane's output is printed whole when it ends.
device_conformance() {
    phase "edge-sim PLC against pymodbus"
    bash scripts/conformance.sh sim
    phase "onvif-camera-sim against WSDiscovery, onvif-zeep-async, httpx and ffprobe"
    bash scripts/conformance.sh onvif
}
api_conformance() {
    phase "the console API against its OpenAPI document (Schemathesis, every role)"
    bash scripts/conformance.sh api
}
# The site bench runs after the tests, alone: it is the whole site on a dev build, and
# beside six tests at once its consoles logged in after the last decision and parcels
# were commanded too late (the box, not the controller, was what it measured).
bench_smoke() {
    phase "every benchmark but the site's in smoke mode (dev build, seconds each)"
    BENCH_SMOKE_SKIP=site bash scripts/bench-smoke.sh
}
phase "lanes beside the tests: API conformance | device conformance | bench smoke (and the packages' installs)"
lanes=(api_conformance device_conformance bench_smoke)
pids=()
for lane in "${lanes[@]}"; do
    "$lane" >"target/lanes/$lane.log" 2>&1 &
    pids+=("$!")
done
lanes+=(packages)
pids+=("$packages_pid")

# The integration tests wait far more than they compute (one binary at two threads kept the
# CPU ~20 % busy for 9 minutes): six at a time. TEST_THREADS overrides.
phase "cargo test: run"
tests_passed=yes
cargo test --workspace --locked -- --test-threads "${TEST_THREADS:-6}" || tests_passed=""
phase "cargo test $([ -n "$tests_passed" ] && echo passed || echo FAILED)"

failed=()
[ -n "$tests_passed" ] || failed+=("cargo test")
phase "the site benchmark in smoke mode, alone"
BENCH_SMOKE_ONLY=site bash scripts/bench-smoke.sh || failed+=("site bench smoke")
for i in "${!lanes[@]}"; do
    if wait "${pids[$i]}"; then result=passed; else result=FAILED; failed+=("${lanes[$i]}"); fi
    phase "lane ${lanes[$i]} $result; its output:"
    sed 's/^/    /' "target/lanes/${lanes[$i]}.log"
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]} (the lanes' logs in target/lanes/)" >&2
    exit 1
fi
phase "all checks passed"
