//! The status block decoded: what one poll of the PLC says (entries, weighings, drops,
//! acknowledgements, heartbeats), checked against the register map of [`super::map`], and
//! the ring arithmetic that catches up on events between two polls.

use super::map::{
    BELT_SPEED, CMD_ACK_LANE, CMD_ACK_TRACKING, CONTROLLER_HEARTBEAT_ECHO, COUNTED_LANES,
    DROP_COUNT, DROP_RING, ENTRY_COUNT, ENTRY_RING, FAULT_CODE, FaultCode, LANE_DROPS,
    MAX_BELT_SPEED, MAX_LANE, PLC_CLOCK_MS, PLC_HEARTBEAT, RING_SLOTS, STATUS, STATUS_LEN,
    StatusFlags, WEIGHT_COUNT, WEIGHT_RING,
};

/// One parcel seen at the entry photo-eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EntryRecord {
    /// Tracking number the PLC gave the parcel.
    pub tracking_no: u16,
    /// Parcel length in mm measured by the photo-eye.
    pub length_mm: u16,
    /// `PLC_CLOCK_MS` when it passed the photo-eye.
    pub entered_ms: u16,
}

/// One weighing by the dynamic scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WeightRecord {
    /// Tracking number of the parcel weighed.
    pub tracking_no: u16,
    /// Weight in grams.
    pub weight_g: u16,
    /// Whether the scale settled (an unstable weight is not a measurement to decide on).
    pub stable: bool,
}

/// One parcel that fell into a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DropRecord {
    /// Tracking number of the parcel.
    pub tracking_no: u16,
    /// Lane it fell into.
    pub lane: u16,
}

const SLOTS: usize = RING_SLOTS as usize;

/// The decoded status block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineStatus {
    /// PLC heartbeat counter.
    pub plc_heartbeat: u16,
    /// Status flags.
    pub flags: StatusFlags,
    /// Belt speed in mm/s.
    pub belt_speed_mm_s: u16,
    /// Active fault, if any.
    pub fault: Option<FaultCode>,
    /// The PLC's millisecond clock (wrapping).
    pub clock_ms: u16,
    /// Newest entry tracking number (0 = none yet).
    pub entry_count: u16,
    /// Entry ring, indexed by tracking number mod 8.
    pub entries: [EntryRecord; SLOTS],
    /// Weighings so far (wrapping).
    pub weight_count: u16,
    /// Weight ring, indexed by (weight count − 1) mod 8.
    pub weights: [WeightRecord; SLOTS],
    /// Drops so far (wrapping).
    pub drop_count: u16,
    /// Drop ring, indexed by (drop count − 1) mod 8.
    pub drops: [DropRecord; SLOTS],
    /// Last accepted command's tracking number.
    pub cmd_ack_tracking: u16,
    /// Last accepted command's lane.
    pub cmd_ack_lane: u16,
    /// Last controller heartbeat the PLC saw.
    pub controller_heartbeat_echo: u16,
    /// Drops per lane 1..=8 (wrapping).
    pub lane_drops: [u16; COUNTED_LANES as usize],
}

/// Why a status block could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The block had the wrong number of words.
    #[error("status block has {got} words, expected {STATUS_LEN}")]
    WrongLength {
        /// Words received.
        got: usize,
    },
    /// A register holds a value the map does not allow (a garbled or mis-mapped PLC).
    #[error("register {name} (status offset {offset}) holds {value}: {why}")]
    OutOfRange {
        /// Register name from the map.
        name: &'static str,
        /// Offset in the status block.
        offset: u16,
        /// The raw value.
        value: u16,
        /// What the map allows.
        why: &'static str,
    },
}

fn out_of_range(name: &'static str, offset: u16, value: u16, why: &'static str) -> DecodeError {
    DecodeError::OutOfRange {
        name,
        offset,
        value,
        why,
    }
}

