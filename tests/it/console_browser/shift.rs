//! A shift at the consoles (issue 18): the officer flags a parcel ahead of its turn from
//! the judging strip and the simulator drops it in the inspection lane; F pressed as the
//! judging view switches flags the parcel that was on screen; the X-ray tools change the
//! picture; an alarm raised while the operator is on another page shows in the header and
//! plays its sound, and stays (cleared, in the history) until acknowledged. The inspection
//! record is in `record.rs`, the screen sizes in `screens.rs`.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::{Value, json};

use super::console::Console;
use super::judging::{decided_parcel, fell_into_the_inspection_lane};

/// The judging page with a reason picked and the focus back on the page (F is a page key).
pub(super) async fn judging_ready(console: &Console<'_>) {
    console.page("judging").await;
    console
        .browser
        .visible("#page-judging select[name=reason]", "the flag reasons")
        .await
        .select_by_value("suspected_prohibited")
        .await
        .expect("pick a reason");
    console
        .browser
        .js("document.activeElement.blur();", vec![])
        .await;
}

/// The officer flags, from the strip, a parcel whose views are in but whose turn on the
/// judging view has not come (one whose waybill was read: its record is printed later);
/// the simulator drops it in the inspection lane.
pub(crate) async fn a_parcel_flagged_ahead_in_the_strip_lands_in_inspection(
    console: &Console<'_>,
) -> i64 {
    judging_ready(console).await;
    let id = console
        .browser
        .until_within(
            "a parcel ahead in the strip, its views in",
            Duration::from_secs(180),
            || async {
                // Clicked in the same script that picks it: the strip is live.
                let id = console
                    .browser
                    .js(
                        "const li = [...document.querySelectorAll('#page-judging .strip-item:not(.now):not([data-code=\"\"])')]\
                           .find((li) => li.querySelector('button.strip-flag:not([disabled])')\
                                      && li.querySelector('img[src]'));\
                         if (!li) return null;\
                         li.querySelector('button.strip-flag').click();\
                         return Number(li.dataset.parcelId);",
                        vec![],
                    )
                    .await;
                id.as_i64()
            },
        )
        .await;
    console
        .browser
        .visible(
            &format!("#page-judging .flagged[data-parcel-id=\"{id}\"]"),
            "the strip flag's confirmation",
        )
        .await;
    console.browser.screenshot("20-judging-strip-flagged").await;
    let decided = decided_parcel(console, id).await;
    assert_eq!(decided["lane_kind"], "inspection", "{decided:#}");
    fell_into_the_inspection_lane(console, &decided).await;
    id
}

