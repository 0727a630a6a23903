//! The protocol crate's integration tests, one binary with a module per area.

mod arrival_schemas;
mod common;
mod schemas;
