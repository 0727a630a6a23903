//! The consoles at the sizes they are used at: the wall screen at 1920×1080 updating live,
//! every page at three sizes, the officer's flag button above the fold at 1280×720.

use std::time::Duration;

use serde_json::{Value, json};

use super::console::Console;
use super::shift::judging_ready;

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
