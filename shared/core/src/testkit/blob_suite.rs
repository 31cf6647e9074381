//! The blob store contract: one case per promise of [`BlobStore`]. Each case
//! works under its own random tenant prefix.

use crate::ports::{BlobMeta, BlobReader, BlobStore, PortErrorKind, MAX_BLOB_CHUNK, MAX_BLOB_KEY, MAX_CONTENT_TYPE};
use crate::testkit::fixtures::{assert_kind, tenant};

/// Returns a fresh key prefix nobody else uses.
fn prefix() -> String {
    format!("{}/files", tenant().as_str())
}

fn meta(bytes: &[u8], content_type: &str) -> BlobMeta {
    BlobMeta { size: bytes.len() as u64, content_type: content_type.into() }
}

/// `put` then `get` returns the bytes (binary and empty too) and the metadata.
pub async fn put_then_get_returns_the_bytes_and_metadata(b: &dyn BlobStore) {
    let p = prefix();
    let cases: [(String, Vec<u8>, &str); 3] = [
        (format!("{p}/photo.jpg"), (0..=255u8).cycle().take(70_000).collect(), "image/jpeg"),
        (format!("{p}/empty"), vec![], "application/octet-stream"),
        (format!("{p}/a=b/c-d_e.txt"), b"hello".to_vec(), "text/plain; charset=utf-8"),
    ];
    for (key, bytes, ct) in &cases {
        b.put(key, bytes.clone(), ct).await.unwrap();
    }

    for (key, bytes, ct) in cases {
        assert_eq!(b.get(&key).await.unwrap(), (bytes.clone(), meta(&bytes, ct)), "{key}");
    }
}

/// `put` on an existing key replaces bytes and content type.
pub async fn put_replaces_what_was_there(b: &dyn BlobStore) {
    let key = format!("{}/doc", prefix());
    b.put(&key, vec![1; 5000], "application/pdf").await.unwrap();

    b.put(&key, b"short".to_vec(), "text/plain").await.unwrap();

    assert_eq!(b.get(&key).await.unwrap(), (b"short".to_vec(), meta(b"short", "text/plain")));
}

/// `get` of an unknown key is `NotFound`.
pub async fn get_of_an_unknown_key_is_not_found(b: &dyn BlobStore) {
    let p = prefix();
    b.put(&format!("{p}/there"), b"x".to_vec(), "text/plain").await.unwrap();

    assert_kind(b.get(&format!("{p}/missing")).await, PortErrorKind::NotFound);
    assert_kind(b.get(&format!("{p}/there/below")).await, PortErrorKind::NotFound);
    assert_kind(b.get(&p).await, PortErrorKind::NotFound);
}

/// `delete` removes a blob; deleting a missing one succeeds.
pub async fn delete_removes_and_deleting_a_missing_blob_succeeds(b: &dyn BlobStore) {
    let p = prefix();
    let (gone, kept) = (format!("{p}/gone"), format!("{p}/kept"));
    b.put(&gone, b"1".to_vec(), "text/plain").await.unwrap();
    b.put(&kept, b"2".to_vec(), "text/plain").await.unwrap();

    b.delete(&gone).await.unwrap();

    assert_kind(b.get(&gone).await, PortErrorKind::NotFound);
    assert_eq!(b.get(&kept).await.unwrap().0, b"2");
    b.delete(&gone).await.unwrap();
    b.delete(&format!("{p}/never/was")).await.unwrap();
}

/// A key and keys under it are distinct blobs.
pub async fn a_key_and_keys_under_it_are_distinct(b: &dyn BlobStore) {
    let p = prefix();
    let (outer, inner) = (format!("{p}/a/b"), format!("{p}/a/b/c"));

    b.put(&outer, b"outer".to_vec(), "text/plain").await.unwrap();
    b.put(&inner, b"inner".to_vec(), "text/plain").await.unwrap();

    assert_eq!(b.get(&outer).await.unwrap().0, b"outer");
    assert_eq!(b.get(&inner).await.unwrap().0, b"inner");
    b.delete(&outer).await.unwrap();
    assert_eq!(b.get(&inner).await.unwrap().0, b"inner");
}

