//! Register map of the sorting-line PLC: one typed definition shared by driver and simulator.
//!
//! All data are Modbus **holding registers** (function codes 03, 06 and 16) on one unit id.
//! The map has two blocks whose base addresses come from config, so a real PLC can be
//! mapped without code changes:
//!
//! **Status block** (PLC → controller, read in one FC03 request of [`STATUS_LEN`] words):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `PLC_HEARTBEAT` | incremented by the PLC every scan cycle; a frozen value means a dead PLC |
//! | 1 | `STATUS` | bit 0 belt running, 1 emergency stop, 2 fault, 3 X-ray running, 4 X-ray fault, 5 scale fault; other bits 0 |
//! | 2 | `BELT_SPEED` | belt speed in mm/s (0..=10000) |
//! | 3 | `FAULT_CODE` | 0 none, else one of [`FaultCode`] |
//! | 4 | `PLC_CLOCK_MS` | the PLC's free-running millisecond clock (wraps every 65.536 s) |
//! | 5 | `ENTRY_COUNT` | tracking number of the newest parcel at the entry photo-eye (wraps, 0 = none yet) |
//! | 6..=29 | `ENTRY_RING` | 8 slots of (tracking number, parcel length mm, `PLC_CLOCK_MS` at entry); slot = tracking number mod 8 |
//! | 30 | `WEIGHT_COUNT` | number of weighings by the dynamic scale so far (wraps) |
//! | 31..=54 | `WEIGHT_RING` | 8 slots of (tracking number, weight in g, flags: bit 0 stable); slot = (count − 1) mod 8 |
//! | 55 | `DROP_COUNT` | number of parcels dropped into a lane so far (wraps) |
//! | 56..=71 | `DROP_RING` | 8 slots of (tracking number, lane); slot = (drop count − 1) mod 8 |
//! | 72 | `CMD_ACK_TRACKING` | tracking number of the last lane command the PLC accepted |
//! | 73 | `CMD_ACK_LANE` | lane of that command (read back to verify the write) |
//! | 74 | `CONTROLLER_HEARTBEAT_ECHO` | the last controller heartbeat the PLC saw |
//! | 75..=82 | `LANE_DROPS` | drops per lane 1..=8 since the PLC started (wrap), to cross-check the drop ring |
//!
//! **Command block** (controller → PLC; readable, so every write can be read back):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `CONTROLLER_HEARTBEAT` | incremented by the controller on every poll; the PLC raises fault 6 when it stops |
//! | 1 | `CMD_TRACKING` | tracking number the lane command is for |
//! | 2 | `CMD_LANE` | lane number; written together with `CMD_TRACKING` in one FC16 request |
//! | 3 | `BELT_RUN` | 1 run the belt, 0 stop it (an operator command; e-stop overrides) |
//!
//! Tracking numbers run 1..=65535 and wrap to 1 (0 means "none"). The rings let the
//! controller catch up when several parcels enter, weigh or drop between two polls; more
//! than 8 between two polls is a lost event the driver reports. The entry's clock stamp
//! tells the controller how long ago a parcel passed the photo-eye, so its position does not
//! depend on when the poll that saw it came. A parcel that reaches the
//! diverter with no accepted command falls into the PLC's default (exception) lane.

/// Offset of the PLC heartbeat in the status block.
pub const PLC_HEARTBEAT: u16 = 0;
/// Offset of the status flags word.
pub const STATUS: u16 = 1;
/// Offset of the belt speed (mm/s).
pub const BELT_SPEED: u16 = 2;
/// Offset of the fault code.
pub const FAULT_CODE: u16 = 3;
/// Offset of the PLC's millisecond clock.
pub const PLC_CLOCK_MS: u16 = 4;
/// Offset of the newest entry tracking number.
pub const ENTRY_COUNT: u16 = 5;
/// Offset of the first entry ring slot.
pub const ENTRY_RING: u16 = 6;
/// Offset of the weighing counter.
pub const WEIGHT_COUNT: u16 = 30;
/// Offset of the first weight ring slot.
pub const WEIGHT_RING: u16 = 31;
/// Offset of the drop counter.
pub const DROP_COUNT: u16 = 55;
/// Offset of the first drop ring slot.
pub const DROP_RING: u16 = 56;
/// Offset of the tracking number of the last accepted command.
pub const CMD_ACK_TRACKING: u16 = 72;
/// Offset of the lane of the last accepted command.
pub const CMD_ACK_LANE: u16 = 73;
/// Offset of the echoed controller heartbeat.
pub const CONTROLLER_HEARTBEAT_ECHO: u16 = 74;
/// Offset of the drop counter of lane 1 (lanes 1..=8 follow).
pub const LANE_DROPS: u16 = 75;
/// Number of words in the status block.
pub const STATUS_LEN: u16 = 83;
/// Number of slots in each ring.
pub const RING_SLOTS: u16 = 8;
/// Lanes with a drop counter.
pub const COUNTED_LANES: u16 = 8;

