//! The X-ray writes each parcel's views into its line's directory, atomically.

use crate::common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{PATIENCE, Site};
use customs_edge_simulators::{LineConfig, LineSetup, SimConfig};
use serde_json::json;
use tokio::time::Instant;

/// A fresh directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("edge-sim-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn looks_like_a_view_name(name: &str) -> bool {
    // 20261127T081530123Z_L1_000042_v1.png
    let b = name.as_bytes();
    name.len() == 36
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..18].iter().all(u8::is_ascii_digit)
        && &name[18..23] == "Z_L1_"
        && b[23..29].iter().all(u8::is_ascii_digit)
        && (name.ends_with("_v1.png") || name.ends_with("_v2.png"))
}

/// Every complete image in `dir` must decode: a watcher never sees a partial one.
fn check_complete_images(dir: &Path, seen: &mut HashSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let tmp = Path::new(&name).extension().is_some_and(|e| e == "tmp");
        if tmp || seen.contains(&name) {
            continue;
        }
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        image::load_from_memory(&bytes)
            .unwrap_or_else(|e| panic!("{name} was visible before it was complete: {e}"));
        seen.insert(name);
    }
}

fn mean(img: &image::GrayImage, x0: u32, y0: u32, x1: u32, y1: u32) -> f64 {
    let mut sum = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            sum += u64::from(img.get_pixel(x, y).0[0]);
        }
    }
    sum as f64 / f64::from((x1 - x0) * (y1 - y0))
}

#[tokio::test]
async fn xray_images_appear_atomically_with_a_dense_object_darker_than_the_background() {
    let root = TempDir::new("xray");
    let site = Site::start(SimConfig {
        lines: vec![LineSetup {
            line: LineConfig {
                belt_speed_mm_s: 2000,
                ..LineConfig::default()
            },
            ..LineSetup::default()
        }],
        xray_root: Some(root.0.clone()),
        ..SimConfig::default()
    })
    .await;
    let dir = site.sim.lines[0].xray_dir.clone().unwrap();
    assert_eq!(dir, root.0.join("L1"));
    let dense = site
        .post_parcel(json!({"code": "SF1", "dense_object": true}))
        .await;
    let plain = site.post_parcel(json!({"code": "SF2"})).await;

    let mut seen = HashSet::new();
    let deadline = Instant::now() + PATIENCE;
    let report = loop {
        check_complete_images(&dir, &mut seen);
        let report = site.report().await;
        let done = [dense, plain]
            .iter()
            .all(|id| report.parcel(*id).unwrap().xray_images.len() == 2);
        if done {
            break report;
        }
        assert!(Instant::now() < deadline, "images never came: {report:#?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    check_complete_images(&dir, &mut seen);

    let d = report.parcel(dense).unwrap();
    let files: Vec<&str> = d.xray_images.iter().map(|i| i.file.as_str()).collect();
    assert!(files.iter().all(|f| looks_like_a_view_name(f)), "{files:?}");
    assert!(files[0].ends_with("_000001_v1.png") && files[1].ends_with("_000001_v2.png"));
    let entered = d.xray_entered_at.unwrap();
    let first = d.xray_images[0].written_at;
    assert!(
        (first - entered).to_std().unwrap() >= Duration::from_millis(300),
        "written before the X-ray delay"
    );
    assert_eq!(d.last_input_at, Some(d.xray_images[1].written_at));
    let p = report.parcel(plain).unwrap();
    assert!(p.xray_images[0].file.contains("_000002_"));
    let on_disk: HashSet<String> = report
        .parcels
        .iter()
        .flat_map(|p| p.xray_images.iter().map(|i| i.file.clone()))
        .collect();
    assert_eq!(
        seen, on_disk,
        "exactly the reported files are in the directory"
    );

    let img = image::open(dir.join(files[0])).unwrap().into_luma8();
    let (w, h) = img.dimensions();
    let (cx, cy) = (w / 2, h / 2);
    let centre = mean(&img, cx - 4, cy - 4, cx + 4, cy + 4);
    let corner = mean(&img, 0, 0, 12, 12);
    assert!(
        centre + 100.0 < corner,
        "dense centre {centre} vs background {corner}"
    );
    let plain_img = image::open(dir.join(&p.xray_images[0].file))
        .unwrap()
        .into_luma8();
    let plain_centre = mean(&plain_img, cx - 4, cy - 4, cx + 4, cy + 4);
    assert!(
        centre + 100.0 < plain_centre,
        "{centre} vs a plain parcel's {plain_centre}"
    );
    site.stop().await;
}

#[tokio::test]
async fn an_xray_fault_writes_no_images_for_the_parcels_it_covers() {
    let root = TempDir::new("xray-fault");
    let site = Site::start(SimConfig {
        lines: vec![LineSetup {
            line: LineConfig {
                belt_speed_mm_s: 4000,
                ..LineConfig::default()
            },
            ..LineSetup::default()
        }],
        xray_root: Some(root.0.clone()),
        ..SimConfig::default()
    })
    .await;
    let (status, _) = site
        .post(
            "/faults",
            &json!({"kind": "xray_fault", "duration_ms": 60000}),
        )
        .await;
    assert_eq!(status, 201);
    let id = site.post_parcel(json!({"code": "SF3"})).await;
    let report = site
        .report_until("the drop", |r| common::dropped(r, id))
        .await;
    let p = report.parcel(id).unwrap();
    assert!(p.xray_entered_at.is_some() && p.xray_images.is_empty());
    let dir = site.sim.lines[0].xray_dir.clone().unwrap();
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0);
    site.stop().await;
}