/// F pressed in the last moments of a parcel, with the next one's views in: the flag is
/// for the parcel on screen when the key went down, and the one after is not flagged by it.
pub(crate) async fn f_at_a_switch_flags_the_parcel_that_was_on_screen(console: &Console<'_>) {
    judging_ready(console).await;
    let id = console
        .browser
        .until_within(
            "a parcel in its last second with the next one's views in",
            Duration::from_secs(180),
            || async {
                // Read what is on screen and press F in one go, as a hand does.
                let id = console
                    .browser
                    .js(
                        "const c = document.querySelector('#page-judging .current[data-parcel-id]');\
                         if (!c || c.querySelector('.ident .pill')) return null;\
                         const left = parseFloat(c.querySelector('.countdown b')?.textContent ?? '');\
                         const next = document.querySelector('#page-judging .strip-item:not(.now):not(.flagged)');\
                         if (!(left > 0.1 && left < 0.9) || !next) return null;\
                         const id = Number(c.dataset.parcelId);\
                         document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'f', bubbles: true }));\
                         return id;",
                        vec![],
                    )
                    .await;
                id.as_i64()
            },
        )
        .await;
    console
        .browser
        .visible(
            &format!("#page-judging .flagged[data-parcel-id=\"{id}\"]"),
            "the confirmation for the parcel that was on screen",
        )
        .await;
    // The view moved on to another parcel, which nobody flagged.
    let next = console
        .browser
        .until("the judging view to show the next parcel", || async {
            let shown = console
                .browser
                .js(
                    "const c = document.querySelector('#page-judging .current[data-parcel-id]');\
                     return c ? Number(c.dataset.parcelId) : null;",
                    vec![],
                )
                .await
                .as_i64()?;
            (shown != id).then_some(shown)
        })
        .await;
    console.browser.screenshot("21-judging-after-switch").await;
    let (status, flagged) = console
        .api("GET", &format!("/api/parcels/{id}"), &Value::Null)
        .await;
    assert_eq!(status, 200, "{flagged}");
    assert!(
        flagged["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["officer"] == super::OFFICER.0)),
        "the parcel on screen at the key is flagged: {flagged:#}"
    );
    let (_, after) = console
        .api("GET", &format!("/api/parcels/{next}"), &Value::Null)
        .await;
    assert!(
        after["flags"].as_array().is_none_or(Vec::is_empty),
        "the parcel after the switch is not flagged by that key: {after:#}"
    );
}

/// What the main X-ray canvas shows: its image and a checksum of its pixels.
const CANVAS: &str = "
    const c = document.querySelector('#page-judging .current canvas.xray');
    if (!c || !c.dataset.loaded || !c.width) return null;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum = (sum * 31 + d[i] * 3 + d[i + 1] * 5 + d[i + 2] * 7) % 1000000007;
    return { src: c.dataset.loaded, sum };
";

/// Invert, palette and zoom each change the picture's pixels (the same image before and
/// after); full screen shows the view with the waybill.
pub(crate) async fn the_image_tools_change_the_picture(console: &Console<'_>) {
    judging_ready(console).await;
    for (key, what) in [('i', "invert"), ('p', "palette"), ('+', "zoom")] {
        let mut changed = false;
        for _ in 0..5 {
            let before = console
                .browser
                .until_within("the X-ray view drawn", Duration::from_secs(120), || async {
                    let v = console.browser.js(CANVAS, vec![]).await;
                    (!v.is_null()).then_some(v)
                })
                .await;
            console.browser.press(key).await;
            let after = console
                .browser
                .until("the canvas after the key", || async {
                    let v = console.browser.js(CANVAS, vec![]).await;
                    (!v.is_null() && v != before).then_some(v)
                })
                .await;
            if after["src"] == before["src"] {
                changed = after["sum"] != before["sum"];
                break;
            }
            // The parcel switched meanwhile: undo and try on the next.
            console.browser.press('0').await;
        }
        assert!(
            changed,
            "{what} ({key}) changes the pixels of the same image"
        );
    }
    console.browser.screenshot("22-judging-image-tools").await;
    // The live strip may redraw the current parcel between finding the tool and clicking.
    console
        .browser
        .click_afresh(
            "#page-judging .current .tool-fullscreen",
            "the full-screen tool",
        )
        .await;
    let waybill = console
        .browser
        .until("the waybill in full screen", || async {
            let text = console.text_of("#xray-dialog .xray-info .ident").await?;
            (!text.trim().is_empty()).then_some(text)
        })
        .await;
    assert!(!waybill.is_empty());
    console.browser.screenshot("23-judging-fullscreen").await;
    console
        .browser
        .js("document.getElementById('xray-dialog').close();", vec![])
        .await;
    // Back to the plain look for whoever judges next in this browser.
    for key in ['0', 'i', 'p', 'p'] {
        console.browser.press(key).await;
    }
}

/// The number in the header's alarm count and how often the alarm sound started.
const BELL: &str = "
    const b = document.getElementById('alarm-bell');
    const a = document.getElementById('alarm-sound');
    return { shown: !b.hidden, count: Number(b.querySelector('.bell-count').textContent),
             plays: Number(a.dataset.plays || 0), played: a.played.length };
";

/// An e-stop pressed on the line while the operator is on the gates page: the header
/// counts it and the sound plays; once released, the alarm stays (cleared, not
/// acknowledged) on the alarm page and in the history until the operator acknowledges it.
pub(crate) async fn an_alarm_on_another_page_rings_and_stays_until_acknowledged(
    console: &Console<'_>,
    operator: &str,
) {
    console.page("gates").await;
    let before = console.browser.js(BELL, vec![]).await;
    let res = console
        .demo
        .http
        .post(format!("{}/faults", console.demo.sim))
        .json(&json!({ "kind": "estop", "duration_ms": 3000 }))
        .send()
        .await
        .expect("inject an e-stop");
    assert!(res.status().is_success(), "{:?}", res.text().await);
    let bell = console
        .browser
        .until("the alarm in the header, with its sound", || async {
            let b = console.browser.js(BELL, vec![]).await;
            (b["shown"] == true
                && b["count"].as_u64() > before["count"].as_u64()
                && (b["plays"].as_u64() > before["plays"].as_u64()
                    || b["played"].as_u64() > before["played"].as_u64()))
            .then_some(b)
        })
        .await;
    assert!(bell["count"].as_u64() >= Some(1), "{bell}");
    console.browser.screenshot("24-alarm-in-header").await;

    // Released: the alarm is cleared but stays until someone acknowledges it.
    console.page("alarms").await;
    let item = "#page-alarms .attention li.cleared[data-kind^=\"plc_fault:emergency_stop\"]";
    let li = console
        .browser
        .until_within(
            "the cleared e-stop among the alarms needing attention",
            Duration::from_secs(90),
            || async {
                let e = console
                    .browser
                    .client()
                    .find(Locator::Css(item))
                    .await
                    .ok()?;
                let id = e.attr("data-alarm-id").await.ok()??;
                Some((e, id))
            },
        )
        .await;
    let (element, alarm_id) = li;
    let text = element.text().await.unwrap_or_default();
    assert!(
        text.contains("急停"),
        "the alarm is in Chinese from its code: {text:?}"
    );
    console
        .browser
        .visible(
            &format!("#page-alarms .alarm-history tr[data-alarm-id=\"{alarm_id}\"]"),
            "the e-stop in the history",
        )
        .await;
    console
        .browser
        .screenshot("25-alarms-cleared-unacknowledged")
        .await;
    element
        .find(Locator::Css("button.ack"))
        .await
        .expect("an acknowledge button")
        .click()
        .await
        .expect("acknowledge");
    console
        .browser
        .until("the history to say who acknowledged it", || async {
            let row = console
                .text_of(&format!(
                    "#page-alarms .alarm-history tr[data-alarm-id=\"{alarm_id}\"]"
                ))
                .await?;
            row.contains(operator).then_some(())
        })
        .await;
    console
        .browser
        .until("the alarm to leave the attention list", || async {
            let gone = console
                .browser
                .client()
                .find(Locator::Css(&format!(
                    "#page-alarms .attention li[data-alarm-id=\"{alarm_id}\"]"
                )))
                .await
                .is_err();
            gone.then_some(())
        })
        .await;
    console.browser.screenshot("26-alarm-history").await;
}
