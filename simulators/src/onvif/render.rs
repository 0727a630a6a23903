//! The synthetic picture: a static warehouse background (wall, conveyor with slats,
//! posts), a parcel moving along the conveyor, the capture time as 7-segment digits
//! (`YYYY-MM-DD HH:MM:SS.mmm`, the camera's clock, UTC) and as a strip of black and white
//! cells that tests read back ([`decode_capture_ms`]).
//!
//! Rendering restores what the previous frame drew from the cached background and draws
//! the new overlays, so the cost is the overlays, not the frame; the JPEG encoder
//! ([`super::jpeg`]) then re-encodes only the tiles they touch.

use chrono::{DateTime, Utc};
use image::{Rgb, RgbImage};

use super::jpeg::{Rect, TiledJpeg};

/// Bits of the capture time (ms since the Unix epoch) in the cell strip.
const TIME_BITS: u32 = 48;
/// Cells of the strip: `1 0`, the time bits (most significant first), `0 1`.
const STRIP_CELLS: u32 = TIME_BITS + 4;
/// Time the parcel takes to cross the picture.
const CROSSING_MS: i64 = 4000;

const WALL_TOP: [u8; 3] = [70, 86, 104];
const WALL_BOTTOM: [u8; 3] = [128, 138, 146];
const FLOOR: [u8; 3] = [88, 84, 78];
const BELT: [u8; 3] = [44, 46, 50];
const SLAT: [u8; 3] = [70, 72, 78];
const POST: [u8; 3] = [60, 96, 150];
const PANEL: [u8; 3] = [16, 16, 16];
const DIGIT: [u8; 3] = [60, 240, 80];
const WHITE: [u8; 3] = [240, 240, 240];
const BLACK: [u8; 3] = [12, 12, 12];
const BOX: [u8; 3] = [176, 128, 72];
const BOX_EDGE: [u8; 3] = [96, 64, 32];
const LABEL: [u8; 3] = [236, 236, 228];

/// Geometry of the overlays for one picture size.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Side of a strip cell (0: the picture is too narrow for the strip).
    cell: u32,
    strip: Rect,
    /// Height of a digit; its width is half of it.
    digit_h: u32,
    clock: Rect,
    /// Top of the belt and its height.
    belt_y: u32,
    belt_h: u32,
    /// Side of the parcel.
    box_side: u32,
}

impl Layout {
    fn new(w: u32, h: u32) -> Self {
        let margin = 8;
        let cell = [8, 4]
            .into_iter()
            .find(|c| STRIP_CELLS * c + 2 * margin <= w)
            .unwrap_or(0);
        let strip = Rect {
            x: margin,
            y: margin,
            w: STRIP_CELLS * cell,
            h: cell,
        };
        let digit_h = (h / 18).clamp(8, 64) & !1;
        // `YYYY-MM-DD HH:MM:SS.mmm`: 17 digits and 6 separators half as wide, as
        // `draw_clock` advances.
        let (dw, gap) = (digit_h / 2, digit_h / 8);
        let clock_w = 17 * (dw + gap) + 6 * (dw / 2 + gap);
        let clock = Rect {
            x: margin,
            y: strip.y + strip.h + margin,
            w: clock_w.min(w - 2 * margin),
            h: digit_h,
        };
        let belt_y = h * 3 / 5;
        Self {
            cell,
            strip,
            digit_h,
            clock,
            belt_y,
            belt_h: h / 8,
            box_side: h / 5,
        }
    }
}

/// One profile's picture: background, current frame, encoder.
pub(crate) struct Scene {
    layout: Layout,
    background: RgbImage,
    frame: RgbImage,
    /// What the previous frame drew over the background.
    drawn: Vec<Rect>,
    encoder: TiledJpeg,
}

impl Scene {
    /// A scene of `width` x `height` (multiples of 8) encoded at `quality`.
    pub(crate) fn new(width: u32, height: u32, quality: u8) -> image::ImageResult<Self> {
        let layout = Layout::new(width, height);
        let background = background(width, height, &layout);
        let encoder = TiledJpeg::new(&background, quality)?;
        Ok(Self {
            layout,
            frame: background.clone(),
            background,
            drawn: Vec::new(),
            encoder,
        })
    }

    /// Renders the picture at capture time `at` and encodes it as JPEG into `out`.
    pub(crate) fn render_jpeg(
        &mut self,
        at: DateTime<Utc>,
        out: &mut Vec<u8>,
    ) -> image::ImageResult<()> {
        for r in std::mem::take(&mut self.drawn) {
            copy_rect(&self.background, &mut self.frame, r);
        }
        let ms = at.timestamp_millis();
        let l = self.layout;
        let (w, _) = self.frame.dimensions();

        // The parcel: enters at the left, leaves at the right, every CROSSING_MS.
        let side = l.box_side;
        let travel = i64::from(w + side);
        let x = (ms.rem_euclid(CROSSING_MS) * travel / CROSSING_MS) - i64::from(side);
        let parcel = clip(
            x,
            i64::from(l.belt_y + l.belt_h / 3) - i64::from(side),
            side,
            side,
            w,
        );
        if let Some(r) = parcel {
            fill(&mut self.frame, r, BOX_EDGE);
            let inner = inset(r, (side / 16).max(1));
            fill(&mut self.frame, inner, BOX);
            // A label whose position on the box is fixed, so it moves with it.
            let label_x = x + i64::from(side / 4);
            if let Some(label) = clip(label_x, i64::from(r.y + side / 3), side / 2, side / 4, w) {
                fill(&mut self.frame, label, LABEL);
            }
            self.drawn.push(r);
        }

        if l.cell > 0 {
            draw_strip(&mut self.frame, l, ms);
            self.drawn.push(l.strip);
        }
        draw_clock(&mut self.frame, l, at);
        self.drawn.push(l.clock);

        self.encoder.encode(&self.frame, &self.drawn, out)
    }
}

