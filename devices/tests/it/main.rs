//! The devices crate's integration tests, one binary with a module per area.

mod driver_fc23_fallback;
mod onvif_client;
mod pymodbus_server;
mod xray_feed;
