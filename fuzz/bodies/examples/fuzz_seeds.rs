//! Writes the seed corpora of `fuzz/corpus/<target>/` from the simulators' own encoders
//! and the committed device fixtures, so the seeds are what real peers send.
//!
//! `cargo run -p customs-edge-fuzz-bodies --example fuzz_seeds` (rewrites the seeds it
//! makes; files added by hand or by `cargo fuzz cmin` are left alone).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::BytesMut;
use chrono::{TimeZone as _, Utc};
use customs_edge_devices::gate_io::{self, GateStatus};
use customs_edge_devices::http_auth::{Authenticator, Challenge};
use customs_edge_devices::line_plc::status::LineStatus;
use customs_edge_devices::plate::PlateColor;
use customs_edge_devices::scanner::{Framing, ScannerCodec};
use customs_edge_devices::weighbridge::WeighbridgeStatus;
use customs_edge_protocol::downlink::{Ack, kind};
use customs_edge_protocol::envelope::{self, Envelope, SCHEMA_VERSION};
use customs_edge_simulators::plate_camera::{self as wire, Shot};
use customs_edge_simulators::platform::scenario::Scenario;
use customs_edge_simulators::platform::synthetic_lists;
use tokio_util::codec::Encoder as _;

const SITE: &str = "3511W001";

struct Seeds {
    root: PathBuf,
    written: usize,
}

impl Seeds {
    fn put(&mut self, target: &str, name: &str, data: &[u8]) -> anyhow::Result<()> {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), data).with_context(|| format!("{target}/{name}"))?;
        self.written += 1;
        Ok(())
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> anyhow::Result<Vec<u8>> {
    std::fs::read(repo().join(path)).with_context(|| path.to_owned())
}

fn main() -> anyhow::Result<()> {
    let mut seeds = Seeds {
        root: repo().join("fuzz/corpus"),
        written: 0,
    };
    scanner(&mut seeds)?;
    plates(&mut seeds)?;
    onvif(&mut seeds)?;
    registers(&mut seeds)?;
    digest(&mut seeds)?;
    platform(&mut seeds)?;
    for (name, path) in [
        ("demo.toml", "config/demo.toml"),
        ("site.example.toml", "config/site.example.toml"),
    ] {
        seeds.put("site_config", name, &read(path)?)?;
    }
    println!(
        "wrote {} seeds under {}",
        seeds.written,
        seeds.root.display()
    );
    Ok(())
}

/// What the simulated scanners send, through the codec's own encoder.
fn scanner(seeds: &mut Seeds) -> anyhow::Result<()> {
    for (name, framing, mode) in [
        ("stx_etx", Framing::StxEtx, 3u8 << 1),
        ("crlf", Framing::CrLf, 1 | (7 << 1)),
    ] {
        let mut codec = ScannerCodec::new(framing, "NoRead", 80);
        let mut stream = BytesMut::new();
        for code in [
            Some("SF1234567890"),
            None,
            Some("YT9876543210123"),
            Some("SF1234567890"),
        ] {
            codec.encode(code, &mut stream)?;
        }
        let mut seed = vec![mode, 79];
        seed.extend_from_slice(&stream);
        seeds.put("scanner_frames", &format!("{name}.bin"), &seed)?;
    }
    let mut garbled = vec![1u8 << 1, 19];
    garbled.extend_from_slice(
        b"junk\x02SF12\xff34\x03\x02\x03\x02SF1234567890SF1234567890\x03\x02NoRe",
    );
    seeds.put("scanner_frames", "stx_etx_garbled.bin", &garbled)?;
    Ok(())
}

