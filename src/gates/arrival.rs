//! Expected arrivals (运抵预报) as an entry gate takes them: the bills the platform says a
//! truck is bringing, with their waybills, and the CEB507 arrival report each becomes when
//! the truck passes. The store keeps them (`store::arrivals`); the gate machine only
//! carries them to the pass it records.

use customs_edge_protocol::uplink;
use serde::Serialize;

/// An expected arrival as the site holds it: a bill on a truck, with its waybills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedArrival {
    /// The carrier's bill (manifest) number; the key.
    pub bill_no: String,
    /// The plate of the truck that brings it.
    pub vehicle_no: String,
    /// When the first notice for the bill came: the order bills are expected in.
    pub received_at: String,
    /// When the last notice replaced it.
    pub updated_at: String,
    /// Its waybills, in the notice's order.
    pub items: Vec<ExpectedItem>,
}

/// One waybill of an expected arrival.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpectedItem {
    /// Waybill number.
    pub logistics_no: String,
    /// The bag or pallet it travels in.
    pub total_package_no: Option<String>,
}

impl ExpectedArrival {
    /// The CEB507 arrival report of this bill for the entry `gate_pass_id` at site
    /// `loct_no`: the body of an `arrival` uplink message.
    pub fn arrival_report(
        &self,
        gate_pass_id: i64,
        loct_no: &str,
        arrived_at: &str,
    ) -> uplink::Arrival {
        uplink::Arrival {
            gate_pass_id,
            loct_no: loct_no.to_owned(),
            vehicle_no: self.vehicle_no.clone(),
            bill_no: Some(self.bill_no.clone()),
            items: self
                .items
                .iter()
                .map(|i| uplink::ArrivalItem {
                    logistics_no: i.logistics_no.clone(),
                    total_package_no: i.total_package_no.clone(),
                })
                .collect(),
            arrived_at: arrived_at.to_owned(),
        }
    }
}
