//! The barrier's safety rules: never closed on an occupied loop, opened again if one is
//! occupied while it closes, a second vehicle through one opening alarmed, and kept down
//! outside an opening.

use super::*;

#[test]
fn the_barrier_is_never_closed_while_a_loop_is_occupied() {
    let mut site = Site::new();
    let pass = site.approved_truck(0, PLATE_A);
    for (t, loops) in [
        (300, (true, false)),
        (600, (true, true)),
        (900, (false, true)),
    ] {
        let done = site.at(t).poll(loops, Arm::Open);
        assert_eq!(closes(&done), 0, "at {t} ms with {loops:?}: {done:#?}");
    }
    let done = site.at(1_200).poll((false, false), Arm::Open);
    assert_eq!(closes(&done), 1);
    assert!(
        done.iter().any(|a| matches!(
            a,
            Action::MarkCleared { pass_id, vehicles: 1 } if *pass_id == pass
        )),
        "the pass records the truck cleared: {done:#?}"
    );
    assert_eq!(site.phase(), Phase::Closing);
    let done = site.at(2_000).poll((false, false), Arm::Closed);
    assert_eq!(site.phase(), Phase::Idle);
    assert_eq!(leds(&done), ["出区卡口 请停车识别"]);
}

#[test]
fn a_loop_occupied_while_the_barrier_closes_opens_it_again_for_the_same_pass() {
    let mut site = Site::new();
    let pass = site.approved_truck(0, PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, false), Arm::Open);
    assert_eq!(site.phase(), Phase::Closing);
    let done = site.at(700).poll((true, false), Arm::Moving);
    assert_eq!(opens(&done), [pass]);
    assert_eq!(closes(&done), 0);
    assert_eq!(site.phase(), Phase::Open);
    let done = site.at(800).poll((true, false), Arm::Open);
    assert_eq!(closes(&done), 0, "still occupied");
    let done = site.at(900).poll((false, false), Arm::Open);
    assert_eq!(closes(&done), 1, "clear again: closed again");
}

#[test]
fn a_second_vehicle_behind_the_first_raises_the_tailgate_alarm() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, true), Arm::Open);
    let done = site.at(900).poll((true, true), Arm::Open);
    assert_eq!(alarms(&done), ["gate_tailgate"]);
    assert_eq!(closes(&done), 0);
    // It goes through the same opening: counted, not alarmed twice; the barrier waits
    // for both.
    site.at(1_200).poll((false, true), Arm::Open);
    site.at(1_500).poll((false, false), Arm::Open);
    let all = alarms(&site.log);
    assert_eq!(all, ["gate_tailgate"]);
    let cleared = site.log.iter().find_map(|a| match a {
        Action::MarkCleared { vehicles, .. } => Some(*vehicles),
        _ => None,
    });
    assert_eq!(
        cleared,
        Some(1),
        "the first one was counted before the second entered"
    );
}

#[test]
fn two_vehicles_into_the_exit_loop_through_one_opening_raise_the_tailgate_alarm() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    // The next one is right behind: the loop before the barrier never clears.
    site.at(600).poll((true, false), Arm::Open);
    let done = site.at(900).poll((true, true), Arm::Open);
    assert_eq!(alarms(&done), ["gate_tailgate"]);
    site.at(1_200).poll((false, true), Arm::Open);
    site.at(1_500).poll((false, false), Arm::Open);
    let cleared = site.log.iter().find_map(|a| match a {
        Action::MarkCleared { vehicles, .. } => Some(*vehicles),
        _ => None,
    });
    assert_eq!(cleared, Some(2));
}

#[test]
fn a_vehicle_into_the_exit_loop_while_the_barrier_closes_is_one_more_through_the_opening() {
    let mut site = Site::new();
    let pass = site.approved_truck(0, PLATE_A);
    site.at(300).poll((false, true), Arm::Open);
    site.at(600).poll((false, false), Arm::Open);
    assert_eq!(site.phase(), Phase::Closing);
    // The second vehicle comes while the barrier is moving down: it counts all the same.
    let done = site.at(700).poll((false, true), Arm::Moving);
    assert_eq!(alarms(&done), ["gate_tailgate"]);
    assert_eq!(
        opens(&done),
        [pass],
        "and the barrier does not come down on it"
    );
}

#[test]
fn a_vehicle_at_the_barrier_while_it_closes_behind_the_first_is_a_tailgate() {
    let mut site = Site::new();
    site.approved_truck(0, PLATE_A);
    site.at(300).poll((true, true), Arm::Open);
    site.at(600).poll((false, false), Arm::Open);
    let done = site.at(700).poll((true, false), Arm::Moving);
    assert_eq!(alarms(&done), ["gate_tailgate"]);
}

#[test]
fn a_barrier_found_open_without_a_pass_is_closed_once_the_loops_are_clear() {
    let mut site = Site::new();
    let done = site.at(0).poll((false, false), Arm::Open);
    assert_eq!(closes(&done), 1);
    assert!(opens(&done).is_empty());
    // Still open: told again only after the time a move takes.
    let done = site.at(1_000).poll((false, false), Arm::Moving);
    assert_eq!(closes(&done), 0);
    let done = site.at(10_000).poll((false, false), Arm::Moving);
    assert_eq!(closes(&done), 1);
    site.at(10_500).poll((false, false), Arm::Closed);
    // Found open again with a vehicle under it: alarmed once, never closed on it.
    let done = site.at(11_000).poll((false, true), Arm::Open);
    assert_eq!(alarms(&done), ["barrier_open_unexpectedly"]);
    assert_eq!(closes(&done), 0);
    let done = site.at(11_500).poll((false, true), Arm::Open);
    assert!(alarms(&done).is_empty());
    assert!(site.passes.is_empty(), "no pass is made up");
}

#[test]
fn a_barrier_in_manual_mode_is_left_to_the_people_at_the_cabinet() {
    let mut site = Site::new();
    let mut manual = status((false, false), Arm::Open);
    manual.inputs.manual = true;
    let done = site.feed(Input::Poll {
        io: Ok(manual),
        weighbridge: None,
    });
    assert_eq!(closes(&done), 0);
}

#[test]
fn an_open_command_the_device_did_not_hold_is_repeated_every_poll() {
    let mut site = Site::new();
    site.barrier_refuses = true;
    let pass = site.approved_truck(0, PLATE_A);
    let done = site.at(150).poll((true, false), Arm::Closed);
    assert_eq!(opens(&done), [pass]);
    site.barrier_refuses = false;
    let done = site.at(200).poll((true, false), Arm::Moving);
    assert_eq!(opens(&done), [pass], "held now");
    let done = site.at(250).poll((true, false), Arm::Moving);
    assert!(opens(&done).is_empty(), "not repeated once held");
}
