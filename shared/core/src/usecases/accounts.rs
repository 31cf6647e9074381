//! Accounts: adding, listing, updating, deleting, and who owns them.

use super::{actor::team_of, cursor, page_size, AccountView, Actor, AppError, Desk, Page};
use crate::domain::{
    Account, AccountId, AccountStatus, AuditAction, AuditEntry, AuditId, GroupId, Job, JobKind, Phone, TagId, User,
    UserId,
};
use crate::ports::{AccountPut, AccountQuery, PinTarget, PortErrorKind};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Input of [`Desk::create_account`].
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Phone in international form.
    pub phone: String,
    /// Display name.
    pub name: Option<String>,
    /// Tag ids.
    #[serde(default)]
    pub tags: Vec<TagId>,
    /// Owner agent.
    pub owner_id: Option<UserId>,
}

/// Input of [`Desk::update_account`]; absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAccount {
    /// New display name.
    pub display_name: Option<String>,
    /// New set of tag ids.
    pub tags: Option<Vec<TagId>>,
}

/// Filters of [`Desk::list_accounts`].
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct AccountFilter {
    /// Owner agent id, or `none` for unowned accounts.
    pub owner: Option<String>,
    /// Tag id.
    pub tag: Option<String>,
    /// Group id.
    pub group: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Text in the phone or the name.
    pub q: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1 to 500, default 50).
    pub limit: Option<usize>,
}

/// Result of a bulk assignment: all or nothing.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AssignOutcome {
    /// Accounts assigned (empty when any failed).
    pub assigned: Vec<AccountId>,
    /// Accounts that could not be assigned, with why.
    pub failed: Vec<AssignFailure>,
}

/// One account a bulk assignment could not take.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AssignFailure {
    /// The account id as given.
    pub account_id: String,
    /// Why.
    pub reason: String,
}

pub(crate) fn clean_name(raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(name) = raw.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    if name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name must be at most 128 characters without control characters"));
    }
    Ok(Some(name.to_owned()))
}

impl Desk {
    /// Adds one account. Admins and leaders only; a leader's account joins their team.
    pub async fn create_account(&self, actor: &Actor, input: NewAccount) -> Result<AccountView, AppError> {
        actor.ensure_supervisor()?;
        let phone = Phone::parse(&input.phone)?;
        let tags = self.known_tags(actor, &input.tags).await?;
        let owner = match &input.owner_id {
            Some(id) => {
                let user = self.load_user(actor, id).await.map_err(|_| AppError::invalid("owner_id names no agent"))?;
                actor.ensure_can_assign_to(&user)?;
                Some(user)
            }
            None => None,
        };
        let now = Utc::now();
        let account = Account {
            id: AccountId::generate(),
            tenant: actor.tenant.clone(),
            phone,
            display_name: clean_name(input.name.as_deref())?,
            status: AccountStatus::Offline,
            owner_id: owner.as_ref().map(|o| o.id.clone()),
            team_id: owner.as_ref().map_or_else(|| default_team(actor), team_of),
            tags,
            groups: BTreeSet::new(),
            session: None,
            created_at: now,
            updated_at: now,
        };
        let outcome = self.ports.directory.put_accounts(&actor.tenant, std::slice::from_ref(&account)).await?;
        if outcome.first() != Some(&AccountPut::Stored) {
            return Err(AppError::Conflict(format!("phone {} is already an account", account.phone)));
        }
        let details = serde_json::json!({"phone": account.phone.masked()});
        self.audit(actor, AuditAction::AccountCreate, Some(account.id.clone()), None, details).await?;
        if let Some(owner) = &account.owner_id {
            let details = serde_json::json!({"from": null, "to": owner.as_str()});
            self.audit(actor, AuditAction::AccountAssign, Some(account.id.clone()), Some(owner.to_string()), details)
                .await?;
        }
        self.account_view(actor, &account).await
    }

