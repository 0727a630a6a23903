//! Evidence files: content-addressed copies of X-ray views, camera frames and plate snapshots.
//!
//! Layout under `<data_dir>/evidence/`: `<first 2 hex>/<sha256>.<ext>` for the bytes exactly
//! as the device produced them, and `<sha256>.thumb.jpg` next to it (longest side
//! [`THUMB_SIDE`] px) for the consoles. The image is decoded when kept (that is how a junk
//! file is told apart); its thumbnail is made the first time someone asks for it
//! ([`EvidenceStore::thumbnail`]) and kept from then on: at 400 views a second, encoding a
//! thumbnail for each was a fifth of the controller's work, for pictures most of which no
//! one opens; a picture the controller made itself (a burned camera frame) comes with its
//! thumbnail ([`EvidenceStore::keep_made`]). The name is the SHA-256 of the content, so the same
//! content is kept once however often it is handed in, and a file can be checked against
//! its name at any time. Files are written to a temporary name, synced and renamed, so a
//! crash never leaves a partial file under a final name.
//!
//! A file that does not decode (junk, truncated, or a format this build has no decoder
//! for) is still kept: its raw bytes are what the device produced. It gets no thumbnail
//! and a [`Kept::decode_error`] that names the file and the reason.
//!
//! [`EvidenceStore::keep`] blocks (file I/O, hashing, decoding): run it in
//! `spawn_blocking`. The database rows are written by [`crate::store::evidence_rows`].

use std::io::{self, Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The evidence directory inside the data directory.
pub const EVIDENCE_DIR: &str = "evidence";
/// Largest file kept, by default: 50 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// Longest side of a thumbnail, in pixels.
pub const THUMB_SIDE: u32 = 256;
/// Thumbnail JPEG quality.
pub(crate) const THUMB_QUALITY: u8 = 80;
/// Widest or tallest image decoded for a thumbnail (X-ray views are a few thousand px).
const MAX_DECODE_SIDE: u32 = 30_000;
/// Most memory a decoder may take.
const MAX_DECODE_ALLOC: u64 = 1024 * 1024 * 1024;

/// What a piece of evidence shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// One view from the X-ray machine.
    XrayView,
    /// A frame from a surveillance camera.
    CameraFrame,
    /// A plate camera's snapshot of a truck.
    PlateSnapshot,
}

impl EvidenceKind {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XrayView => "xray_view",
            Self::CameraFrame => "camera_frame",
            Self::PlateSnapshot => "plate_snapshot",
        }
    }

    /// The kind with this stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::XrayView, Self::CameraFrame, Self::PlateSnapshot]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A file kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// The kept copy.
    pub path: PathBuf,
    /// The kept copy relative to the data directory: what the database stores.
    pub rel_path: PathBuf,
    /// Where its thumbnail is (made on first request, [`EvidenceStore::thumbnail`], or with
    /// it, [`EvidenceStore::keep_made`]), when the image decoded.
    pub thumb: Option<PathBuf>,
    /// Size in bytes.
    pub bytes: u64,
    /// Width in pixels, when the image decoded.
    pub width: Option<u32>,
    /// Height in pixels, when the image decoded.
    pub height: Option<u32>,
    /// What it shows.
    pub kind: EvidenceKind,
    /// Why there is no thumbnail, naming the source file; `None` when it decoded.
    pub decode_error: Option<String>,
    /// The same content was kept before (nothing was copied this time).
    pub already_kept: bool,
}

/// A picture made here, for [`EvidenceStore::keep_made`].
#[derive(Debug, Clone, Copy)]
pub struct Made<'a> {
    /// The picture as JPEG.
    pub jpeg: &'a [u8],
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
    /// Its thumbnail as JPEG.
    pub thumbnail: &'a [u8],
}

/// Why a file could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// Reading the source or writing the evidence directory failed.
    #[error("evidence {}: {op}: {source}", path.display())]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// The I/O error.
        source: io::Error,
    },
    /// The source is larger than the store keeps.
    #[error("evidence {}: {bytes} bytes is more than the {max} kept", path.display())]
    TooLarge {
        /// The source.
        path: PathBuf,
        /// Its size, or at least this much.
        bytes: u64,
        /// The largest size kept, in bytes.
        max: u64,
    },
    /// The kept file is not an image this build can make a thumbnail of.
    #[error("evidence {}: no thumbnail: {reason}", path.display())]
    NoThumbnail {
        /// The kept file.
        path: PathBuf,
        /// Why it could not be decoded or scaled.
        reason: String,
    },
}

