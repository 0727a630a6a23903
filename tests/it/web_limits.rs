//! Every text the console API takes has a limit: the OpenAPI document states a
//! `maxLength` for each string parameter and body field, and the server refuses a query
//! or path value one character over it with a 400 that names the parameter.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::Value;

use crate::web_auth::{anon, start};

fn is_string(schema: &Value) -> bool {
    match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

/// Every string in `schema` (following `$ref`s into the components) without a
/// `maxLength` or a fixed set of values, by where it is.
fn unbounded(
    doc: &Value,
    schema: &Value,
    at: &str,
    seen: &mut BTreeSet<String>,
    out: &mut Vec<String>,
) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        if seen.insert(name.to_owned()) {
            unbounded(doc, &doc["components"]["schemas"][name], name, seen, out);
        }
        return;
    }
    if is_string(schema)
        && schema.get("maxLength").is_none()
        && schema.get("enum").is_none()
        && schema.get("const").is_none()
    {
        out.push(at.to_owned());
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for s in schema[key].as_array().into_iter().flatten() {
            unbounded(doc, s, at, seen, out);
        }
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, s) in props {
            unbounded(doc, s, &format!("{at}.{name}"), seen, out);
        }
    }
    if schema.get("items").is_some() {
        unbounded(doc, &schema["items"], &format!("{at}[]"), seen, out);
    }
}

async fn document(base: &str) -> Value {
    anon()
        .get(format!("{base}/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_string_the_api_takes_has_a_limit_and_one_over_it_is_refused_by_name() {
    let server = start().await;
    let admin = server.set_up().await;
    let doc = document(&server.base).await;
    let mut problems = Vec::new();
    let mut probes = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{} {path}", method.to_uppercase());
            let mut seen = BTreeSet::new();
            for p in op["parameters"].as_array().into_iter().flatten() {
                let at = format!("{what} {}", p["name"].as_str().unwrap());
                unbounded(&doc, &p["schema"], &at, &mut seen, &mut problems);
                if method == "get"
                    && is_string(&p["schema"])
                    && let Some(max) = p["schema"]["maxLength"].as_u64()
                {
                    probes.push((path.clone(), p.clone(), max));
                }
            }
            let body = &op["requestBody"]["content"]["application/json"]["schema"];
            if !body.is_null() {
                unbounded(
                    &doc,
                    body,
                    &format!("{what} body"),
                    &mut seen,
                    &mut problems,
                );
            }
        }
    }
    assert!(
        problems.is_empty(),
        "strings without a maxLength:\n{}",
        problems.join("\n")
    );
    assert!(
        probes.len() >= 15,
        "the GET parameters probed: {}",
        probes.len()
    );

    // One character over: refused with 400 naming it (a path value would otherwise be a
    // 404 for an unknown id, a query value a search that finds nothing).
    for (path, param, max) in probes {
        let name = param["name"].as_str().unwrap();
        let long = "A".repeat(max as usize + 1);
        let mut url = format!("{}{path}", server.base);
        if param["in"] == "path" {
            url = url.replace(&format!("{{{name}}}"), &long);
        } else {
            url = format!("{url}?{name}={long}");
        }
        // Other path parameters get a plausible value.
        let zeros = "0".repeat(64);
        for (other, value) in [
            ("id", "1"),
            ("sha256", zeros.as_str()),
            ("username", "site.admin"),
            ("file", "parcels.csv"),
            ("gate", "K1"),
        ] {
            url = url.replace(&format!("{{{other}}}"), value);
        }
        let res = admin.http.get(&url).send().await.unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or_default();
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "GET {path} {name} of {}: {body}",
            max + 1
        );
        assert!(
            body["parameter"] == name || body["error"].as_str().is_some_and(|e| e.contains(name)),
            "GET {path}: the refusal names {name}: {body}"
        );
    }
    server.stop().await;
}