    /// Returns one account the actor may see.
    pub async fn get_account(&self, actor: &Actor, id: &AccountId) -> Result<AccountView, AppError> {
        let account = self.visible_account(actor, id).await?;
        self.account_view(actor, &account).await
    }

    /// Lists the accounts the actor may see, filtered, ordered by id.
    pub async fn list_accounts(&self, actor: &Actor, filter: &AccountFilter) -> Result<Page<AccountView>, AppError> {
        let limit = page_size(filter.limit);
        let mut query = AccountQuery::scoped(actor.scope(), limit);
        match filter.owner.as_deref() {
            Some("none") => query.unowned = true,
            Some(id) => query.owner = Some(UserId::parse(id)?),
            None => {}
        }
        query.tag = filter.tag.as_deref().map(TagId::parse).transpose()?;
        query.group = filter.group.as_deref().map(GroupId::parse).transpose()?;
        query.status = filter.status.as_deref().map(AccountStatus::parse).transpose()?;
        query.text = filter.q.as_deref().map(search_text).filter(|q| !q.is_empty());
        query.after = filter.cursor.as_deref().map(|c| cursor::decode(&actor.tenant, c)).transpose()?;
        let accounts = self.ports.directory.list_accounts(&actor.tenant, &query).await?;
        let next_cursor = (accounts.len() == limit).then(|| cursor::encode(&actor.tenant, &accounts[limit - 1].id));
        let items = self.account_views(actor, &accounts).await?;
        Ok(Page { items, next_cursor })
    }

    /// Renames an account or replaces its tags.
    pub async fn update_account(
        &self,
        actor: &Actor,
        id: &AccountId,
        input: UpdateAccount,
    ) -> Result<AccountView, AppError> {
        let mut account = self.visible_account(actor, id).await?;
        if let Some(name) = input.display_name.as_deref() {
            account.display_name = clean_name(Some(name))?;
        }
        if let Some(tags) = &input.tags {
            account.tags = self.known_tags(actor, tags).await?;
        }
        account.updated_at = Utc::now();
        self.put_all_accounts(actor, std::slice::from_ref(&account)).await?;
        let details = serde_json::json!({"display_name": account.display_name, "tags": account.tags});
        self.audit(actor, AuditAction::AccountUpdate, Some(account.id.clone()), None, details).await?;
        self.account_view(actor, &account).await
    }

    /// Starts deleting an account with its dialogs and messages (admins and
    /// the team's leader): a job, as an account may hold millions of messages.
    pub async fn delete_account(&self, actor: &Actor, id: &AccountId) -> Result<Job, AppError> {
        let account = self.visible_account(actor, id).await?;
        actor.ensure_can_assign(&account)?;
        self.start_job(actor, JobKind::DeleteAccount { account: account.id }).await
    }

    /// The job of [`Desk::delete_account`]: an account already gone is deleted.
    pub(crate) async fn delete_account_now(&self, actor: &Actor, id: &AccountId) -> Result<(), AppError> {
        let Some(account) = self.ports.directory.get_account(&actor.tenant, id).await? else { return Ok(()) };
        let account =
            actor.visible(Some(account)).map_err(|_| AppError::forbidden("the account is no longer yours"))?;
        actor.ensure_can_assign(&account)?;
        match self.ports.directory.delete_account(&actor.tenant, id).await {
            Err(e) if e.kind == PortErrorKind::NotFound => {}
            other => other?,
        }
        let details = serde_json::json!({"phone": account.phone.masked()});
        self.audit(actor, AuditAction::AccountDelete, Some(account.id), None, details).await
    }

    /// Gives an account to an agent; it leaves the old owner's groups.
    pub async fn assign_account(&self, actor: &Actor, id: &AccountId, agent: &UserId) -> Result<AccountView, AppError> {
        let account = self.visible_account(actor, id).await?;
        actor.ensure_can_assign(&account)?;
        let target = self.assign_target(actor, agent).await?;
        let updated = self.reowned(actor, account.clone(), Some(&target)).await?;
        self.put_all_accounts(actor, std::slice::from_ref(&updated)).await?;
        self.audit_owner_changes(actor, &[(account, updated.clone())]).await?;
        self.account_view(actor, &updated).await
    }

