//! The X-ray feed against a real directory: files renamed in, written in place, in
//! bursts, with junk around them, and a directory that vanishes.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use customs_edge_devices::xray::{FeedOptions, XrayEvent, XrayFeed, XrayImage};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long an expected event may take on a busy CI machine.
const WAIT: Duration = Duration::from_secs(15);
/// How long nothing more must happen to call a feed quiet: several rescans.
const QUIET: Duration = Duration::from_secs(1);

/// A directory of its own per test, removed at the end.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("xray-feed-{}-{name}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options(use_events: bool) -> FeedOptions {
    FeedOptions {
        settle: Duration::from_millis(500),
        use_events,
        rescan: Duration::from_millis(200),
        poll: Duration::from_millis(100),
        ..FeedOptions::default()
    }
}

struct Running {
    rx: mpsc::Receiver<XrayEvent>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

/// Start a feed and wait until it watches (its baseline of existing files is taken).
async fn start(dir: &Path, options: FeedOptions) -> Running {
    let (tx, rx) = mpsc::channel(256);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(XrayFeed::new(dir, options).run(tx, shutdown.clone()));
    let mut feed = Running { rx, shutdown, task };
    match feed.next().await {
        XrayEvent::Watching { .. } => feed,
        other => panic!("expected the feed to announce itself, got {other:?}"),
    }
}

impl Running {
    async fn next(&mut self) -> XrayEvent {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("an event in time")
            .expect("the feed is running")
    }

    async fn next_image(&mut self) -> XrayImage {
        loop {
            match self.next().await {
                XrayEvent::Image(image) => return image,
                XrayEvent::Watching { .. } => {}
                XrayEvent::Error { reason } => panic!("unexpected error: {reason}"),
            }
        }
    }

