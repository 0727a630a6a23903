use super::*;

const EXAMPLE: &str = include_str!("../../scenarios/platform-release-and-inspect.toml");

fn problems(text: &str) -> Vec<String> {
    match Scenario::from_toml(text) {
        Err(ScenarioError::Invalid(p)) => p,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn the_example_scenario_parses_and_every_message_passes_the_sites_checks() {
    let s = Scenario::from_toml(EXAMPLE).unwrap();
    assert_eq!(s.site.as_deref(), Some("3511W001"));
    assert_eq!(s.steps.len(), 5);
    assert_eq!(s.steps[0].lists.len(), 3);
    assert_eq!(s.steps[0].lists[0].return_status, 120);
    assert_eq!(s.steps[0].arrivals[0].vehicle_no, "闽G56789");
    assert_eq!(s.steps[0].arrivals[0].items.len(), 3);
    assert_eq!(s.last_at_ms(), 8000);
    let kinds: Vec<&str> = s
        .steps
        .iter()
        .flat_map(Step::messages)
        .map(|m| m.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            kind::LISTS,
            kind::ARRIVALS,
            kind::PERMITS,
            kind::LIST_STATUS,
            kind::INSTRUCTIONS,
            kind::PERMIT_STATUS
        ]
    );
    for m in s.steps.iter().flat_map(Step::messages) {
        site_reads(m.kind, m.body).unwrap();
    }
}

#[test]
fn the_kinds_of_one_step_go_in_a_fixed_order() {
    let s = Scenario::from_toml(
        r#"
        [[step]]
        at_ms = 0
        instructions = [ { logisticsNo = "SF1", action = "hold", issuedAt = "2026-11-27T10:00:00Z" } ]
        permit_status = [ { permitNo = "P1", status = 2 } ]
        list_status = [ { logisticsNo = "SF1", returnStatus = 500 }, { logisticsNo = "SF2", returnStatus = 800 } ]
        arrivals = [ { billNo = "MB1", vehicleNo = "闽G56789", items = [ { logisticsNo = "SF1" } ] } ]
        raw = [ { kind = "lists", payload = "{not json" } ]
        "#,
    )
    .unwrap();
    let messages = s.steps[0].messages();
    let kinds: Vec<(&str, usize)> = messages.iter().map(|m| (m.kind, m.items)).collect();
    assert_eq!(
        kinds,
        [
            (kind::LIST_STATUS, 2),
            (kind::ARRIVALS, 1),
            (kind::PERMIT_STATUS, 1),
            (kind::INSTRUCTIONS, 1)
        ]
    );
    assert_eq!(messages[0].body["updates"][1]["logisticsNo"], "SF2");
    assert_eq!(s.steps[0].raw[0].payload, "{not json");
}

#[test]
fn an_unknown_key_in_a_step_is_refused_naming_the_step() {
    let p = problems(
        r#"
        [[step]]
        at_ms = 0
        lists = [ { logisticsNo = "SF1", returnStatus = 800 } ]
        [[step]]
        at_ms = 10
        colour = "red"
        "#,
    );
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(p[0].starts_with("step[1] (line 5):"), "{p:#?}");
    assert!(p[0].contains("colour"), "{p:#?}");
}

#[test]
fn an_unknown_key_inside_a_list_is_refused_though_the_site_would_ignore_it() {
    let p = problems(
        r#"
        [[step]]
        at_ms = 0
        lists = [ { logisticsNo = "SF1", returnStatus = 800, grossweight = 1.2,
                    goods = [ { gnum = 1, itemName = "T恤", hscode = "6109100021" } ] } ]
        "#,
    );
    assert_eq!(
        p,
        ["step[0] (line 2): unknown key lists[0].goods[0].hscode, lists[0].grossweight"]
    );
}

#[test]
fn a_list_the_site_would_dead_letter_is_refused_unless_unchecked() {
    let text = r#"
        [[step]]
        at_ms = 0
        lists = [ { logisticsNo = "SF1", returnStatus = 800 } ]
        [[step]]
        at_ms = 100
        lists = [ { logisticsNo = "SF2", returnStatus = 42 } ]
        instructions = [ { logisticsNo = "SF2", action = "shred", issuedAt = "x" } ]
        "#;
    let p = problems(text);
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].starts_with("step[1] (line 5): lists:"), "{p:#?}");
    assert!(p[0].contains("lists[0] \"SF2\": returnStatus 42"), "{p:#?}");
    assert!(
        p[1].starts_with("step[1] (line 5): instructions:"),
        "{p:#?}"
    );
    assert!(p[1].contains("shred"), "{p:#?}");
    let unchecked = text.replace("at_ms = 100", "at_ms = 100\nunchecked = true");
    let s = Scenario::from_toml(&unchecked).unwrap();
    assert!(site_reads(kind::LISTS, s.steps[1].messages().remove(0).body).is_err());
}