/// The capture time (ms since the Unix epoch) read back from a decoded frame's cell strip,
/// or `None` when the strip is not there (narrow picture, a picture from elsewhere).
pub fn decode_capture_ms(frame: &RgbImage) -> Option<i64> {
    let (w, h) = frame.dimensions();
    let l = Layout::new(w, h);
    if l.cell == 0 || l.strip.y + l.cell > h {
        return None;
    }
    let bit = |i: u32| {
        let p = frame.get_pixel(l.strip.x + i * l.cell + l.cell / 2, l.strip.y + l.cell / 2);
        let luma = (u32::from(p[0]) * 3 + u32::from(p[1]) * 6 + u32::from(p[2])) / 10;
        luma > 128
    };
    let n = STRIP_CELLS;
    let framed = bit(0) && !bit(1) && !bit(n - 2) && bit(n - 1);
    if !framed {
        return None;
    }
    let value = (0..TIME_BITS).fold(0i64, |acc, i| (acc << 1) | i64::from(bit(2 + i)));
    Some(value)
}

fn draw_strip(frame: &mut RgbImage, l: Layout, ms: i64) {
    let mut cells = vec![true, false];
    cells.extend((0..TIME_BITS).rev().map(|i| (ms >> i) & 1 == 1));
    cells.extend([false, true]);
    for (i, on) in (0u32..).zip(cells) {
        let r = Rect {
            x: l.strip.x + i * l.cell,
            y: l.strip.y,
            w: l.cell,
            h: l.cell,
        };
        fill(frame, r, if on { WHITE } else { BLACK });
    }
}

/// Segments a..g of each digit, bit 0 = a.
const SEGMENTS: [u8; 10] = [0x3F, 0x06, 0x5B, 0x4F, 0x66, 0x6D, 0x7D, 0x07, 0x7F, 0x6F];

fn draw_clock(frame: &mut RgbImage, layout: Layout, at: DateTime<Utc>) {
    let text = at.format("%Y-%m-%d %H:%M:%S%.3f").to_string();
    let height = layout.digit_h;
    let (width, thick, gap) = (height / 2, (height / 8).max(1), height / 8);
    let half = height / 2;
    let right = layout.clock.x + layout.clock.w;
    let mut left = layout.clock.x;
    for c in text.chars() {
        let advance = if c.is_ascii_digit() { width } else { width / 2 };
        if left + advance > right {
            break;
        }
        let top = layout.clock.y;
        let seg = |dx: u32, dy: u32, w: u32, h: u32| rect(left + dx, top + dy, w, h);
        let dot = |dy: u32| seg(width / 4 - thick / 2, dy, thick, thick);
        match c {
            '0'..='9' => {
                let bits = SEGMENTS[c as usize - '0' as usize];
                let across = width - 2 * thick;
                let down = half - thick;
                let segments = [
                    seg(thick, 0, across, thick),
                    seg(width - thick, thick, thick, down),
                    seg(width - thick, half, thick, down),
                    seg(thick, height - thick, across, thick),
                    seg(0, half, thick, down),
                    seg(0, thick, thick, down),
                    seg(thick, half - thick / 2, across, thick),
                ];
                for (i, r) in segments.into_iter().enumerate() {
                    if bits >> i & 1 == 1 {
                        fill(frame, r, DIGIT);
                    }
                }
            }
            '-' => fill(frame, seg(0, half - thick / 2, width / 2, thick), DIGIT),
            ':' => {
                fill(frame, dot(height / 3), DIGIT);
                fill(frame, dot(2 * height / 3), DIGIT);
            }
            '.' => fill(frame, dot(height - thick), DIGIT),
            _ => {}
        }
        left += advance + gap;
    }
}

