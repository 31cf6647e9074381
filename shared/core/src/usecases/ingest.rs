//! Ingest: Telegram updates of one account, batched into envelopes by the
//! fleet, are stored idempotently and pushed to exactly the users allowed to
//! see the account (its owner, its team's leader, the tenant's admins).
//! Redelivered updates change nothing and push nothing.

use super::events::{DeskEvent, MessageEdited, MessagesDeleted};
use super::revocation::Roster;
use super::{AppError, Desk, DialogView};
use crate::domain::{
    cut as domain_cut, Account, AccountHead, AccountId, Dialog, Message, PeerProfile, TenantId, UserId,
    MAX_IDS_PER_UPDATE, MAX_PROFILES_PER_UPDATE, MAX_TEXT_BYTES,
};
use crate::ports::{PortErrorKind, PushEvent};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One change Telegram reported for an account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AccountUpdate {
    /// A message arrived or was sent from another device.
    Message {
        /// The message.
        message: Message,
    },
    /// A message's text changed.
    Edit {
        /// Its dialog.
        peer: i64,
        /// Its id.
        id: i64,
        /// The new text.
        text: String,
        /// When it was edited.
        edited_at: DateTime<Utc>,
    },
    /// Messages were deleted.
    Delete {
        /// Their dialog.
        peer: i64,
        /// Their ids.
        ids: Vec<i64>,
    },
    /// Messages of private chats or basic groups were deleted; Telegram does
    /// not say which dialog (their ids are unique per account).
    DeleteUnplaced {
        /// Their ids.
        ids: Vec<i64>,
    },
    /// A dialog's title or kind is known or changed.
    Dialog {
        /// The dialog (its message fields are ignored).
        dialog: Dialog,
    },
    /// Profiles synced from Telegram: the account's own, its contacts', its customers'.
    Profiles {
        /// The profiles.
        profiles: Vec<PeerProfile>,
    },
}

/// Updates of one account, the unit the fleet publishes and ingest consumes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpdateEnvelope {
    /// The account's tenant.
    pub tenant: TenantId,
    /// The account.
    pub account_id: AccountId,
    /// Its updates, oldest first.
    pub updates: Vec<AccountUpdate>,
}

impl UpdateEnvelope {
    /// Cuts every record to the bounds of `domain::limits` and splits id and
    /// profile lists into updates of a bounded length, keeping their order;
    /// returns how many records were cut. Both ends call it: the fleet before
    /// publishing, so a body always fits the queue, and [`decode_batch`], so
    /// a store never gets more than its items hold, whoever wrote the body.
    pub fn fit(&mut self) -> usize {
        let oversized = self.updates.iter().any(|u| match u {
            AccountUpdate::Delete { ids, .. } | AccountUpdate::DeleteUnplaced { ids } => ids.len() > MAX_IDS_PER_UPDATE,
            AccountUpdate::Profiles { profiles } => profiles.len() > MAX_PROFILES_PER_UPDATE,
            _ => false,
        });
        if oversized {
            self.updates = std::mem::take(&mut self.updates).into_iter().flat_map(split_update).collect();
        }
        let mut cut = 0;
        for update in &mut self.updates {
            cut += match update {
                AccountUpdate::Message { message } => usize::from(message.fit()),
                AccountUpdate::Edit { text, .. } => usize::from(domain_cut(text, MAX_TEXT_BYTES)),
                AccountUpdate::Dialog { dialog } => usize::from(dialog.fit()),
                AccountUpdate::Profiles { profiles } => profiles.iter_mut().map(|p| usize::from(p.fit())).sum(),
                AccountUpdate::Delete { .. } | AccountUpdate::DeleteUnplaced { .. } => 0,
            };
        }
        cut
    }
}

/// Splits a list-carrying update into updates of at most the bound's length.
fn split_update(update: AccountUpdate) -> Vec<AccountUpdate> {
    match update {
        AccountUpdate::Delete { peer, ids } => {
            ids.chunks(MAX_IDS_PER_UPDATE).map(|c| AccountUpdate::Delete { peer, ids: c.to_vec() }).collect()
        }
        AccountUpdate::DeleteUnplaced { ids } => {
            ids.chunks(MAX_IDS_PER_UPDATE).map(|c| AccountUpdate::DeleteUnplaced { ids: c.to_vec() }).collect()
        }
        AccountUpdate::Profiles { profiles } => {
            profiles.chunks(MAX_PROFILES_PER_UPDATE).map(|c| AccountUpdate::Profiles { profiles: c.to_vec() }).collect()
        }
        other => vec![other],
    }
}

