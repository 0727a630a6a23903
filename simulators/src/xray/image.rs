//! Synthetic X-ray views: plain pixels and PNG bytes, no I/O.
//!
//! A view is an 8-bit grayscale image the way transmission X-ray looks: a bright
//! background (nothing absorbs), the parcel as a darker box with a dark outline (its
//! cardboard walls), and for a parcel with a dense object a much darker blob inside the
//! box. Light noise keeps the images from being trivially identical. View 1 is the top
//! view, view 2 the side view (a flatter box), further views alternate.

use chrono::{DateTime, Utc};
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};
use serde::{Deserialize, Serialize};

/// Gray level of empty tunnel.
pub const BACKGROUND: u8 = 220;
/// Gray level inside a parcel.
pub const BOX_FILL: u8 = 165;
/// Gray level of a parcel's outline.
pub const OUTLINE: u8 = 70;
/// Gray level of a dense object.
pub const DENSE: u8 = 25;
/// Noise amplitude: levels are within ± this.
const NOISE: u8 = 3;
/// Tunnel length shown across the image width, in mm.
const FIELD_MM: u32 = 1000;

/// Size of the X-ray images in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSize {
    /// Width (along the belt).
    pub width: u32,
    /// Height (across the belt).
    pub height: u32,
}

impl Default for ImageSize {
    fn default() -> Self {
        Self {
            width: 320,
            height: 240,
        }
    }
}

impl ImageSize {
    /// What is wrong with this size, if anything (16×16 up to 4096×4096).
    pub fn problem(&self) -> Option<String> {
        let ok = |n: u32| (16..=4096).contains(&n);
        (!ok(self.width) || !ok(self.height)).then(|| {
            format!(
                "X-ray image size {}x{} must be within 16x16..=4096x4096",
                self.width, self.height
            )
        })
    }
}

/// The file name of a view: `<UTC time with ms>_<line>_<seq>_v<view>.png`, e.g.
/// `20261127T081530123Z_L1_000042_v1.png` (no colons, sorts by time).
pub fn file_name(at: DateTime<Utc>, line: &str, seq: u64, view: u8) -> String {
    format!(
        "{}_{line}_{seq:06}_v{view}.png",
        at.format("%Y%m%dT%H%M%S%3fZ")
    )
}

/// The box of a parcel of `length_mm` in a view: (x0, y0, x1, y1), exclusive ends.
pub fn parcel_box(size: ImageSize, length_mm: u16, view: u8) -> (u32, u32, u32, u32) {
    let (w, h) = (size.width, size.height);
    let box_w = (u32::from(length_mm) * w * 4 / 5 / FIELD_MM).clamp(w / 10, w * 9 / 10);
    let box_h = if view % 2 == 1 { h / 2 } else { h * 7 / 20 };
    let (x0, y0) = ((w - box_w) / 2, (h - box_h) / 2);
    (x0, y0, x0 + box_w, y0 + box_h)
}

/// The pixels (row-major, one byte each) of view `view` of a parcel.
pub fn render(size: ImageSize, length_mm: u16, dense: bool, view: u8, seed: u64) -> Vec<u8> {
    let (w, h) = (size.width, size.height);
    let (x0, y0, x1, y1) = parcel_box(size, length_mm, view);
    let border = (w.min(h) / 80).max(2);
    // The dense blob: an ellipse around the box centre, a fifth of the box wide.
    let (cx, cy) = (f64::from(x0 + x1) / 2.0, f64::from(y0 + y1) / 2.0);
    let rx = (f64::from(x1 - x0) / 5.0).max(3.0);
    let ry = (f64::from(y1 - y0) / 4.0).max(3.0);
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut pixels = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let inside = (x0..x1).contains(&x) && (y0..y1).contains(&y);
            let edge = inside
                && (x < x0 + border || x >= x1 - border || y < y0 + border || y >= y1 - border);
            let base = if !inside {
                BACKGROUND
            } else if edge {
                OUTLINE
            } else if dense && {
                let (dx, dy) = ((f64::from(x) - cx) / rx, (f64::from(y) - cy) / ry);
                dx * dx + dy * dy <= 1.0
            } {
                DENSE
            } else {
                BOX_FILL
            };
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let noise = (rng % u64::from(2 * NOISE + 1)) as u8;
            pixels.push((base - NOISE).saturating_add(noise));
        }
    }
    pixels
}

/// PNG bytes of 8-bit grayscale `pixels` (fast compression: the X-ray writes many).
pub fn encode_png(size: ImageSize, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() / 2);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::Adaptive)
        .write_image(pixels, size.width, size.height, ExtendedColorType::L8)
        .expect("encoding a well-formed grayscale buffer into memory cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean(pixels: &[u8], size: ImageSize, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f64 {
        let mut sum = 0u64;
        for y in y0..y1 {
            for x in x0..x1 {
                sum += u64::from(pixels[(y * size.width + x) as usize]);
            }
        }
        sum as f64 / f64::from((x1 - x0) * (y1 - y0))
    }

    #[test]
    fn file_names_carry_time_line_sequence_and_view_without_colons() {
        let at = "2026-11-27T08:15:30.123Z".parse().unwrap();
        assert_eq!(
            file_name(at, "L1", 42, 1),
            "20261127T081530123Z_L1_000042_v1.png"
        );
    }

    #[test]
    fn a_dense_object_is_much_darker_than_the_parcel_and_the_background() {
        let size = ImageSize::default();
        let dense = render(size, 400, true, 1, 7);
        let plain = render(size, 400, false, 1, 7);
        let (x0, y0, x1, y1) = parcel_box(size, 400, 1);
        let (cx, cy) = (x0.midpoint(x1), y0.midpoint(y1));
        let centre = (cx - 3, cy - 3, cx + 3, cy + 3);
        let corner = (0, 0, 10, 10);
        assert!(mean(&dense, size, centre) < 40.0);
        assert!((mean(&plain, size, centre) - f64::from(BOX_FILL)).abs() < 2.0);
        assert!((mean(&dense, size, corner) - f64::from(BACKGROUND)).abs() < 2.0);
    }

    #[test]
    fn views_round_trip_through_png() {
        let size = ImageSize {
            width: 64,
            height: 48,
        };
        let pixels = render(size, 300, true, 2, 1);
        let png = encode_png(size, &pixels);
        let back = image::load_from_memory(&png).unwrap().into_luma8();
        assert_eq!(back.dimensions(), (64, 48));
        assert_eq!(back.into_raw(), pixels);
    }
}
