//! A cap on live-update streams (`GET /api/events`) per session, and closing a session's
//! streams when it is revoked: a stolen or runaway session cannot hold the server's
//! connections and memory with hundreds of streams, nor keep watching after an
//! administrator ended it. A stream takes a [`StreamSlot`] for as long as it is open; the
//! slot frees itself when the stream is dropped (client gone, server stopping), and its
//! [`StreamSlot::closed`] fires when the session is ended here.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// Live-update streams one session (or one operator token) may hold at once: a console
/// page holds one; a few tabs and a wall screen stay well under.
pub const MAX_STREAMS_PER_SESSION: usize = 8;

/// Open streams per session key.
#[derive(Debug, Default, Clone)]
pub struct StreamBook {
    /// A `std` mutex: a map update, never held across `.await`.
    open: Arc<Mutex<HashMap<String, Entry>>>,
}

#[derive(Debug)]
struct Entry {
    streams: usize,
    /// The session's account (`None` for an operator token).
    account: Option<i64>,
    /// Fired when the session is ended: every stream of it stops.
    end: CancellationToken,
    /// Which entry this is: a slot of a closed session must not count down a new one.
    tag: Arc<()>,
}

/// One open stream of a session; frees its place when dropped.
#[derive(Debug)]
pub struct StreamSlot {
    book: StreamBook,
    key: String,
    end: CancellationToken,
    tag: Arc<()>,
}

impl StreamBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A slot for `key` (of `account`), or `None` when it holds
    /// [`MAX_STREAMS_PER_SESSION`] already.
    pub fn take(&self, key: &str, account: Option<i64>) -> Option<StreamSlot> {
        let mut open = self.lock();
        let entry = open.entry(key.to_owned()).or_insert_with(|| Entry {
            streams: 0,
            account,
            end: CancellationToken::new(),
            tag: Arc::new(()),
        });
        if entry.streams >= MAX_STREAMS_PER_SESSION {
            return None;
        }
        entry.streams += 1;
        Some(StreamSlot {
            book: self.clone(),
            key: key.to_owned(),
            end: entry.end.clone(),
            tag: Arc::clone(&entry.tag),
        })
    }

    /// Streams `key` holds now.
    pub fn open(&self, key: &str) -> usize {
        self.lock().get(key).map_or(0, |e| e.streams)
    }

    /// End every stream of session `key` now.
    pub fn close(&self, key: &str) {
        if let Some(entry) = self.lock().remove(key) {
            entry.end.cancel();
        }
    }

    /// End every stream of every session of `account` (disabled, or its password reset).
    pub fn close_account(&self, account: i64) {
        self.close_account_except(account, "");
    }

    /// End the streams of `account`'s sessions but `keep` (its password changed by its
    /// owner from that session).
    pub fn close_account_except(&self, account: i64, keep: &str) {
        self.lock().retain(|key, e| {
            let theirs = e.account == Some(account) && key != keep;
            if theirs {
                e.end.cancel();
            }
            !theirs
        });
    }
}

impl StreamSlot {
    /// Fires when the session is ended while the stream is open.
    pub fn closed(&self) -> tokio_util::sync::WaitForCancellationFutureOwned {
        self.end.clone().cancelled_owned()
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.book.lock();
        if let Some(e) = open.get_mut(&self.key)
            // A closed session's entry is gone (or new): not this slot's to count down.
            && Arc::ptr_eq(&e.tag, &self.tag)
        {
            e.streams = e.streams.saturating_sub(1);
            if e.streams == 0 {
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
            .map(|_| book.take("s1", Some(1)).unwrap())
            .collect();
        assert!(book.take("s1", Some(1)).is_none());
        assert!(book.take("s2", Some(1)).is_some(), "per session");
        drop(slots);
        assert_eq!(book.open("s1"), 0);
        assert!(book.take("s1", Some(1)).is_some());
    }

    #[test]
    fn closing_a_session_or_its_account_ends_its_streams_only() {
        let book = StreamBook::default();
        let a = book.take("s1", Some(1)).unwrap();
        let b = book.take("s2", Some(2)).unwrap();
        let c = book.take("s3", Some(1)).unwrap();
        book.close("s1");
        assert!(a.end.is_cancelled() && !b.end.is_cancelled() && !c.end.is_cancelled());
        assert_eq!(book.open("s1"), 0);
        drop(a);
        let d = book.take("s4", Some(1)).unwrap();
        book.close_account_except(1, "s4");
        assert!(c.end.is_cancelled() && !b.end.is_cancelled() && !d.end.is_cancelled());
        book.close_account(1);
        assert!(d.end.is_cancelled());
        assert_eq!(book.open("s2"), 1);
    }
}