/// The simulated plate cameras' posts and the captured fixtures.
fn plates(seeds: &mut Seeds) -> anyhow::Result<()> {
    let at = Utc
        .with_ymd_and_hms(2026, 11, 27, 2, 0, 0)
        .single()
        .expect("a valid time");
    let shots = [
        ("read", Some("闽G12345"), PlateColor::Blue, 0.96),
        ("new_energy", Some("闽GD12345"), PlateColor::Green, 0.88),
        ("no_read", None, PlateColor::Blue, 0.0),
    ];
    for (name, plate, color, confidence) in shots {
        let shot = Shot {
            plate: plate.map(str::to_owned),
            confidence,
            color,
            at,
            lane: 2,
        };
        let (content_type, body) = wire::hikvision_event("gate1-exit", &shot);
        let mut seed = format!("{content_type}\r\n").into_bytes();
        seed.extend_from_slice(&body);
        seeds.put("plate_hikvision", &format!("sim_{name}.multipart"), &seed)?;
        let xml = wire::hikvision_xml("gate1-exit", &shot);
        seeds.put(
            "plate_hikvision",
            &format!("sim_{name}.xml"),
            format!("application/xml\n{xml}").as_bytes(),
        )?;
        seeds.put(
            "plate_dahua",
            &format!("sim_{name}.json"),
            &wire::dahua_event("gate1-entry", &shot),
        )?;
    }
    let content_type = read("devices/tests/fixtures/plate/hikvision_anpr.content-type")?;
    let mut seed = String::from_utf8(content_type)?.trim().as_bytes().to_vec();
    seed.push(b'\n');
    seed.extend_from_slice(&read(
        "devices/tests/fixtures/plate/hikvision_anpr.multipart",
    )?);
    seeds.put("plate_hikvision", "fixture_anpr.multipart", &seed)?;
    let mut seed = b"application/xml; charset=\"UTF-8\"\n".to_vec();
    seed.extend_from_slice(&read("devices/tests/fixtures/plate/hikvision_noread.xml")?);
    seeds.put("plate_hikvision", "fixture_noread.xml", &seed)?;
    seeds.put(
        "plate_dahua",
        "fixture_anpr.json",
        &read("devices/tests/fixtures/plate/dahua_anpr.json")?,
    )?;
    Ok(())
}

/// Answers captured from real cameras (`devices/tests/onvif_fixtures/`).
fn onvif(seeds: &mut Seeds) -> anyhow::Result<()> {
    let dir = repo().join("devices/tests/onvif_fixtures");
    let mut names: Vec<_> = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        let data = std::fs::read(dir.join(&name))?;
        let target = if name.contains("probe_matches") {
            "ws_discovery"
        } else {
            "onvif_soap"
        };
        seeds.put(target, &name, &data)?;
    }
    Ok(())
}

fn be_bytes(words: &[u16]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_be_bytes()).collect()
}

/// Status blocks as the simulated PLC, gate I/O and weighbridge lay them out.
fn registers(seeds: &mut Seeds) -> anyhow::Result<()> {
    let idle = LineStatus {
        plc_heartbeat: 17,
        belt_speed_mm_s: 1500,
        clock_ms: 40_000,
        ..LineStatus::default()
    };
    seeds.put("plc_status", "idle.bin", &be_bytes(&idle.encode()))?;
    let mut busy = idle.clone();
    for i in 0..11u16 {
        let t = busy.push_entry(300 + i * 10);
        busy.push_weight(t, 500 + i * 25, i % 3 != 0);
        if i > 2 {
            busy.push_drop(t.wrapping_sub(2), 1 + i % 3);
        }
    }
    seeds.put(
        "plc_status",
        "busy_wrapped_rings.bin",
        &be_bytes(&busy.encode()),
    )?;

    let gate = GateStatus {
        heartbeat: 9,
        position_pct: 100,
        controller_heartbeat_echo: 8,
        ..GateStatus::default()
    };
    seeds.put("gate_registers", "gate_open.bin", &be_bytes(&gate.encode()))?;
    let led = gate_io::map::encode_led("闽G12345 放行")?;
    seeds.put("gate_registers", "led_text.bin", &be_bytes(&led))?;
    let weight = WeighbridgeStatus {
        sequence: 3,
        weight_kg: 18_450,
        ..WeighbridgeStatus::default()
    };
    seeds.put(
        "gate_registers",
        "weighbridge.bin",
        &be_bytes(&weight.encode()),
    )?;
    Ok(())
}

