//! A shift at the consoles (issue 18): the officer flags a parcel ahead of its turn from
//! the judging strip and the simulator drops it in the inspection lane; F pressed as the
//! judging view switches flags the parcel that was on screen; the X-ray tools change the
//! picture; an alarm raised while the operator is on another page shows in the header and
//! plays its sound, and stays (cleared, in the history) until acknowledged; an inspection
//! result is saved once and the printed 查验记录单 holds the waybill and the views; the
//! wall screen fits 1920×1080 with no scrolling and updates live.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::wd::PrintConfiguration;
use serde_json::{Value, json};

use super::console::{Console, type_into};
use super::judging::{decided_parcel, fell_into_the_inspection_lane};

/// The judging page with a reason picked and the focus back on the page (F is a page key).
async fn judging_ready(console: &Console<'_>) {
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
    console
        .browser
        .visible(
            "#page-judging .current .tool-fullscreen",
            "the full-screen tool",
        )
        .await
        .click()
        .await
        .expect("full screen");
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

/// The officer saves an inspection result with two quick clicks: one result is kept and
/// the page confirms it; the printed record (PDF) holds the waybill and the X-ray views.
pub(crate) async fn an_inspection_is_saved_once_and_its_record_prints(
    console: &Console<'_>,
    id: i64,
    shots: &std::path::Path,
) {
    console
        .browser
        .goto(&format!("{}#/parcels/{id}", console.demo.console))
        .await;
    let form = console
        .browser
        .visible("#inspection-form", "the inspection form")
        .await;
    form.find(Locator::Css("select[name=result]"))
        .await
        .expect("the result list")
        .select_by_value("discrepancy")
        .await
        .expect("pick a result");
    type_into(
        &form,
        "textarea[name=findings]",
        "实际为蓝牙耳机两副，与申报品名不符",
    )
    .await;
    console
        .browser
        .js(
            "const b = document.querySelector('#inspection-form button[type=submit]');\
             b.click(); b.click();",
            vec![],
        )
        .await;
    console
        .browser
        .until("the saved result confirmed on screen", || async {
            let text = console.text_of("#inspection-form .form-result.ok").await?;
            (!text.is_empty()).then_some(())
        })
        .await;
    let (_, detail) = console
        .api("GET", &format!("/api/parcels/{id}"), &Value::Null)
        .await;
    assert_eq!(
        detail["inspections"].as_array().map(Vec::len),
        Some(1),
        "two clicks keep one result: {detail:#}"
    );
    // The same result sent again is answered with the kept one, not a second.
    let body = json!({ "result": "discrepancy", "findings": "实际为蓝牙耳机两副，与申报品名不符" });
    let (status, again) = console
        .api("POST", &format!("/api/parcels/{id}/inspection"), &body)
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], detail["inspections"][0]["id"]);
    console.browser.screenshot("27-inspection-saved").await;

    console
        .browser
        .visible("a.print-record", "the print link")
        .await
        .click()
        .await
        .expect("open the record");
    console
        .browser
        .until("the record drawn with its images", || async {
            let ready = console
                .browser
                .js(
                    "const r = document.getElementById('page-record');\
                     const imgs = [...r.querySelectorAll('.record-image img')];\
                     return r.dataset.ready && imgs.length && imgs.every((i) => i.complete && i.naturalWidth > 0)\
                       ? imgs.length : null;",
                    vec![],
                )
                .await;
            ready.as_u64()
        })
        .await;
    console.browser.screenshot("28-inspection-record").await;
    let pdf = console
        .browser
        .client()
        .print(PrintConfiguration::default())
        .await
        .expect("print the record to PDF");
    let path = shots.join("inspection-record.pdf");
    std::fs::write(&path, &pdf).expect("save the PDF");
    let waybill = detail["parcel"]["logistics_no"]
        .as_str()
        .expect("a waybill");
    let views = detail["evidence"]
        .as_array()
        .map_or(0, |e| e.iter().filter(|e| e["kind"] == "xray_view").count());
    assert!(views > 0, "the parcel has X-ray views: {detail:#}");
    let text = pdf_text(&path);
    assert!(
        text.contains(waybill),
        "the printed record holds the waybill {waybill}: {text}"
    );
    assert!(
        text.contains("查验记录单") && text.contains("蓝牙耳机"),
        "the printed record is the 查验记录单 with the findings: {text}"
    );
    let images = pdf_images(&path);
    assert!(
        images >= views,
        "the printed record holds the {views} X-ray views ({images} images in the PDF)"
    );
}

