//! The release lane's bags: filled by the drops, closed by a label, a parcel taken out.

use super::super::*;
use super::Line;

/// Sort `codes` into the release lane (1); their sim ids.
fn release(sim: &mut Line, codes: &[&str]) -> Vec<u64> {
    let ids: Vec<u64> = codes.iter().map(|c| sim.inject(Some(c), 400)).collect();
    for id in &ids {
        let (_, tracking_no) = sim.entered(*id);
        sim.command(tracking_no, 1).unwrap();
    }
    for id in &ids {
        sim.dropped(*id);
    }
    ids
}

#[test]
fn release_drops_fill_the_open_bag_and_a_label_closes_it() {
    let mut sim = Line::new();
    let ids = release(&mut sim, &["SF1", "SF2"]);
    // A parcel in another lane is in no bag.
    let other = sim.inject(Some("SF3"), 400);
    let (_, tracking_no) = sim.entered(other);
    sim.command(tracking_no, 2).unwrap();
    sim.dropped(other);
    let now = sim.now;
    let (bag, frame) = sim.c.close_bag(now, "ZB0001").unwrap();
    assert_eq!(
        (bag.bag_no.as_deref(), &bag.parcels),
        (Some("ZB0001"), &ids)
    );
    assert_eq!(
        (frame.scanner, frame.code.as_deref()),
        (ScannerId::Bag, Some("ZB0001"))
    );
    let report = sim.c.report(now);
    assert_eq!(report.parcel(ids[0]).unwrap().bag_seq, Some(bag.seq));
    assert_eq!(report.parcel(other).unwrap().bag_seq, None);
    assert_eq!(report.bag("L1", "ZB0001"), Some(&bag));
    // Nothing left to close; a label is used once.
    assert_eq!(
        sim.c.close_bag(now, "ZB0002"),
        Err(BagScanError::NoOpenBag("L1".into()))
    );
    release(&mut sim, &["SF4"]);
    assert_eq!(
        sim.c.close_bag(sim.now, "ZB0001"),
        Err(BagScanError::LabelUsed("ZB0001".into()))
    );
    assert!(sim.c.close_bag(sim.now, "ZB0002").is_ok(), "a second bag");
}

#[test]
fn a_parcel_taken_out_of_its_bag_is_no_longer_carried() {
    let mut sim = Line::new();
    let ids = release(&mut sim, &["SF1", "SF2"]);
    let (id, frame) = sim.c.retrieve(sim.now, "SF2").unwrap();
    assert_eq!((id, frame.code.as_deref()), (ids[1], Some("SF2")));
    assert_eq!(
        sim.c.retrieve(sim.now, "SF2"),
        Err(BagScanError::NotInBag("SF2".into(), "L1".into()))
    );
    let (bag, _) = sim.c.close_bag(sim.now, "ZB0009").unwrap();
    assert_eq!((bag.parcels, bag.retrieved), (vec![ids[0]], vec![ids[1]]));
    assert!(sim.c.report(sim.now).parcel(ids[1]).unwrap().retrieved);
}
