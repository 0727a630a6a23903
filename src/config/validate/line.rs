//! The checks of one sorting line: its PLC, scanners, X-ray feed, decision timing and the
//! positions along its belt.

use std::collections::HashSet;

use customs_edge_devices::line_plc::RegisterMap;

use super::{Problem, address, required};
use crate::config::LineConfig;

pub(super) fn validate_line(out: &mut Vec<Problem>, at: &str, line: &LineConfig) {
    required(
        out,
        format!("{at}.id"),
        &line.id,
        "a short line id such as L1",
    );
    address(
        out,
        format!("{at}.plc.address"),
        &line.plc.address,
        "the PLC's host:port",
    );
    let map = RegisterMap {
        unit_id: line.plc.unit_id,
        status_base: line.plc.status_base,
        command_base: line.plc.command_base,
    };
    for message in map.problems() {
        out.push(Problem::new(format!("{at}.plc"), message));
    }
    if !(1..=1000).contains(&line.plc.poll_interval_ms) {
        out.push(Problem::new(
            format!("{at}.plc.poll_interval_ms"),
            "must be between 1 and 1000",
        ));
    }
    if !(10..=10_000).contains(&line.plc.timeout_ms) {
        out.push(Problem::new(
            format!("{at}.plc.timeout_ms"),
            "must be between 10 and 10000",
        ));
    }
    if line.scanners.is_empty() {
        out.push(Problem::new(
            format!("{at}.scanners"),
            "at least one scanner is needed to read waybills",
        ));
    }
    let mut names = HashSet::new();
    for (j, scanner) in line.scanners.iter().enumerate() {
        let sat = format!("{at}.scanners[{j}]");
        scanner_endpoint(
            out,
            &sat,
            &scanner.name,
            &scanner.address,
            "top",
            &mut names,
        );
        if !(1..=128).contains(&scanner.max_length) {
            out.push(Problem::new(
                format!("{sat}.max_length"),
                "must be between 1 and 128",
            ));
        }
        if scanner.no_read.is_empty() {
            out.push(Problem::new(format!("{sat}.no_read"), "must not be empty"));
        }
    }
    validate_bag_scanners(out, at, line, &mut names);
    validate_geometry(out, at, line);
    let d = &line.diverter;
    let lanes = [
        ("release_lane", d.release_lane),
        ("inspection_lane", d.inspection_lane),
        ("exception_lane", d.exception_lane),
    ];
    for (name, lane) in lanes {
        if lane == 0 {
            out.push(Problem::new(
                format!("{at}.diverter.{name}"),
                "lane numbers start at 1",
            ));
        }
    }
    if d.release_lane == d.exception_lane
        || d.release_lane == d.inspection_lane
        || d.inspection_lane == d.exception_lane
    {
        out.push(Problem::new(
            format!("{at}.diverter"),
            "release, inspection and exception lanes must be different",
        ));
    }
}

/// A scanner's name (required, unique among the line's scanners of every kind) and its
/// `host:port`.
fn scanner_endpoint<'a>(
    out: &mut Vec<Problem>,
    sat: &str,
    name: &'a str,
    addr: &str,
    example: &str,
    names: &mut HashSet<&'a str>,
) {
    if required(
        out,
        format!("{sat}.name"),
        name,
        &format!("a scanner name such as {example}"),
    ) && !names.insert(name)
    {
        out.push(Problem::new(
            format!("{sat}.name"),
            format!("duplicate scanner name {name:?}"),
        ));
    }
    address(
        out,
        format!("{sat}.address"),
        addr,
        "the scanner's host:port",
    );
}