/// Offset of the controller heartbeat in the command block.
pub const CONTROLLER_HEARTBEAT: u16 = 0;
/// Offset of the command's tracking number.
pub const CMD_TRACKING: u16 = 1;
/// Offset of the command's lane.
pub const CMD_LANE: u16 = 2;
/// Offset of the belt run request.
pub const BELT_RUN: u16 = 3;
/// Number of words in the command block.
pub const COMMAND_LEN: u16 = 4;

/// Highest belt speed a real line can report, mm/s; more is a garbled register.
pub const MAX_BELT_SPEED: u16 = 10_000;
/// Highest lane number any diverter has; more is a garbled register.
pub const MAX_LANE: u16 = 64;

/// Why the PLC stopped or degraded, as written to `FAULT_CODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultCode {
    /// An emergency stop is pressed.
    EmergencyStop = 1,
    /// The belt motor or drive failed.
    BeltDrive = 2,
    /// The diverter is jammed.
    DiverterJam = 3,
    /// The dynamic scale failed.
    Scale = 4,
    /// The X-ray machine failed.
    Xray = 5,
    /// The controller heartbeat stopped changing.
    ControllerHeartbeatLost = 6,
}

impl FaultCode {
    /// Decode a fault code register; `Ok(None)` is 0 (no fault).
    pub fn from_word(word: u16) -> Result<Option<Self>, u16> {
        Ok(Some(match word {
            0 => return Ok(None),
            1 => Self::EmergencyStop,
            2 => Self::BeltDrive,
            3 => Self::DiverterJam,
            4 => Self::Scale,
            5 => Self::Xray,
            6 => Self::ControllerHeartbeatLost,
            other => return Err(other),
        }))
    }
}

/// Where the two blocks live on a given PLC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterMap {
    /// Modbus unit id (slave id) of the PLC.
    pub unit_id: u8,
    /// First holding register of the status block.
    pub status_base: u16,
    /// First holding register of the command block.
    pub command_base: u16,
}

impl Default for RegisterMap {
    fn default() -> Self {
        Self {
            unit_id: 1,
            status_base: 0,
            command_base: 100,
        }
    }
}

impl RegisterMap {
    /// Whether the two blocks overlap or run past the 16-bit address space.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let status_end = u32::from(self.status_base) + u32::from(STATUS_LEN);
        let command_end = u32::from(self.command_base) + u32::from(COMMAND_LEN);
        if status_end > 0x1_0000 {
            out.push(format!(
                "status block runs past register 65535 (needs {STATUS_LEN} words)"
            ));
        }
        if command_end > 0x1_0000 {
            out.push(format!(
                "command block runs past register 65535 (needs {COMMAND_LEN} words)"
            ));
        }
        let (s0, c0) = (u32::from(self.status_base), u32::from(self.command_base));
        if s0 < command_end && c0 < status_end {
            out.push(format!(
                "status block {s0}..{status_end} overlaps command block {c0}..{command_end}"
            ));
        }
        out
    }

    /// Absolute address of the command's tracking number (the start of the FC16 write).
    pub fn command_address(&self) -> u16 {
        self.command_base + CMD_TRACKING
    }

    /// Absolute address of the controller heartbeat.
    pub fn heartbeat_address(&self) -> u16 {
        self.command_base + CONTROLLER_HEARTBEAT
    }
}

/// Flags of the status word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct StatusFlags {
    /// The belt is running.
    pub running: bool,
    /// An emergency stop is pressed.
    pub estop: bool,
    /// The PLC reports a fault (see the fault code).
    pub fault: bool,
    /// The X-ray machine is running.
    pub xray_running: bool,
    /// The X-ray machine reports a fault.
    pub xray_fault: bool,
    /// The dynamic scale reports a fault.
    pub scale_fault: bool,
}

/// Bits of the status word that mean something; any other bit set is a garbled word.
const STATUS_BITS: u16 = 0b11_1111;

impl StatusFlags {
    /// Decode the status word; `Err` when a bit outside the map is set.
    pub fn from_word(word: u16) -> Result<Self, u16> {
        if word & !STATUS_BITS != 0 {
            return Err(word);
        }
        let bit = |n: u16| word & (1 << n) != 0;
        Ok(Self {
            running: bit(0),
            estop: bit(1),
            fault: bit(2),
            xray_running: bit(3),
            xray_fault: bit(4),
            scale_fault: bit(5),
        })
    }

