#!/usr/bin/env bash
# The main job: the simulated site and the controller with its console.
#   scripts/demo.sh                       console on http://127.0.0.1:8080/
#   scripts/demo.sh --listen 0.0.0.0:9000 any option of `customs-edge demo`
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bin customs-edge
exec ./target/release/customs-edge demo "$@"
