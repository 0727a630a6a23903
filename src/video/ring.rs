//! One camera's frame ring: the last seconds of frames as JPEG, bounded by age and by
//! bytes, so the evidence for an event is the frame nearest the event's own time.
//!
//! Pure state, no locks and no I/O: the capture thread pushes into it (behind a mutex held
//! for a push or a lookup only) and the evidence worker asks it for [`Ring::nearest`].
//! Frames are stamped with the wall clock (UTC) when they were received, the same clock
//! the records' times come from; they are kept in time order. A frame stamped more than
//! [`CLOCK_STEP`] before the newest means the clock was stepped back: what is held can no
//! longer be compared with event times, so the ring starts again.

use std::collections::VecDeque;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// A frame stamped this much before the newest one means the clock went back.
pub const CLOCK_STEP: TimeDelta = TimeDelta::seconds(1);

/// Where a frame came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameSource {
    /// The video stream.
    Stream,
    /// A snapshot polled while the stream was down.
    Snapshot,
}

impl FrameSource {
    /// Name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stream => "stream",
            Self::Snapshot => "snapshot",
        }
    }
}

/// One frame: a JPEG, when it was received, and its number in this ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Number of the frame in this camera's ring, from 1, in the order received.
    pub seq: u64,
    /// When it was received (UTC).
    pub at: DateTime<Utc>,
    /// The JPEG as the camera sent it (or as encoded from the decoded picture).
    pub jpeg: Bytes,
    /// Stream or snapshot.
    pub source: FrameSource,
}

/// How much a ring keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingLimits {
    /// Frames older than the newest by more than this go.
    pub max_age: TimeDelta,
    /// The oldest frames go while all of them take more than this (the newest one is
    /// always kept).
    pub max_bytes: usize,
}

/// What a ring holds, for the stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RingFill {
    /// Frames held.
    pub frames: usize,
    /// Their bytes.
    pub bytes: usize,
    /// Time between the oldest and the newest, in ms.
    pub span_ms: i64,
    /// Times the clock was seen to step back and the ring started again.
    pub clock_steps: u64,
}

/// The frame ring of one camera.
#[derive(Debug)]
pub struct Ring {
    frames: VecDeque<Frame>,
    bytes: usize,
    limits: RingLimits,
    next_seq: u64,
    clock_steps: u64,
}

impl Ring {
    /// An empty ring.
    pub fn new(limits: RingLimits) -> Self {
        Self {
            frames: VecDeque::new(),
            bytes: 0,
            limits,
            next_seq: 1,
            clock_steps: 0,
        }
    }

