//! A conveyor driven by explicit time, for the unit tests.

use super::*;

pub(super) const TICK: Duration = Duration::from_millis(10);

/// A conveyor driven by explicit time, collecting every event.
pub(super) struct Line {
    pub(super) c: Conveyor,
    pub(super) now: Duration,
    pub(super) events: Vec<(Duration, LineEvent)>,
    next_id: u64,
}

impl Line {
    pub(super) fn new() -> Self {
        Self::with(LineConfig::default())
    }

    pub(super) fn with(config: LineConfig) -> Self {
        assert!(config.problems().is_empty(), "{:?}", config.problems());
        Self {
            c: Conveyor::new("L1", config, Utc::now(), true),
            now: Duration::ZERO,
            events: Vec::new(),
            next_id: 1,
        }
    }

    pub(super) fn put(&mut self, parcel: NewParcel) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.c.inject(self.now, id, parcel).unwrap();
        id
    }

    pub(super) fn inject(&mut self, code: Option<&str>, length_mm: u16) -> u64 {
        self.put(NewParcel {
            length_mm,
            ..NewParcel::with_code(code)
        })
    }

    pub(super) fn step(&mut self) {
        self.now += TICK;
        let now = self.now;
        self.events
            .extend(self.c.tick(now).into_iter().map(|e| (now, e)));
    }

    /// Tick for `d` of sim time.
    pub(super) fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.now < until {
            self.step();
        }
    }

    /// Tick until `done` holds for some event, at most 60 s of sim time.
    pub(super) fn until(&mut self, done: impl Fn(&LineEvent) -> bool) -> (Duration, LineEvent) {
        let limit = self.now + Duration::from_secs(60);
        loop {
            if let Some(found) = self.events.iter().find(|(_, e)| done(e)) {
                return found.clone();
            }
            assert!(self.now < limit, "event never happened: {:?}", self.events);
            self.step();
        }
    }

    pub(super) fn entered(&mut self, id: u64) -> (Duration, u16) {
        let (at, event) =
            self.until(|e| matches!(e, LineEvent::Entered { parcel_id, .. } if *parcel_id == id));
        let LineEvent::Entered { tracking_no, .. } = event else {
            unreachable!()
        };
        (at, tracking_no)
    }

    pub(super) fn dropped(&mut self, id: u64) -> (Duration, u16, bool) {
        let (at, event) =
            self.until(|e| matches!(e, LineEvent::Dropped { parcel_id, .. } if *parcel_id == id));
        let LineEvent::Dropped {
            lane, defaulted, ..
        } = event
        else {
            unreachable!()
        };
        (at, lane, defaulted)
    }

    pub(super) fn command(
        &mut self,
        tracking_no: u16,
        lane: u16,
    ) -> Result<CommandOutcome, LaneOutOfRange> {
        self.c.lane_command(self.now, tracking_no, lane)
    }
}
