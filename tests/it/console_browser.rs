//! The consoles in headless Chromium against the running demo, as people use them: the
//! administrator is created at first start and creates the officer and the operator; the
//! officer flags a parcel in the judging view and the simulator's ground truth puts it in
//! the inspection lane; a flag after the drop opens an interception the line page rings for
//! until its retrieval is recorded; the operator closes a bag and opens its list, sees the
//! load check of a truck held by it, and overrides a held truck's barrier with a reason (and
//! the page refuses one without); the language switches to English and back; the
//! administrator revokes another desk's session from the accounts page. Every page is
//! saved as a PNG under `target/console-screenshots/<story>/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (scripts/setup.sh installs them).

mod browser;
mod console;
mod demo;
mod holds;
mod judging;
mod override_gate;
mod record;
mod screens;
mod sessions;
mod shift;

use std::io::Write as _;
use std::path::PathBuf;

use browser::Browser;
use console::{Console, type_into};
use demo::Demo;
use fantoccini::Locator;

const ADMIN: (&str, &str) = ("zhan.admin", "admin-pass-3511-w001");
const OFFICER: (&str, &str) = ("guan.li", "officer-pass-3511-w001");
const OPERATOR: (&str, &str) = ("cao.zuo", "operator-pass-3511-w001");

// Two stories, each with its own demo and browser, so they run side by side (one story
// of both took about three minutes, the longest test of the suite).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_from_first_start_to_a_flagged_parcel_and_its_interception() {
    let shots = screenshots_dir("first-start");
    let _tell = TellWhere(shots.clone());
    let demo = Demo::start_without_accounts(&shots).await;
    assert!(
        demo.logins.starts_with("none"),
        "a demo without accounts says so: {:?}",
        demo.logins
    );
    let browser = Browser::start(&shots).await;
    let console = Console {
        browser: &browser,
        demo: &demo,
    };

    the_first_start_asks_for_the_administrator(&console).await;
    the_administrator_creates_the_officer_and_the_operator(&console).await;
    the_language_switches_to_english_and_back(&console).await;
    console.log_out().await;

    let refusal = console.log_in_refused(OFFICER.0, "not-the-password").await;
    assert!(
        has_cjk(&refusal),
        "a wrong password is refused with a message in Chinese: {refusal:?}"
    );
    console.log_in(OFFICER.0, OFFICER.1).await;
    let flagged = judging::an_officer_flags_a_parcel_into_the_inspection_lane(&console).await;
    // A shift's judging: ahead in the strip, F at a switch, the image tools, the record.
    let ahead = shift::a_parcel_flagged_ahead_in_the_strip_lands_in_inspection(&console).await;
    shift::f_at_a_switch_flags_the_parcel_that_was_on_screen(&console).await;
    shift::the_image_tools_change_the_picture(&console).await;
    screens::the_flag_button_is_above_the_fold_at_1280(&console).await;
    record::an_inspection_is_saved_once_and_its_record_prints(&console, ahead, &shots).await;
    holds::an_interception_rings_on_the_line_page_until_its_retrieval(&console, OFFICER.0).await;
    console.log_out().await;

    // The administrator finds the officer's work on every page.
    console.log_in(ADMIN.0, ADMIN.1).await;
    every_page_is_saved_as_a_screenshot(&console, &flagged).await;
    console.log_out().await;

    browser.close().await;
    demo.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consoles_from_a_bag_to_an_overridden_gate_and_every_page_at_three_sizes() {
    let shots = screenshots_dir("gate-and-shift-end");
    let _tell = TellWhere(shots.clone());
    let demo = Demo::start_without_accounts(&shots).await;
    let browser = Browser::start(&shots).await;
    let console = Console {
        browser: &browser,
        demo: &demo,
    };
    // The first story creates the accounts with the pages; here the API does it.
    the_accounts_are_created_through_the_api(&console).await;

    console.log_in(OPERATOR.0, OPERATOR.1).await;
    shift::an_alarm_on_another_page_rings_and_stays_until_acknowledged(&console, OPERATOR.0).await;
    holds::an_operator_closes_a_bag_and_opens_its_list(&console).await;
    holds::the_gates_page_shows_the_failed_item_of_a_held_truck(&console).await;
    override_gate::an_operator_overrides_a_held_truck_with_a_reason(&console, OPERATOR.0, OFFICER)
        .await;
    console.log_out().await;

    // Last, with the line, the gates and the statistics full of what happened.
    console.log_in(ADMIN.0, ADMIN.1).await;
    sessions::an_administrator_revokes_a_session_on_the_accounts_page(&console, OPERATOR).await;
    screens::the_wall_screen_fits_1920_by_1080_and_updates_live(&console).await;
    screens::every_page_at_three_sizes(
        &console,
        &[
            "line",
            "judging",
            "parcels",
            "gates",
            "devices",
            "stats",
            "alarms",
            "accounts",
            "interceptions",
        ],
    )
    .await;
    console.log_out().await;

    browser.close().await;
    demo.stop();
}

