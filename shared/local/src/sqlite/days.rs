//! Messages are kept in one table per day of their date
//! (`messages_YYYYMMDD`, each a rowid table in arrival order with its key
//! index), read through the view `messages`, a `UNION ALL` of every day. The
//! archiver drops a day's table whole once it is archived (`expiry.rs`):
//! removing a day costs a walk of its pages instead of a scattered page
//! write per message, which is what held the archiver under the rate it needs.
//!
//! - A message's row is numbered from one sequence across all days (`seq`,
//!   the table's rowid), so the change feed names inserted ranges as before.
//! - The view adds each row's `day`, so a change finds the table to write
//!   (`locate`) with one index seek per day.
//! - Every day in one view is one arm of a compound SELECT, which SQLite
//!   bounds at 500: days older than the archiver's last cutoff go to the
//!   table of the day before it (expired, archived at its next run), and past
//!   [`MAX_DAYS`] tables a message goes to the next existing day after its own.
//!   Either way a table of day D holds only messages dated before D + 1, which
//!   is all the archiver's argument needs.

use super::map_err;
use chrono::{Datelike, NaiveDate};
use rusqlite::{params, OptionalExtension, ToSql, Transaction};
use tgdesk_core::ports::PortError;

/// Nanoseconds in a day.
pub(super) const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// Most day tables kept: the compound SELECT of the view allows 500 arms.
pub(super) const MAX_DAYS: usize = 400;

/// The columns of a day table, `seq` (its rowid) first.
pub(super) const TABLE_COLUMNS: &str = "seq INTEGER PRIMARY KEY,
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
    tags TEXT NOT NULL";

/// The always empty table the view starts from, so it exists with no day.
pub(super) const NO_DAY: &str = "messages_none";

/// The day (since the Unix epoch) of a date in nanoseconds.
pub(super) fn day_of(date_ns: i64) -> i64 {
    date_ns.div_euclid(NS_PER_DAY)
}

/// The first nanosecond after `day`.
pub(super) fn end_of(day: i64) -> i64 {
    (day + 1).saturating_mul(NS_PER_DAY)
}

/// Days since 0001-01-01 of the Unix epoch.
const EPOCH_FROM_CE: i64 = 719_163;

/// The table of `day`.
pub(super) fn table(day: i64) -> String {
    let date = i32::try_from(day + EPOCH_FROM_CE).ok().and_then(NaiveDate::from_num_days_from_ce_opt);
    match date {
        Some(d) => format!("messages_{}", d.format("%Y%m%d")),
        // Out of chrono's range: never a Telegram date, still a distinct name.
        None => format!("messages_{day}"),
    }
}

/// The day a table name stands for.
fn parse(name: &str) -> Option<i64> {
    let digits = name.strip_prefix("messages_")?;
    let date = NaiveDate::parse_from_str(digits, "%Y%m%d").ok()?;
    Some(i64::from(date.num_days_from_ce()) - EPOCH_FROM_CE)
}

/// The days that have a table, oldest first.
pub(super) fn days(tx: &Transaction<'_>) -> Result<Vec<i64>, PortError> {
    let mut stmt = tx
        .prepare_cached("SELECT name FROM sqlite_schema WHERE type = 'table' AND name GLOB 'messages_[0-9]*'")
        .map_err(map_err)?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(map_err)?;
    let mut days = Vec::new();
    for name in names {
        if let Some(day) = parse(&name.map_err(map_err)?) {
            days.push(day);
        }
    }
    days.sort_unstable();
    Ok(days)
}

/// Creates the table of `day` and rebuilds the view over `days` and it.
fn create(tx: &Transaction<'_>, day: i64, days: &mut Vec<i64>) -> rusqlite::Result<()> {
    let t = table(day);
    tx.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {t} ({TABLE_COLUMNS});
         CREATE UNIQUE INDEX IF NOT EXISTS {t}_key ON {t} (tenant, account_id, peer, id);"
    ))?;
    if let Err(at) = days.binary_search(&day) {
        days.insert(at, day);
    }
    rebuild_view(tx, days)
}

/// Replaces the view `messages` by one over `days`, newest first.
pub(super) fn rebuild_view(tx: &Transaction<'_>, days: &[i64]) -> rusqlite::Result<()> {
    let mut sql = format!("DROP VIEW IF EXISTS messages; CREATE VIEW messages AS SELECT *, NULL AS day FROM {NO_DAY}");
    for day in days.iter().rev() {
        sql.push_str(&format!(" UNION ALL SELECT *, {day} AS day FROM {}", table(*day)));
    }
    sql.push(';');
    tx.execute_batch(&sql)
}

/// Where ingest puts messages: the days that have a table, and the
/// archiver's last cutoff day.
pub(super) struct Placement {
    days: Vec<i64>,
    floor: Option<i64>,
}

