//! The open-file limit: raised to its hard limit at start, and the budget the listeners'
//! connection caps must leave for everything else.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
use tracing::{info, warn};

/// File handles kept for everything but the listeners' connections: the store's
/// connections (each a database, a WAL and a shared-memory file), device links, the
/// X-ray feeds' directory reads, evidence files, camera streams, the broker.
pub const RESERVED_FILES: u64 = 192;

/// The soft open-file limit before and after raising it, and the hard limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoFile {
    /// Soft limit found at start (`None`: unlimited).
    pub soft_before: Option<u64>,
    /// Soft limit now.
    pub soft: Option<u64>,
    /// Hard limit.
    pub hard: Option<u64>,
}

/// Raise the soft open-file limit to the hard one, and log both.
pub fn raise() -> NoFile {
    let before = getrlimit(Resource::Nofile);
    let mut now = before;
    if before.current != before.maximum {
        let wanted = Rlimit {
            current: before.maximum,
            maximum: before.maximum,
        };
        match setrlimit(Resource::Nofile, wanted) {
            Ok(()) => now = getrlimit(Resource::Nofile),
            Err(e) => warn!(error = %e, "could not raise the open-file limit"),
        }
    }
    let limits = NoFile {
        soft_before: before.current,
        soft: now.current,
        hard: now.maximum,
    };
    info!(
        soft_before = %show(limits.soft_before),
        soft = %show(limits.soft),
        hard = %show(limits.hard),
        "open-file limit"
    );
    limits
}

fn show(limit: Option<u64>) -> String {
    limit.map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
}

impl NoFile {
    /// How many connections the listeners may hold together: the soft limit less
    /// [`RESERVED_FILES`] (at least 16); `None` when unlimited.
    pub fn for_connections(&self) -> Option<u64> {
        self.soft
            .map(|soft| soft.saturating_sub(RESERVED_FILES).max(16))
    }
}

/// Scale `caps` (each listener's `max_connections`) down in proportion so that together
/// they fit in `budget`; unchanged when they fit.
pub fn fit(caps: &[u32], budget: Option<u64>) -> Vec<u32> {
    let total: u64 = caps.iter().map(|&c| u64::from(c)).sum();
    match budget {
        Some(budget) if total > budget => caps
            .iter()
            .map(|&c| ((u64::from(c) * budget / total).max(1)) as u32)
            .collect(),
        _ => caps.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_that_do_not_fit_the_open_file_limit_shrink_in_proportion() {
        let limits = NoFile {
            soft_before: Some(1024),
            soft: Some(1024),
            hard: Some(1024),
        };
        let budget = limits.for_connections();
        assert_eq!(budget, Some(832));
        assert_eq!(fit(&[256, 256], budget), [256, 256]);
        assert_eq!(fit(&[1024, 512], budget), [554, 277]);
        assert_eq!(fit(&[1024, 512], None), [1024, 512]);
    }

    #[test]
    fn raising_reaches_the_hard_limit() {
        let limits = raise();
        assert_eq!(limits.soft, limits.hard);
    }
}
