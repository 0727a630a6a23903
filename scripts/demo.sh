#!/usr/bin/env bash
# The main job: the simulated site and the controller with its console.
#   scripts/demo.sh                       console on http://127.0.0.1:8080/
#   scripts/demo.sh --listen 0.0.0.0:9000 any option of `customs-edge demo`
#   DEMO_PROFILE=release scripts/demo.sh  the optimised build (15-30 minutes from scratch
#                                         on 2 cores, against about 5 for the default)
#
# The default is the dev profile, as the tests build it: the demo's one slow line and two
# gate lanes ask little of the controller, and the crates that do heavy work (image codecs,
# hashing, password hashing, SQLite) are optimised in that profile too (Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
profile=${DEMO_PROFILE:-dev}
cargo build --profile "$profile" --bin customs-edge
case "$profile" in
    dev) dir=debug ;;
    *) dir=$profile ;;
esac
exec "./target/$dir/customs-edge" demo "$@"
