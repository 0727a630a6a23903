#!/usr/bin/env bash
# Every check the project has: formatting, lints, unit, integration and end-to-end tests.
# Installs missing system packages first (scripts/setup.sh). Tests start their own
# simulators on free loopback ports and need no running services.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# A clean clone gains nothing from incremental state; it only costs disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== pymodbus venv (conformance)"
bash scripts/conformance.sh setup

echo "== cargo test"
cargo test --workspace --locked

echo "== edge-sim PLC against pymodbus"
bash scripts/conformance.sh sim

echo "== onvif-camera-sim against WSDiscovery, onvif-zeep-async, httpx and ffprobe"
bash scripts/conformance.sh onvif

echo "== every benchmark in smoke mode (dev build, seconds each)"
bash scripts/bench-smoke.sh

# Last: it builds the site variant and the previous release into target/ (cargo puts this
# tree's binaries back at its next run). Skips, saying why, without root or Debian's mirror.
echo "== Debian packages: build, install into a debootstrapped root, upgrade from the previous release"
bash scripts/package-test.sh
