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
//! | 1 | `STATUS` | bit 0 belt running, bit 1 emergency stop, bit 2 fault |
//! | 2 | `BELT_SPEED` | belt speed in mm/s |
//! | 3 | `ENTRY_COUNT` | tracking number of the newest parcel at the entry photo-eye (wraps, 0 = none yet) |
//! | 4..=19 | `ENTRY_RING` | 8 slots of (tracking number, parcel length mm); slot = tracking number mod 8 |
//! | 20 | `DROP_COUNT` | number of parcels dropped into a lane so far (wraps) |
//! | 21..=36 | `DROP_RING` | 8 slots of (tracking number, lane); slot = (drop count − 1) mod 8 |
//! | 37 | `CMD_ACK_TRACKING` | tracking number of the last lane command the PLC accepted |
//! | 38 | `CMD_ACK_LANE` | lane of that command (read back to verify the write) |
//! | 39 | `CONTROLLER_HEARTBEAT_ECHO` | the last controller heartbeat the PLC saw |
//!
//! **Command block** (controller → PLC):
//!
//! | offset | name | meaning |
//! |---|---|---|
//! | 0 | `CONTROLLER_HEARTBEAT` | incremented by the controller on every poll |
//! | 1 | `CMD_TRACKING` | tracking number the lane command is for |
//! | 2 | `CMD_LANE` | lane number; written together with `CMD_TRACKING` in one FC16 request |
//!
//! Tracking numbers run 1..=65535 and wrap to 1 (0 means "none"). The rings let the
//! controller catch up when several parcels enter or drop between two polls; more than 8
//! between two polls is a lost event the driver reports. A parcel that reaches the diverter
//! with no accepted command falls into the PLC's default (exception) lane.

/// Offset of the PLC heartbeat in the status block.
pub const PLC_HEARTBEAT: u16 = 0;
/// Offset of the status flags word.
pub const STATUS: u16 = 1;
/// Offset of the belt speed (mm/s).
pub const BELT_SPEED: u16 = 2;
/// Offset of the newest entry tracking number.
pub const ENTRY_COUNT: u16 = 3;
/// Offset of the first entry ring slot.
pub const ENTRY_RING: u16 = 4;
/// Offset of the drop counter.
pub const DROP_COUNT: u16 = 20;
/// Offset of the first drop ring slot.
pub const DROP_RING: u16 = 21;
/// Offset of the tracking number of the last accepted command.
pub const CMD_ACK_TRACKING: u16 = 37;
/// Offset of the lane of the last accepted command.
pub const CMD_ACK_LANE: u16 = 38;
/// Offset of the echoed controller heartbeat.
pub const CONTROLLER_HEARTBEAT_ECHO: u16 = 39;
/// Number of words in the status block.
pub const STATUS_LEN: u16 = 40;
/// Number of slots in each ring.
pub const RING_SLOTS: u16 = 8;

/// Offset of the controller heartbeat in the command block.
pub const CONTROLLER_HEARTBEAT: u16 = 0;
/// Offset of the command's tracking number.
pub const CMD_TRACKING: u16 = 1;
/// Offset of the command's lane.
pub const CMD_LANE: u16 = 2;
/// Number of words in the command block.
pub const COMMAND_LEN: u16 = 3;

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
    /// The PLC reports a fault.
    pub fault: bool,
}

impl StatusFlags {
    /// Decode the status word.
    pub fn from_word(word: u16) -> Self {
        Self {
            running: word & 1 != 0,
            estop: word & 2 != 0,
            fault: word & 4 != 0,
        }
    }

    /// Encode into the status word.
    pub fn to_word(self) -> u16 {
        u16::from(self.running) | u16::from(self.estop) << 1 | u16::from(self.fault) << 2
    }
}

/// One parcel seen at the entry photo-eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryRecord {
    /// Tracking number the PLC gave the parcel.
    pub tracking_no: u16,
    /// Parcel length in mm measured by the photo-eye.
    pub length_mm: u16,
}

/// One parcel that fell into a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropRecord {
    /// Tracking number of the parcel.
    pub tracking_no: u16,
    /// Lane it fell into.
    pub lane: u16,
}

/// The decoded status block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineStatus {
    /// PLC heartbeat counter.
    pub plc_heartbeat: u16,
    /// Status flags.
    pub flags: StatusFlags,
    /// Belt speed in mm/s.
    pub belt_speed_mm_s: u16,
    /// Newest entry tracking number (0 = none yet).
    pub entry_count: u16,
    /// Entry ring, indexed by tracking number mod 8.
    pub entries: [EntryRecord; RING_SLOTS as usize],
    /// Drops so far (wrapping).
    pub drop_count: u16,
    /// Drop ring, indexed by (drop count − 1) mod 8.
    pub drops: [DropRecord; RING_SLOTS as usize],
    /// Last accepted command's tracking number.
    pub cmd_ack_tracking: u16,
    /// Last accepted command's lane.
    pub cmd_ack_lane: u16,
    /// Last controller heartbeat the PLC saw.
    pub controller_heartbeat_echo: u16,
}