/// `list` returns the keys under a folder in byte order, page by page, and
/// nothing outside it (a sibling sharing its name's start, the folder's own
/// blob); a bad folder is `Invalid`.
pub async fn list_returns_the_keys_under_a_folder_in_order(b: &dyn BlobStore) {
    let p = prefix();
    let under =
        [format!("{p}/d/a"), format!("{p}/d/b"), format!("{p}/d/b/c"), format!("{p}/d/b2"), format!("{p}/d/z/y/x")];
    for key in under.iter().rev().chain([&format!("{p}/d"), &format!("{p}/d2/a"), &format!("{p}/e")]) {
        b.put(key, b"x".to_vec(), "text/plain").await.unwrap();
    }
    let folder = format!("{p}/d");

    assert_eq!(b.list(&folder, None, 100).await.unwrap(), under.to_vec());
    let first = b.list(&folder, None, 2).await.unwrap();
    assert_eq!(first, under[..2].to_vec());
    assert_eq!(b.list(&folder, Some(&first[1]), 2).await.unwrap(), under[2..4].to_vec());
    assert_eq!(b.list(&folder, Some(&under[4]), 2).await.unwrap(), Vec::<String>::new());
    assert_eq!(b.list(&format!("{p}/none"), None, 10).await.unwrap(), Vec::<String>::new());
    b.delete(&under[1]).await.unwrap();
    assert_eq!(b.list(&folder, None, 100).await.unwrap().len(), 4, "a deleted key is not listed");
    for bad in [String::new(), format!("{p}/d/"), format!("{p}/../x"), "/".to_owned()] {
        assert_kind(b.list(&bad, None, 10).await, PortErrorKind::Invalid);
    }
}

/// Keys outside the key grammar and bad content types are `Invalid` for
/// every method, and nothing is written.
pub async fn invalid_keys_and_content_types_are_refused(b: &dyn BlobStore) {
    let p = prefix();
    let long = format!("{p}/{}", "k".repeat(MAX_BLOB_KEY));
    let bad_keys = [
        String::new(),
        "/etc/passwd".into(),
        format!("{p}/../../escape"),
        "../escape".into(),
        format!("{p}/./x"),
        format!("{p}//x"),
        format!("{p}/x/"),
        format!("{p}/.hidden"),
        format!("{p}\\..\\x"),
        format!("{p}/sp ace"),
        format!("{p}/ü"),
        long,
    ];
    for key in &bad_keys {
        assert_kind(b.put(key, b"x".to_vec(), "text/plain").await, PortErrorKind::Invalid);
        assert_kind(b.get(key).await, PortErrorKind::Invalid);
        assert_kind(b.delete(key).await, PortErrorKind::Invalid);
    }

    let key = format!("{p}/ok");
    assert_kind(b.put(&key, b"x".to_vec(), "").await, PortErrorKind::Invalid);
    assert_kind(b.put(&key, b"x".to_vec(), &"t".repeat(MAX_CONTENT_TYPE + 1)).await, PortErrorKind::Invalid);
    assert_kind(b.get(&key).await, PortErrorKind::NotFound);
    b.put(&key, b"x".to_vec(), &"t".repeat(MAX_CONTENT_TYPE)).await.unwrap();
}

/// A presigned upload names its method, carries the signed type and
/// length as headers to send, and expires when asked; a download is a
/// `GET`; bad keys, types and lifetimes are `Invalid`. (Sending them is
/// each adapter's own test: the S3 one against the server, the local one
/// through the server's route.)
pub async fn presigned_requests_carry_what_they_sign_and_refuse_bad_input(b: &dyn BlobStore) {
    use crate::ports::MAX_PRESIGN;
    use std::time::Duration;
    let key = format!("{}/upload.csv", prefix());
    let before = chrono::Utc::now();
    let up = b.presign_upload(&key, "text/csv", 1234, Duration::from_secs(900)).await.unwrap();
    assert_eq!(up.method, "PUT");
    assert!(!up.url.is_empty());
    assert_eq!(up.headers.get("content-type").map(String::as_str), Some("text/csv"));
    assert_eq!(up.headers.get("content-length").map(String::as_str), Some("1234"));
    let lifetime = up.expires_at - before;
    assert!(lifetime >= chrono::Duration::seconds(899) && lifetime <= chrono::Duration::seconds(905), "{lifetime}");
    let down = b.presign_download(&key, Duration::from_secs(60)).await.unwrap();
    assert_eq!(down.method, "GET");
    assert_ne!(down.url, up.url);
    assert_kind(b.presign_upload("../x", "text/csv", 1, Duration::from_secs(60)).await, PortErrorKind::Invalid);
    assert_kind(b.presign_upload(&key, "", 1, Duration::from_secs(60)).await, PortErrorKind::Invalid);
    assert_kind(b.presign_upload(&key, "text/csv", 1, Duration::ZERO).await, PortErrorKind::Invalid);
    let too_long = MAX_PRESIGN + Duration::from_secs(1);
    assert_kind(b.presign_upload(&key, "text/csv", 1, too_long).await, PortErrorKind::Invalid);
    assert_kind(b.presign_download("/etc/passwd", Duration::from_secs(60)).await, PortErrorKind::Invalid);
    assert_kind(b.presign_download(&key, too_long).await, PortErrorKind::Invalid);
}

