//! Telling a decoded network stream's live frames from a backlog read back to back.
//!
//! A frame is stamped with the time it is read, so only a frame read as it arrives may be
//! kept: one that waited in a buffer would be evidence of a moment it never saw. Two
//! backlogs happen:
//!
//! - **Right after the open**, FFmpeg hands out what it read while probing the stream
//!   (seconds of H.264 over RTSP), decoded back to back. Each frame is held until the next
//!   read: only when that read waited for its frame at least half the stream time between
//!   the two was the held frame the newest; it and all later frames are kept. Until then
//!   held frames are skipped, for at most the watchdog time.
//! - **Later**, when frames come faster or later than the stream's own clock allows. A
//!   read that waited only because the box was busy can end the catching up too early
//!   (seen on a loaded 2-core machine: 60 frames of backlog kept in 36 ms), and a stream
//!   that stalled can deliver what was buffered all at once. Each frame's offset (the
//!   wall clock at its read less its stream time) is compared with a reference: the
//!   offset of the last frame whose read waited a normal frame interval for it, which
//!   came as it was sent. A frame a frame interval *earlier* than the reference says the
//!   reference was itself backlog: catching up starts again. A frame well *later* than it
//!   waited somewhere: it is skipped rather than stamped with a moment it never saw.
//!
//! Frames with no stream time (it does not advance) are kept as read once the first
//! catch-up ends. Pure (times are passed in), so it is tested without a camera.

use std::time::{Duration, Instant};

/// Lead over the reference tolerated when the stream's frame interval is small.
const MIN_LEAD_MS: f64 = 50.0;
/// Lateness behind the reference tolerated (network jitter, a busy box) at the least.
const MIN_LATE_MS: f64 = 250.0;

/// Judges each frame read from one open stream.
pub(crate) struct Pacer<F> {
    catching_up: bool,
    /// The frame read last while catching up, and its stream time.
    held: Option<(F, f64)>,
    /// The offset (wall ms less stream ms) of a frame known to have come as it was sent.
    reference: Option<f64>,
    /// The stream time of the frame read last.
    last_pts: f64,
    /// The stream's frame interval, from the two frames that ended the last catch-up.
    interval_ms: f64,
    /// When the current catch-up began, and the wall clock's origin for offsets.
    since: Instant,
    origin: Instant,
    /// How long a catch-up lasts at most (then the frames are kept as read).
    limit: Duration,
    /// Frames skipped as backlog while catching up.
    pub(crate) skipped: u64,
    /// Frames skipped as late after catching up.
    pub(crate) late: u64,
    /// Times catching up began again after frames had been kept.
    pub(crate) bursts: u64,
}

impl<F> Pacer<F> {
    /// A pacer for a stream opened at `opened`; `live`: a decoded network stream, whose
    /// frames carry stream times and can come as a backlog (otherwise every frame is kept).
    pub(crate) fn new(live: bool, opened: Instant, limit: Duration) -> Self {
        Self {
            catching_up: live,
            held: None,
            reference: None,
            last_pts: f64::NAN,
            interval_ms: 0.0,
            since: opened,
            origin: opened,
            limit,
            skipped: 0,
            late: 0,
            bursts: 0,
        }
    }

    fn offset(&self, pts_ms: f64, now: Instant) -> f64 {
        now.duration_since(self.origin).as_secs_f64() * 1000.0 - pts_ms
    }

