#!/usr/bin/env bash
# Installs the system packages customs-edge needs on a Debian machine, only those missing.
# Idempotent: a second run does nothing but check. Needs root (or sudo) only when something
# is missing.
#
#   libopencv-dev clang libclang-dev   OpenCV capture (video evidence) and its bindgen
#   fonts-wqy-microhei                 the CJK font camera names are burned into evidence with
#   mosquitto mosquitto-clients        the MQTT broker the demo and the tests start
#   ffmpeg                             ffprobe for stream conformance tests
#   chromium chromium-driver           headless browser tests of the consoles
#   poppler-utils                      pdftotext/pdfimages read the printed inspection record
#   python3 python3-venv               pymodbus conformance tests (in a virtualenv), bench reports
#   python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
#   gstreamer1.0-plugins-ugly          a real RTSP camera for the capture tests: GStreamer's
#                                      RTSP server serving x264 (tests/conformance/rtsp/serve.py,
#                                      run by /usr/bin/python3); also the simulated ONVIF
#                                      camera's RTSP server (onvif-camera-sim)
#   python3-opencv                     OpenCV from Python, reading the simulated camera's RTSP
#                                      stream in the ONVIF conformance check
#   debootstrap                        the package test's fresh Debian root
#                                      (scripts/package-test.sh; cargo-deb comes from
#                                      crates.io through scripts/package.sh)
#   nodejs npm                         (only when npm is missing) the consoles' Chart.js, from
#                                      npm into web-ui/node_modules, embedded by `cargo build`
set -euo pipefail

PACKAGES=(libopencv-dev clang libclang-dev fonts-wqy-microhei mosquitto mosquitto-clients
          ffmpeg chromium chromium-driver poppler-utils python3 python3-venv
          python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
          gstreamer1.0-plugins-ugly python3-opencv debootstrap)
# npm installs the consoles' charting library (see the end); Debian's npm needs nodejs.
if ! command -v npm >/dev/null 2>&1; then
    PACKAGES+=(nodejs npm)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all system packages present"
else
    echo "setup: installing ${missing[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: cargo not found; install the Rust toolchain (https://rustup.rs) first" >&2
    exit 1
fi

# The consoles' one third-party file, Chart.js, comes from npm (pinned in
# web-ui/package-lock.json) and is embedded into the binary by `cargo build`, so it must be
# installed first. npm writes node_modules/.package-lock.json last: it is missing after an
# install that failed, and older than package-lock.json after the pin changed.
WEB_UI="$(cd "$(dirname "$0")/../web-ui" && pwd)"
if [ ! -f "$WEB_UI/node_modules/.package-lock.json" ] \
    || [ "$WEB_UI/package-lock.json" -nt "$WEB_UI/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in web-ui/ (Chart.js for the consoles)"
    (cd "$WEB_UI" && npm ci --no-audit --no-fund)
else
    echo "setup: web-ui/node_modules up to date"
fi
