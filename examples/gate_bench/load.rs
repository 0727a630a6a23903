//! What the bench's trucks carry: for every truck with an approved permit, bags filled on
//! line L1's release lane and closed, written through the store's own functions as the
//! line would (entry, release decision, drop into the bag, close), and the permit's items
//! naming every bag and every waybill. One in `BENCH_BIG_EVERY` (8) of them carries
//! `BENCH_BIG_BAGS` (50) bags of `BENCH_BAG_PARCELS` (100) parcels: a permit of 5,000
//! waybills; the others 2 bags of 10.
//!
//! The mix of late holds: one in six of those trucks has a parcel of its first bag held
//! after it dropped (a status change to 500, applied as the platform's downlink would:
//! an interception), and another one in six a waybill on its permit that never went
//! through the line. Those trucks may not leave: they are not entitled.
//!
//! Every loaded truck carries its bags and waybills (`VehicleSpec::load`), and the
//! simulator's custody book is told what each bag holds and which parcel customs held:
//! the gate judge counts a truck that left with held or unsorted goods as a custody
//! escape.

use std::collections::HashSet;

use customs_edge::manifest::DeclarationList;
use customs_edge::store::parcels::{self, DecisionRow};
use customs_edge::store::{Store, bags, downlink, manifests};
use customs_edge_protocol::downlink::{self as wire, Downlink, ExitPermit, PermitItem};
use customs_edge_simulators::custody::Custody;
use customs_edge_simulators::vehicles::VehicleSpec;

/// Sizes of the loads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    /// One truck in this many with an approved permit carries the big load.
    pub(crate) big_every: usize,
    /// Bags of the big load.
    pub(crate) big_bags: usize,
    /// Parcels per bag of the big load.
    pub(crate) bag_parcels: usize,
}

/// What was loaded.
#[derive(Debug, Default)]
pub(crate) struct Loads {
    /// Plates of the trucks carrying held or unsorted goods.
    pub(crate) dirty: HashSet<String>,
    /// The most waybills one permit names.
    pub(crate) max_waybills: usize,
    /// Parcels written.
    pub(crate) parcels: usize,
}

fn item(bag: Option<&str>, waybill: Option<&str>) -> PermitItem {
    PermitItem {
        bill_no: None,
        logistics_no: waybill.map(str::to_owned),
        total_package_no: bag.map(str::to_owned),
    }
}

/// Fill and close `bags` bags of `per_bag` released parcels for `truck`; their numbers
/// and waybills.
async fn fill(
    store: &Store,
    truck: usize,
    bags: usize,
    per_bag: usize,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let mut filled = Vec::new();
    for b in 0..bags {
        let bag_no = format!("ZB{truck:04}{b:03}");
        let waybills: Vec<String> = (0..per_bag)
            .map(|p| format!("SF9{truck:04}{b:03}{p:04}"))
            .collect();
        let (no, list) = (bag_no.clone(), waybills.clone());
        store
            .writer
            .write(move |tx| {
                let at = customs_edge::store::now();
                for (i, w) in list.iter().enumerate() {
                    let l = DeclarationList::from_json_line(&format!(
                        r#"{{"logisticsNo":"{w}","returnStatus":800,"grossWeight":1.0}}"#
                    ))
                    .map_err(|e| customs_edge::store::StoreError::Invalid(e.clone()))?;
                    manifests::upsert(tx, &l, "bench", &at)?;
                    let id = parcels::insert_entry(tx, "L1", (i % 60_000) as u16 + 1, &at, 300)?;
                    parcels::record_decision(
                        tx,
                        &DecisionRow {
                            parcel_id: id,
                            decided_at: &at,
                            logistics_no: Some(w),
                            read_status: "read",
                            lane: 1,
                            lane_kind: "release",
                            reasons_json: r#"["released"]"#,
                            inputs_json: "{}",
                            risk_json: "{}",
                            ebc_code: None,
                            weight_mismatch: false,
                        },
                    )?;
                    parcels::record_drop(tx, id, 1, &at, "sorted", true)?;
                }
                bags::close(tx, "L1", 1, &no, "bench")?;
                Ok(())
            })
            .await?;
        filled.push((bag_no, waybills));
    }
    Ok(filled)
}

/// Load every truck of `fleet` that has an approved permit in `permits` (by plate), set
/// its permit's items, and make the mix of late holds and unsorted waybills.
pub(crate) async fn seed(
    store: &Store,
    custody: &Custody,
    fleet: &mut [VehicleSpec],
    permits: &mut [ExitPermit],
    sizes: Sizes,
) -> anyhow::Result<Loads> {
    let mut loads = Loads::default();
    let mut loaded = 0usize;
    for truck in fleet.iter_mut() {
        let Some(permit) = permits
            .iter_mut()
            // A permit that names its load already (the demo's unsorted waybill) keeps it.
            .find(|p| p.vehicle_no == truck.plate && p.status == 1 && p.items.is_empty())
        else {
            continue;
        };
        let (bags, per_bag) = if loaded.is_multiple_of(sizes.big_every) {
            (sizes.big_bags, sizes.bag_parcels)
        } else {
            (2, 10)
        };
        let filled = fill(store, loaded, bags, per_bag).await?;
        loads.parcels += bags * per_bag;
        let mut items = Vec::new();
        let mut carried = Vec::new();
        for (bag, waybills) in &filled {
            custody.pack(bag, waybills.clone());
            items.push(item(Some(bag), None));
            items.extend(waybills.iter().map(|w| item(None, Some(w))));
            carried.extend(waybills.iter().cloned());
        }
        let bag_labels: Vec<String> = filled.iter().map(|(b, _)| b.clone()).collect();
        match loaded % 6 {
            3 if truck.entitled => {
                // Held after it dropped into its bag: the platform's status change.
                let w = filled[0].1[0].clone();
                custody.hold(&w);
                let id = format!("bench-hold-{loaded}");
                let message = Downlink::ListStatus(wire::ListStatus {
                    updates: vec![wire::StatusUpdate {
                        logistics_no: w,
                        return_status: 500,
                        return_info: None,
                    }],
                });
                store
                    .writer
                    .write(move |tx| downlink::apply(tx, &id, &message).map(drop))
                    .await?;
                truck.entitled = false;
                loads.dirty.insert(truck.plate.clone());
            }
            5 if truck.entitled => {
                let never = format!("SF8{loaded:011}");
                items.push(item(None, Some(&never)));
                carried.push(never);
                truck.entitled = false;
                loads.dirty.insert(truck.plate.clone());
            }
            _ => {}
        }
        loads.max_waybills = loads
            .max_waybills
            .max(items.iter().filter(|i| i.logistics_no.is_some()).count());
        permit.items = items;
        *truck = truck.clone().loaded(bag_labels, carried);
        loaded += 1;
    }
    Ok(loads)
}
