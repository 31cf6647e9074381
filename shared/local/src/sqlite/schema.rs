//! The schema, as rusqlite_migration migrations. Every key starts with the
//! tenant (DESIGN §6). Times are unix nanoseconds so records read back exactly
//! as written; the dialog sort key `at_ms` is unix milliseconds.

use super::days;
use rusqlite_migration::{Migrations, M};

/// Returns every migration, oldest first. Never edit a released one: append.
pub(super) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        M::up(V10),
        M::up(V11),
        M::up(V12),
        M::up_with_hook(V13, |tx: &rusqlite::Transaction<'_>| {
            let none = days::NO_DAY;
            tx.execute_batch(&format!(
                "CREATE TABLE {none} ({}); CREATE UNIQUE INDEX {none}_key ON {none} (tenant, account_id, peer, id);",
                days::TABLE_COLUMNS
            ))?;
            days::split_legacy(tx)?;
            Ok(())
        }),
    ])
}

const V1: &str = r#"
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    created_ns INTEGER NOT NULL
);

CREATE TABLE users (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    username TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    leader_id TEXT,
    disabled INTEGER NOT NULL,
    password_hash TEXT NOT NULL,
    token_version INTEGER NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, username)
) WITHOUT ROWID;
CREATE INDEX users_leader ON users (tenant, leader_id, id);

CREATE TABLE accounts (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    phone TEXT NOT NULL,
    display_name TEXT,
    -- Lowercased by Rust (Unicode-aware) for the case-insensitive text filter.
    display_lower TEXT,
    status TEXT NOT NULL,
    owner_id TEXT,
    team_id TEXT,
    session BLOB,
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, phone)
);
CREATE INDEX accounts_owner ON accounts (tenant, owner_id, id);
CREATE INDEX accounts_team ON accounts (tenant, team_id, id);
CREATE INDEX accounts_status ON accounts (tenant, status, id);

