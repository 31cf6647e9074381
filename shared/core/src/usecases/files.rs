//! Files agents upload to attach to messages. Bytes and a JSON description
//! live in the blob store under the tenant's prefix; only the uploader and
//! supervisors read a file back, and only the uploader (or an admin) attaches it.

use super::{Actor, AppError, Desk, MediaFile};
use crate::domain::{FileId, FileRef, Role, TenantId};
use crate::ports::PortErrorKind;
use async_trait::async_trait;
use chrono::Utc;

/// Largest file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

fn data_key(tenant: &TenantId, id: &FileId) -> String {
    format!("{tenant}/files/{id}")
}

fn meta_key(tenant: &TenantId, id: &FileId) -> String {
    format!("{tenant}/files/{id}.json")
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
        let mut writer = self.blobs.create(&data_key(&actor.tenant, &id), content_type).await?;
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
        self.blobs.put(&meta_key(&actor.tenant, &file.id), meta, "application/json").await?;
        Ok(file)
    }

    /// Opens a file to read a chunk at a time: its uploader, the uploader's
    /// leader, and admins; to anyone else it does not exist.
    pub async fn download_file(&self, actor: &Actor, id: &FileId) -> Result<MediaFile, AppError> {
        let file = self.file_ref(actor, id).await?;
        let allowed = match actor.role {
            Role::Admin => true,
            _ if file.uploaded_by == actor.user_id => true,
            Role::Leader => self
                .directory
                .get_user(&actor.tenant, &file.uploaded_by)
                .await?
                .is_some_and(|uploader| uploader.leader_id.as_ref() == Some(&actor.user_id)),
            Role::Agent => false,
        };
        if !allowed {
            return Err(AppError::not_found("no such file"));
        }
        let reader = self.blobs.open(&data_key(&actor.tenant, id)).await?;
        Ok(MediaFile { reader, content_type: file.content_type, name: Some(file.name) })
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
        let (meta, _) = self.blobs.get(&meta_key(&actor.tenant, id)).await.map_err(|e| match e.kind {
            PortErrorKind::NotFound => AppError::not_found("no such file"),
            _ => e.into(),
        })?;
        serde_json::from_slice(&meta).map_err(|_| AppError::not_found("no such file"))
    }
}
