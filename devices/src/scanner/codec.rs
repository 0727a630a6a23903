//! Framing of a barcode scanner's TCP stream.
//!
//! Industrial scanners send one message per read, framed either by STX (0x02) … ETX (0x03)
//! or terminated by CR/LF (a bare LF is accepted too). A configured no-read string
//! (commonly `NoRead`) means the scanner saw a parcel but could not decode it. Anything
//! that is not printable ASCII, is empty, or is longer than the configured maximum is
//! returned as [`ScanFrame::Invalid`] with the reason — never an error that would drop the
//! connection, because a garbled read must not stop the line.

use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Serialize};
use tokio_util::codec::{Decoder, Encoder};

const STX: u8 = 0x02;
const ETX: u8 = 0x03;

/// How messages are delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Framing {
    /// `STX code ETX`; bytes outside a frame are discarded (and reported).
    StxEtx,
    /// `code CR LF` (or `code LF`).
    CrLf,
}

/// One message from a scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanFrame {
    /// A decoded barcode.
    Code(String),
    /// The scanner saw a parcel but could not read it.
    NoRead,
    /// A message that cannot be a barcode; `raw` is kept (lossily) for inspection.
    Invalid {
        /// Why it was rejected.
        reason: String,
        /// The bytes received, as lossy UTF-8, truncated to 200 characters.
        raw: String,
    },
}

/// Codec for one scanner connection.
#[derive(Debug, Clone)]
pub struct ScannerCodec {
    framing: Framing,
    no_read: String,
    max_len: usize,
}

impl ScannerCodec {
    /// A codec with the given framing, no-read string and maximum code length.
    pub fn new(framing: Framing, no_read: impl Into<String>, max_len: usize) -> Self {
        Self {
            framing,
            no_read: no_read.into(),
            max_len,
        }
    }

    /// The longest frame buffered before it is declared invalid: a stream that never sends
    /// a terminator must not grow memory without bound.
    fn buffer_limit(&self) -> usize {
        self.max_len.max(self.no_read.len()) + 64
    }

    fn classify(&self, body: &[u8]) -> ScanFrame {
        let raw = || {
            String::from_utf8_lossy(body)
                .chars()
                .take(200)
                .collect::<String>()
        };
        if body.is_empty() {
            return ScanFrame::Invalid {
                reason: "empty message".into(),
                raw: String::new(),
            };
        }
        if body == self.no_read.as_bytes() {
            return ScanFrame::NoRead;
        }
        if body.len() > self.max_len {
            return ScanFrame::Invalid {
                reason: format!(
                    "{} bytes, longer than the maximum of {}",
                    body.len(),
                    self.max_len
                ),
                raw: raw(),
            };
        }
        if let Some(pos) = body.iter().position(|b| !b.is_ascii_graphic()) {
            return ScanFrame::Invalid {
                reason: format!(
                    "byte 0x{:02x} at position {pos} is not printable ASCII",
                    body[pos]
                ),
                raw: raw(),
            };
        }
        ScanFrame::Code(String::from_utf8_lossy(body).into_owned())
    }

    fn decode_stx_etx(&mut self, src: &mut BytesMut) -> Option<ScanFrame> {
        // Discard anything before the next STX.
        if let Some(start) = src.iter().position(|&b| b == STX) {
            if start > 0 {
                let junk = src.split_to(start);
                return Some(ScanFrame::Invalid {
                    reason: format!("{} bytes outside an STX/ETX frame", junk.len()),
                    raw: String::from_utf8_lossy(&junk).chars().take(200).collect(),
                });
            }
        } else {
            if src.len() > self.buffer_limit() {
                let junk = src.split_to(src.len());
                return Some(ScanFrame::Invalid {
                    reason: format!("{} bytes outside an STX/ETX frame", junk.len()),
                    raw: String::from_utf8_lossy(&junk).chars().take(200).collect(),
                });
            }
            return None;
        }
        match src.iter().position(|&b| b == ETX) {
            Some(end) => {
                let frame = src.split_to(end + 1);
                Some(self.classify(&frame[1..end]))
            }
            None if src.len() > self.buffer_limit() => {
                let junk = src.split_to(src.len());
                Some(ScanFrame::Invalid {
                    reason: format!("no ETX within {} bytes", junk.len()),
                    raw: String::from_utf8_lossy(&junk[1..])
                        .chars()
                        .take(200)
                        .collect(),
                })
            }
            None => None,
        }
    }

