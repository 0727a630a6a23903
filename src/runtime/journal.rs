//! Native journal entries, each event's fields as journal fields, sent off the thread that
//! logs.
//!
//! The event is encoded where it happens (microseconds); the datagram goes to journald from
//! the log writer's thread ([`tracing_appender::non_blocking`], lossy). A journald that is
//! slow or stuck (its disk busy, its queue full) blocks only that thread: a line task that
//! logs a decision never waits for it. What does not fit the writer's queue meanwhile is
//! dropped and counted (`customs_edge_log_lines_dropped_total`).

use std::fmt::Write as _;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;

/// Where journald listens for native entries.
pub(super) const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";

/// The longest value sent; a longer one is cut (with a note) so an entry always fits one
/// datagram (Linux's default socket buffer is about 208 KiB).
const MAX_VALUE: usize = 48 * 1024;

/// journald's socket as an [`io::Write`]: each write is one entry, sent as one datagram to
/// the socket's path (not a connected socket: journald may restart and bind it anew).
pub(super) struct JournalSocket {
    socket: UnixDatagram,
    path: PathBuf,
}

impl JournalSocket {
    /// An unbound socket, after checking that something listens at `path` (an empty
    /// datagram, which journald ignores).
    pub(super) fn open(path: &Path) -> io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        socket.send_to(&[], path)?;
        Ok(Self {
            socket,
            path: path.to_owned(),
        })
    }
}

impl io::Write for JournalSocket {
    fn write(&mut self, entry: &[u8]) -> io::Result<usize> {
        self.socket.send_to(entry, &self.path)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The layer: encodes each event and hands it to `writer`.
pub(super) struct JournalLayer<W> {
    writer: W,
    /// `SYSLOG_IDENTIFIER`: the program's name, as `journalctl -t` finds it.
    identifier: String,
    /// Put before each event field's name: `line` becomes `EDGE_LINE`.
    prefix: String,
}

impl<W> JournalLayer<W> {
    pub(super) fn new(writer: W, identifier: &str, prefix: &str) -> Self {
        Self {
            writer,
            identifier: identifier.to_owned(),
            prefix: format!("{prefix}_"),
        }
    }
}

impl<S, W> tracing_subscriber::Layer<S> for JournalLayer<W>
where
    S: Subscriber,
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let entry = encode(event, &self.identifier, &self.prefix);
        // Lossy: a full queue drops the entry and counts it; it never blocks.
        let _ = io::Write::write_all(&mut self.writer.make_writer(), &entry);
    }
}

/// One event as a journal entry in the native protocol: `NAME=value\n`, or for a value
/// with a newline `NAME\n`, its length as 64-bit little-endian, the value and `\n`.
fn encode(event: &Event<'_>, identifier: &str, prefix: &str) -> Vec<u8> {
    let meta = event.metadata();
    let mut entry = Vec::with_capacity(256);
    put(&mut entry, "PRIORITY", priority(*meta.level()));
    put(&mut entry, "SYSLOG_IDENTIFIER", identifier);
    put(&mut entry, "TARGET", meta.target());
    if let Some(file) = meta.file() {
        put(&mut entry, "CODE_FILE", file);
    }
    if let Some(line) = meta.line() {
        put(&mut entry, "CODE_LINE", &line.to_string());
    }
    let mut fields = Fields {
        entry,
        prefix,
        value: String::new(),
    };
    event.record(&mut fields);
    fields.entry
}

/// syslog's priorities, as journald reads them.
fn priority(level: Level) -> &'static str {
    match level {
        Level::ERROR => "3",
        Level::WARN => "4",
        Level::INFO => "6",
        Level::DEBUG | Level::TRACE => "7",
    }
}

fn put(entry: &mut Vec<u8>, name: &str, value: &str) {
    let value = if value.len() > MAX_VALUE {
        let mut end = MAX_VALUE;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        &value[..end]
    } else {
        value
    };
    entry.extend_from_slice(name.as_bytes());
    if value.contains('\n') {
        entry.push(b'\n');
        entry.extend_from_slice(&(value.len() as u64).to_le_bytes());
        entry.extend_from_slice(value.as_bytes());
    } else {
        entry.push(b'=');
        entry.extend_from_slice(value.as_bytes());
    }
    entry.push(b'\n');
}

struct Fields<'a> {
    entry: Vec<u8>,
    prefix: &'a str,
    /// Reused for each value's text.
    value: String,
}

impl Fields<'_> {
    fn add(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            put(&mut self.entry, "MESSAGE", value);
            return;
        }
        let name = journal_name(self.prefix, field.name());
        put(&mut self.entry, &name, value);
    }
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = std::mem::take(&mut self.value);
        text.clear();
        let _ = write!(text, "{value:?}");
        self.add(field, &text);
        self.value = text;
    }
}

/// A field's journal name: the prefix, then the name in capitals with anything but A-Z,
/// 0-9 and `_` made `_` (journald refuses other names), at most 64 characters.
fn journal_name(prefix: &str, field: &str) -> String {
    let mut name = String::with_capacity(prefix.len() + field.len());
    name.push_str(prefix);
    name.extend(field.chars().map(|c| match c.to_ascii_uppercase() {
        c @ ('A'..='Z' | '0'..='9') => c,
        _ => '_',
    }));
    name.truncate(64);
    name
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
