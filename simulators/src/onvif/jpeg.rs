//! A JPEG encoder for frames that differ from a fixed background only in a few places.
//!
//! The frame is cut into tiles of 8 rows and a few 8x8 blocks across, and written as one
//! baseline JPEG with a restart marker after every tile (`DRI`): each tile's entropy-coded
//! data then starts from a zero DC prediction on a byte boundary, exactly as a tile
//! encoded on its own would. So every tile of the background is encoded once, at start,
//! and a frame only encodes the tiles that something was drawn on; the rest is copied.
//! A 1280x720 frame with a moving box and a clock re-encodes about a tenth of its tiles.
//!
//! The tiles are encoded with `image`'s baseline encoder (4:4:4, standard Huffman tables,
//! the same quantisation tables for every tile). If that encoder ever writes another
//! layout (subsampled components), the frame is encoded whole instead.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, RgbImage};

/// Height of a tile in pixels: one row of 8x8 blocks (MCUs at 4:4:4).
const TILE_H: u32 = 8;

/// A rectangle in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rect {
    /// Left edge.
    pub(crate) x: u32,
    /// Top edge.
    pub(crate) y: u32,
    /// Width.
    pub(crate) w: u32,
    /// Height.
    pub(crate) h: u32,
}

/// Encodes frames of one size against one background.
pub(crate) struct TiledJpeg {
    width: u32,
    height: u32,
    quality: u8,
    /// Tile width in pixels (a multiple of 8 that divides the width).
    tile_w: u32,
    cols: u32,
    rows: u32,
    /// SOI up to and including the SOS segment, for the whole frame, with a DRI segment.
    /// Empty when tiling is off (the encoder's layout was not 4:4:4).
    header: Vec<u8>,
    /// The entropy-coded data of each background tile, row by row.
    background: Vec<Vec<u8>>,
    /// Reused buffers: one tile's pixels, one tile's JPEG, which tiles are dirty.
    tile_pixels: Vec<u8>,
    tile_jpeg: Vec<u8>,
    dirty: Vec<bool>,
}

impl TiledJpeg {
    /// An encoder for frames the size of `background` (width and height multiples of 8).
    pub(crate) fn new(background: &RgbImage, quality: u8) -> image::ImageResult<Self> {
        let (width, height) = background.dimensions();
        let blocks = width / 8;
        let tile_blocks = [8, 4, 2, 1]
            .into_iter()
            .find(|b| blocks % b == 0)
            .unwrap_or(1);
        let tile_w = tile_blocks * 8;
        let (cols, rows) = (width / tile_w, height.div_ceil(TILE_H));
        let mut enc = Self {
            width,
            height,
            quality,
            tile_w,
            cols,
            rows,
            header: Vec::new(),
            background: Vec::with_capacity((cols * rows) as usize),
            tile_pixels: Vec::new(),
            tile_jpeg: Vec::new(),
            dirty: vec![false; (cols * rows) as usize],
        };
        if width % 8 != 0 || height % 8 != 0 {
            return Ok(enc);
        }
        enc.encode_tile(background, 0, 0)?;
        let Some(header) = frame_header(&enc.tile_jpeg, width, height, tile_blocks) else {
            return Ok(enc);
        };
        for row in 0..rows {
            for col in 0..cols {
                let scan = enc.encode_tile(background, col, row)?;
                enc.background.push(scan);
            }
        }
        enc.header = header;
        Ok(enc)
    }

    /// Whether frames are stitched from tiles (false: each frame is encoded whole).
    pub(crate) fn is_tiled(&self) -> bool {
        !self.header.is_empty()
    }

    /// Encodes `frame` into `out` (cleared first). `frame` must equal the background
    /// outside `drawn`.
    pub(crate) fn encode(
        &mut self,
        frame: &RgbImage,
        drawn: &[Rect],
        out: &mut Vec<u8>,
    ) -> image::ImageResult<()> {
        out.clear();
        if !self.is_tiled() {
            return JpegEncoder::new_with_quality(out, self.quality).encode(
                frame.as_raw(),
                self.width,
                self.height,
                ExtendedColorType::Rgb8,
            );
        }
        self.mark_dirty(drawn);
        out.extend_from_slice(&self.header);
        for row in 0..self.rows {
            for col in 0..self.cols {
                let i = (row * self.cols + col) as usize;
                if i > 0 {
                    // RSTm after interval m, counting from 0, modulo 8.
                    out.extend_from_slice(&[0xFF, 0xD0 + ((i - 1) % 8) as u8]);
                }
                if self.dirty[i] {
                    let scan = self.encode_tile(frame, col, row)?;
                    out.extend_from_slice(&scan);
                } else {
                    out.extend_from_slice(&self.background[i]);
                }
            }
        }
        out.extend_from_slice(&[0xFF, 0xD9]);
        Ok(())
    }

    /// Marks the tiles `drawn` touches.
    fn mark_dirty(&mut self, drawn: &[Rect]) {
        self.dirty.fill(false);
        for r in drawn {
            if r.w == 0 || r.h == 0 || r.x >= self.width || r.y >= self.height {
                continue;
            }
            let (x1, y1) = (
                (r.x + r.w).min(self.width) - 1,
                (r.y + r.h).min(self.height) - 1,
            );
            for row in r.y / TILE_H..=y1 / TILE_H {
                for col in r.x / self.tile_w..=x1 / self.tile_w {
                    self.dirty[(row * self.cols + col) as usize] = true;
                }
            }
        }
    }

