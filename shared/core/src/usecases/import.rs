//! Account import from CSV or JSON Lines (with an optional `session` column
//! holding a Telethon or Pyrogram session string, stored sealed). Every bad line is reported with its
//! number and reason and the good lines are imported; importing the same file
//! again changes nothing. Rows are read and written in chunks, each chunk all
//! or none; files and reports are bounded (see `import_rows`).

use super::accounts::default_team;
use super::import_rows::{count_lines, validate, Row, Rows};
pub use super::import_rows::{MAX_IMPORT_LINES, MAX_REPORTED_REJECTIONS};
use super::{actor::team_of, Actor, AppError, Desk};
use crate::domain::{
    Account, AccountId, AccountStatus, AuditAction, Group, GroupId, Phone, Tag, TagId, User, UserId, Username,
};
pub use crate::domain::{ImportFormat, ImportReport, RejectedLine};
use crate::ports::{AccountPut, PortErrorKind};
use chrono::Utc;
use std::collections::{BTreeSet, HashMap, HashSet};

/// Rows written per store call (and per transaction).
const CHUNK: usize = 2_000;

/// How far an import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    /// Lines handled so far.
    pub processed: usize,
    /// Lines in the file.
    pub total: usize,
}

/// Where one run over an import file stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ImportStep {
    /// Lines handled, from the file's start (the next run skips as many).
    pub processed: usize,
    /// Lines in the file.
    pub total: usize,
    /// True when every line is handled.
    pub done: bool,
}

/// Names resolved once per import: owners, tags and groups.
#[derive(Default)]
struct Lookups {
    owners: HashMap<Username, Result<User, String>>,
    tags: HashMap<String, TagId>,
    groups: HashMap<(UserId, String), GroupId>,
    groups_loaded: HashSet<UserId>,
}