    async fn assert_quiet(&mut self) {
        if let Ok(Some(event)) = tokio::time::timeout(QUIET, self.rx.recv()).await {
            panic!("expected nothing more, got {event:?}");
        }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the feed stops in time")
            .unwrap();
    }
}

fn rename_in(dir: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let tmp = dir.join(&format!("{name}.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    let path = dir.join(name);
    std::fs::rename(&tmp, &path).unwrap();
    path
}

#[tokio::test]
async fn a_file_renamed_into_the_directory_is_reported_once() {
    let dir = TempDir::new("rename");
    let mut feed = start(&dir.0, options(true)).await;
    let path = rename_in(&dir, "p1-top.png", b"not even a png");
    let image = feed.next_image().await;
    assert_eq!(image.path, path);
    assert_eq!(image.bytes, 14);
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(image.produced_at, meta.modified().unwrap());
    assert!(image.detected_at >= image.produced_at);
    feed.assert_quiet().await;
    feed.stop().await;
}

async fn slow_in_place_write_is_reported_once_when_complete(use_events: bool) {
    let dir = TempDir::new(if use_events {
        "slow-events"
    } else {
        "slow-poll"
    });
    let mut feed = start(&dir.0, options(use_events)).await;
    let path = dir.join("p2-side.jpg");
    let writer_path = path.clone();
    let writer = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::create(writer_path).unwrap();
        for _ in 0..40 {
            file.write_all(&[7u8; 1000]).unwrap();
            // Pacing the writer like a slow machine, well inside the settle time.
            std::thread::sleep(Duration::from_millis(25));
        }
    });
    let image = feed.next_image().await;
    assert_eq!(image.path, path);
    assert_eq!(image.bytes, 40_000, "reported only once complete");
    writer.await.unwrap();
    assert_eq!(
        image.produced_at,
        std::fs::metadata(&path).unwrap().modified().unwrap()
    );
    feed.assert_quiet().await;
    feed.stop().await;
}

#[tokio::test]
async fn a_slow_in_place_write_is_reported_once_and_only_when_complete() {
    slow_in_place_write_is_reported_once_when_complete(true).await;
}

#[tokio::test]
async fn without_filesystem_events_a_slow_write_is_still_reported_once_when_complete() {
    slow_in_place_write_is_reported_once_when_complete(false).await;
}

#[tokio::test]
async fn other_extensions_temporary_files_dotfiles_and_directories_are_ignored() {
    let dir = TempDir::new("ignore");
    let mut feed = start(&dir.0, options(true)).await;
    std::fs::write(dir.join("notes.txt"), b"x").unwrap();
    std::fs::write(dir.join(".hidden.png"), b"x").unwrap();
    std::fs::write(dir.join("half.png.tmp"), b"x").unwrap();
    std::fs::create_dir(dir.join("folder.png")).unwrap();
    let wanted = rename_in(&dir, "p3.JPG", b"jpeg-ish");
    assert_eq!(feed.next_image().await.path, wanted);
    feed.assert_quiet().await;
    feed.stop().await;
}

#[tokio::test]
async fn a_burst_of_files_is_reported_in_full_once_each() {
    let dir = TempDir::new("burst");
    let mut feed = start(&dir.0, options(true)).await;
    let mut expected = BTreeSet::new();
    for i in 0..60 {
        let name = format!("burst-{i:03}.png");
        if i % 2 == 0 {
            expected.insert(rename_in(&dir, &name, &[1u8; 300]));
        } else {
            std::fs::write(dir.join(&name), [2u8; 300]).unwrap();
            expected.insert(dir.join(&name));
        }
    }
    let mut seen = BTreeSet::new();
    while seen.len() < expected.len() {
        let image = feed.next_image().await;
        assert!(seen.insert(image.path.clone()), "{image:?} twice");
        assert_eq!(image.bytes, 300);
    }
    assert_eq!(seen, expected);
    feed.assert_quiet().await;
    feed.stop().await;
}

#[tokio::test]
async fn files_already_there_are_left_alone_unless_asked_for() {
    let dir = TempDir::new("existing");
    let old = rename_in(&dir, "old.png", b"previous run");
    let mut feed = start(&dir.0, options(true)).await;
    let new = rename_in(&dir, "new.png", b"this run");
    assert_eq!(feed.next_image().await.path, new);
    feed.assert_quiet().await;
    feed.stop().await;

    let mut all = start(
        &dir.0,
        FeedOptions {
            include_existing: true,
            ..options(true)
        },
    )
    .await;
    let mut seen = BTreeSet::new();
    seen.insert(all.next_image().await.path);
    seen.insert(all.next_image().await.path);
    assert_eq!(seen, BTreeSet::from([old, new]));
    all.assert_quiet().await;
    all.stop().await;
}

#[tokio::test]
async fn a_missing_directory_is_created_and_watched() {
    let parent = TempDir::new("missing");
    let dir = parent.join("xray/out");
    let mut feed = start(&dir, options(true)).await;
    assert!(dir.is_dir());
    std::fs::write(dir.join("a.bmp"), b"BM").unwrap();
    assert_eq!(feed.next_image().await.path, dir.join("a.bmp"));
    feed.stop().await;
}

#[tokio::test]
async fn a_directory_removed_while_watched_is_reported_made_again_and_watched() {
    let dir = TempDir::new("vanish");
    let mut feed = start(&dir.0, options(true)).await;
    std::fs::remove_dir_all(&dir.0).unwrap();
    match feed.next().await {
        XrayEvent::Error { reason } => {
            assert!(reason.contains(&*dir.0.to_string_lossy()), "{reason}");
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while !dir.0.is_dir() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "directory not made again"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let path = rename_in(&dir, "after.tif", b"II*\0");
    // Errors may repeat while the directory is being made again; the file still arrives.
    loop {
        match feed.next().await {
            XrayEvent::Image(image) => {
                assert_eq!(image.path, path);
                break;
            }
            XrayEvent::Error { .. } | XrayEvent::Watching { .. } => {}
        }
    }
    feed.stop().await;
}
