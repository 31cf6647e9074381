//! Account import from CSV or JSON Lines (with an optional `session` column
//! holding a Telethon or Pyrogram session string, stored sealed). Every bad line is reported with its
//! number and reason and the good lines are imported; importing the same file
//! again changes nothing. Rows are written in chunks, each chunk all or none.

use super::accounts::{clean_name, default_team};
use super::{actor::team_of, Actor, AppError, Desk};
use crate::domain::{
    parse_label, Account, AccountId, AccountStatus, AuditAction, Group, GroupId, Phone, Tag, TagId, User, UserId,
    Username,
};
use crate::ports::PortErrorKind;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Rows written per store call (and per transaction).
const CHUNK: usize = 2_000;

/// The file formats accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportFormat {
    /// Header `phone,name,tags,group,owner`; only `phone` is required; tags separated by `;`.
    Csv,
    /// One JSON object per line with the same fields; `tags` a list or a `;` string.
    JsonLines,
}

/// How far an import is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportProgress {
    /// Lines handled so far.
    pub processed: usize,
    /// Lines in the file.
    pub total: usize,
}

/// One refused line.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RejectedLine {
    /// 1-based line number in the file (the CSV header is line 1).
    pub line: u64,
    /// Why it was refused.
    pub reason: String,
}

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// Accounts created or changed.
    pub imported: usize,
    /// Lines that matched an account exactly.
    pub unchanged: usize,
    /// Lines refused.
    pub rejected: Vec<RejectedLine>,
}

/// A row as read, before validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRow {
    phone: Option<String>,
    name: Option<String>,
    tags: Option<RawTags>,
    group: Option<String>,
    owner: Option<String>,
    session: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawTags {
    List(Vec<String>),
    Joined(String),
}

/// A validated row.
struct Row {
    line: u64,
    phone: Phone,
    name: Option<String>,
    tags: Vec<String>,
    group: Option<String>,
    owner: Option<Username>,
    session: Option<String>,
}

const CSV_COLUMNS: [&str; 6] = ["phone", "name", "tags", "group", "owner", "session"];

fn read_csv(body: &[u8], rejected: &mut Vec<RejectedLine>) -> Result<Vec<(u64, RawRow)>, AppError> {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).trim(csv::Trim::All).from_reader(body);
    let headers =
        reader.headers().map_err(|e| AppError::invalid(format!("line 1: the CSV header cannot be read: {e}")))?.clone();
    let columns: Vec<String> = headers.iter().map(|h| h.trim_start_matches('\u{feff}').to_lowercase()).collect();
    if let Some(bad) = columns.iter().find(|c| !CSV_COLUMNS.contains(&c.as_str())) {
        return Err(AppError::invalid(format!("line 1: unknown column {bad:?}; expected {}", CSV_COLUMNS.join(","))));
    }
    if !columns.iter().any(|c| c == "phone") {
        return Err(AppError::invalid("line 1: the header has no phone column"));
    }
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, |p| p.line());
                let mut row = RawRow::default();
                for (column, value) in columns.iter().zip(record.iter()) {
                    let value = (!value.is_empty()).then(|| value.to_owned());
                    match column.as_str() {
                        "phone" => row.phone = value,
                        "name" => row.name = value,
                        "tags" => row.tags = value.map(RawTags::Joined),
                        "group" => row.group = value,
                        "session" => row.session = value,
                        _ => row.owner = value,
                    }
                }
                rows.push((line, row));
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("expected {expected_len} fields, found {len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "the line is not valid UTF-8".to_owned(),
                    _ => e.to_string(),
                };
                rejected.push(RejectedLine { line, reason });
            }
        }
    }
    Ok(rows)
}

fn read_json_lines(body: &[u8], rejected: &mut Vec<RejectedLine>) -> Vec<(u64, RawRow)> {
    let mut rows = Vec::new();
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let line = i as u64 + 1;
        let text = match std::str::from_utf8(raw) {
            Ok(t) => t.trim(),
            Err(_) => {
                rejected.push(RejectedLine { line, reason: "the line is not valid UTF-8".into() });
                continue;
            }
        };
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<RawRow>(text) {
            Ok(row) => rows.push((line, row)),
            Err(e) => rejected.push(RejectedLine { line, reason: format!("invalid JSON: {e}") }),
        }
    }
    rows
}