/// Challenges the listener issues and the answers the simulated cameras give them.
fn digest(seeds: &mut Seeds) -> anyhow::Result<()> {
    let now = std::time::Instant::now();
    let auth = Authenticator::new("customs-edge", [7; 32]);
    let challenges = auth.challenges(false, now);
    let header: Vec<String> = challenges.iter().map(ToString::to_string).collect();
    seeds.put(
        "digest_challenge",
        "listener_all.txt",
        header.join(", ").as_bytes(),
    )?;
    seeds.put(
        "digest_challenge",
        "camera_rfc2069.txt",
        b"Digest realm=\"IP Camera(C3052)\", nonce=\"4e7a4d354e7a4d7a4d7a\", stale=\"FALSE\"",
    )?;
    for (i, challenge) in challenges.iter().enumerate() {
        let name = match challenge {
            Challenge::Basic { .. } => "basic".to_owned(),
            Challenge::Digest(d) => format!("digest_{}", d.algorithm.name().to_lowercase()),
        };
        seeds.put(
            "digest_challenge",
            &format!("{i}_{name}.txt"),
            challenge.to_string().as_bytes(),
        )?;
        let answer = challenge.authorization(
            "POST",
            "/ISAPI/Event/notification/alertStream",
            "admin",
            "pass",
            "0a4f113b",
            1,
        )?;
        // The nonce as a placeholder: the target puts a freshly issued one in its place.
        let answer = match challenge {
            Challenge::Digest(d) => answer.replace(&d.nonce, "{nonce}"),
            Challenge::Basic { .. } => answer,
        };
        seeds.put(
            "digest_authorization",
            &format!("{name}.txt"),
            answer.as_bytes(),
        )?;
    }
    for (name, fields) in [
        ("defaults", ""),
        (
            "isapi",
            "POST\0/ISAPI/Event/notification/alertStream\0admin\0pass\x000a4f113b",
        ),
        ("quotes", "GET\0/snapshot?channel=1\0ad\"min\0p\\a:ss\0c\"n"),
    ] {
        seeds.put(
            "digest_roundtrip",
            &format!("{name}.txt"),
            fields.as_bytes(),
        )?;
    }
    Ok(())
}

/// Downlink payloads as the platform simulator publishes its scenarios, and declaration
/// lists as it generates them.
fn platform(seeds: &mut Seeds) -> anyhow::Result<()> {
    let kinds = [
        kind::LISTS,
        kind::LIST_STATUS,
        kind::PERMITS,
        kind::PERMIT_STATUS,
        kind::INSTRUCTIONS,
        kind::ARRIVALS,
        kind::ACK,
    ];
    let mut seq = 0;
    let mut put_body = |seeds: &mut Seeds, kind: &str, body: &serde_json::Value| {
        seq += 1;
        let payload = serde_json::to_vec(&Envelope {
            schema: SCHEMA_VERSION,
            id: envelope::message_id("platform", "down", seq),
            stream: "down".to_owned(),
            seq,
            site: SITE.to_owned(),
            created: "2026-12-06T02:00:00.000Z".to_owned(),
            kind: kind.to_owned(),
            body,
        })?;
        seeds.put("downlink", &format!("{seq:02}_{kind}.json"), &payload)?;
        let selector = u8::try_from(kinds.iter().position(|k| *k == kind).expect("a known kind"))?;
        let mut seed = vec![selector];
        seed.extend_from_slice(&serde_json::to_vec(body)?);
        seeds.put("downlink_body", &format!("{seq:02}_{kind}.json"), &seed)?;
        anyhow::Ok(())
    };
    for file in ["platform-release-and-inspect.toml"] {
        let text = String::from_utf8(read(&format!("simulators/scenarios/{file}"))?)?;
        let scenario = Scenario::from_toml(&text)?;
        for step in &scenario.steps {
            for message in step.messages() {
                put_body(seeds, message.kind, &message.body)?;
            }
        }
    }
    let ack = Ack {
        stream: "decisions".to_owned(),
        seq: 42,
    };
    put_body(seeds, kind::ACK, &serde_json::to_value(&ack)?)?;
    // What the site dead-letters: a future schema, another site's message.
    for (name, payload) in [
        (
            "schema_99.json",
            r#"{"schema":99,"id":"platform:down:9","stream":"down","seq":9,"site":"3511W001","created":"2026-12-06T02:00:00Z","kind":"lists","body":{}}"#,
        ),
        (
            "other_site.json",
            r#"{"schema":1,"id":"platform:down:9","stream":"down","seq":9,"site":"3511W002","created":"2026-12-06T02:00:00Z","kind":"ack","body":{"stream":"gate","seq":1}}"#,
        ),
    ] {
        seeds.put("downlink", name, payload.as_bytes())?;
    }
    for list in synthetic_lists(SITE, 1, 2) {
        let name = format!("{}.json", list.logistics_no);
        seeds.put(
            "declaration_line",
            &name,
            serde_json::to_string(&list)?.as_bytes(),
        )?;
    }
    let example = String::from_utf8(read("docs/manifests.example.jsonl")?)?;
    for (i, line) in example
        .lines()
        .filter(|l| l.starts_with('{'))
        .take(4)
        .enumerate()
    {
        seeds.put(
            "declaration_line",
            &format!("docs_example_{i}.json"),
            line.as_bytes(),
        )?;
    }
    Ok(())
}
