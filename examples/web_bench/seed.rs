//! Seeding the store with decided parcels and their declaration lists, and the console
//! accounts and their logins (session cookie + CSRF token, each from its own address).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use customs_edge::config::{DecisionConfig, DiverterConfig};
use customs_edge::sorting::decision::{self, Inputs, LaneKind, Read, Weight, XrayViews};
use customs_edge::sorting::waybill::ManifestFacts;
use customs_edge::store::manifests;
use customs_edge::store::parcels::{self, DecisionRow, ScanRow};
use customs_edge::store::{Store, timestamp};
use rand::{Rng as _, SeedableRng as _};
use tokio::task::JoinSet;

const PASSWORD: &str = "bench-console-3511";

/// Declaration lists and parcels as the line leaves them: two scanners, a weighing, two
/// X-ray views, the real decision, the command and the drop; spread over the last 7 days.
pub(super) async fn seed(store: &Store, n: usize) -> anyhow::Result<()> {
    let lists = Arc::new(customs_edge::demo::sample_lists(n));
    let now = chrono::Utc::now();
    let received = timestamp(now - chrono::TimeDelta::days(8));
    for chunk in 0..n.div_ceil(5000) {
        let (lists, received) = (lists.clone(), received.clone());
        let range = chunk * 5000..((chunk + 1) * 5000).min(n);
        store
            .writer
            .write(move |tx| {
                for l in &lists[range] {
                    manifests::upsert(tx, l, "bench", &received)?;
                }
                Ok(())
            })
            .await?;
    }
    let start = now - chrono::TimeDelta::days(7);
    let step_ms = (7 * 24 * 3_600_000 / n.max(1)) as i64;
    for chunk in 0..n.div_ceil(5000) {
        let lists = lists.clone();
        let range = chunk * 5000..((chunk + 1) * 5000).min(n);
        store
            .writer
            .write(move |tx| {
                let mut rng = rand::rngs::StdRng::seed_from_u64(chunk as u64);
                for i in range {
                    let at = |ms: i64| {
                        timestamp(start + chrono::TimeDelta::milliseconds(i as i64 * step_ms + ms))
                    };
                    seed_parcel(tx, &mut rng, i, &lists[i], &at)?;
                }
                Ok(())
            })
            .await?;
    }
    Ok(())
}

fn seed_parcel(
    tx: &rusqlite::Transaction<'_>,
    rng: &mut rand::rngs::StdRng,
    i: usize,
    list: &customs_edge::manifest::DeclarationList,
    at: &dyn Fn(i64) -> String,
) -> Result<(), customs_edge::store::StoreError> {
    let line_id = if i.is_multiple_of(2) { "L1" } else { "L2" };
    let id = parcels::insert_entry(tx, line_id, (i % 65_536) as u16, &at(0), 300)?;
    let roll = rng.random_range(0..1000);
    let read = match roll {
        0..20 => Read::Nothing,
        20..50 => Read::NoRead,
        50..55 => Read::Conflict(vec![list.logistics_no.clone(), "SF000000000000".into()]),
        55..65 => Read::Code(format!("YT9{i:011}")),
        _ => Read::Code(list.logistics_no.clone()),
    };
    let codes: Vec<Option<&str>> = match &read {
        Read::Nothing => vec![],
        Read::NoRead => vec![None, None],
        Read::Conflict(c) => c.iter().map(|c| Some(c.as_str())).collect(),
        Read::Code(c) => vec![Some(c.as_str()), Some(c.as_str())],
    };
    for (code, scanner) in codes.iter().zip(["top", "side"]) {
        let scan = ScanRow {
            line_id,
            scanner,
            parcel_id: Some(id),
            at: &at(600),
            kind: if code.is_some() { "code" } else { "no_read" },
            code: *code,
            detail: None,
        };
        parcels::insert_scan(tx, &scan)?;
    }
    let declared = list.gross_weight.unwrap_or(1.0);
    let kg = match rng.random_range(0..100) {
        0..3 => declared * 1.3,
        _ => declared * rng.random_range(0.98..1.02),
    };
    let stable = rng.random_range(0..100) > 0;
    parcels::record_weight(tx, id, kg, stable, &at(300))?;
    let views = if rng.random_range(0..200) == 0 { 1 } else { 2 };
    for v in 0..views {
        parcels::record_xray_view(tx, id, &format!("xray/{i:06}_{v}.png"), &at(1500))?;
    }
    let manifest = read.code().and_then(|c| {
        (c == list.logistics_no).then(|| ManifestFacts {
            return_status: list.return_status,
            gross_weight_kg: list.gross_weight,
            ebc_code: list.ebc_code.clone(),
        })
    });
    let inputs = Inputs {
        read,
        manifest,
        instruction: None,
        officer_flags: 0,
        weight: if stable {
            Weight::Stable { kg }
        } else {
            Weight::Unstable { kg }
        },
        xray: Some(XrayViews {
            got: views,
            expected: 2,
        }),
        duplicate_of: None,
        tracking_lost: false,
    };
    let rules = DecisionConfig::default();
    let tolerance = decision::WeightTolerance {
        abs_kg: rules.weight_abs_kg,
        pct: rules.weight_pct,
    };
    let decided = decision::decide(&inputs, tolerance);
    let lanes = DiverterConfig::default();
    let lane = match decided.lane {
        LaneKind::Release => lanes.release_lane,
        LaneKind::Inspection => lanes.inspection_lane,
        LaneKind::Exception => lanes.exception_lane,
    };
    let row = DecisionRow {
        parcel_id: id,
        decided_at: &at(2500),
        logistics_no: inputs.read.code(),
        read_status: inputs.read.status(),
        lane,
        lane_kind: decided.lane.as_str(),
        reasons_json: &decided.reasons_json(),
        inputs_json: &serde_json::to_string(&inputs).unwrap_or_default(),
        risk_json: r#"{"weight_deviation_pct":null,"unmatched":false,"duplicate_waybill":false,"ebc_weight_mismatches_24h":0}"#,
        ebc_code: list.ebc_code.as_deref(),
        weight_mismatch: decided
            .reasons
            .iter()
            .any(|r| matches!(r, decision::Reason::WeightOutOfTolerance { .. })),
    };
    parcels::record_decision(tx, &row)?;
    parcels::record_command(tx, id, &at(2510), false)?;
    parcels::record_command(tx, id, &at(2530), true)?;
    parcels::record_drop(tx, id, lane, &at(4000), "sorted", false)
}

