//! Files agents upload to attach to messages. Bytes and a JSON description
//! live in the blob store under the tenant's prefix; only the uploader and
//! supervisors read a file back, and only the uploader (or an admin) attaches it.

use super::{Actor, AppError, Desk, MediaFile};
use crate::domain::{FileId, FileRef, Job, JobId, JobKind, JobState, Role, TenantId};
use crate::ports::{BlobReader, PortErrorKind, PresignedRequest};
use async_trait::async_trait;
use chrono::Utc;

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

/// Files larger than this are handed out by a presigned download instead of
/// through the API (a Lambda answers at most 6 MB).
pub const DIRECT_DOWNLOAD_BYTES: u64 = 4 * 1024 * 1024;

/// How long a presigned download works.
const DOWNLOAD_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);

/// A file announced for upload, and the request that uploads it.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct FileUpload {
    /// The file's id, to complete once uploaded.
    pub file_id: FileId,
    /// The request that uploads the bytes straight to the blob store.
    pub upload: PresignedRequest,
}

fn data_key(tenant: &TenantId, id: &FileId) -> String {
    format!("{tenant}/files/{id}")
}

fn meta_key(tenant: &TenantId, id: &FileId) -> String {
    format!("{tenant}/files/{id}.json")
}

/// The description of a file announced and not yet completed.
fn pending_key(tenant: &TenantId, id: &FileId) -> String {
    format!("{tenant}/files/{id}.pending.json")
}

/// What an announced upload may have left in the blob store.
pub(crate) fn upload_keys(tenant: &TenantId, id: &FileId) -> Vec<String> {
    vec![data_key(tenant, id), pending_key(tenant, id)]
}

/// A file announced and not yet completed, with the job that bounds its wait.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingFile {
    file: FileRef,
    job: JobId,
}

fn clean_file_name(raw: &str) -> Result<String, AppError> {
    let name = raw.trim();
    let bad = name.is_empty()
        || name.chars().count() > 255
        || name.chars().any(|c| c.is_control() || c == '/' || c == '\\')
        || name == "."
        || name == "..";
    if bad {
        return Err(AppError::invalid("name must be 1 to 255 characters without '/', '\\\\' or control characters"));
    }
    Ok(name.to_owned())
}

/// The bytes of an upload as they arrive from the client.
#[async_trait]
pub trait UploadBody: Send {
    /// The length the client announced (Content-Length), when it did.
    fn declared_len(&self) -> Option<u64>;
    /// The next piece, `None` at the end. An error (the client went away)
    /// abandons the upload.
    async fn next_piece(&mut self) -> Result<Option<Vec<u8>>, AppError>;
}

fn too_large() -> AppError {
    AppError::TooLarge(format!("files are limited to {} MiB", MAX_FILE_BYTES / (1024 * 1024)))
}

impl Desk {
    /// Stores an upload as it arrives (never whole in memory) and returns its
    /// description. Empty files and files over [`MAX_FILE_BYTES`] are
    /// refused, the latter as soon as the announced length or the bytes
    /// read pass the limit; a refused or broken upload leaves nothing stored.
    pub async fn upload_file(
        &self,
        actor: &Actor,
        name: &str,
        content_type: &str,
        body: &mut dyn UploadBody,
    ) -> Result<FileRef, AppError> {
        let name = clean_file_name(name)?;
        if body.declared_len().is_some_and(|len| len > MAX_FILE_BYTES as u64) {
            return Err(too_large());
        }
        let id = FileId::generate();
        let mut writer = self.ports.blobs.create(&data_key(&actor.tenant, &id), content_type).await?;
        let mut size = 0usize;
        while let Some(piece) = body.next_piece().await? {
            size += piece.len();
            if size > MAX_FILE_BYTES {
                return Err(too_large());
            }
            writer.write(&piece).await?;
        }
        if size == 0 {
            return Err(AppError::invalid("the file is empty"));
        }
        writer.finish().await?;
        let file = FileRef {
            id,
            name,
            content_type: content_type.to_owned(),
            size: size as u64,
            uploaded_by: actor.user_id.clone(),
            uploaded_at: Utc::now(),
        };
        let meta = serde_json::to_vec(&file).map_err(|e| AppError::invalid(e.to_string()))?;
        self.ports.blobs.put(&meta_key(&actor.tenant, &file.id), meta, "application/json").await?;
        Ok(file)
    }

    /// Announces a file of `size` bytes to be uploaded straight to the blob
    /// store (on AWS, to S3: API Gateway takes at most 10 MB bodies);
    /// [`Desk::complete_file_upload`] makes it attachable once its bytes are there.
    pub async fn file_upload(
        &self,
        actor: &Actor,
        name: &str,
        content_type: &str,
        size: u64,
    ) -> Result<FileUpload, AppError> {
        let name = clean_file_name(name)?;
        if size == 0 {
            return Err(AppError::invalid("the file is empty"));
        }
        if size > MAX_FILE_BYTES as u64 {
            return Err(too_large());
        }
        self.ensure_room_for_a_job(actor).await?;
        let id = FileId::generate();
        let job = Job::new(
            actor.tenant.clone(),
            actor.user_id.clone(),
            JobKind::UploadFile { file: id.clone() },
            JobState::AwaitingUpload,
        );
        let pending = FileRef {
            id: id.clone(),
            name,
            content_type: content_type.to_owned(),
            size,
            uploaded_by: actor.user_id.clone(),
            uploaded_at: Utc::now(),
        };
        let upload = self
            .ports
            .blobs
            .presign_upload(&data_key(&actor.tenant, &id), content_type, size, super::UPLOAD_LIFETIME)
            .await?;
        let meta = serde_json::to_vec(&PendingFile { file: pending, job: job.id.clone() })
            .map_err(|e| AppError::invalid(e.to_string()))?;
        self.ports.blobs.put(&pending_key(&actor.tenant, &id), meta, "application/json").await?;
        self.await_upload(&job).await?;
        Ok(FileUpload { file_id: id, upload })
    }

