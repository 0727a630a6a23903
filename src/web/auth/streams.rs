//! A cap on live-update streams (`GET /api/events`) per session: a stolen or runaway
//! session cannot hold the server's connections and memory with hundreds of streams. A
//! stream takes a [`StreamSlot`] for as long as it is open; the slot frees itself when the
//! stream is dropped (client gone, server stopping).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Live-update streams one session (or one operator token) may hold at once: a console
/// page holds one; a few tabs and a wall screen stay well under.
pub const MAX_STREAMS_PER_SESSION: usize = 8;

/// Open streams per session key.
#[derive(Debug, Default, Clone)]
pub struct StreamBook {
    /// A `std` mutex: a map update, never held across `.await`.
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream of a session; frees its place when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    book: StreamBook,
    key: String,
}

impl StreamBook {
    /// A slot for `key`, or `None` when it holds [`MAX_STREAMS_PER_SESSION`] already.
    pub fn take(&self, key: &str) -> Option<StreamSlot> {
        let mut open = self.open.lock().expect("stream book lock");
        let n = open.entry(key.to_owned()).or_insert(0);
        if *n >= MAX_STREAMS_PER_SESSION {
            return None;
        }
        *n += 1;
        Some(StreamSlot {
            book: self.clone(),
            key: key.to_owned(),
        })
    }

    /// Streams `key` holds now.
    pub fn open(&self, key: &str) -> usize {
        let open = self.open.lock().expect("stream book lock");
        open.get(key).copied().unwrap_or(0)
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.book.open.lock().expect("stream book lock");
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_holds_at_most_the_cap_and_a_closed_stream_frees_its_place() {
        let book = StreamBook::default();
        let slots: Vec<_> = (0..MAX_STREAMS_PER_SESSION)
            .map(|_| book.take("s1").unwrap())
            .collect();
        assert!(book.take("s1").is_none());
        assert!(book.take("s2").is_some(), "per session");
        drop(slots);
        assert_eq!(book.open("s1"), 0);
        assert!(book.take("s1").is_some());
    }
}
