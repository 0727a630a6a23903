//! A cheap check that bytes are a whole JPEG, without decoding it: start and end markers,
//! and the segments up to the frame header, which gives the size. MJPEG frames are kept
//! as the camera sent them, so this is what tells a frame from junk on the wire.

/// Why bytes are not a JPEG frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegProblem {
    /// Does not start with SOI (`FF D8 FF`).
    #[error("does not start like a JPEG ({len} bytes)")]
    NoStart {
        /// How many bytes there were.
        len: usize,
    },
    /// No EOI (`FF D9`) at the end: cut short.
    #[error("truncated: no end-of-image marker ({len} bytes)")]
    Truncated {
        /// How many bytes there were.
        len: usize,
    },
    /// The segments before the image data do not hold together.
    #[error("corrupt header: {0}")]
    Corrupt(&'static str),
}

/// How far before the end the EOI marker may be (some encoders pad).
const EOI_SLACK: usize = 16;

/// Width and height of a whole JPEG, or why it is not one.
pub fn jpeg_size(bytes: &[u8]) -> Result<(u32, u32), JpegProblem> {
    let len = bytes.len();
    if len < 4 || bytes[..3] != [0xFF, 0xD8, 0xFF] {
        return Err(JpegProblem::NoStart { len });
    }
    let tail = &bytes[len.saturating_sub(EOI_SLACK)..];
    if !tail.windows(2).any(|w| w == [0xFF, 0xD9]) {
        return Err(JpegProblem::Truncated { len });
    }
    let mut i = 2;
    loop {
        if i + 4 > len {
            return Err(JpegProblem::Corrupt("no frame header"));
        }
        if bytes[i] != 0xFF {
            return Err(JpegProblem::Corrupt("segment does not start with a marker"));
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            i += 2;
            continue;
        }
        if matches!(marker, 0xD9 | 0xDA) {
            return Err(JpegProblem::Corrupt("image data before the frame header"));
        }
        let seg = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if seg < 2 || i + 2 + seg > len {
            return Err(JpegProblem::Corrupt("segment length out of bounds"));
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            if seg < 7 {
                return Err(JpegProblem::Corrupt("short frame header"));
            }
            let h = u32::from(u16::from_be_bytes([bytes[i + 5], bytes[i + 6]]));
            let w = u32::from(u16::from_be_bytes([bytes[i + 7], bytes[i + 8]]));
            if w == 0 || h == 0 {
                return Err(JpegProblem::Corrupt("zero width or height"));
            }
            return Ok((w, h));
        }
        i += 2 + seg;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb([90, 120, 200]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn a_whole_jpeg_gives_its_size() {
        assert_eq!(jpeg_size(&jpeg(64, 48)), Ok((64, 48)));
    }

    #[test]
    fn junk_and_cut_frames_are_refused() {
        let good = jpeg(32, 16);
        assert!(matches!(
            jpeg_size(b"\x00garbage bytes"),
            Err(JpegProblem::NoStart { .. })
        ));
        assert!(matches!(
            jpeg_size(&good[..good.len() / 2]),
            Err(JpegProblem::Truncated { .. })
        ));
        let mut broken = good.clone();
        broken[4] = 0xFF;
        broken[5] = 0xFF;
        assert!(jpeg_size(&broken).is_err());
    }
}
