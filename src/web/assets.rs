//! Static console assets from `web-ui/`, embedded at build time, and the charting library.
//!
//! The pages are plain files (vanilla JavaScript modules, no build step). The one
//! third-party file, Chart.js, comes from npm: `scripts/setup.sh` runs `npm ci` in
//! `web-ui/`, and [`Chart`] embeds its UMD build, served at [`CHART_JS_PATH`]. Nothing is
//! loaded from a CDN: the site is offline.
//!
//! Release builds embed at compile time, so `web-ui/node_modules` must be installed before
//! `cargo build`. When it was not, the build still succeeds and [`CHART_JS_PATH`] answers
//! 503 with a script that says to run `scripts/setup.sh` (the statistics page shows the same
//! message in place of its charts), and the server logs it once.

use std::sync::Once;

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

/// The console's own files; `node_modules/`, the npm manifests and dotfiles are left out.
#[derive(Embed)]
#[folder = "web-ui/"]
#[exclude = "node_modules/*"]
#[exclude = ".*"]
#[exclude = "package*.json"]
struct Assets;

/// Chart.js's distribution folder, from `npm ci` in `web-ui/`; may be missing (see the
/// module docs).
#[derive(Embed)]
#[folder = "web-ui/node_modules/chart.js/dist/"]
#[include = "chart.umd.min.js"]
#[allow_missing = true]
struct Chart;

/// Where the pages load Chart.js from.
pub(super) const CHART_JS_PATH: &str = "/vendor/chart.js";
/// The file of [`Chart`] served there: the minified UMD build, which defines `window.Chart`.
const CHART_JS_FILE: &str = "chart.umd.min.js";

/// What is said when Chart.js was not installed before the build.
const CHART_MISSING: &str = "Chart.js is missing from this build: run scripts/setup.sh \
     (it runs `npm ci` in web-ui/), then rebuild customs-edge";

fn mime(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("wav") => "audio/wav",
        _ => "application/octet-stream",
    }
}

fn file(mime: &'static str, data: std::borrow::Cow<'static, [u8]>) -> Response {
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        data,
    )
        .into_response()
}

/// Chart.js, or a script that throws [`CHART_MISSING`] with 503.
fn chart_js() -> Response {
    static LOGGED: Once = Once::new();
    if let Some(f) = Chart::get(CHART_JS_FILE) {
        return file("text/javascript; charset=utf-8", f.data);
    }
    LOGGED.call_once(|| tracing::error!("{CHART_MISSING}"));
    let script = format!("console.error({CHART_MISSING:?});");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        script,
    )
        .into_response()
}

/// Serve an embedded file; `/` is `index.html`, [`CHART_JS_PATH`] is Chart.js.
pub(super) async fn serve(uri: Uri) -> Response {
    if uri.path() == CHART_JS_PATH {
        return chart_js();
    }
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match Assets::get(path) {
        Some(f) => file(mime(path), f.data),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_and_their_modules_are_embedded() {
        for path in [
            "index.html",
            "style.css",
            "js/main.js",
            "js/api.js",
            "js/i18n.js",
            "js/live.js",
        ] {
            assert!(Assets::get(path).is_some(), "{path} is not embedded");
        }
    }

    /// The keys of a text table (`key: "text",` entries of `js/text-*.js`).
    fn text_keys(file: &str) -> std::collections::BTreeSet<String> {
        let data = Assets::get(file).unwrap_or_else(|| panic!("{file} is not embedded"));
        let text = String::from_utf8(data.data.into_owned()).expect("UTF-8");
        text.split(": \"")
            .filter_map(|before| {
                let key: String = before
                    .chars()
                    .rev()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                (!key.is_empty()).then(|| key.chars().rev().collect())
            })
            .collect()
    }

    #[test]
    fn every_text_has_chinese_and_english() {
        let (zh, en) = (text_keys("js/text-zh.js"), text_keys("js/text-en.js"));
        assert!(
            zh.len() > 300,
            "the Chinese table was read: {} keys",
            zh.len()
        );
        assert_eq!(
            zh.difference(&en).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "texts with no English"
        );
        assert_eq!(
            en.difference(&zh).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "texts with no Chinese"
        );
    }

    #[tokio::test]
    async fn chart_js_is_served_when_installed_and_names_setup_when_not() {
        let res = serve(Uri::from_static(CHART_JS_PATH)).await;
        if Chart::get(CHART_JS_FILE).is_some() {
            assert_eq!(res.status(), StatusCode::OK);
        } else {
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            assert!(String::from_utf8_lossy(&body).contains("scripts/setup.sh"));
        }
    }

    #[tokio::test]
    async fn npm_files_and_dotfiles_are_not_served() {
        for path in [
            "/node_modules/chart.js/package.json",
            "/package.json",
            "/package-lock.json",
            "/.gitignore",
        ] {
            let res = serve(Uri::from_static(path)).await;
            assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        }
    }
}
