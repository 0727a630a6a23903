//! Holds in the consoles: an officer's flag on a parcel that already dropped into the
//! release lane opens an interception, which the line page shows (ringing again until
//! someone has it in hand) with its bag marked, and the interception page lists; recording
//! its retrieval by hand clears it everywhere. An operator closes a lane's bag and prints
//! its list. The gates page lists, item by item, the load check of a truck held by it.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use super::console::{Console, type_into};

const BELL_PLAYS: &str = "
    const a = document.getElementById('alarm-sound');
    return Number(a.dataset.plays || 0) + a.played.length * 1000;
";

/// A parcel the line released that the simulator's ground truth has in the release lane,
/// with its waybill, that nobody has held yet: (record id, waybill).
async fn a_released_parcel_in_its_bag(console: &Console<'_>) -> (i64, String) {
    console
        .browser
        .until_within(
            "a parcel released into a bag",
            Duration::from_secs(120),
            || async {
                let (status, list) = console
                    .api("GET", "/api/parcels?limit=100", &Value::Null)
                    .await;
                (status == 200).then_some(())?;
                let truth = console.demo.sim_json("/report").await?;
                list.as_array()?.iter().find_map(|p| {
                    let waybill = p["logistics_no"].as_str()?;
                    let released = p["lane_kind"] == "release" && p["outcome"] == "sorted";
                    // The simulator's own record: it physically fell into that lane.
                    let fell = truth["parcels"].as_array()?.iter().any(|s| {
                        s["code"].as_str() == Some(waybill)
                            && s["lane"].as_u64().is_some()
                            && s["lane"] == p["dropped_lane"]
                    });
                    (released && fell)
                        .then(|| (p["id"].as_i64().unwrap_or_default(), waybill.to_owned()))
                })
            },
        )
        .await
}

/// The officer flags a parcel that is already in its bag: the answer says it was too late
/// and names the interception; the line page shows it (waybill, lane, bag) with the bag
/// marked, the bell rings and rings again; the list shows it; the officer records the
/// retrieval by hand (the dialog refuses it without scan or reason) and it is gone from
/// the line page, listed as retrieved by them with the reason.
pub(crate) async fn an_interception_rings_on_the_line_page_until_its_retrieval(
    console: &Console<'_>,
    officer: &str,
) {
    let (parcel, waybill) = a_released_parcel_in_its_bag(console).await;
    console.page("line").await;
    let plays_before = console.browser.js(BELL_PLAYS, vec![]).await.as_u64();
    let (status, flagged) = console
        .api(
            "POST",
            &format!("/api/parcels/{parcel}/flag"),
            &json!({"reason": "图像可疑，放行后补查"}),
        )
        .await;
    assert_eq!(status, 200, "{flagged}");
    assert_eq!(
        flagged["late"]["outcome"], "intercepted",
        "a flag after the drop is answered as too late: {flagged}"
    );
    let interception = flagged["late"]["interception"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("the answer names the interception: {flagged}"));
    let bag = flagged["late"]["interception"]["bag_id"].as_i64();

    let item = format!("#page-line .interceptions li[data-interception-id=\"{interception}\"]");
    let shown = console
        .browser
        .visible(&item, "the interception on the line page")
        .await;
    let text = shown.text().await.unwrap_or_default();
    assert!(
        text.contains(&waybill) && text.contains("放行道"),
        "the line page names the waybill and the lane: {text:?}"
    );
    if let Some(bag) = bag {
        console
            .browser
            .visible(
                &format!("#page-line .bags .bag.marked[data-bag-id=\"{bag}\"]"),
                "its bag marked on the line page",
            )
            .await;
    }
    // It rings, and rings again while nobody has acknowledged it.
    let first = console
        .browser
        .until("the bell to ring for the interception", || async {
            let n = console.browser.js(BELL_PLAYS, vec![]).await.as_u64();
            (n > plays_before).then_some(n)
        })
        .await;
    console
        .browser
        .until_within(
            "the bell to ring again for the open interception",
            Duration::from_secs(30),
            || async {
                let n = console.browser.js(BELL_PLAYS, vec![]).await.as_u64();
                (n > first).then_some(())
            },
        )
        .await;
    console.browser.screenshot("40-interception-on-line").await;

    console.page("interceptions").await;
    let row = format!(".icpt-open tr[data-interception-id=\"{interception}\"]");
    console
        .browser
        .visible(
            &format!("#page-interceptions {row}"),
            "the interception in the list",
        )
        .await;
    console.browser.screenshot("41-interceptions").await;
    let retrieve = format!("#page-interceptions {row} button.retrieve");
    console
        .browser
        .click_afresh(&retrieve, "the retrieval button clicked")
        .await;
    let dialog = console
        .browser
        .visible("dialog#retrieval-dialog[open] form", "the retrieval dialog")
        .await;
    dialog
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("the record button")
        .click()
        .await
        .expect("submit without scan or reason");
    console
        .browser
        .until("the dialog to ask for a scan or a reason", || async {
            let e = console.text_of("#retrieval-dialog .error").await?;
            (!e.is_empty()).then_some(())
        })
        .await;
    let reason = "已从放行道取出，移交查验区";
    type_into(&dialog, "textarea[name=reason]", reason).await;
    dialog
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("the record button")
        .click()
        .await
        .expect("record the retrieval");
    let all = format!("#page-interceptions .icpt-all tr[data-interception-id=\"{interception}\"]");
    console
        .browser
        .until("the list to say who retrieved it and why", || async {
            let text = console.text_of(&all).await?;
            (text.contains(officer) && text.contains(reason)).then_some(())
        })
        .await;
    assert!(
        !console
            .browser
            .shows(&format!("#page-interceptions {row}"))
            .await,
        "no longer among those to retrieve"
    );
    let (_, record) = console
        .api("GET", "/api/interceptions?all=true", &Value::Null)
        .await;
    let stored = record
        .as_array()
        .and_then(|l| l.iter().find(|i| i["id"] == interception))
        .cloned()
        .unwrap_or_default();
    assert_eq!(stored["retrieved_by"], officer, "{stored}");
    assert_eq!(stored["retrieval_reason"], reason, "{stored}");
    console
        .browser
        .screenshot("42-interception-retrieved")
        .await;

    console.page("line").await;
    console
        .browser
        .until("the interception gone from the line page", || async {
            (!console.browser.shows(&item).await).then_some(())
        })
        .await;
}

