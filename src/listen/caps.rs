//! How many connections a listener holds, in total and per source address; a new one
//! beyond either cap is refused before it is served.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The listener holds `max_connections` already.
    Total,
    /// This source address holds `max_per_ip` already.
    PerIp,
}

impl Refused {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Total => "total",
            Self::PerIp => "per_ip",
        }
    }
}

/// The open connections of one listener, counted.
#[derive(Debug, Clone)]
pub(crate) struct Caps {
    max_total: usize,
    max_per_ip: usize,
    /// A `std` mutex: one map update per accept and per close, never held across `.await`.
    open: Arc<Mutex<Open>>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_ip: HashMap<IpAddr, usize>,
}

/// One admitted connection; it is counted until this is dropped.
#[derive(Debug)]
pub(crate) struct Admitted {
    ip: IpAddr,
    open: Arc<Mutex<Open>>,
}

impl Caps {
    pub(crate) fn new(max_total: u32, max_per_ip: u32) -> Self {
        Self {
            max_total: max_total as usize,
            max_per_ip: max_per_ip as usize,
            open: Arc::default(),
        }
    }

    /// Count a connection from `ip`, or say which cap it would break.
    pub(crate) fn admit(&self, ip: IpAddr) -> Result<Admitted, Refused> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(Refused::Total);
        }
        let from_ip = open.by_ip.entry(ip).or_default();
        if *from_ip >= self.max_per_ip {
            return Err(Refused::PerIp);
        }
        *from_ip += 1;
        open.total += 1;
        Ok(Admitted {
            ip,
            open: Arc::clone(&self.open),
        })
    }

    pub(crate) fn max_total(&self) -> usize {
        self.max_total
    }

    pub(crate) fn max_per_ip(&self) -> usize {
        self.max_per_ip
    }

    /// Connections open now.
    pub(crate) fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .total
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        open.total -= 1;
        if let Some(n) = open.by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cap_refuses_beyond_it_and_a_closed_connection_frees_its_place() {
        let caps = Caps::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = caps.admit(a).unwrap();
        let _second = caps.admit(a).unwrap();
        assert_eq!(caps.admit(a).unwrap_err(), Refused::PerIp);
        let _third = caps.admit(b).unwrap();
        assert_eq!(caps.admit(b).unwrap_err(), Refused::Total);
        assert_eq!(caps.open(), 3);
        drop(first);
        assert_eq!(caps.open(), 2);
        let _again = caps.admit(a).unwrap();
        assert_eq!(caps.admit(b).unwrap_err(), Refused::Total);
    }
}
