#!/usr/bin/env bash
# The Debian packages, installed for real into a fresh Debian 12 root (debootstrap):
#
#  1. builds customs-edge and customs-edge-simulators from this tree (scripts/package.sh,
#     debug profile: it reuses the test build's dependencies), and customs-edge from the
#     previous release (below), cached by its commit;
#  2. installs the previous customs-edge (and this tree's simulators) with apt, which
#     resolves OpenCV's runtime libraries from Debian; checks the user, the files, their
#     owners and modes, the unit (systemd-analyze verify, and security under a threshold);
#  3. edits /etc/customs-edge/site.toml as a site would (its line pointed at edge-sim,
#     which runs in the root from the simulators package), imports declaration lists and
#     starts the controller as the customs-edge user with that config, under the kernel's
#     write-xor-execute lock (the unit's MemoryDenyWriteExecute=), until edge-sim sees a
#     parcel land in the release lane;
#  4. upgrades to this tree's packages: /etc/customs-edge/site.toml (locally modified) and
#     every file under /var/lib/customs-edge must be byte for byte as they were, the user
#     the same; the new controller serves its embedded console, keeps the old records,
#     sorts another parcel, and tells systemd's notify socket it is ready, alive
#     (watchdog pings) and stopping;
#  5. removes the package (config and data stay), then purges it (config goes, data stays).
#
# "Previous release": PREVIOUS_REF when set; else where this branch left main (what sites
# run while the branch is reviewed); on main itself, the commit before HEAD (its first
# parent: main before the last merge). A previous tree from before the packaging existed is
# packaged with this tree's packaging laid over it, and says so.
#
# Needs root (chroot, mounts) and Debian's mirror (DEBIAN_MIRROR, default deb.debian.org);
# without them it says why and skips (exit 0). Caches, outside the clone and kept between
# runs: CUSTOMS_EDGE_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/customs-edge) holds the
# debootstrap tarball (remade after 7 days), that root with the packages' runtime
# dependencies installed (per set of dependencies), apt's downloaded packages, and the
# previous release's source and package. The previous release is built in this tree's
# target directory, reusing its dependencies. CUSTOMS_EDGE_PACKAGE_TEST=skip skips it.
#
#   scripts/package-test.sh            all of it
#   scripts/package-test.sh build      step 1 only: the packages, staged in target/package-test
#   scripts/package-test.sh install    steps 2-5 with the staged packages (no cargo run: it can
#                                      go on beside other work using target/debug, which the
#                                      builds of step 1 overwrite)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
STAGE="${1:-all}"
case "$STAGE" in
    all | build | install) ;;
    *) echo "usage: scripts/package-test.sh [build|install]" >&2; exit 2 ;;
esac
HELP="python3 $REPO/scripts/package_test_helpers.py"
START=$SECONDS
step() { echo "== package-test [$((SECONDS - START)) s]: $*"; }
skip() { echo "package-test: SKIPPED: $*"; exit 0; }
fail() { echo "package-test: FAILED: $*" >&2; exit 1; }

[ "${CUSTOMS_EDGE_PACKAGE_TEST:-}" = skip ] && skip "CUSTOMS_EDGE_PACKAGE_TEST=skip"
[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot, mounts)"
git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout (the upgrade needs history)"
git rev-parse --verify -q HEAD~1 >/dev/null \
    || skip "no commit before HEAD to upgrade from (a shallow clone?)"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
curl -sfI -m 15 "$MIRROR/dists/bookworm/InRelease" >/dev/null \
    || skip "cannot reach Debian's packages at $MIRROR"
if ! command -v debootstrap >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null \
        || skip "debootstrap is missing and cannot be installed"
fi

CACHE="${CUSTOMS_EDGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/customs-edge}"
mkdir -p "$CACHE/apt-archives/partial" "$CACHE/previous-debs"
WORK="$(mktemp -d /tmp/customs-edge-package-test.XXXXXX)"
ROOT="$WORK/root"
PIDS=()
in_root() { chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }
apt_install() {
    local opts=(-y -q --no-install-recommends -o Dpkg::Options::=--force-confdef
                -o Dpkg::Options::=--force-confold)
    in_root apt-get install "${opts[@]}" "$@" >"$WORK/apt.log" 2>&1 && return 0
    # The cached package lists may name versions the mirror has replaced since.
    in_root apt-get update -q >/dev/null
    in_root apt-get install "${opts[@]}" "$@" >"$WORK/apt.log" 2>&1 \
        || { tail -30 "$WORK/apt.log"; fail "apt-get install $*"; }
}
# A root in memory (unpacking and deleting 700 MB of small files on a busy disk took a
# minute), with /proc and the cache of downloaded packages.
enter_root() {
    mkdir -p "$ROOT"
    mount -t tmpfs -o size=4g,mode=755 tmpfs "$ROOT"
    tar -C "$ROOT" -xf "$1"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    mount -t proc proc "$ROOT/proc"
    mount --bind "$CACHE/apt-archives" "$ROOT/var/cache/apt/archives"
}
leave_root() {
    for m in "$ROOT/var/cache/apt/archives" "$ROOT/proc" "$ROOT"; do
        if mountpoint -q "$m"; then umount -l "$m"; fi
    done
}