/// What an ingest call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestReport {
    /// Messages stored for the first time.
    pub new_messages: usize,
    /// Messages already stored (redelivery).
    pub duplicates: usize,
    /// Edits and deletes applied.
    pub changes: usize,
    /// Events handed to the push hub (one per event, whatever the audience size).
    pub pushed: usize,
}

/// What [`Desk::ingest_batch`] (or [`Desk::store_batch`]) did.
#[derive(Debug, Default)]
pub struct BatchIngest {
    /// What was stored and pushed, summed over the valid envelopes.
    pub report: IngestReport,
    /// Envelopes refused (by index) and why: `NotFound` for an unknown
    /// account, `Invalid` for an update naming another account. The caller
    /// dead-letters them; the others are stored.
    pub poison: Vec<(usize, AppError)>,
    /// What the stored updates still have to push (empty after `ingest_batch`).
    pub announcements: Announcements,
}

/// The pushes owed for stored updates, in order: `message.new` for each new
/// message, then edits and deletes, then `dialog.update` for every dialog
/// they touched. [`Desk::store_batch`] returns them and [`Desk::announce`]
/// sends them, so a pipeline can store one batch while it pushes the last.
#[derive(Debug, Default)]
pub struct Announcements {
    tenants: Vec<TenantAnnouncements>,
}

impl Announcements {
    /// True when nothing is owed.
    pub fn is_empty(&self) -> bool {
        self.tenants.iter().all(|t| t.events.is_empty() && t.touched.is_empty())
    }
}

/// The pushes owed to one tenant's users.
#[derive(Debug)]
struct TenantAnnouncements {
    tenant: TenantId,
    /// Who sees each account, and how its dialogs label it.
    accounts: HashMap<AccountId, (Vec<UserId>, String)>,
    /// Events in push order, each for its account's audience.
    events: Vec<(AccountId, Owed)>,
    /// Dialogs to push as the inbox lists them, once the events went out:
    /// as the message write returned them, or `None` to be read then.
    touched: BTreeMap<(AccountId, i64), Option<Dialog>>,
}

/// One event owed.
// Nearly every event owed is a new message: boxing it would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Owed {
    /// `message.new`, serialised only when pushed.
    New(Message),
    /// Any other event (edits and deletes are rare).
    Event(PushEvent),
}

/// A valid envelope with its account.
type Checked<'a> = (&'a UpdateEnvelope, &'a AccountHead);

impl Desk {
    /// Stores one envelope and pushes what was new. `NotFound` when the
    /// account does not exist and `Invalid` when an update names another
    /// account (the caller dead-letters the envelope);
    /// `Unavailable` when the store is down (the caller retries).
    pub async fn ingest(&self, envelope: &UpdateEnvelope) -> Result<IngestReport, AppError> {
        let mut done = self.ingest_batch(std::slice::from_ref(envelope)).await?;
        match done.poison.pop() {
            Some((_, e)) => Err(e),
            None => Ok(done.report),
        }
    }

    /// Stores many envelopes (of any accounts and tenants) and pushes what
    /// was new, with one store write per tenant for all their messages: the
    /// fleet batches many accounts' updates into one queue body, and per-envelope
    /// round trips would bound ingest at a few hundred envelopes a second.
    /// Messages are stored before the edits and deletes of the same batch,
    /// so an edit of a message in the batch finds it. `Unavailable` when the
    /// store is down (the caller retries the whole batch; ingest is idempotent).
    pub async fn ingest_batch(&self, envelopes: &[UpdateEnvelope]) -> Result<BatchIngest, AppError> {
        let mut done = self.store_batch(envelopes).await?;
        done.report.pushed += self.announce(std::mem::take(&mut done.announcements)).await?;
        Ok(done)
    }

