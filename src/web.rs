//! Serves the web app (`web/`, built into `web/dist`) for every path the API,
//! the WebSocket and `/metrics` do not take: files as they are, and
//! `index.html` for any other path so the app's own routes open directly.
//! Unknown `/api/…` paths keep the API's JSON 404.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use tgdesk_api::ApiError;

/// Where the built app lives.
#[derive(Clone)]
pub struct WebState {
    /// The `dist` directory of the web app.
    pub dir: Arc<PathBuf>,
}

/// Answers a path no route took: an API 404, a file of the app, or the app's page.
pub async fn serve(state: WebState, request: Request) -> Response {
    let path = request.uri().path();
    if path == "/api" || path.starts_with("/api/") || path == "/ws" {
        return ApiError::not_found("no such route").into_response();
    }
    if let Some(file) = safe_join(&state.dir, path) {
        if let Ok(bytes) = tokio::fs::read(&file).await {
            return file_response(&file, bytes);
        }
    }
    let index = state.dir.join("index.html");
    match tokio::fs::read(&index).await {
        Ok(bytes) => file_response(&index, bytes),
        Err(_) => not_built(&state.dir),
    }
}

/// Joins a URL path onto `dir`, refusing anything but plain names (no `..`).
fn safe_join(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    if url_path.ends_with('/') || relative.as_os_str().is_empty() {
        return None;
    }
    relative.components().all(|c| matches!(c, Component::Normal(_))).then(|| dir.join(relative))
}

fn file_response(file: &Path, bytes: Vec<u8>) -> Response {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    // Vite names assets by content hash, so they never change; the page itself must always be fresh.
    let cache = if name == "index.html" { "no-cache" } else { "public, max-age=31536000, immutable" };
    let mut response = Response::new(Body::from(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// Content types of the files a Vite build writes.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("jpg") | Some("jpeg") => "image/jpeg",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn not_built(dir: &Path) -> Response {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>tgdesk</title><p>The web app is not built: {} has no index.html. \
         Install Node.js and npm, then run <code>cargo build</code> again (it builds the app), \
         or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>. The API is at <a href=/api/openapi.json>/api</a>.",
        dir.display()
    );
    (StatusCode::SERVICE_UNAVAILABLE, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_out_of_the_app_are_refused() {
        let dir = Path::new("/srv/app");
        assert_eq!(safe_join(dir, "/assets/app.js"), Some(PathBuf::from("/srv/app/assets/app.js")));
        assert_eq!(safe_join(dir, "/../etc/passwd"), None);
        assert_eq!(safe_join(dir, "/assets/../../x"), None);
        assert_eq!(safe_join(dir, "/"), None);
    }

    #[test]
    fn built_files_get_their_content_types() {
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("index-abc.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("blob"), "application/octet-stream");
    }
}
