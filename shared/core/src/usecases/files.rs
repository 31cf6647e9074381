//! Files agents upload to attach to messages. Bytes and a JSON description
//! live in the blob store under the tenant's prefix; only the uploader and
//! supervisors read a file back, and only the uploader (or an admin) attaches it.

use super::{Actor, AppError, Desk};
use crate::domain::{FileId, FileRef, Role, TenantId};
use crate::ports::PortErrorKind;
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

impl Desk {
    /// Stores an upload and returns its description. Empty files and files
    /// over [`MAX_FILE_BYTES`] are refused.
    pub async fn upload_file(
        &self,
        actor: &Actor,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<FileRef, AppError> {
        let name = clean_file_name(name)?;
        if bytes.is_empty() {
            return Err(AppError::invalid("the file is empty"));
        }
        if bytes.len() > MAX_FILE_BYTES {
            return Err(AppError::invalid(format!("files are limited to {} MiB", MAX_FILE_BYTES / (1024 * 1024))));
        }
        let file = FileRef {
            id: FileId::generate(),
            name,
            content_type: content_type.to_owned(),
            size: bytes.len() as u64,
            uploaded_by: actor.user_id.clone(),
            uploaded_at: Utc::now(),
        };
        self.blobs.put(&data_key(&actor.tenant, &file.id), bytes, content_type).await?;
        let meta = serde_json::to_vec(&file).map_err(|e| AppError::invalid(e.to_string()))?;
        self.blobs.put(&meta_key(&actor.tenant, &file.id), meta, "application/json").await?;
        Ok(file)
    }

    /// Returns a file's description and bytes (uploader, leaders and admins).
    pub async fn download_file(&self, actor: &Actor, id: &FileId) -> Result<(FileRef, Vec<u8>), AppError> {
        let file = self.file_ref(actor, id).await?;
        if file.uploaded_by != actor.user_id && actor.role == Role::Agent {
            return Err(AppError::not_found("no such file"));
        }
        let (bytes, _) = self.blobs.get(&data_key(&actor.tenant, id)).await?;
        Ok((file, bytes))
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
