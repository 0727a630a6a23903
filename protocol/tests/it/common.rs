//! Validates MQTT messages against the JSON Schemas in `docs/mqtt/schemas`.
//!
//! Shared by the protocol crate's schema tests and, through `#[path]`, by the controller's
//! end-to-end tests, which check what the controller really publishes:
//!
//! ```ignore
//! // in tests/it/common/platform.rs; the path is relative to the including file
//! #[path = "../../../protocol/tests/it/common.rs"]
//! mod mqtt_schemas;
//! mqtt_schemas::validate_against("uplink", "sort_result", &message)?;
//! ```
//!
//! The including crate needs `jsonschema` and `serde_json` as dev-dependencies. No schema
//! is fetched over the network: the shared files the kind schemas `$ref` are read from
//! disk and registered under a fixed base URI, so relative references resolve offline.

#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// The URI the schema directory is registered under; relative `$ref`s resolve against it.
const BASE_URI: &str = "file:///customs-edge/docs/mqtt/schemas/";

/// The schema files that are not a message kind, referenced from the kind schemas.
pub const SHARED_SCHEMAS: [&str; 4] = [
    "envelope.schema.json",
    "signed.schema.json",
    "declaration_list.schema.json",
    "evidence_ref.schema.json",
];

/// `docs/mqtt/schemas` of the workspace: the first ancestor of the including crate's
/// manifest directory that has one.
pub fn schema_dir() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("docs/mqtt/schemas"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| panic!("no docs/mqtt/schemas above {}", start.display()))
}

/// The path of the schema of `kind` in `kind_dir` (`uplink` or `downlink`).
pub fn schema_path(kind_dir: &str, kind: &str) -> PathBuf {
    schema_dir()
        .join(kind_dir)
        .join(format!("{kind}.schema.json"))
}

/// Check `message` (a whole envelope) against the schema of `kind` in `kind_dir`
/// (`uplink` or `downlink`). The error names every violation with its JSON path.
pub fn validate_against(
    kind_dir: &str,
    kind: &str,
    message: &serde_json::Value,
) -> Result<(), String> {
    let validator = validator(kind_dir, kind)?;
    let errors: Vec<String> = validator
        .iter_errors(message)
        .map(|e| format!("at {:?}: {e}", e.instance_path().as_str()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{kind_dir}/{kind} message does not fit its schema: {}\nmessage: {message}",
            errors.join("; ")
        ))
    }
}

/// [`validate_against`] with the direction given and the kind read from the message.
pub fn validate_message(kind_dir: &str, message: &serde_json::Value) -> Result<(), String> {
    let kind = message
        .get("kind")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("message has no string \"kind\": {message}"))?;
    validate_against(kind_dir, kind, message)
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}

type Cache = Mutex<HashMap<(String, String), Arc<jsonschema::Validator>>>;

/// Compiled validators by (direction, kind): end-to-end tests check many messages.
fn validator(kind_dir: &str, kind: &str) -> Result<Arc<jsonschema::Validator>, String> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    let key = (kind_dir.to_owned(), kind.to_owned());
    if let Some(v) = cache.lock().unwrap().get(&key) {
        return Ok(Arc::clone(v));
    }
    let built = Arc::new(compile(kind_dir, kind)?);
    cache.lock().unwrap().insert(key, Arc::clone(&built));
    Ok(built)
}

fn compile(kind_dir: &str, kind: &str) -> Result<jsonschema::Validator, String> {
    let path = schema_path(kind_dir, kind);
    if !path.is_file() {
        return Err(format!(
            "no schema for {kind_dir} kind {kind:?} (looked for {})",
            path.display()
        ));
    }
    let schema = read_json(&path)?;
    let dir = schema_dir();
    let mut shared = Vec::new();
    for name in SHARED_SCHEMAS {
        shared.push((format!("{BASE_URI}{name}"), read_json(&dir.join(name))?));
    }
    let registry = jsonschema::Registry::new()
        .extend(
            shared
                .into_iter()
                .map(|(uri, doc)| (uri, jsonschema::Draft::Draft202012.create_resource(doc))),
        )
        .and_then(jsonschema::RegistryBuilder::prepare)
        .map_err(|e| format!("cannot register the shared schemas: {e}"))?;
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        // An empty kind_dir: a shared schema at the top (the signed wrapper).
        .with_base_uri(if kind_dir.is_empty() {
            format!("{BASE_URI}{kind}.schema.json")
        } else {
            format!("{BASE_URI}{kind_dir}/{kind}.schema.json")
        })
        .with_registry(&registry)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("{} is not a usable schema: {e}", path.display()))
}
