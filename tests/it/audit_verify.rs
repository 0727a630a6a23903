//! The offline tools on a real data directory: `audit verify` finds an audit entry that
//! someone with file access edited (after dropping the trigger that forbids it), and
//! `accounts create-admin` makes an administrator from a password on standard input.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use customs_edge::store::{DB_FILE, Store, append_audit};

fn customs_edge(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run customs-edge");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn verify(dir: &Path) -> (Option<i32>, String) {
    let out = customs_edge(&["audit", "verify", "--data", dir.to_str().unwrap()], None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A data directory whose audit log has `n` officer actions.
async fn audited_store(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for i in 1..=n {
        store
            .writer
            .write(move |tx| {
                append_audit(
                    tx,
                    &customs_edge::store::now(),
                    "officer.li",
                    "flag_for_inspection",
                    &format!("parcel:{i}"),
                    &serde_json::json!({ "reason": format!("X光图像可疑 {i}") }),
                )
            })
            .await
            .unwrap();
    }
    dir
}

/// What an attacker with the database file does: drop the trigger, then write.
fn tamper(dir: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(dir.join(DB_FILE)).unwrap();
    conn.execute_batch(&format!(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; {sql}"
    ))
    .unwrap();
}

#[tokio::test]
async fn an_intact_log_verifies_with_its_count_and_head() {
    let dir = audited_store(4).await;
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("audit log OK: 4 entries"), "{text}");
    let head = customs_edge::store::audit::GENESIS;
    assert!(
        !text.contains(head),
        "the head is the last entry's hash: {text}"
    );
    let empty = tempfile::tempdir().unwrap();
    drop(Store::open(empty.path()).unwrap());
    let (code, text) = verify(empty.path());
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("0 entries"), "{text}");
}

#[tokio::test]
async fn an_edited_detail_is_named_by_its_entry_id() {
    let dir = audited_store(5).await;
    tamper(
        dir.path(),
        "UPDATE audit_log SET detail = '{\"reason\":\"看错了\"}' WHERE id = 3",
    );
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("BROKEN at entry 3"), "{text}");
    assert!(text.contains("contents do not match its hash"), "{text}");
    assert!(text.contains("2 earlier entries are intact"), "{text}");
}

#[tokio::test]
async fn an_edited_entry_re_hashed_is_caught_by_the_next_one() {
    let dir = audited_store(5).await;
    // The attacker recomputes entry 2's own hash to match the edit: entry 3 still points at
    // the old one.
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let (prev, at, subject): (String, String, String) = conn
        .query_row(
            "SELECT prev_hash, at, subject FROM audit_log WHERE id = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let detail = r#"{"reason":"nothing"}"#;
    let hash = customs_edge::store::audit::entry_hash(
        &prev,
        &at,
        "officer.li",
        "flag_for_inspection",
        &subject,
        detail,
    );
    drop(conn);
    tamper(
        dir.path(),
        &format!("UPDATE audit_log SET detail = '{detail}', hash = '{hash}' WHERE id = 2"),
    );
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("BROKEN at entry 3"), "{text}");
    assert!(text.contains("not the hash of entry 2"), "{text}");
}

#[tokio::test]
async fn a_removed_entry_is_caught_by_the_one_after_it() {
    let dir = audited_store(4).await;
    tamper(dir.path(), "DELETE FROM audit_log WHERE id = 2");
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("BROKEN at entry 3"), "{text}");
}

#[test]
fn create_admin_takes_the_password_from_stdin_and_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let weak = customs_edge(
        &["accounts", "create-admin", "--data", data],
        Some("short\n"),
    );
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10"));

    let out = customs_edge(
        &[
            "accounts",
            "create-admin",
            "--data",
            data,
            "--username",
            "root.wang",
        ],
        Some("a-long-enough-password\n"),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("root.wang"), "{stderr}");
    let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
    let (role, phc): (String, String) = conn
        .query_row(
            "SELECT role, password_hash FROM accounts WHERE username = 'root.wang'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(role, "admin");
    assert!(customs_edge::web::auth::password::verify(
        "a-long-enough-password",
        &phc
    ));
    let actor: String = conn
        .query_row(
            "SELECT actor FROM audit_log WHERE action = 'account_create'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(actor, "cli");
    drop(conn);
    let (code, text) = verify(dir.path());
    assert_eq!(code, Some(0), "{text}");

    let taken = customs_edge(
        &[
            "accounts",
            "create-admin",
            "--data",
            data,
            "--username",
            "ROOT.WANG",
        ],
        Some("another-long-password\n"),
    );
    assert!(!taken.status.success());
    assert!(String::from_utf8_lossy(&taken.stderr).contains("taken"));
}