impl LineStatus {
    /// Decode and check the status block as read from the PLC.
    pub fn decode(words: &[u16]) -> Result<Self, DecodeError> {
        if words.len() != STATUS_LEN as usize {
            return Err(DecodeError::WrongLength { got: words.len() });
        }
        let w = |off: u16| words[off as usize];
        let flags = StatusFlags::from_word(w(STATUS))
            .map_err(|v| out_of_range("STATUS", STATUS, v, "only bits 0 to 5 are defined"))?;
        let belt_speed_mm_s = w(BELT_SPEED);
        if belt_speed_mm_s > MAX_BELT_SPEED {
            return Err(out_of_range(
                "BELT_SPEED",
                BELT_SPEED,
                belt_speed_mm_s,
                "at most 10000 mm/s",
            ));
        }
        let fault = FaultCode::from_word(w(FAULT_CODE))
            .map_err(|v| out_of_range("FAULT_CODE", FAULT_CODE, v, "0 or a code from 1 to 6"))?;
        let mut status = Self {
            plc_heartbeat: w(PLC_HEARTBEAT),
            flags,
            belt_speed_mm_s,
            fault,
            clock_ms: w(PLC_CLOCK_MS),
            entry_count: w(ENTRY_COUNT),
            weight_count: w(WEIGHT_COUNT),
            drop_count: w(DROP_COUNT),
            cmd_ack_tracking: w(CMD_ACK_TRACKING),
            cmd_ack_lane: w(CMD_ACK_LANE),
            controller_heartbeat_echo: w(CONTROLLER_HEARTBEAT_ECHO),
            ..Self::default()
        };
        for i in 0..RING_SLOTS {
            let slot = i as usize;
            status.entries[slot] = EntryRecord {
                tracking_no: w(ENTRY_RING + 3 * i),
                length_mm: w(ENTRY_RING + 3 * i + 1),
                entered_ms: w(ENTRY_RING + 3 * i + 2),
            };
            let flags_off = WEIGHT_RING + 3 * i + 2;
            let weight_flags = w(flags_off);
            if weight_flags > 1 {
                return Err(out_of_range(
                    "WEIGHT_RING flags",
                    flags_off,
                    weight_flags,
                    "only bit 0 (stable) is defined",
                ));
            }
            status.weights[slot] = WeightRecord {
                tracking_no: w(WEIGHT_RING + 3 * i),
                weight_g: w(WEIGHT_RING + 3 * i + 1),
                stable: weight_flags == 1,
            };
            let lane_off = DROP_RING + 2 * i + 1;
            let lane = w(lane_off);
            if lane > MAX_LANE {
                return Err(out_of_range(
                    "DROP_RING lane",
                    lane_off,
                    lane,
                    "a lane number from 1 to 64",
                ));
            }
            status.drops[slot] = DropRecord {
                tracking_no: w(DROP_RING + 2 * i),
                lane,
            };
        }
        for lane in 0..COUNTED_LANES {
            status.lane_drops[lane as usize] = w(LANE_DROPS + lane);
        }
        Ok(status)
    }

    /// Encode into the status block (what the PLC simulator serves).
    pub fn encode(&self) -> Vec<u16> {
        let mut words = vec![0u16; STATUS_LEN as usize];
        let mut put = |off: u16, v: u16| words[off as usize] = v;
        put(PLC_HEARTBEAT, self.plc_heartbeat);
        put(STATUS, self.flags.to_word());
        put(BELT_SPEED, self.belt_speed_mm_s);
        put(FAULT_CODE, self.fault.map_or(0, |f| f as u16));
        put(PLC_CLOCK_MS, self.clock_ms);
        put(ENTRY_COUNT, self.entry_count);
        put(WEIGHT_COUNT, self.weight_count);
        put(DROP_COUNT, self.drop_count);
        put(CMD_ACK_TRACKING, self.cmd_ack_tracking);
        put(CMD_ACK_LANE, self.cmd_ack_lane);
        put(CONTROLLER_HEARTBEAT_ECHO, self.controller_heartbeat_echo);
        for i in 0..RING_SLOTS {
            let slot = i as usize;
            let e = self.entries[slot];
            put(ENTRY_RING + 3 * i, e.tracking_no);
            put(ENTRY_RING + 3 * i + 1, e.length_mm);
            put(ENTRY_RING + 3 * i + 2, e.entered_ms);
            let wr = self.weights[slot];
            put(WEIGHT_RING + 3 * i, wr.tracking_no);
            put(WEIGHT_RING + 3 * i + 1, wr.weight_g);
            put(WEIGHT_RING + 3 * i + 2, u16::from(wr.stable));
            let d = self.drops[slot];
            put(DROP_RING + 2 * i, d.tracking_no);
            put(DROP_RING + 2 * i + 1, d.lane);
        }
        for lane in 0..COUNTED_LANES {
            put(LANE_DROPS + lane, self.lane_drops[lane as usize]);
        }
        words
    }

