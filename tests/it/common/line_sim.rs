//! What a test asks of the simulated line over its HTTP API: parcels put on the belt (one
//! at a time, or a feed that keeps coming), faults, and the simulator's ground truth.

use std::time::Duration;

use customs_edge_simulators::{ParcelState, Report};

use super::{Site, wait_for};

/// Inject one parcel per code into the simulator at `sim_http`, `every` apart, in the
/// background: traffic that keeps coming while a test breaks something.
pub fn feed_parcels(
    sim_http: std::net::SocketAddr,
    codes: Vec<String>,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    let http = reqwest::Client::new();
    let url = format!("http://{sim_http}/parcels");
    tokio::spawn(async move {
        for code in codes {
            let _ = http
                .post(&url)
                .json(&serde_json::json!({ "code": code }))
                .send()
                .await;
            tokio::time::sleep(every).await;
        }
    })
}

impl Site {
    /// Put a parcel on the simulated belt; returns its simulator id.
    pub async fn inject(&self, code: Option<&str>) -> u64 {
        self.inject_json(serde_json::json!({ "code": code })).await
    }

    /// Put a parcel described in the simulator's JSON (code, weight_kg, no_read, conflict …)
    /// on the belt; returns its simulator id.
    pub async fn inject_json(&self, parcel: serde_json::Value) -> u64 {
        let res = self
            .http
            .post(format!("http://{}/parcels", self.sim.http))
            .json(&parcel)
            .send()
            .await
            .expect("inject request");
        assert_eq!(
            res.status(),
            201,
            "inject refused: {}",
            res.text().await.unwrap_or_default()
        );
        res.json::<serde_json::Value>()
            .await
            .expect("inject answer")["id"]
            .as_u64()
            .expect("id")
    }

    /// The simulator's ground truth.
    pub async fn report(&self) -> Report {
        self.http
            .get(format!("http://{}/report", self.sim.http))
            .send()
            .await
            .expect("report request")
            .json()
            .await
            .expect("report JSON")
    }

    /// The simulator's ground truth as raw JSON (for fields the typed report nests deeply).
    pub async fn report_json(&self) -> serde_json::Value {
        self.http
            .get(format!("http://{}/report", self.sim.http))
            .send()
            .await
            .expect("report")
            .json()
            .await
            .expect("JSON")
    }

    /// Start a fault in the simulator (`plc_link_drop`, `estop`, `scale_fault`, `xray_fault`).
    pub async fn fault(&self, kind: &str, duration_ms: u64) {
        let res = self
            .http
            .post(format!("http://{}/faults", self.sim.http))
            .json(&serde_json::json!({ "kind": kind, "duration_ms": duration_ms }))
            .send()
            .await
            .expect("fault request");
        assert!(
            res.status().is_success(),
            "fault refused: {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// Wait until every parcel in `ids` has dropped, then return the report.
    pub async fn wait_dropped(&self, ids: &[u64]) -> Report {
        wait_for("the parcels to drop", Duration::from_secs(60), || async {
            let report = self.report().await;
            ids.iter()
                .all(|id| {
                    report
                        .parcel(*id)
                        .is_some_and(|p| p.state == ParcelState::Dropped)
                })
                .then_some(report)
        })
        .await
    }
}
