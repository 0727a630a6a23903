//! Client side of the camera tests, written from the specs rather than from the
//! simulator: SOAP with a WS-Security UsernameToken, HTTP Digest, an MJPEG part reader,
//! WS-Discovery probes over UDP.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Buf as _, Bytes, BytesMut};
use chrono::{DateTime, SecondsFormat, Utc};
use customs_edge_devices::http_auth::Challenge;
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;
use sha1::{Digest as _, Sha1};
use tokio::net::UdpSocket;

/// Bound on every wait: generous, for a busy 2-core CI machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

pub const TDS: &str = "http://www.onvif.org/ver10/device/wsdl";
pub const TRT: &str = "http://www.onvif.org/ver10/media/wsdl";

/// A UsernameToken header with PasswordDigest for `created` (RFC 3339, `Z`).
pub fn security_header(user: &str, password: &str, created: DateTime<Utc>) -> String {
    let nonce: [u8; 16] = rand::random();
    let created = created.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut sha = Sha1::new();
    sha.update(nonce);
    sha.update(created.as_bytes());
    sha.update(password.as_bytes());
    let digest = BASE64.encode(sha.finalize());
    format!(
        r#"<s:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"><wsse:UsernameToken><wsse:Username>{user}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{digest}</wsse:Password><wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{}</wsse:Nonce><wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"#,
        BASE64.encode(nonce)
    )
}

/// Posts one SOAP 1.2 request (`operation` is the Body's content) and returns the status
/// and the answer's text.
pub async fn soap(
    http: &reqwest::Client,
    url: &str,
    header: Option<String>,
    operation: &str,
) -> (StatusCode, String) {
    let envelope = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">{}<s:Body>{operation}</s:Body></s:Envelope>"#,
        header.unwrap_or_default()
    );
    let response = http
        .post(url)
        .header("content-type", "application/soap+xml; charset=utf-8")
        .body(envelope)
        .send()
        .await
        .expect("the SOAP request is answered");
    let status = response.status();
    (status, response.text().await.expect("a SOAP body"))
}

/// The texts of every element with this local name, in order (a crude reader, enough for
/// answers whose elements are not nested in each other).
pub fn texts(xml: &str, local: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(open) = find_open(rest, local) {
        let after = &rest[open..];
        let Some(gt) = after.find('>') else { break };
        if after[..gt].ends_with('/') {
            out.push(String::new());
            rest = &after[gt + 1..];
            continue;
        }
        let body = &after[gt + 1..];
        let Some(close) = body.find("</") else { break };
        out.push(body[..close].trim().to_owned());
        rest = &body[close..];
    }
    out
}

/// Offset of the next `<prefix:local` or `<local` followed by a space, `>` or `/`.
fn find_open(xml: &str, local: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = xml[from..].find('<') {
        let at = from + i;
        let name_end = xml[at + 1..]
            .find([' ', '>', '/', '\n'])
            .map_or(xml.len(), |j| at + 1 + j);
        let name = &xml[at + 1..name_end];
        if name.rsplit(':').next() == Some(local) && !name.starts_with('/') {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// GET with HTTP Digest: the first request must be refused with a challenge, which is
/// answered with the preferred scheme. Returns the answered response.
pub async fn digest_get(
    http: &reqwest::Client,
    url: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let first = http.get(url).send().await.expect("the camera answers");
    assert_eq!(
        first.status(),
        StatusCode::UNAUTHORIZED,
        "{url} without credentials"
    );
    let header = first
        .headers()
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    let challenges = Challenge::parse_all(&header).expect("readable challenges");
    assert!(
        challenges.iter().any(|c| matches!(c, Challenge::Digest(_))),
        "a Digest challenge: {header}"
    );
    let challenge = Challenge::preferred(&challenges).expect("a usable challenge");
    let parsed = reqwest::Url::parse(url).expect("a URL");
    let uri = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    let authorization = challenge
        .authorization("GET", &uri, user, password, "0a4f113b", 1)
        .expect("an Authorization header");
    http.get(url)
        .header("authorization", authorization)
        .send()
        .await
        .expect("the camera answers")
}

/// One part of an MJPEG stream.
#[derive(Debug)]
pub struct Part {
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Bytes,
}

/// Reads `multipart/x-mixed-replace` parts off a streaming response.
pub struct Mjpeg {
    response: reqwest::Response,
    buf: BytesMut,
    boundary: String,
}

impl Mjpeg {
    /// Wraps a `200` stream response, taking the boundary from its `Content-Type`.
    pub fn new(response: reqwest::Response) -> Self {
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            content_type.starts_with("multipart/x-mixed-replace"),
            "{content_type}"
        );
        let boundary = content_type
            .split("boundary=")
            .nth(1)
            .expect("a boundary")
            .trim_matches('"')
            .to_owned();
        Self {
            response,
            buf: BytesMut::new(),
            boundary: format!("--{boundary}\r\n"),
        }
    }

    /// Reads more bytes; `Err` when the stream ended or broke.
    async fn fill(&mut self) -> Result<(), String> {
        match tokio::time::timeout(PATIENCE, self.response.chunk()).await {
            Err(_) => Err("no bytes within the patience".to_owned()),
            Ok(Ok(None)) => Err("the stream ended".to_owned()),
            Ok(Err(e)) => Err(format!("the stream broke: {e}")),
            Ok(Ok(Some(bytes))) => {
                self.buf.extend_from_slice(&bytes);
                Ok(())
            }
        }
    }

    /// The next part; `Err` when what comes is not a part (junk), or the stream ends.
    pub async fn next_part(&mut self) -> Result<Part, String> {
        while self.buf.len() < self.boundary.len() {
            self.fill().await?;
        }
        if !self.buf.starts_with(self.boundary.as_bytes()) {
            let seen = self.buf.len().min(16);
            return Err(format!("not a part: {:?}", &self.buf[..seen]));
        }
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i;
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[self.boundary.len()..head_end]).into_owned();
        let headers: HashMap<String, String> = head
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let len: usize = headers["content-length"].parse().expect("a Content-Length");
        let total = head_end + 4 + len + 2;
        while self.buf.len() < total {
            self.fill().await?;
        }
        self.buf.advance(head_end + 4);
        let body = self.buf.split_to(len).freeze();
        self.buf.advance(2);
        Ok(Part { headers, body })
    }

    /// Skips bytes up to the next boundary (after junk).
    pub async fn resync(&mut self) -> Result<(), String> {
        loop {
            if let Some(i) = find(&self.buf, self.boundary.as_bytes()) {
                self.buf.advance(i);
                return Ok(());
            }
            let keep = self.buf.len().saturating_sub(self.boundary.len());
            self.buf.advance(keep);
            self.fill().await?;
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A WS-Discovery Probe for `types` (QNames with prefix `dn`/`tds`) with this MessageID.
pub fn probe(message_id: &str, types: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl" xmlns:x="urn:example:printers"><e:Header><w:MessageID>{message_id}</w:MessageID><w:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To><w:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action></e:Header><e:Body><d:Probe><d:Types>{types}</d:Types></d:Probe></e:Body></e:Envelope>"#
    )
}

/// Sends `datagram` to `to` from `socket` and returns the first answer.
pub async fn ask(socket: &UdpSocket, to: SocketAddr, datagram: &str) -> String {
    socket
        .send_to(datagram.as_bytes(), to)
        .await
        .expect("probe sent");
    let mut buf = vec![0u8; 65_535];
    let (n, _) = tokio::time::timeout(PATIENCE, socket.recv_from(&mut buf))
        .await
        .expect("an answer within the patience")
        .expect("a datagram");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}
