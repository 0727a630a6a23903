//! A full disk under the controller, for real: its data directory on a small tmpfs (tests
//! run as root mount one; elsewhere they say why they skip), a filler file taking the last
//! byte while parcels keep coming, then deleted.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use customs_edge_simulators::ParcelState;
use serde_json::Value;

use crate::common::{self, Site};

/// A tmpfs mounted on a fresh directory, unmounted (lazily: the controller may still hold
/// a file) when dropped.
struct Tmpfs {
    mount_point: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (after saying why) where this process may not mount.
    fn mount(size_mb: u32) -> Option<Self> {
        let mount_point = tempfile::tempdir().expect("temp dir");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(mount_point.path())
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Self { mount_point }),
            Ok(out) => {
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    fn path(&self) -> &Path {
        self.mount_point.path()
    }

    /// A directory on the tmpfs for the harness to keep the site's data in.
    fn data_dir(&self) -> tempfile::TempDir {
        tempfile::TempDir::new_in(self.path()).expect("a directory on the tmpfs")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.path())
            .status();
    }
}

/// Write a file of zeros until the file system refuses more; returns its size.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).expect("filler file");
    let chunk = vec![0u8; 256 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(n) if n > 0 => written += n as u64,
            _ => break,
        }
    }
    // The last partial pages too.
    while file.write(&[0u8; 512]).is_ok_and(|n| n > 0) {
        written += 512;
    }
    let _ = file.sync_all();
    written
}

async fn healthz(site: &Site) -> (u16, Value) {
    let res = site
        .http
        .get(format!("http://{}/healthz", site.controller.web_addr))
        .send()
        .await
        .expect("healthz answers");
    (res.status().as_u16(), res.json().await.expect("JSON"))
}