    /// Makes an uploaded file attachable (its uploader only); `Invalid`
    /// while its bytes are missing or not the size announced.
    pub async fn complete_file_upload(&self, actor: &Actor, id: &FileId) -> Result<FileRef, AppError> {
        let pending = match self.ports.blobs.get(&pending_key(&actor.tenant, id)).await {
            Ok((meta, _)) => {
                serde_json::from_slice::<PendingFile>(&meta).map_err(|_| AppError::not_found("no such upload"))?
            }
            Err(e) if e.kind == PortErrorKind::NotFound => {
                // Completing twice answers the file as completed.
                let file = self.file_ref(actor, id).await.map_err(|_| AppError::not_found("no such upload"))?;
                return if file.uploaded_by == actor.user_id {
                    Ok(file)
                } else {
                    Err(AppError::not_found("no such upload"))
                };
            }
            Err(e) => return Err(e.into()),
        };
        let PendingFile { file: pending, job } = pending;
        if pending.uploaded_by != actor.user_id {
            return Err(AppError::not_found("no such upload"));
        }
        let stored = match self.ports.blobs.open(&data_key(&actor.tenant, id)).await {
            Ok(reader) => reader.meta().size,
            Err(e) if e.kind == PortErrorKind::NotFound => return Err(AppError::invalid("upload the file first")),
            Err(e) => return Err(e.into()),
        };
        if stored != pending.size {
            return Err(AppError::invalid(format!(
                "the upload holds {stored} bytes, not the {} announced",
                pending.size
            )));
        }
        // Done first: an upload the overdue check failed meanwhile is gone, not attachable.
        if !self.finish_waiting_job(&actor.tenant, &job).await? {
            return Err(AppError::Conflict("the upload was not completed in time; upload it again".into()));
        }
        let file = FileRef { uploaded_at: Utc::now(), ..pending };
        let meta = serde_json::to_vec(&file).map_err(|e| AppError::invalid(e.to_string()))?;
        self.ports.blobs.put(&meta_key(&actor.tenant, id), meta, "application/json").await?;
        self.ports.blobs.delete(&pending_key(&actor.tenant, id)).await?;
        Ok(file)
    }

    /// A stored file as the API hands it out: read through the API, or, past
    /// [`DIRECT_DOWNLOAD_BYTES`], by a presigned download.
    pub(crate) async fn media_file(
        &self,
        key: &str,
        reader: Box<dyn BlobReader>,
        content_type: String,
        name: Option<String>,
    ) -> Result<MediaFile, AppError> {
        let direct = if reader.meta().size > DIRECT_DOWNLOAD_BYTES {
            Some(self.ports.blobs.presign_download(key, DOWNLOAD_LIFETIME).await?)
        } else {
            None
        };
        Ok(MediaFile { reader, content_type, name, direct })
    }

    /// Opens a file to read a chunk at a time: its uploader, the uploader's
    /// leader, and admins; to anyone else it does not exist.
    pub async fn download_file(&self, actor: &Actor, id: &FileId) -> Result<MediaFile, AppError> {
        let file = self.file_ref(actor, id).await?;
        let allowed = match actor.role {
            Role::Admin => true,
            _ if file.uploaded_by == actor.user_id => true,
            Role::Leader => self
                .ports
                .directory
                .get_user(&actor.tenant, &file.uploaded_by)
                .await?
                .is_some_and(|uploader| uploader.leader_id.as_ref() == Some(&actor.user_id)),
            Role::Agent => false,
        };
        if !allowed {
            return Err(AppError::not_found("no such file"));
        }
        let key = data_key(&actor.tenant, id);
        let reader = self.ports.blobs.open(&key).await?;
        self.media_file(&key, reader, file.content_type, Some(file.name)).await
    }

    /// Resolves files to attach: each must exist and be the actor's own upload (admins: any).
    pub(crate) async fn attachable_files(&self, actor: &Actor, ids: &[FileId]) -> Result<Vec<FileRef>, AppError> {
        if ids.len() > 10 {
            return Err(AppError::invalid("at most 10 files per message"));
        }
        let mut files = Vec::with_capacity(ids.len());
        for id in ids {
            let file = self.file_ref(actor, id).await?;
            if file.uploaded_by != actor.user_id && actor.role != Role::Admin {
                return Err(AppError::invalid(format!("file {id} is not yours")));
            }
            files.push(file);
        }
        Ok(files)
    }

    async fn file_ref(&self, actor: &Actor, id: &FileId) -> Result<FileRef, AppError> {
        let (meta, _) = self.ports.blobs.get(&meta_key(&actor.tenant, id)).await.map_err(|e| match e.kind {
            PortErrorKind::NotFound => AppError::not_found("no such file"),
            _ => e.into(),
        })?;
        serde_json::from_slice(&meta).map_err(|_| AppError::not_found("no such file"))
    }
}
