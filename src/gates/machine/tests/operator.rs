//! Operators' overrides: a pass of their own, committed before the barrier opens, and
//! refused when there is nothing to open for.

use super::*;

#[test]
fn an_override_records_who_and_why_before_the_barrier_opens() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    site.at(100).read(PLATE_C);
    assert_eq!(site.phase(), Phase::Held);
    let (done, answer) = site.at(5_000).override_open("checked by hand");
    assert_eq!(answer, Ok(2));
    let record = done
        .iter()
        .position(|a| matches!(a, Action::Record { .. }))
        .expect("recorded");
    let open = done
        .iter()
        .position(|a| matches!(a, Action::Barrier { .. }))
        .expect("opened");
    assert!(record < open);
    assert_eq!(opens(&done), [2]);
    let pass = &site.passes[1].1;
    assert_eq!(pass.verdict, PassVerdict::Override);
    assert_eq!(
        pass.override_by,
        Some(("op.zhang".to_owned(), "checked by hand".to_owned()))
    );
    assert_eq!(pass.plate.as_deref(), Some(PLATE_C));
    assert_eq!(codes(pass)[..2], ["manual_override", "no_permit"]);
    assert_eq!(leds(&done), [format!("{PLATE_C} 人工放行 请通行")]);
}

#[test]
fn an_override_for_a_truck_never_read_opens_without_a_plate() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    let (done, answer) = site.at(1_000).override_open("plate covered in mud");
    assert_eq!(answer, Ok(1));
    assert_eq!(opens(&done), [1]);
    assert_eq!(site.passes[0].1.plate, None);
}

#[test]
fn an_override_with_no_truck_or_the_barrier_open_is_refused() {
    let mut site = Site::new();
    let (done, answer) = site.at(0).override_open("why not");
    assert_eq!(answer, Err("gate K1: no truck on the loop".into()));
    assert!(opens(&done).is_empty());
    site.approved_truck(100, PLATE_A);
    let (done, answer) = site.at(500).override_open("why not");
    assert_eq!(answer, Err("gate K1: the barrier is already open".into()));
    assert!(opens(&done).is_empty());
    assert_eq!(site.passes.len(), 1);
}

#[test]
fn an_override_that_cannot_be_recorded_keeps_the_barrier_down() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    site.at(100).read(PLATE_C);
    site.writes_fail = true;
    let (done, answer) = site.at(5_000).override_open("checked by hand");
    let error = answer.expect_err("not recorded");
    assert!(
        error.starts_with("the override could not be recorded, so the barrier stays closed"),
        "{error}"
    );
    assert!(opens(&done).is_empty());
    assert_eq!(site.phase(), Phase::Held);
}
