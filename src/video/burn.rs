//! Burning the customs on-screen text into an evidence frame: the date and time (Beijing
//! time, GB/T 7408 style) in a band at the top, the camera's name and id in a band at the
//! bottom, white on opaque black, as the customs image-marking rules ask.
//!
//! The bands are added above and below the picture rather than painted over it, so no
//! pixel the camera took is hidden. Text is drawn with a CJK TrueType font when one is
//! installed ([`FONT_CANDIDATES`], Debian `fonts-wqy-microhei`); without one OpenCV's
//! Hershey font is used, which is ASCII only: the bottom band then carries the camera id,
//! and the name too only when it is ASCII.
//!
//! Pure apart from reading the font once: JPEG in, JPEG out (OpenCV decodes and encodes),
//! with the burned frame's thumbnail made from the picture already decoded (decoding the
//! burned JPEG again for it took more CPU than the burning).

use std::sync::OnceLock;

use ab_glyph::{Font as _, FontVec, PxScale, ScaleFont as _, point};
use chrono::{DateTime, Utc};
use opencv::core::{self, Mat, MatTraitConst as _, MatTraitManual as _, Scalar, Vector};
use opencv::{imgcodecs, imgproc};

/// Fonts tried in order for Chinese names.
pub const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];
/// JPEG quality of a burned frame.
const QUALITY: i32 = 90;

/// Why a frame could not be burned.
#[derive(Debug, thiserror::Error)]
pub enum BurnError {
    /// The frame does not decode.
    #[error("the frame does not decode as an image ({0} bytes)")]
    Decode(usize),
    /// OpenCV failed.
    #[error("opencv: {0}")]
    OpenCv(#[from] opencv::Error),
}

/// The texts of one burned frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Osd {
    /// Top band: date and time.
    pub top: String,
    /// Bottom band: the camera.
    pub bottom: String,
}

impl Osd {
    /// The texts for a frame of camera `id` named `name`, taken at `at`.
    pub fn new(at: DateTime<Utc>, id: &str, name: &str) -> Self {
        Self {
            top: osd_time(at),
            bottom: if name.trim().is_empty() {
                id.to_owned()
            } else {
                format!("{}  {id}", name.trim())
            },
        }
    }
}

/// `2026-11-27 16:00:00.123 +08:00`: Beijing time, as the date-time band shows it.
pub fn osd_time(at: DateTime<Utc>) -> String {
    let beijing = crate::store::beijing();
    at.with_timezone(&beijing)
        .format("%Y-%m-%d %H:%M:%S%.3f %:z")
        .to_string()
}

/// The CJK font, read once; `None` when none of [`FONT_CANDIDATES`] is installed.
pub fn cjk_font() -> Option<&'static FontVec> {
    static FONT: OnceLock<Option<FontVec>> = OnceLock::new();
    FONT.get_or_init(|| {
        FONT_CANDIDATES.iter().find_map(|path| {
            let data = std::fs::read(path).ok()?;
            FontVec::try_from_vec_and_index(data, 0).ok()
        })
    })
    .as_ref()
}

/// Height of each band for a picture `height` px tall.
pub fn band_height(height: i32) -> i32 {
    (height / 16).max(20)
}

/// A burned frame, ready to keep.
#[derive(Debug)]
pub struct Burned {
    /// The frame with its bands, as JPEG.
    pub jpeg: Vec<u8>,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels, the bands included.
    pub height: u32,
    /// Its thumbnail (longest side [`crate::evidence::THUMB_SIDE`]), as JPEG.
    pub thumbnail: Vec<u8>,
}

/// Decode `jpeg`, add the two bands with `osd`, encode again, and make the thumbnail.
pub fn burn(jpeg: &[u8], osd: &Osd) -> Result<Burned, BurnError> {
    burn_with(jpeg, osd, cjk_font())
}

/// [`burn`] with this font, or with the Hershey font (ASCII only) without one.
fn burn_with(jpeg: &[u8], osd: &Osd, font: Option<&FontVec>) -> Result<Burned, BurnError> {
    let buf = Mat::from_slice(jpeg)?;
    let picture = imgcodecs::imdecode(&buf, imgcodecs::IMREAD_COLOR)?;
    if picture.empty() {
        return Err(BurnError::Decode(jpeg.len()));
    }
    let band = band_height(picture.rows());
    let mut out = Mat::default();
    core::copy_make_border(
        &picture,
        &mut out,
        band,
        band,
        0,
        0,
        core::BORDER_CONSTANT,
        Scalar::all(0.0),
    )?;
    let total = out.rows();
    if let Some(font) = font {
        draw_text(&mut out, font, &osd.top, 0, band)?;
        draw_text(&mut out, font, &osd.bottom, total - band, band)?;
    } else {
        hershey(&mut out, &osd.top, 0, band)?;
        hershey(&mut out, &ascii_only(&osd.bottom), total - band, band)?;
    }
    Ok(Burned {
        jpeg: encode(&out, QUALITY)?,
        width: u32::try_from(out.cols()).unwrap_or_default(),
        height: u32::try_from(total).unwrap_or_default(),
        thumbnail: encode(
            scaled_down(&out)?.as_ref().unwrap_or(&out),
            i32::from(crate::evidence::THUMB_QUALITY),
        )?,
    })
}

