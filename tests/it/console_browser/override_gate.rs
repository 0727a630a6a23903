//! The operator's part: a truck held at a lane for want of an approved exit permit, an
//! override without a reason refused by the page (the barrier stays shut), one with a
//! reason but a wrong officer password refused by the server (still shut), then one the
//! customs officer confirms: the simulator's lane sees the barrier open and the truck
//! leave, and the pass records the override, its reason and both people.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::elements::Element;
use serde_json::Value;

use super::console::{Console, type_into};

const REASON: &str = "司机出示纸质核放单，现场核验无误";

/// The lanes as the console's API serves them.
async fn lanes(console: &Console<'_>) -> Option<Vec<Value>> {
    let (status, body) = console.api("GET", "/api/gates", &Value::Null).await;
    (status == 200).then_some(())?;
    body["lanes"].as_array().cloned()
}

/// The hold reasons of a truck without an approved permit that the demo's fleet gives.
const PERMIT_PROBLEMS: [&str; 4] = [
    "no_permit",
    "permit_not_approved",
    "permit_voided",
    "permit_used",
];

/// The plate of the held pass `id` when it is an outbound truck without an approved permit
/// (its override needs an officer as well).
async fn held_plate(console: &Console<'_>, id: &Value) -> Option<String> {
    let (status, pass) = console
        .api("GET", &format!("/api/gates/passes/{id}"), &Value::Null)
        .await;
    let not_approved = status == 200
        && pass["direction"] == "out"
        && pass["reasons"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| PERMIT_PROBLEMS.iter().any(|p| r["code"] == *p))
        });
    if !not_approved {
        return None;
    }
    pass["plate"].as_str().map(str::to_owned)
}

/// A held truck must have waited no longer than this, so the override's three attempts
/// (two refused) finish before it backs off, on a loaded box too.
const WAITED_AT_MOST: Duration = Duration::from_millis(customs_edge::demo::DEMO_PATIENCE_MS / 2);

/// A lane holding a truck without an approved permit that the simulator shows waiting at
/// the closed barrier, with time left before it gives up: (lane, the vehicle's simulator id).
/// The vehicle is the held pass's own (by its plate): the truck queued behind one still
/// passing under an open barrier is waiting too.
async fn held_truck(console: &Console<'_>) -> (String, u64) {
    console
        .browser
        .until_within(
            "a truck held at a gate",
            Duration::from_secs(300),
            || async {
                let mut held: Vec<(String, String)> = Vec::new();
                for l in lanes(console).await? {
                    if l["phase"] == "held"
                        && let Some(plate) = held_plate(console, &l["pass_id"]).await
                    {
                        held.extend(l["gate"].as_str().map(|g| (g.to_owned(), plate)));
                    }
                }
                if held.is_empty() {
                    return None;
                }
                let report = console.demo.sim_json("/gates/report").await?;
                let now = chrono::Utc::now();
                report["vehicles"].as_array()?.iter().find_map(|v| {
                    let lane = v["lane"].as_str()?;
                    let plate = v["plate"].as_str()?;
                    let arrived: chrono::DateTime<chrono::Utc> =
                        v["arrived"]["at"].as_str()?.parse().ok()?;
                    let waited = (now - arrived).to_std().unwrap_or_default();
                    (held.iter().any(|(g, p)| g == lane && p == plate)
                        && v["state"] == "waiting"
                        && v["open_command"].is_null()
                        && waited <= WAITED_AT_MOST)
                        .then(|| (lane.to_owned(), v["id"].as_u64().unwrap_or_default()))
                })
            },
        )
        .await
}

/// The simulator's record of vehicle `id` and its lane's barrier position now.
async fn sim_vehicle(console: &Console<'_>, id: u64) -> Option<(Value, u64)> {
    let report = console.demo.sim_json("/gates/report").await?;
    let v = report["vehicles"]
        .as_array()?
        .iter()
        .find(|v| v["id"] == id)?
        .clone();
    let position = report["lanes"]
        .as_array()?
        .iter()
        .find(|l| l["id"] == v["lane"])?["position_pct"]
        .as_u64()?;
    Some((v, position))
}

/// Open the override dialog of `gate`'s card.
async fn open_override(console: &Console<'_>, gate: &str) -> Element {
    let button = format!("#page-gates .lane[data-gate=\"{gate}\"] button.override");
    console
        .browser
        .visible(&button, &format!("the override button of lane {gate}"))
        .await
        .click()
        .await
        .expect("click override");
    console
        .browser
        .visible("dialog#override-dialog", "the override dialog")
        .await
}

async fn confirm(dialog: &Element) {
    dialog
        .find(Locator::Css("button[value=confirm]"))
        .await
        .expect("the confirm button")
        .click()
        .await
        .expect("click confirm");
}

