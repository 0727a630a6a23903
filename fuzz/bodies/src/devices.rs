//! Bodies for what devices send: scanner streams, plate-camera events, ONVIF answers and
//! WS-Discovery datagrams, Modbus status blocks, HTTP authentication headers.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use customs_edge_devices::http_auth::{Authenticator, Challenge, Credentials};
use customs_edge_devices::onvif::device::{
    GetCapabilities, GetDeviceInformation, GetServices, GetSystemDateAndTime,
};
use customs_edge_devices::onvif::media::{GetProfiles, GetSnapshotUri, GetStreamUri};
use customs_edge_devices::onvif::probe::parse_probe_matches;
use customs_edge_devices::onvif::{DiscoveryReport, Operation};
use customs_edge_devices::plate::{self, PlateLimits, PlateRead};
use customs_edge_devices::scanner::{Framing, ScanFrame, ScannerCodec};
use customs_edge_devices::{gate_io, line_plc, weighbridge};
use tokio_util::codec::Decoder;

use crate::first_line;

/// A scanner stream. Byte 0: bit 0 the framing (0 STX/ETX, 1 CR/LF), bits 1–4 the size of
/// each TCP read less one; byte 1: the maximum code length less one (0–127); the rest is
/// the stream. Every frame must respect the limits, and after the decoder has taken what it
/// can, the bytes it keeps must stay within its buffer bound, however the stream is split.
pub fn scanner_frames(data: &[u8]) {
    let [mode, max, stream @ ..] = data else {
        return;
    };
    let framing = if mode & 1 == 0 {
        Framing::StxEtx
    } else {
        Framing::CrLf
    };
    let chunk = usize::from((mode >> 1) & 0x0f) + 1;
    let max_len = usize::from(max & 0x7f) + 1;
    let no_read = "NoRead";
    let bound = max_len.max(no_read.len()) + 64;
    let mut codec = ScannerCodec::new(framing, no_read, max_len);
    let mut buf = BytesMut::new();
    let check = |frame: &ScanFrame| match frame {
        ScanFrame::Code(code) => {
            assert!(code.len() <= max_len, "code {code:?} longer than {max_len}");
            assert!(
                !code.is_empty() && code.bytes().all(|b| b.is_ascii_graphic()),
                "code {code:?} is not printable ASCII"
            );
        }
        ScanFrame::NoRead => {}
        ScanFrame::Invalid { raw, .. } => {
            assert!(raw.chars().count() <= 200, "raw kept past 200 characters");
        }
    };
    for read in stream.chunks(chunk) {
        buf.extend_from_slice(read);
        while let Some(frame) = codec.decode(&mut buf).expect("the codec never errors") {
            check(&frame);
        }
        assert!(
            buf.len() <= bound,
            "{} bytes buffered, bound {bound}",
            buf.len()
        );
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("the codec never errors") {
        check(&frame);
    }
}

/// What every plate read promises, whichever camera sent it.
fn check_plate_read(read: &PlateRead, limits: &PlateLimits) {
    if let Some(plate) = &read.plate {
        assert_eq!(
            &plate::normalize(plate),
            plate,
            "a plate is normalised once and for all"
        );
        let _ = plate::classify(plate);
    }
    if let Some(c) = read.confidence {
        assert!((0.0..=1.0).contains(&c), "confidence {c} outside 0..=1");
    }
    assert!(
        read.images.len() <= limits.max_parts,
        "more images than parts"
    );
    for image in &read.images {
        assert!(
            image.bytes.len() <= limits.max_image_bytes,
            "image past its limit"
        );
    }
}

/// A Hikvision event: the first line is the Content-Type header, the rest the body.
pub fn plate_hikvision(data: &[u8]) {
    let (content_type, body) = first_line(data);
    let content_type = String::from_utf8_lossy(content_type);
    let limits = PlateLimits::default();
    if let Ok(read) = plate::parse_hikvision_with(&content_type, body, "gate1-exit", &limits) {
        check_plate_read(&read, &limits);
    }
}

/// A Dahua event body.
pub fn plate_dahua(data: &[u8]) {
    let limits = PlateLimits::default();
    if let Ok(read) = plate::parse_dahua_with(data, "gate1-entry", &limits) {
        check_plate_read(&read, &limits);
    }
}

/// A SOAP answer, read as the answer to every operation the ONVIF client sends (each reads
/// its own element or the fault, and names anything else).
pub fn onvif_soap(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = GetSystemDateAndTime::parse_response(text);
    let _ = GetCapabilities::parse_response(text);
    let _ = GetServices::parse_response(text);
    let _ = GetDeviceInformation::parse_response(text);
    let _ = GetProfiles::parse_response(text);
    let _ = GetSnapshotUri::parse_response(text);
    let _ = GetStreamUri::parse_response(text);
}

/// A datagram on the discovery socket, taken twice from two senders (the second merges
/// into the devices the first found): every device keeps one entry per endpoint, and its
/// lists hold no duplicates.
pub fn ws_discovery(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_probe_matches(text);
    }
    let mut report = DiscoveryReport::default();
    report.accept(SocketAddr::from((Ipv4Addr::LOCALHOST, 3702)), data);
    report.accept(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 2), 3702)), data);
    for (i, device) in report.devices.iter().enumerate() {
        assert!(
            report.devices[..i]
                .iter()
                .all(|d| d.endpoint != device.endpoint),
            "endpoint {:?} listed twice",
            device.endpoint
        );
        let _ = (device.name(), device.hardware(), device.location());
    }
}

