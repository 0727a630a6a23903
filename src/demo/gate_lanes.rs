//! Simulated gate lanes wired to the controller: the lanes' setups with plate cameras
//! posting to the controller's listener, the controller's `[[gates]]` and `[[cameras]]`
//! for the lanes once they run, and exit permits that match a fleet's ground truth. Used
//! by the demo and by `scripts/bench-gate.sh`.

use std::net::SocketAddr;
use std::path::Path;

use customs_edge_protocol::downlink::{ExitPermit, PermitItem};
use customs_edge_simulators::plate_camera::{CameraAuth, CameraForm};
use customs_edge_simulators::vehicles::{
    CameraSetup, Direction, GateLaneAddrs, GateLaneSetup, LaneTiming, VehicleGenerator, VehicleSpec,
};
use rand::SeedableRng as _;

use crate::config::{CameraConfig, GateConfig, GateDirection, PlateAuth};
use crate::gates::permit::permit_status;

/// The user name simulated plate cameras log in with.
pub const CAMERA_USER: &str = "anpr";

/// `n` exit lanes `K1`…, their cameras alternating Hikvision with Digest and Dahua with
/// Basic, posting to the controller's plate listener at `listen`.
pub fn sim_lanes(
    n: usize,
    listen: SocketAddr,
    password: &str,
    timing: LaneTiming,
) -> Vec<GateLaneSetup> {
    (1..=n)
        .map(|i| {
            let id = format!("K{i}");
            let (form, auth) = if i % 2 == 1 {
                (CameraForm::Hikvision, CameraAuth::Digest)
            } else {
                (CameraForm::Dahua, CameraAuth::Basic)
            };
            let camera_id = format!("CAM-{id}");
            let mut camera =
                CameraSetup::new(format!("http://{listen}/cameras/{camera_id}/events"), form);
            camera.auth = auth;
            camera.username = CAMERA_USER.into();
            camera.password = password.into();
            camera.camera_id = Some(camera_id);
            let mut setup = GateLaneSetup::new(id, Direction::Out);
            setup.lane_no = i as u32;
            setup.camera = Some(camera);
            setup.timing = timing;
            setup
        })
        .collect()
}

/// The controller's lanes and plate cameras for running simulated lanes; the cameras'
/// password is read from `password_file`, and each expects the scheme its simulated camera
/// posts with.
pub fn controller_lanes(
    addrs: &[GateLaneAddrs],
    password_file: &Path,
) -> (Vec<GateConfig>, Vec<CameraConfig>) {
    addrs
        .iter()
        .map(|a| {
            let direction = match a.direction {
                Direction::In => GateDirection::In,
                Direction::Out => GateDirection::Out,
            };
            let camera_id = format!("CAM-{}", a.id);
            let mut gate = GateConfig::new(&a.id, direction, a.io.to_string());
            gate.weighbridge_address = a.weighbridge.map(|w| w.to_string());
            gate.plate_camera = Some(camera_id.clone());
            // The demo's and the benches' simulated trucks carry permits without items
            // unless their loads are set; a real site keeps the default (hold).
            gate.permit_without_items = crate::config::PermitWithoutItems::Release;
            let camera = CameraConfig {
                id: camera_id,
                name: format!("卡口 {} 车牌识别", a.id),
                onvif_url: None,
                stream_url: None,
                username: Some(CAMERA_USER.into()),
                username_env: None,
                password_env: None,
                password_file: Some(password_file.to_owned()),
                plate_auth: match a.camera_auth {
                    Some(CameraAuth::Basic) => PlateAuth::Basic,
                    _ => PlateAuth::Digest,
                },
                ..CameraConfig::default()
            };
            (gate, camera)
        })
        .unzip()
}

/// Exit permits that make the controller's verdicts match the fleet's ground truth:
/// an approved permit at the true weight for each entitled truck; for the others, in
/// turn, an approved one at the true weight naming a waybill never sorted here (the load
/// check holds it: 包裹未过机), none, a voided one, one still awaiting approval, and one
/// whose gross weight is a fifth off.
pub fn permits_for(fleet: &[VehicleSpec]) -> Vec<ExitPermit> {
    let mut refused = 0usize;
    fleet
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let no = format!("HF3511{:08}", i + 1);
            let mut permit = ExitPermit {
                permit_no: no,
                vehicle_no: v.plate.clone(),
                vehicle_weight: Some(f64::from(v.true_weight_kg) * 0.4),
                frame_weight: None,
                container_no: None,
                container_weight: None,
                total_gross_weight: Some(f64::from(v.true_weight_kg)),
                status: permit_status::APPROVED,
                items: Vec::new(),
            };
            if v.entitled {
                return Some(permit);
            }
            refused += 1;
            match refused % 5 {
                0 => None,
                1 => {
                    permit.items = vec![PermitItem {
                        bill_no: None,
                        logistics_no: Some(format!("SF7{:011}", i + 1)),
                        total_package_no: None,
                    }];
                    Some(permit)
                }
                2 => {
                    permit.status = permit_status::VOIDED;
                    Some(permit)
                }
                3 => {
                    permit.status = permit_status::APPLIED;
                    Some(permit)
                }
                _ => {
                    permit.total_gross_weight = Some(f64::from(v.true_weight_kg) * 1.2);
                    Some(permit)
                }
            }
        })
        .collect()
}

/// A fleet for `lanes`: `per_lane` trucks each, one every `every_ms` per lane; three in four
/// entitled, one read in ten misread and one in twenty a no-read, three reads per truck.
pub fn fleet(lanes: &[GateLaneSetup], per_lane: u32, every_ms: u64, seed: u64) -> Vec<VehicleSpec> {
    let generator = VehicleGenerator {
        entitled_rate: 0.75,
        misread_rate: 0.1,
        no_read_rate: 0.05,
        reads: 3,
        every_ms,
        ..VehicleGenerator::per_lane(per_lane)
    };
    let ids: Vec<_> = lanes.iter().map(|s| (s.id.clone(), s.direction)).collect();
    generator.vehicles(&ids, &mut rand::rngs::StdRng::seed_from_u64(seed))
}