    /// The store half of [`Desk::ingest_batch`]: stores the envelopes and
    /// returns what they owe the push hub instead of pushing it. Pass the
    /// announcements to [`Desk::announce`], in the order batches were stored.
    pub async fn store_batch(&self, envelopes: &[UpdateEnvelope]) -> Result<BatchIngest, AppError> {
        let mut done = BatchIngest::default();
        let mut by_tenant: BTreeMap<&TenantId, Vec<usize>> = BTreeMap::new();
        for (i, e) in envelopes.iter().enumerate() {
            by_tenant.entry(&e.tenant).or_default().push(i);
        }
        for (tenant, indexes) in by_tenant {
            let mut ids: Vec<AccountId> = indexes.iter().map(|&i| envelopes[i].account_id.clone()).collect();
            ids.sort();
            ids.dedup();
            let accounts: HashMap<AccountId, AccountHead> = self
                .ports
                .directory
                .get_account_heads(tenant, &ids)
                .await?
                .into_iter()
                .map(|a| (a.id.clone(), a))
                .collect();
            let mut valid: Vec<Checked<'_>> = Vec::with_capacity(indexes.len());
            for i in indexes {
                let envelope = &envelopes[i];
                match accounts.get(&envelope.account_id) {
                    None => done
                        .poison
                        .push((i, AppError::not_found(format!("account {} does not exist", envelope.account_id)))),
                    Some(account) if holds_foreign(envelope, account) => done.poison.push((
                        i,
                        AppError::invalid(format!("envelope of account {} holds another account's update", account.id)),
                    )),
                    Some(account) => valid.push((envelope, account)),
                }
            }
            if !valid.is_empty() {
                let owed = self.store_tenant(tenant, &valid, &mut done.report).await?;
                done.announcements.tenants.push(owed);
            }
        }
        Ok(done)
    }