/// Big-endian register words, as a Modbus read returns them.
fn words(data: &[u8]) -> Vec<u16> {
    data.chunks(2)
        .map(|w| u16::from_be_bytes([w[0], w.get(1).copied().unwrap_or(0)]))
        .collect()
}

/// The line PLC's status block: the words as read, and the same padded or cut to the
/// block's length (so most inputs reach the field checks). A block that decodes comes
/// back the same through encode and decode, and its rings read from any tracking number.
pub fn plc_status(data: &[u8]) {
    let mut words = words(data);
    let _ = line_plc::status::LineStatus::decode(&words);
    words.resize(usize::from(line_plc::map::STATUS_LEN), 0);
    let Ok(status) = line_plc::status::LineStatus::decode(&words) else {
        return;
    };
    let again = line_plc::status::LineStatus::decode(&status.encode())
        .expect("an encoded status block decodes");
    assert_eq!(again, status, "status block round trip");
    for seen in [0, 1, status.entry_count.wrapping_sub(9), words[0]] {
        let _ = status.entries_since(seen);
        let _ = status.weights_since(seen);
        let _ = status.drops_since(seen);
    }
}

/// A gate I/O status block, an LED text as read back, and a weighbridge status block, each
/// from the same words (padded or cut to each block's length).
pub fn gate_registers(data: &[u8]) {
    let words = words(data);
    let block = |len: u16| {
        let mut w = words.clone();
        w.resize(usize::from(len), 0);
        w
    };
    let _ = gate_io::GateStatus::decode(&words);
    if let Ok(gate) = gate_io::GateStatus::decode(&block(gate_io::map::STATUS_LEN)) {
        let again =
            gate_io::GateStatus::decode(&gate.encode()).expect("encoded gate status decodes");
        assert_eq!(again, gate, "gate status round trip");
    }
    if let Ok(weight) = weighbridge::WeighbridgeStatus::decode(&block(weighbridge::STATUS_LEN)) {
        let again = weighbridge::WeighbridgeStatus::decode(&weight.encode())
            .expect("encoded weighbridge status decodes");
        assert_eq!(again, weight, "weighbridge status round trip");
    }
    if let [len, text @ ..] = words.as_slice()
        && let Ok(text) = gate_io::map::decode_led(*len, text)
    {
        let encoded = gate_io::map::encode_led(&text).expect("decoded LED text encodes");
        assert_eq!(
            gate_io::map::decode_led(encoded[0], &encoded[1..]).as_deref(),
            Ok(text.as_str()),
            "LED text round trip"
        );
    }
}

