//! The longest text each console API input may carry, in characters: checked by the
//! handlers (`errors::text_len`, a 400 naming the parameter) and stated as `maxLength` in
//! the OpenAPI document (`tests/it/openapi.rs` checks that every string input has one).
//! Limits on what a record keeps live beside it (`password::MAX_*`, the override and flag
//! reasons, `bags::BAG_NO_MAX_CHARS`, `inspections::MAX_FINDINGS_CHARS`).

use customs_edge_protocol::limits as wire;

/// An id from the config or the store: a line, gate lane, camera, account or session.
pub const ID: usize = 64;
/// An RFC 3339 time in a query.
pub const TIME: usize = 40;
/// A language code (`zh`).
pub const LANG: usize = 8;
/// Part of a plate searched for (a plate is at most this long).
pub const PLATE: usize = wire::PLATE;
/// Part of a permit number searched for.
pub const PERMIT_NO: usize = wire::PERMIT_NO;
/// A label scanned at a retrieval: a waybill number.
pub const SCAN: usize = wire::LOGISTICS_NO;
/// Why something was done by hand (a retrieval without a scan).
pub const REASON: usize = 500;

/// `text_len` for an optional value.
pub(super) fn opt(
    parameter: &str,
    value: Option<&str>,
    max: usize,
) -> Result<(), super::auth::Denied> {
    match value {
        Some(v) => super::errors::text_len(parameter, v, 0, max),
        None => Ok(()),
    }
}