/// The text of a PDF (poppler's `pdftotext`, from scripts/setup.sh).
fn pdf_text(path: &std::path::Path) -> String {
    let out = std::process::Command::new("pdftotext")
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; scripts/setup.sh installs it)");
    assert!(out.status.success(), "pdftotext {}", path.display());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How many images a PDF holds (poppler's `pdfimages -list`).
fn pdf_images(path: &std::path::Path) -> usize {
    let out = std::process::Command::new("pdfimages")
        .arg("-list")
        .arg(path)
        .output()
        .expect("pdfimages (poppler-utils; scripts/setup.sh installs it)");
    assert!(out.status.success(), "pdfimages {}", path.display());
    // Two header lines, then one line per image (a soft mask has its own line, `smask`).
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(2)
        .filter(|l| l.split_whitespace().nth(2) == Some("image"))
        .count()
}

/// The wall screen at 1920×1080: no scrolling, and it updates by itself.
pub(crate) async fn the_wall_screen_fits_1920_by_1080_and_updates_live(console: &Console<'_>) {
    console.browser.size(1920, 1080).await;
    console.page("stats").await;
    console
        .browser
        .visible("#page-stats button.kiosk-toggle", "the wall-screen button")
        .await
        .click()
        .await
        .expect("wall screen");
    let status = console
        .browser
        .until("the wall screen drawn", || async {
            let kiosk = console
                .browser
                .js(
                    "return document.body.classList.contains('kiosk') \
                       && document.querySelectorAll('#page-stats .charts canvas').length >= 6;",
                    vec![],
                )
                .await;
            (kiosk == true).then_some(())?;
            console.text_of("#page-stats .stats-status").await
        })
        .await;
    let fit = console
        .browser
        .js(
            "const m = document.querySelector('main');\
             return { main: [m.scrollHeight, m.clientHeight], doc: [document.documentElement.scrollHeight, innerHeight],\
                      width: [document.documentElement.scrollWidth, innerWidth] };",
            vec![],
        )
        .await;
    let le = |pair: &Value| pair[0].as_u64() <= pair[1].as_u64().map(|v| v + 1);
    assert!(
        le(&fit["main"]) && le(&fit["doc"]) && le(&fit["width"]),
        "the wall screen does not scroll at 1920×1080: {fit}"
    );
    console.browser.screenshot("29-wall-screen-1920x1080").await;
    // Parcels keep being decided: the screen updates from the event stream, not a 30 s timer.
    console
        .browser
        .until_within(
            "the wall screen to update by itself",
            Duration::from_secs(25),
            || async {
                let now = console.text_of("#page-stats .stats-status").await?;
                (now != status).then_some(())
            },
        )
        .await;
    console
        .browser
        .visible("#page-stats button.kiosk-toggle", "the wall-screen button")
        .await
        .click()
        .await
        .expect("leave the wall screen");
}

/// Every page at the three screen sizes; at 1280 px the navigation is one row.
pub(crate) async fn every_page_at_three_sizes(console: &Console<'_>, pages: &[&str]) {
    for (w, h) in [(1280, 720), (1600, 1000), (1920, 1080)] {
        console.browser.size(w, h).await;
        for page in pages {
            console.page(page).await;
            // Let live data arrive before the picture.
            console
                .browser
                .until("the page's data", || async {
                    let busy = console
                        .text_of(&format!("#page-{page}"))
                        .await
                        .unwrap_or_default();
                    (!busy.contains("加载中")).then_some(())
                })
                .await;
            console
                .browser
                .screenshot(&format!("size-{w}x{h}-{page}"))
                .await;
        }
        let nav = console
            .browser
            .js(
                "const n = document.getElementById('nav');\
                 const tops = new Set([...n.querySelectorAll('a')].filter((a) => a.offsetParent).map((a) => a.offsetTop));\
                 return tops.size;",
                vec![],
            )
            .await;
        assert_eq!(nav, json!(1), "the navigation is one row at {w} px");
    }
}

/// At 1280×720 the officer's flag button is on screen without scrolling.
pub(crate) async fn the_flag_button_is_above_the_fold_at_1280(console: &Console<'_>) {
    console.browser.size(1280, 720).await;
    judging_ready(console).await;
    let place = console
        .browser
        .until("the flag button drawn", || async {
            let v = console
                .browser
                .js(
                    "const b = document.getElementById('flag');\
                     if (!b || !b.offsetParent) return null;\
                     document.querySelector('main').scrollTop = 0;\
                     return { bottom: b.getBoundingClientRect().bottom, height: innerHeight, width: innerWidth };",
                    vec![],
                )
                .await;
            (!v.is_null()).then_some(v)
        })
        .await;
    assert_eq!(place["width"], 1280, "{place}");
    assert_eq!(place["height"], 720, "{place}");
    assert!(
        place["bottom"].as_f64() <= place["height"].as_f64(),
        "the flag button is above the fold at 1280×720, unscrolled: {place}"
    );
    console
        .browser
        .screenshot("size-1280x720-judging-officer")
        .await;
    console.browser.size(1440, 1000).await;
}
