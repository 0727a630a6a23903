//! The one-time setup code: until the first administrator exists, `POST /api/setup` from
//! anywhere but loopback must give it. It is made at each start, written to the log and to
//! `setup-code` in the data directory (owner-only), and that file is removed once an
//! administrator exists. Whoever reaches the console first from the network therefore
//! does not become administrator; whoever can read the controller's log or data directory
//! (or sits at the host) can.

use std::path::PathBuf;

use crate::store::Store;

/// The file the code is written to, in the data directory.
pub const FILE: &str = "setup-code";

/// A fresh code: 12 random hex digits in three groups (`3f9a-07c1-d2e4`).
pub fn new_code() -> String {
    let hex = hex::encode(rand::random::<[u8; 6]>());
    format!("{}-{}-{}", &hex[..4], &hex[4..8], &hex[8..])
}

/// Where the code is written: next to the database.
pub fn path(store: &Store) -> Option<PathBuf> {
    store.path().parent().map(|d| d.join(FILE))
}

/// Log the code and write it to [`FILE`] (mode 0600).
pub fn announce(store: &Store, code: &str) {
    let file = path(store);
    if let Some(file) = &file
        && let Err(e) = crate::store::files::write_private(file, code.as_bytes())
    {
        tracing::warn!(file = %file.display(), error = %e, "cannot write the setup code file");
    }
    tracing::warn!(
        setup_code = code,
        file = ?file,
        "no administrator yet: set one up from this host, or from elsewhere with this one-time \
         setup code (POST /api/setup, field setup_code; the console asks for it)"
    );
}

/// Remove [`FILE`] once an administrator exists.
pub fn retire(store: &Store) {
    if let Some(file) = path(store) {
        let _ = std::fs::remove_file(file);
    }
}