    /// Encode into the status word.
    pub fn to_word(self) -> u16 {
        [
            self.running,
            self.estop,
            self.fault,
            self.xray_running,
            self.xray_fault,
            self.scale_fault,
        ]
        .iter()
        .enumerate()
        .fold(0, |word, (n, &on)| word | (u16::from(on) << n))
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_block_round_trips_through_registers() {
        let mut s = LineStatus {
            plc_heartbeat: 7,
            flags: StatusFlags {
                running: true,
                fault: true,
                xray_running: true,
                ..StatusFlags::default()
            },
            belt_speed_mm_s: 500,
            ..LineStatus::default()
        };
        s.clock_ms = 65_000;
        s.push_entry(300);
        assert_eq!(s.entries[1].entered_ms, 65_000);
        assert_eq!(clock_ms_since(65_000, 464), 1000, "the clock wraps");
        s.push_drop(1, 3);
        let words = s.encode();
        assert_eq!(words.len(), STATUS_LEN as usize);
        assert_eq!(LineStatus::decode(&words).unwrap(), s);
    }

    #[test]
    fn short_block_is_rejected_with_its_length() {
        assert_eq!(
            LineStatus::decode(&[0; 5]),
            Err(DecodeError::WrongLength { got: 5 })
        );
    }

    #[test]
    fn garbled_registers_are_named_with_their_value() {
        let good = LineStatus::default().encode();
        for (offset, value, name) in [
            (BELT_SPEED, 40_000, "BELT_SPEED"),
            (STATUS, 0x8001, "STATUS"),
            (FAULT_CODE, 99, "FAULT_CODE"),
            (DROP_RING + 1, 300, "DROP_RING lane"),
            (WEIGHT_RING + 2, 7, "WEIGHT_RING flags"),
        ] {
            let mut words = good.clone();
            words[offset as usize] = value;
            match LineStatus::decode(&words) {
                Err(DecodeError::OutOfRange {
                    name: n,
                    offset: o,
                    value: v,
                    ..
                }) => {
                    assert_eq!((n, o, v), (name, offset, value));
                }
                other => panic!("{name}: expected out of range, got {other:?}"),
            }
        }
    }

    #[test]
    fn weighings_and_lane_counters_round_trip() {
        let mut s = LineStatus::default();
        s.push_weight(1, 1250, true);
        s.push_weight(2, 800, false);
        s.push_drop(1, 2);
        s.fault = Some(FaultCode::Scale);
        s.flags.scale_fault = true;
        let back = LineStatus::decode(&s.encode()).unwrap();
        assert_eq!(back, s);
        let (weights, lost) = back.weights_since(1);
        assert_eq!(
            (weights, lost),
            (
                vec![WeightRecord {
                    tracking_no: 2,
                    weight_g: 800,
                    stable: false
                }],
                0
            )
        );
        assert_eq!(back.lane_drops[1], 1);
    }

    #[test]
    fn entries_since_returns_new_parcels_oldest_first() {
        let mut s = LineStatus::default();
        for len in [100, 200, 300] {
            s.push_entry(len);
        }
        let (new, lost) = s.entries_since(1);
        assert_eq!(lost, 0);
        assert_eq!(
            new.iter()
                .map(|e| (e.tracking_no, e.length_mm))
                .collect::<Vec<_>>(),
            vec![(2, 200), (3, 300)]
        );
        assert!(s.entries_since(3).0.is_empty());
    }

    #[test]
    fn entries_survive_tracking_number_wrap() {
        let mut s = LineStatus {
            entry_count: u16::MAX - 1,
            ..LineStatus::default()
        };
        s.push_entry(1);
        s.push_entry(2);
        assert_eq!(s.entry_count, 1);
        let (new, lost) = s.entries_since(u16::MAX - 1);
        assert_eq!(lost, 0);
        assert_eq!(
            new.iter().map(|e| e.tracking_no).collect::<Vec<_>>(),
            vec![u16::MAX, 1]
        );
        // 0 is skipped: exactly two numbers were issued after 65534
    }

    #[test]
    fn ring_overflow_is_counted_as_lost() {
        let mut s = LineStatus::default();
        for i in 0..10 {
            s.push_drop(i + 1, 1);
        }
        let (drops, lost) = s.drops_since(0);
        assert_eq!(lost, 2);
        assert_eq!(drops.first().unwrap().tracking_no, 3);
        assert_eq!(drops.last().unwrap().tracking_no, 10);
    }

    #[test]
    fn overlapping_blocks_are_a_problem() {
        let map = RegisterMap {
            unit_id: 1,
            status_base: 0,
            command_base: 20,
        };
        assert_eq!(map.problems().len(), 1);
        assert!(RegisterMap::default().problems().is_empty());
    }
}