/// `picture` scaled down (averaging, as a thumbnail wants) to fit in
/// [`crate::evidence::THUMB_SIDE`] px; `None` when it fits already.
fn scaled_down(picture: &Mat) -> Result<Option<Mat>, BurnError> {
    let side = i32::try_from(crate::evidence::THUMB_SIDE).unwrap_or(i32::MAX);
    let (w, h) = (picture.cols(), picture.rows());
    let longest = w.max(h);
    if longest <= side {
        return Ok(None);
    }
    let scaled = |n: i32| (i64::from(n) * i64::from(side) / i64::from(longest)).max(1) as i32;
    let mut small = Mat::default();
    imgproc::resize(
        picture,
        &mut small,
        core::Size::new(scaled(w), scaled(h)),
        0.0,
        0.0,
        imgproc::INTER_AREA,
    )?;
    Ok(Some(small))
}

/// `picture` as a JPEG of this quality.
fn encode(picture: &Mat, quality: i32) -> Result<Vec<u8>, BurnError> {
    let mut encoded = Vector::<u8>::new();
    let params = Vector::from_slice(&[imgcodecs::IMWRITE_JPEG_QUALITY, quality]);
    imgcodecs::imencode(".jpg", picture, &mut encoded, &params)?;
    Ok(encoded.as_slice().to_vec())
}

/// Without a CJK font: keep the ASCII words (the id at least).
fn ascii_only(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| w.is_ascii())
        .collect::<Vec<_>>()
        .join("  ")
}

/// White text with the TrueType font, left-aligned in the band starting at row `top`,
/// shrunk to fit the width.
fn draw_text(
    img: &mut Mat,
    font: &FontVec,
    text: &str,
    top: i32,
    band: i32,
) -> Result<(), BurnError> {
    let (width, height) = (img.cols(), img.rows());
    let pad = (band / 4) as f32;
    let mut px = band as f32 * 0.72;
    let measured = text_width(font, text, px);
    let room = width as f32 - 2.0 * pad;
    if measured > room && measured > 0.0 {
        px *= room / measured;
    }
    let scaled = font.as_scaled(PxScale::from(px));
    let text_h = scaled.ascent() - scaled.descent();
    let baseline = top as f32 + (band as f32 - text_h) / 2.0 + scaled.ascent();
    let data = img.data_bytes_mut()?;
    let stride = width as usize * 3;
    let mut x = pad;
    let mut last = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            x += scaled.kern(prev, id);
        }
        last = Some(id);
        let glyph = id.with_scale_and_position(px, point(x, baseline));
        x += scaled.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let px_x = bounds.min.x as i32 + gx as i32;
            let px_y = bounds.min.y as i32 + gy as i32;
            if px_x < 0 || px_y < 0 || px_x >= width || px_y >= height {
                return;
            }
            let at = px_y as usize * stride + px_x as usize * 3;
            for channel in &mut data[at..at + 3] {
                let old = f32::from(*channel);
                *channel = (old + (255.0 - old) * coverage.clamp(0.0, 1.0)) as u8;
            }
        });
    }
    Ok(())
}

fn text_width(font: &FontVec, text: &str, px: f32) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    let mut last = None;
    let mut x = 0.0;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            x += scaled.kern(prev, id);
        }
        x += scaled.h_advance(id);
        last = Some(id);
    }
    x
}