    /// A frame read at `now` (the read took `took`) with stream time `pts_ms`: the frames
    /// to keep now, oldest first (none, one, or a held frame and this one).
    pub(crate) fn offer(&mut self, frame: F, pts_ms: f64, took: Duration, now: Instant) -> Vec<F> {
        let advanced = pts_ms > self.last_pts;
        self.last_pts = pts_ms;
        if !self.catching_up {
            let (Some(reference), true) = (self.reference, advanced && self.interval_ms > 0.0)
            else {
                return vec![frame];
            };
            let offset = self.offset(pts_ms, now);
            if offset < reference - self.interval_ms.max(MIN_LEAD_MS) {
                self.catching_up = true;
                self.since = now;
                self.bursts += 1;
                self.held = Some((frame, pts_ms));
                return Vec::new();
            }
            if offset > reference + (3.0 * self.interval_ms).max(MIN_LATE_MS) {
                self.late += 1;
                return Vec::new();
            }
            let took_ms = took.as_secs_f64() * 1000.0;
            if (self.interval_ms / 2.0..=2.0 * self.interval_ms).contains(&took_ms) {
                self.reference = Some(offset);
            }
            return vec![frame];
        }
        let Some((previous, previous_pts)) = self.held.replace((frame, pts_ms)) else {
            return Vec::new();
        };
        let gap = pts_ms - previous_pts;
        let waited = gap > 0.0 && took.as_secs_f64() * 1000.0 >= gap / 2.0;
        if !waited && now.duration_since(self.since) < self.limit {
            self.skipped += 1;
            return Vec::new();
        }
        self.catching_up = false;
        if gap > 0.0 {
            self.interval_ms = gap;
        }
        self.reference = Some(self.offset(pts_ms, now));
        let (newest, _) = self.held.take().expect("held above");
        vec![previous, newest]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(3);

    /// Feeds frames numbered from 0, each `(pts_ms, read at ms, read took ms)`; the numbers
    /// of the frames kept.
    fn run(pacer: &mut Pacer<u32>, t0: Instant, frames: &[(f64, u64, u64)]) -> Vec<u32> {
        let mut kept = Vec::new();
        for (n, &(pts, at, took)) in frames.iter().enumerate() {
            let now = t0 + Duration::from_millis(at);
            kept.extend(pacer.offer(n as u32, pts, Duration::from_millis(took), now));
        }
        kept
    }

    /// `backlog` frames at 10 fps read 1 ms apart, then `live` frames each read as it
    /// comes (100 ms apart, the read waiting for it).
    fn backlog_then_live(backlog: u32, live: u32) -> Vec<(f64, u64, u64)> {
        let mut frames: Vec<_> = (0..backlog)
            .map(|i| (f64::from(i) * 100.0, u64::from(i), 1))
            .collect();
        let start = u64::from(backlog);
        frames.extend((0..live).map(|i| {
            let n = backlog + i;
            (f64::from(n) * 100.0, start + 100 * u64::from(i + 1), 95)
        }));
        frames
    }

    #[test]
    fn the_backlog_of_an_open_is_skipped_and_the_live_frames_kept() {
        let t0 = Instant::now();
        let mut p = Pacer::new(true, t0, LIMIT);
        let kept = run(&mut p, t0, &backlog_then_live(26, 10));
        // The newest frame of the backlog (25) was live when the first live read waited.
        assert_eq!(kept, (25..36).collect::<Vec<_>>());
        assert_eq!((p.skipped, p.bursts), (25, 0));
    }

    #[test]
    fn a_read_slowed_by_a_busy_box_does_not_let_the_backlog_through() {
        let t0 = Instant::now();
        let mut p = Pacer::new(true, t0, LIMIT);
        let mut frames = backlog_then_live(60, 10);
        // Frame 5's read was preempted for 80 ms: it looks as though it waited for a frame.
        for f in &mut frames[5..] {
            f.1 += 80;
        }
        frames[5].2 = 80;
        let kept = run(&mut p, t0, &frames);
        // Frames 4 and 5 and one more are kept before the stream's lead gives the backlog
        // away; the rest of it is skipped, the live frames are kept from 59 on.
        assert_eq!(&kept[..3], &[4, 5, 6]);
        assert_eq!(&kept[3..], (59..70).collect::<Vec<_>>().as_slice());
        assert_eq!(p.bursts, 1);
    }

    #[test]
    fn the_frames_held_up_by_a_stall_are_skipped() {
        let t0 = Instant::now();
        let mut p = Pacer::new(true, t0, LIMIT);
        let mut frames = backlog_then_live(1, 20);
        // The stream stalls for 2 s (the read waits), then the 20 frames sent meanwhile
        // come at once, and it flows again.
        let stalled_at = frames.last().unwrap().1 + 2000;
        for i in 0..20u32 {
            let pts = f64::from(21 + i) * 100.0;
            let took = if i == 0 { 2000 } else { 1 };
            frames.push((pts, stalled_at + u64::from(i), took));
        }
        for i in 0..5u32 {
            let pts = f64::from(41 + i) * 100.0;
            frames.push((pts, stalled_at + 20 + 100 * u64::from(i + 1), 95));
        }
        let kept = run(&mut p, t0, &frames);
        // Only the last of them, less than 250 ms late, are kept.
        let burst: Vec<_> = kept.iter().filter(|&&n| (21..=40).contains(&n)).collect();
        assert_eq!(burst, [&38, &39, &40], "{kept:?}");
        assert!(kept.ends_with(&[40, 41, 42, 43, 44, 45]), "{kept:?}");
        assert_eq!((p.late, p.bursts), (17, 0));
    }

    #[test]
    fn a_live_stream_with_jitter_loses_no_frame() {
        let t0 = Instant::now();
        let mut p = Pacer::new(true, t0, LIMIT);
        let mut frames = backlog_then_live(3, 100);
        // Each frame arrives up to 40 ms late, in a pattern, and is read at once.
        for (i, f) in frames.iter_mut().enumerate().skip(3) {
            let late = [0, 40, 10, 30, 0, 20][i % 6];
            f.1 += late;
        }
        let kept = run(&mut p, t0, &frames);
        assert_eq!(kept.len(), 101, "{kept:?}");
        assert_eq!(p.bursts, 0);
    }

    #[test]
    fn frames_without_stream_times_are_kept_once_the_limit_passes() {
        let t0 = Instant::now();
        let mut p = Pacer::new(true, t0, LIMIT);
        let frames: Vec<_> = (0..50u64).map(|i| (0.0, i * 100, 95)).collect();
        let kept = run(&mut p, t0, &frames);
        // No gap to judge by: held for the watchdog time (3 s), then every frame kept.
        assert_eq!(kept.first(), Some(&29));
        assert_eq!(kept.len(), 21);
    }

    #[test]
    fn a_stream_that_is_not_live_keeps_every_frame() {
        let t0 = Instant::now();
        let mut p = Pacer::new(false, t0, LIMIT);
        let frames: Vec<_> = (0..30u64).map(|i| (i as f64 * 100.0, i, 1)).collect();
        assert_eq!(run(&mut p, t0, &frames).len(), 30);
    }
}
