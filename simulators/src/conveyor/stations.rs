//! The stations a parcel passes on the belt: the dynamic scale, the two scanners, the
//! X-ray tunnel entrance.

use std::time::Duration;

use super::{Conveyor, LineEvent, ScanEvent, XrayJob};

impl Conveyor {
    /// A noise sample in `-spread..=spread`.
    fn noise(&mut self, spread: u32) -> i64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x % (2 * u64::from(spread) + 1)) as i64 - i64::from(spread)
    }

    /// The dynamic scale: true weight ± max(2 g, 0.2 %); unstable during a scale fault.
    pub(super) fn weigh(&mut self, id: u64, now: Duration, events: &mut Vec<LineEvent>) {
        let stable = !self.faults.scale_faulted();
        let Some(p) = self.parcel_mut(id) else { return };
        if p.weighed.is_some() {
            return;
        }
        let (true_g, tracking_no) = (p.spec.weight_g(), p.tracking_no.unwrap_or_default());
        let noise = self.noise((true_g / 500).max(2));
        let weight_g = (i64::from(true_g) + noise).clamp(0, i64::from(u16::MAX)) as u16;
        self.status.push_weight(tracking_no, weight_g, stable);
        if let Some(p) = self.parcel_mut(id) {
            p.weighed = Some((now, weight_g, stable));
        }
        events.push(LineEvent::Weighed {
            parcel_id: id,
            tracking_no,
            weight_g,
            stable,
        });
    }

    /// Both scanners send their frames for the parcel.
    pub(super) fn scan(&mut self, id: u64, now: Duration, events: &mut Vec<LineEvent>) {
        let Some(p) = self.parcel_mut(id) else { return };
        if !p.scans.is_empty() {
            return;
        }
        for (scanner, frames) in p.frames() {
            for code in frames {
                p.scans.push((scanner, code.clone(), now));
                events.push(LineEvent::Scanned(ScanEvent {
                    parcel_id: id,
                    scanner,
                    code,
                }));
            }
        }
    }

    /// The parcel enters the X-ray tunnel; a working X-ray will write its views.
    pub(super) fn xray(&mut self, id: u64, now: Duration, events: &mut Vec<LineEvent>) {
        let writes = self.xray_enabled && !self.faults.xray_faulted();
        let (views, delay) = (
            self.config.xray_views,
            Duration::from_millis(u64::from(self.config.xray_delay_ms)),
        );
        let seq = self.xray_seq + 1;
        let Some(p) = self.parcel_mut(id) else { return };
        if p.xray_entered.is_some() {
            return;
        }
        p.xray_entered = Some(now);
        if writes {
            let job = XrayJob {
                parcel_id: id,
                seq,
                views,
                length_mm: p.spec.length_mm,
                dense_object: p.spec.dense_object,
                due: now + delay,
            };
            self.xray_seq = seq;
            events.push(LineEvent::XrayEntered(job));
        }
    }

    /// Whether the X-ray may write a due image now (it has not faulted since).
    pub fn xray_writes(&self) -> bool {
        self.xray_enabled && !self.faults.xray_faulted()
    }

    /// The X-ray wrote view `view` of parcel `parcel_id` as `file`.
    pub fn xray_written(&mut self, now: Duration, parcel_id: u64, view: u8, file: String) {
        let now = self.advance(now);
        if let Some(p) = self.parcel_mut(parcel_id) {
            p.images.push((view, file, now));
        }
    }
}
