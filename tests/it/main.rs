//! The controller's integration tests, one binary: the daemon against the simulators over
//! real loopback sockets, a real Mosquitto, SQLite on disk and headless Chromium. One module
//! per area; `common` is the harness they share. Linking is the slow part of a Rust build,
//! and this stack (OpenCV included) links once here.

mod abuse_connections;
mod arrivals_downlink;
mod audit_anchor;
mod audit_verify;
mod backup;
mod bag_scanner;
mod cli;
mod common;
mod console_browser;
mod custody_gate;
mod demo;
mod doctor;
mod garbled_plc;
mod gates_e2e;
mod gates_safety;
mod healthz;
mod late_holds;
mod line_e2e;
mod link_broker;
mod link_signing;
mod onvif_client_vs_sim;
mod openapi;
mod plate_listener;
mod platform_downlink;
mod platform_link;
mod platform_sync;
mod restart;
mod sorting_e2e;
mod store_faults;
mod store_shedding;
mod video_capture;
mod video_evidence;
mod video_rig;
mod video_rtsp;
mod web_accounts;
mod web_auth;
mod web_devices;
mod web_hardening;
mod web_limits;
mod web_lines;
mod web_parcels;
mod web_stats;
mod web_tls;
