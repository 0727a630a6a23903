//! The parcel generator: keeps a demo line busy by injecting parcels on a timer.

use std::time::Duration;

use rand::Rng;
use rand::seq::IndexedRandom;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::line::SharedLine;
use crate::parcel::NewParcel;

/// Parcel lengths the generator picks from, in mm.
const LENGTHS_MM: std::ops::RangeInclusive<u16> = 200..=600;

/// What the generator injects, and how often.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorConfig {
    /// Time between two parcels.
    pub every: Duration,
    /// Waybill codes to pick from at random; when empty, random `SF` + 12 digit codes.
    pub codes: Vec<String>,
    /// Probability (0.0..=1.0) that a parcel has an unreadable label.
    pub no_read_rate: f64,
    /// Hold the first parcel until a PLC client and a scanner client are connected (and one
    /// period more, for the client's first poll), so a controller started together with the
    /// simulator sees every parcel from the first one.
    pub wait_for_clients: bool,
}

impl GeneratorConfig {
    /// Every inconsistency, one message each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.every.is_zero() {
            out.push("generator.every must be greater than 0".to_owned());
        }
        if !(0.0..=1.0).contains(&self.no_read_rate) {
            out.push(format!(
                "generator.no_read_rate must be within 0.0..=1.0, got {}",
                self.no_read_rate
            ));
        }
        for (i, code) in self.codes.iter().enumerate() {
            let parcel = NewParcel {
                code: Some(code.clone()),
                length_mm: 400,
            };
            if let Err(err) = parcel.check() {
                out.push(format!("generator.codes[{i}] ({code:?}): {err}"));
            }
        }
        out
    }

    fn next_parcel(&self) -> NewParcel {
        let mut rng = rand::rng();
        let code = if rng.random_bool(self.no_read_rate.clamp(0.0, 1.0)) {
            None
        } else if let Some(code) = self.codes.choose(&mut rng) {
            Some(code.clone())
        } else {
            Some(format!(
                "SF{:012}",
                rng.random_range(0..1_000_000_000_000_u64)
            ))
        };
        NewParcel {
            code,
            length_mm: rng.random_range(LENGTHS_MM),
        }
    }

    /// Inject a parcel every `every` until `shutdown` fires.
    pub async fn run(self, line: SharedLine, shutdown: CancellationToken) {
        if self.wait_for_clients {
            let mut check = tokio::time::interval(Duration::from_millis(50));
            while !line.has_clients() {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = check.tick() => {}
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.every) => {}
            }
        }
        let mut interval = tokio::time::interval(self.every);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = interval.tick() => {}
            }
            let parcel = self.next_parcel();
            let code = parcel.code.clone();
            match line.with(|c, now| c.inject(now, parcel)) {
                Ok(id) => debug!(
                    id,
                    code = code.as_deref().unwrap_or("<no read>"),
                    "generated parcel"
                ),
                Err(err) => warn!(%err, "generator could not inject a parcel"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_listed_codes_or_no_read() {
        let config = GeneratorConfig {
            every: Duration::from_secs(1),
            codes: vec!["A1".into(), "B2".into()],
            no_read_rate: 0.0,
            wait_for_clients: false,
        };
        for _ in 0..50 {
            let p = config.next_parcel();
            assert!(matches!(p.code.as_deref(), Some("A1" | "B2")));
            assert!(LENGTHS_MM.contains(&p.length_mm));
        }
        let all_no_read = GeneratorConfig {
            no_read_rate: 1.0,
            ..config
        };
        assert_eq!(all_no_read.next_parcel().code, None);
    }

    #[test]
    fn bad_settings_are_all_reported() {
        let config = GeneratorConfig {
            every: Duration::ZERO,
            codes: vec!["ok".into(), "bad\u{3}".into()],
            no_read_rate: 1.5,
            wait_for_clients: false,
        };
        assert_eq!(config.problems().len(), 3, "{:?}", config.problems());
    }
}
