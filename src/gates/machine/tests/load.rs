//! The load check as the machine runs it: asked for only once the permit and the weight
//! let the truck go, and a failed item holds it with the reason on the LED.

use super::*;
use crate::gates::load::{BagFacts, Load, LoadItem, ParcelFacts};

/// A parcel released into a bag, status 800, nothing open against it.
pub(super) fn released(id: i64, waybill: &str) -> ParcelFacts {
    ParcelFacts {
        parcel_id: id,
        logistics_no: Some(waybill.to_owned()),
        released: true,
        in_release_lane: true,
        status: Some(800),
        open_interception: None,
        retrieved: false,
    }
}

/// One closed bag `B-<permit>` of one released parcel.
pub(super) fn clean(permit_no: &str) -> Load {
    let bag = format!("B-{permit_no}");
    Load {
        permit_no: permit_no.to_owned(),
        items: vec![LoadItem {
            total_package_no: Some(bag.clone()),
            ..LoadItem::default()
        }],
        bags: [(
            bag,
            BagFacts {
                closed: true,
                parcels: vec![released(1, "W1")],
            },
        )]
        .into(),
        ..Load::default()
    }
}

#[test]
fn the_load_is_asked_for_after_the_permit_and_before_the_pass() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_A);
    let rules = done
        .iter()
        .position(|a| matches!(a, Action::FetchRules { .. }))
        .expect("rules");
    let load = done
        .iter()
        .position(|a| matches!(a, Action::FetchLoad { permit_no, .. } if permit_no == "HF0"))
        .expect("load");
    let record = done
        .iter()
        .position(|a| matches!(a, Action::Record { .. }))
        .expect("recorded");
    assert!(rules < load && load < record, "{done:#?}");
    assert_eq!(opens(&done), [1]);
}

#[test]
fn a_truck_whose_bag_holds_an_intercepted_parcel_is_held_with_the_item_named() {
    let mut site = Site::new();
    let mut load = clean("HF0");
    load.bags.get_mut("B-HF0").unwrap().parcels[0].open_interception = Some(9);
    site.loads.insert("HF0".into(), load);
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_A);
    assert!(opens(&done).is_empty(), "{done:#?}");
    assert_eq!(site.phase(), Phase::Held);
    let pass = &site.passes[0].1;
    assert_eq!(pass.verdict, PassVerdict::Refused);
    assert_eq!(codes(pass)[0], "load_held");
    assert!(
        pass.reasons[1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("bag B-HF0:"),
        "{:?}",
        pass.reasons
    );
    assert_eq!(leds(&done), [format!("{PLATE_A} 含未放行包裹")]);
}

#[test]
fn a_store_that_cannot_read_the_load_holds_the_truck() {
    let mut site = Site::new();
    site.load_fails = true;
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_A);
    assert!(opens(&done).is_empty(), "fail closed: {done:#?}");
    assert_eq!(site.phase(), Phase::Held);
    assert_eq!(codes(&site.passes[0].1)[0], "manual_decision_needed");
}

#[test]
fn a_permit_without_items_holds_the_truck_unless_the_lane_lets_it_go() {
    let mut site = Site::new();
    site.loads.insert(
        "HF0".into(),
        Load {
            permit_no: "HF0".into(),
            ..Load::default()
        },
    );
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_A);
    assert!(opens(&done).is_empty());
    assert_eq!(codes(&site.passes[0].1)[0], "permit_no_items");

    let mut s = settings();
    s.config.permit_without_items = crate::config::PermitWithoutItems::Release;
    let mut site = Site::with_settings(s);
    site.loads.insert(
        "HF0".into(),
        Load {
            permit_no: "HF0".into(),
            ..Load::default()
        },
    );
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_A);
    assert_eq!(opens(&done), [1]);
}

#[test]
fn an_override_opens_without_the_load_check() {
    let mut site = Site::new();
    let mut load = clean("HF0");
    load.bags.get_mut("B-HF0").unwrap().closed = false;
    site.loads.insert("HF0".into(), load);
    site.at(0).poll((true, false), Arm::Closed);
    site.at(200).read(PLATE_A);
    assert_eq!(site.phase(), Phase::Held);
    assert_eq!(codes(&site.passes[0].1)[0], "bag_open");
    let done = site.at(300).feed(Input::Override {
        ticket: 1,
        actor: "op1".into(),
        reason: "bag sealed by hand, checked".into(),
    });
    assert!(
        !done.iter().any(|a| matches!(a, Action::FetchLoad { .. })),
        "{done:#?}"
    );
    assert_eq!(opens(&done), [2]);
}