/// Says where the screenshots are when the test ends, passed or failed (straight to
/// stdout: the test harness would swallow `println!` of a passing test).
struct TellWhere(PathBuf);

impl Drop for TellWhere {
    fn drop(&mut self) {
        let _ = writeln!(
            std::io::stdout(),
            "console screenshots (and the demo's and chromedriver's logs): {}",
            self.0.display()
        );
    }
}

/// `target/console-screenshots/<story>/`, emptied of an earlier run's pictures and logs.
fn screenshots_dir(story: &str) -> PathBuf {
    // The binary is target/<profile>/customs-edge, wherever the target directory is.
    let target = PathBuf::from(env!("CARGO_BIN_EXE_customs-edge"))
        .ancestors()
        .nth(2)
        .expect("the target directory")
        .to_owned();
    let dir = target.join("console-screenshots").join(story);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in std::fs::read_dir(&dir)
        .expect("list the screenshots")
        .flatten()
    {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "png" || e == "log") {
            let _ = std::fs::remove_file(path);
        }
    }
    dir
}

async fn the_first_start_asks_for_the_administrator(console: &Console<'_>) {
    console.open().await;
    let form = console.login_form().await;
    let title = console.text_of("#login-title").await.unwrap_or_default();
    assert!(
        title.contains("管理员"),
        "a fresh console asks (in Chinese) for the administrator first: {title:?}"
    );
    assert!(
        form.find(Locator::Css("input[name=display_name]"))
            .await
            .expect("a display name field")
            .is_displayed()
            .await
            .unwrap(),
        "setup asks for the administrator's display name"
    );
    type_into(&form, "input[name=display_name]", "站点管理员").await;
    console.browser.screenshot("01-first-start-setup").await;
    console.log_in(ADMIN.0, ADMIN.1).await;
    let (status, me) = console
        .api("GET", "/api/me", &serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["role"], "admin", "{me}");
    // The first start is over: a fresh page asks for a login, not for an administrator.
    console.log_out().await;
    console.open().await;
    console.login_form().await;
    let title = console.text_of("#login-title").await.unwrap_or_default();
    assert!(!title.contains("管理员"), "setup is done: {title:?}");
    console.log_in(ADMIN.0, ADMIN.1).await;
}

async fn the_administrator_creates_the_officer_and_the_operator(console: &Console<'_>) {
    let page = console.page("accounts").await;
    for ((username, password), role, name) in [
        (OFFICER, "officer", "李关员"),
        (OPERATOR, "operator", "曹操作员"),
    ] {
        let form = page
            .find(Locator::Css("form#account-create"))
            .await
            .expect("the account form");
        type_into(&form, "input[name=username]", username).await;
        type_into(&form, "input[name=display_name]", name).await;
        form.find(Locator::Css("select[name=role]"))
            .await
            .expect("the role list")
            .select_by_value(role)
            .await
            .unwrap_or_else(|e| panic!("no role {role} to pick: {e}"));
        type_into(&form, "input[name=password]", password).await;
        form.find(Locator::Css("button[type=submit]"))
            .await
            .expect("the create button")
            .click()
            .await
            .expect("click create");
        let row = format!("{username} in the accounts table");
        console
            .browser
            .until(&row, || async {
                let rows = console
                    .browser
                    .client()
                    .find_all(Locator::Css("#page-accounts table.accounts tbody tr"))
                    .await
                    .ok()?;
                for r in rows {
                    let text = r.text().await.unwrap_or_default();
                    if text.contains(username) {
                        return Some(());
                    }
                }
                None
            })
            .await;
    }
    let (status, accounts) = console
        .api("GET", "/api/accounts", &serde_json::Value::Null)
        .await;
    assert_eq!(status, 200, "{accounts}");
    for (username, role) in [(OFFICER.0, "officer"), (OPERATOR.0, "operator")] {
        assert!(
            accounts
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["username"] == username && a["role"] == role),
            "{username} is an {role}: {accounts}"
        );
    }
}

/// The administrator set up at first start and the officer and the operator created by
/// the accounts API, as a script would.
async fn the_accounts_are_created_through_the_api(console: &Console<'_>) {
    console.open().await;
    let form = console.login_form().await;
    type_into(&form, "input[name=display_name]", "站点管理员").await;
    console.log_in(ADMIN.0, ADMIN.1).await;
    for ((username, password), role) in [(OFFICER, "officer"), (OPERATOR, "operator")] {
        let account = serde_json::json!({
            "username": username,
            "display_name": username,
            "role": role,
            "password": password,
        });
        let (status, body) = console.api("POST", "/api/accounts", &account).await;
        assert_eq!(status, 201, "{username} created: {body}");
    }
    console.log_out().await;
}

fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

async fn the_language_switches_to_english_and_back(console: &Console<'_>) {
    console.page("line").await;
    assert_eq!(console.lang().await, "zh-CN", "Chinese by default");
    let chinese = console.nav_texts().await;
    assert!(
        chinese.len() >= 6 && chinese.iter().all(|t| has_cjk(t)),
        "the navigation speaks Chinese: {chinese:?}"
    );
    console
        .browser
        .visible("button#lang", "the language switch")
        .await
        .click()
        .await
        .expect("click the language switch");
    console
        .browser
        .until("the page to be in English", || async {
            (console.lang().await == "en").then_some(())
        })
        .await;
    let english = console.nav_texts().await;
    assert_eq!(english.len(), chinese.len(), "{english:?}");
    assert!(
        english
            .iter()
            .all(|t| !has_cjk(t) && t.chars().any(|c| c.is_ascii_alphabetic())),
        "the navigation speaks English: {english:?}"
    );
    console.browser.screenshot("02-line-english").await;
    console
        .browser
        .visible("button#lang", "the language switch")
        .await
        .click()
        .await
        .expect("click the language switch");
    console
        .browser
        .until("the page to be in Chinese again", || async {
            (console.lang().await == "zh-CN").then_some(())
        })
        .await;
    assert_eq!(console.nav_texts().await, chinese);
}

/// The pages as the administrator sees them: the line, parcel search and the flagged
/// parcel's detail, gates, devices, statistics, accounts. (Judging is saved by the
/// officer, the override dialog by the operator.)
async fn every_page_is_saved_as_a_screenshot(console: &Console<'_>, flagged: &judging::Flagged) {
    let line_page = console.page("line").await;
    console
        .browser
        .until("parcels on the line page", || async {
            let rows = line_page
                .find_all(Locator::Css("table.parcels-table tbody tr"))
                .await
                .ok()?;
            (rows.len() >= 3).then_some(())
        })
        .await;
    console.browser.screenshot("03-line").await;

    // Search finds the flagged parcel; its detail shows the officer's flag.
    let parcels = console.page("parcels").await;
    let form = parcels
        .find(Locator::Css("form#search-form"))
        .await
        .expect("the search form");
    type_into(&form, "input#search", &flagged.search).await;
    form.find(Locator::Css("button[type=submit]"))
        .await
        .expect("the search button")
        .click()
        .await
        .expect("search");
    let link = format!("table.results tbody a[href='#/parcels/{}']", flagged.id);
    console
        .browser
        .visible(&link, "the flagged parcel among the search results")
        .await;
    console.browser.screenshot("04-parcels").await;
    // Live events may redraw the results between finding the link and clicking it: the
    // link is found and clicked in one go.
    console
        .browser
        .until("the flagged parcel opened from the results", || async {
            let clicked = console
                .browser
                .js(
                    "const a = document.querySelector(arguments[0]); if (a) a.click(); return Boolean(a);",
                    vec![serde_json::json!(link)],
                )
                .await;
            (clicked == true).then_some(())
        })
        .await;
    console
        .browser
        .visible(
            "#page-parcels .detail-view .timeline li",
            "the parcel's timeline",
        )
        .await;
    console
        .browser
        .until("the officer's flag in the parcel's detail", || async {
            let text = console.text_of("#page-parcels .detail-view").await?;
            text.contains(OFFICER.0).then_some(())
        })
        .await;
    console.browser.screenshot("05-parcel-detail").await;

    console.page("gates").await;
    console
        .browser
        .visible("#page-gates .lane[data-gate]", "the gate lanes")
        .await;
    console.browser.screenshot("06-gates").await;

    console.page("devices").await;
    console
        .browser
        .until("devices listed", || async {
            let rows = console
                .browser
                .client()
                .find_all(Locator::Css("#page-devices table.devices tbody tr"))
                .await
                .ok()?;
            (rows.len() >= 3).then_some(())
        })
        .await;
    console.browser.screenshot("07-devices").await;

    console.page("stats").await;
    console
        .browser
        .until("the statistics drawn", || async {
            let kpis = console.text_of("#page-stats .kpis").await?;
            let charts = console
                .browser
                .client()
                .find_all(Locator::Css("#page-stats .charts canvas"))
                .await
                .ok()?;
            (!kpis.is_empty() && !charts.is_empty()).then_some(())
        })
        .await;
    console.browser.screenshot("08-stats").await;

    console.page("accounts").await;
    console
        .browser
        .visible("#page-accounts table.accounts tbody tr", "the accounts")
        .await;
    console.browser.screenshot("09-accounts").await;
}
