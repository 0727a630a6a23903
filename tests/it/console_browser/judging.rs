//! The officer's part: a parcel appears in the judging view, F flags it before its
//! deadline, and the simulator — the ground truth, not the controller — has it fall into
//! the inspection lane. The officer picks a parcel that would otherwise be released (its
//! list released by customs, its weight as declared), so the flag is what sends it there.

use std::time::Duration;

use serde_json::Value;

use super::console::Console;

/// What the officer reads off the judging view's current parcel: its id, the countdown,
/// whether its X-ray views are shown, whether its list says 800 (released) and whether
/// both weights are shown and agree (the page marks a difference over 5 % as bad).
const READ_CURRENT: &str = r"
    const c = document.querySelector('#page-judging .current[data-parcel-id]');
    if (!c) return null;
    const left = parseFloat(c.querySelector('.countdown b')?.textContent ?? '');
    const weights = [...c.querySelectorAll('.weights b')].map((b) => b.textContent);
    return {
        id: Number(c.dataset.parcelId),
        left: Number.isFinite(left) ? left : null,
        views: c.querySelectorAll('.views img').length,
        released: [...c.querySelectorAll('.declaration dd')]
            .some((dd) => /^800\b/.test(dd.textContent.trim())),
        weight_ok: weights.length === 3 && weights.every((w) => w.includes('kg'))
            && !c.querySelector('.weights .bad'),
        flagged: Boolean(c.querySelector('.ident .pill')),
    };
";

/// The parcel an officer flagged.
pub(crate) struct Flagged {
    /// Its record id.
    pub(crate) id: i64,
    /// What finds it in the parcel search: its waybill.
    pub(crate) search: String,
}

/// Open the judging view, pick a reason, wait for a parcel that customs released and that
/// weighs what it declares, with its X-ray views shown and at least 1.5 s on its
/// countdown, and press F; returns the flagged parcel's id.
async fn flag_a_parcel(console: &Console<'_>) -> i64 {
    console.page("judging").await;
    console
        .browser
        .visible(
            "#page-judging .current .views img",
            "a parcel's X-ray views in the judging view",
        )
        .await;
    console.browser.screenshot("10-judging").await;
    let reason = console
        .browser
        .visible("#page-judging select[name=reason]", "the flag reasons")
        .await;
    reason
        .select_by_value("image_suspicious")
        .await
        .expect("pick a reason");
    // Back from the list to the page, as a click beside it does: F is a page key.
    console
        .browser
        .js("document.activeElement.blur();", vec![])
        .await;
    let id = console
        .browser
        .until_within(
            "a released parcel of the declared weight with time left to judge",
            Duration::from_secs(120),
            || async {
                let p = console.browser.js(READ_CURRENT, vec![]).await;
                let ready = p["views"].as_u64() > Some(0)
                    && p["left"].as_f64().is_some_and(|s| s >= 1.5)
                    && p["released"] == true
                    && p["weight_ok"] == true
                    && p["flagged"] == false;
                ready.then(|| p["id"].as_i64()).flatten()
            },
        )
        .await;
    console.browser.press('f').await;
    let flagged = console
        .browser
        .visible("#page-judging .flagged", "the flag's confirmation")
        .await;
    let confirmed: Option<i64> = flagged
        .attr("data-parcel-id")
        .await
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok());
    assert_eq!(
        confirmed,
        Some(id),
        "the confirmation is for the parcel on screen when F was pressed"
    );
    console.browser.screenshot("11-judging-flagged").await;
    id
}

/// The controller's record of parcel `id` once decided (its reads are attached then), as
/// the console's API serves it.
pub(crate) async fn decided_parcel(console: &Console<'_>, id: i64) -> Value {
    console
        .browser
        .until("the flagged parcel's decision", || async {
            let (status, list) = console
                .api("GET", "/api/parcels?limit=200", &Value::Null)
                .await;
            (status == 200).then_some(())?;
            let p = list.as_array()?.iter().find(|p| p["id"] == id)?;
            (!p["lane_kind"].is_null()).then(|| p.clone())
        })
        .await
}

/// Reasons that send a parcel to inspection, besides an officer's flag.
const OTHER_INSPECTING: [&str; 3] = [
    "status_inspection",
    "instruction_inspect",
    "weight_out_of_tolerance",
];

pub(crate) async fn an_officer_flags_a_parcel_into_the_inspection_lane(
    console: &Console<'_>,
) -> Flagged {
    let id = flag_a_parcel(console).await;
    let decided = decided_parcel(console, id).await;
    let waybill = decided["logistics_no"].clone();
    assert!(waybill.is_string(), "its waybill was read: {decided:#}");
    fell_into_the_inspection_lane(console, &decided).await;
    let reasons: Vec<&str> = decided["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        !reasons
            .iter()
            .any(|r| OTHER_INSPECTING.iter().any(|o| r.starts_with(o))),
        "the flag, and nothing else, sent it to inspection: {decided:#}"
    );
    Flagged {
        id,
        search: waybill.as_str().unwrap_or_default().to_owned(),
    }
}

/// The ground truth for a decided parcel (as the API serves it) that an officer flagged:
/// the simulated parcel physically fell into its line's inspection lane, and the decision
/// says an officer flagged it.
pub(crate) async fn fell_into_the_inspection_lane(console: &Console<'_>, decided: &Value) {
    let tracking = decided["tracking_no"].as_u64().expect("a tracking number");
    let line_id = decided["line_id"].as_str().expect("a line").to_owned();
    let waybill = decided["logistics_no"].clone();
    let (sim_parcel, inspection_lane) = console
        .browser
        .until_within(
            "the flagged parcel to drop in the simulator",
            Duration::from_secs(90),
            || async {
                let report = console.demo.sim_json("/report").await?;
                let lane = report["lines"]
                    .as_array()?
                    .iter()
                    .find(|l| l["id"] == line_id.as_str())?["config"]["inspection_lane"]
                    .as_u64()?;
                let p = report["parcels"]
                    .as_array()?
                    .iter()
                    .rev()
                    .find(|p| {
                        p["line"] == line_id.as_str()
                            && p["tracking_no"].as_u64() == Some(tracking)
                            && p["code"] == waybill
                    })?
                    .clone();
                (p["state"] == "dropped").then_some((p, lane))
            },
        )
        .await;
    assert_eq!(
        sim_parcel["lane"].as_u64(),
        Some(inspection_lane),
        "the flagged parcel fell into the inspection lane: {sim_parcel:#}"
    );
    assert_eq!(decided["lane_kind"], "inspection", "{decided:#}");
    let reasons: Vec<&str> = decided["reasons"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        reasons.contains(&"officer_flag"),
        "the decision says an officer flagged it: {decided:#}"
    );
}
