//! Every wait has its end: reads that never agree, a weight that never settles, a barrier
//! that does not move, a truck that does not pass; and the deadline the task sleeps to.

use super::*;

#[test]
fn reads_that_never_agree_hold_the_truck_for_an_operator_at_plate_wait() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    site.at(100).read_with(PLATE_A, 0.6);
    let done = site.at(200).read_with(PLATE_B, 0.6);
    assert!(records(&done).is_empty(), "two plates, no majority: wait");
    assert_eq!(site.lane.next_deadline(), Some(site.start + ms(6_000)));
    assert!(records(&site.at(5_999).timer()).is_empty());
    let done = site.at(6_000).timer();
    let pass = records(&done)[0];
    assert_eq!(pass.verdict, PassVerdict::Refused);
    assert_eq!(
        codes(pass)[..2],
        ["manual_decision_needed", "plate_conflict"]
    );
    assert_eq!(leds(&done), ["车牌识别冲突 请等待人工处理"]);
    assert_eq!(site.phase(), Phase::Held);
    assert_eq!(site.lane.next_deadline(), None, "an operator's to decide");
}

#[test]
fn a_weight_that_never_settles_is_decided_on_at_weight_wait() {
    let mut site = Site::new();
    site.weight = (30_100, false);
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(100).read(PLATE_A);
    assert!(
        records(&done).is_empty(),
        "agreed, but the weight is moving"
    );
    assert_eq!(site.lane.next_deadline(), Some(site.start + ms(6_000)));
    assert!(records(&site.at(6_000).timer()).is_empty());
    assert_eq!(site.lane.next_deadline(), Some(site.start + ms(10_000)));
    let done = site.at(10_000).timer();
    assert!(opens(&done).is_empty());
    assert_eq!(codes(records(&done)[0])[0], "weight_unstable");
    assert_eq!(site.phase(), Phase::Held);
}

#[test]
fn a_weight_that_settles_in_time_lets_the_truck_out_at_once() {
    let mut site = Site::new();
    site.weight = (30_100, false);
    site.at(0).poll((true, false), Arm::Closed);
    site.at(100).read(PLATE_A);
    site.weight = (30_050, true);
    let done = site.at(150).poll((true, false), Arm::Closed);
    assert_eq!(opens(&done), [1]);
}

#[test]
fn a_barrier_that_does_not_open_in_time_raises_barrier_stuck_once() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    let opened_at = site.start + ms(100);
    assert_eq!(site.lane.next_deadline(), Some(opened_at + ms(10_000)));
    site.at(5_000).poll((true, false), Arm::Closed);
    let done = site.at(10_100).timer();
    assert_eq!(alarms(&done), ["barrier_stuck"]);
    assert_eq!(
        site.lane.next_deadline(),
        Some(opened_at + ms(120_000)),
        "still waiting for the truck"
    );
    let done = site.at(10_150).poll((true, false), Arm::Closed);
    assert!(alarms(&done).is_empty());
}

#[test]
fn a_truck_that_does_not_pass_is_alarmed_and_the_barrier_closes_once_it_is_gone() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    site.at(1_000).poll((true, false), Arm::Open);
    let done = site.at(120_100).timer();
    assert_eq!(alarms(&done), ["vehicle_not_passed"]);
    assert_eq!(closes(&done), 0, "a timer never moves the barrier");
    assert_eq!(site.lane.next_deadline(), None);
    let done = site.at(120_150).poll((true, false), Arm::Open);
    assert_eq!(closes(&done), 0, "it is still there");
    assert!(alarms(&done).is_empty());
    let done = site.at(125_000).poll((false, false), Arm::Open);
    assert_eq!(closes(&done), 1, "it backed off");
}

#[test]
fn a_barrier_that_does_not_close_in_time_raises_barrier_stuck() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, false), Arm::Open);
    assert_eq!(site.lane.next_deadline(), Some(site.start + ms(10_600)));
    site.at(5_000).poll((false, false), Arm::Moving);
    let done = site.at(10_600).timer();
    assert_eq!(alarms(&done), ["barrier_stuck"]);
    assert_eq!(site.lane.next_deadline(), None);
}

#[test]
fn every_step_that_waits_on_the_lane_names_when_it_times_out() {
    let mut site = Site::new();
    assert_eq!(site.lane.next_deadline(), None, "idle");
    site.at(0).poll((true, false), Arm::Closed);
    assert!(site.lane.next_deadline().is_some(), "present");
    site.at(100).read(PLATE_A);
    assert!(site.lane.next_deadline().is_some(), "open");
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, false), Arm::Open);
    assert!(site.lane.next_deadline().is_some(), "closing");
    assert!(site.lane.next_deadline().is_some_and(|d| d > site.now));
}
