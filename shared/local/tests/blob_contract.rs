//! Runs the blob store contract suite against `FsBlobStore` in a temp dir,
//! plus what only a file-system store must prove: no key escapes the root.

use std::sync::Arc;
use tgdesk_core::ports::{BlobStore, PortErrorKind};
use tgdesk_core::testkit::BlobHandle;
use tgdesk_local::FsBlobStore;

/// Opens a fresh store in its own temp dir, kept alive with the handle.
async fn fresh_blobs() -> BlobHandle {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = FsBlobStore::open(dir.path().join("blobs")).expect("open blobs");
    BlobHandle::new(Arc::new(blobs)).keep_alive(dir)
}

tgdesk_core::blob_contract_suite!(fresh_blobs);

/// Lists every file under `dir`, relative to it.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn keys_never_reach_outside_the_root() {
    // Arrange: the root is a subdirectory, with a victim file beside it.
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::open(dir.path().join("blobs")).unwrap();
    std::fs::write(dir.path().join("victim"), b"keep").unwrap();
    let victim = dir.path().join("victim").display().to_string();

    // Act
    let attempts = ["../victim", "a/../../victim", "..", "./victim", victim.trim_start_matches('/'), &victim];
    for key in attempts {
        let put = blobs.put(key, b"evil".to_vec(), "text/plain").await;
        let delete = blobs.delete(key).await;
        // Assert: refused, unless the key is a plain relative one that lands inside the root.
        if key.starts_with('/') || key.split('/').any(|s| s.starts_with('.')) {
            assert_eq!(put.unwrap_err().kind, PortErrorKind::Invalid, "{key}");
            assert_eq!(delete.unwrap_err().kind, PortErrorKind::Invalid, "{key}");
        }
    }

    // Assert: the victim is untouched and everything written stayed under the root.
    assert_eq!(std::fs::read(dir.path().join("victim")).unwrap(), b"keep");
    let outside: Vec<_> = files_under(dir.path()).into_iter().filter(|f| !f.starts_with("blobs/")).collect();
    assert_eq!(outside, ["victim"]);
}

#[tokio::test]
async fn a_blob_is_one_file_with_its_content_type_and_no_temp_files_remain() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::open(dir.path()).unwrap();

    blobs.put("t-1/media/photo.jpg", vec![7; 1000], "image/jpeg").await.unwrap();
    blobs.put("t-1/media/photo.jpg", vec![8; 10], "image/png").await.unwrap();

    assert_eq!(files_under(dir.path()), ["t-1/media/photo.jpg~blob"]);
    let reopened = FsBlobStore::open(dir.path()).unwrap();
    let (bytes, meta) = reopened.get("t-1/media/photo.jpg").await.unwrap();
    assert_eq!((bytes, meta.content_type.as_str(), meta.size), (vec![8; 10], "image/png", 10));
}

#[tokio::test]
async fn an_abandoned_streamed_write_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::open(dir.path()).unwrap();
    blobs.put("t-1/media/kept", b"kept".to_vec(), "text/plain").await.unwrap();

    let mut writer = blobs.create("t-1/media/big.mp4", "video/mp4").await.unwrap();
    writer.write(&[9; 100_000]).await.unwrap();
    drop(writer);
    let mut done = blobs.create("t-1/media/done.mp4", "video/mp4").await.unwrap();
    done.write(&[1; 10]).await.unwrap();
    done.finish().await.unwrap();

    assert_eq!(files_under(dir.path()), ["t-1/media/done.mp4~blob", "t-1/media/kept~blob"]);
}

#[tokio::test]
async fn a_damaged_blob_file_is_an_internal_error_whole_or_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = FsBlobStore::open(dir.path()).unwrap();
    blobs.put("t-1/media/a", b"fine".to_vec(), "text/plain").await.unwrap();
    std::fs::write(dir.path().join("t-1/media/a~blob"), b"XXXX\x05text").unwrap();

    let whole = blobs.get("t-1/media/a").await.map(|_| ());
    let streamed = blobs.open("t-1/media/a").await.map(|_| ());

    for result in [whole, streamed] {
        let e = result.expect_err("a damaged file is refused");
        assert_eq!(e.kind, tgdesk_core::ports::PortErrorKind::Internal, "{e}");
        assert!(e.to_string().contains("corrupt blob file header"), "{e}");
    }
}
