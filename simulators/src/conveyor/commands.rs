//! Lane commands from the controller: accepted, late, unknown or refused.

use std::time::Duration;

use customs_edge_devices::line_plc::map::{CMD_LANE, CMD_TRACKING};

use super::{CommandOutcome, Conveyor, LaneOutOfRange};
use crate::report::CommandRecord;

impl Conveyor {
    /// The controller wrote a lane command (`CMD_TRACKING` + `CMD_LANE` in one request).
    ///
    /// A lane outside `1..=lanes` is refused and recorded; otherwise the registers take the
    /// values (so a read-back shows what was written) and the command is accepted (and
    /// acked in `CMD_ACK_*`) if its parcel is on the belt before the diverter, or recorded
    /// as late or unknown. A later command for the same parcel replaces an earlier one.
    pub fn lane_command(
        &mut self,
        now: Duration,
        tracking_no: u16,
        lane: u16,
    ) -> Result<CommandOutcome, LaneOutOfRange> {
        let now = self.advance(now);
        if !(1..=self.config.lanes).contains(&lane) {
            let err = LaneOutOfRange {
                lane,
                lanes: self.config.lanes,
            };
            self.reject_command(now, tracking_no, lane, err.to_string());
            return Err(err);
        }
        self.command_regs[CMD_TRACKING as usize] = tracking_no;
        self.command_regs[CMD_LANE as usize] = lane;
        let parcel_id = self.by_tracking.get(&tracking_no).copied();
        let record = |parcel_id, reason| CommandRecord {
            line: self.id.clone(),
            tracking_no,
            lane,
            at: self.wall(now),
            parcel_id,
            reason,
        };
        let Some(parcel) = parcel_id.and_then(|id| {
            let index = self.parcels.binary_search_by_key(&id, |p| p.id).ok()?;
            self.parcels.get(index)
        }) else {
            let r = record(
                None,
                format!("no parcel on the line has tracking number {tracking_no}"),
            );
            self.unknown.push_back(r);
            self.tally.unknown += 1;
            return Ok(CommandOutcome::Unknown);
        };
        let parcel_id = parcel.id;
        if let Some((dropped_lane, dropped_at)) = parcel.dropped {
            let reason = format!(
                "parcel {parcel_id} already dropped into lane {dropped_lane}, {} ms earlier",
                now.saturating_sub(dropped_at).as_millis()
            );
            let r = record(Some(parcel_id), reason);
            self.late.push_back(r);
            self.tally.late += 1;
            return Ok(CommandOutcome::Late { parcel_id });
        }
        let parcel = self.parcel_mut(parcel_id).expect("found above");
        let changed = parcel.command.is_some_and(|(before, _)| before != lane);
        parcel.lane_changes += u32::from(changed);
        parcel.first_lane.get_or_insert(lane);
        parcel.command = Some((lane, now));
        parcel.first_command_at.get_or_insert(now);
        self.status.cmd_ack_tracking = tracking_no;
        self.status.cmd_ack_lane = lane;
        self.tally.accepted += 1;
        self.tally.lane_changes += u64::from(changed);
        Ok(CommandOutcome::Accepted { parcel_id })
    }

    /// Record a command write the PLC refused, with the reason (for the report).
    pub fn reject_command(&mut self, now: Duration, tracking_no: u16, lane: u16, reason: String) {
        let now = self.advance(now);
        self.rejected.push_back(CommandRecord {
            line: self.id.clone(),
            tracking_no,
            lane,
            at: self.wall(now),
            parcel_id: None,
            reason,
        });
        self.tally.rejected += 1;
    }
}
