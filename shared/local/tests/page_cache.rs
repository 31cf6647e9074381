//! The page cache wrapper (`tgdesk_local::page_cache`) on real SQLite, in its
//! own test process: it can only be installed before SQLite initializes.

use rusqlite::{params, Connection};

/// Inserts enough random keys into an index that B-tree balancing parks
/// pages at the temporary key, rolls some of it back and checks that the
/// database is sound and holds exactly what was committed.
#[test]
fn balancing_through_the_wrapper_keeps_the_database_sound() {
    assert!(tgdesk_local::page_cache::install(), "installed before the first connection");
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("t.db")).unwrap();
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA cache_size = -8192;
         CREATE TABLE m (id INTEGER PRIMARY KEY, k TEXT NOT NULL, body TEXT NOT NULL);
         CREATE UNIQUE INDEX m_k ON m (k);",
    )
    .unwrap();
    let key = |i: u64| format!("{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    for batch in 0..40u64 {
        let tx = conn.transaction().unwrap();
        for i in batch * 1_000..(batch + 1) * 1_000 {
            tx.execute("INSERT INTO m (k, body) VALUES (?1, ?2)", params![key(i), "x".repeat(200)]).unwrap();
        }
        // Every fourth batch is rolled back: the cache must drop what it held
        // of pages the database no longer has.
        if batch % 4 == 3 {
            tx.rollback().unwrap();
        } else {
            tx.commit().unwrap();
        }
    }
    assert!(tgdesk_local::page_cache::parked_pages() > 0, "balancing parked pages through the wrapper");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let rows: u64 = conn.query_row("SELECT count(*) FROM m", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 30_000);
    let kept = (0..40_000u64).filter(|i| (i / 1_000) % 4 != 3);
    for i in kept.step_by(97) {
        let found: u64 = conn.query_row("SELECT count(*) FROM m WHERE k = ?1", [key(i)], |r| r.get(0)).unwrap();
        assert_eq!(found, 1, "key of message {i}");
    }
    // A second connection (its own cache) reads the same.
    let other = Connection::open(dir.path().join("t.db")).unwrap();
    let rows: u64 = other.query_row("SELECT count(*) FROM m INDEXED BY m_k WHERE k >= ''", [], |r| r.get(0)).unwrap();
    assert_eq!(rows, 30_000);
}
