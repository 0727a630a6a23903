#!/usr/bin/env bash
# Conformance with a Modbus stack no one here wrote (pymodbus, from PyPI):
#
#   scripts/conformance.sh setup   make or update the virtualenv target/conformance-venv from
#                                  tests/conformance/requirements.txt (only when it is missing,
#                                  or the requirements or the Python changed)
#   scripts/conformance.sh sim     setup, build edge-sim (debug), and check its PLC with a
#                                  pymodbus client (tests/conformance/sim_with_pymodbus.py)
#   scripts/conformance.sh driver  setup, and run the Rust driver against a pymodbus server
#                                  (cargo test -p customs-edge-devices --test pymodbus_server)
#   scripts/conformance.sh run     all of the above (the default)
#   scripts/conformance.sh python  setup, then print the venv's python path
#
# Idempotent and quick once the venv exists. The venv lives in the cargo target dir
# ($CARGO_TARGET_DIR, else target/), which is not committed. PYTHON picks the interpreter
# the venv is made from (default python3). The Rust test finds the venv's python through
# CUSTOMS_EDGE_PYMODBUS_PYTHON, which this script exports.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
VENV=$TARGET_DIR/conformance-venv
VENV_PY=$VENV/bin/python
REQUIREMENTS=$ROOT/tests/conformance/requirements.txt
STAMP=$VENV/.requirements.stamp
PYTHON=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1

say() { echo "conformance: $*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else return 1; fi
}

# What the venv was made from: the requirements and the base interpreter.
wanted_stamp() {
    {
        sha256sum "$REQUIREMENTS" | cut -d' ' -f1
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

make_venv() {
    rm -rf "$VENV"
    mkdir -p "$TARGET_DIR"
    if ensure_venv_module; then
        "$PYTHON" -m venv "$VENV"
    else
        say "no venv module with ensurepip; falling back to virtualenv (pip install --user)"
        "$PYTHON" -m pip install -q --user virtualenv \
            || "$PYTHON" -m pip install -q --user --break-system-packages virtualenv
        "$PYTHON" -m virtualenv -q "$VENV"
    fi
    "$VENV_PY" -m pip install -q --disable-pip-version-check --no-input \
        --only-binary=:all: -r "$REQUIREMENTS"
}

setup() {
    command -v "$PYTHON" >/dev/null 2>&1 || { say "$PYTHON not found; install python3"; exit 1; }
    mkdir -p "$TARGET_DIR"
    # One setup at a time (cargo test and a developer may both call this).
    exec 9>"$TARGET_DIR/conformance-venv.lock"
    if command -v flock >/dev/null 2>&1; then flock 9; fi
    local want
    want=$(wanted_stamp)
    if [ -x "$VENV_PY" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
        say "venv up to date: $VENV"
    else
        say "making the venv $VENV from $REQUIREMENTS"
        if ! make_venv; then
            rm -rf "$VENV"
            say "could not make the venv (see above)"
            exit 1
        fi
        echo "$want" >"$STAMP"
        say "venv ready: $("$VENV_PY" -m pip list --disable-pip-version-check 2>/dev/null | grep -i '^pymodbus ' || true)"
    fi
    exec 9>&-
    export CUSTOMS_EDGE_PYMODBUS_PYTHON=$VENV_PY
}

sim() {
    say "building edge-sim (debug)"
    cargo build --locked -p customs-edge-simulators --bin edge-sim
    say "edge-sim's PLC against a pymodbus client"
    "$VENV_PY" "$ROOT/tests/conformance/sim_with_pymodbus.py" --edge-sim "$TARGET_DIR/debug/edge-sim"
}

driver() {
    say "the LinePlc driver against a pymodbus server"
    CUSTOMS_EDGE_PYMODBUS_PYTHON=$VENV_PY \
        cargo test --locked -p customs-edge-devices --test pymodbus_server
}

case "${1:-run}" in
    setup) setup ;;
    sim) setup && sim ;;
    driver) setup && driver ;;
    run) setup && sim && driver ;;
    python) setup && echo "$VENV_PY" ;;
    -h | --help | help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' ;;
    *)
        say "unknown command '$1' (setup, sim, driver, run, python)"
        exit 2
        ;;
esac
