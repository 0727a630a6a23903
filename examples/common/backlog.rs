//! An outbox backlog as a site that lost its platform link for a while would have: N sort
//! results written through the same store functions the controller uses. Shared by the
//! benchmarks that drain one (`sync_backlog`, `site_bench`).

use customs_edge::store::{Store, outbox};
use customs_edge_protocol::uplink::{self, EvidenceRef, Reading, SortResult, Stream};

/// Put `n` sort results into `store`'s outbox (quota raised to hold them).
pub(crate) async fn fill(store: &Store, n: u64) -> anyhow::Result<()> {
    store
        .writer
        .write(|tx| outbox::configure(tx, true, 512 << 20))
        .await?;
    let batch = 5000;
    let mut written = 0;
    while written < n {
        let upto = (written + batch).min(n);
        let from = written;
        store
            .writer
            .write(move |tx| {
                for i in from..upto {
                    outbox::enqueue(tx, Stream::Decisions, uplink::kind::SORT_RESULT, &body(i))?;
                }
                Ok(())
            })
            .await?;
        written = upto;
    }
    Ok(())
}

/// A sort result of the size a real one has (two readings, two X-ray views, risk).
fn body(i: u64) -> SortResult {
    let at = customs_edge::store::now();
    SortResult {
        parcel_id: i as i64 + 1,
        line: "L1".into(),
        tracking_no: (i % 65_536) as i64,
        entered_at: at.clone(),
        logistics_no: Some(format!("BL{i:011}")),
        read_status: "read".into(),
        lane: 1,
        lane_kind: "release".into(),
        reasons: vec![],
        decided_at: at.clone(),
        weight_kg: Some(1.02),
        readings: vec![Reading {
            kind: "weight".into(),
            value: Some(1.02),
            unit: Some("kg".into()),
            at: at.clone(),
        }],
        evidence: (0..2)
            .map(|v| EvidenceRef {
                sha256: format!("{:064x}", i * 2 + v),
                kind: "xray_view".into(),
                role: None,
            })
            .collect(),
        risk: serde_json::json!({"weight_deviation_pct": 2.0, "unmatched": false,
            "duplicate_waybill": false, "ebc_weight_mismatches_24h": 0}),
    }
}