    /// Add a frame received at `at`; returns its sequence number. Frames that no longer
    /// fit the limits go, oldest first.
    pub fn push(&mut self, at: DateTime<Utc>, jpeg: Bytes, source: FrameSource) -> u64 {
        if self.frames.back().is_some_and(|f| at < f.at - CLOCK_STEP) {
            self.clock_steps += 1;
            self.frames.clear();
            self.bytes = 0;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += jpeg.len();
        let frame = Frame {
            seq,
            at,
            jpeg,
            source,
        };
        // Nearly always at the back; a snapshot and a stream frame may cross by a little.
        let pos = self.frames.partition_point(|f| f.at <= at);
        self.frames.insert(pos, frame);
        self.evict();
        seq
    }

    fn evict(&mut self) {
        let Some(newest) = self.frames.back().map(|f| f.at) else {
            return;
        };
        while self.frames.len() > 1 {
            let front = &self.frames[0];
            if front.at >= newest - self.limits.max_age && self.bytes <= self.limits.max_bytes {
                break;
            }
            self.bytes -= front.jpeg.len();
            self.frames.pop_front();
        }
    }

    /// The frame received nearest to `at` (the earlier one of two equally near).
    pub fn nearest(&self, at: DateTime<Utc>) -> Option<Frame> {
        let after = self.frames.partition_point(|f| f.at < at);
        let before = after.checked_sub(1).and_then(|i| self.frames.get(i));
        let after = self.frames.get(after);
        match (before, after) {
            (Some(b), Some(a)) => Some(if at - b.at <= a.at - at { b } else { a }),
            (Some(f), None) | (None, Some(f)) => Some(f),
            (None, None) => None,
        }
        .cloned()
    }

    /// The newest frame held, if any.
    pub fn newest(&self) -> Option<&Frame> {
        self.frames.back()
    }

    /// What it holds.
    pub fn fill(&self) -> RingFill {
        let span_ms = match (self.frames.front(), self.frames.back()) {
            (Some(a), Some(b)) => (b.at - a.at).num_milliseconds(),
            _ => 0,
        };
        RingFill {
            frames: self.frames.len(),
            bytes: self.bytes,
            span_ms,
            clock_steps: self.clock_steps,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    fn ring(max_age_ms: i64, max_bytes: usize) -> Ring {
        Ring::new(RingLimits {
            max_age: TimeDelta::milliseconds(max_age_ms),
            max_bytes,
        })
    }

    fn push(r: &mut Ring, ms: i64, len: usize) -> u64 {
        r.push(t(ms), Bytes::from(vec![0u8; len]), FrameSource::Stream)
    }

    #[test]
    fn frames_older_than_the_window_go() {
        let mut r = ring(1000, usize::MAX);
        for i in 0..30 {
            push(&mut r, i * 100, 10);
        }
        let fill = r.fill();
        assert_eq!(fill.frames, 11, "newest at 2900 keeps 1900..=2900");
        assert_eq!(fill.span_ms, 1000);
        assert_eq!(fill.bytes, 110);
    }

    #[test]
    fn bytes_are_bounded_but_the_newest_frame_stays() {
        let mut r = ring(60_000, 1000);
        for i in 0..10 {
            push(&mut r, i * 100, 300);
        }
        assert_eq!(r.fill().frames, 3);
        assert_eq!(r.fill().bytes, 900);
        push(&mut r, 2000, 5000);
        assert_eq!(
            r.fill().frames,
            1,
            "a frame larger than the limit is kept alone"
        );
        assert_eq!(r.newest().unwrap().at, t(2000));
    }

    #[test]
    fn nearest_is_the_closest_in_time_either_side() {
        let mut r = ring(10_000, usize::MAX);
        assert!(r.nearest(t(0)).is_none());
        for i in 0..10 {
            push(&mut r, i * 100, 1);
        }
        assert_eq!(r.nearest(t(340)).unwrap().at, t(300));
        assert_eq!(r.nearest(t(360)).unwrap().at, t(400));
        assert_eq!(
            r.nearest(t(350)).unwrap().at,
            t(300),
            "a tie takes the earlier"
        );
        assert_eq!(r.nearest(t(-5000)).unwrap().at, t(0));
        assert_eq!(r.nearest(t(99_999)).unwrap().at, t(900));
        assert_eq!(r.nearest(t(500)).unwrap().seq, 6);
    }

    #[test]
    fn a_frame_slightly_out_of_order_is_put_in_its_place() {
        let mut r = ring(10_000, usize::MAX);
        push(&mut r, 0, 1);
        push(&mut r, 200, 1);
        let seq = r.push(t(150), Bytes::from_static(b"s"), FrameSource::Snapshot);
        let found = r.nearest(t(140)).unwrap();
        assert_eq!((found.seq, found.source), (seq, FrameSource::Snapshot));
        assert_eq!(r.newest().unwrap().at, t(200));
    }

    #[test]
    fn a_clock_stepped_back_starts_the_ring_again() {
        let mut r = ring(10_000, usize::MAX);
        for i in 0..5 {
            push(&mut r, 10_000 + i * 100, 1);
        }
        push(&mut r, 0, 1);
        let fill = r.fill();
        assert_eq!((fill.frames, fill.clock_steps), (1, 1));
        assert_eq!(r.nearest(t(10_200)).unwrap().at, t(0));
    }
}
