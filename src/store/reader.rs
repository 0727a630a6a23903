//! A small pool of read-only connections, used off the async threads.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};

use super::StoreError;

/// Read connections opened at start and kept idle. Every line task and every console
/// request may read at once; a read that finds the pool empty opens a connection and
/// compiles its statements afresh, which cost the 10-line benchmark milliseconds per
/// decision with a pool of 4.
pub(super) const POOL_SIZE: usize = 16;

/// A `Clone` handle to the read pool.
#[derive(Clone, Debug)]
pub struct Reader {
    /// Idle connections. A `std` mutex: it is held only to pop or push, never across `.await`.
    idle: Arc<Mutex<Vec<Connection>>>,
    path: Arc<Path>,
    /// At most [`POOL_SIZE`] async reads at once. Without a cap, a burst of slow console
    /// requests grew the blocking pool to hundreds of threads, each opening a connection
    /// of its own, and the server took seconds to recover; with it, a burst queues here.
    permits: Arc<tokio::sync::Semaphore>,
}

impl Reader {
    pub(super) fn open(path: &Path, size: usize) -> Result<Self, StoreError> {
        let conns = (0..size)
            .map(|_| open_read_only(path))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            idle: Arc::new(Mutex::new(conns)),
            path: path.into(),
            permits: Arc::new(tokio::sync::Semaphore::new(size.max(1))),
        })
    }

    /// Run `f` on a read-only connection on a blocking thread, waiting for a turn when
    /// the pool's size of reads already run.
    pub async fn read<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::WriterGone)?;
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let _turn = permit;
            pool.read_blocking(f)
        })
        .await
        .map_err(|_| StoreError::WriterGone)?
    }

    /// Run `f` on a read-only connection on this thread.
    pub fn read_blocking<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let conn = self.idle.lock().expect("reader pool lock").pop();
        let conn = match conn {
            Some(conn) => conn,
            None => open_read_only(&self.path)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().expect("reader pool lock");
        if idle.len() < POOL_SIZE {
            idle.push(conn);
        }
        result
    }
}

fn open_read_only(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}
