#!/usr/bin/env bash
# Conformance with stacks no one here wrote: a Modbus stack (pymodbus) and ONVIF clients
# (WSDiscovery, onvif-zeep-async, httpx, ffprobe), all from PyPI or Debian:
#
#   scripts/conformance.sh setup   make or update the virtualenv target/conformance-venv from
#                                  tests/conformance/requirements.txt (only when it is missing,
#                                  or the requirements or the Python changed)
#   scripts/conformance.sh sim     setup, build edge-sim (debug), and check its PLC with a
#                                  pymodbus client (tests/conformance/sim_with_pymodbus.py),
#                                  and malformed requests as raw bytes against its PLC, gate
#                                  I/O and weighbridge (tests/conformance/malformed_modbus.py)
#   scripts/conformance.sh driver  setup, and run the Rust driver against a pymodbus server
#                                  (cargo test -p customs-edge-devices --test it pymodbus_server)
#   scripts/conformance.sh onvif   make or update target/onvif-venv from
#                                  tests/conformance/onvif/requirements.txt, build
#                                  onvif-camera-sim (debug), and check it with WSDiscovery,
#                                  onvif-zeep-async (every Profile S read it answers), httpx
#                                  (snapshots, SOAP with HTTP Digest), ffprobe (MJPEG and
#                                  RTSP) and OpenCV (RTSP; Debian's python3-opencv)
#                                  (tests/conformance/onvif/check_camera.py)
#   scripts/conformance.sh api     make or update target/api-venv from
#                                  tests/conformance/api/requirements.txt (Schemathesis), build
#                                  customs-edge (debug), run its demo and test the console API
#                                  against its own /api/openapi.json without a session, with an
#                                  operator's bearer token and with a session of each role
#                                  (tests/conformance/api/check_api.py; API_MAX_EXAMPLES,
#                                  default 8, sets the examples per operation). Zero failures
#                                  or exit 1. docs/security.md says how to run it against a site.
#   scripts/conformance.sh run     all of the above (the default)
#   scripts/conformance.sh python  setup, then print the venv's python path
#
# Idempotent and quick once the venvs exist. They live in the cargo target dir
# ($CARGO_TARGET_DIR, else target/), which is not committed. PYTHON picks the interpreter
# the venvs are made from (default python3). The Rust test finds the pymodbus venv's python
# through CUSTOMS_EDGE_PYMODBUS_PYTHON, which this script exports. ffprobe comes from
# Debian's ffmpeg (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
VENV=$TARGET_DIR/conformance-venv
VENV_PY=$VENV/bin/python
REQUIREMENTS=$ROOT/tests/conformance/requirements.txt
ONVIF_VENV=$TARGET_DIR/onvif-venv
ONVIF_REQUIREMENTS=$ROOT/tests/conformance/onvif/requirements.txt
API_VENV=$TARGET_DIR/api-venv
API_REQUIREMENTS=$ROOT/tests/conformance/api/requirements.txt
PYTHON=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1