    /// Encodes one tile on its own and returns its entropy-coded data (between the SOS
    /// segment and EOI); the whole JPEG stays in `self.tile_jpeg`.
    fn encode_tile(&mut self, frame: &RgbImage, col: u32, row: u32) -> image::ImageResult<Vec<u8>> {
        let (x0, y0) = (col * self.tile_w, row * TILE_H);
        let h = TILE_H.min(self.height - y0);
        let stride = (self.width * 3) as usize;
        let raw = frame.as_raw();
        self.tile_pixels.clear();
        for y in y0..y0 + h {
            let start = y as usize * stride + x0 as usize * 3;
            self.tile_pixels
                .extend_from_slice(&raw[start..start + self.tile_w as usize * 3]);
        }
        self.tile_jpeg.clear();
        JpegEncoder::new_with_quality(&mut self.tile_jpeg, self.quality).encode(
            &self.tile_pixels,
            self.tile_w,
            h,
            ExtendedColorType::Rgb8,
        )?;
        let start = scan_start(&self.tile_jpeg).unwrap_or(self.tile_jpeg.len());
        let end = self.tile_jpeg.len().saturating_sub(2).max(start);
        Ok(self.tile_jpeg[start..end].to_vec())
    }
}

/// Offset of the entropy-coded data: just after the SOS segment.
fn scan_start(jpeg: &[u8]) -> Option<usize> {
    segments(jpeg)
        .find(|s| s.marker == 0xDA)
        .map(|s| s.at + 2 + s.len)
}

/// One marker segment: its marker byte, where its `FF` is, and its length field.
struct Segment {
    marker: u8,
    at: usize,
    len: usize,
}

/// The marker segments from after SOI up to and including SOS.
fn segments(jpeg: &[u8]) -> impl Iterator<Item = Segment> + '_ {
    let mut at = 2;
    let mut done = false;
    std::iter::from_fn(move || {
        if done || jpeg.get(at) != Some(&0xFF) || at + 4 > jpeg.len() {
            return None;
        }
        let marker = jpeg[at + 1];
        let len = usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        let segment = Segment { marker, at, len };
        done = marker == 0xDA;
        at += 2 + len;
        Some(segment)
    })
}

/// The whole frame's header from one tile's JPEG: its SOF0 height and width replaced,
/// and `DRI` = blocks per tile inserted before SOS. `None` unless every component is
/// sampled 1x1 (then a tile's blocks are exactly its MCUs).
fn frame_header(tile: &[u8], width: u32, height: u32, tile_blocks: u32) -> Option<Vec<u8>> {
    let sof = segments(tile).find(|s| s.marker == 0xC0)?;
    let sos = segments(tile).find(|s| s.marker == 0xDA)?;
    let comps = usize::from(*tile.get(sof.at + 9)?);
    let sampling_ok = (0..comps).all(|c| tile.get(sof.at + 11 + 3 * c) == Some(&0x11));
    if !sampling_ok {
        return None;
    }
    let mut header = tile[..sos.at].to_vec();
    header[sof.at + 5..sof.at + 7].copy_from_slice(&u16::try_from(height).ok()?.to_be_bytes());
    header[sof.at + 7..sof.at + 9].copy_from_slice(&u16::try_from(width).ok()?.to_be_bytes());
    header.extend_from_slice(&[0xFF, 0xDD, 0x00, 0x04]);
    header.extend_from_slice(&u16::try_from(tile_blocks).ok()?.to_be_bytes());
    header.extend_from_slice(&tile[sos.at..sos.at + 2 + sos.len]);
    Some(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn background(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
    }

    fn decode(jpeg: &[u8]) -> RgbImage {
        image::load_from_memory_with_format(jpeg, image::ImageFormat::Jpeg)
            .expect("the stitched JPEG decodes")
            .to_rgb8()
    }

    /// Largest difference of any channel of any pixel.
    fn max_diff(a: &RgbImage, b: &RgbImage) -> u8 {
        a.as_raw()
            .iter()
            .zip(b.as_raw())
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn stitched_frame_decodes_like_the_frame_encoded_whole() {
        let bg = background(320, 184);
        let mut enc = TiledJpeg::new(&bg, 80).unwrap();
        assert!(enc.is_tiled());
        let mut frame = bg.clone();
        let drawn = Rect {
            x: 37,
            y: 21,
            w: 50,
            h: 70,
        };
        for y in drawn.y..drawn.y + drawn.h {
            for x in drawn.x..drawn.x + drawn.w {
                frame.put_pixel(x, y, Rgb([250, 10, 10]));
            }
        }
        let mut out = Vec::new();
        enc.encode(&frame, &[drawn], &mut out).unwrap();
        let stitched = decode(&out);
        assert_eq!(stitched.dimensions(), (320, 184));

        let mut whole = Vec::new();
        JpegEncoder::new_with_quality(&mut whole, 80)
            .encode(frame.as_raw(), 320, 184, ExtendedColorType::Rgb8)
            .unwrap();
        // Same blocks, same tables: the pixels agree to rounding.
        assert!(max_diff(&stitched, &decode(&whole)) <= 2);
        // And the red box really is there.
        assert!(stitched.get_pixel(60, 50).0[0] > 200);
    }

    #[test]
    fn frame_with_nothing_drawn_is_the_background() {
        let bg = background(64, 16);
        let mut enc = TiledJpeg::new(&bg, 75).unwrap();
        let mut out = Vec::new();
        enc.encode(&bg, &[], &mut out).unwrap();
        assert!(max_diff(&decode(&out), &bg) < 40);
    }
}