    /// Takes an account away from its owner; it stays in its team, so the
    /// old owner's leader (and admins) still see it.
    pub async fn reclaim_account(&self, actor: &Actor, id: &AccountId) -> Result<AccountView, AppError> {
        let account = self.visible_account(actor, id).await?;
        actor.ensure_can_assign(&account)?;
        let updated = self.reowned(actor, account.clone(), None).await?;
        self.put_all_accounts(actor, std::slice::from_ref(&updated)).await?;
        self.audit_owner_changes(actor, &[(account, updated.clone())]).await?;
        self.account_view(actor, &updated).await
    }

    /// Assigns many accounts to one agent, all or nothing: when any id fails,
    /// nothing changes and every failure is reported.
    pub async fn assign_accounts(
        &self,
        actor: &Actor,
        ids: &[String],
        agent: &UserId,
    ) -> Result<AssignOutcome, AppError> {
        if ids.is_empty() || ids.len() > 10_000 {
            return Err(AppError::invalid("account_ids must hold 1 to 10000 ids"));
        }
        let target = self.assign_target(actor, agent).await?;
        let mut failed = Vec::new();
        let mut parsed = Vec::new();
        let mut seen = HashSet::new();
        for raw in ids {
            match AccountId::parse(raw) {
                Ok(id) if seen.insert(id.clone()) => parsed.push(id),
                Ok(_) => {}
                Err(e) => failed.push(AssignFailure { account_id: raw.clone(), reason: e.0 }),
            }
        }
        let found: HashMap<AccountId, Account> = self
            .ports
            .directory
            .get_accounts(&actor.tenant, &parsed)
            .await?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect();
        let mut changes = Vec::new();
        for id in parsed {
            match found.get(&id).filter(|a| actor.can_see(a)) {
                None => failed.push(AssignFailure { account_id: id.to_string(), reason: "no such account".into() }),
                Some(a) if actor.ensure_can_assign(a).is_err() => failed.push(AssignFailure {
                    account_id: id.to_string(),
                    reason: "you may not assign this account".into(),
                }),
                Some(a) => changes.push(a.clone()),
            }
        }
        if !failed.is_empty() {
            return Ok(AssignOutcome { assigned: Vec::new(), failed });
        }
        let mut pairs = Vec::with_capacity(changes.len());
        for account in changes {
            let updated = self.reowned(actor, account.clone(), Some(&target)).await?;
            pairs.push((account, updated));
        }
        let updated: Vec<Account> = pairs.iter().map(|(_, u)| u.clone()).collect();
        self.put_all_accounts(actor, &updated).await?;
        self.audit_owner_changes(actor, &pairs).await?;
        Ok(AssignOutcome { assigned: updated.into_iter().map(|a| a.id).collect(), failed })
    }

    pub(crate) async fn visible_account(&self, actor: &Actor, id: &AccountId) -> Result<Account, AppError> {
        actor.visible(self.ports.directory.get_account(&actor.tenant, id).await?)
    }

    async fn assign_target(&self, actor: &Actor, agent: &UserId) -> Result<User, AppError> {
        let target = self
            .ports
            .directory
            .get_user(&actor.tenant, agent)
            .await?
            .ok_or_else(|| AppError::not_found("no such agent"))?;
        actor.ensure_can_assign_to(&target)?;
        Ok(target)
    }

    /// Returns `account` with its new owner: team follows the owner (kept on
    /// reclaim) and the account leaves the old owner's groups.
    async fn reowned(&self, actor: &Actor, mut account: Account, owner: Option<&User>) -> Result<Account, AppError> {
        if let Some(old) = account.owner_id.clone().filter(|old| Some(old) != owner.map(|o| &o.id)) {
            let old_groups: HashSet<GroupId> =
                self.ports.directory.list_groups(&actor.tenant, Some(&old)).await?.into_iter().map(|g| g.id).collect();
            account.groups.retain(|g| !old_groups.contains(g));
        }
        match owner {
            Some(o) => {
                account.owner_id = Some(o.id.clone());
                account.team_id = team_of(o);
            }
            None => account.owner_id = None,
        }
        account.updated_at = Utc::now();
        Ok(account)
    }

