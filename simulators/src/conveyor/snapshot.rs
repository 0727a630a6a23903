//! A line's share of the ground-truth report, and the report assembled from the lines.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Conveyor;
use crate::faults::FaultRecord;
use crate::report::{
    CommandRecord, Connections, LineReport, LineState, ParcelReport, Report, Tally,
};

/// What one line contributes to a report (taken under the line's lock, assembled outside).
#[derive(Debug)]
pub struct LinePart {
    /// The line's report row, without the site's additions (connections, X-ray dir).
    pub line: LineReport,
    tally: Tally,
    parcels: Vec<ParcelReport>,
    late: Vec<CommandRecord>,
    unknown: Vec<CommandRecord>,
    rejected: Vec<CommandRecord>,
    faults: Vec<FaultRecord>,
    bags: Vec<crate::conveyor::BagRecord>,
}

impl Conveyor {
    fn state(&self) -> LineState {
        let s = &self.status;
        LineState {
            running: s.flags.running,
            belt_speed_mm_s: s.belt_speed_mm_s,
            belt_run: self.command_regs[usize::from(customs_edge_devices::line_plc::map::BELT_RUN)]
                == 1,
            estop: s.flags.estop,
            scale_fault: s.flags.scale_fault,
            xray_fault: s.flags.xray_fault,
            fault_code: s.fault.map_or(0, |f| f as u16),
            plc_link_up: self.link_up(),
            plc_heartbeat: s.plc_heartbeat,
            controller_heartbeat: s.controller_heartbeat_echo,
        }
    }

    /// This line's totals with the in-flight counts of now.
    fn tally_now(&self) -> Tally {
        let mut tally = self.tally.clone();
        tally.waiting = self.feeder.len() as u64;
        tally.in_flight = (self.feeder.len() + self.belt.len()) as u64;
        tally.unfinished_expected = self
            .parcels
            .iter()
            .filter(|p| p.dropped.is_none() && p.spec.expect.is_some())
            .count() as u64;
        tally
    }

    /// This line's share of a report; `with_parcels` = false leaves out the parcel and
    /// command lists (for a summary).
    pub fn part(&self, with_parcels: bool) -> LinePart {
        let tally = self.tally_now();
        let line = LineReport {
            id: self.id.clone(),
            config: self.config,
            xray_dir: None,
            state: self.state(),
            connections: Connections::default(),
            summary: tally.clone().summary(),
        };
        let bags = if with_parcels {
            self.bag_records()
        } else {
            Vec::new()
        };
        let (parcels, late, unknown, rejected) = if with_parcels {
            let wall = |d: Duration| self.wall(d);
            (
                self.parcels
                    .iter()
                    .map(|p| p.to_report(&self.id, &self.config, wall))
                    .collect(),
                self.late.iter().cloned().collect(),
                self.unknown.iter().cloned().collect(),
                self.rejected.iter().cloned().collect(),
            )
        } else {
            Default::default()
        };
        LinePart {
            line,
            tally,
            parcels,
            late,
            unknown,
            rejected,
            faults: self.fault_records(),
            bags,
        }
    }

    /// A report of this line alone (no connections): for tests of the pure model.
    pub fn report(&self, now: Duration) -> Report {
        let now = self.now.max(now);
        assemble(self.wall(now), false, vec![self.part(true)])
    }
}

/// The report of `parts`, in line order.
pub fn assemble(generated_at: DateTime<Utc>, finished: bool, parts: Vec<LinePart>) -> Report {
    let mut total = Tally::default();
    let mut report = Report {
        generated_at,
        finished,
        summary: crate::report::Summary::default(),
        lines: Vec::with_capacity(parts.len()),
        faults: Vec::new(),
        late_commands: Vec::new(),
        unknown_commands: Vec::new(),
        rejected_commands: Vec::new(),
        parcels: Vec::new(),
        bags: Vec::new(),
    };
    for part in parts {
        total.merge(&part.tally);
        report.lines.push(part.line);
        report.faults.extend(part.faults);
        report.late_commands.extend(part.late);
        report.unknown_commands.extend(part.unknown);
        report.rejected_commands.extend(part.rejected);
        report.parcels.extend(part.parcels);
        report.bags.extend(part.bags);
    }
    report.faults.sort_by_key(|f| f.started_at);
    report.summary = total.summary();
    report
}
