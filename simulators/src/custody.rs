//! The site's custody ground truth: which parcels customs holds, and what a truck that left
//! really carried. The gate judge asks it about every truck that went through: a truck that
//! left with a held parcel, a bag never filled here, or a waybill never sorted into a
//! release lane is a **custody escape**, a wrong verdict whatever its permit said.
//!
//! What is in a bag comes from the lines' own bags (the parcels that physically fell into
//! the release lane, less those taken back out), or for loads packed off the simulated line
//! (a bench that seeds thousands of parcels) from [`Custody::pack`]. What is held comes from
//! [`Custody::hold`]: a scenario's `[[hold]]`, `POST /holds`, or a test that has the
//! platform change a status after the release.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::line::SharedLine;

/// What a truck carries, as the one who loaded it knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleLoad {
    /// Bag labels (totalPackageNo) it carries.
    #[serde(default)]
    pub bags: Vec<String>,
    /// Loose parcels it carries, by waybill.
    #[serde(default)]
    pub waybills: Vec<String>,
}

/// A `Clone` handle to the site's custody book.
#[derive(Debug, Clone, Default)]
pub struct Custody {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    lines: Vec<SharedLine>,
    /// A `std` mutex: a few set operations, never held across an `.await`.
    book: Mutex<Book>,
}

#[derive(Debug, Default)]
struct Book {
    held: HashSet<String>,
    /// Bags packed off the simulated lines: label → waybills.
    packed: HashMap<String, Vec<String>>,
    /// Their waybills, sorted into a release lane off the simulated lines.
    packed_waybills: HashSet<String>,
}

impl Custody {
    /// The book of a site of `lines`.
    pub fn new(lines: Vec<SharedLine>) -> Self {
        Self {
            inner: Arc::new(Inner {
                lines,
                book: Mutex::default(),
            }),
        }
    }

    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.inner
            .book
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Customs holds the parcel labelled `code` (a status leaving 800, an inspection or
    /// hold instruction, an officer's flag), from now on.
    pub fn hold(&self, code: &str) {
        self.book().held.insert(code.to_owned());
    }

    /// Customs releases `code` again.
    pub fn release(&self, code: &str) {
        self.book().held.remove(code);
    }

    /// Whether `code` is held.
    pub fn is_held(&self, code: &str) -> bool {
        self.book().held.contains(code)
    }

    /// A bag labelled `bag_no` packed off the simulated lines with these waybills, each
    /// sorted into a release lane (a bench seeding its loads).
    pub fn pack(&self, bag_no: &str, waybills: Vec<String>) {
        let mut book = self.book();
        book.packed_waybills.extend(waybills.iter().cloned());
        book.packed.insert(bag_no.to_owned(), waybills);
    }

    /// What is wrong with a load that left the site: one line per held, unsorted or unknown
    /// thing it carried; empty when it carried only released goods sorted here.
    pub fn problems(&self, load: &VehicleLoad) -> Vec<String> {
        let mut out = Vec::new();
        for bag_no in &load.bags {
            let contents = self
                .inner
                .lines
                .iter()
                .find_map(|l| l.with(|c, _| c.bag_codes(bag_no)))
                .or_else(|| {
                    self.book()
                        .packed
                        .get(bag_no)
                        .map(|w| w.iter().cloned().map(Some).collect())
                });
            let Some(codes) = contents else {
                out.push(format!("bag {bag_no} was never filled here"));
                continue;
            };
            for code in codes {
                match code {
                    None => out.push(format!("bag {bag_no} carries a parcel without a label")),
                    Some(code) if self.is_held(&code) => {
                        out.push(format!("bag {bag_no} carries held parcel {code}"));
                    }
                    Some(_) => {}
                }
            }
        }
        for code in &load.waybills {
            if self.is_held(code) {
                out.push(format!("waybill {code} is held"));
            } else if !self.sorted(code) {
                out.push(format!(
                    "waybill {code} was never sorted into a release lane"
                ));
            }
        }
        out
    }

    fn sorted(&self, code: &str) -> bool {
        self.book().packed_waybills.contains(code)
            || self
                .inner
                .lines
                .iter()
                .any(|l| l.with(|c, _| c.in_release_lane(code)))
    }
}
