//! The stations along the belt, with explicit time: scale, scanners, X-ray, belt run/stop,
//! and the load profile's pitch.

use super::super::*;
use super::{Line, TICK};

fn weighed(sim: &mut Line, id: u64) -> (Duration, u16, bool) {
    let (at, event) =
        sim.until(|e| matches!(e, LineEvent::Weighed { parcel_id, .. } if *parcel_id == id));
    let LineEvent::Weighed {
        weight_g, stable, ..
    } = event
    else {
        unreachable!()
    };
    (at, weight_g, stable)
}

fn frames(sim: &Line, id: u64) -> Vec<(ScannerId, Option<String>)> {
    sim.events
        .iter()
        .filter_map(|(_, e)| match e {
            LineEvent::Scanned(s) if s.parcel_id == id => Some((s.scanner, s.code.clone())),
            _ => None,
        })
        .collect()
}

fn xray_job(sim: &mut Line, id: u64) -> (Duration, XrayJob) {
    let (at, event) =
        sim.until(|e| matches!(e, LineEvent::XrayEntered(job) if job.parcel_id == id));
    let LineEvent::XrayEntered(job) = event else {
        unreachable!()
    };
    (at, job)
}

#[test]
fn scale_weighs_each_parcel_with_small_noise_into_the_weight_ring() {
    let mut sim = Line::new();
    let id = sim.put(NewParcel {
        weight_kg: 1.25,
        ..NewParcel::with_code(Some("SF1"))
    });
    let (entered_at, tracking_no) = sim.entered(id);
    let (at, weight_g, stable) = weighed(&mut sim, id);
    // 300 mm at 500 mm/s.
    let travel = at.checked_sub(entered_at).unwrap();
    assert!(travel >= Duration::from_millis(600) && travel <= Duration::from_millis(600) + TICK);
    assert!(stable);
    assert!(weight_g.abs_diff(1250) <= 2, "{weight_g}");
    let (ring, lost) = sim.c.status().weights_since(0);
    assert_eq!(lost, 0);
    assert_eq!(
        (ring[0].tracking_no, ring[0].weight_g, ring[0].stable),
        (tracking_no, weight_g, true)
    );
    let report = sim.c.report(sim.now);
    let p = report.parcel(id).unwrap();
    assert_eq!((p.weighed_g, p.weight_stable), (Some(weight_g), Some(true)));
}

#[test]
fn scanner_options_shape_what_top_and_side_send() {
    use ScannerId::{Side, Top};
    let some = |c: &str| Some(c.to_owned());
    let cases = [
        (
            NewParcel::with_code(Some("A")),
            vec![(Top, some("A")), (Side, some("A"))],
        ),
        (
            NewParcel {
                no_read: true,
                ..NewParcel::with_code(Some("A"))
            },
            vec![(Top, None), (Side, None)],
        ),
        (
            NewParcel {
                side_no_read: true,
                ..NewParcel::with_code(Some("A"))
            },
            vec![(Top, some("A")), (Side, None)],
        ),
        (
            NewParcel {
                double_read: true,
                ..NewParcel::with_code(Some("A"))
            },
            vec![(Top, some("A")), (Top, some("A")), (Side, some("A"))],
        ),
        (
            NewParcel {
                conflict: some("B"),
                ..NewParcel::with_code(Some("A"))
            },
            vec![(Top, some("A")), (Side, some("B"))],
        ),
    ];
    let mut sim = Line::new();
    let ids: Vec<u64> = cases.iter().map(|(p, _)| sim.put(p.clone())).collect();
    sim.dropped(*ids.last().unwrap());
    for (id, (_, want)) in ids.iter().zip(&cases) {
        assert_eq!(&frames(&sim, *id), want, "parcel {id}");
    }
    let report = sim.c.report(sim.now);
    assert_eq!(report.parcel(ids[3]).unwrap().scans.len(), 3);
}

