//! What the downlink bodies' types cannot say: text within its limit ([`crate::limits`]),
//! and the values a field may take. Each problem names its field by its path in the body
//! (`permits[0].vehicleNo`), so a dead letter says what to fix.

use super::{Ack, Instructions, ListStatus, PermitStatus, Permits};
use crate::limits::{self, Lengths};

/// How a message names a record in its problems: its key when short enough to show.
pub(crate) fn label(at: &str, key: &str, max: usize) -> String {
    if key.len() <= max {
        format!("{at} {key:?}")
    } else {
        at.to_owned()
    }
}

impl ListStatus {
    /// Every problem, each naming its update.
    pub fn check(&self) -> Result<(), String> {
        let mut l = Lengths::default();
        let mut problems = Vec::new();
        for (i, u) in self.updates.iter().enumerate() {
            let at = format!("updates[{i}]");
            l.check(
                || format!("{at}.logisticsNo"),
                &u.logistics_no,
                limits::LOGISTICS_NO,
            );
            l.check_opt(
                || format!("{at}.returnInfo"),
                u.return_info.as_deref(),
                limits::CUSTOMS_TEXT,
            );
            if crate::declaration::status_name(u.return_status).is_none() {
                problems.push(format!(
                    "{}: returnStatus {} is not a known customs status",
                    label(&at, &u.logistics_no, limits::LOGISTICS_NO),
                    u.return_status
                ));
            }
        }
        finish(l, problems)
    }
}

impl Permits {
    /// Every problem, each naming its permit and item.
    pub fn check(&self) -> Result<(), String> {
        let mut l = Lengths::default();
        for (i, p) in self.permits.iter().enumerate() {
            let at = format!("permits[{i}]");
            l.check(|| format!("{at}.permitNo"), &p.permit_no, limits::PERMIT_NO);
            l.check(|| format!("{at}.vehicleNo"), &p.vehicle_no, limits::PLATE);
            l.check_opt(
                || format!("{at}.containerNo"),
                p.container_no.as_deref(),
                limits::CONTAINER_NO,
            );
            for (j, item) in p.items.iter().enumerate() {
                let at = format!("{at}.items[{j}]");
                l.check_opt(
                    || format!("{at}.billNo"),
                    item.bill_no.as_deref(),
                    limits::BILL_NO,
                );
                l.check_opt(
                    || format!("{at}.logisticsNo"),
                    item.logistics_no.as_deref(),
                    limits::LOGISTICS_NO,
                );
                l.check_opt(
                    || format!("{at}.totalPackageNo"),
                    item.total_package_no.as_deref(),
                    limits::PACKAGE_NO,
                );
            }
        }
        l.finish()
    }
}

impl PermitStatus {
    /// Every problem, each naming its update.
    pub fn check(&self) -> Result<(), String> {
        let mut l = Lengths::default();
        for (i, u) in self.updates.iter().enumerate() {
            l.check(
                || format!("updates[{i}].permitNo"),
                &u.permit_no,
                limits::PERMIT_NO,
            );
        }
        l.finish()
    }
}

impl Instructions {
    /// Every problem, each naming its instruction.
    pub fn check(&self) -> Result<(), String> {
        let mut l = Lengths::default();
        let mut problems = Vec::new();
        for (i, ins) in self.instructions.iter().enumerate() {
            let at = format!("instructions[{i}]");
            l.check(
                || format!("{at}.logisticsNo"),
                &ins.logistics_no,
                limits::LOGISTICS_NO,
            );
            l.check(|| format!("{at}.action"), &ins.action, limits::NAME);
            l.check_opt(
                || format!("{at}.reason"),
                ins.reason.as_deref(),
                limits::CUSTOMS_TEXT,
            );
            l.check(
                || format!("{at}.issuedAt"),
                &ins.issued_at,
                limits::TIMESTAMP,
            );
            if !["inspect", "hold", "release"].contains(&ins.action.as_str()) {
                let action = if ins.action.len() <= limits::NAME {
                    format!("{:?}", ins.action)
                } else {
                    "(too long)".to_owned()
                };
                problems.push(format!(
                    "{}: action {action} is not inspect, hold or release",
                    label(&at, &ins.logistics_no, limits::LOGISTICS_NO)
                ));
            }
        }
        finish(l, problems)
    }
}

impl Ack {
    /// The stream name within its limit.
    pub fn check(&self) -> Result<(), String> {
        let mut l = Lengths::default();
        l.check(|| "stream".to_owned(), &self.stream, limits::NAME);
        l.finish()
    }
}

fn finish(lengths: Lengths, mut problems: Vec<String>) -> Result<(), String> {
    let mut all = lengths.into_problems();
    all.append(&mut problems);
    if all.is_empty() {
        Ok(())
    } else {
        Err(all.join("; "))
    }
}