    /// Stores the valid envelopes of one tenant; returns the pushes owed.
    async fn store_tenant(
        &self,
        tenant: &TenantId,
        valid: &[Checked<'_>],
        report: &mut IngestReport,
    ) -> Result<TenantAnnouncements, AppError> {
        let roster = self.roster(tenant).await?;
        let accounts: HashMap<AccountId, (Vec<UserId>, String)> = valid
            .iter()
            .map(|(_, a)| (a.id.clone(), (audience_of(&a.owner_id, &a.team_id, &roster), a.label())))
            .collect();
        let mut owed =
            TenantAnnouncements { tenant: tenant.clone(), accounts, events: Vec::new(), touched: BTreeMap::new() };
        let dialogs: Vec<Dialog> = updates(valid)
            .filter_map(|(_, u)| match u {
                AccountUpdate::Dialog { dialog } => Some(dialog.clone()),
                _ => None,
            })
            .collect();
        if !dialogs.is_empty() {
            self.ports.writer.upsert_dialogs(tenant, &dialogs).await?;
            owed.touched.extend(dialogs.iter().map(|d| ((d.account_id.clone(), d.peer), None)));
        }
        let messages: Vec<Message> = updates(valid)
            .filter_map(|(_, u)| match u {
                AccountUpdate::Message { message } => Some(message.clone()),
                _ => None,
            })
            .collect();
        let outcome = self.ports.writer.ingest_messages(tenant, &messages).await?;
        report.new_messages += outcome.inserted();
        report.duplicates += outcome.duplicates;
        // `fresh` is ascending: one pass moves the new messages out.
        let mut fresh = outcome.fresh.iter().copied().peekable();
        let mut announced = Vec::with_capacity(outcome.fresh.len());
        for (i, message) in messages.into_iter().enumerate() {
            if fresh.next_if_eq(&i).is_some() {
                owed.touched.entry((message.account_id.clone(), message.peer)).or_insert(None);
                announced.push(message);
            }
        }
        // A batch's envelopes may come in any order (SQS keeps none): new
        // messages are announced oldest first, so a dialog's reach its
        // sockets in the order they were written.
        announced.sort_by_key(|m| (m.date, m.id));
        owed.events.extend(announced.into_iter().map(|m| (m.account_id.clone(), Owed::New(m))));
        for dialog in outcome.dialogs {
            owed.touched.insert((dialog.account_id.clone(), dialog.peer), Some(dialog));
        }
        for (account, update) in updates(valid) {
            self.apply_change(tenant, account, update, report, &mut owed.events).await?;
        }
        Ok(owed)
    }

    /// Applies an edit, a delete or profiles; records the event it owes.
    async fn apply_change(
        &self,
        tenant: &TenantId,
        account: &AccountHead,
        update: &AccountUpdate,
        report: &mut IngestReport,
        owed: &mut Vec<(AccountId, Owed)>,
    ) -> Result<(), AppError> {
        match update {
            AccountUpdate::Edit { peer, id, text, edited_at } => {
                match self.apply_edit(tenant, (&account.id, *peer, *id), text, *edited_at).await {
                    Ok(()) => {}
                    // An edit of a message never stored (older than the synced history) has nothing to change.
                    Err(e) if e.kind == PortErrorKind::NotFound => return Ok(()),
                    Err(e) => return Err(e.into()),
                }
                let edited = MessageEdited {
                    account_id: account.id.clone(),
                    peer: *peer,
                    id: *id,
                    text: text.clone(),
                    edited_at: *edited_at,
                };
                owed.push((account.id.clone(), Owed::Event(DeskEvent::MessageEdit(edited).into_push()?)));
                report.changes += 1;
            }
            AccountUpdate::Delete { peer, ids } => {
                self.apply_delete(tenant, &account.id, *peer, ids).await?;
                let deleted = MessagesDeleted { account_id: account.id.clone(), peer: *peer, ids: ids.clone() };
                owed.push((account.id.clone(), Owed::Event(DeskEvent::MessageDelete(deleted).into_push()?)));
                report.changes += 1;
            }
            AccountUpdate::DeleteUnplaced { ids } => {
                let mut deleted = self.ports.writer.delete_unplaced_messages(tenant, &account.id, ids).await?;
                // The rest may be archived (a private chat's old messages).
                let left: Vec<i64> = ids.iter().copied().filter(|id| !deleted.iter().any(|(_, d)| d == id)).collect();
                deleted.extend(self.delete_unplaced_archived(tenant, &account.id, &left).await?);
                let mut by_peer: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
                for (peer, id) in deleted {
                    by_peer.entry(peer).or_default().push(id);
                }
                for (peer, ids) in by_peer {
                    let deleted = MessagesDeleted { account_id: account.id.clone(), peer, ids };
                    owed.push((account.id.clone(), Owed::Event(DeskEvent::MessageDelete(deleted).into_push()?)));
                    report.changes += 1;
                }
            }
            AccountUpdate::Profiles { profiles } => {
                self.ports.writer.upsert_profiles(tenant, profiles).await?;
                report.changes += 1;
            }
            AccountUpdate::Message { .. } | AccountUpdate::Dialog { .. } => {}
        }
        Ok(())
    }

    /// Pushes what stored batches owe, in order; returns the events pushed.
    /// A dialog goes out as its batch left it, so announcing batches in the
    /// order they were stored ends every client on the dialog's latest state.
    pub async fn announce(&self, announcements: Announcements) -> Result<usize, AppError> {
        let mut pushed = 0;
        for owed in announcements.tenants {
            let tenant = &owed.tenant;
            for (account, event) in owed.events {
                let audience = &owed.accounts[&account].0;
                let event = match event {
                    Owed::New(message) => DeskEvent::MessageNew(message).into_push()?,
                    Owed::Event(event) => event,
                };
                self.ports.push.publish(tenant, audience, event).await?;
                pushed += 1;
            }
            pushed += self.push_dialogs(tenant, &owed.accounts, owed.touched).await?;
        }
        Ok(pushed)
    }

    /// Pushes `dialog.update` for each touched dialog, as the inbox lists it:
    /// as the message write returned it, or read now when it did not.
    async fn push_dialogs(
        &self,
        tenant: &TenantId,
        accounts: &HashMap<AccountId, (Vec<UserId>, String)>,
        touched: BTreeMap<(AccountId, i64), Option<Dialog>>,
    ) -> Result<usize, AppError> {
        let to_read: Vec<(AccountId, i64)> =
            touched.iter().filter(|(_, d)| d.is_none()).map(|(key, _)| key.clone()).collect();
        let mut read: HashMap<(AccountId, i64), Dialog> = HashMap::new();
        if !to_read.is_empty() {
            for d in self.ports.reader.get_dialogs(tenant, &to_read).await? {
                read.insert((d.account_id.clone(), d.peer), d);
            }
        }
        let mut count = 0;
        for (key, written) in touched {
            let Some(dialog) = written.or_else(|| read.remove(&key)) else { continue };
            let (audience, label) = &accounts[&dialog.account_id];
            // `pinned` is per viewer; clients keep their own pins.
            let view = DialogView::build(dialog, label.clone(), false);
            self.ports.push.publish(tenant, audience, DeskEvent::DialogUpdate(view).into_push()?).await?;
            count += 1;
        }
        Ok(count)
    }

    /// Returns who may see `account`: its owner, its team's leader and every
    /// admin of the tenant (DESIGN §3), leaving disabled users out.
    pub async fn audience(&self, account: &Account) -> Result<Vec<UserId>, AppError> {
        let roster = self.roster(&account.tenant).await?;
        Ok(audience_of(&account.owner_id, &account.team_id, &roster))
    }
}

/// The owner, the team's leader and the enabled admins, each once, none disabled.
fn audience_of(owner: &Option<UserId>, team: &Option<UserId>, roster: &Roster) -> Vec<UserId> {
    let set: BTreeSet<UserId> = owner
        .iter()
        .chain(team.iter())
        .filter(|u| !roster.disabled.contains(*u))
        .chain(roster.admins.iter())
        .cloned()
        .collect();
    set.into_iter().collect()
}

/// Every update of the valid envelopes with its account, in order.
fn updates<'a>(valid: &'a [Checked<'a>]) -> impl Iterator<Item = (&'a AccountHead, &'a AccountUpdate)> + 'a {
    valid.iter().flat_map(|(e, a)| e.updates.iter().map(move |u| (*a, u)))
}

/// True when an update of the envelope names another account.
fn holds_foreign(envelope: &UpdateEnvelope, account: &AccountHead) -> bool {
    envelope.updates.iter().any(|u| match u {
        AccountUpdate::Message { message } => message.account_id != account.id,
        AccountUpdate::Dialog { dialog } => dialog.account_id != account.id,
        AccountUpdate::Profiles { profiles } => profiles.iter().any(|p| p.account_id != account.id),
        _ => false,
    })
}

/// Name of the queue the fleet publishes update batches to.
pub const UPDATES_QUEUE: &str = "updates";

/// Encodes envelopes as one queue body: gzip-compressed JSON (many updates
/// per queue message keep queue cost and overhead per update low).
pub fn encode_batch(envelopes: &[UpdateEnvelope]) -> Vec<u8> {
    use std::io::Write;
    let json = serde_json::to_vec(envelopes).unwrap_or_else(|e| unreachable!("envelopes always serialise: {e}"));
    let mut gz = flate2::write::GzEncoder::new(Vec::with_capacity(json.len() / 4), flate2::Compression::fast());
    gz.write_all(&json).and_then(|()| gz.finish()).unwrap_or_else(|e| unreachable!("gzip into a Vec cannot fail: {e}"))
}

/// Deliveries of one update batch before ingest gives up on it and
/// dead-letters it with its last error (the SQS redrive policy's
/// `maxReceiveCount`, higher, is only the safety net).
pub const MAX_INGEST_ATTEMPTS: u32 = 20;

/// What becomes of an update batch ingest could not store: the one policy
/// the local pump and the `ingest` function both follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailedBatch {
    /// It can never be stored (not a batch, an unknown account, another
    /// account's update), or failed [`MAX_INGEST_ATTEMPTS`] times: to the
    /// dead-letter queue with this reason.
    DeadLetter(String),
    /// Delivered again after this delay (the store was down, say):
    /// doubling from 200 ms with each delivery, up to 51 s.
    Retry(std::time::Duration),
}

impl FailedBatch {
    /// The verdict on a batch refused at its `attempts`th delivery with `e`:
    /// undecodable, or holding a poison envelope (`Desk::store_batch`).
    pub fn of(e: &AppError, attempts: u32) -> Self {
        match e {
            AppError::Invalid(_) | AppError::NotFound(_) => Self::DeadLetter(e.to_string()),
            _ => Self::store_failed(e, attempts),
        }
    }