#[test]
fn an_expected_arrival_the_site_would_dead_letter_is_refused_naming_what_is_wrong() {
    let p = problems(
        r#"
        [[step]]
        at_ms = 0
        arrivals = [ { billNo = "MB1", vehicleNo = "闽G56789", items = [] },
                     { billNo = "MB2", vehicleNo = "", items = [ { logisticsNo = "SF2" } ] } ]
        [[step]]
        at_ms = 10
        arrivals = [ { billNo = "MB3", items = [ { logisticsNo = "SF3" } ] } ]
        "#,
    );
    assert_eq!(p.len(), 2, "{p:#?}");
    assert!(p[0].starts_with("step[0] (line 2): arrivals:"), "{p:#?}");
    assert!(
        p[0].contains("arrivals[0] \"MB1\": items is empty")
            && p[0].contains("arrivals[1] \"MB2\": vehicleNo"),
        "{p:#?}"
    );
    assert!(
        p[1].starts_with("step[1] (line 6):") && p[1].contains("vehicleNo"),
        "{p:#?}"
    );
    let typo = problems(
        r#"
        [[step]]
        at_ms = 0
        arrivals = [ { billNo = "MB1", vehicleNo = "闽G56789", items = [ { logisticsNo = "SF1", bagNo = "B" } ] } ]
        "#,
    );
    assert_eq!(typo.len(), 1, "{typo:#?}");
    assert!(typo[0].contains("bagNo"), "{typo:#?}");
}

#[test]
fn steps_out_of_time_order_are_refused() {
    let p = problems(
        r#"
        [[step]]
        at_ms = 500
        permit_status = [ { permitNo = "P1", status = 1 } ]
        [[step]]
        at_ms = 200
        permit_status = [ { permitNo = "P1", status = 2 } ]
        "#,
    );
    assert_eq!(p.len(), 1, "{p:#?}");
    assert!(
        p[0].starts_with("step[1] (line 5): at_ms 200 is before the 500"),
        "{p:#?}"
    );
}

#[test]
fn empty_steps_bad_raw_topics_and_unknown_top_level_keys_are_refused() {
    assert_eq!(problems(""), ["no [[step]]: nothing to publish"]);
    let p = problems(
        "[[step]]\nat_ms = 0\n[[step]]\nat_ms = 1\nraw = [ { kind = \"a/b\", payload = \"\" } ]\n",
    );
    assert_eq!(
        p,
        [
            "step[0] (line 1): nothing to publish",
            "step[1] (line 3): raw[0].kind \"a/b\" is not one topic level"
        ]
    );
    let e = Scenario::from_toml("sites = \"S\"\n").unwrap_err();
    assert!(
        matches!(e, ScenarioError::Toml(_)) && e.to_string().contains("sites"),
        "{e}"
    );
}

#[test]
fn a_file_error_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[[step]]\nat_ms = 0\n").unwrap();
    let e = format!("{:#}", Scenario::load(&path).unwrap_err());
    assert!(
        e.contains("bad.toml") && e.contains("step[0] (line 1)"),
        "{e}"
    );
}