impl Default for LineStatus {
    fn default() -> Self {
        Self {
            plc_heartbeat: 0,
            flags: StatusFlags::default(),
            belt_speed_mm_s: 0,
            entry_count: 0,
            entries: [EntryRecord {
                tracking_no: 0,
                length_mm: 0,
            }; RING_SLOTS as usize],
            drop_count: 0,
            drops: [DropRecord {
                tracking_no: 0,
                lane: 0,
            }; RING_SLOTS as usize],
            cmd_ack_tracking: 0,
            cmd_ack_lane: 0,
            controller_heartbeat_echo: 0,
        }
    }
}

/// The status block had the wrong number of words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("status block has {got} words, expected {STATUS_LEN}")]
pub struct WrongLength {
    /// Words received.
    pub got: usize,
}

impl LineStatus {
    /// Decode the status block as read from the PLC.
    pub fn decode(words: &[u16]) -> Result<Self, WrongLength> {
        if words.len() != STATUS_LEN as usize {
            return Err(WrongLength { got: words.len() });
        }
        let w = |off: u16| words[off as usize];
        let mut status = Self {
            plc_heartbeat: w(PLC_HEARTBEAT),
            flags: StatusFlags::from_word(w(STATUS)),
            belt_speed_mm_s: w(BELT_SPEED),
            entry_count: w(ENTRY_COUNT),
            drop_count: w(DROP_COUNT),
            cmd_ack_tracking: w(CMD_ACK_TRACKING),
            cmd_ack_lane: w(CMD_ACK_LANE),
            controller_heartbeat_echo: w(CONTROLLER_HEARTBEAT_ECHO),
            ..Self::default()
        };
        for i in 0..RING_SLOTS {
            status.entries[i as usize] = EntryRecord {
                tracking_no: w(ENTRY_RING + 2 * i),
                length_mm: w(ENTRY_RING + 2 * i + 1),
            };
            status.drops[i as usize] = DropRecord {
                tracking_no: w(DROP_RING + 2 * i),
                lane: w(DROP_RING + 2 * i + 1),
            };
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
        put(ENTRY_COUNT, self.entry_count);
        put(DROP_COUNT, self.drop_count);
        put(CMD_ACK_TRACKING, self.cmd_ack_tracking);
        put(CMD_ACK_LANE, self.cmd_ack_lane);
        put(CONTROLLER_HEARTBEAT_ECHO, self.controller_heartbeat_echo);
        for i in 0..RING_SLOTS {
            let e = self.entries[i as usize];
            put(ENTRY_RING + 2 * i, e.tracking_no);
            put(ENTRY_RING + 2 * i + 1, e.length_mm);
            let d = self.drops[i as usize];
            put(DROP_RING + 2 * i, d.tracking_no);
            put(DROP_RING + 2 * i + 1, d.lane);
        }
        words
    }

    /// Record a new parcel at the photo-eye (simulator side).
    pub fn push_entry(&mut self, length_mm: u16) -> u16 {
        let tracking_no = next_tracking_no(self.entry_count);
        self.entry_count = tracking_no;
        self.entries[(tracking_no % RING_SLOTS) as usize] = EntryRecord {
            tracking_no,
            length_mm,
        };
        tracking_no
    }

    /// Record a parcel falling into a lane (simulator side).
    pub fn push_drop(&mut self, tracking_no: u16, lane: u16) {
        self.drop_count = self.drop_count.wrapping_add(1);
        let slot = (self.drop_count.wrapping_sub(1) % RING_SLOTS) as usize;
        self.drops[slot] = DropRecord { tracking_no, lane };
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

    /// Drops newer than `seen` (the last drop count the caller processed), oldest first,
    /// and how many were lost to ring overflow.
    pub fn drops_since(&self, seen: u16) -> (Vec<DropRecord>, u16) {
        let total = self.drop_count.wrapping_sub(seen);
        let lost = total.saturating_sub(RING_SLOTS);
        let n = total.min(RING_SLOTS);
        let out = (0..n)
            .rev()
            .map(|back| {
                let seq = self.drop_count.wrapping_sub(back);
                self.drops[(seq.wrapping_sub(1) % RING_SLOTS) as usize]
            })
            .collect();
        (out, lost)
    }
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
                estop: false,
                fault: true,
            },
            belt_speed_mm_s: 500,
            ..LineStatus::default()
        };
        s.push_entry(300);
        s.push_drop(1, 3);
        let words = s.encode();
        assert_eq!(words.len(), STATUS_LEN as usize);
        assert_eq!(LineStatus::decode(&words).unwrap(), s);
    }

    #[test]
    fn short_block_is_rejected_with_its_length() {
        assert_eq!(LineStatus::decode(&[0; 5]), Err(WrongLength { got: 5 }));
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