    /// The verdict on a batch whose store call failed as a whole with `e`
    /// (whatever its kind: a missing table says nothing about the batch).
    pub fn store_failed(e: &AppError, attempts: u32) -> Self {
        if attempts >= MAX_INGEST_ATTEMPTS {
            return Self::DeadLetter(format!("failed {MAX_INGEST_ATTEMPTS} times: {e}"));
        }
        let (first, cap) = (std::time::Duration::from_millis(400), std::time::Duration::from_millis(51_200));
        Self::Retry(super::doubling_delay(attempts, first, cap))
    }
}

/// Most bytes a queue body may inflate to: a body of the queue's 190 KiB
/// holds a few MiB of updates; more is a gzip bomb, not a batch.
pub const MAX_INFLATED_BYTES: u64 = 32 * 1024 * 1024;

/// Decodes a queue body made by [`encode_batch`], its records cut to the
/// bounds of `domain::limits` ([`UpdateEnvelope::fit`]); `Invalid` (poison)
/// when it is not one, or inflates past [`MAX_INFLATED_BYTES`].
pub fn decode_batch(body: &[u8]) -> Result<Vec<UpdateEnvelope>, AppError> {
    use std::io::Read;
    // Inflating whole, then parsing a slice, is several times faster than
    // parsing from the decoder (serde_json reads a reader byte by byte).
    let mut json = Vec::with_capacity(body.len() * 6);
    flate2::read::GzDecoder::new(body)
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|e| AppError::invalid(format!("not an update batch (gzip): {e}")))?;
    if json.len() as u64 > MAX_INFLATED_BYTES {
        return Err(AppError::invalid(format!("an update batch inflating past {MAX_INFLATED_BYTES} bytes")));
    }
    let mut envelopes: Vec<UpdateEnvelope> =
        serde_json::from_slice(&json).map_err(|e| AppError::invalid(format!("not an update batch: {e}")))?;
    for envelope in &mut envelopes {
        let cut = envelope.fit();
        if cut > 0 {
            tracing::warn!(account = %envelope.account_id, records = cut, "records over their bounds were cut to fit");
        }
    }
    Ok(envelopes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MAX_NAME_BYTES, MAX_TEXT_BYTES};

