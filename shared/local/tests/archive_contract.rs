//! Runs the archive contract suite against `BlobArchive` over `FsBlobStore`
//! in a temp dir: the local deployment's archive.

use std::sync::Arc;
use tgdesk_core::archive::BlobArchive;
use tgdesk_core::testkit::ArchiveHandle;
use tgdesk_local::FsBlobStore;

/// Opens a fresh archive in its own temp dir, kept alive with the handle.
async fn fresh_archive() -> ArchiveHandle {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs = FsBlobStore::open(dir.path().join("archive")).expect("open blobs");
    ArchiveHandle::new(Arc::new(BlobArchive::new(Arc::new(blobs)))).keep_alive(dir)
}

tgdesk_core::archive_contract_suite!(fresh_archive);

/// Two archives over one directory, as the server and another process on
/// the same data dir would hold it: their writes and changes to one dialog,
/// racing, all land (conditional puts; the in-process turns do not reach
/// across instances).
mod two_writers {
    use super::*;
    use std::collections::BTreeSet;
    use tgdesk_core::domain::{AccountId, TagId};
    use tgdesk_core::ports::{Archive, ArchiveChange, BlobStore};
    use tgdesk_core::testkit::fixtures::{message, tenant};

    fn twins(dir: &std::path::Path) -> [Arc<BlobArchive>; 2] {
        let open = || Arc::new(BlobArchive::new(Arc::new(FsBlobStore::open(dir.join("archive")).unwrap())));
        [open(), open()]
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn conditional_puts_from_two_stores_on_one_root_lose_no_increment() {
        let dir = tempfile::tempdir().unwrap();
        let stores = [FsBlobStore::open(dir.path()).unwrap(), FsBlobStore::open(dir.path()).unwrap()];
        let key = "t/counter";
        let tasks = (0..4).map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    loop {
                        let read = store.get_versioned(key).await.unwrap();
                        let n: u64 = read.as_ref().map_or(0, |(b, _)| String::from_utf8_lossy(b).parse().unwrap());
                        let version = read.map(|r| r.1);
                        let next = (n + 1).to_string().into_bytes();
                        match store.put_if(key, next, "text/plain", version.as_ref()).await {
                            Ok(_) => break,
                            Err(e) => assert_eq!(e.kind, tgdesk_core::ports::PortErrorKind::Conflict, "{e}"),
                        }
                    }
                }
            })
        });
        for task in futures::future::join_all(tasks).await {
            task.unwrap();
        }
        assert_eq!(stores[0].get(key).await.unwrap().0, b"100");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_and_changes_of_one_dialog_from_two_archives_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let archives = twins(dir.path());
        let (t, a) = (tenant(), AccountId::generate());
        let written: Vec<_> = (1..=400).map(|id| message(&a, 8, id, id * 1_000, false)).collect();
        let writes = written.chunks(25).enumerate().map(|(i, chunk)| archives[i % 2].write(&t, chunk));
        for result in futures::future::join_all(writes).await {
            result.expect("write");
        }
        let tag = TagId::generate();
        let changes = (1..=40).map(|id| {
            let change = ArchiveChange::Tags { id, tags: BTreeSet::from([tag.clone()]) };
            let archive = archives[id as usize % 2].clone();
            let t = t.clone();
            let a = a.clone();
            async move { archive.apply(&t, &a, 8, &change).await }
        });
        for result in futures::future::join_all(changes).await {
            result.expect("apply");
        }

        let read = archives[0].list(&t, &a, 8, None, 500).await.unwrap();
        assert_eq!(read.iter().map(|m| m.id).collect::<Vec<_>>(), (1..=400).rev().collect::<Vec<_>>());
        let tagged: Vec<i64> = read.iter().filter(|m| m.tags.contains(&tag)).map(|m| m.id).collect();
        assert_eq!(tagged, (1..=40).rev().collect::<Vec<_>>(), "every change of either archive");
        assert_eq!(archives[1].usage(&t).await.unwrap().messages, 400);
    }
}