CREATE TABLE account_tags (
    tenant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    tag_id TEXT NOT NULL,
    PRIMARY KEY (tenant, account_id, tag_id),
    FOREIGN KEY (tenant, account_id) REFERENCES accounts (tenant, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX account_tags_tag ON account_tags (tenant, tag_id, account_id);

CREATE TABLE group_members (
    tenant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    PRIMARY KEY (tenant, account_id, group_id),
    FOREIGN KEY (tenant, account_id) REFERENCES accounts (tenant, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX group_members_group ON group_members (tenant, group_id, account_id);

CREATE TABLE groups (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, owner_id, name)
) WITHOUT ROWID;
CREATE INDEX groups_name ON groups (tenant, name, id);

CREATE TABLE tags (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    color TEXT,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, name)
) WITHOUT ROWID;

CREATE TABLE pins (
    tenant TEXT NOT NULL,
    user_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    -- NULL pins the account itself; a peer pins that dialog.
    peer INTEGER,
    -- 'a' or 'd:<peer>': part of the key because NULLs are never equal in SQL.
    target TEXT NOT NULL,
    pinned_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, user_id, account_id, target)
) WITHOUT ROWID;
CREATE INDEX pins_account ON pins (tenant, account_id);

CREATE TABLE audit (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    at_ns INTEGER NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    account_id TEXT,
    target TEXT,
    details TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX audit_account ON audit (tenant, account_id, id);
CREATE INDEX audit_actor ON audit (tenant, actor_id, id);

CREATE TABLE dialogs (
    tenant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    peer INTEGER NOT NULL,
    -- Copies of the account's owner and team: the inbox is keyed by them.
    owner_id TEXT,
    team_id TEXT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    -- Unix ms of the newest message, 0 when none: the inbox sort key.
    at_ms INTEGER NOT NULL,
    last_ns INTEGER,
    last_message_id INTEGER,
    preview TEXT NOT NULL,
    unread INTEGER NOT NULL,
    PRIMARY KEY (tenant, account_id, peer),
    FOREIGN KEY (tenant, account_id) REFERENCES accounts (tenant, id) ON DELETE CASCADE
);
CREATE INDEX dialogs_owner ON dialogs (tenant, owner_id, at_ms DESC, account_id DESC, peer DESC);
CREATE INDEX dialogs_team ON dialogs (tenant, team_id, at_ms DESC, account_id DESC, peer DESC);
CREATE INDEX dialogs_tenant ON dialogs (tenant, at_ms DESC, account_id DESC, peer DESC);
CREATE INDEX dialogs_account ON dialogs (tenant, account_id, at_ms DESC, peer DESC);

CREATE TABLE messages (
    tenant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    peer INTEGER NOT NULL,
    id INTEGER NOT NULL,
    sender_id INTEGER,
    sender_name TEXT,
    outgoing INTEGER NOT NULL,
    date_ns INTEGER NOT NULL,
    text TEXT NOT NULL,
    entities TEXT NOT NULL,
    media TEXT,
    reply_to INTEGER,
    edited_ns INTEGER,
    deleted INTEGER NOT NULL,
    tags TEXT NOT NULL,
    PRIMARY KEY (tenant, account_id, peer, id)
) WITHOUT ROWID;

-- Which messages carry a tag, so deleting a tag finds them without a scan.
CREATE TABLE message_tags (
    tenant TEXT NOT NULL,
    tag_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    peer INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    PRIMARY KEY (tenant, tag_id, account_id, peer, message_id)
) WITHOUT ROWID;
CREATE INDEX message_tags_account ON message_tags (tenant, account_id, peer, message_id);
"#;

/// Sends and batches (the send log).
const V2: &str = r#"
CREATE TABLE sends (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    batch_id TEXT,
    status TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX sends_batch ON sends (tenant, batch_id, id) WHERE batch_id IS NOT NULL;

CREATE TABLE batches (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
"#;

const V3: &str = r#"
-- Profiles the fleet syncs: the account's own, its contacts', its customers'.
CREATE TABLE profiles (
    tenant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    peer INTEGER NOT NULL,
    is_contact INTEGER NOT NULL,
    is_self INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (tenant, account_id, peer),
    FOREIGN KEY (tenant, account_id) REFERENCES accounts (tenant, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX profiles_contacts ON profiles (tenant, account_id, peer) WHERE is_contact = 1;
CREATE INDEX profiles_self ON profiles (tenant, account_id) WHERE is_self = 1;

-- The fleet's replies to commands a caller waits on; untaken ones are pruned.
CREATE TABLE replies (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    created_ns INTEGER NOT NULL,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX replies_age ON replies (created_ns);

-- Private-chat deletes name message ids without their dialog.
CREATE INDEX messages_by_id ON messages (tenant, account_id, id);
"#;

const V4: &str = r#"
-- The accounts the fleet runs, which every node scans every few seconds:
-- an index-only read of ids instead of every account row with its session.
CREATE INDEX accounts_runnable ON accounts (tenant, id)
    WHERE session IS NOT NULL AND status NOT IN ('logged_out', 'banned');
"#;

const V5: &str = r#"
-- The enabled admins, whom every ingest batch and status report pushes to:
-- a range of the index instead of a scan of the tenant's users.
CREATE INDEX users_role ON users (tenant, role, id);
"#;

const V6: &str = r#"
-- Each stored message wrote a page of this index too (one more random page
-- per message in every commit and checkpoint). Private-chat deletes find
-- their messages through the account's dialogs instead (ingest::delete_unplaced).
DROP INDEX messages_by_id;
"#;

const V7: &str = r#"
-- Every stored message moves its dialog in each inbox index; this one served
-- only one account's inbox, which the primary key's range of the account
-- serves too, sorted (messages::list_dialogs), so it is not kept up per message.
DROP INDEX dialogs_account;
"#;

const V8: &str = r#"
-- Messages in a rowid table (arrival order) with their key in a unique
-- index, instead of a table clustered by the key: a stored message now
-- appends its row to the table's last page and inserts a 50-byte entry into
-- its dialog's index page, instead of inserting its whole row (text,
-- entities, media) into its dialog's page. Pages of the index hold five
-- times more messages, so they split five times less often. In the pipeline
-- bench at 12,000 msg/s this took 6 to 16% off the CPU.
CREATE TABLE messages_by_arrival (
    tenant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    peer INTEGER NOT NULL,
    id INTEGER NOT NULL,
    sender_id INTEGER,
    sender_name TEXT,
    outgoing INTEGER NOT NULL,
    date_ns INTEGER NOT NULL,
    text TEXT NOT NULL,
    entities TEXT NOT NULL,
    media TEXT,
    reply_to INTEGER,
    edited_ns INTEGER,
    deleted INTEGER NOT NULL,
    tags TEXT NOT NULL
);
INSERT INTO messages_by_arrival (tenant, account_id, peer, id, sender_id, sender_name, outgoing, date_ns, text,
    entities, media, reply_to, edited_ns, deleted, tags)
SELECT tenant, account_id, peer, id, sender_id, sender_name, outgoing, date_ns, text,
    entities, media, reply_to, edited_ns, deleted, tags
FROM messages ORDER BY date_ns;
DROP TABLE messages;
ALTER TABLE messages_by_arrival RENAME TO messages;
CREATE UNIQUE INDEX messages_key ON messages (tenant, account_id, peer, id);
"#;

/// The change feed the search indexer reads (see `feed.rs`). AUTOINCREMENT:
/// a sequence number is never reused, even after the newest row is trimmed,
/// so a consumer's position never falls behind new rows. Messages stored
/// before this version enter it as one range.
const V9: &str = r#"
CREATE TABLE search_feed (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op INTEGER NOT NULL,
    tenant TEXT NOT NULL,
    account_id TEXT NOT NULL,
    peer INTEGER NOT NULL,
    id INTEGER NOT NULL,
    at_ns INTEGER NOT NULL
);
INSERT INTO search_feed (op, tenant, account_id, peer, id, at_ns)
SELECT 0, '', '', min(rowid), max(rowid), 0 FROM messages HAVING count(*) > 0;
"#;

/// The archiver's index (`expiry.rs`): messages by date, so the expired
/// ones are a range at its start. Dates arrive in order, so ingest appends
/// to its last page rather than writing a random one.
const V10: &str = r#"
CREATE INDEX messages_by_date ON messages (date_ns);
"#;

/// The highest lease fencing number a session was written under
/// (`directory.rs`): a fleet node whose lease was taken over can no longer
/// overwrite the session the new holder saved.
const V11: &str = r#"
ALTER TABLE accounts ADD COLUMN session_fence INTEGER NOT NULL DEFAULT 0;
"#;

/// Jobs (`jobs.rs`): imports and cascading deletes, kept a week after their
/// last change. Ids are ULIDs, so by id is by age.
const V12: &str = r#"
CREATE TABLE jobs (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    started_by TEXT NOT NULL,
    version INTEGER NOT NULL,
    expires_ns INTEGER NOT NULL,
    doc TEXT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX jobs_expiry ON jobs (expires_ns);
CREATE INDEX jobs_by_starter ON jobs (tenant, started_by, id);
"#;

/// Messages in one table per day of their date (`days.rs`), so the archiver
/// drops a day whole; the hook moves the messages stored so far into them.
/// The date index goes: a day's table is its date range.
const V13: &str = r#"
CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT INTO store_meta (key, value) VALUES ('next_seq', 1);
-- Rows of day tables the archiver is moving changed or inserted meanwhile (expiry.rs).
CREATE TABLE expiry_changes (n INTEGER PRIMARY KEY, day INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX expiry_changes_day ON expiry_changes (day, n);
ALTER TABLE messages RENAME TO legacy_messages;
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn messages_stored_before_v8_and_v13_are_kept_and_their_key_stays_unique() {
        crate::page_cache::install();
        let mut conn = Connection::open_in_memory().unwrap();
        migrations().to_version(&mut conn, 7).unwrap();
        let insert =
            "INSERT INTO messages (tenant, account_id, peer, id, outgoing, date_ns, text, entities, deleted, tags) \
                      VALUES ('t', 'a', 5, ?1, 0, ?2, ?3, '[]', 0, '[]')";
        conn.execute(insert, rusqlite::params![2, 20, "second"]).unwrap();
        conn.execute(insert, rusqlite::params![1, 10, "first"]).unwrap();
        // Three days on, with two empty days between.
        conn.execute(insert, rusqlite::params![3, 3 * 86_400_000_000_000_i64 + 5, "third"]).unwrap();

        migrations().to_latest(&mut conn).unwrap();

        let texts: Vec<String> = conn
            .prepare("SELECT text FROM messages WHERE tenant = 't' AND account_id = 'a' AND peer = 5 ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(texts, ["first", "second", "third"]);
        let tables: Vec<String> = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'messages_[0-9]*' ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(tables, ["messages_19700101", "messages_19700104"], "one table per day that has messages");
        // In their day's table (dated 10 and 20 ns after the epoch), under their key.
        let again = conn.execute(
            "INSERT INTO messages_19700101 (tenant, account_id, peer, id, outgoing, date_ns, text, entities, deleted, tags) \
             VALUES ('t', 'a', 5, 1, 0, 10, 'first', '[]', 0, '[]')",
            [],
        );
        assert!(
            matches!(again, Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation)
        );
        let next: i64 =
            conn.query_row("SELECT value FROM store_meta WHERE key = 'next_seq'", [], |r| r.get(0)).unwrap();
        assert_eq!(next, 4, "the sequence goes on after the rowids kept");
    }
}