/// Readers racing a writer see the old blob or the new one, never a mix.
pub async fn readers_see_the_old_or_the_new_blob_never_a_mix(b: &dyn BlobStore) {
    let key = format!("{}/racy", prefix());
    let (old, new) = (vec![b'o'; 300_000], vec![b'n'; 200_000]);
    b.put(&key, old.clone(), "x/old").await.unwrap();

    let writes = async {
        for i in 0..20 {
            let (bytes, ct) = if i % 2 == 0 { (new.clone(), "x/new") } else { (old.clone(), "x/old") };
            b.put(&key, bytes, ct).await.unwrap();
        }
    };
    let reads = async {
        let mut seen = Vec::new();
        for _ in 0..40 {
            seen.push(b.get(&key).await.unwrap());
        }
        seen
    };
    let ((), seen) = tokio::join!(writes, reads);

    for (bytes, m) in seen {
        let expected = if m.content_type == "x/new" { &new } else { &old };
        assert!(bytes == *expected, "mixed blob: {} bytes, meta {m:?}", bytes.len());
        assert_eq!(m.size, bytes.len() as u64);
    }
}

/// Reads a blob to its end; returns its bytes and the size of each chunk.
async fn read_all(mut reader: Box<dyn BlobReader>) -> (Vec<u8>, Vec<usize>) {
    let (mut bytes, mut chunks) = (Vec::new(), Vec::new());
    while let Some(chunk) = reader.next_chunk().await.unwrap() {
        chunks.push(chunk.len());
        bytes.extend(chunk);
    }
    (bytes, chunks)
}

/// A blob written in pieces reads back whole (through `get` and `open`), and
/// `open` returns it in chunks of at most [`MAX_BLOB_CHUNK`] bytes.
pub async fn a_blob_written_in_pieces_reads_back_in_bounded_chunks(b: &dyn BlobStore) {
    let p = prefix();
    let (key, empty) = (format!("{p}/video.mp4"), format!("{p}/nothing"));
    let bytes: Vec<u8> = (0..(2 * MAX_BLOB_CHUNK + 12_345) as u32).map(|i| (i * 7 % 251) as u8).collect();

    let mut writer = b.create(&key, "video/mp4").await.unwrap();
    for piece in bytes.chunks(100_000) {
        writer.write(piece).await.unwrap();
    }
    let meta = writer.finish().await.unwrap();
    b.create(&empty, "text/plain").await.unwrap().finish().await.unwrap();
    let reader = b.open(&key).await.unwrap();
    let opened_meta = reader.meta().clone();
    let (read, chunks) = read_all(reader).await;

    let expected = BlobMeta { size: bytes.len() as u64, content_type: "video/mp4".into() };
    assert_eq!((meta, opened_meta), (expected.clone(), expected.clone()));
    assert!(read == bytes, "streamed bytes differ: {} of {}", read.len(), bytes.len());
    assert!(chunks.len() >= 3 && chunks.iter().all(|&n| n > 0 && n <= MAX_BLOB_CHUNK), "{chunks:?}");
    assert_eq!(b.get(&key).await.unwrap(), (bytes, expected));
    assert_eq!(read_all(b.open(&empty).await.unwrap()).await, (Vec::new(), Vec::new()));
    assert_eq!(b.get(&empty).await.unwrap().1.size, 0);
}

/// Nothing is visible until `finish`, and a writer dropped unfinished leaves
/// the key as it was (absent, or the old blob).
pub async fn an_unfinished_blob_is_never_seen(b: &dyn BlobStore) {
    let p = prefix();
    let (fresh, replaced) = (format!("{p}/fresh"), format!("{p}/replaced"));
    b.put(&replaced, b"old".to_vec(), "text/plain").await.unwrap();

    let mut writer = b.create(&fresh, "text/plain").await.unwrap();
    writer.write(b"half").await.unwrap();
    assert_kind(b.get(&fresh).await, PortErrorKind::NotFound);
    assert_kind(b.open(&fresh).await.map(|_| ()), PortErrorKind::NotFound);
    drop(writer);
    let mut writer = b.create(&replaced, "text/html").await.unwrap();
    writer.write(b"new but abandoned").await.unwrap();
    drop(writer);

    assert_kind(b.get(&fresh).await, PortErrorKind::NotFound);
    assert_eq!(b.get(&replaced).await.unwrap(), (b"old".to_vec(), meta(b"old", "text/plain")));
    let mut writer = b.create(&replaced, "text/html").await.unwrap();
    writer.write(b"new").await.unwrap();
    writer.finish().await.unwrap();
    assert_eq!(b.get(&replaced).await.unwrap(), (b"new".to_vec(), meta(b"new", "text/html")));
}

