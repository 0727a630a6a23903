//! Evidence files for the consoles: `GET /api/evidence/{sha256}` serves a kept file as it
//! was received, `GET /api/evidence/{sha256}/thumb` its JPEG thumbnail, made on first request.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, AppState, WebState, auth};

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(evidence_file))
        .routes(routes!(evidence_thumb))
}

/// A kept evidence file as it was received, by content hash.
#[utoipa::path(
    get,
    path = "/api/evidence/{sha256}",
    tag = "site",
    security(("session" = []), ("bearer" = [])),
    params(("sha256" = String, Path, max_length = 64, pattern = "^[0-9a-fA-F]{64}$", description = "The file's SHA-256, 64 hex digits")),
    responses(
        (status = 200, description = "The file as it was received", content(
            (String = "image/jpeg"),
            (String = "image/png"),
            (String = "image/bmp"),
            (String = "image/tiff"),
            (String = "application/octet-stream"),
        )),
        (status = 400, description = "Not a SHA-256 in hex", body = auth::ErrorBody),
        auth::NotLoggedIn,
        (status = 404, description = "No such evidence", body = auth::ErrorBody),
        (status = 500, description = "On record, but its file cannot be read", body = auth::ErrorBody),
    )
)]
async fn evidence_file(
    State(state): State<AppState>,
    axum::extract::Path(sha256): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let (_, rel, _) = find_evidence(&state, &sha256).await?;
    let path = state.evidence.resolve(&rel);
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "evidence file on record is unreadable");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("evidence {sha256} is on record but its file cannot be read"))
    })?;
    let mime = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("bmp") => "image/bmp",
        Some("tif" | "tiff") => "image/tiff",
        _ => "application/octet-stream",
    };
    Ok(([(axum::http::header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// The JPEG thumbnail of a kept image, made on the first request.
#[utoipa::path(
    get,
    path = "/api/evidence/{sha256}/thumb",
    tag = "site",
    security(("session" = []), ("bearer" = [])),
    params(("sha256" = String, Path, max_length = 64, pattern = "^[0-9a-fA-F]{64}$", description = "The image's SHA-256, 64 hex digits")),
    responses(
        (status = 200, description = "A JPEG thumbnail", body = String, content_type = "image/jpeg"),
        (status = 400, description = "Not a SHA-256 in hex", body = auth::ErrorBody),
        auth::NotLoggedIn,
        (status = 404, description = "No such evidence, or not an image this site can show", body = auth::ErrorBody),
    )
)]
async fn evidence_thumb(
    State(state): State<AppState>,
    axum::extract::Path(sha256): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let (_, rel, decoded) = find_evidence(&state, &sha256).await?;
    if !decoded {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("evidence {sha256} is not an image this site can show"),
        ));
    }
    let store = state.evidence.clone();
    let made = tokio::task::spawn_blocking(move || store.thumbnail(&rel))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let path = made.map_err(|e| {
        tracing::warn!(error = %e, "no thumbnail");
        ApiError(StatusCode::NOT_FOUND, e.to_string())
    })?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

async fn find_evidence(
    state: &AppState,
    sha256: &str,
) -> Result<(String, std::path::PathBuf, bool), ApiError> {
    super::errors::text_len("sha256", sha256, 0, 64)?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("sha256 {sha256:?} is not a SHA-256 in hex"),
        ));
    }
    let key = sha256.to_ascii_lowercase();
    state
        .store
        .reader
        .read(move |c| crate::store::evidence_rows::by_sha256(c, &key))
        .await?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no evidence {sha256}")))
}