fn background(width: u32, height: u32, layout: &Layout) -> RgbImage {
    let wall_end = layout.belt_y.max(1);
    let mut img = RgbImage::from_fn(width, height, |_, y| {
        if y >= layout.belt_y + layout.belt_h {
            Rgb(FLOOR)
        } else {
            // A vertical gradient from WALL_TOP to WALL_BOTTOM, in 256ths.
            let down = (y * 256 / wall_end).min(256);
            Rgb(std::array::from_fn(|c| {
                let (top, bottom) = (u32::from(WALL_TOP[c]), u32::from(WALL_BOTTOM[c]));
                ((top * (256 - down) + bottom * down) / 256) as u8
            }))
        }
    });
    let (belt_y, belt_h) = (layout.belt_y, layout.belt_h);
    fill(&mut img, rect(0, belt_y, width, belt_h), BELT);
    let slat = (width / 32).max(4);
    for x in (0..width).step_by((slat * 2) as usize) {
        fill(
            &mut img,
            rect(x, belt_y + belt_h / 3, slat / 3, belt_h / 3),
            SLAT,
        );
    }
    for x in [width / 6, width / 2, 5 * width / 6] {
        let post = rect(x, height / 4, (width / 80).max(2), belt_y - height / 4);
        fill(&mut img, post, POST);
    }
    let panel_w = (layout.clock.w + 16).max(layout.strip.w + 16).min(width);
    let panel_h = (layout.clock.y + layout.clock.h + 8).min(height);
    fill(&mut img, rect(0, 0, panel_w, panel_h), PANEL);
    img
}

fn rect(x: u32, y: u32, w: u32, h: u32) -> Rect {
    Rect { x, y, w, h }
}

/// The part of an `sw` x `sh` rectangle at (`x`, `y`) inside a picture `w` wide.
fn clip(x: i64, y: i64, sw: u32, sh: u32, w: u32) -> Option<Rect> {
    let (x0, x1) = (x.max(0), (x + i64::from(sw)).min(i64::from(w)));
    let y0 = y.max(0);
    (x1 > x0).then(|| Rect {
        x: x0 as u32,
        y: y0 as u32,
        w: (x1 - x0) as u32,
        h: (y + i64::from(sh) - y0).max(0) as u32,
    })
}

fn inset(r: Rect, by: u32) -> Rect {
    Rect {
        x: r.x + by.min(r.w / 2),
        y: r.y + by.min(r.h / 2),
        w: r.w.saturating_sub(2 * by),
        h: r.h.saturating_sub(2 * by),
    }
}

/// Fills `r` (clipped to the picture) with `color`.
fn fill(img: &mut RgbImage, r: Rect, color: [u8; 3]) {
    let (w, h) = img.dimensions();
    let (x1, y1) = ((r.x + r.w).min(w), (r.y + r.h).min(h));
    if r.x >= x1 || r.y >= y1 {
        return;
    }
    let stride = (w * 3) as usize;
    let buf: &mut [u8] = img;
    for y in r.y..y1 {
        let row = &mut buf[y as usize * stride..][r.x as usize * 3..x1 as usize * 3];
        for px in row.chunks_exact_mut(3) {
            px.copy_from_slice(&color);
        }
    }
}

/// Copies `r` of `from` into `to` (same size pictures).
fn copy_rect(from: &RgbImage, to: &mut RgbImage, r: Rect) {
    let (w, h) = from.dimensions();
    let (x1, y1) = ((r.x + r.w).min(w), (r.y + r.h).min(h));
    if r.x >= x1 || r.y >= y1 {
        return;
    }
    let stride = (w * 3) as usize;
    let (src, dst): (&[u8], &mut [u8]) = (from, to);
    for y in r.y as usize..y1 as usize {
        let span = y * stride + r.x as usize * 3..y * stride + x1 as usize * 3;
        dst[span.clone()].copy_from_slice(&src[span]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_at(scene: &mut Scene, at: &str) -> RgbImage {
        let mut jpeg = Vec::new();
        scene.render_jpeg(at.parse().unwrap(), &mut jpeg).unwrap();
        image::load_from_memory(&jpeg).unwrap().to_rgb8()
    }

    #[test]
    fn frames_carry_their_capture_time_in_the_strip() {
        for (w, h) in [(1280, 720), (640, 360), (320, 184)] {
            let mut scene = Scene::new(w, h, 75).unwrap();
            for at in ["2026-11-27T08:00:00.123Z", "2026-11-27T08:00:01.999Z"] {
                let frame = frame_at(&mut scene, at);
                let want = at.parse::<DateTime<Utc>>().unwrap().timestamp_millis();
                assert_eq!(decode_capture_ms(&frame), Some(want), "{w}x{h} at {at}");
            }
        }
    }

    #[test]
    fn the_parcel_moves_between_frames() {
        let mut scene = Scene::new(640, 360, 75).unwrap();
        let a = frame_at(&mut scene, "2026-11-27T08:00:01.000Z");
        let b = frame_at(&mut scene, "2026-11-27T08:00:02.000Z");
        let belt_row = 360 * 3 / 5 - 10;
        let parcel_columns = |f: &RgbImage| -> Vec<u32> {
            (0..640)
                .filter(|&x| {
                    let p = f.get_pixel(x, belt_row);
                    p[0] > 150 && p[2] < 110
                })
                .collect()
        };
        let (ca, cb) = (parcel_columns(&a), parcel_columns(&b));
        assert!(!ca.is_empty() && !cb.is_empty(), "{ca:?} {cb:?}");
        assert!(
            cb[0] > ca[0] + 100,
            "the parcel moved right: {} -> {}",
            ca[0],
            cb[0]
        );
    }
}
