//! Device links: lost after three failed polls in a row, alarmed once, cleared when back.

use super::*;

#[test]
fn lost_device_links_raise_their_alarm_after_three_polls_and_clear_it_when_back() {
    let mut site = Site::new();
    let mut raised = Vec::new();
    for n in 0..4 {
        let done = site.at(n * 50).feed(Input::Poll {
            io: Err("timed out".into()),
            weighbridge: Some(Err("connection refused".into())),
        });
        raised.extend(alarms(&done));
        assert!(!site.lane.view().link_ok);
    }
    assert_eq!(raised, ["weighbridge_link", "gate_io_link"], "once each");
    let done = site.at(300).poll((false, false), Arm::Closed);
    let cleared: Vec<_> = done
        .iter()
        .filter_map(|a| match a {
            Action::Clear { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    assert_eq!(cleared, ["weighbridge_link", "gate_io_link"]);
    assert!(site.lane.view().link_ok);
}
