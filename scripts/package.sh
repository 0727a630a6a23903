#!/usr/bin/env bash
# Builds the Debian packages with cargo-deb (installed here when missing):
#
#   customs-edge             the site build (no simulators, no demo), console embedded,
#                            systemd unit, /etc/customs-edge/site.toml as a conffile,
#                            maintainer scripts making the customs-edge user and data dir
#   customs-edge-simulators  edge-sim, platform-sim, onvif-camera-sim, for integrators' CI
#
#   scripts/package.sh [--profile release|dev] [--out DIR] [--only NAME] [--source DIR]
#
#   --profile  release (default) for sites. dev reuses the test build's dependencies (a
#              few minutes cheaper; cargo-deb warns that dev is for tests): the package
#              test uses it. The console is embedded either way (feature embed-console).
#   --out      where the .deb files go (default target/debian)
#   --only     one of the two packages
#   --source   the source tree to package (default: this one); the package test packages
#              an older commit with it
#
# Version: the crate's version when HEAD is its tag v<version>, else
# <version>+git<commits>.g<hash> (and .dirty with uncommitted changes), so a later commit's
# package upgrades an earlier one's. DEB_VERSION overrides it.
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
SRC="$HERE"
PROFILE=release
OUT=""
ONLY=""
while [ $# -gt 0 ]; do
    case "$1" in
        --profile) PROFILE="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        --source) SRC="$(cd "$2" && pwd)"; shift 2 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "package.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
OUT="${OUT:-$SRC/target/debian}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

# cargo-deb 3.x, once per machine.
if ! cargo deb --version 2>/dev/null | grep -q '^cargo-deb 3\.'; then
    echo "package: installing cargo-deb 3.x"
    cargo install cargo-deb --version '^3.8' --locked
fi

crate_version() {
    sed -n '/^\[package\]/,/^\[/{s/^version = "\(.*\)"/\1/p}' "$SRC/Cargo.toml" | head -1
}
if [ -z "${DEB_VERSION:-}" ]; then
    version="$(crate_version)"
    if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
        if [ "$(git -C "$SRC" describe --tags --exact-match 2>/dev/null)" != "v$version" ]; then
            version="$version+git$(git -C "$SRC" rev-list --count HEAD).g$(git -C "$SRC" rev-parse --short=10 HEAD)"
            if ! git -C "$SRC" diff --quiet HEAD -- 2>/dev/null; then
                version="$version.dirty"
            fi
        fi
    fi
    DEB_VERSION="$version-1"
fi

# The console is embedded in release builds anyway; dev builds need the feature (a tree
# from before it existed is packaged without it, and without its console).
features=()
if [ "$PROFILE" != release ] && grep -q '^embed-console' "$SRC/Cargo.toml"; then
    features=(--features embed-console)
fi
args=(--profile "$PROFILE" --deb-version "$DEB_VERSION" --locked --output "$OUT")
if [ "$PROFILE" != release ]; then
    # Tests: the fastest xz level (cargo-deb's gzip took minutes here); silence the "dev
    # profile" warning.
    args+=(--fast --quiet)
fi

# The console's charting library is embedded from npm's install; a package without it
# would serve the statistics page without charts.
if [ ! -f "$SRC/web-ui/node_modules/chart.js/dist/chart.umd.min.js" ]; then
    echo "package: web-ui/node_modules is not installed: run scripts/setup.sh first" >&2
    exit 1
fi

cd "$SRC"
if [ -z "$ONLY" ] || [ "$ONLY" = customs-edge ]; then
    echo "package: customs-edge $DEB_VERSION ($PROFILE, site build)"
    cargo deb -p customs-edge "${args[@]}" "${features[@]}"
fi
if [ -z "$ONLY" ] || [ "$ONLY" = customs-edge-simulators ]; then
    echo "package: customs-edge-simulators $DEB_VERSION ($PROFILE)"
    cargo deb -p customs-edge-simulators "${args[@]}"
fi
ls -1 "$OUT"/*.deb
