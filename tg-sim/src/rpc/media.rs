//! Files: upload.saveFilePart / saveBigFilePart collect parts per key, sendMedia
//! turns them into a stored photo or document, upload.getFile serves them
//! back, and users' profile photos.

use grammers_tl_types::{self as tl, Serializable};

use super::{bool_true, parse, resolve_peer, RpcCtx, RpcErr, RpcResult};
use crate::cloud::model::{FileRec, PeerKey};
use crate::cloud::State;

/// Largest part Telegram accepts (512 KiB).
const MAX_PART: usize = 512 * 1024;
/// Most parts one file may have (4000 × 512 KiB = 2 GB, Telegram's limit).
const MAX_PARTS: i32 = 4000;

fn save_part(ctx: &mut RpcCtx<'_>, file_id: i64, part: i32, bytes: Vec<u8>) -> RpcResult {
    if !(0..MAX_PARTS).contains(&part) {
        return Err(RpcErr::bad("FILE_PART_INVALID"));
    }
    if bytes.len() > MAX_PART {
        return Err(RpcErr::bad("FILE_PART_TOO_BIG"));
    }
    ctx.cloud.lock().rt.uploads.entry((ctx.kid, file_id)).or_default().insert(part, bytes);
    Ok(bool_true())
}

/// upload.saveFilePart.
pub fn save_file_part(ctx: &mut RpcCtx<'_>, body: &[u8]) -> RpcResult {
    let req: tl::functions::upload::SaveFilePart = parse(body)?;
    save_part(ctx, req.file_id, req.file_part, req.bytes)
}

/// upload.saveBigFilePart.
pub fn save_big_file_part(ctx: &mut RpcCtx<'_>, body: &[u8]) -> RpcResult {
    let req: tl::functions::upload::SaveBigFilePart = parse(body)?;
    save_part(ctx, req.file_id, req.file_part, req.bytes)
}

/// Stores the uploaded file an `InputMedia` refers to and returns its id.
pub fn file_from_input(ctx: &mut RpcCtx<'_>, media: &tl::enums::InputMedia) -> Result<i64, RpcErr> {
    let (file, kind, mime, attr_name) = match media {
        tl::enums::InputMedia::UploadedPhoto(p) => (&p.file, "photo", "image/jpeg".to_string(), None),
        tl::enums::InputMedia::UploadedDocument(d) => {
            let name = d.attributes.iter().find_map(|a| match a {
                tl::enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
                _ => None,
            });
            (&d.file, "document", d.mime_type.clone(), name)
        }
        _ => return Err(RpcErr::bad("MEDIA_INVALID")),
    };
    let (file_id, parts, name) = match file {
        tl::enums::InputFile::File(f) => (f.id, f.parts, f.name.clone()),
        tl::enums::InputFile::Big(f) => (f.id, f.parts, f.name.clone()),
        _ => return Err(RpcErr::bad("MEDIA_INVALID")),
    };
    let mut st = ctx.cloud.lock();
    let uploaded = st.rt.uploads.remove(&(ctx.kid, file_id)).ok_or_else(|| RpcErr::bad("FILE_PARTS_INVALID"))?;
    if uploaded.len() != parts as usize || uploaded.keys().copied().ne(0..parts) {
        return Err(RpcErr::bad("FILE_PARTS_INVALID"));
    }
    let bytes: Vec<u8> = uploaded.into_values().flatten().collect();
    let id = st.add_file(kind, attr_name.unwrap_or(name), mime, bytes);
    Ok(id)
}

/// upload.getFile for photos, documents and users' profile photos.
pub fn get_file(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::upload::GetFile = parse(body)?;
    if req.offset < 0 || req.limit <= 0 || req.limit as usize > MAX_PART {
        return Err(RpcErr::bad("LIMIT_INVALID"));
    }
    let st = ctx.cloud.lock();
    let f = match &req.location {
        tl::enums::InputFileLocation::InputDocumentFileLocation(l) => stored_file(&st, l.id, l.access_hash)?,
        tl::enums::InputFileLocation::InputPhotoFileLocation(l) => stored_file(&st, l.id, l.access_hash)?,
        tl::enums::InputFileLocation::InputPeerPhotoFileLocation(l) => {
            let PeerKey::User(user) = resolve_peer(&st, phone, &l.peer)? else {
                return Err(RpcErr::bad("PEER_ID_INVALID"));
            };
            // Only the user's current photo is served; an old id is gone, as on Telegram.
            st.data
                .users
                .get(&user)
                .filter(|u| u.photo == Some(l.photo_id))
                .and_then(|_| st.data.files.get(&l.photo_id))
                .ok_or_else(|| RpcErr::bad("FILE_ID_INVALID"))?
        }
        _ => return Err(RpcErr::bad("LOCATION_INVALID")),
    };
    let start = (req.offset as usize).min(f.bytes.len());
    let end = (start + req.limit as usize).min(f.bytes.len());
    Ok(tl::enums::upload::File::File(tl::types::upload::File {
        r#type: tl::enums::storage::FileType::FilePartial,
        mtime: f.date,
        bytes: f.bytes[start..end].to_vec(),
    })
    .to_bytes())
}

/// Returns a file of a message, checking the access hash it was handed out with.
fn stored_file(st: &State, id: i64, access_hash: i64) -> Result<&FileRec, RpcErr> {
    st.data.files.get(&id).filter(|f| f.access_hash == access_hash).ok_or_else(|| RpcErr::bad("FILE_ID_INVALID"))
}