fn io_err(path: &Path, op: &'static str) -> impl FnOnce(io::Error) -> EvidenceError {
    let path = path.to_owned();
    move |source| EvidenceError::Io { path, op, source }
}

/// The evidence files under one data directory.
#[derive(Debug, Clone)]
pub struct EvidenceStore {
    data_dir: PathBuf,
    max_bytes: u64,
}

impl EvidenceStore {
    /// The evidence store under `data_dir` (its `evidence/` directory is made on first use).
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }

    /// Keep no file larger than `max` bytes.
    #[must_use]
    pub fn with_max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = max;
        self
    }

    /// The evidence directory.
    pub fn dir(&self) -> PathBuf {
        self.data_dir.join(EVIDENCE_DIR)
    }

    /// A stored relative path (from [`Kept::rel_path`] or the database) as a full path.
    pub fn resolve(&self, rel_path: &Path) -> PathBuf {
        self.data_dir.join(rel_path)
    }

    /// Copy `source` into the store (once per content) and check that it decodes. Blocking.
    pub fn keep(&self, source: &Path, kind: EvidenceKind) -> Result<Kept, EvidenceError> {
        let file = std::fs::File::open(source).map_err(io_err(source, "open"))?;
        let len = file.metadata().map_err(io_err(source, "stat"))?.len();
        self.check_size(source, len)?;
        let mut bytes = Vec::with_capacity(len as usize);
        file.take(self.max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(io_err(source, "read"))?;
        self.check_size(source, bytes.len() as u64)?;
        self.keep_bytes(&bytes, source, kind)
    }

    /// Keep `bytes` that came from `source` (a file name or a URL, used for the extension
    /// and in messages), e.g. a snapshot received over HTTP. Blocking.
    pub fn keep_bytes(
        &self,
        bytes: &[u8],
        source: &Path,
        kind: EvidenceKind,
    ) -> Result<Kept, EvidenceError> {
        let mut kept = self.write_kept(bytes, source, kind)?;
        match decode(bytes, &normal_extension(source)) {
            Ok(image) => {
                (kept.width, kept.height) = (Some(image.width()), Some(image.height()));
                kept.thumb = Some(thumb_path_of(&kept.path));
            }
            Err(reason) => kept.decode_error = Some(format!("{}: {reason}", source.display())),
        }
        Ok(kept)
    }

    /// Keep a picture this controller made itself (a burned camera frame), with its
    /// thumbnail made from the same decoded picture: it is not decoded again, neither to
    /// check it nor for the thumbnail. Blocking.
    pub fn keep_made(
        &self,
        made: &Made<'_>,
        source: &Path,
        kind: EvidenceKind,
    ) -> Result<Kept, EvidenceError> {
        let mut kept = self.write_kept(made.jpeg, source, kind)?;
        (kept.width, kept.height) = (Some(made.width), Some(made.height));
        let thumb = thumb_path_of(&kept.path);
        if !thumb.is_file() {
            write_atomic(&thumb, made.thumbnail, Durability::Cached)?;
        }
        kept.thumb = Some(thumb);
        Ok(kept)
    }

    /// Write `bytes` under their name (once per content, synced); the picture's size and
    /// thumbnail are left for the caller.
    fn write_kept(
        &self,
        bytes: &[u8],
        source: &Path,
        kind: EvidenceKind,
    ) -> Result<Kept, EvidenceError> {
        self.check_size(source, bytes.len() as u64)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let ext = normal_extension(source);
        let rel_dir = Path::new(EVIDENCE_DIR).join(&sha256[..2]);
        let dir = self.data_dir.join(&rel_dir);
        crate::store::files::create_private_dir(&dir).map_err(io_err(&dir, "create directory"))?;
        let name = format!("{sha256}.{ext}");
        let path = dir.join(&name);
        let already_kept = std::fs::metadata(&path).is_ok_and(|m| m.len() == bytes.len() as u64);
        if !already_kept {
            write_atomic(&path, bytes, Durability::Synced)?;
        }
        Ok(Kept {
            sha256,
            rel_path: rel_dir.join(name),
            path,
            thumb: None,
            bytes: bytes.len() as u64,
            width: None,
            height: None,
            kind,
            decode_error: None,
            already_kept,
        })
    }

    /// The thumbnail of a kept image (`rel_path` as stored), made now if it was not yet.
    /// Blocking.
    pub fn thumbnail(&self, rel_path: &Path) -> Result<PathBuf, EvidenceError> {
        let path = self.resolve(rel_path);
        let thumb = thumb_path_of(&path);
        if thumb.is_file() {
            return Ok(thumb);
        }
        let bytes = std::fs::read(&path).map_err(io_err(&path, "read"))?;
        let image = decode(&bytes, &normal_extension(&path)).map_err(|reason| {
            EvidenceError::NoThumbnail {
                path: path.clone(),
                reason,
            }
        })?;
        let jpeg = thumbnail_jpeg(image).map_err(|e| EvidenceError::NoThumbnail {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        write_atomic(&thumb, &jpeg, Durability::Cached)?;
        Ok(thumb)
    }

    fn check_size(&self, path: &Path, bytes: u64) -> Result<(), EvidenceError> {
        if bytes > self.max_bytes {
            return Err(EvidenceError::TooLarge {
                path: path.to_owned(),
                bytes,
                max: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// The thumbnail that belongs next to a kept file: `<sha256>.thumb.jpg`.
pub fn thumb_path_of(kept: &Path) -> PathBuf {
    let stem = kept
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    kept.with_file_name(format!("{stem}.thumb.jpg"))
}

/// The source's extension, lower case, `jpeg` as `jpg`, `tiff` as `tif`; `bin` when it
/// has none that is safe in a file name.
fn normal_extension(source: &Path) -> String {
    let ext = source
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .filter(|e| (1..=5).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_alphanumeric()));
    match ext.as_deref() {
        None => "bin".to_owned(),
        Some("jpeg") => "jpg".to_owned(),
        Some("tiff") => "tif".to_owned(),
        Some(e) => e.to_owned(),
    }
}

fn reader<'a>(bytes: &'a [u8], ext: &str) -> image::ImageResult<ImageReader<Cursor<&'a [u8]>>> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    if let Some(format) = ImageFormat::from_extension(ext) {
        reader.set_format(format);
    }
    // The content decides over the name where its magic bytes are known.
    let mut reader = reader.with_guessed_format()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    Ok(reader)
}

/// Decode, turning a decoder panic on hostile input into an error like any other.
fn decode(bytes: &[u8], ext: &str) -> Result<DynamicImage, String> {
    let run = || reader(bytes, ext).and_then(ImageReader::decode);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(image)) => Ok(image),
        Ok(Err(e)) => Err(format!("does not decode as an image: {e}")),
        Err(_) => Err("the image decoder failed on this file".to_owned()),
    }
}

fn thumbnail_jpeg(image: DynamicImage) -> image::ImageResult<Vec<u8>> {
    let small = if image.width().max(image.height()) > THUMB_SIDE {
        image.thumbnail(THUMB_SIDE, THUMB_SIDE)
    } else {
        image
    };
    // JPEG holds 8-bit gray or RGB: X-ray views are often 16-bit gray.
    let small = if small.color().has_color() {
        DynamicImage::ImageRgb8(small.to_rgb8())
    } else {
        DynamicImage::ImageLuma8(small.to_luma8())
    };
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY);
    small.write_with_encoder(encoder)?;
    Ok(out)
}

/// Whether a write must reach the disk before `keep` returns.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    /// The evidence itself: synced, and its directory entry too.
    Synced,
    /// A thumbnail: it can be made again from the evidence, so the OS may write it later
    /// (syncing it too doubled the disk flushes of every view under load).
    Cached,
}

/// Write `bytes` to `path` through a temporary file and a rename (synced when asked).
fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> Result<(), EvidenceError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        if durability == Durability::Synced {
            file.sync_all()?;
        }
        std::fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(EvidenceError::Io {
            path: path.to_owned(),
            op: "write",
            source,
        });
    }
    // Make the rename itself durable; a directory that cannot be synced is no error.
    if durability == Durability::Cached {
        return Ok(());
    }
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
#[path = "evidence_tests.rs"]
mod tests;
