//! Text limits: the JSON Schemas state exactly the limits the code enforces
//! (`customs_edge_protocol::limits::FIELDS`), and a message with any text field over its
//! limit is refused by both, the site naming the field.

use std::collections::BTreeMap;

use customs_edge_protocol::downlink::Downlink;
use customs_edge_protocol::envelope::{RawBody, open};
use customs_edge_protocol::limits::FIELDS;
use serde_json::Value;

use super::SITE;
use super::downlink_examples::downlink_examples;
use crate::common::{schema_dir, validate_against};

/// The schema files of what comes from outside: the envelope, declaration lists (downlink
/// and `import-manifests`) and every downlink body.
fn inbound_schemas() -> Vec<String> {
    let mut files = vec![
        "envelope.schema.json".to_owned(),
        "declaration_list.schema.json".to_owned(),
    ];
    let mut down: Vec<String> = std::fs::read_dir(schema_dir().join("downlink"))
        .unwrap()
        .map(|e| format!("downlink/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    down.sort();
    files.extend(down);
    files
}

fn is_string(node: &Value) -> bool {
    match &node["type"] {
        Value::String(t) => t == "string",
        Value::Array(ts) => ts.iter().any(|t| t == "string"),
        _ => false,
    }
}

/// Every schema node in `node` that describes a string, by JSON pointer, with its
/// `maxLength`.
fn strings(node: &Value, pointer: &str, out: &mut BTreeMap<String, Option<u64>>) {
    match node {
        Value::Object(map) => {
            if is_string(node) {
                out.insert(
                    pointer.to_owned(),
                    map.get("maxLength").and_then(Value::as_u64),
                );
            }
            for (key, child) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                strings(child, &format!("{pointer}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                strings(child, &format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_inbound_text_field_in_the_schemas_has_the_limit_the_code_enforces() {
    let mut problems = Vec::new();
    for file in inbound_schemas() {
        let text = std::fs::read_to_string(schema_dir().join(&file)).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        let mut found = BTreeMap::new();
        strings(&schema, "", &mut found);
        let in_code: BTreeMap<&str, usize> = FIELDS
            .iter()
            .filter(|f| f.schema == file)
            .map(|f| (f.pointer, f.max_chars))
            .collect();
        for (pointer, max) in &found {
            match (in_code.get(pointer.as_str()), max) {
                (None, _) => problems.push(format!(
                    "{file}{pointer}: a string the code has no limit for"
                )),
                (Some(code), Some(doc)) if *code as u64 == *doc => {}
                (Some(code), doc) => problems.push(format!(
                    "{file}{pointer}: maxLength {doc:?}, the code's limit {code}"
                )),
            }
        }
        for pointer in in_code.keys() {
            if !found.contains_key(*pointer) {
                problems.push(format!(
                    "{file}{pointer}: in the code's table, not a string in the schema"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every string in `value` by path, with the key that names it (`vehicleNo`).
fn leaves(value: &Value, path: &mut Vec<Value>, out: &mut Vec<(Vec<Value>, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if let Value::String(_) = v {
                    let mut at = path.clone();
                    at.push(Value::String(k.clone()));
                    out.push((at, k.clone()));
                } else {
                    path.push(Value::String(k.clone()));
                    leaves(v, path, out);
                    path.pop();
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(Value::from(i));
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn set(message: &mut Value, path: &[Value], to: Value) {
    let mut node = message;
    for step in path {
        node = match step {
            Value::String(k) => &mut node[k.as_str()],
            Value::Number(i) => &mut node[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    *node = to;
}

/// CEB603 fields the lists example carries that the site accepts and ignores.
const IGNORED: [&str; 1] = ["appType"];

#[test]
fn a_downlink_text_over_its_limit_is_refused_by_the_site_and_the_schema_naming_the_field() {
    let long = Value::String("A".repeat(10_000));
    for (kind, example) in downlink_examples() {
        let mut found = Vec::new();
        leaves(&example, &mut Vec::new(), &mut found);
        for (path, key) in found
            .into_iter()
            .filter(|(_, k)| !IGNORED.contains(&k.as_str()))
        {
            let mut message = example.clone();
            set(&mut message, &path, long.clone());
            let bytes = serde_json::to_vec(&message).unwrap();
            let refused = open::<RawBody>(&bytes, 1 << 24, SITE)
                .and_then(|envelope| Downlink::from_envelope(&envelope))
                .expect_err(&format!("{kind}: a 10,000-character {path:?} was accepted"));
            let reason = refused.to_string();
            assert!(
                reason.contains(&format!("{key} is 10000 characters, at most")),
                "{kind} {path:?}: the reason names the field: {reason}"
            );
            assert!(
                reason.len() < 1_000,
                "{kind} {path:?}: the value is not echoed: {reason}"
            );
            assert!(
                validate_against("downlink", kind, &message).is_err(),
                "{kind} {path:?}: the schema accepts what the site refuses"
            );
        }
    }
}
