//! The administrator ends another person's session from the accounts page: the session is
//! listed with where it came from, and after Revoke that person's next request is refused.

use fantoccini::Locator;
use reqwest::StatusCode;
use serde_json::json;

use super::console::Console;

/// `who` logs in from another client (as from another desk); the administrator, in the
/// browser, finds that session on the accounts page and revokes it.
pub(crate) async fn an_administrator_revokes_a_session_on_the_accounts_page(
    console: &Console<'_>,
    who: (&str, &str),
) {
    let base = console.demo.console.trim_end_matches('/').to_owned();
    let desk = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = desk
        .post(format!("{base}/api/login"))
        .json(&json!({ "username": who.0, "password": who.1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{} logs in at the desk",
        who.0
    );
    let me = || async {
        desk.get(format!("{base}/api/me"))
            .send()
            .await
            .unwrap()
            .status()
    };
    assert_eq!(me().await, StatusCode::OK);

    // Another page first, so that opening the accounts page reads the sessions now.
    console.page("line").await;
    let page = console.page("accounts").await;
    let row = format!("table.sessions tbody tr[data-account=\"{}\"]", who.0);
    let listed = console
        .browser
        .until(
            &format!("{}'s session on the accounts page", who.0),
            || async {
                let r = page.find(Locator::Css(&row)).await.ok()?;
                let text = r.text().await.ok()?;
                text.contains("127.0.0.1").then_some(r)
            },
        )
        .await;
    console.browser.screenshot("accounts-sessions").await;
    listed
        .find(Locator::Css("button.danger"))
        .await
        .expect("the Revoke button")
        .click()
        .await
        .expect("click Revoke");
    console
        .browser
        .until("the revoked session to be refused", || async {
            (me().await == StatusCode::UNAUTHORIZED).then_some(())
        })
        .await;
    console
        .browser
        .until("the session to leave the list", || async {
            page.find(Locator::Css(&row)).await.is_err().then_some(())
        })
        .await;
}
