//! Runs the store contract suite against `SqliteStore` on a real file (WAL
//! and the reader pool included), plus what only a file-backed store promises.

use std::sync::Arc;
use tgdesk_core::ports::{DialogFilter, DialogScope, Directory, MessageReader, MessageWriter};
use tgdesk_core::testkit::{fixtures, StoreHandles};
use tgdesk_local::SqliteStore;

/// Opens a fresh store in its own temp dir, kept alive with the handles.
async fn fresh_store() -> StoreHandles {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("tgdesk.db")).expect("open store");
    StoreHandles::new(Arc::new(store)).keep_alive(dir)
}

tgdesk_core::store_contract_suite!(fresh_store);

#[tokio::test]
async fn data_survives_closing_and_reopening_the_file() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tgdesk.db");
    let t = fixtures::tenant();
    let store = SqliteStore::open(&path).unwrap();
    let account = fixtures::account(&t);
    store.put_accounts(&t, std::slice::from_ref(&account)).await.unwrap();
    let message = fixtures::message(&account.id, 5, 1, 10, false);
    store.ingest_messages(&t, std::slice::from_ref(&message)).await.unwrap();
    drop(store);

    // Act
    let reopened = SqliteStore::open(&path).unwrap();

    // Assert
    assert_eq!(reopened.get_account(&t, &account.id).await.unwrap(), Some(account.clone()));
    assert_eq!(reopened.get_message(&t, &account.id, 5, 1).await.unwrap(), Some(message));
    let dialogs = reopened
        .list_dialogs(&t, &DialogScope::Account(account.id.clone()), &DialogFilter::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(dialogs.len(), 1);
    assert_eq!(dialogs[0].unread_count, 1);
}

#[tokio::test]
async fn two_stores_on_one_file_see_each_others_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tgdesk.db");
    let (first, second) = (SqliteStore::open(&path).unwrap(), SqliteStore::open(&path).unwrap());
    let t = fixtures::tenant();
    let account = fixtures::account(&t);

    first.put_accounts(&t, std::slice::from_ref(&account)).await.unwrap();

    assert_eq!(second.get_account(&t, &account.id).await.unwrap(), Some(account));
}
