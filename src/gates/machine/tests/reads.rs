//! A read belongs to the truck it was read of, whatever the lane was doing when it came;
//! and a truck that leaves before a verdict leaves a pass that says so.

use super::*;

/// Truck A through and out; the barrier commanded closed at 900 ms.
fn first_truck_through(site: &mut Site) {
    site.approved_truck(0, PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, true), Arm::Open);
    let done = site.at(900).poll((false, false), Arm::Open);
    assert_eq!(closes(&done), 1);
}

fn plates_read(pass: &PassRecord) -> Vec<&str> {
    pass.consensus["reads"]
        .as_array()
        .expect("reads")
        .iter()
        .filter_map(|r| r["plate"].as_str())
        .collect()
}

#[test]
fn a_read_that_comes_while_the_barrier_closes_behind_a_truck_is_the_next_trucks() {
    let mut site = Site::new();
    first_truck_through(&mut site);
    // The barrier is down at 1 900 ms; before the lane's next poll sees it, truck B drives
    // up and the camera reads it.
    site.at(1_950).read(PLATE_B);
    site.at(2_000).poll((true, false), Arm::Closed);
    assert_eq!(
        site.phase(),
        Phase::Idle,
        "the barrier is down: the lane is free"
    );
    let done = site.at(2_050).poll((true, false), Arm::Closed);
    assert_eq!(opens(&done), [2], "B's own verdict: {done:#?}");
    let pass = &site.passes[1].1;
    assert_eq!(pass.plate.as_deref(), Some(PLATE_B));
    assert_eq!(plates_read(pass), [PLATE_B]);
}

#[test]
fn a_read_received_before_the_poll_that_sees_the_barrier_down_but_handled_after_it_is_the_next_trucks()
 {
    let mut site = Site::new();
    first_truck_through(&mut site);
    let event = site.at(1_950).event(PLATE_B, 0.95);
    site.at(2_000).poll((true, false), Arm::Closed);
    site.at(2_010).feed(Input::Plate(event));
    let done = site.at(2_050).poll((true, false), Arm::Closed);
    assert_eq!(opens(&done), [2]);
}

#[test]
fn a_late_read_of_the_truck_that_went_through_is_not_the_next_trucks() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    // The camera's last read of A comes after A's verdict, while A is still at the arm.
    site.at(200).read(PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, true), Arm::Open);
    site.at(900).poll((false, false), Arm::Open);
    site.at(1_500).poll((false, false), Arm::Closed);
    // B arrives within the read lead of A's late read; one sure read of B is enough alone
    // unless A's read is counted against it.
    site.at(1_600).poll((true, false), Arm::Closed);
    let done = site.at(1_700).read(PLATE_B);
    assert_eq!(opens(&done), [2], "{done:#?}");
    assert_eq!(plates_read(&site.passes[1].1), [PLATE_B]);
}

#[test]
fn a_tailgaters_reads_are_not_the_next_trucks() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, true), Arm::Open);
    site.at(900).poll((true, true), Arm::Open);
    site.at(950).read(PLATE_C);
    site.at(1_200).poll((false, true), Arm::Open);
    site.at(1_500).poll((false, false), Arm::Open);
    site.at(2_000).poll((false, false), Arm::Closed);
    site.at(2_100).poll((true, false), Arm::Closed);
    let done = site.at(2_200).read(PLATE_B);
    assert_eq!(opens(&done), [2]);
    assert_eq!(plates_read(&site.passes[1].1), [PLATE_B]);
}

#[test]
fn a_read_shortly_before_the_truck_reaches_the_loop_is_its_own() {
    let mut site = Site::new();
    site.at(1_000).read(PLATE_A);
    let done = site.at(3_500).poll((true, false), Arm::Closed);
    assert_eq!(opens(&done), [1], "read 2.5 s before it arrived");
}

#[test]
fn a_read_long_before_the_truck_reaches_the_loop_is_not_its() {
    let mut site = Site::new();
    site.at(0).read(PLATE_A);
    let done = site.at(3_500).poll((true, false), Arm::Closed);
    assert!(
        records(&done).is_empty(),
        "read 3.5 s before: someone else's"
    );
    let done = site.at(3_600).read(PLATE_B);
    assert_eq!(opens(&done), [1]);
    assert_eq!(plates_read(&site.passes[0].1), [PLATE_B]);
}

#[test]
fn a_truck_that_leaves_before_a_verdict_leaves_a_pass_that_says_so() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    site.at(100).read_with(PLATE_A, 0.6);
    let done = site.at(2_000).poll((false, false), Arm::Closed);
    let pass = records(&done)[0];
    assert_eq!(pass.verdict, PassVerdict::Refused);
    assert_eq!(pass.plate.as_deref(), Some(PLATE_A), "what was read of it");
    assert_eq!(
        codes(pass)[..2],
        ["left_before_verdict", "plate_unconfirmed"]
    );
    assert_eq!(pass.evidence.len(), 1, "its snapshot");
    assert_eq!(
        pass.led_text, "出区卡口 请停车识别",
        "the LED never changed"
    );
    assert!(
        !site.log.iter().any(|a| matches!(a, Action::Barrier { .. })),
        "the barrier never moved"
    );
    assert_eq!(site.phase(), Phase::Idle);
    // Its reads went with it.
    site.at(2_500).poll((true, false), Arm::Closed);
    let done = site.at(2_600).read(PLATE_B);
    assert_eq!(plates_read(records(&done)[0]), [PLATE_B]);
}

#[test]
fn a_truck_never_read_that_leaves_leaves_a_pass_without_a_plate() {
    let mut site = Site::new();
    site.at(0).poll((true, false), Arm::Closed);
    let done = site.at(1_000).poll((false, false), Arm::Closed);
    let pass = records(&done)[0];
    assert_eq!(pass.plate, None);
    assert_eq!(codes(pass)[..2], ["left_before_verdict", "plate_no_reads"]);
}
