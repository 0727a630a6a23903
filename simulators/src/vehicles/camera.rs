//! A lane's plate camera as configured (`[gate.camera]`), and one camera event posted
//! through it with its outcome kept for the ground truth.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ocr::PlannedShot;
use crate::plate_camera::{CameraAuth, CameraForm, CameraSimConfig, PlateCameraSim, Shot};

/// The plate camera of a lane: where and how it posts its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSetup {
    /// The controller's camera event URL (`http://127.0.0.1:8080/api/plate/hik`).
    pub url: String,
    /// Wire form: `hikvision` (multipart ISAPI) or `dahua` (JSON).
    pub form: CameraForm,
    /// How it authenticates: `none`, `basic` or `digest`.
    #[serde(default = "default_auth")]
    pub auth: CameraAuth,
    /// User name for basic or digest authentication.
    #[serde(default)]
    pub username: String,
    /// Password for basic or digest authentication.
    #[serde(default)]
    pub password: String,
    /// Camera id; absent = `<lane id>-plate`.
    #[serde(default)]
    pub camera_id: Option<String>,
    /// A post that takes longer than this fails, ms.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

fn default_auth() -> CameraAuth {
    CameraAuth::None
}

fn default_timeout_ms() -> u64 {
    2_000
}

impl CameraSetup {
    /// A camera posting `form` events to `url` without authentication.
    pub fn new(url: impl Into<String>, form: CameraForm) -> Self {
        Self {
            url: url.into(),
            form,
            auth: default_auth(),
            username: String::new(),
            password: String::new(),
            camera_id: None,
            timeout_ms: default_timeout_ms(),
        }
    }

    /// Every problem, one message each (without a path).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            out.push(format!("url {:?} must be an http:// URL", self.url));
        }
        if self.auth != CameraAuth::None && self.username.is_empty() {
            out.push("username is needed for basic or digest authentication".to_owned());
        }
        if self.timeout_ms == 0 {
            out.push("timeout_ms must be greater than 0".to_owned());
        }
        out
    }

    /// The simulated camera of lane `lane_id`.
    pub fn camera(&self, lane_id: &str) -> PlateCameraSim {
        PlateCameraSim::new(CameraSimConfig {
            camera_id: self
                .camera_id
                .clone()
                .unwrap_or_else(|| format!("{lane_id}-plate")),
            url: self.url.clone(),
            form: self.form,
            auth: self.auth,
            username: self.username.clone(),
            password: self.password.clone(),
            timeout: Duration::from_millis(self.timeout_ms),
        })
    }
}

/// How one post went.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PostOutcome {
    /// The HTTP status the controller answered with.
    pub(crate) http_status: Option<u16>,
    /// Why the post failed, when it did.
    pub(crate) error: Option<String>,
}

/// Post `planned` as a camera event taken at `at` on lane `lane_no`; without a camera
/// nothing is sent.
pub(crate) async fn post(
    camera: Option<&PlateCameraSim>,
    planned: &PlannedShot,
    color: customs_edge_devices::plate::PlateColor,
    at: DateTime<Utc>,
    lane_no: u32,
) -> PostOutcome {
    let Some(camera) = camera else {
        return PostOutcome::default();
    };
    let shot = Shot {
        plate: planned.plate.clone(),
        confidence: planned.confidence,
        color,
        at,
        lane: lane_no,
    };
    match camera.post(&shot).await {
        Ok(posted) => PostOutcome {
            http_status: Some(posted.status),
            error: None,
        },
        Err(err) => PostOutcome {
            http_status: None,
            error: Some(err.to_string()),
        },
    }
}