impl Placement {
    /// Reads the days and the floor.
    pub(super) fn read(tx: &Transaction<'_>) -> Result<Self, PortError> {
        let floor = tx
            .prepare_cached("SELECT value FROM store_meta WHERE key = 'expiry_floor_day'")
            .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)).optional())
            .map_err(map_err)?;
        Ok(Self { days: days(tx)?, floor })
    }

    /// The day whose table takes a message dated `date_ns` (created when
    /// missing), and whether it is the message's own day: elsewhere, an
    /// earlier copy may sit in another day's table, so ingest looks first.
    pub(super) fn table_for(&mut self, tx: &Transaction<'_>, date_ns: i64) -> Result<(i64, bool), PortError> {
        let own = day_of(date_ns);
        // Already expired: with the day before the cutoff, archived next run.
        let day = self.floor.map_or(own, |floor| own.max(floor - 1));
        if self.days.binary_search(&day).is_ok() {
            return Ok((day, day == own));
        }
        if self.days.len() >= MAX_DAYS {
            // A later day's table holds it as well (only dates before D + 1 matter).
            if let Some(later) = self.days.iter().find(|d| **d > day) {
                return Ok((*later, false));
            }
        }
        create(tx, day, &mut self.days).map_err(map_err)?;
        Ok((day, day == own))
    }
}

/// Records the archiver's cutoff day, below which new messages are placed
/// in the table of the day before it.
pub(super) fn set_floor(tx: &Transaction<'_>, day: i64) -> Result<(), PortError> {
    tx.execute(
        "INSERT INTO store_meta (key, value) VALUES ('expiry_floor_day', ?1) \
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
        [day],
    )
    .map_err(map_err)?;
    Ok(())
}

/// Takes `n` numbers of the message sequence; returns the first.
pub(super) fn take_seqs(tx: &Transaction<'_>, n: i64) -> Result<i64, PortError> {
    tx.prepare_cached("UPDATE store_meta SET value = value + ?1 WHERE key = 'next_seq' RETURNING value - ?1")
        .and_then(|mut s| s.query_row([n], |r| r.get::<_, i64>(0)))
        .map_err(map_err)
}

/// Finds a message: the day of its table and its `seq`.
pub(super) fn locate(
    tx: &Transaction<'_>,
    (t, a, peer, id): (&str, &str, i64, i64),
) -> Result<Option<(i64, i64)>, PortError> {
    tx.prepare_cached(
        "SELECT day, seq FROM messages WHERE tenant = ?1 AND account_id = ?2 AND peer = ?3 AND id = ?4 LIMIT 1",
    )
    .and_then(|mut s| s.query_row(params![t, a, peer, id], |r| Ok((r.get(0)?, r.get(1)?))).optional())
    .map_err(map_err)
}

/// Finds a message and sets `assignments` (parameters ?2 on, `args`) on its
/// row; returns whether it was found.
pub(super) fn update(
    tx: &Transaction<'_>,
    key: (&str, &str, i64, i64),
    assignments: &str,
    args: &[&dyn ToSql],
) -> Result<bool, PortError> {
    let Some((day, seq)) = locate(tx, key)? else {
        return Ok(false);
    };
    let mut stmt =
        tx.prepare_cached(&format!("UPDATE {} SET {assignments} WHERE seq = ?1", table(day))).map_err(map_err)?;
    let all: Vec<&dyn ToSql> = std::iter::once(&seq as &dyn ToSql).chain(args.iter().copied()).collect();
    stmt.execute(all.as_slice()).map_err(map_err)?;
    Ok(true)
}

/// Moves messages stored before day tables existed (migration V13) into
/// them, by day, keeping their rowids as `seq`.
pub(super) fn split_legacy(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    let cols = "tenant, account_id, peer, id, sender_id, sender_name, outgoing, date_ns, text, entities, media, \
                reply_to, edited_ns, deleted, tags";
    // Day by day, from the oldest message to the next non-empty day.
    let first_after = |from: i64| -> rusqlite::Result<Option<i64>> {
        tx.query_row("SELECT min(date_ns) FROM legacy_messages WHERE date_ns >= ?1", [from], |r| r.get(0))
    };
    let mut days = Vec::new();
    let mut next = first_after(i64::MIN)?;
    while let Some(date_ns) = next {
        let day = day_of(date_ns);
        let t = table(day);
        tx.execute_batch(&format!("CREATE TABLE {t} ({TABLE_COLUMNS});"))?;
        let moved = tx.execute(
            &format!(
                "INSERT INTO {t} (seq, {cols}) SELECT rowid, {cols} FROM legacy_messages \
                 WHERE date_ns >= ?1 AND date_ns < ?2"
            ),
            [day.saturating_mul(NS_PER_DAY), end_of(day)],
        )?;
        tx.execute_batch(&format!("CREATE UNIQUE INDEX {t}_key ON {t} (tenant, account_id, peer, id);"))?;
        days.push(day);
        // A large store takes a while: say how far it is.
        tracing::info!(table = %t, messages = moved, "messages moved into their day's table");
        next = first_after(end_of(day))?;
    }
    tx.execute(
        "UPDATE store_meta SET value = (SELECT coalesce(max(rowid), 0) + 1 FROM legacy_messages) WHERE key = 'next_seq'",
        [],
    )?;
    tx.execute_batch("DROP TABLE legacy_messages;")?;
    rebuild_view(tx, &days)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_name_is_its_date_and_reads_back_as_its_day() {
        let day = day_of(1_790_000_000 * 1_000_000_000);
        assert_eq!(table(day), "messages_20260921", "2026-09-21 14:13:20 UTC");
        assert_eq!(parse(&table(day)), Some(day));
        assert_eq!(parse("messages_none"), None);
        assert_eq!(day_of(-1), -1, "before the epoch rounds down");
        assert_eq!(end_of(0), NS_PER_DAY);
    }
}
