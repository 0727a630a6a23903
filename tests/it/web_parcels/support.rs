//! What the parcel API tests share: declaration lists with every number, JSON calls that
//! keep the status, accounts of each role, and waiting for a parcel to be sorted.

use std::time::Duration;

use customs_edge::manifest::DeclarationList;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::common::{Site, login_client, wait_for};

/// A released list of waybill `SF35000000010n`, order `SMO000000010n`, list number
/// `35112026E00000010n`, 1 kg, one goods line.
pub(crate) fn numbered_list(n: u32) -> DeclarationList {
    DeclarationList::from_json_line(&format!(
        r#"{{"logisticsNo":"{w}","invtNo":"{i}","orderNo":"{o}","tradeMode":"9610","country":"MYS",
        "ebcCode":"3511900001","ebcName":"三明跨境电商有限公司","grossWeight":1.0,"netWeight":0.9,
        "returnStatus":800,"goods":[{{"gnum":1,"itemName":"棉制T恤","gcode":"6109100021","qty":2,
        "unit":"011","price":35.0,"totalPrice":70.0,"currency":"142"}}]}}"#,
        w = waybill(n),
        i = invt_no(n),
        o = order_no(n),
    ))
    .expect("valid test list")
}

/// The waybill of list `n`.
pub(crate) fn waybill(n: u32) -> String {
    format!("SF35000000{:04}", 100 + n)
}

/// The order number of list `n`.
pub(crate) fn order_no(n: u32) -> String {
    format!("SMO00000{:05}", 100 + n)
}

/// The list number of list `n`.
pub(crate) fn invt_no(n: u32) -> String {
    format!("35112026E000000{:03}", 100 + n)
}

/// The site's API root.
pub(crate) fn base(site: &Site) -> String {
    format!("http://{}", site.controller.web_addr)
}

/// GET `path` (with `query`) as `http`: the status and the JSON body (null when none).
pub(crate) async fn get(
    http: &reqwest::Client,
    site: &Site,
    path: &str,
    query: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut url = reqwest::Url::parse(&format!("{}{path}", base(site))).expect("a URL");
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    let res = http.get(url).send().await.expect("GET");
    (res.status(), res.json().await.unwrap_or_default())
}

/// POST `body` to `path` as `http`: the status and the JSON body (null when none).
pub(crate) async fn post(
    http: &reqwest::Client,
    site: &Site,
    path: &str,
    body: &Value,
) -> (StatusCode, Value) {
    let res = http
        .post(format!("{}{path}", base(site)))
        .json(body)
        .send()
        .await
        .expect("POST");
    (res.status(), res.json().await.unwrap_or_default())
}

/// Create an account of `role` as the site's administrator and log it in.
pub(crate) async fn account(site: &Site, username: &str, role: &str) -> reqwest::Client {
    let password = format!("{username}-pass-2026");
    let (status, body) = post(
        &site.http,
        site,
        "/api/accounts",
        &json!({ "username": username, "role": role, "password": password }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "create {username}: {body}");
    login_client(site.controller.web_addr, username, &password).await
}

/// The waybills of a search page, in its order.
pub(crate) fn waybills(page: &Value) -> Vec<String> {
    page["parcels"]
        .as_array()
        .expect("parcels")
        .iter()
        .map(|p| p["logistics_no"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Wait until the parcel of `waybill` has dropped into a lane; its search hit.
pub(crate) async fn sorted(site: &Site, waybill: &str) -> Value {
    wait_for(
        &format!("{waybill} to be sorted"),
        Duration::from_secs(60),
        || async {
            let (status, page) = get(
                &site.http,
                site,
                "/api/parcels/search",
                &[("waybill", waybill)],
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            page["parcels"]
                .as_array()
                .and_then(|p| p.first())
                .filter(|p| p["outcome"] == "sorted")
                .cloned()
        },
    )
    .await
}

/// How many rows `sql` (a `SELECT count(*) …`) counts in the site's store.
pub(crate) fn count(site: &Site, sql: &str) -> i64 {
    site.query(sql)[0][0].as_i64().expect("a count")
}