pub(crate) async fn an_operator_overrides_a_held_truck_with_a_reason(
    console: &Console<'_>,
    operator: &str,
    (officer, officer_password): (&str, &str),
) {
    console.page("gates").await;
    let (gate, vehicle) = held_truck(console).await;

    // No reason: the page refuses, nothing reaches the barrier.
    let dialog = open_override(console, &gate).await;
    type_into(&dialog, "textarea[name=reason]", "").await;
    confirm(&dialog).await;
    let refusal = console
        .browser
        .js(
            "const d = document.querySelector('dialog#override-dialog');\
             const r = d.querySelector('textarea[name=reason]');\
             return { open: d.open, valid: r.checkValidity(), message: r.validationMessage,\
                      error: d.querySelector('.error')?.textContent || '' };",
            vec![],
        )
        .await;
    assert_eq!(
        refusal["open"], true,
        "the dialog stays open without a reason: {refusal}"
    );
    assert!(
        refusal["valid"].as_bool() == Some(false)
            || refusal["error"].as_str().is_some_and(|e| !e.is_empty()),
        "the page says a reason is needed: {refusal}"
    );
    console
        .browser
        .screenshot("12-override-without-reason")
        .await;
    let refused_text = refusal["error"].as_str().unwrap_or_default().to_owned();
    let (v, position) = sim_vehicle(console, vehicle).await.expect("the truck");
    assert!(
        v["open_command"].is_null() && position == 0,
        "the barrier stays shut without a reason: {position}% open, {v:#}"
    );
    let still = lanes(console).await.expect("lanes");
    assert!(
        still
            .iter()
            .any(|l| l["gate"] == gate.as_str() && l["phase"] == "held"),
        "the lane still holds the truck: {still:#?}"
    );

    // The permit is not approved: the dialog asks for a customs officer as well. A wrong
    // password is refused by the server and the barrier stays shut.
    let fields = dialog
        .find(Locator::Css(".officer-confirm"))
        .await
        .expect("the officer's fields");
    assert!(
        fields.is_displayed().await.unwrap_or(false),
        "the override of a truck without an approved permit asks for an officer"
    );
    type_into(&dialog, "textarea[name=reason]", REASON).await;
    type_into(&dialog, "input[name=officer_username]", officer).await;
    type_into(
        &dialog,
        "input[name=officer_password]",
        "not-the-officers-password",
    )
    .await;
    confirm(&dialog).await;
    let refused_text = console
        .browser
        .until("the wrong officer password refused", || async {
            let error = console.text_of("dialog#override-dialog .error").await?;
            (!error.is_empty() && error != refused_text).then_some(error)
        })
        .await;
    console
        .browser
        .screenshot("15-override-officer-refused")
        .await;
    let (v, position) = sim_vehicle(console, vehicle).await.expect("the truck");
    assert!(
        v["open_command"].is_null() && position == 0,
        "the barrier stays shut without the officer: {position}% open, {v:#}"
    );

    // With the officer's confirmation: the dialog closes and the card shows who and why.
    type_into(&dialog, "input[name=officer_password]", officer_password).await;
    confirm(&dialog).await;
    console
        .browser
        .until("the override dialog to close", || async {
            let open = console
                .browser
                .js(
                    "return document.querySelector('dialog#override-dialog').open;",
                    vec![],
                )
                .await;
            if let Some(error) = console.text_of("dialog#override-dialog .error").await
                && !error.is_empty()
                && error != refused_text
            {
                panic!("the override was refused: {error}");
            }
            (open.as_bool() == Some(false)).then_some(())
        })
        .await;
    let card = format!("#page-gates .lane[data-gate=\"{gate}\"] .lane-pass");
    console
        .browser
        .until("the override and its reason on the lane's card", || async {
            let text = console.text_of(&card).await?;
            (text.contains(REASON) && text.contains(operator)).then_some(())
        })
        .await;
    console.browser.screenshot("13-gates-override").await;

    // The ground truth: the barrier opened and the truck left through it.
    let left = console
        .browser
        .until(
            "the simulator's truck to leave through the opened barrier",
            || async {
                let (v, _) = sim_vehicle(console, vehicle).await?;
                (v["left"].as_bool() == Some(true)).then_some(v)
            },
        )
        .await;
    assert!(
        !left["open_command"].is_null() && !left["opened"].is_null(),
        "the barrier was commanded open and opened: {left:#}"
    );

    // The pass on record says who and why.
    let (status, passes) = console
        .api(
            "GET",
            &format!("/api/gates/passes?gate={gate}&limit=10"),
            &Value::Null,
        )
        .await;
    assert_eq!(status, 200, "{passes}");
    let pass = passes
        .as_array()
        .and_then(|p| p.iter().find(|p| p["verdict"] == "override"))
        .unwrap_or_else(|| panic!("an override pass on {gate}: {passes:#}"));
    assert_eq!(pass["override_reason"], REASON, "{pass:#}");
    assert!(
        pass["override_by"]
            .as_str()
            .is_some_and(|by| by.contains(operator) && by.contains(officer)),
        "the pass names the operator and the confirming officer: {pass:#}"
    );
    console.browser.screenshot("14-gates-after-override").await;
}