impl Desk {
    /// Imports accounts (admins and leaders) in one go, here and now (the
    /// API runs an import as a job: [`Desk::import_upload`]). Lines with
    /// errors are reported (the first [`MAX_REPORTED_REJECTIONS`] with their
    /// reason, all in `rejected_count`), the rest imported; a file of more
    /// than [`MAX_IMPORT_LINES`] lines is refused whole (`TooLarge`). Rows are
    /// read and written [`CHUNK`] at a time; `progress` is called after every chunk.
    pub async fn import_accounts(
        &self,
        actor: &Actor,
        format: ImportFormat,
        body: &[u8],
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport, AppError> {
        let mut report = ImportReport::default();
        self.import_lines(actor, format, body, 0, None, &mut report, progress).await?;
        Ok(report)
    }

    /// Imports the lines of `body` after the first `skip` (lines a run
    /// before this one handled), adding to `report`, until the file ends or,
    /// at a chunk's end, `until` has passed. The lines skipped are still read
    /// for their phones, so a phone met twice is refused on its second line
    /// whichever run meets it. Audits the import once its last line is handled.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn import_lines(
        &self,
        actor: &Actor,
        format: ImportFormat,
        body: &[u8],
        skip: usize,
        until: Option<tokio::time::Instant>,
        report: &mut ImportReport,
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportStep, AppError> {
        actor.ensure_supervisor()?;
        let total = count_lines(body)?;
        let mut rows = Rows::open(format, body)?;
        let mut lookups = Lookups {
            tags: self
                .ports
                .directory
                .list_tags(&actor.tenant)
                .await?
                .into_iter()
                .map(|t| (t.name.to_ascii_lowercase(), t.id))
                .collect(),
            ..Lookups::default()
        };
        let mut seen: HashMap<Phone, u64> = HashMap::new();
        let mut processed = 0;
        while processed < skip {
            match rows.next() {
                None => break,
                Some(Ok((line, raw))) => {
                    if let Ok(row) = validate(line, raw) {
                        seen.entry(row.phone).or_insert(line);
                    }
                }
                Some(Err(_)) => {}
            }
            processed += 1;
        }
        let mut chunk = Vec::with_capacity(CHUNK);
        loop {
            let next = rows.next();
            let done = next.is_none();
            match next {
                None => {}
                Some(Err(refused)) => report.reject(refused.line, refused.reason),
                Some(Ok((line, raw))) => match validate(line, raw) {
                    Err(reason) => report.reject(line, reason),
                    Ok(row) => match seen.get(&row.phone) {
                        Some(first) => report.reject(line, format!("phone {} is already on line {first}", row.phone)),
                        None => {
                            seen.insert(row.phone.clone(), line);
                            chunk.push(row);
                        }
                    },
                },
            }
            processed += usize::from(!done);
            if chunk.len() == CHUNK || (done && !chunk.is_empty()) {
                self.import_chunk(actor, &chunk, &mut lookups, report).await?;
                chunk.clear();
                progress(ImportProgress { processed, total });
                report.rejected.sort_by_key(|r| r.line);
                if !done && until.is_some_and(|u| tokio::time::Instant::now() >= u) {
                    return Ok(ImportStep { processed, total, done: false });
                }
            }
            if done {
                break;
            }
        }
        report.rejected.sort_by_key(|r| r.line);
        let details = serde_json::json!({
            "imported": report.imported, "unchanged": report.unchanged, "rejected": report.rejected_count,
        });
        self.audit(actor, AuditAction::AccountImport, None, None, details).await?;
        Ok(ImportStep { processed, total, done: true })
    }

    async fn import_chunk(
        &self,
        actor: &Actor,
        rows: &[Row],
        lookups: &mut Lookups,
        report: &mut ImportReport,
    ) -> Result<(), AppError> {
        let phones: Vec<Phone> = rows.iter().map(|r| r.phone.clone()).collect();
        let existing: HashMap<Phone, Account> = self
            .ports
            .directory
            .find_accounts_by_phone(&actor.tenant, &phones)
            .await?
            .into_iter()
            .map(|a| (a.phone.clone(), a))
            .collect();
        let now = Utc::now();
        let mut writes = Vec::new();
        let mut lines = Vec::new();
        let mut pairs = Vec::new();
        for row in rows {
            let owner = match &row.owner {
                Some(name) => match self.import_owner(actor, name, lookups).await? {
                    Ok(user) => Some(user),
                    Err(reason) => {
                        report.reject(row.line, reason);
                        continue;
                    }
                },
                None => None,
            };
            let before = existing.get(&row.phone);
            if before.is_some_and(|a| !actor.can_see(a)) {
                report.reject(row.line, format!("phone {} belongs to an account you may not manage", row.phone));
                continue;
            }
            let mut account = before.cloned().unwrap_or_else(|| Account {
                id: AccountId::generate(),
                tenant: actor.tenant.clone(),
                phone: row.phone.clone(),
                display_name: None,
                status: AccountStatus::Offline,
                owner_id: None,
                team_id: default_team(actor),
                tags: BTreeSet::new(),
                groups: BTreeSet::new(),
                session: None,
                created_at: now,
                updated_at: now,
            });
            if row.name.is_some() {
                account.display_name = row.name.clone();
            }
            for tag in &row.tags {
                account.tags.insert(self.import_tag(actor, tag, lookups).await?);
            }
            if let Some(owner) = owner.as_ref().filter(|o| account.owner_id.as_ref() != Some(&o.id)) {
                if let Some(old) = account.owner_id.clone() {
                    self.load_groups(actor, &old, lookups).await?;
                    account.groups.retain(|g| !lookups.groups.iter().any(|((o, _), id)| o == &old && id == g));
                }
                account.owner_id = Some(owner.id.clone());
                account.team_id = team_of(owner);
            }
            if let Some(group) = &row.group {
                let group_owner = owner.as_ref().map_or(&actor.user_id, |o| &o.id);
                account.groups.insert(self.import_group(actor, group_owner, group, lookups).await?);
            }
            if let Some(raw) = &row.session {
                if let Err(reason) = self.import_session(&mut account, raw).await {
                    report.reject(row.line, reason);
                    continue;
                }
            }
            if before == Some(&account) {
                report.unchanged += 1;
                continue;
            }
            account.updated_at = now;
            if let Some(b) = before.filter(|b| b.owner_id != account.owner_id) {
                pairs.push((b.clone(), account.clone()));
            } else if before.is_none() && account.owner_id.is_some() {
                let mut unowned = account.clone();
                unowned.owner_id = None;
                pairs.push((unowned, account.clone()));
            }
            writes.push(account);
            lines.push(row.line);
        }
        let outcomes = self.ports.directory.put_accounts(&actor.tenant, &writes).await?;
        // Another write took a phone since the chunk was read: that line is
        // refused, the rest stand.
        let mut refused = HashSet::new();
        for ((outcome, account), line) in outcomes.iter().zip(&writes).zip(lines) {
            match outcome {
                AccountPut::Stored => {
                    // An existing account keeps its stored session through
                    // `put_accounts`: a new key is set on its own.
                    let before = existing.get(&account.phone).filter(|b| b.id == account.id);
                    if before.is_some_and(|b| b.session != account.session) {
                        let session = account.session.clone();
                        self.ports.directory.set_account_session(&actor.tenant, &account.id, session, None).await?;
                    }
                    report.imported += 1;
                }
                AccountPut::PhoneTaken => {
                    report.reject(line, format!("phone {} belongs to another account", account.phone));
                    refused.insert(account.id.clone());
                }
            }
        }
        pairs.retain(|(_, after)| !refused.contains(&after.id));
        self.audit_owner_changes(actor, &pairs).await
    }

    /// Seals `raw` into the account unless it already holds that session; a
    /// logged-out account with a new session is offline again (the fleet connects it).
    async fn import_session(&self, account: &mut Account, raw: &str) -> Result<(), String> {
        let importer = self.ports.sessions.as_ref().ok_or("this server cannot import sessions")?;
        if let Some(sealed) = account.session.as_deref() {
            if importer.same_session(&account.id, sealed, raw).await {
                return Ok(());
            }
        }
        account.session = Some(importer.import(&account.id, raw).await.map_err(|e| format!("session: {}", e.message))?);
        if matches!(account.status, AccountStatus::LoggedOut | AccountStatus::Error) {
            account.status = AccountStatus::Offline;
        }
        Ok(())
    }

    async fn import_owner(
        &self,
        actor: &Actor,
        name: &Username,
        lookups: &mut Lookups,
    ) -> Result<Result<User, String>, AppError> {
        if let Some(cached) = lookups.owners.get(name) {
            return Ok(cached.clone());
        }
        let resolved = match self.ports.directory.find_user(&actor.tenant, name).await? {
            None => Err(format!("owner {name} is not an agent of this tenant")),
            Some(user) => actor.ensure_can_assign_to(&user).map(|()| user).map_err(|e| e.to_string()),
        };
        lookups.owners.insert(name.clone(), resolved.clone());
        Ok(resolved)
    }

    async fn import_tag(&self, actor: &Actor, name: &str, lookups: &mut Lookups) -> Result<TagId, AppError> {
        let key = name.to_ascii_lowercase();
        if let Some(id) = lookups.tags.get(&key) {
            return Ok(id.clone());
        }
        let tag = Tag { id: TagId::generate(), name: name.to_owned(), color: None, created_at: Utc::now() };
        self.ports.directory.put_tag(&actor.tenant, &tag).await?;
        lookups.tags.insert(key, tag.id.clone());
        Ok(tag.id)
    }

    async fn load_groups(&self, actor: &Actor, owner: &UserId, lookups: &mut Lookups) -> Result<(), AppError> {
        if lookups.groups_loaded.insert(owner.clone()) {
            for g in self.ports.directory.list_groups(&actor.tenant, Some(owner)).await? {
                lookups.groups.insert((owner.clone(), g.name.to_ascii_lowercase()), g.id);
            }
        }
        Ok(())
    }

    async fn import_group(
        &self,
        actor: &Actor,
        owner: &UserId,
        name: &str,
        lookups: &mut Lookups,
    ) -> Result<GroupId, AppError> {
        self.load_groups(actor, owner, lookups).await?;
        let key = (owner.clone(), name.to_ascii_lowercase());
        if let Some(id) = lookups.groups.get(&key) {
            return Ok(id.clone());
        }
        let group =
            Group { id: GroupId::generate(), owner_id: owner.clone(), name: name.to_owned(), created_at: Utc::now() };
        self.ports.directory.put_group(&actor.tenant, &group).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => AppError::Conflict(format!("group {name} was created meanwhile; import again")),
            _ => e.into(),
        })?;
        lookups.groups.insert(key, group.id.clone());
        Ok(group.id)
    }
}
