//! [`S3Blobs`]: the blob store port on one S3 bucket. Port keys are object
//! keys as they are ([`validate_blob_key`] already keeps them to S3's safe
//! characters); the content type is the object's `Content-Type`. Streamed
//! writes become multipart uploads once they pass one part, so a customer's
//! video never sits whole in memory.

use crate::context::AwsContext;
use crate::error;
use async_trait::async_trait;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::time::Duration;
use tgdesk_core::ports::{
    validate_blob_key, validate_content_type, validate_presign, BlobMeta, BlobReader, BlobStore, BlobVersion,
    BlobWriter, PortError, PortErrorKind, PresignedRequest, MAX_BLOB_CHUNK, MAX_BLOB_LIST,
};
use tokio::sync::OnceCell;

/// Size of a multipart upload's parts: above S3's 5 MiB minimum, small
/// enough to hold one in memory per upload.
const PART_BYTES: usize = 8 * 1024 * 1024;

/// The blob store port on S3.
pub struct S3Blobs {
    client: aws_sdk_s3::Client,
    bucket: String,
    create_missing: bool,
    /// Set once the bucket is known to exist (created where allowed).
    ready: OnceCell<()>,
}

impl S3Blobs {
    /// Returns the adapter on bucket `<prefix>-files`.
    pub fn new(ctx: &AwsContext) -> Self {
        Self::with_bucket(ctx, ctx.name("files"))
    }

    /// Returns the adapter on `bucket`.
    pub fn with_bucket(ctx: &AwsContext, bucket: String) -> Self {
        Self { client: ctx.s3(), bucket, create_missing: ctx.settings.create_missing, ready: OnceCell::new() }
    }

    /// Makes sure the bucket exists, creating it where the settings allow.
    async fn ready(&self) -> Result<(), PortError> {
        self.ready
            .get_or_try_init(|| async {
                match self.client.head_bucket().bucket(&self.bucket).send().await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let e = error::sdk("s3 head_bucket", e);
                        if e.kind != PortErrorKind::NotFound || !self.create_missing {
                            return Err(e);
                        }
                        match self.client.create_bucket().bucket(&self.bucket).send().await {
                            Ok(_) => Ok(()),
                            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => {
                                Ok(())
                            }
                            Err(e) => Err(error::sdk("s3 create_bucket", e)),
                        }
                    }
                }
            })
            .await
            .map(|_| ())
    }

    /// Makes sure the bucket is there (created where allowed).
    pub async fn check(&self) -> Result<(), PortError> {
        self.ready().await
    }

    /// Checks a key and makes sure the bucket is there.
    async fn prepare(&self, key: &str) -> Result<(), PortError> {
        validate_blob_key(key)?;
        self.ready().await
    }

    /// Opens the object under `key`; `NotFound` when there is none.
    async fn get_object(&self, key: &str) -> Result<(ByteStream, BlobMeta), PortError> {
        self.prepare(key).await?;
        let out = self.client.get_object().bucket(&self.bucket).key(key).send().await.map_err(|e| {
            let e = error::sdk("s3 get_object", e);
            if e.kind == PortErrorKind::NotFound {
                PortError::not_found(format!("no blob {key}"))
            } else {
                e
            }
        })?;
        let meta = BlobMeta {
            size: out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
            content_type: out.content_type().unwrap_or("application/octet-stream").to_owned(),
        };
        Ok((out.body, meta))
    }
}