    fn decode_cr_lf(&mut self, src: &mut BytesMut) -> Option<ScanFrame> {
        match src.iter().position(|&b| b == b'\n') {
            Some(end) => {
                let line = src.split_to(end + 1);
                let mut body = &line[..end];
                if body.last() == Some(&b'\r') {
                    body = &body[..body.len() - 1];
                }
                Some(self.classify(body))
            }
            None if src.len() > self.buffer_limit() => {
                let junk = src.split_to(src.len());
                Some(ScanFrame::Invalid {
                    reason: format!("no line end within {} bytes", junk.len()),
                    raw: String::from_utf8_lossy(&junk).chars().take(200).collect(),
                })
            }
            None => None,
        }
    }
}

impl Decoder for ScannerCodec {
    type Item = ScanFrame;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<ScanFrame>, Self::Error> {
        Ok(match self.framing {
            Framing::StxEtx => self.decode_stx_etx(src),
            Framing::CrLf => self.decode_cr_lf(src),
        })
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<ScanFrame>, Self::Error> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        if src.is_empty() {
            return Ok(None);
        }
        let junk = src.split_to(src.len());
        Ok(Some(ScanFrame::Invalid {
            reason: "connection closed inside a message".into(),
            raw: String::from_utf8_lossy(&junk).chars().take(200).collect(),
        }))
    }
}

/// Encoding is what the scanner simulator sends: a code, or the no-read string.
impl Encoder<Option<&str>> for ScannerCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Option<&str>, dst: &mut BytesMut) -> Result<(), Self::Error> {
        let body = item.unwrap_or(&self.no_read);
        match self.framing {
            Framing::StxEtx => {
                dst.put_u8(STX);
                dst.put_slice(body.as_bytes());
                dst.put_u8(ETX);
            }
            Framing::CrLf => {
                dst.put_slice(body.as_bytes());
                dst.put_slice(b"\r\n");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(codec: &mut ScannerCodec, bytes: &[u8]) -> Vec<ScanFrame> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            out.push(f);
        }
        out
    }

    #[test]
    fn stx_etx_frames_split_across_reads_decode_once_complete() {
        let mut c = ScannerCodec::new(Framing::StxEtx, "NoRead", 80);
        let mut buf = BytesMut::from(&b"\x02SF1234"[..]);
        assert_eq!(c.decode(&mut buf).unwrap(), None);
        buf.extend_from_slice(b"567\x03\x02NoRead\x03");
        assert_eq!(
            c.decode(&mut buf).unwrap(),
            Some(ScanFrame::Code("SF1234567".into()))
        );
        assert_eq!(c.decode(&mut buf).unwrap(), Some(ScanFrame::NoRead));
    }

    #[test]
    fn crlf_accepts_bare_lf_and_recognises_no_read() {
        let mut c = ScannerCodec::new(Framing::CrLf, "NoRead", 80);
        let frames = decode_all(&mut c, b"YT001\r\nNoRead\nYT002\n");
        assert_eq!(
            frames,
            vec![
                ScanFrame::Code("YT001".into()),
                ScanFrame::NoRead,
                ScanFrame::Code("YT002".into())
            ]
        );
    }

    #[test]
    fn garbage_is_reported_not_fatal() {
        let mut c = ScannerCodec::new(Framing::StxEtx, "NoRead", 10);
        let frames = decode_all(
            &mut c,
            b"xx\x02AB\xffC\x03\x02\x03\x0212345678901\x03\x02OK1\x03",
        );
        assert!(
            matches!(&frames[0], ScanFrame::Invalid { reason, .. } if reason.contains("outside"))
        );
        assert!(matches!(&frames[1], ScanFrame::Invalid { reason, .. } if reason.contains("0xff")));
        assert!(
            matches!(&frames[2], ScanFrame::Invalid { reason, .. } if reason == "empty message")
        );
        assert!(
            matches!(&frames[3], ScanFrame::Invalid { reason, .. } if reason.contains("longer"))
        );
        assert_eq!(frames[4], ScanFrame::Code("OK1".into()));
    }

    #[test]
    fn unterminated_stream_is_bounded() {
        let mut c = ScannerCodec::new(Framing::CrLf, "NoRead", 10);
        let frames = decode_all(&mut c, &[b'A'; 500]);
        assert_eq!(frames.len(), 1);
        assert!(
            matches!(&frames[0], ScanFrame::Invalid { reason, .. } if reason.contains("no line end"))
        );
    }

    #[test]
    fn encoder_output_decodes_back() {
        for framing in [Framing::StxEtx, Framing::CrLf] {
            let mut c = ScannerCodec::new(framing, "NoRead", 80);
            let mut buf = BytesMut::new();
            c.encode(Some("4300001234567"), &mut buf).unwrap();
            c.encode(None, &mut buf).unwrap();
            let frames = decode_all(&mut c, &buf);
            assert_eq!(
                frames,
                vec![ScanFrame::Code("4300001234567".into()), ScanFrame::NoRead]
            );
        }
    }
}