cleanup() {
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    leave_root
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. packages ----------------------------------------------------------------------
# Staged where the install stage finds them: this tree's in new/, the previous release's
# directory (in the cache) named by the file previous.
STAGED="${CARGO_TARGET_DIR:-$REPO/target}/package-test"
NEW_DEBS="$STAGED/new"
if [ "$STAGE" = install ]; then
    [ -f "$STAGED/previous" ] && PREV_DEBS="$(cat "$STAGED/previous")" \
        && [ -f "$PREV_DEBS/done" ] && ls "$NEW_DEBS"/customs-edge_*.deb >/dev/null 2>&1 \
        || fail "no staged packages in $STAGED: run scripts/package-test.sh build first"
else
    step "packages of this tree"
    rm -rf "$STAGED"
    scripts/package.sh --profile dev --out "$NEW_DEBS" >/dev/null

    if [ -n "${PREVIOUS_REF:-}" ]; then
        PREV="$(git rev-parse --verify "$PREVIOUS_REF^{commit}")"
    else
        PREV=""
        for main in main origin/main; do
            PREV="$(git merge-base HEAD "$main" 2>/dev/null)" && break
        done
        if [ -z "$PREV" ] || [ "$PREV" = "$(git rev-parse HEAD)" ]; then
            PREV="$(git rev-parse --verify HEAD~1)"
        fi
    fi
    overlay=""
    git cat-file -e "$PREV:packaging/deb/customs-edge.service" 2>/dev/null || overlay=yes
    key="$PREV"
    if [ -n "$overlay" ]; then
        key="$PREV-overlay-$(find Cargo.toml simulators/Cargo.toml packaging -type f | sort \
            | xargs cat | sha256sum | cut -c1-12)"
    fi
    PREV_DEBS="$CACHE/previous-debs/$key"
    if [ ! -f "$PREV_DEBS/done" ]; then
        step "packages of the previous release ${PREV:0:10} (built once, then cached)"
        rm -rf "$CACHE/previous-debs" "$CACHE/previous-src"
        mkdir -p "$CACHE/previous-src" "$PREV_DEBS"
        # -m: files dated now, so cargo rebuilds them over artifacts of another previous commit.
        git archive "$PREV" | tar -x -m -C "$CACHE/previous-src"
        cp -a web-ui/node_modules "$CACHE/previous-src/web-ui/" 2>/dev/null || true
        if [ -n "$overlay" ]; then
            echo "package-test: ${PREV:0:10} predates the packaging: packaging it with this tree's"
            cp -a packaging "$CACHE/previous-src/"
            for manifest in Cargo.toml simulators/Cargo.toml; do
                $HELP deb-metadata "$manifest" >>"$CACHE/previous-src/$manifest"
            done
        fi
        DEB_VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$CACHE/previous-src/Cargo.toml" | head -1)"
        $HELP mark-previous "$CACHE/previous-src"
        # In this tree's target directory: the dependencies built for this tree are reused (its
        # own crates are versioned apart, see mark-previous). Its binaries are copied over
        # target/debug/ meanwhile; cargo puts this tree's back at its next run. Built as it
        # shipped, without test.sh's lint wrapper: this tree's lints are not the previous
        # release's business (a lint it fails may be just what the commit under test fixed).
        DEB_VERSION="$DEB_VERSION+git$(git rev-list --count "$PREV").g$(git rev-parse --short=10 "$PREV")-1" \
            CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}" \
            env -u RUSTC_WORKSPACE_WRAPPER -u CLIPPY_ARGS \
            scripts/package.sh --profile dev --only customs-edge --source "$CACHE/previous-src" \
            --out "$PREV_DEBS" >/dev/null
        touch "$PREV_DEBS/done"
    fi
    echo "$PREV_DEBS" >"$STAGED/previous"
    if [ "$STAGE" = build ]; then
        step "packages staged in $STAGED"
        exit 0
    fi