/// The operator closes the open bag of a release lane from the line page with its number;
/// the closed bag shows with it, and its list shows every parcel with both weights.
pub(crate) async fn an_operator_closes_a_bag_and_opens_its_list(console: &Console<'_>) {
    console.page("line").await;
    let open = console
        .browser
        .visible("#page-line .bags .bag.open", "an open bag on the line page")
        .await;
    let bag_id = open
        .attr("data-bag-id")
        .await
        .ok()
        .flatten()
        .expect("the open bag's id");
    let close = format!("#page-line .bags .bag.open[data-bag-id=\"{bag_id}\"] button.close-bag");
    console
        .browser
        .click_afresh(&close, "the close button of the open bag clicked")
        .await;
    let dialog = console
        .browser
        .visible("dialog#bag-close-dialog[open] form", "the close dialog")
        .await;
    let bag_no = format!("ZB-DEMO-{bag_id}");
    type_into(&dialog, "input[name=bag_no]", &bag_no).await;
    dialog
        .find(Locator::Css("button[type=submit]"))
        .await
        .expect("the close button")
        .click()
        .await
        .expect("close the bag");
    let chip = format!("#page-line .bags .bag.closed[data-bag-id=\"{bag_id}\"]");
    console
        .browser
        .until("the closed bag with its number", || async {
            let text = console.text_of(&chip).await?;
            text.contains(&bag_no).then_some(())
        })
        .await;
    console.browser.screenshot("43-bag-closed").await;
    let link = format!("{chip} a[href=\"#/bag/{bag_id}\"]");
    console
        .browser
        .click_afresh(&link, "the bag list link clicked")
        .await;
    let (status, detail) = console
        .api("GET", &format!("/api/bags/{bag_id}"), &Value::Null)
        .await;
    assert_eq!(status, 200, "{detail}");
    let parcels = detail["parcels"].as_array().map_or(0, Vec::len);
    assert!(parcels > 0, "a closed bag holds parcels: {detail}");
    console
        .browser
        .until("the bag list with every parcel", || async {
            let number = console.text_of("#page-bag .bag-number").await?;
            let rows = console
                .browser
                .client()
                .find_all(Locator::Css("#page-bag table.bag-list tbody tr"))
                .await
                .ok()?;
            (number == bag_no && rows.len() == parcels).then_some(())
        })
        .await;
    let head = console
        .text_of("#page-bag table.bag-list thead")
        .await
        .unwrap_or_default();
    assert!(
        head.contains("申报毛重") && head.contains("实测重量"),
        "declared and measured weights: {head:?}"
    );
    console.browser.screenshot("44-bag-list").await;
}

/// A truck held by its load check (the demo's permit naming a waybill never sorted here):
/// the gates page shows the failed item and why, in Chinese, as the lane's view has it.
pub(crate) async fn the_gates_page_shows_the_failed_item_of_a_held_truck(console: &Console<'_>) {
    console.page("gates").await;
    let failed = "#page-gates .lane .lane-load .load-item.failed[data-code=\"load_not_sorted\"]";
    let text = console
        .browser
        .until_within(
            "a truck held by its load check on the gates page",
            Duration::from_secs(300),
            || async { console.text_of(failed).await.filter(|t| !t.is_empty()) },
        )
        .await;
    assert!(
        text.contains("运单") && text.contains("包裹未过机"),
        "the item and why it failed, in Chinese: {text:?}"
    );
    console.browser.screenshot("45-gate-load-check").await;
}