    /// Writes one audit entry per account whose owner changed.
    /// Stores accounts whose phones do not change (or were checked): a
    /// record refused for its phone (a race with another write) is `Conflict`.
    pub(crate) async fn put_all_accounts(&self, actor: &Actor, accounts: &[Account]) -> Result<(), AppError> {
        let outcomes = self.ports.directory.put_accounts(&actor.tenant, accounts).await?;
        Ok(AccountPut::all_stored(&outcomes, accounts)?)
    }

    pub(crate) async fn audit_owner_changes(
        &self,
        actor: &Actor,
        pairs: &[(Account, Account)],
    ) -> Result<(), AppError> {
        let now = Utc::now();
        let entries: Vec<AuditEntry> = pairs
            .iter()
            .filter(|(before, after)| before.owner_id != after.owner_id)
            .map(|(before, after)| AuditEntry {
                id: AuditId::generate(),
                at: now,
                actor_id: Some(actor.user_id.clone()),
                action: if after.owner_id.is_some() { AuditAction::AccountAssign } else { AuditAction::AccountReclaim },
                account_id: Some(after.id.clone()),
                target: after.owner_id.as_ref().map(|o| o.to_string()),
                details: serde_json::json!({"from": before.owner_id, "to": after.owner_id}),
            })
            .collect();
        for chunk in entries.chunks(1000) {
            self.ports.directory.append_audit(&actor.tenant, chunk).await?;
        }
        Ok(())
    }

    async fn known_tags(&self, actor: &Actor, ids: &[TagId]) -> Result<BTreeSet<TagId>, AppError> {
        if ids.is_empty() {
            return Ok(BTreeSet::new());
        }
        let known: HashSet<TagId> =
            self.ports.directory.list_tags(&actor.tenant).await?.into_iter().map(|t| t.id).collect();
        ids.iter()
            .map(|id| known.get(id).cloned().ok_or_else(|| AppError::invalid(format!("tag {id} does not exist"))))
            .collect()
    }

    pub(crate) async fn account_view(&self, actor: &Actor, account: &Account) -> Result<AccountView, AppError> {
        let mut views = self.account_views(actor, std::slice::from_ref(account)).await?;
        Ok(views.remove(0))
    }

    async fn account_views(&self, actor: &Actor, accounts: &[Account]) -> Result<Vec<AccountView>, AppError> {
        let tags: HashMap<TagId, String> =
            self.ports.directory.list_tags(&actor.tenant).await?.into_iter().map(|t| (t.id, t.name)).collect();
        let pins: HashSet<AccountId> = self
            .ports
            .directory
            .list_pins(&actor.tenant, &actor.user_id)
            .await?
            .into_iter()
            .filter_map(|p| match p.target {
                PinTarget::Account(id) => Some(id),
                PinTarget::Dialog(..) => None,
            })
            .collect();
        Ok(accounts.iter().map(|a| AccountView::build(a, pins.contains(&a.id), |id| tags.get(id).cloned())).collect())
    }
}

/// Normalises a search text: lowercased, and a phone fragment ("555 000-1")
/// reduced to its digits so it matches the stored E.164 form.
fn search_text(raw: &str) -> String {
    let q = raw.trim();
    let phone_like = q.chars().any(|c| c.is_ascii_digit())
        && q.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'));
    if phone_like {
        q.chars().filter(char::is_ascii_digit).collect()
    } else {
        q.to_lowercase()
    }
}

/// The team of an unowned account a supervisor adds: a leader's own team.
pub(crate) fn default_team(actor: &Actor) -> Option<UserId> {
    (actor.role == crate::domain::Role::Leader).then(|| actor.user_id.clone())
}
