//! The X-ray machine's image feed: a watched directory of image files.
//!
//! The machine writes several views per parcel as image files into one directory, either
//! atomically (`x.png.tmp` renamed to `x.png`) or in place. [`XrayFeed`] reports every new
//! image file exactly once as an [`XrayEvent::Image`], once the file is complete:
//!
//! - filesystem events (inotify on Linux, through `notify`) give low latency: a rename is
//!   complete at once, a file written in place when its writer closes it or when its size
//!   and mtime have not changed for [`FeedOptions::settle`];
//! - a full rescan every [`FeedOptions::rescan`] catches what events miss (queue
//!   overflow); without events (they failed to start, or [`FeedOptions::use_events`] is
//!   off for a network filesystem that never delivers them) the rescan runs every
//!   [`FeedOptions::poll`] and is the feed;
//! - a missing or vanished directory is created again; failures are
//!   [`XrayEvent::Error`]s and the feed keeps trying with backoff.
//!
//! Which parcel an image belongs to is not decided here: the sorting line matches images
//! to parcels by their `produced_at` time.

mod feed;
mod hints;
mod scan;
mod state;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use feed::XrayFeed;

/// The image file extensions the X-ray machines write.
pub const DEFAULT_EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

/// How the feed watches its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOptions {
    /// File extensions that are images, without the dot; matched ignoring case. Files
    /// ending in `.tmp` and dotfiles are never images.
    pub extensions: Vec<String>,
    /// A file written in place is complete once its size and mtime stay unchanged this
    /// long (or when its writer closes it, where the filesystem reports that).
    pub settle: Duration,
    /// Report the image files already in the directory when the feed starts. Off by
    /// default: they belong to a previous run.
    pub include_existing: bool,
    /// Use filesystem events. Turn off on network filesystems, where writes from the
    /// machine raise no events here; the directory is then rescanned every `poll`.
    pub use_events: bool,
    /// Full rescan period while events work: a safety net for events lost to overflow.
    pub rescan: Duration,
    /// Rescan period when there are no events.
    pub poll: Duration,
    /// Reported file names remembered to report each file once. Beyond that the oldest
    /// are forgotten and files no newer than them are taken as reported.
    pub max_remembered: usize,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            extensions: DEFAULT_EXTENSIONS.iter().map(|&e| e.to_owned()).collect(),
            settle: Duration::from_millis(200),
            include_existing: false,
            use_events: true,
            rescan: Duration::from_secs(2),
            poll: Duration::from_millis(250),
            max_remembered: 100_000,
        }
    }
}

/// One complete image file from the X-ray machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrayImage {
    /// The file, inside the feed's directory.
    pub path: PathBuf,
    /// When the machine produced it: the file's mtime.
    pub produced_at: SystemTime,
    /// When the feed found it complete.
    pub detected_at: SystemTime,
    /// Its size in bytes when it was found complete.
    pub bytes: u64,
}

/// What the feed reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XrayEvent {
    /// The feed watches its directory (again): sent at start, after the baseline of
    /// existing files was taken, and whenever the way of watching changes.
    Watching {
        /// Where the X-ray machine writes its images.
        dir: PathBuf,
        /// True with filesystem events, false when only rescanning every `poll`.
        by_events: bool,
    },
    /// A new, complete image file.
    Image(XrayImage),
    /// Watching or reading the directory failed; the feed keeps trying.
    Error {
        /// What failed, naming the directory or file.
        reason: String,
    },
}