#[test]
fn xray_images_are_due_after_the_delay_once_the_parcel_enters_the_tunnel() {
    let mut sim = Line::new();
    let first = sim.put(NewParcel {
        dense_object: true,
        ..NewParcel::with_code(Some("A"))
    });
    let second = sim.inject(Some("B"), 400);
    let (entered_at, _) = sim.entered(first);
    let (at, job) = xray_job(&mut sim, first);
    // 1200 mm at 500 mm/s.
    let travel = at.checked_sub(entered_at).unwrap();
    assert!(travel >= Duration::from_millis(2400) && travel <= Duration::from_millis(2400) + TICK);
    assert_eq!(
        (job.seq, job.views, job.dense_object, job.due),
        (1, 2, true, at + Duration::from_millis(300))
    );
    assert_eq!(xray_job(&mut sim, second).1.seq, 2);
    sim.c.xray_written(sim.now, first, 1, "f_v1.png".into());
    let report = sim.c.report(sim.now);
    let p = report.parcel(first).unwrap();
    assert_eq!(p.xray_images[0].file, "f_v1.png");
    assert_eq!(p.last_input_at, Some(p.xray_images[0].written_at));
}

#[test]
fn a_line_without_x_ray_writes_no_images_and_says_so() {
    let mut sim = Line::new();
    sim.c = Conveyor::new("L1", LineConfig::default(), Utc::now(), false);
    assert!(!sim.c.status().flags.xray_running);
    let id = sim.inject(Some("A"), 400);
    sim.dropped(id);
    assert!(
        !sim.events
            .iter()
            .any(|(_, e)| matches!(e, LineEvent::XrayEntered(_)))
    );
}

#[test]
fn belt_run_zero_stops_the_belt_and_the_feeder_until_it_runs_again() {
    let mut sim = Line::new();
    let first = sim.inject(Some("A"), 400);
    let second = sim.inject(Some("B"), 400);
    let (entered_at, _) = sim.entered(first);
    sim.step();
    sim.c.belt_run(sim.now, false);
    assert_eq!(sim.c.command_registers()[3], 0);
    let status = sim.c.status();
    assert_eq!((status.flags.running, status.belt_speed_mm_s), (false, 0));
    sim.run_for(Duration::from_secs(5));
    assert!(
        !sim.events.iter().any(|(_, e)| matches!(
            e,
            LineEvent::Entered { parcel_id, .. } if *parcel_id == second
        )),
        "nothing enters a stopped belt"
    );
    assert!(
        !sim.events
            .iter()
            .any(|(_, e)| matches!(e, LineEvent::Weighed { .. })),
        "nothing moves on a stopped belt"
    );
    sim.c.belt_run(sim.now, true);
    assert_eq!(sim.c.status().belt_speed_mm_s, 500);
    let (dropped_at, _, _) = sim.dropped(first);
    // 6 s of travel plus the 5 s stop, within two ticks.
    let travel = dropped_at.checked_sub(entered_at).unwrap();
    let want = Duration::from_secs(11);
    assert!(
        travel >= want.checked_sub(TICK).unwrap() && travel <= want + 2 * TICK,
        "{travel:?}"
    );
    sim.dropped(second);
}

#[test]
fn the_load_profile_sustains_twenty_parcels_a_second() {
    let config = LineConfig::for_load(20.0);
    assert!(config.problems().is_empty());
    let mut sim = Line::with(config);
    let lengths = [60, 100, 80, 100, 70];
    let mut ids = Vec::new();
    let mut longest_queue = 0;
    // 10 s at one parcel every 50 ms, ticking every 10 ms.
    for i in 0..1000 {
        if i % 5 == 0 {
            ids.push(sim.inject(Some("SF1"), lengths[ids.len() % lengths.len()]));
        }
        sim.step();
        longest_queue = longest_queue.max(sim.c.report(sim.now).summary.waiting);
    }
    assert!(
        longest_queue <= 2,
        "the feeder queue grew to {longest_queue}"
    );
    sim.run_for(Duration::from_secs(2));
    let report = sim.c.report(sim.now);
    assert_eq!(report.summary.dropped, ids.len() as u64);
    let (entries, _) = sim.c.status().entries_since(0);
    assert!(entries.iter().all(|e| e.tracking_no != 0));
}