fi
NEW_VERSION="$(dpkg-deb -f "$NEW_DEBS"/customs-edge_*.deb Version)"
OLD_VERSION="$(dpkg-deb -f "$PREV_DEBS"/customs-edge_*.deb Version)"
dpkg --compare-versions "$NEW_VERSION" gt "$OLD_VERSION" \
    || fail "this tree's version $NEW_VERSION does not upgrade $OLD_VERSION"

# --- 2. a fresh Debian root, the previous packages installed ----------------------------
BASE="$CACHE/debootstrap-bookworm.tar"
if [ ! -f "$BASE" ] || [ -n "$(find "$BASE" -mtime +7)" ]; then
    step "debootstrap bookworm minbase (cached in $BASE)"
    rm -f "$CACHE"/bookworm-deps-*.tar
    mkdir -p "$WORK/base"
    debootstrap --variant=minbase --include=systemd,adduser,init-system-helpers \
        --cache-dir="$CACHE/apt-archives" bookworm "$WORK/base" "$MIRROR" >"$WORK/debootstrap.log" \
        || { tail -20 "$WORK/debootstrap.log"; fail "debootstrap"; }
    chroot "$WORK/base" apt-get clean
    tar -C "$WORK/base" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
    rm -rf "$WORK/base"
fi
# The base with the packages' runtime dependencies (OpenCV's libraries: 230 packages)
# installed by apt from their Depends fields, cached per set of dependencies.
deps="$(for deb in "$PREV_DEBS"/*.deb "$NEW_DEBS"/*.deb; do dpkg-deb -f "$deb" Depends; done \
    | tr ',' '\n' | sed 's/[|(].*//; s/ //g' | sort -u | grep .)"
DEPS_TAR="$CACHE/bookworm-deps-$(echo "$deps" | sha256sum | cut -c1-12).tar"
if [ ! -f "$DEPS_TAR" ]; then
    step "runtime dependencies from Debian, into a cached root ($(echo "$deps" | wc -l) named)"
    enter_root "$BASE"
    # shellcheck disable=SC2086 # one package name a word
    apt_install $deps
    in_root apt-get clean
    umount "$ROOT/var/cache/apt/archives" "$ROOT/proc"
    rm -f "$CACHE"/bookworm-deps-*.tar
    tar -C "$ROOT" -cf "$DEPS_TAR.tmp" . && mv "$DEPS_TAR.tmp" "$DEPS_TAR"
    leave_root
