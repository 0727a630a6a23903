use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use tracing_subscriber::layer::SubscriberExt as _;

use super::*;

/// The fields of one native-protocol entry, as journald parses it.
fn parse(mut entry: &[u8]) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    while !entry.is_empty() {
        let end = entry
            .iter()
            .position(|&b| b == b'=' || b == b'\n')
            .expect("a field name ends with = or a newline");
        let name = String::from_utf8(entry[..end].to_vec()).unwrap();
        let value;
        if entry[end] == b'=' {
            let rest = &entry[end + 1..];
            let nl = rest
                .iter()
                .position(|&b| b == b'\n')
                .expect("a newline ends the value");
            value = rest[..nl].to_vec();
            entry = &rest[nl + 1..];
        } else {
            let rest = &entry[end + 1..];
            let len = u64::from_le_bytes(rest[..8].try_into().unwrap()) as usize;
            value = rest[8..8 + len].to_vec();
            assert_eq!(rest[8 + len], b'\n', "a newline ends a binary value");
            entry = &rest[8 + len + 1..];
        }
        fields.insert(name, String::from_utf8(value).unwrap());
    }
    fields
}

/// A socket standing in for journald's, and the controller's end of it (through the log
/// writer's thread, as in `init_tracing`, with a queue of `lines`).
fn journal(
    lines: usize,
) -> (
    tempfile::TempDir,
    UnixDatagram,
    tracing_appender::non_blocking::NonBlocking,
    tracing_appender::non_blocking::WorkerGuard,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("socket");
    let journald = UnixDatagram::bind(&path).unwrap();
    let socket = JournalSocket::open(&path).unwrap();
    let mut probe = [0_u8; 16];
    assert_eq!(journald.recv(&mut probe).unwrap(), 0, "the empty probe");
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(lines)
        .finish(socket);
    (dir, journald, writer, guard)
}

#[test]
fn an_event_is_one_entry_with_its_fields_named_for_the_journal() {
    let (_dir, journald, writer, guard) = journal(64);
    let subscriber =
        tracing_subscriber::registry().with(JournalLayer::new(writer, "customs-edge", "EDGE"));
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!(line = "L1", parcel = 42_i64, why = %"PLC said\nno", "lane command not written");
    });
    journald
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = vec![0_u8; 64 * 1024];
    let n = journald.recv(&mut buf).unwrap();
    let fields = parse(&buf[..n]);
    assert_eq!(fields["MESSAGE"], "lane command not written");
    assert_eq!(fields["PRIORITY"], "4", "warn is syslog's warning");
    assert_eq!(fields["SYSLOG_IDENTIFIER"], "customs-edge");
    assert_eq!(fields["EDGE_LINE"], "L1");
    assert_eq!(fields["EDGE_PARCEL"], "42");
    assert_eq!(
        fields["EDGE_WHY"], "PLC said\nno",
        "a value with a newline, sent binary"
    );
    assert!(
        fields["CODE_FILE"].ends_with("journal_tests.rs"),
        "{fields:?}"
    );
    drop(guard);
}

#[test]
fn a_journal_that_reads_nothing_never_blocks_the_thread_that_logs() {
    let (_dir, journald, writer, guard) = journal(16);
    let dropped = writer.error_counter();
    let subscriber =
        tracing_subscriber::registry().with(JournalLayer::new(writer, "customs-edge", "EDGE"));
    // Logging from a thread of its own: were it blocked, the wait below would say so
    // instead of hanging the test.
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        tracing::subscriber::with_default(subscriber, || {
            for parcel in 0..20_000 {
                tracing::info!(line = "L1", parcel, "lane decided");
            }
        });
        let _ = done_tx.send(());
    });
    done.recv_timeout(Duration::from_secs(120))
        .expect("logging 20,000 events while journald reads nothing returned");
    // The socket's queue filled, then the writer's; what did not fit was counted.
    assert!(dropped.dropped_lines() > 0);
    // journald wakes: what it reads is whole entries.
    let mut buf = vec![0_u8; 64 * 1024];
    let n = journald.recv(&mut buf).unwrap();
    assert_eq!(parse(&buf[..n])["MESSAGE"], "lane decided");
    drop(journald);
    drop(guard);
}

#[test]
fn field_names_are_ones_journald_accepts() {
    assert_eq!(journal_name("EDGE_", "tracking_no"), "EDGE_TRACKING_NO");
    assert_eq!(journal_name("EDGE_", "r#type"), "EDGE_R_TYPE");
    assert_eq!(journal_name("EDGE_", "車道"), "EDGE___");
    assert_eq!(journal_name("EDGE_", &"x".repeat(100)).len(), 64);
}

#[test]
fn a_long_value_is_cut_to_fit_one_datagram() {
    let mut entry = Vec::new();
    put(&mut entry, "MESSAGE", &"é".repeat(100_000));
    assert!(
        entry.len() <= MAX_VALUE + "MESSAGE=\n".len(),
        "{}",
        entry.len()
    );
    let fields = parse(&entry);
    assert!(
        fields["MESSAGE"].chars().all(|c| c == 'é'),
        "cut on a character boundary"
    );
}
