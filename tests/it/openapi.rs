//! The served OpenAPI document against the real server: it is OpenAPI 3.1 JSON, it
//! describes every route the consoles call, its references and path parameters are
//! whole, guarded operations say how to authenticate, and every documented route without
//! parameters is really served.

use crate::common;

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use common::gate_site::{hik_digest, relaxed_timing, start_gate_site};

/// The routes the consoles call, with their methods.
const CONSOLE_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/setup"),
    ("post", "/api/setup"),
    ("post", "/api/login"),
    ("post", "/api/logout"),
    ("get", "/api/me"),
    ("post", "/api/me/password"),
    ("get", "/api/accounts"),
    ("post", "/api/accounts"),
    ("put", "/api/accounts/{username}/role"),
    ("post", "/api/accounts/{username}/disable"),
    ("post", "/api/accounts/{username}/enable"),
    ("post", "/api/accounts/{username}/password"),
    ("get", "/api/sessions"),
    ("delete", "/api/sessions/{id}"),
    ("get", "/api/gates"),
    ("get", "/api/gates/passes"),
    ("get", "/api/gates/passes/{id}"),
    ("post", "/api/gates/{gate}/override"),
    ("post", "/api/parcels/{id}/flag"),
    ("get", "/api/site"),
    ("get", "/api/parcels"),
    ("get", "/api/events"),
    ("get", "/api/sync"),
    ("get", "/api/evidence/{sha256}"),
    ("get", "/api/evidence/{sha256}/thumb"),
    ("get", "/api/cameras"),
    ("get", "/api/lines"),
    ("get", "/api/judging"),
    ("post", "/api/alarms/{id}/ack"),
    ("get", "/api/alarms"),
    ("get", "/api/alarms/history"),
    ("get", "/api/handover"),
    ("get", "/api/inspections/export.csv"),
    ("get", "/api/gates/passes/search"),
    ("get", "/api/gates/passes/export.csv"),
    ("get", "/api/parcels/search"),
    ("get", "/api/parcels/{id}"),
    ("post", "/api/parcels/{id}/inspection"),
    ("get", "/api/stats"),
    ("get", "/api/stats/export/{file}"),
    ("get", "/api/devices"),
    ("get", "/api/cameras/{id}/frame.jpg"),
    ("get", "/api/cameras/{id}/live"),
];

/// Every guarded operation must state its security and document the guard's refusals.
fn refusals_checked(_method: &str, path: &str) -> bool {
    path.starts_with("/api/")
}

/// Operations anyone may call, without a session.
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/api/setup"),
    ("post", "/api/setup"),
    ("post", "/api/login"),
];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

/// Every operation in the document: (method, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut ops = Vec::new();
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                ops.push((method.to_owned(), path.clone(), op.clone()));
            }
        }
    }
    ops
}

/// Every `$ref` anywhere under `value`.
fn refs(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        out.insert(r.clone());
                    }
                    _ => refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// The `{name}`s of a path template (a segment may hold more than its parameter, as in
/// `{table}.csv`).
fn template_params(path: &str) -> BTreeSet<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(name, _)| name.to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_document_describes_and_serves_every_console_route() {
    let site = start_gate_site(&[hik_digest()], relaxed_timing(), Vec::new(), |_| {}).await;
    let base = format!("http://{}", site.controller.web_addr);

    // Open without a login, like the console page itself.
    let res = reqwest::get(format!("{base}/api/openapi.json"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let doc: Value = res.json().await.expect("the document is JSON");
    let version = doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let ops = operations(&doc);
    assert!(!ops.is_empty(), "paths has operations");

    // Every console route is described.
    let described: BTreeSet<(String, String)> =
        ops.iter().map(|(m, p, _)| (m.clone(), p.clone())).collect();
    let missing: Vec<_> = CONSOLE_ROUTES
        .iter()
        .filter(|(m, p)| !described.contains(&((*m).to_owned(), (*p).to_owned())))
        .collect();
    assert!(missing.is_empty(), "not in the document: {missing:?}");

    // Each operation: its success documented, path parameters declared, tags declared, no
    // login asked of an open one; a checked console route states its security and
    // documents the refusals of the guard.
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    assert!(schemes.contains_key("session") && schemes.contains_key("bearer"));
    let tags: BTreeSet<&str> = doc["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for (method, path, op) in &ops {
        let what = format!("{} {path}", method.to_uppercase());
        let responses = op["responses"].as_object().expect("responses");
        if !responses.keys().any(|s| s.starts_with('2')) {
            problems.push(format!("{what} documents no success"));
        }
        let params = op["parameters"].as_array().into_iter().flatten();
        let in_path: Vec<&Value> = params.filter(|p| p["in"] == "path").collect();
        if in_path.iter().any(|p| p["required"] != true) {
            problems.push(format!("{what}: a path parameter is not required"));
        }
        let declared: BTreeSet<String> = in_path
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        if declared != template_params(path) {
            problems.push(format!("{what}: path parameters declared {declared:?}"));
        }
        let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
        let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
        if public && secured {
            problems.push(format!("{what} is open, yet asks for a login"));
        }
        for tag in op["tags"].as_array().into_iter().flatten() {
            let tag = tag.as_str().unwrap_or_default();
            if !tags.contains(tag) {
                problems.push(format!("{what}: tag {tag:?} is not declared"));
            }
        }
        if refusals_checked(method, path) && !public {
            if !secured {
                problems.push(format!("{what} is guarded but states no security"));
            }
            let changes = *method != "get";
            for (code, needed) in [("401", true), ("403", changes)] {
                if needed && !responses.contains_key(code) {
                    problems.push(format!("{what} does not document the guard's {code}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // Every reference resolves.
    let mut all = BTreeSet::new();
    refs(&doc, &mut all);
    for r in &all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} points into components.schemas"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} resolves"
        );
    }

    // Every documented GET without parameters is served (an administrator may read all).
    // A route that is not served falls through to the static assets: 405, or a plain-text
    // 404. A handler's own 404 ("nothing to judge") is JSON with an `error`.
    for (method, path, _) in &ops {
        if method != "get" || path.contains('{') {
            continue;
        }
        let res = site.http.get(format!("{base}{path}")).send().await.unwrap();
        let status = res.status();
        let json = res
            .headers()
            .get("content-type")
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        let body = if status == StatusCode::NOT_FOUND && json {
            res.json::<Value>().await.unwrap_or_default()
        } else {
            drop(res); // `/api/events` streams: its headers are the answer.
            Value::Null
        };
        let unrouted = status == StatusCode::METHOD_NOT_ALLOWED
            || (status == StatusCode::NOT_FOUND && !body["error"].is_string());
        assert!(
            !unrouted,
            "GET {path} is documented but not served: {status}"
        );
        assert!(!status.is_server_error(), "GET {path} answers {status}");
    }
    site.stop().await;
}