fn released(n: usize, prefix: &str) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:04}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_the_line_closed_with_an_alarm_and_writing_resumes_once_there_is_room() {
    let Some(tmpfs) = Tmpfs::mount(24) else {
        return;
    };
    let (before, during, after) = (released(3, "SFB"), released(200, "SFD"), released(3, "SFA"));
    let lists = before
        .iter()
        .chain(&during)
        .chain(&after)
        .map(|code| common::list(code, 800))
        .collect();
    let site = common::start_site_in(tmpfs.data_dir(), lists, |config| {
        let disk = &mut config.storage.disk;
        disk.check_interval_s = 0.2;
        disk.warn_free_pct = 30.0;
        disk.shed_bulk_free_pct = 20.0;
        disk.shed_evidence_free_pct = 10.0;
    })
    .await;

    // Before: released parcels go to the release lane, their decisions committed.
    let mut ids = Vec::new();
    for code in &before {
        ids.push(site.inject(Some(code)).await);
    }
    let report = site.wait_dropped(&ids).await;
    for id in &ids {
        assert_eq!(report.parcel(*id).unwrap().lane, Some(1), "released");
    }
    let committed_before = site.query(
        "SELECT id, logistics_no, lane_kind, decided_at FROM parcels WHERE decided_at IS NOT NULL ORDER BY id",
    );
    assert_eq!(committed_before.len(), before.len());

    // The disk fills: the watch warns (and sheds) before anything fails.
    let filler = tmpfs.path().join("filler");
    let taken = fill(&filler);
    assert!(taken > 1 << 20, "the filler took the space ({taken} bytes)");
    common::wait_for("the disk_low alarm", Duration::from_secs(30), || async {
        site.controller
            .alarms
            .is_open("disk", "disk_low")
            .then_some(())
    })
    .await;

    // Parcels keep coming until a commit fails (SQLite first uses the room its files
    // already have), then a few more while none can.
    let mut codes = during.iter();
    let mut during_ids = Vec::new();
    let body = 'fault: loop {
        let code = codes
            .next()
            .expect("a commit failed before the codes ran out");
        during_ids.push(site.inject(Some(code)).await);
        for _ in 0..15 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (status, body) = healthz(&site).await;
            if body["subsystems"]["store"]["state"] == "down" {
                assert_eq!(status, 503);
                break 'fault body;
            }
        }
    };
    let detail = body["subsystems"]["store"]["detail"]
        .as_str()
        .unwrap_or_default();
    assert!(detail.contains("full"), "healthz says why: {detail}");
    let mut in_fault = Vec::new();
    for code in codes.by_ref().take(4) {
        in_fault.push(site.inject(Some(code)).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    during_ids.extend(&in_fault);
    let report = site.wait_dropped(&during_ids).await;
    assert!(
        site.controller
            .alarms
            .is_open("store", "store_commit_failed"),
        "the store's alarm is up"
    );
    let lines: Value = site
        .http
        .get(format!("http://{}/api/lines", site.controller.web_addr))
        .send()
        .await
        .expect("the console answers while the disk is full")
        .json()
        .await
        .expect("JSON");
    let shown: Vec<&Value> = lines[0]["alarms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "store_commit_failed")
        .collect();
    // Once: from memory while the store cannot take it (a negative id), or stored if a
    // small write found room meanwhile — never both.
    assert_eq!(shown.len(), 1, "consoles show the alarm once: {lines}");
    for id in &in_fault {
        let p = report.parcel(*id).unwrap();
        assert_eq!(
            (p.lane, p.defaulted),
            (Some(3), true),
            "no lane command without a committed decision: the PLC's exception lane"
        );
    }
    // Those that left the exception lane were decided for release before the store
    // failed; a decision logged as the disk filled may reach the store only once it
    // commits again (below).
    let left_exception: Vec<String> = report
        .parcels
        .iter()
        .filter(|p| p.lane != Some(3))
        .map(|p| p.code.clone().unwrap())
        .collect();

    // Room again: writing resumes by itself, the alarms clear and reach the store.
    std::fs::remove_file(&filler).expect("filler removed");
    common::wait_for(
        "the store to commit again",
        Duration::from_secs(60),
        || async {
            let (status, _) = healthz(&site).await;
            (status == 200).then_some(())
        },
    )
    .await;
    assert!(
        !site
            .controller
            .alarms
            .is_open("store", "store_commit_failed")
    );
    assert!(!site.controller.alarms.is_open("disk", "disk_low"));
    // Nothing decided was lost: each parcel that left the exception lane has its release
    // decision in the store.
    for code in &left_exception {
        let query = format!(
            "SELECT lane_kind FROM parcels WHERE logistics_no = '{code}' AND decided_at IS NOT NULL"
        );
        let decided = common::wait_for(
            &format!("{code}'s decision in the store"),
            Duration::from_secs(30),
            || async {
                let rows = site.query(&query);
                (!rows.is_empty()).then_some(rows)
            },
        )
        .await;
        assert_eq!(
            decided,
            vec![vec![Value::from("release")]],
            "{code} left the exception lane only with a release decision"
        );
    }
    let mut after_ids = Vec::new();
    for code in &after {
        after_ids.push(site.inject(Some(code)).await);
    }
    let report = site.wait_dropped(&after_ids).await;
    for id in &after_ids {
        let p = report.parcel(*id).unwrap();
        assert_eq!(
            (p.state, p.lane),
            (ParcelState::Dropped, Some(1)),
            "released again"
        );
    }
    common::wait_for(
        "the alarms to be written",
        Duration::from_secs(30),
        || async { (site.controller.alarms.unwritten() == 0).then_some(()) },
    )
    .await;
    let history = site.query(
        "SELECT source, kind, cleared_at IS NOT NULL FROM alarms WHERE source LIKE 'controller:%' ORDER BY id",
    );
    for (source, kind) in [
        ("controller:disk", "disk_low"),
        ("controller:store", "store_commit_failed"),
    ] {
        assert!(
            history.contains(&vec![
                Value::from(source),
                Value::from(kind),
                Value::from(1)
            ]),
            "{kind} raised and cleared in the store: {history:?}"
        );
    }
    // Nothing committed before the fault was lost.
    let last_before = committed_before.last().unwrap()[0].clone();
    let still = site.query(&format!(
        "SELECT id, logistics_no, lane_kind, decided_at FROM parcels WHERE id <= {last_before} AND decided_at IS NOT NULL ORDER BY id"
    ));
    assert_eq!(still, committed_before);
    let decided_after = site.query(
        "SELECT count(*) FROM parcels WHERE lane_kind = 'release' AND logistics_no LIKE 'SFA%'",
    );
    assert_eq!(decided_after, vec![vec![Value::from(after.len() as i64)]]);
    site.stop().await;
    drop(tmpfs);
}
