//! The simulators crate's integration tests, one binary with a module per area.

mod broker;
mod common;
mod edge_sim;
mod faults;
mod gate_devices;
mod lines;
mod malformed_modbus;
mod onvif_camera;
mod plate_camera;
mod platform;
mod register_tables;
mod scenario;
mod scenario_docs;
mod site;
mod vehicles;
mod xray;