fi
step "fresh root from the cached one"
enter_root "$DEPS_TAR"
mkdir -p "$ROOT/tmp/old" "$ROOT/tmp/new"
cp "$PREV_DEBS"/*.deb "$ROOT/tmp/old/"
cp "$NEW_DEBS"/*.deb "$ROOT/tmp/new/"
debs() { (cd "$ROOT" && printf '/%s\n' tmp/"$1"/*.deb); } # as the root sees them

step "install $OLD_VERSION"
# The simulators are this tree's from the start: they only drive the test, and building the
# previous ones too doubled the cost of a new previous release.
apt_install $(debs old) "$(debs new | grep simulators)"

# --- checks of the installed package -----------------------------------------------------
mode() { in_root stat -c '%U:%G %a' "$1"; }
expect() { [ "$2" = "$3" ] || fail "$1: expected '$3', found '$2'"; }
check_install() {
    local user
    user="$(in_root getent passwd customs-edge)" || fail "no customs-edge user"
    case "$user" in *:/var/lib/customs-edge:/usr/sbin/nologin) ;; *) fail "user: $user" ;; esac
    in_root getent group customs-edge >/dev/null || fail "no customs-edge group"
    [ -x "$ROOT/usr/bin/customs-edge" ] || fail "no /usr/bin/customs-edge"
    [ -f "$ROOT/usr/lib/systemd/system/customs-edge.service" ] || fail "no unit"
    expect "/etc/customs-edge" "$(mode /etc/customs-edge)" "root:customs-edge 750"
    expect "site.toml" "$(mode /etc/customs-edge/site.toml)" "root:customs-edge 640"
    expect "/var/lib/customs-edge" "$(mode /var/lib/customs-edge)" "customs-edge:customs-edge 750"
    grep -qx /etc/customs-edge/site.toml "$ROOT/var/lib/dpkg/info/customs-edge.conffiles" \
        || fail "site.toml is not a conffile"
    in_root customs-edge --version >/dev/null || fail "the binary does not run (libraries?)"
    # Not enabled by the install: the site configures first.
    [ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/customs-edge.service" ] \
        || fail "the unit was enabled on install"
    systemd-analyze verify --root="$ROOT" customs-edge.service || fail "systemd-analyze verify"
    # Exposure 1.2 when this was written (0 best, 10 worst); fail above 2.0.
    systemd-analyze security --offline=true --threshold=20 --root="$ROOT" customs-edge.service \
        | tail -1 || fail "systemd-analyze security above 2.0"
}
step "check the installed package"
check_install

# --- 3. the controller, as the service runs it, against edge-sim -------------------------
# MemoryDenyWriteExecute= as the kernel's own lock, when it has one (Linux 6.3+).
MDWE=(python3 -c 'import ctypes,os,sys
if ctypes.CDLL(None).prctl(65, 1, 0, 0, 0): sys.stderr.write("package-test: no PR_SET_MDWE here\n")
os.execvp(sys.argv[1], sys.argv[1:])')
SIM_JSON="$WORK/sim.json"
start_sim() {
    rm -rf "$ROOT/srv/xray" && mkdir -p "$ROOT/srv/xray"
    chroot "$ROOT" /usr/bin/edge-sim --base-port 0 --print-addresses-json --xray-dir /srv/xray \
        --belt-speed 1000 >"$SIM_JSON" 2>"$WORK/sim.log" &
    SIM_PID=$!
    PIDS+=("$SIM_PID")
    for _ in $(seq 100); do [ -s "$SIM_JSON" ] && break; sleep 0.1; done
    [ -s "$SIM_JSON" ] || { cat "$WORK/sim.log"; fail "edge-sim did not start"; }
    SIM_HTTP="$($HELP sim-field "$SIM_JSON" http)"
}
start_controller() { # old|new [VAR=value…]: more environment, as systemd sets it
    local which="$1"
    shift
    "${MDWE[@]}" chroot --userspec=customs-edge:customs-edge "$ROOT" \
        env NO_COLOR=1 "$@" sh -c 'umask 077; exec customs-edge --log-format text run --config /etc/customs-edge/site.toml' \
        >"$WORK/controller-$which.log" 2>&1 &
    CTL_PID=$!
    PIDS+=("$CTL_PID")
    for _ in $(seq 300); do
        curl -sf -o /dev/null "http://$WEB/healthz" && return 0
        kill -0 "$CTL_PID" 2>/dev/null || break
        sleep 0.1
    done
    tail -30 "$WORK/controller-$which.log"
    fail "the $which controller did not come up on $WEB"
}
stop() { # pid what: SIGTERM, as systemd stops it; a clean exit
    kill -TERM "$1"
    wait "$1" || fail "$2 exited with $? on SIGTERM"
    local left=() pid
    for pid in "${PIDS[@]}"; do [ "$pid" = "$1" ] || left+=("$pid"); done
    PIDS=("${left[@]+"${left[@]}"}")
}
sort_parcel() { # code weight lane: inject into edge-sim and wait for the drop
    local before after
    before="$(curl -sf "http://$SIM_HTTP/report" >"$WORK/r.json" && $HELP lane-count "$WORK/r.json" "$3")"
    curl -sf -d "{\"code\":\"$1\",\"weight_kg\":$2}" "http://$SIM_HTTP/parcels" >/dev/null
    for _ in $(seq 200); do
        curl -sf "http://$SIM_HTTP/report" >"$WORK/r.json" || true
        after="$($HELP lane-count "$WORK/r.json" "$3")"
        [ "$after" -gt "$before" ] && return 0
        sleep 0.1
    done
    tail -20 "$WORK/controller-$4.log"
    fail "parcel $1 did not land in lane $3"
}

step "the site's edit of site.toml, declaration lists, the $OLD_VERSION controller"
start_sim
WEB="127.0.0.1:$($HELP free-port)"
$HELP adjust-config "$ROOT/etc/customs-edge/site.toml" "$SIM_JSON" "$WEB"
in_root customs-edge check-config /etc/customs-edge/site.toml >/dev/null \
    || fail "the edited config does not check"
grep -v '^#' docs/manifests.example.jsonl >"$ROOT/tmp/lists.jsonl"
chroot --userspec=customs-edge:customs-edge "$ROOT" sh -c 'umask 077; exec customs-edge \
    import-manifests /tmp/lists.jsonl --config /etc/customs-edge/site.toml' >/dev/null 2>&1 \
    || fail "import-manifests as the customs-edge user"
start_controller old
sort_parcel SF350000000001 0.7 1 old # released by customs, weight as declared
stop "$CTL_PID" "the $OLD_VERSION controller"

# --- 4. the upgrade ------------------------------------------------------------------------
snapshot() {
    (cd "$ROOT" && find etc/customs-edge var/lib/customs-edge -type f -print0 | sort -z \
        | xargs -0 sha256sum)
    (cd "$ROOT" && find etc/customs-edge var/lib/customs-edge -printf '%p %U:%G %m\n' | sort)
    in_root id customs-edge
}
# Reading the database makes its -shm file: before the snapshot, not between the two.
$HELP records "$ROOT/var/lib/customs-edge/customs-edge.db" >"$WORK/records-before"
snapshot >"$WORK/before"
grep -q '^parcel 1 SF350000000001 1 sorted$' "$WORK/records-before" \
    || fail "the first parcel is not recorded: $(cat "$WORK/records-before")"
step "upgrade $OLD_VERSION -> $NEW_VERSION"
apt_install $(debs new)
expect "installed version" "$(in_root dpkg-query -W -f '${Version}' customs-edge)" "$NEW_VERSION"
snapshot >"$WORK/after"
diff -u "$WORK/before" "$WORK/after" || fail "the upgrade touched /etc/customs-edge or /var/lib/customs-edge"
check_install

step "the $NEW_VERSION controller on the kept data, told it runs under systemd"
# systemd's notify socket, as the unit's Type=notify and WatchdogSec= set it up.
$HELP notify-listen "$ROOT/run/notify.sock" "$WORK/notify.log" &
PIDS+=("$!")
for _ in $(seq 50); do [ -S "$ROOT/run/notify.sock" ] && break; sleep 0.1; done
start_controller new NOTIFY_SOCKET=/run/notify.sock WATCHDOG_USEC=1000000
curl -sf -o "$WORK/index.html" "http://$WEB/" && grep -qi '<html' "$WORK/index.html" \
    && curl -sf -o /dev/null "http://$WEB/vendor/chart.js" \
    || fail "the console (and its Chart.js) is not served from the binary"
if grep -q '^demo = ' Cargo.toml; then # the site build: no simulators, no demo
    in_root customs-edge --help >"$WORK/help.txt"
    ! grep -q '^  demo ' "$WORK/help.txt" || fail "the site build has the demo"
fi
sort_parcel JD350000000003 2.1 1 new
stop "$CTL_PID" "the $NEW_VERSION controller"
# Ready once listening, pinged every 0.5 s while its line, the writer make progress,
# stopping on SIGTERM.
grep -qx 'READY=1' "$WORK/notify.log" && grep -q '^STATUS=running: 1 line(s)' "$WORK/notify.log" \
    && [ "$(grep -cx 'WATCHDOG=1' "$WORK/notify.log")" -ge 4 ] && grep -qx 'STOPPING=1' "$WORK/notify.log" \
    || fail "systemd was not told: $(cat "$WORK/notify.log")"
$HELP records "$ROOT/var/lib/customs-edge/customs-edge.db" >"$WORK/records-after"
grep -Fxf "$WORK/records-before" "$WORK/records-after" | cmp -s - "$WORK/records-before" \
    || fail "records were lost: $(diff "$WORK/records-before" "$WORK/records-after")"
grep -q '^parcel 2 JD350000000003 1 sorted$' "$WORK/records-after" \
    || fail "the second parcel is not recorded: $(cat "$WORK/records-after")"
stop "$SIM_PID" "edge-sim"

# --- 5. remove, purge --------------------------------------------------------------------
step "remove, then purge"
in_root apt-get remove -y -q customs-edge >"$WORK/apt.log" 2>&1 || fail "remove"
[ -f "$ROOT/etc/customs-edge/site.toml" ] || fail "remove deleted the config"
[ -f "$ROOT/var/lib/customs-edge/customs-edge.db" ] || fail "remove deleted the data"
in_root apt-get purge -y -q customs-edge >"$WORK/apt.log" 2>&1 || fail "purge"
[ ! -e "$ROOT/etc/customs-edge/site.toml" ] || fail "purge kept the config"
[ -f "$ROOT/var/lib/customs-edge/customs-edge.db" ] || fail "purge deleted the data"
grep -q "is kept" "$WORK/apt.log" || fail "purge did not say the data is kept"

step "passed"