fn validate(line: u64, raw: RawRow) -> Result<Row, String> {
    let phone = Phone::parse(raw.phone.as_deref().ok_or("phone is missing")?).map_err(|e| e.0)?;
    let name = clean_name(raw.name.as_deref()).map_err(|e| e.to_string())?;
    let tags = match raw.tags {
        None => Vec::new(),
        Some(RawTags::List(list)) => list,
        Some(RawTags::Joined(s)) => s.split(';').map(str::to_owned).collect(),
    };
    let tags = tags
        .iter()
        .filter(|t| !t.trim().is_empty())
        .map(|t| parse_label(t, "tag").map_err(|e| e.0))
        .collect::<Result<Vec<_>, _>>()?;
    let group = match raw.group.as_deref().map(str::trim).filter(|g| !g.is_empty()) {
        Some(g) => Some(parse_label(g, "group").map_err(|e| e.0)?),
        None => None,
    };
    let owner = match raw.owner.as_deref().map(str::trim).filter(|o| !o.is_empty()) {
        Some(o) => Some(Username::parse(o).map_err(|e| e.0)?),
        None => None,
    };
    let session = raw.session.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    if session.as_ref().is_some_and(|s| s.len() > 4096) {
        return Err("session is longer than any session string".into());
    }
    Ok(Row { line, phone, name, tags, group, owner, session })
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
    /// Imports accounts (admins and leaders). Lines with errors are reported,
    /// the rest imported; `progress` is called after every chunk.
    pub async fn import_accounts(
        &self,
        actor: &Actor,
        format: ImportFormat,
        body: &[u8],
        progress: &(dyn Fn(ImportProgress) + Send + Sync),
    ) -> Result<ImportReport, AppError> {
        actor.ensure_supervisor()?;
        let mut report = ImportReport::default();
        let raw = match format {
            ImportFormat::Csv => read_csv(body, &mut report.rejected)?,
            ImportFormat::JsonLines => read_json_lines(body, &mut report.rejected),
        };
        let total = raw.len() + report.rejected.len();
        let mut seen: HashMap<Phone, u64> = HashMap::with_capacity(raw.len());
        let mut rows = Vec::with_capacity(raw.len());
        for (line, raw_row) in raw {
            match validate(line, raw_row) {
                Ok(row) => match seen.get(&row.phone) {
                    Some(first) => report
                        .rejected
                        .push(RejectedLine { line, reason: format!("phone {} is already on line {first}", row.phone) }),
                    None => {
                        seen.insert(row.phone.clone(), line);
                        rows.push(row);
                    }
                },
                Err(reason) => report.rejected.push(RejectedLine { line, reason }),
            }
        }
        let mut lookups = Lookups {
            tags: self
                .directory
                .list_tags(&actor.tenant)
                .await?
                .into_iter()
                .map(|t| (t.name.to_ascii_lowercase(), t.id))
                .collect(),
            ..Lookups::default()
        };
        let mut processed = report.rejected.len();
        for chunk in rows.chunks(CHUNK) {
            self.import_chunk(actor, chunk, &mut lookups, &mut report).await?;
            processed += chunk.len();
            progress(ImportProgress { processed, total });
        }
        report.rejected.sort_by_key(|r| r.line);
        let details = serde_json::json!({
            "imported": report.imported, "unchanged": report.unchanged, "rejected": report.rejected.len(),
        });
        self.audit(actor, AuditAction::AccountImport, None, None, details).await?;
        Ok(report)
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
            .directory
            .find_accounts_by_phone(&actor.tenant, &phones)
            .await?
            .into_iter()
            .map(|a| (a.phone.clone(), a))
            .collect();
        let now = Utc::now();
        let mut writes = Vec::new();
        let mut pairs = Vec::new();
        for row in rows {
            let owner = match &row.owner {
                Some(name) => match self.import_owner(actor, name, lookups).await? {
                    Ok(user) => Some(user),
                    Err(reason) => {
                        report.rejected.push(RejectedLine { line: row.line, reason });
                        continue;
                    }
                },
                None => None,
            };
            let before = existing.get(&row.phone);
            if before.is_some_and(|a| !actor.can_see(a)) {
                let reason = format!("phone {} belongs to an account you may not manage", row.phone);
                report.rejected.push(RejectedLine { line: row.line, reason });
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
                if let Err(reason) = self.import_session(&mut account, raw) {
                    report.rejected.push(RejectedLine { line: row.line, reason });
                    continue;
                }
            }
            if before == Some(&account) {
                report.unchanged += 1;
                continue;
            }
            account.updated_at = now;
            report.imported += 1;
            if let Some(b) = before.filter(|b| b.owner_id != account.owner_id) {
                pairs.push((b.clone(), account.clone()));
            } else if before.is_none() && account.owner_id.is_some() {
                let mut unowned = account.clone();
                unowned.owner_id = None;
                pairs.push((unowned, account.clone()));
            }
            writes.push(account);
        }
        self.directory.put_accounts(&actor.tenant, &writes).await?;
        self.audit_owner_changes(actor, &pairs).await
    }

    /// Seals `raw` into the account unless it already holds that session; a
    /// logged-out account with a new session is offline again (the fleet connects it).
    fn import_session(&self, account: &mut Account, raw: &str) -> Result<(), String> {
        let importer = self.sessions.as_ref().ok_or("this server cannot import sessions")?;
        if account.session.as_deref().is_some_and(|sealed| importer.same_session(&account.id, sealed, raw)) {
            return Ok(());
        }
        account.session = Some(importer.import(&account.id, raw).map_err(|e| format!("session: {}", e.message))?);
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
        let resolved = match self.directory.find_user(&actor.tenant, name).await? {
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
        self.directory.put_tag(&actor.tenant, &tag).await?;
        lookups.tags.insert(key, tag.id.clone());
        Ok(tag.id)
    }

    async fn load_groups(&self, actor: &Actor, owner: &UserId, lookups: &mut Lookups) -> Result<(), AppError> {
        if lookups.groups_loaded.insert(owner.clone()) {
            for g in self.directory.list_groups(&actor.tenant, Some(owner)).await? {
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
        self.directory.put_group(&actor.tenant, &group).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => AppError::Conflict(format!("group {name} was created meanwhile; import again")),
            _ => e.into(),
        })?;
        lookups.groups.insert(key, group.id.clone());
        Ok(group.id)
    }
}
