//! The audit chain anchored at the platform: an override sends the chain's head uplink,
//! signed; the platform acknowledges it and exports it as a signed file; `audit verify`
//! catches a log rewritten and re-hashed before the anchor — against the anchor kept in
//! the store, and against the platform's file when the store's copy was rewritten too.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::platform::SITE;
use common::signing::TestKeys;
use common::{start_site_with, wait_for};
use customs_edge::store::append_audit;
use customs_edge::store::audit::{GENESIS, entry_hash};
use customs_edge_simulators::broker::Broker;

const LIMIT: Duration = Duration::from_secs(60);

fn verify(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["audit", "verify"])
        .args(args)
        .output()
        .expect("run customs-edge");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// What an intruder with the database does: change an actor, cut the three newest
/// entries, and recompute every hash so the chain itself is intact again.
fn rewrite_and_rehash(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;
         UPDATE audit_log SET actor = 'nobody' WHERE id = 2;
         DELETE FROM audit_log WHERE id > (SELECT max(id) - 3 FROM audit_log);",
    )
    .unwrap();
    let rows: Vec<(i64, [String; 5])> = conn
        .prepare("SELECT id, at, actor, action, coalesce(subject, ''), coalesce(detail, '') FROM audit_log ORDER BY id")
        .unwrap()
        .query_map([], |r| {
            Ok((r.get(0)?, [r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?]))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = GENESIS.to_owned();
    for (id, [at, actor, action, subject, detail]) in rows {
        let hash = entry_hash(&prev, &at, &actor, &action, &subject, &detail);
        conn.execute(
            "UPDATE audit_log SET prev_hash = ?1, hash = ?2 WHERE id = ?3",
            rusqlite::params![prev, hash, id],
        )
        .unwrap();
        prev = hash;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_rewritten_and_rehashed_before_the_anchor_fails_audit_verify() {
    let broker = Broker::start();
    let keys = TestKeys::new();
    let platform = keys.start_platform(&broker).await;
    let cfg = keys.site_config(&broker, "audit_anchor_interval_s = 0\n");
    let mut site = start_site_with(vec![], |c| c.platform = Some(cfg)).await;
    let store = site.controller.store.clone();
    for (i, action) in [
        "flag_for_inspection",
        "acknowledge_alarm",
        "flag_for_inspection",
        "acknowledge_alarm",
        "gate_override",
    ]
    .into_iter()
    .enumerate()
    {
        store
            .writer
            .write(move |tx| {
                append_audit(
                    tx,
                    &customs_edge::store::now(),
                    "officer.li",
                    action,
                    &format!("parcel:{i}"),
                    &serde_json::json!({ "reason": "test" }),
                )
            })
            .await
            .unwrap();
    }
    let head: i64 = site.query("SELECT max(id) FROM audit_log")[0][0]
        .as_i64()
        .unwrap();
    // The override sent the head at once; the platform holds it and acknowledges it.
    wait_for("the platform's anchor", LIMIT, || async {
        platform
            .anchor(SITE)
            .filter(|a| a.audit_seq == head)
            .map(drop)
    })
    .await;
    wait_for("the anchor acknowledged", LIMIT, || async {
        (!site
            .query(&format!(
                "SELECT 1 FROM audit_anchors WHERE audit_seq = {head} AND acked_at IS NOT NULL"
            ))
            .is_empty())
        .then_some(())
    })
    .await;
    // Anchors went only with the account the harness made and the override (no interval).
    let reasons: Vec<String> = site
        .query("SELECT reason FROM audit_anchors ORDER BY outbox_seq")
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons.last().map(String::as_str),
        Some("gate_override"),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .all(|r| r == "gate_override" || r.starts_with("account_")),
        "{reasons:?}"
    );
    let data = site.data.path().to_owned();
    let exported = platform.export_anchor(SITE).expect("an anchor to export");
    let files = tempfile::tempdir().unwrap();
    let anchor_file = files.path().join("anchor.json");
    std::fs::write(&anchor_file, &exported).unwrap();
    let config_file = files.path().join("site.toml");
    std::fs::write(
        &config_file,
        format!(
            "{}\n[platform]\nbroker = \"{}\"\n{}",
            common::test_config_toml(&data, "127.0.0.1:1", "127.0.0.1:1"),
            broker.url(),
            keys.site_signing_toml(&[keys.platform.public_hex()])
                .replace("[signing]", "[platform.signing]")
        ),
    )
    .unwrap();
    // Keep the data directory past the site's stop (which drops the site's TempDir).
    let kept = std::mem::replace(&mut site.data, tempfile::tempdir().unwrap());
    site.stop().await;
    let site_data = kept.path().to_owned();
    let (config, anchor) = (config_file.to_str().unwrap(), anchor_file.to_str().unwrap());

    let (code, text) = verify(&["--config", config, "--anchor", anchor]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "anchor OK: entry {head} matches the last anchor the platform acknowledged"
        )),
        "{text}"
    );
    assert!(text.contains("signature verified"), "{text}");

    // The rewrite: the chain alone says nothing is wrong, the stored anchor catches it.
    let db = site_data.join(customs_edge::store::DB_FILE);
    rewrite_and_rehash(&db);
    let (code, text) = verify(&["--config", config]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("chain intact"),
        "the chain itself re-verifies: {text}"
    );
    assert!(
        text.contains("DOES NOT MATCH") && text.contains("entries were removed"),
        "{text}"
    );

    // The intruder rewrites the stored anchor too: the platform's file still catches it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "UPDATE audit_anchors SET audit_seq = (SELECT max(id) FROM audit_log),
            hash = (SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1)",
        [],
    )
    .unwrap();
    drop(conn);
    let (code, text) = verify(&["--config", config]);
    assert_eq!(code, Some(0), "alone, the store cannot tell: {text}");
    let (code, text) = verify(&["--config", config, "--anchor", anchor]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(&format!("no entry {head}")), "{text}");

    // A forged anchor file (its hash edited) is refused before anything is checked.
    let forged = String::from_utf8(exported)
        .unwrap()
        .replacen("\"hash\":\"", "\"hash\":\"0", 1);
    std::fs::write(&anchor_file, forged).unwrap();
    let (code, text) = verify(&["--config", config, "--anchor", anchor]);
    assert_ne!(code, Some(0), "{text}");
    assert!(text.contains("not authentic"), "{text}");
}
