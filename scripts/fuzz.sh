#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of every parser that takes bytes from
# outside: runs each target in fuzz/fuzz_targets/ for SECONDS, one after the other (one
# core), and prints one summary line per target:
#
#   fuzz: target=NAME seconds=S runs=N execs_per_s=N cov=N ft=N corpus=N new=N rss_mb=N crashes=N
#
# then a total line; exits 1 when any target crashed (the input is in
# fuzz/artifacts/NAME/; copy it to fuzz/regressions/NAME/ with its fix so that
# `cargo test -p customs-edge-fuzz-bodies` replays it on stable for good).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   default 60 s, every target
#   scripts/fuzz.sh --smoke [TARGET...]     5 s each (FUZZ_SMOKE_SECONDS): CI's short run
#
# A crash is a panic (a broken invariant in fuzz/bodies is one too), an input that runs
# longer than FUZZ_TIMEOUT s (default 5: a hang), a process above FUZZ_RSS_MB (default 1024)
# or a single allocation above 64 MiB (fuzz/src/lib.rs), inputs being at most FUZZ_MAX_LEN
# bytes (default per target below). What libFuzzer finds goes to fuzz/target/corpus/NAME
# (not committed); the committed seeds in fuzz/corpus/NAME are read, never written.
#
# FUZZ_CONFIG=0 leaves out `site_config`, the one target that needs the whole controller
# (OpenCV, SQLite, axum) in the fuzz build: a cold build is several times shorter.
#
# Needs a nightly toolchain (as installed with this machine image; installed with rustup
# when missing) and cargo-fuzz (installed with `cargo install` when missing). Without the
# sanitizer (`--sanitizer none`: the code under test forbids `unsafe`) and with debug
# assertions (overflow checks), in release mode.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=60
if [ "${1:-}" = --smoke ]; then
    seconds=${FUZZ_SMOKE_SECONDS:-5}
    shift
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    seconds=$1
    shift
fi
timeout_s=${FUZZ_TIMEOUT:-5}
rss_mb=${FUZZ_RSS_MB:-1024}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
started=$SECONDS

# Inputs larger than a real peer's are no use: the plate events carry pictures, a config
# is a page of TOML, the rest are headers, frames and register blocks.
max_len_for() {
    case "$1" in
        plate_hikvision | plate_dahua) echo 65536 ;;
        site_config | onvif_soap | ws_discovery | downlink | downlink_body | declaration_line) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

if ! rustup run "$toolchain" rustc --version > /dev/null 2>&1; then
    echo "== installing the $toolchain toolchain (rustup)"
    rustup toolchain install "$toolchain" --profile minimal
fi
if ! command -v cargo-fuzz > /dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

features=()
if [ "${FUZZ_CONFIG:-1}" = 0 ]; then
    features=(--no-default-features)
fi
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    for f in fuzz/fuzz_targets/*.rs; do
        t=${f##*/}
        t=${t%.rs}
        if [ "${FUZZ_CONFIG:-1}" = 0 ] && [ "$t" = site_config ]; then
            continue
        fi
        targets+=("$t")
    done
fi

echo "== building ${#targets[@]} fuzz targets (cargo +$toolchain fuzz build, release, debug assertions)"
t0=$SECONDS
cargo "+$toolchain" fuzz build --sanitizer none --debug-assertions "${features[@]}"
build_s=$((SECONDS - t0))
echo "   built in $build_s s"

bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
crashed=()
for t in "${targets[@]}"; do
    work=fuzz/target/corpus/$t
    artifacts=fuzz/artifacts/$t
    log=fuzz/target/fuzz-$t.log
    mkdir -p "$work" "$artifacts"
    status=0
    "$bin_dir/$t" "$work" "fuzz/corpus/$t" \
        -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
        -max_len="$(max_len_for "$t")" -artifact_prefix="$artifacts/" \
        -print_final_stats=1 > "$log" 2>&1 || status=$?
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    # The last status line: "#123 DONE cov: 456 ft: 789 corp: 12/3456b ... exec/s: 99 rss: 42Mb"
    last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
    field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<< "$last"; }
    crashes=0
    if [ "$status" -ne 0 ]; then
        crashes=1
        crashed+=("$t")
    fi
    echo "fuzz: target=$t seconds=$seconds runs=$(stat number_of_executed_units) execs_per_s=$(stat average_exec_per_sec) cov=$(field cov) ft=$(field ft) corpus=$(field corp) new=$(stat new_units_added) rss_mb=$(stat peak_rss_mb) crashes=$crashes"
    if [ "$status" -ne 0 ]; then
        grep -E '^(==[0-9]+==|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)|panicked at|memory allocation of' "$log" | head -12 >&2 || true
        echo "   crash in $t (exit $status); log: $log" >&2
    fi
done
echo "fuzz: targets=${#targets[@]} seconds_each=$seconds build_s=$build_s total_s=$((SECONDS - started)) crashed=${#crashed[@]}"
if [ "${#crashed[@]}" -gt 0 ]; then
    echo "fuzz: crashed: ${crashed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
