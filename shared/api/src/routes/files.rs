//! File uploads (to attach to messages) and downloads.

use crate::extract::{Authed, Json, Path, Query};
use crate::{ApiError, ApiState};
use async_trait::async_trait;
use axum::body::{Body, BodyDataStream, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;
use tgdesk_core::domain::{FileId, FileRef};
use tgdesk_core::ports::BlobReader;
use tgdesk_core::usecases::{AppError, FileUpload, MediaFile, UploadBody};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn routes() -> OpenApiRouter<ApiState> {
    // The use case enforces the limit as the body streams in; the default 2 MB limit applies to buffered bodies only.
    OpenApiRouter::new()
        .routes(routes!(upload_file))
        .routes(routes!(download_file))
        .routes(routes!(announce_upload))
        .routes(routes!(complete_upload))
}

/// A file about to be uploaded straight to the blob store.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUpload {
    /// File name shown to the customer.
    name: String,
    /// Its MIME type.
    content_type: String,
    /// Its exact size in bytes (up to 50 MiB).
    size: u64,
}

/// Announces a file to upload straight to the blob store (files over API
/// Gateway's 10 MB go this way): answers its id and a presigned request to
/// send as given (no Authorization header), then complete it.
#[utoipa::path(post, path = "/api/files/uploads", tag = "sending", request_body = NewUpload,
    responses((status = 201, body = FileUpload), (status = 413, description = "file too large")))]
async fn announce_upload(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Json(req): Json<NewUpload>,
) -> Result<(StatusCode, Json<FileUpload>), ApiError> {
    let upload = s.desk.file_upload(&actor, &req.name, &req.content_type, req.size).await?;
    Ok((StatusCode::CREATED, Json(upload)))
}

/// Makes an uploaded file attachable (its uploader).
#[utoipa::path(post, path = "/api/files/{id}/complete", tag = "sending", params(("id" = String, Path)),
    responses((status = 201, body = FileRef), (status = 400, description = "the bytes are not uploaded")))]
async fn complete_upload(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<FileId>,
) -> Result<(StatusCode, Json<FileRef>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.desk.complete_file_upload(&actor, &id).await?)))
}

/// The upload's name.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// File name shown to the customer.
    name: String,
}

/// Uploads a file (the raw bytes as the body, its type as Content-Type); up
/// to 50 MiB. The body is stored as it arrives, never whole in memory.
#[utoipa::path(post, path = "/api/files", tag = "sending", params(UploadParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = FileRef), (status = 413, description = "file too large")))]
async fn upload_file(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Query(p): Query<UploadParams>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileRef>), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .unwrap_or("application/octet-stream");
    let declared_len =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let mut body = RequestBody { declared_len, stream: body.into_data_stream() };
    let file = s.desk.upload_file(&actor, &p.name, content_type, &mut body).await?;
    Ok((StatusCode::CREATED, Json(file)))
}

/// A request body read piece by piece.
struct RequestBody {
    declared_len: Option<u64>,
    stream: BodyDataStream,
}

#[async_trait]
impl UploadBody for RequestBody {
    fn declared_len(&self) -> Option<u64> {
        self.declared_len
    }

    async fn next_piece(&mut self) -> Result<Option<Vec<u8>>, AppError> {
        match self.stream.next().await {
            Some(Ok(piece)) => Ok(Some(piece.to_vec())),
            Some(Err(e)) => Err(AppError::invalid(format!("the upload was cut short: {e}"))),
            None => Ok(None),
        }
    }
}

/// Downloads a file (its uploader, leaders and admins).
#[utoipa::path(get, path = "/api/files/{id}", tag = "sending", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/octet-stream"),
              (status = 307, description = "a large file: follow Location, a presigned download"), (status = 404)))]
async fn download_file(
    State(s): State<ApiState>,
    Authed(actor): Authed,
    Path(id): Path<FileId>,
) -> Result<Response, ApiError> {
    Ok(media_response(s.desk.download_file(&actor, &id).await?, "attachment"))
}

/// Builds a response streaming a stored file a chunk at a time (a
/// customer's video is never whole in memory), with its length.
/// A file past `DIRECT_DOWNLOAD_BYTES` is a 307 to its presigned download.
pub(crate) fn media_response(file: MediaFile, disposition: &str) -> Response {
    if let Some(direct) = &file.direct {
        if let Ok(location) = HeaderValue::from_str(&direct.url) {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
            response.headers_mut().insert(header::LOCATION, location);
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            return response;
        }
    }
    blob_response(file.reader, &file.content_type, file.name.as_deref(), disposition)
}

/// Builds a response streaming a stored blob a chunk at a time (a
/// customer's video is never whole in memory), with its length, served as
/// [`file_response`] serves files.
pub fn blob_response(
    reader: Box<dyn BlobReader>,
    content_type: &str,
    name: Option<&str>,
    disposition: &str,
) -> Response {
    let size = reader.meta().size;
    // After an error the stream ends: the client sees a cut-short body against Content-Length.
    let chunks = futures::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        match reader.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(Bytes::from(chunk)), Some(reader))),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(error = %e, "a stored file could not be read to its end");
                Some((Err(e), None))
            }
        }
    });
    let mut response = file_response(Body::from_stream(chunks), content_type, name, disposition);
    response.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    response
}

/// Types a browser may show inline from the API's origin: raster images
/// only (no SVG, no HTML: either could run script there).
const INLINE_TYPES: [&str; 5] = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"];

/// Builds a response carrying a file: its type, never sniffed, and its name
/// in a `Content-Disposition` of `disposition` (`inline` or `attachment`);
/// `inline` holds only for [`INLINE_TYPES`], anything else is an attachment.
pub(crate) fn file_response(
    body: impl Into<Body>,
    content_type: &str,
    name: Option<&str>,
    disposition: &str,
) -> Response {
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let disposition = if INLINE_TYPES.contains(&mime.as_str()) { disposition } else { "attachment" };
    let mut response = Response::new(body.into());
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let ascii: Option<String> =
        name.map(|n| n.chars().map(|c| if c.is_ascii_graphic() && c != '"' { c } else { '_' }).collect());
    let value = match ascii {
        Some(ascii) => format!("{disposition}; filename=\"{ascii}\""),
        None => disposition.to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
