//! Statistics and their CSV exports through the real server, over a store seeded with
//! known parcels, declaration lists and gate passes: exact counts, rates and hour buckets
//! (one across midnight Beijing time), CSV content and quoting, streaming of a large
//! export, bad parameters, and a viewer reading it all.

use crate::common;
mod csv;
mod seed;
mod support;

use customs_edge::store::parcels;
use reqwest::StatusCode;
use serde_json::{Value, json};

use csv::csv;
use seed::{p, seed, seed_parcels};
use support::{Server, keys, pairs};

/// The range most tests ask about: 22:00 on 27 November to 02:00 on the 28th, Beijing time.
const FROM: &str = "2026-11-27T14:00:00Z";
const TO: &str = "2026-11-27T18:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_count_exactly_what_was_seeded() {
    let server = Server::start().await;
    seed(server.store()).await;
    let s = server
        .json(&format!("/api/stats?from={FROM}&to={TO}"))
        .await;
    assert_eq!(s["from"], "2026-11-27T14:00:00.000Z");
    assert_eq!(s["to"], "2026-11-27T18:00:00.000Z");
    assert_eq!(s["parcels"], 7, "{s:#}");
    assert_eq!(
        s["parcels_per_hour"],
        json!([
            {"hour": "2026-11-27T22:00+08:00", "count": 2},
            {"hour": "2026-11-27T23:00+08:00", "count": 1},
            {"hour": "2026-11-28T00:00+08:00", "count": 2},
            {"hour": "2026-11-28T01:00+08:00", "count": 2},
        ])
    );
    assert_eq!(
        keys(&s["by_trade_mode"]),
        pairs(&[
            ("9610", 2),
            ("unknown", 2),
            ("1210", 1),
            ("9710", 1),
            ("9810", 1)
        ])
    );
    assert_eq!(
        keys(&s["by_country"]),
        pairs(&[("US", 3), ("unknown", 2), ("DE", 1), ("JP", 1)])
    );
    // A1 carries chapters 61 (twice) and 85: each of its parcels counts once in each.
    assert_eq!(
        keys(&s["by_hs_chapter"]),
        pairs(&[("unknown", 4), ("85", 3), ("61", 2)])
    );
    assert_eq!(
        s["lanes"],
        json!({"release": 1, "inspection": 2, "exception": 3, "pending": 1})
    );
    let rate = |k: &str| s[k].as_f64().unwrap();
    assert!((rate("inspection_rate") - 2.0 / 6.0).abs() < 1e-9, "{s:#}");
    assert!((rate("exception_rate") - 0.5).abs() < 1e-9);
    // Four decided parcels with a stable weighing, two of them out of tolerance.
    assert!((rate("weight_mismatch_rate") - 0.5).abs() < 1e-9);
    // 1 h 30, 3 h 20 (entered before the range), 2 h (after a refusal), 10 min (the
    // latest of two entries).
    assert!(
        (rate("avg_arrival_to_departure_s") - 6300.0).abs() < 1e-6,
        "{s:#}"
    );
    assert_eq!(
        s["gate_passes_per_hour"],
        json!([
            {"hour": "2026-11-27T22:00+08:00", "in": 2, "out": 1, "refused": 0, "override": 0},
            {"hour": "2026-11-27T23:00+08:00", "in": 1, "out": 1, "refused": 0, "override": 0},
            {"hour": "2026-11-28T00:00+08:00", "in": 0, "out": 1, "refused": 1, "override": 0},
            {"hour": "2026-11-28T01:00+08:00", "in": 1, "out": 1, "refused": 0, "override": 1},
        ])
    );

    // A quiet range: every hour still there, rates unknown rather than zero.
    let quiet = server
        .json("/api/stats?from=2026-11-20T00:00:00%2B08:00&to=2026-11-20T03:00:00%2B08:00")
        .await;
    assert_eq!(quiet["parcels"], 0);
    assert_eq!(quiet["parcels_per_hour"].as_array().unwrap().len(), 3);
    assert_eq!(
        quiet["parcels_per_hour"][0],
        json!({"hour": "2026-11-20T00:00+08:00", "count": 0})
    );
    for k in [
        "inspection_rate",
        "exception_rate",
        "weight_mismatch_rate",
        "avg_arrival_to_departure_s",
    ] {
        assert!(quiet[k].is_null(), "{k}: {quiet:#}");
    }

    // No range: the last 24 hours.
    let day = server.json("/api/stats").await;
    let t = |k: &str| chrono::DateTime::parse_from_rfc3339(day[k].as_str().unwrap()).unwrap();
    assert_eq!((t("to") - t("from")).num_hours(), 24);
    let hours = day["parcels_per_hour"].as_array().unwrap().len();
    assert!((24..=25).contains(&hours), "{hours}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ranges_are_refused_naming_the_parameter() {
    let server = Server::start().await;
    for (query, parameter, needle) in [
        ("from=yesterday", "from", "not an RFC 3339 time"),
        ("to=2026-11-27", "to", "not an RFC 3339 time"),
        (
            "from=2026-11-28T00:00:00Z&to=2026-11-27T00:00:00Z",
            "from",
            "after to",
        ),
        (
            "from=2026-01-01T00:00:00Z&to=2026-04-03T00:00:01Z",
            "from",
            "more than 92 days",
        ),
    ] {
        for path in ["/api/stats", "/api/stats/export/by_country.csv"] {
            let res = server.get(&format!("{path}?{query}")).await;
            assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["parameter"], parameter, "{path}?{query}: {body}");
            let error = body["error"].as_str().unwrap();
            assert!(error.contains(needle), "{path}?{query}: {error}");
        }
    }
    for file in ["nope.csv", "parcels", "by_country.json"] {
        let res = server.get(&format!("/api/stats/export/{file}")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{file}");
        let body: Value = res.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains(file)
                && error.contains("parcels_per_hour.csv")
                && error.contains("gate_passes_per_hour.csv"),
            "{error}"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_table_exports_as_csv_and_awkward_fields_round_trip() {
    let server = Server::start().await;
    seed(server.store()).await;
    let range = format!("from={FROM}&to={TO}");
    let (disposition, rows) = csv(
        &server,
        &format!("/api/stats/export/by_country.csv?{range}"),
    )
    .await;
    assert_eq!(
        disposition,
        "attachment; filename=\"by_country_20261127T2200_20261128T0200.csv\""
    );
    assert_eq!(
        rows,
        [
            ["country", "parcels"],
            ["US", "3"],
            ["unknown", "2"],
            ["DE", "1"],
            ["JP", "1"]
        ]
    );
    let (_, rows) = csv(
        &server,
        &format!("/api/stats/export/parcels_per_hour.csv?{range}"),
    )
    .await;
    assert_eq!(rows[0], ["hour", "parcels"]);
    assert_eq!(rows[3], ["2026-11-28T00:00+08:00", "2"]);
    let (_, rows) = csv(
        &server,
        &format!("/api/stats/export/by_trade_mode.csv?{range}"),
    )
    .await;
    assert_eq!(rows[1], ["9610", "2"]);
    let (_, rows) = csv(
        &server,
        &format!("/api/stats/export/by_hs_chapter.csv?{range}"),
    )
    .await;
    assert_eq!(
        rows,
        [
            ["hs_chapter", "parcels"],
            ["unknown", "4"],
            ["85", "3"],
            ["61", "2"]
        ]
    );
    let (_, rows) = csv(
        &server,
        &format!("/api/stats/export/gate_passes_per_hour.csv?{range}"),
    )
    .await;
    assert_eq!(rows[0], ["hour", "in", "out", "refused", "override"]);
    assert_eq!(rows[4], ["2026-11-28T01:00+08:00", "1", "1", "0", "1"]);

    let (_, rows) = csv(&server, &format!("/api/stats/export/parcels.csv?{range}")).await;
    assert_eq!(
        rows[0],
        [
            "time_beijing",
            "line",
            "waybill",
            "lane_kind",
            "lane",
            "reasons",
            "outcome"
        ]
    );
    assert_eq!(rows.len(), 8, "seven parcels: {rows:?}");
    assert_eq!(
        rows[4],
        [
            "2026-11-28 00:00:00",
            "L1",
            "A4",
            "inspection",
            "2",
            "officer_flag; weight_out_of_tolerance:900/500",
            "in_flight"
        ]
    );
    assert_eq!(rows[5][2..4], ["", "exception"]);
    assert_eq!(rows[6][3..5], ["pending", ""]);

    // Reasons and waybills with commas, quotes, line breaks and Chinese, and a waybill a
    // spreadsheet would run as a formula.
    seed_parcels(
        server.store(),
        vec![
            p(
                "2026-11-26T02:00:00.000Z",
                Some("SF,1\"x"),
                Some(("exception", r#"["weight, \"approx\"","二\r\nlines"]"#)),
                None,
            ),
            p(
                "2026-11-26T02:00:01.000Z",
                Some("=HYPERLINK(\"x\")"),
                Some(("exception", r#"["manifest_not_found"]"#)),
                None,
            ),
        ],
    )
    .await;
    let (_, rows) = csv(
        &server,
        "/api/stats/export/parcels.csv?from=2026-11-26T00:00:00Z&to=2026-11-27T00:00:00Z",
    )
    .await;
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[1][0], "2026-11-26 10:00:00");
    assert_eq!(rows[1][2], "SF,1\"x");
    assert_eq!(rows[1][5], "weight, \"approx\"; 二\r\nlines");
    assert_eq!(rows[2][2], "'=HYPERLINK(\"x\")", "neutralised, not run");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_parcels_export_streams_every_parcel_once_in_order() {
    const N: usize = 4500;
    let server = Server::start().await;
    // Seven parcels share each second, so pages end between parcels of the same time.
    server
        .store()
        .writer
        .write(|tx| {
            for i in 0..N {
                let at = format!("2026-11-25T00:{:02}:{:02}.000Z", (i / 7) / 60, (i / 7) % 60);
                let id = parcels::insert_entry(tx, "L2", i as u16, &at, 300)?;
                tx.execute(
                    "UPDATE parcels SET logistics_no = ?2 WHERE id = ?1",
                    rusqlite::params![id, format!("W{i:05}")],
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
    let (_, rows) = csv(
        &server,
        "/api/stats/export/parcels.csv?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z",
    )
    .await;
    let waybills: Vec<String> = rows[1..].iter().map(|r| r[2].clone()).collect();
    let expected: Vec<String> = (0..N).map(|i| format!("W{i:05}")).collect();
    assert_eq!(waybills.len(), N);
    assert!(
        waybills == expected,
        "every parcel once, in the order they entered"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_statistics_and_exports() {
    let server = Server::start().await;
    seed(server.store()).await;
    let res = server
        .http
        .post(format!("{}/api/accounts", server.base))
        .json(&json!({"username": "screen", "role": "viewer", "password": "big-screen-pass-2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{}",
        res.text().await.unwrap()
    );
    let viewer =
        common::login_client(server.running.web_addr, "screen", "big-screen-pass-2026").await;
    let res = viewer
        .get(format!("{}/api/stats?from={FROM}&to={TO}", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["parcels"], 7);
    let res = viewer
        .get(format!(
            "{}/api/stats/export/parcels.csv?from={FROM}&to={TO}",
            server.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Without a login: nothing.
    let res = reqwest::get(format!("{}/api/stats", server.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_document_describes_statistics_and_exports() {
    let server = Server::start().await;
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let stats = &doc["paths"]["/api/stats"]["get"];
    assert_eq!(stats["tags"], json!(["stats"]), "{stats:#}");
    let params: Vec<&str> = stats["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["from", "to"]);
    let hour = &doc["components"]["schemas"]["GateHour"]["properties"];
    for field in ["hour", "in", "out", "refused", "override"] {
        assert!(hour.get(field).is_some(), "GateHour.{field}: {hour:#}");
    }
    // Its own name: `Lanes` is the gate lanes' answer.
    let lanes = &doc["components"]["schemas"]["LaneCounts"]["properties"];
    for field in ["release", "inspection", "exception", "pending"] {
        assert!(lanes.get(field).is_some(), "LaneCounts.{field}: {lanes:#}");
    }
    let export = &doc["paths"]["/api/stats/export/{file}"]["get"];
    assert!(
        export["responses"]["200"]["content"]
            .get("text/csv")
            .is_some(),
        "{export:#}"
    );
    for path in [
        "/api/devices",
        "/api/cameras/{id}/frame.jpg",
        "/api/cameras/{id}/live",
    ] {
        assert_eq!(
            doc["paths"][path]["get"]["tags"],
            json!(["devices"]),
            "{path}"
        );
    }
    server.stop().await;
}