/// White text with OpenCV's Hershey font (ASCII only).
fn hershey(img: &mut Mat, text: &str, top: i32, band: i32) -> Result<(), BurnError> {
    let face = imgproc::FONT_HERSHEY_SIMPLEX;
    let thickness = (band / 16).max(1);
    let mut baseline = 0;
    let unit = imgproc::get_text_size(text, face, 1.0, thickness, &mut baseline)?;
    let room = f64::from(img.cols() - band / 2);
    let scale = (f64::from(band) * 0.6 / f64::from(unit.height.max(1)))
        .min(room / f64::from(unit.width.max(1)));
    let size = imgproc::get_text_size(text, face, scale, thickness, &mut baseline)?;
    let origin = core::Point::new(band / 4, top + i32::midpoint(band, size.height));
    imgproc::put_text(
        img,
        text,
        origin,
        face,
        scale,
        Scalar::all(255.0),
        thickness,
        imgproc::LINE_AA,
        false,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray_jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([128, 128, 128]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    /// (mean brightness, share of bright pixels) of rows `rows`.
    fn rows_stats(img: &image::RgbImage, rows: std::ops::Range<u32>) -> (f64, f64) {
        let (mut sum, mut bright, mut n) = (0.0, 0.0, 0.0);
        for y in rows {
            for x in 0..img.width() {
                let p = img.get_pixel(x, y);
                let v = f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2]);
                sum += v / 3.0;
                if v > 600.0 {
                    bright += 1.0;
                }
                n += 1.0;
            }
        }
        (sum / n, bright / n)
    }

    #[test]
    fn the_time_is_shown_in_beijing_time() {
        let at: DateTime<Utc> = "2026-11-27T08:00:00.123Z".parse().unwrap();
        assert_eq!(osd_time(at), "2026-11-27 16:00:00.123 +08:00");
        let osd = Osd::new(at, "35000011101320502001", " X光机出口 ");
        assert_eq!(osd.bottom, "X光机出口  35000011101320502001");
        assert_eq!(ascii_only(&osd.bottom), "35000011101320502001");
    }

    #[test]
    fn a_burned_frame_has_a_dark_band_with_text_above_and_below_the_picture() {
        let at: DateTime<Utc> = "2026-11-27T08:00:00Z".parse().unwrap();
        let osd = Osd::new(at, "35000011101320502001", "X光机出口");
        let burned = burn(&gray_jpeg(640, 360), &osd).unwrap();
        let img = image::load_from_memory(&burned.jpeg).unwrap().to_rgb8();
        let band = band_height(360) as u32;
        assert_eq!((img.width(), img.height()), (640, 360 + 2 * band));
        assert_eq!((burned.width, burned.height), (img.width(), img.height()));
        // The thumbnail is the burned frame's, bands included, scaled to fit.
        let thumb = image::load_from_memory(&burned.thumbnail)
            .unwrap()
            .to_rgb8();
        let side = crate::evidence::THUMB_SIDE;
        assert_eq!(thumb.width(), side);
        assert_eq!(thumb.height(), side * img.height() / img.width());
        let thumb_band = band * side / img.width();
        let (mean, _) = rows_stats(&thumb, 0..thumb_band - 1);
        assert!(mean < 60.0, "the thumbnail's top band is dark: {mean}");
        let (mean, _) = rows_stats(&thumb, thumb_band + 4..thumb.height() - thumb_band - 4);
        assert!(
            (mean - 128.0).abs() < 6.0,
            "the thumbnail's picture: {mean}"
        );
        for rows in [0..band, img.height() - band..img.height()] {
            let (mean, bright) = rows_stats(&img, rows.clone());
            assert!(mean < 60.0, "band {rows:?} is dark: mean {mean}");
            assert!(bright > 0.01, "band {rows:?} has text: {bright}");
        }
        let (mean, _) = rows_stats(&img, band + 10..360 + band - 10);
        assert!(
            (mean - 128.0).abs() < 6.0,
            "the picture is untouched: {mean}"
        );
    }

    #[test]
    fn without_a_cjk_font_the_bands_carry_ascii_text() {
        let at: DateTime<Utc> = "2026-11-27T08:00:00Z".parse().unwrap();
        let osd = Osd::new(at, "35000011101320502001", "X光机出口");
        let burned = burn_with(&gray_jpeg(320, 240), &osd, None).unwrap();
        let img = image::load_from_memory(&burned.jpeg).unwrap().to_rgb8();
        let band = band_height(240) as u32;
        for rows in [0..band, img.height() - band..img.height()] {
            let (mean, bright) = rows_stats(&img, rows.clone());
            assert!(
                mean < 80.0 && bright > 0.01,
                "band {rows:?}: {mean} {bright}"
            );
        }
    }

    #[test]
    fn a_frame_smaller_than_a_thumbnail_is_its_own_thumbnail() {
        let osd = Osd::new(Utc::now(), "CAM", "");
        let burned = burn(&gray_jpeg(160, 90), &osd).unwrap();
        let thumb = image::load_from_memory(&burned.thumbnail).unwrap();
        assert_eq!(
            (thumb.width(), thumb.height()),
            (burned.width, burned.height)
        );
        assert_eq!(
            (burned.width, burned.height),
            (160, 90 + 2 * band_height(90) as u32)
        );
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        let osd = Osd::new(Utc::now(), "CAM", "");
        assert!(burn(b"\xFF\xD8\xFFnot a jpeg\xFF\xD9", &osd).is_err());
    }
}
