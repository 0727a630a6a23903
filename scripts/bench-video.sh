#!/usr/bin/env bash
# The video benchmark (release build): 8 simulated ONVIF cameras streaming 1280x720 MJPEG at
# 10 fps behind Digest (in a child process), captured by the controller's capture tasks for
# BENCH_SECONDS (default 60) once every stream flows. Ends with one line:
#
#   video-bench: cameras=8 fps=X drop_pct=X cpu_pct=X rss_mb=X evidence_p99_ms=X
#
# fps: frames captured per camera per second; drop_pct: frames the cameras sent that capture
# did not keep; cpu_pct: the capture process's CPU over wall time (100 = one core; the camera
# process is excluded and shown on the line before); rss_mb: its peak RSS (VmHWM);
# evidence_p99_ms: one frame-ring lookup (VideoHub::nearest) under the capture threads'
# writes. BENCH_MOMENTS_PER_S (default 2) evidence moments a second are burned and kept
# meanwhile. BENCH_CAMERAS changes the count; RUST_LOG=info shows the log.
# Smoke mode (BENCH_SMOKE=1, scripts/lib/bench.sh): 1 camera for 3 s, dev build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench.sh
if bench_smoke; then
    export BENCH_CAMERAS=${BENCH_CAMERAS:-1} BENCH_SECONDS=${BENCH_SECONDS:-3}
fi
bench_cargo_build --example video_bench
"$(bench_target_dir)/examples/video_bench" \
    | bench_check video-bench cameras fps drop_pct cpu_pct rss_mb evidence_p99_ms