/// Logged-in HTTP clients: one per live console, a few for the API load.
pub(super) struct Consoles {
    pub(super) web: SocketAddr,
    pub(super) live: Vec<reqwest::Client>,
    pub(super) api: Vec<reqwest::Client>,
}

impl Consoles {
    /// Create the administrator by first-start setup and one account per other role, then
    /// log every console in from its own address.
    pub(super) async fn log_in(web: SocketAddr, live: usize) -> anyhow::Result<Self> {
        let res = reqwest::Client::new()
            .post(format!("http://{web}/api/setup"))
            .json(&serde_json::json!({ "username": "site.admin", "password": PASSWORD }))
            .send()
            .await?;
        anyhow::ensure!(res.status() == 201, "setup: {}", res.text().await?);
        let admin = login(web, Ipv4Addr::new(127, 0, 0, 2), "site.admin", true).await?;
        for role in ["operator", "officer", "viewer"] {
            let res = admin
                .post(format!("http://{web}/api/accounts"))
                .json(&serde_json::json!({
                    "username": format!("{role}.1"), "role": role, "password": PASSWORD,
                }))
                .send()
                .await?;
            anyhow::ensure!(
                res.status() == 201,
                "creating {role}: {}",
                res.text().await?
            );
        }
        let users = ["operator.1", "officer.1", "viewer.1", "site.admin"];
        let mut api = Vec::new();
        for (i, user) in users.iter().enumerate() {
            api.push(login(web, Ipv4Addr::new(127, 0, 1, i as u8 + 1), user, true).await?);
        }
        let mut logins = JoinSet::new();
        for i in 0..live {
            let ip = Ipv4Addr::new(127, 0, 2 + (i / 250) as u8, (i % 250) as u8 + 1);
            let user = users[i % 3];
            logins.spawn(async move { (i, login(web, ip, user, false).await) });
        }
        let mut clients: Vec<Option<reqwest::Client>> = vec![None; live];
        while let Some(joined) = logins.join_next().await {
            let (i, client) = joined?;
            clients[i] = Some(client?);
        }
        Ok(Self {
            web,
            live: clients.into_iter().flatten().collect(),
            api,
        })
    }
}

/// Log in as `user` from `ip`; the client sends the session and its CSRF token after.
async fn login(
    web: SocketAddr,
    ip: Ipv4Addr,
    user: &str,
    timeout: bool,
) -> anyhow::Result<reqwest::Client> {
    let res = reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .build()?
        .post(format!("http://{web}/api/login"))
        .json(&serde_json::json!({ "username": user, "password": PASSWORD }))
        .send()
        .await?;
    anyhow::ensure!(
        res.status() == 200,
        "login as {user} from {ip}: {}",
        res.status()
    );
    let cookie = res
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("a session cookie")?
        .to_owned();
    let body: serde_json::Value = res.json().await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::COOKIE, cookie.parse()?);
    headers.insert(
        "x-csrf-token",
        body["csrf"].as_str().context("csrf")?.parse()?,
    );
    let builder = reqwest::Client::builder()
        .local_address(IpAddr::V4(ip))
        .default_headers(headers);
    // A live console's stream never ends: no whole-request timeout for it.
    Ok(if timeout {
        builder.timeout(Duration::from_secs(10))
    } else {
        builder.connect_timeout(Duration::from_secs(10))
    }
    .build()?)
}