say() { echo "conformance: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

# What a venv was made from: its requirements ($1) and the base interpreter.
wanted_stamp() {
    {
        sha256sum "$1" | cut -d' ' -f1
        "$PYTHON" -c 'import sys; print(sys.version.split()[0], sys.base_prefix)'
    } | sha256sum | cut -d' ' -f1
}

# Make sure "$PYTHON -m venv" can make a venv with pip in it (Debian splits it out).
ensure_venv_module() {
    if "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
        return 0
    fi
    if command -v apt-get >/dev/null 2>&1 && [ "$(command -v "$PYTHON")" = /usr/bin/python3 ]; then
        say "installing python3-venv (Debian's python3 lacks ensurepip)"
        export DEBIAN_FRONTEND=noninteractive
        if as_root apt-get install -y -qq --no-install-recommends python3-venv \
            || { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends python3-venv; }; then
            "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1 && return 0
        fi
    fi
    return 1
}

# make_venv VENV REQUIREMENTS: a fresh venv with the requirements installed from wheels
# (a requirements file may name sdist-only packages with --no-binary).
make_venv() {
    local venv=$1 requirements=$2
    rm -rf "$venv"
    mkdir -p "$TARGET_DIR"
    if ensure_venv_module; then
        "$PYTHON" -m venv "$venv"
    else
        say "no venv module with ensurepip; falling back to virtualenv (pip install --user)"
        "$PYTHON" -m pip install -q --user virtualenv \
            || "$PYTHON" -m pip install -q --user --break-system-packages virtualenv
        "$PYTHON" -m virtualenv -q "$venv"
    fi
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-input \
        --only-binary=:all: -r "$requirements"
}

# ensure_venv VENV REQUIREMENTS PACKAGE: make or update VENV unless its stamp says it was
# made from these requirements and this Python; PACKAGE is named in the log.
ensure_venv() {
    local venv=$1 requirements=$2 package=$3
    command -v "$PYTHON" >/dev/null 2>&1 || { say "$PYTHON not found; install python3"; exit 1; }
    mkdir -p "$TARGET_DIR"
    # One setup at a time per venv (cargo test and a developer may both call this).
    exec 9>"$venv.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    local want stamp=$venv/.requirements.stamp
    want=$(wanted_stamp "$requirements")
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        say "venv up to date: $venv"
    else
        say "making the venv $venv from $requirements"
        if ! make_venv "$venv" "$requirements"; then
            rm -rf "$venv"
            say "could not make the venv (see above)"
            exit 1
        fi
        echo "$want" >"$stamp"
        say "venv ready: $("$venv/bin/python" -m pip list --disable-pip-version-check 2>/dev/null | grep -i "^$package " || true)"
    fi
    exec 9>&-
}

# Build a debug binary, unless the caller says the one in target/debug is current
# (USE_TEST_BUILD=1: scripts/test.sh after `cargo test --workspace`, which built every
# binary with the dev-dependencies' features unified in; a `cargo build -p` here would
# rebuild part of the dependency tree with other features).
build_debug() {
    [ "${USE_TEST_BUILD:-0}" = 1 ] && [ -x "$TARGET_DIR/debug/${*: -1}" ] && return 0
    cargo build --locked "$@"
}

setup() {
    ensure_venv "$VENV" "$REQUIREMENTS" pymodbus
    export CUSTOMS_EDGE_PYMODBUS_PYTHON=$VENV_PY
}

sim() {
    say "building edge-sim (debug)"
    build_debug -p customs-edge-simulators --bin edge-sim
    say "edge-sim's PLC against a pymodbus client"
    "$VENV_PY" "$ROOT/tests/conformance/sim_with_pymodbus.py" --edge-sim "$TARGET_DIR/debug/edge-sim"
}

onvif() {
    ensure_venv "$ONVIF_VENV" "$ONVIF_REQUIREMENTS" onvif-zeep-async
    if ! command -v ffprobe >/dev/null 2>&1; then
        say "ffprobe not found: run scripts/setup.sh (it installs Debian's ffmpeg)"
        exit 1
    fi
    say "building onvif-camera-sim (debug)"
    build_debug -p customs-edge-simulators --bin onvif-camera-sim
    say "onvif-camera-sim against WSDiscovery, onvif-zeep-async, httpx, ffprobe and OpenCV"
    "$ONVIF_VENV/bin/python" "$ROOT/tests/conformance/onvif/check_camera.py" \
        --sim "$TARGET_DIR/debug/onvif-camera-sim"
}

api() {
    # Python 3.11's ast.parse can fail deep in Hypothesis ("AST constructor recursion depth
    # mismatch"): take a newer interpreter when there is one (API_PYTHON overrides).
    local base=$PYTHON
    local PYTHON=${API_PYTHON:-}
    if [ -z "$PYTHON" ]; then
        PYTHON=$base
        local c
        for c in python3.13 python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[23]*/bin/python3; do
            if "$c" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
                PYTHON=$c
                break
            fi
        done
    fi
    ensure_venv "$API_VENV" "$API_REQUIREMENTS" schemathesis
    say "building customs-edge (debug)"
    build_debug -p customs-edge --bin customs-edge
    say "the console API against its OpenAPI document (Schemathesis), as every role"
    "$API_VENV/bin/python" "$ROOT/tests/conformance/api/check_api.py" \
        --binary "$TARGET_DIR/debug/customs-edge" --st "$API_VENV/bin/st"
}

driver() {
    say "the LinePlc driver against a pymodbus server"
    CUSTOMS_EDGE_PYMODBUS_PYTHON=$VENV_PY \
        cargo test --locked -p customs-edge-devices --test it pymodbus_server
}

case "${1:-run}" in
    setup) setup ;;
    sim) setup && sim ;;
    driver) setup && driver ;;
    onvif) onvif ;;
    api) api ;;
    run) setup && sim && driver && onvif && api ;;
    python) setup && echo "$VENV_PY" ;;
    -h | --help | help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
    *)
        say "unknown command '$1' (setup, sim, driver, onvif, api, run, python)"
        exit 2
        ;;
esac