    fn envelope(updates: Vec<AccountUpdate>) -> UpdateEnvelope {
        UpdateEnvelope { tenant: TenantId::parse("demo").unwrap(), account_id: AccountId::generate(), updates }
    }

    #[test]
    fn a_decoded_batch_has_its_records_cut_to_their_bounds_and_its_lists_split() {
        let mut message = crate::domain::limits_tests::hostile_message();
        message.id = 7;
        // Under the inflation bound: a few MiB of JSON.
        message.entities.as_array_mut().unwrap().truncate(1_000);
        let sent = envelope(vec![
            AccountUpdate::Message { message },
            AccountUpdate::Edit { peer: 1, id: 7, text: "x".repeat(MAX_TEXT_BYTES * 3), edited_at: Utc::now() },
            AccountUpdate::Delete { peer: 1, ids: (0..10_000).collect() },
        ]);
        let back = decode_batch(&encode_batch(std::slice::from_ref(&sent))).unwrap();
        let updates = &back[0].updates;
        assert_eq!(updates.len(), 2 + 10_000usize.div_ceil(MAX_IDS_PER_UPDATE));
        let AccountUpdate::Message { message } = &updates[0] else { panic!("{:?}", updates[0]) };
        assert_eq!((message.id, message.text.len()), (7, MAX_TEXT_BYTES));
        assert!(message.sender_name.as_ref().is_some_and(|n| n.len() == MAX_NAME_BYTES));
        let AccountUpdate::Edit { text, .. } = &updates[1] else { panic!("{:?}", updates[1]) };
        assert_eq!(text.len(), MAX_TEXT_BYTES);
        let ids: Vec<i64> = updates[2..]
            .iter()
            .flat_map(|u| match u {
                AccountUpdate::Delete { peer: 1, ids } if ids.len() <= MAX_IDS_PER_UPDATE => ids.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, (0..10_000).collect::<Vec<i64>>(), "every id, in order");
    }

    #[test]
    fn a_failed_batch_is_dead_lettered_when_it_never_can_be_stored_or_failed_too_often() {
        let down = AppError::Unavailable("store down".into());
        assert_eq!(FailedBatch::of(&down, 1), FailedBatch::Retry(std::time::Duration::from_millis(400)));
        assert_eq!(FailedBatch::of(&down, 12), FailedBatch::Retry(std::time::Duration::from_millis(51_200)));
        let FailedBatch::DeadLetter(reason) = FailedBatch::of(&down, MAX_INGEST_ATTEMPTS) else { panic!() };
        assert!(reason.starts_with("failed 20 times") && reason.contains("store down"), "{reason}");
        for poison in [AppError::invalid("not an update batch"), AppError::not_found("account a does not exist")] {
            assert_eq!(FailedBatch::of(&poison, 1), FailedBatch::DeadLetter(poison.to_string()));
            // The same kinds from a failed store call say nothing about the batch.
            assert!(matches!(FailedBatch::store_failed(&poison, 1), FailedBatch::Retry(_)));
        }
    }

    #[test]
    fn a_body_inflating_past_the_bound_is_poison() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![b' '; 1024 * 1024];
        for _ in 0..=(MAX_INFLATED_BYTES / zeros.len() as u64) {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 256 * 1024, "small enough for a queue body: {}", bomb.len());
        let err = decode_batch(&bomb).unwrap_err();
        assert!(err.to_string().contains("inflating past"), "{err}");
    }
}