    /// Record a new parcel at the photo-eye at the current `clock_ms` (simulator side);
    /// returns its tracking number.
    pub fn push_entry(&mut self, length_mm: u16) -> u16 {
        let tracking_no = next_tracking_no(self.entry_count);
        self.entry_count = tracking_no;
        self.entries[(tracking_no % RING_SLOTS) as usize] = EntryRecord {
            tracking_no,
            length_mm,
            entered_ms: self.clock_ms,
        };
        tracking_no
    }

    /// Record a weighing (simulator side).
    pub fn push_weight(&mut self, tracking_no: u16, weight_g: u16, stable: bool) {
        self.weight_count = self.weight_count.wrapping_add(1);
        let slot = (self.weight_count.wrapping_sub(1) % RING_SLOTS) as usize;
        self.weights[slot] = WeightRecord {
            tracking_no,
            weight_g,
            stable,
        };
    }

    /// Record a parcel falling into a lane (simulator side).
    pub fn push_drop(&mut self, tracking_no: u16, lane: u16) {
        self.drop_count = self.drop_count.wrapping_add(1);
        let slot = (self.drop_count.wrapping_sub(1) % RING_SLOTS) as usize;
        self.drops[slot] = DropRecord { tracking_no, lane };
        if (1..=COUNTED_LANES).contains(&lane) {
            let counter = &mut self.lane_drops[(lane - 1) as usize];
            *counter = counter.wrapping_add(1);
        }
    }

    /// Entries newer than `seen` (the last entry count the caller processed), oldest first.
    ///
    /// Returns the entries and how many were lost because more than [`RING_SLOTS`] arrived
    /// since `seen`.
    pub fn entries_since(&self, seen: u16) -> (Vec<EntryRecord>, u16) {
        let mut n = tracking_distance(seen, self.entry_count);
        let lost = n.saturating_sub(RING_SLOTS);
        n = n.min(RING_SLOTS);
        let mut out = Vec::with_capacity(n as usize);
        let mut t = self.entry_count;
        for _ in 0..n {
            out.push(self.entries[(t % RING_SLOTS) as usize]);
            t = prev_tracking_no(t);
        }
        out.reverse();
        (out, lost)
    }

    /// Weighings newer than `seen` (the last weight count processed), oldest first, and how
    /// many were lost to ring overflow.
    pub fn weights_since(&self, seen: u16) -> (Vec<WeightRecord>, u16) {
        ring_since(&self.weights, self.weight_count, seen)
    }

    /// Drops newer than `seen` (the last drop count the caller processed), oldest first,
    /// and how many were lost to ring overflow.
    pub fn drops_since(&self, seen: u16) -> (Vec<DropRecord>, u16) {
        ring_since(&self.drops, self.drop_count, seen)
    }
}

/// The records of a counter-indexed ring newer than `seen`, oldest first, and how many
/// were overwritten before they could be read.
fn ring_since<T: Copy>(ring: &[T; SLOTS], count: u16, seen: u16) -> (Vec<T>, u16) {
    let total = count.wrapping_sub(seen);
    let lost = total.saturating_sub(RING_SLOTS);
    let n = total.min(RING_SLOTS);
    let out = (0..n)
        .rev()
        .map(|back| {
            let seq = count.wrapping_sub(back);
            ring[(seq.wrapping_sub(1) % RING_SLOTS) as usize]
        })
        .collect();
    (out, lost)
}

/// Milliseconds from `then` to `now` on the PLC's wrapping clock.
pub fn clock_ms_since(then: u16, now: u16) -> u16 {
    now.wrapping_sub(then)
}

/// The tracking number after `t` (1..=65535, wrapping to 1; 0 is never used).
pub fn next_tracking_no(t: u16) -> u16 {
    if t == u16::MAX { 1 } else { t + 1 }
}

fn prev_tracking_no(t: u16) -> u16 {
    if t <= 1 { u16::MAX } else { t - 1 }
}

/// How many tracking numbers were issued after `from` up to and including `to`.
fn tracking_distance(from: u16, to: u16) -> u16 {
    if to == 0 || from == to {
        0
    } else if from == 0 {
        to
    } else if to > from {
        to - from
    } else {
        (u16::MAX - from) + to
    }
}