/// A `WWW-Authenticate` value as the ONVIF client and the simulators' cameras read it; the
/// challenge the client would answer is answered.
pub fn digest_challenge(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(challenges) = Challenge::parse_all(header) else {
        return;
    };
    for challenge in &challenges {
        // What a client logs and what a server sends must print.
        let _ = challenge.to_string();
    }
    if let Some(chosen) = Challenge::preferred(&challenges) {
        let _ = chosen.authorization(
            "POST",
            "/onvif/device_service",
            "admin",
            "pass",
            "0a4f113b",
            1,
        );
    }
}

/// An `Authorization` value as the plate-camera listener reads it. The text `{nonce}` in
/// the input stands for a nonce the authenticator has just issued, so inputs reach the
/// checks behind the nonce lookup.
pub fn digest_authorization(data: &[u8]) {
    let Ok(header) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Credentials::parse(header).map(|c| c.username().len());
    let now = Instant::now();
    let auth = Authenticator::new("customs-edge", [7; 32]).with_limits(Duration::from_secs(60), 4);
    let nonce = auth.issue_nonce(now);
    let header = header.replace("{nonce}", &nonce);
    for _ in 0..2 {
        let _ = auth.verify(
            &header,
            "POST",
            "/ISAPI/Event/notification/alertStream",
            "admin",
            "pass",
            now,
        );
    }
    assert!(auth.nonces_held() <= 4, "nonce book past its size");
}

/// Fields separated by NUL: method, URI, user, password, client nonce; missing fields are
/// defaults. Each challenge the listener issues, as its text, is parsed by the client,
/// answered, and the answer must verify once and be refused the second time (a replayed
/// nonce count), for any printable-ASCII values.
pub fn digest_roundtrip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = text.split('\0');
    let mut next = |default: &'static str| fields.next().unwrap_or(default);
    let (method, uri, user, password, cnonce) = (
        next("POST"),
        next("/ISAPI/Event/notification/alertStream"),
        next("admin"),
        next("pass"),
        next("0a4f113b"),
    );
    let printable = |s: &str| s.bytes().all(|b| (0x20..0x7f).contains(&b));
    let now = Instant::now();
    let auth = Authenticator::new("customs-edge", [7; 32]);
    // The challenges share one nonce: each answer takes the next nonce count.
    for (nc, issued) in (1..).zip(auth.challenges(false, now)) {
        let parsed = Challenge::parse_all(&issued.to_string()).expect("our own challenge parses");
        assert_eq!(
            parsed,
            std::slice::from_ref(&issued),
            "challenge text round trip"
        );
        let Ok(header) = issued.authorization(method, uri, user, password, cnonce, nc) else {
            continue;
        };
        let first = auth.verify(&header, method, uri, user, password, now);
        // Outside printable ASCII a value may not survive a header; it must still not panic.
        if !(printable(method)
            && printable(uri)
            && printable(user)
            && printable(password)
            && printable(cnonce))
            || method.is_empty()
            || uri.is_empty()
            || cnonce.is_empty()
        {
            continue;
        }
        if matches!(issued, Challenge::Basic { .. }) && user.contains(':') {
            // Basic cannot carry a user with a colon (RFC 7617); refusing it is right.
            continue;
        }
        assert!(
            first.is_ok(),
            "answer to {issued} refused: {first:?} ({header})"
        );
        if matches!(issued, Challenge::Digest(_)) {
            let replay = auth.verify(&header, method, uri, user, password, now);
            assert!(
                replay.is_err(),
                "a replayed nonce count was accepted: {header}"
            );
        }
    }
}
