//! `PUT` and `GET /api/blobs/{token}`: the local server plays S3's part for
//! the presigned requests of the file blob store (`tgdesk_local::FsBlobStore`
//! signs them; on AWS they go to S3 and this route is absent). The token is
//! the whole authority: an upload must carry the signed type and length,
//! and is stored only once every byte arrived.

use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tgdesk_api::ApiError;
use tgdesk_core::ports::{BlobStore, PortErrorKind};
use tgdesk_local::FsBlobStore;

/// The routes, on the data dir's file store.
pub fn routes(blobs: FsBlobStore) -> axum::Router {
    let path = format!("{}/{{token}}", tgdesk_local::PRESIGNED_PATH);
    axum::Router::new().route(&path, axum::routing::put(upload).get(download)).with_state(blobs)
}

fn refused(message: &str) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "signature_mismatch", message).into_response()
}

fn failed(e: tgdesk_core::ports::PortError) -> Response {
    ApiError::from(tgdesk_core::usecases::AppError::from(e)).into_response()
}

async fn upload(State(blobs): State<FsBlobStore>, Path(token): Path<String>, request: Request) -> Response {
    let Ok(grant) = blobs.redeem(&token, "PUT") else { return refused("the presigned request is invalid or expired") };
    let headers = request.headers();
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if content_type != grant.content_type.as_deref() || length != grant.size {
        return refused("send the content type and length the request was signed for");
    }
    let size = grant.size.unwrap_or(0);
    let mut writer = match blobs.create(&grant.key, content_type.unwrap_or_default()).await {
        Ok(w) => w,
        Err(e) => return failed(e),
    };
    let mut body = request.into_body().into_data_stream();
    let mut received = 0u64;
    while let Some(chunk) = body.next().await {
        let Ok(chunk) = chunk else {
            return ApiError::invalid("the upload was cut short").into_response();
        };
        received += chunk.len() as u64;
        if received > size {
            return ApiError::invalid("more bytes than signed for").into_response();
        }
        if let Err(e) = writer.write(&chunk).await {
            return failed(e);
        }
    }
    if received != size {
        return ApiError::invalid(format!("{received} bytes of the {size} signed for")).into_response();
    }
    match writer.finish().await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(e) => failed(e),
    }
}

async fn download(State(blobs): State<FsBlobStore>, Path(token): Path<String>) -> Response {
    let Ok(grant) = blobs.redeem(&token, "GET") else { return refused("the presigned request is invalid or expired") };
    let reader = match blobs.open(&grant.key).await {
        Ok(r) => r,
        Err(e) if e.kind == PortErrorKind::NotFound => return ApiError::not_found("no such file").into_response(),
        Err(e) => return failed(e),
    };
    // This origin is the app's: served as the API serves files (never
    // sniffed, an attachment unless a raster image), not as S3 would.
    let content_type = reader.meta().content_type.clone();
    tgdesk_api::blob_response(reader, &content_type, None, "inline")
}
