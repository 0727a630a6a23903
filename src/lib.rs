//! customs-edge: the edge controller of a customs supervision site.
//!
//! - [`cli`] — the command line: `run`, `check-config`, `demo`, `import-manifests`,
//!   `cameras`, `audit verify`, `accounts create-admin`, `backup`, `restore`, `doctor`.
//! - [`cameras_cli`] — `cameras discover`: ONVIF cameras found on the network, printed
//!   as ready-to-paste `[[cameras]]` config.
//! - [`config`] — the typed site configuration and its validation.
//! - [`daemon`] — starts every subsystem and stops them on one cancellation token.
//! - [`supervisor`] — runs each task, restarts one that fails (with backoff), and makes
//!   its failure an alarm and a metric.
//! - [`listen`] — the HTTP listeners' accept loop: connection caps, head, body and idle
//!   time limits, the open-file limit.
//! - [`alarm_book`] — the controller's alarms about itself, shown at once and written to
//!   the store once it can take them.
//! - [`disk_watch`] — free space on the data disk, what is shed as it fills, and the
//!   store's commit state as an alarm and a health entry.
//! - [`store`] — SQLite on disk: migrations, the single writer, the read pool.
//! - [`manifest`] — declaration lists (CEB603) as the controller uses them.
//! - [`import`] — bulk load of declaration lists from JSON lines.
//! - [`sync`] — platform sync over MQTT: the outbox sent in order until acknowledged,
//!   the downlink applied once, telemetry, statistics and health.
//! - [`sorting`] — the X-ray sorting line: tracking, decisions, the line task.
//! - [`web`] — the console, its API, live updates and `/healthz`.
//! - [`evidence`] — content-addressed evidence files (X-ray views, camera frames, plate
//!   snapshots) with thumbnails.
//! - `demo` — the simulated site and the controller together, for a first look (cargo
//!   feature `demo`, on by default; a site build leaves it out).
//! - [`metrics`] — Prometheus metrics served at `/metrics`, and the calls that record them.
//! - [`audit_cli`] — `audit verify` (walks the audit log's hash chain) and
//!   `accounts create-admin`.
//! - [`doctor`] — `doctor`: every configured device, the broker, the store and the host
//!   checked as the controller will use them, one row per check.
//! - [`backup`] — backups of the running store with its evidence, restores, and scheduled
//!   backups with their alarm; [`backup_cli`] is `backup` and `restore`.
//! - [`health`] and [`runtime`] — subsystem health, logging (text, JSON or the journal)
//!   and signals.
//! - [`service`] — the controller as a systemd service: readiness, status, and a watchdog
//!   pinged only while every critical loop makes progress.
#![warn(missing_docs)]

pub mod alarm_book;
pub mod audit_anchor;
pub mod audit_cli;
pub mod backup;
pub mod backup_cli;
pub mod cameras_cli;
pub mod cli;
pub mod config;
pub mod cpu_priority;
pub mod daemon;
#[cfg(feature = "demo")]
pub mod demo;
pub mod disk_watch;
pub mod doctor;
pub mod evidence;
pub mod gates;
pub mod health;
pub mod import;
pub mod keys_cli;
pub mod listen;
pub mod memory;
pub mod metrics;
pub mod retention;
pub mod runtime;
pub mod service;
pub mod sorting;
pub mod store;
pub mod supervisor;
pub mod sync;
pub mod video;
pub mod web;

/// Declaration lists (CEB603), shared with the platform contract.
pub use customs_edge_protocol::declaration as manifest;