fn stream_error(e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::with_source(PortErrorKind::Unavailable, "s3 object body broke off", e)
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), PortError> {
        validate_content_type(content_type)?;
        self.prepare(key).await?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| error::sdk("s3 put_object", e))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<(Vec<u8>, BlobMeta), PortError> {
        let (body, meta) = self.get_object(key).await?;
        let bytes = body.collect().await.map_err(stream_error)?.into_bytes().to_vec();
        Ok((bytes, meta))
    }

    async fn get_versioned(&self, key: &str) -> Result<Option<(Vec<u8>, BlobVersion)>, PortError> {
        self.prepare(key).await?;
        let out = match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = error::sdk("s3 get_object", e);
                return if e.kind == PortErrorKind::NotFound { Ok(None) } else { Err(e) };
            }
        };
        let etag = out
            .e_tag()
            .map(str::to_owned)
            .ok_or_else(|| PortError::new(PortErrorKind::Internal, format!("s3 get_object: no ETag for {key}")))?;
        let bytes = out.body.collect().await.map_err(stream_error)?.into_bytes().to_vec();
        Ok(Some((bytes, BlobVersion(etag))))
    }

    async fn put_if(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        expected: Option<&BlobVersion>,
    ) -> Result<BlobVersion, PortError> {
        validate_content_type(content_type)?;
        self.prepare(key).await?;
        let put = self.client.put_object().bucket(&self.bucket).key(key).content_type(content_type);
        // S3's conditional writes: If-Match an ETag, or If-None-Match * for a new key.
        let put = match expected {
            Some(BlobVersion(etag)) => put.if_match(etag),
            None => put.if_none_match("*"),
        };
        let out = put.body(ByteStream::from(bytes)).send().await.map_err(|e| {
            // 412: the condition failed; 409: a concurrent conditional write
            // won; 404: If-Match on a key deleted meanwhile.
            let status = e.raw_response().map(|r| r.status().as_u16());
            if matches!(status, Some(412 | 409 | 404)) {
                PortError::conflict(format!("blob {key} changed since it was read"))
            } else {
                error::sdk("s3 put_object", e)
            }
        })?;
        let etag = out
            .e_tag()
            .map(str::to_owned)
            .ok_or_else(|| PortError::new(PortErrorKind::Internal, format!("s3 put_object: no ETag for {key}")))?;
        Ok(BlobVersion(etag))
    }

    async fn delete(&self, key: &str) -> Result<(), PortError> {
        self.prepare(key).await?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| error::sdk("s3 delete_object", e))?;
        Ok(())
    }

    async fn create(&self, key: &str, content_type: &str) -> Result<Box<dyn BlobWriter>, PortError> {
        validate_content_type(content_type)?;
        self.prepare(key).await?;
        Ok(Box::new(S3Writer {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            key: key.to_owned(),
            content_type: content_type.to_owned(),
            buffer: Vec::new(),
            upload: None,
            parts: Vec::new(),
            size: 0,
        }))
    }

    async fn open(&self, key: &str) -> Result<Box<dyn BlobReader>, PortError> {
        let (body, meta) = self.get_object(key).await?;
        Ok(Box::new(S3Reader { body, meta, pending: Vec::new() }))
    }

    async fn list(&self, folder: &str, after: Option<&str>, limit: usize) -> Result<Vec<String>, PortError> {
        self.prepare(folder).await?;
        let limit = limit.clamp(1, MAX_BLOB_LIST);
        let prefix = format!("{folder}/");
        let mut keys: Vec<String> = Vec::new();
        let mut start = after.map(str::to_owned);
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_start_after(start.take())
                .max_keys(i32::try_from(limit - keys.len()).unwrap_or(i32::MAX))
                .send()
                .await
                .map_err(|e| error::sdk("s3 list_objects_v2", e))?;
            keys.extend(out.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
            if keys.len() >= limit || !out.is_truncated().unwrap_or(false) {
                keys.truncate(limit);
                return Ok(keys);
            }
            start = keys.last().cloned();
        }
    }

    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: Duration,
    ) -> Result<PresignedRequest, PortError> {
        validate_content_type(content_type)?;
        let config = presigning(expires_in)?;
        self.prepare(key).await?;
        let length = i64::try_from(size).map_err(|_| PortError::new(PortErrorKind::Invalid, "size out of range"))?;
        // Type and length are signed: S3 refuses the upload with others.
        let put = self.client.put_object().bucket(&self.bucket).key(key).content_type(content_type);
        let signed = put.content_length(length).presigned(config).await.map_err(|e| error::sdk("s3 presign put", e))?;
        Ok(presigned(&signed, expires_in))
    }

    async fn presign_download(&self, key: &str, expires_in: Duration) -> Result<PresignedRequest, PortError> {
        let config = presigning(expires_in)?;
        self.prepare(key).await?;
        let get = self.client.get_object().bucket(&self.bucket).key(key);
        let signed = get.presigned(config).await.map_err(|e| error::sdk("s3 presign get", e))?;
        Ok(presigned(&signed, expires_in))
    }
}

fn presigning(expires_in: Duration) -> Result<PresigningConfig, PortError> {
    validate_presign(expires_in)?;
    PresigningConfig::expires_in(expires_in).map_err(|e| PortError::with_source(PortErrorKind::Invalid, "presign", e))
}

