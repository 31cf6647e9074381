//! The audit log: one partition per tenant per month of the entries' time
//! (`sk` = the audit id, a ULID, so time order), and one item listing the
//! months that have entries. A listing walks those months newest first,
//! from the upper bound (`to`, the `before` cursor's time, or the newest
//! month) down to `from`, until its page is full.

use super::io::{key, Query};
use crate::dynamo::attrs::{doc, get_doc, get_ss, s, time, Item};
use crate::dynamo::keys;
use crate::dynamo::store::DynamoStore;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::BTreeSet;
use tgdesk_core::domain::{AuditEntry, AuditId, TenantId};
use tgdesk_core::ports::{AuditQuery, PortError};

/// Values per `IN (…)` of a filter (DynamoDB's limit).
const IN_VALUES: usize = 100;

/// The partition month of an instant, `yyyy-mm` (string order is time order).
fn month(at: DateTime<Utc>) -> String {
    at.format("%Y-%m").to_string()
}

/// The time a ULID-based id was generated, from its first ten characters.
fn id_time(id: &AuditId) -> Option<DateTime<Utc>> {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let ulid = id.as_str().rsplit('_').next()?;
    let mut ms: i64 = 0;
    for c in ulid.get(..10)?.bytes() {
        ms = ms * 32 + ALPHABET.iter().position(|a| *a == c.to_ascii_lowercase())? as i64;
    }
    Utc.timestamp_millis_opt(ms).single()
}

fn item(tenant: &TenantId, e: &AuditEntry) -> Result<Item, PortError> {
    let mut item = key(keys::audit_month(tenant, &month(e.at)), e.id.as_str());
    item.insert("doc".into(), doc(e)?);
    if let Some(actor) = &e.actor_id {
        item.insert("actor".into(), s(actor.as_str()));
    }
    if let Some(account) = &e.account_id {
        item.insert("account".into(), s(account.as_str()));
    }
    item.insert("action".into(), s(e.action.as_str()));
    item.insert("at".into(), time(e.at));
    Ok(item)
}

/// The filters of `q` on a query (actors given and non-empty).
fn filter(query: &mut Query, q: &AuditQuery) {
    if let Some(actors) = &q.actors {
        let f = &mut query.filter;
        let name = f.expr.name("actor");
        let lists: Vec<String> = actors
            .chunks(IN_VALUES)
            .map(|chunk| {
                let values: Vec<String> = chunk.iter().map(|a| f.expr.value(s(a.as_str()))).collect();
                format!("{name} IN ({})", values.join(", "))
            })
            .collect();
        f.clause(format!("({})", lists.join(" OR ")));
    }
    if let Some(account) = &q.account {
        query.filter.eq("account", s(account.as_str()));
    }
    if let Some(action) = q.action {
        query.filter.eq("action", s(action.as_str()));
    }
    for (bound, op) in [(q.from, ">="), (q.to, "<")] {
        if let Some(bound) = bound {
            let f = &mut query.filter;
            let (at, v) = (f.expr.name("at"), f.expr.value(time(bound)));
            f.clause(format!("{at} {op} {v}"));
        }
    }
}

impl DynamoStore {
    /// `append_audit`: the months first, then the entries in batches.
    pub(super) async fn append_audit_items(&self, tenant: &TenantId, entries: &[AuditEntry]) -> Result<(), PortError> {
        if entries.is_empty() {
            return Ok(());
        }
        // The months first: a listing must never miss one that has entries.
        let months: BTreeSet<String> = entries.iter().map(|e| month(e.at)).collect();
        let (pk, sk) = keys::audit_months(tenant);
        let mut expr = super::io::Expr::default();
        let update =
            format!("ADD {} {}", expr.name("months"), expr.value(AttributeValue::Ss(months.into_iter().collect())));
        self.update(key(pk, sk), &update, None, expr).await?;
        self.batch_put(entries.iter().map(|e| item(tenant, e)).collect::<Result<_, _>>()?).await
    }

    /// `list_audit`: the months in range, newest first, each read backwards
    /// through the filters until the page is full.
    pub(super) async fn audit_page(&self, tenant: &TenantId, q: &AuditQuery) -> Result<Vec<AuditEntry>, PortError> {
        if q.limit == 0 || q.actors.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Vec::new());
        }
        let (pk, sk) = keys::audit_months(tenant);
        let Some(listed) = self.get(pk, sk).await? else { return Ok(Vec::new()) };
        // An entry is written when it happens: its time is not after its id's.
        let upper = [q.to, q.before.as_ref().and_then(id_time)].into_iter().flatten().min().map(month);
        let lower = q.from.map(month);
        let mut months: Vec<&str> = get_ss(&listed, "months")?
            .into_iter()
            .filter(|m| upper.as_deref().is_none_or(|u| *m <= u) && lower.as_deref().is_none_or(|l| *m >= l))
            .collect();
        months.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for m in months {
            let mut query = Query::table(keys::audit_month(tenant, m));
            query.forward = false;
            query.from = q.before.as_ref().map(|b| b.as_str().to_owned());
            filter(&mut query, q);
            for item in self.query(&query, q.limit - out.len()).await? {
                out.push(get_doc::<AuditEntry>(&item, "doc")?);
            }
            if out.len() >= q.limit {
                break;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audit_ids_time_is_read_from_its_ulid() {
        let before = Utc::now() - chrono::Duration::milliseconds(1);
        let id = AuditId::generate();
        let at = id_time(&id).unwrap();
        assert!(at >= before && at <= Utc::now(), "{at} for {id}");
        assert_eq!(id_time(&AuditId::parse("aud_zz").unwrap()), None);
    }

    #[test]
    fn months_sort_as_time_does() {
        let jan = Utc.with_ymd_and_hms(2026, 1, 31, 23, 59, 59).unwrap();
        let feb = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        let next_year = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(month(jan), "2026-01");
        assert!(month(jan) < month(feb) && month(feb) < month(next_year));
    }
}