/// `create` and `open` check keys and content types as `put` and `get` do.
pub async fn streamed_blobs_refuse_bad_keys_and_content_types(b: &dyn BlobStore) {
    let p = prefix();
    for key in [String::new(), format!("{p}/../x"), format!("{p}/.hidden"), "/abs".into()] {
        assert_kind(b.create(&key, "text/plain").await.map(|_| ()), PortErrorKind::Invalid);
        assert_kind(b.open(&key).await.map(|_| ()), PortErrorKind::Invalid);
    }
    let key = format!("{p}/ok");
    assert_kind(b.create(&key, "").await.map(|_| ()), PortErrorKind::Invalid);
    assert_kind(b.create(&key, &"t".repeat(MAX_CONTENT_TYPE + 1)).await.map(|_| ()), PortErrorKind::Invalid);
    assert_kind(b.open(&format!("{p}/missing")).await.map(|_| ()), PortErrorKind::NotFound);
}

/// `put_if` stores only over the version read (or only where nothing is,
/// given none), and a stale or wrong expectation is `Conflict` and stores
/// nothing; `get_versioned` reads the bytes with their version.
pub async fn conditional_puts_store_only_over_the_version_read(b: &dyn BlobStore) {
    let key = format!("{}/manifest.json", prefix());
    assert_eq!(b.get_versioned(&key).await.unwrap(), None);

    let first = b.put_if(&key, b"one".to_vec(), "application/json", None).await.unwrap();
    assert_kind(b.put_if(&key, b"again".to_vec(), "application/json", None).await, PortErrorKind::Conflict);
    let (bytes, read) = b.get_versioned(&key).await.unwrap().expect("stored");
    assert_eq!((bytes.as_slice(), &read), (&b"one"[..], &first));

    let second = b.put_if(&key, b"two".to_vec(), "application/json", Some(&read)).await.unwrap();
    assert_ne!(second, first, "a put makes a new version");
    assert_kind(b.put_if(&key, b"stale".to_vec(), "application/json", Some(&read)).await, PortErrorKind::Conflict);
    assert_eq!(b.get_versioned(&key).await.unwrap(), Some((b"two".to_vec(), second.clone())));
    assert_eq!(b.get(&key).await.unwrap(), (b"two".to_vec(), meta(b"two", "application/json")));

    // A blob deleted since it was read is no longer at that version.
    b.delete(&key).await.unwrap();
    assert_kind(b.put_if(&key, b"three".to_vec(), "application/json", Some(&second)).await, PortErrorKind::Conflict);
    assert_eq!(b.get_versioned(&key).await.unwrap(), None);
    assert_kind(b.put_if("../x", vec![], "text/plain", None).await, PortErrorKind::Invalid);
}

/// Expands to one `#[tokio::test]` per blob store contract case. `$make` is
/// a function or closure returning a future of
/// [`BlobHandle`](crate::testkit::BlobHandle); it runs once per case.
#[macro_export]
macro_rules! blob_contract_suite {
    ($make:expr) => {
        $crate::blob_contract_suite!(@cases $make;
            put_then_get_returns_the_bytes_and_metadata,
            put_replaces_what_was_there,
            get_of_an_unknown_key_is_not_found,
            delete_removes_and_deleting_a_missing_blob_succeeds,
            a_key_and_keys_under_it_are_distinct,
            list_returns_the_keys_under_a_folder_in_order,
            invalid_keys_and_content_types_are_refused,
            readers_see_the_old_or_the_new_blob_never_a_mix,
            a_blob_written_in_pieces_reads_back_in_bounded_chunks,
            an_unfinished_blob_is_never_seen,
            streamed_blobs_refuse_bad_keys_and_content_types,
            presigned_requests_carry_what_they_sign_and_refuse_bad_input,
            conditional_puts_store_only_over_the_version_read,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let handle: $crate::testkit::BlobHandle = ($make)().await;
                $crate::testkit::blob_suite::$case(&*handle.port).await;
            }
        )+
    };
}