/// The SDK's presigned request in the port's terms. `host` is left out of
/// the headers: every HTTP client sets it from the URL.
fn presigned(signed: &aws_sdk_s3::presigning::PresignedRequest, expires_in: Duration) -> PresignedRequest {
    let headers = signed
        .headers()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("host"))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    PresignedRequest {
        method: signed.method().to_owned(),
        url: signed.uri().to_owned(),
        headers,
        expires_at: chrono::Utc::now() + expires_in,
    }
}

/// A streamed write: bytes gather into a part; the first full part starts
/// a multipart upload. Dropped unfinished, it aborts the upload (and the
/// bucket's lifecycle rule removes any that a crash left behind).
struct S3Writer {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    content_type: String,
    buffer: Vec<u8>,
    /// The multipart upload id, once one started.
    upload: Option<String>,
    parts: Vec<CompletedPart>,
    size: u64,
}

impl S3Writer {
    /// Uploads the buffer as the next part, starting the upload if needed.
    async fn flush_part(&mut self) -> Result<(), PortError> {
        let upload = match &self.upload {
            Some(id) => id.clone(),
            None => {
                let out = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .content_type(&self.content_type)
                    .send()
                    .await
                    .map_err(|e| error::sdk("s3 create_multipart_upload", e))?;
                let id = out.upload_id().ok_or_else(|| PortError::new(PortErrorKind::Internal, "no upload id"))?;
                self.upload = Some(id.to_owned());
                id.to_owned()
            }
        };
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        let body = ByteStream::from(std::mem::take(&mut self.buffer));
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload)
            .part_number(number)
            .body(body)
            .send()
            .await
            .map_err(|e| error::sdk("s3 upload_part", e))?;
        self.parts.push(CompletedPart::builder().set_e_tag(out.e_tag().map(str::to_owned)).part_number(number).build());
        Ok(())
    }
}

#[async_trait]
impl BlobWriter for S3Writer {
    async fn write(&mut self, chunk: &[u8]) -> Result<(), PortError> {
        self.buffer.extend_from_slice(chunk);
        self.size += chunk.len() as u64;
        if self.buffer.len() >= PART_BYTES {
            self.flush_part().await?;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>) -> Result<BlobMeta, PortError> {
        let meta = BlobMeta { size: self.size, content_type: self.content_type.clone() };
        let Some(upload) = self.upload.clone() else {
            let body = ByteStream::from(std::mem::take(&mut self.buffer));
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type(&self.content_type)
                .body(body)
                .send()
                .await
                .map_err(|e| error::sdk("s3 put_object", e))?;
            return Ok(meta);
        };
        if !self.buffer.is_empty() {
            self.flush_part().await?;
        }
        let parts = CompletedMultipartUpload::builder().set_parts(Some(std::mem::take(&mut self.parts))).build();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload)
            .multipart_upload(parts)
            .send()
            .await
            .map_err(|e| error::sdk("s3 complete_multipart_upload", e))?;
        self.upload = None;
        Ok(meta)
    }
}

impl Drop for S3Writer {
    fn drop(&mut self) {
        let Some(upload) = self.upload.take() else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let request = self.client.abort_multipart_upload().bucket(&self.bucket).key(&self.key).upload_id(upload);
        runtime.spawn(async move {
            if let Err(e) = request.send().await {
                tracing::warn!(error = %aws_sdk_s3::error::DisplayErrorContext(&e), "cannot abort an unfinished upload");
            }
        });
    }
}

/// A blob read from S3's response body, re-cut to at most [`MAX_BLOB_CHUNK`].
struct S3Reader {
    body: ByteStream,
    meta: BlobMeta,
    /// What the last network chunk held beyond [`MAX_BLOB_CHUNK`].
    pending: Vec<u8>,
}

#[async_trait]
impl BlobReader for S3Reader {
    fn meta(&self) -> &BlobMeta {
        &self.meta
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, PortError> {
        while self.pending.is_empty() {
            match self.body.next().await {
                None => return Ok(None),
                Some(chunk) => self.pending = chunk.map_err(stream_error)?.to_vec(),
            }
        }
        let rest = self.pending.split_off(self.pending.len().min(MAX_BLOB_CHUNK));
        Ok(Some(std::mem::replace(&mut self.pending, rest)))
    }
}
