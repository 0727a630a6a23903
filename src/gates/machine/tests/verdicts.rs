//! The verdict: committed before the barrier is told anything, and the barrier kept down
//! when the store cannot say or cannot write.

use super::*;

#[test]
fn an_approved_truck_is_recorded_before_the_barrier_opens_and_the_led_follows() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_A);
    let record = done
        .iter()
        .position(|a| matches!(a, Action::Record { .. }))
        .expect("recorded");
    let open = done
        .iter()
        .position(|a| matches!(a, Action::Barrier { .. }))
        .expect("opened");
    let led = done
        .iter()
        .position(|a| matches!(a, Action::Led(_)))
        .expect("LED");
    assert!(record < open && open < led, "{done:#?}");
    assert_eq!(opens(&done), [1]);
    let pass = &site.passes[0].1;
    assert_eq!(pass.verdict, PassVerdict::Released);
    assert_eq!(pass.plate.as_deref(), Some(PLATE_A));
    assert_eq!(pass.permit_no.as_deref(), Some("HF0"));
    assert_eq!(pass.evidence.len(), 1, "the read's snapshot");
    assert_eq!(leds(&done), [format!("{PLATE_A} 核放单已审批 请通行")]);
    assert_eq!(site.lane.view().pass_id, Some(1));
}

#[test]
fn a_pass_that_cannot_be_recorded_keeps_the_barrier_down_until_it_can() {
    let mut site = Site::new();
    site.writes_fail = true;
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_A);
    assert_eq!(records(&done).len(), 1, "tried");
    assert!(opens(&done).is_empty(), "{done:#?}");
    assert_eq!(site.phase(), Phase::Present);
    let retry = site.lane.next_deadline().expect("a retry is due");
    assert!(retry > site.now);
    site.writes_fail = false;
    let done = site.at(250).poll((true, false), Arm::Closed);
    assert_eq!(opens(&done), [1], "the next poll records it and opens");
}

#[test]
fn a_refused_truck_is_held_with_the_reason_on_the_led() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(200).read(PLATE_C);
    assert!(opens(&done).is_empty());
    assert_eq!(site.phase(), Phase::Held);
    assert_eq!(site.passes[0].1.verdict, PassVerdict::Refused);
    assert_eq!(codes(&site.passes[0].1)[0], "no_permit");
    assert_eq!(leds(&done), [format!("{PLATE_C} 无核放单")]);
    // It backs off: the lane is free, and nothing else is recorded for it.
    let done = site.at(5_000).poll((false, false), Arm::Closed);
    assert_eq!(site.phase(), Phase::Idle);
    assert!(records(&done).is_empty());
    assert_eq!(leds(&done), ["出区卡口 请停车识别"]);
}

#[test]
fn a_store_that_cannot_say_the_permits_refuses_the_truck() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    site.reads_fail = true;
    let done = site.at(200).read(PLATE_A);
    assert!(opens(&done).is_empty(), "fail closed: {done:#?}");
    assert_eq!(site.phase(), Phase::Held);
    assert_eq!(codes(&site.passes[0].1)[0], "manual_decision_needed");
}
