//! What the platform makes of a site's holds and bags, from the uplink it applied: the
//! bags closed (`bag`) with their waybills, the interceptions open and retrieved
//! (`interception`), the decisions revised (`decision_revised`). From that it issues exit
//! permits naming what a truck carries ([`Platform::permit_for_bags`]): every bag and every
//! waybill in it, as customs would declare the load.

use std::collections::{BTreeMap, BTreeSet};

use customs_edge_protocol::downlink::{ExitPermit, PermitItem};
use customs_edge_protocol::uplink::{self, kind};
use serde::{Deserialize, Serialize};

use super::Platform;
use super::downlink::PublishError;

/// A site's bags and holds as the platform knows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteCustody {
    /// Closed bags by number (totalPackageNo): the waybills uplinked in each, retrieved
    /// ones removed.
    pub bags: BTreeMap<String, Vec<String>>,
    /// Waybills with an open interception (dropped into a release lane while held).
    pub intercepted: BTreeSet<String>,
    /// Waybills whose interception's retrieval was recorded: out of their bags.
    pub retrieved: BTreeSet<String>,
    /// Waybills whose decision was revised before the diverter (sent to another lane).
    pub revised: BTreeSet<String>,
}

impl SiteCustody {
    /// Bags holding a parcel with an open interception.
    pub fn held_bags(&self) -> BTreeSet<&str> {
        self.bags
            .iter()
            .filter(|(_, waybills)| waybills.iter().any(|w| self.intercepted.contains(w)))
            .map(|(bag, _)| bag.as_str())
            .collect()
    }

    /// Fold one applied `decisions` message in.
    fn apply(&mut self, kind_name: &str, body: &serde_json::Value) {
        match kind_name {
            kind::BAG => {
                let Ok(bag) = serde_json::from_value::<uplink::Bag>(body.clone()) else {
                    return;
                };
                let waybills = bag
                    .parcels
                    .into_iter()
                    .filter_map(|p| p.logistics_no)
                    .filter(|w| !self.retrieved.contains(w))
                    .collect();
                self.bags.insert(bag.bag_no, waybills);
            }
            kind::INTERCEPTION => {
                let Ok(i) = serde_json::from_value::<uplink::Interception>(body.clone()) else {
                    return;
                };
                let Some(waybill) = i.logistics_no else {
                    return;
                };
                if i.state == "retrieved" {
                    self.intercepted.remove(&waybill);
                    for waybills in self.bags.values_mut() {
                        waybills.retain(|w| *w != waybill);
                    }
                    self.retrieved.insert(waybill);
                } else {
                    self.intercepted.insert(waybill);
                }
            }
            kind::DECISION_REVISED => {
                if let Some(w) = body["logistics_no"].as_str() {
                    self.revised.insert(w.to_owned());
                }
            }
            _ => {}
        }
    }
}

/// Why the platform will not issue a permit.
#[derive(Debug, thiserror::Error)]
pub enum PermitRefused {
    /// A bag the site never uplinked as closed.
    #[error("bag {0} was never reported closed by the site")]
    UnknownBag(String),
    /// A bag holding an intercepted parcel.
    #[error("bag {0} holds an intercepted parcel")]
    HeldBag(String),
}

impl Platform {
    /// A site's bags and holds, from the `decisions` uplink applied so far.
    pub fn custody(&self, site: &str) -> SiteCustody {
        let mut custody = SiteCustody::default();
        for m in self.applied(site, "decisions") {
            custody.apply(&m.kind, &m.body);
        }
        custody
    }

    /// An approved exit permit for the truck `plate` carrying `bags`: its items name each
    /// bag and each waybill in it as the site reported them. Refused for a bag the site
    /// never reported closed or one holding an intercepted parcel (customs does not
    /// approve that load).
    pub fn permit_for_bags(
        &self,
        site: &str,
        permit_no: &str,
        plate: &str,
        gross_kg: f64,
        bags: &[&str],
    ) -> Result<ExitPermit, PermitRefused> {
        let custody = self.custody(site);
        let mut items = Vec::new();
        for bag in bags {
            let waybills = custody
                .bags
                .get(*bag)
                .ok_or_else(|| PermitRefused::UnknownBag((*bag).to_owned()))?;
            if waybills.iter().any(|w| custody.intercepted.contains(w)) {
                return Err(PermitRefused::HeldBag((*bag).to_owned()));
            }
            items.push(PermitItem {
                bill_no: None,
                logistics_no: None,
                total_package_no: Some((*bag).to_owned()),
            });
            items.extend(waybills.iter().map(|w| PermitItem {
                bill_no: None,
                logistics_no: Some(w.clone()),
                total_package_no: None,
            }));
        }
        Ok(ExitPermit {
            permit_no: permit_no.to_owned(),
            vehicle_no: plate.to_owned(),
            vehicle_weight: None,
            frame_weight: None,
            container_no: None,
            container_weight: None,
            total_gross_weight: Some(gross_kg),
            status: 1,
            items,
        })
    }

    /// Issue (publish) that permit to the site.
    pub async fn issue_permit_for_bags(
        &self,
        site: &str,
        permit_no: &str,
        plate: &str,
        gross_kg: f64,
        bags: &[&str],
    ) -> anyhow::Result<ExitPermit> {
        let permit = self.permit_for_bags(site, permit_no, plate, gross_kg, bags)?;
        self.publish_permits(site, vec![permit.clone()])
            .await
            .map_err(|e: PublishError| anyhow::anyhow!("{e}"))?;
        Ok(permit)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bags_lose_retrieved_parcels_and_are_held_while_an_interception_is_open() {
        let mut c = SiteCustody::default();
        let interception = |state: &str| {
            json!({"interception_id": 1, "state": state, "parcel_id": 7,
                   "logistics_no": "SF2", "line": "L1", "lane": 1, "bag_id": 3,
                   "bag_no": null, "dropped_at": "2026-12-06T08:00:00Z", "cause": "status:500",
                   "retrieved_by": null, "retrieval_scan": null, "retrieval_reason": null,
                   "at": "2026-12-06T08:00:01Z"})
        };
        let bag = json!({"bag_id": 3, "bag_no": "ZB1", "line": "L1", "lane": 1,
            "opened_at": "2026-12-06T07:59:00Z", "closed_at": "2026-12-06T08:01:00Z",
            "closed_by": "op", "parcels": [
                {"parcel_id": 6, "logistics_no": "SF1", "declared_kg": 1.0, "measured_kg": 1.0},
                {"parcel_id": 7, "logistics_no": "SF2", "declared_kg": 1.0, "measured_kg": 1.0}]});
        c.apply(kind::INTERCEPTION, &interception("opened"));
        c.apply(kind::BAG, &bag);
        assert_eq!(c.held_bags(), BTreeSet::from(["ZB1"]));
        c.apply(kind::INTERCEPTION, &interception("retrieved"));
        assert!(c.held_bags().is_empty());
        assert_eq!(c.bags["ZB1"], ["SF1"]);
        assert!(c.retrieved.contains("SF2"));
    }
}