/// The bag-label scanners: named apart from every other scanner of the line, at the
/// release lane, with a bag prefix that a waybill cannot be mistaken for.
fn validate_bag_scanners<'a>(
    out: &mut Vec<Problem>,
    at: &str,
    line: &'a LineConfig,
    names: &mut HashSet<&'a str>,
) {
    let mut lanes = HashSet::new();
    for (j, scanner) in line.bag_scanners.iter().enumerate() {
        let sat = format!("{at}.bag_scanners[{j}]");
        scanner_endpoint(out, &sat, &scanner.name, &scanner.address, "bag-1", names);
        let at_lane = scanner.lane_of(line);
        if at_lane != line.diverter.release_lane {
            out.push(Problem::new(
                format!("{sat}.lane"),
                format!(
                    "{at_lane} is not a release lane (diverter.release_lane is {})",
                    line.diverter.release_lane
                ),
            ));
        } else if !lanes.insert(at_lane) {
            out.push(Problem::new(
                format!("{sat}.lane"),
                format!("release lane {at_lane} has another bag-label scanner"),
            ));
        }
        let prefix = scanner.bag_prefix.trim();
        if prefix.is_empty() || prefix.chars().count() > 16 || prefix != scanner.bag_prefix {
            out.push(Problem::new(
                format!("{sat}.bag_prefix"),
                "1 to 16 characters without spaces around: what every bag label starts with",
            ));
        }
        if !(1..=128).contains(&scanner.max_length) {
            out.push(Problem::new(
                format!("{sat}.max_length"),
                "must be between 1 and 128",
            ));
        }
        if scanner.no_read.is_empty() {
            out.push(Problem::new(format!("{sat}.no_read"), "must not be empty"));
        }
    }
}

fn validate_geometry(out: &mut Vec<Problem>, at: &str, line: &LineConfig) {
    let g = &line.geometry;
    let stations = [
        ("scale_at_mm", g.scale_at_mm),
        ("scanner_at_mm", Some(g.scanner_at_mm)),
        ("xray_at_mm", g.xray_at_mm),
        ("xray_exit_at_mm", g.xray_exit_at_mm),
    ];
    for (name, position) in stations {
        if let Some(mm) = position
            && mm >= g.diverter_at_mm
        {
            out.push(Problem::new(
                format!("{at}.geometry.{name}"),
                format!("{mm} must be before diverter_at_mm ({})", g.diverter_at_mm),
            ));
        }
    }
    if let (Some(entry), Some(exit)) = (g.xray_at_mm, g.xray_exit_at_mm)
        && exit < entry
    {
        out.push(Problem::new(
            format!("{at}.geometry.xray_exit_at_mm"),
            format!("{exit} must not be before xray_at_mm ({entry})"),
        ));
    }
    if let Some(xray) = &line.xray {
        if xray.dir.as_os_str().is_empty() {
            out.push(Problem::new(
                format!("{at}.xray.dir"),
                "required: the directory the X-ray machine writes to",
            ));
        }
        if g.xray_at_mm.is_none() {
            out.push(Problem::new(
                format!("{at}.geometry.xray_at_mm"),
                "required when the line has an xray feed",
            ));
        }
        if !(xray.window_s > 0.0 && xray.window_s <= 120.0) {
            out.push(Problem::new(
                format!("{at}.xray.window_s"),
                "must be more than 0 and at most 120 seconds",
            ));
        }
        if xray.views == 0 {
            out.push(Problem::new(
                format!("{at}.xray.views"),
                "must be at least 1",
            ));
        }
    }
    let d = &line.decision;
    if !(d.weight_abs_kg >= 0.0 && d.weight_pct >= 0.0 && d.weight_pct <= 100.0) {
        out.push(Problem::new(
            format!("{at}.decision"),
            "weight tolerances must be >= 0 (and weight_pct <= 100)",
        ));
    }
    if d.stale_after_ms < 2 * line.plc.poll_interval_ms {
        out.push(Problem::new(
            format!("{at}.decision.stale_after_ms"),
            format!(
                "must be at least two poll intervals ({} ms)",
                2 * line.plc.poll_interval_ms
            ),
        ));
    }
}

#[cfg(test)]
#[path = "line_tests.rs"]
mod tests;
