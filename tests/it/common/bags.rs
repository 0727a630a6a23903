//! A site whose release lane has a bag-label scanner (the simulator's), and the hands that
//! work it: closing the lane's bag by scanning its label, taking a parcel back out of its
//! bag by scanning its label.

use customs_edge::config::BagScannerConfig;
use customs_edge::manifest::DeclarationList;
use customs_edge_devices::scanner::Framing;
use customs_edge_simulators::SimConfig;
use serde_json::{Value, json};

use super::Site;

/// Bag labels the site's scanner takes as such.
pub const BAG_PREFIX: &str = "ZB";

/// The simulator's bag-label scanner at `address`, as `bag-1` at the release lane.
pub fn bag_scanner(address: std::net::SocketAddr) -> BagScannerConfig {
    BagScannerConfig {
        name: "bag-1".into(),
        address: address.to_string(),
        lane: None,
        bag_prefix: BAG_PREFIX.into(),
        framing: Framing::StxEtx,
        no_read: "NoRead".into(),
        max_length: 80,
    }
}

/// [`super::start_site`] with the simulator's bag-label scanner configured at the release
/// lane as `bag-1`.
pub async fn start_site_with_bag_scanner(lists: Vec<DeclarationList>) -> Site {
    super::start_sim_and_controller(SimConfig::default(), lists, |sim, config| {
        config.lines[0]
            .bag_scanners
            .push(bag_scanner(sim.lines[0].bag));
    })
    .await
}

async fn post(site: &Site, path: &str, body: Value) -> (u16, Value) {
    let res = site
        .http
        .post(format!("http://{}{path}", site.sim.http))
        .json(&body)
        .send()
        .await
        .expect("simulator request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Someone scans bag label `bag_no` at the release lane (the simulator closes its bag and
/// the scanner sends the label): the simulator's status and answer.
pub async fn scan_bag_label(site: &Site, bag_no: &str) -> (u16, Value) {
    post(site, "/bags/close", json!({ "bag_no": bag_no })).await
}

/// Someone takes the parcel labelled `code` out of its bag and scans it at the lane.
pub async fn scan_retrieval(site: &Site, code: &str) -> (u16, Value) {
    post(site, "/bags/retrieve", json!({ "code": code })).await
}
