//! Groups (personal), tags (tenant-wide) and pins (personal).

use super::{Actor, AppError, Desk};
use crate::domain::{parse_label, AccountId, Group, GroupId, Job, JobKind, Role, Tag, TagId, UserId};
use crate::ports::{Pin, PinTarget, PortErrorKind};
use chrono::Utc;

fn valid_color(color: Option<&str>) -> Result<Option<String>, AppError> {
    match color {
        None => Ok(None),
        Some(c) if c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(c.to_lowercase()))
        }
        Some(c) => Err(AppError::invalid(format!("color {c:?} must look like #1a2b3c"))),
    }
}

impl Desk {
    /// Creates a group owned by the actor; `Conflict` when they have one of that name.
    pub async fn create_group(&self, actor: &Actor, name: &str) -> Result<Group, AppError> {
        let group = Group {
            id: GroupId::generate(),
            owner_id: actor.user_id.clone(),
            name: parse_label(name, "group")?,
            created_at: Utc::now(),
        };
        self.ports.directory.put_group(&actor.tenant, &group).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => AppError::Conflict(format!("you already have a group named {}", group.name)),
            _ => e.into(),
        })?;
        Ok(group)
    }

    /// Lists the actor's groups; admins may name another owner.
    pub async fn list_groups(&self, actor: &Actor, owner: Option<&UserId>) -> Result<Vec<Group>, AppError> {
        let owner = match owner {
            Some(o) if o != &actor.user_id => {
                let user = self.load_user(actor, o).await?;
                if actor.role != Role::Admin && !actor.can_manage(&user) {
                    return Err(AppError::forbidden("you may list only your own groups or your team's"));
                }
                o.clone()
            }
            _ => actor.user_id.clone(),
        };
        Ok(self.ports.directory.list_groups(&actor.tenant, Some(&owner)).await?)
    }

    /// Renames one of the actor's groups.
    pub async fn rename_group(&self, actor: &Actor, id: &GroupId, name: &str) -> Result<Group, AppError> {
        let mut group = self.own_group(actor, id).await?;
        group.name = parse_label(name, "group")?;
        self.ports.directory.put_group(&actor.tenant, &group).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => AppError::Conflict(format!("you already have a group named {}", group.name)),
            _ => e.into(),
        })?;
        Ok(group)
    }

    /// Starts deleting one of the actor's groups (a job: every account
    /// leaves it); its accounts stay.
    pub async fn delete_group(&self, actor: &Actor, id: &GroupId) -> Result<Job, AppError> {
        self.own_group(actor, id).await?;
        self.start_job(actor, JobKind::DeleteGroup { group: id.clone() }).await
    }

    /// The job of [`Desk::delete_group`]: a group already gone is deleted.
    pub(crate) async fn delete_group_now(&self, actor: &Actor, id: &GroupId) -> Result<(), AppError> {
        let Some(group) = self.ports.directory.get_group(&actor.tenant, id).await? else { return Ok(()) };
        if group.owner_id != actor.user_id && actor.role != Role::Admin {
            return Err(AppError::forbidden("the group is no longer yours to delete"));
        }
        match self.ports.directory.delete_group(&actor.tenant, id).await {
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(()),
            other => Ok(other?),
        }
    }

    /// Adds (or with `add == false` removes) accounts the actor sees to one of their groups.
    pub async fn set_group_members(
        &self,
        actor: &Actor,
        id: &GroupId,
        accounts: &[AccountId],
        add: bool,
    ) -> Result<(), AppError> {
        self.own_group(actor, id).await?;
        let mut changed = Vec::with_capacity(accounts.len());
        for account_id in accounts {
            let mut account = self.visible_account(actor, account_id).await?;
            let did = if add { account.groups.insert(id.clone()) } else { account.groups.remove(id) };
            if did {
                account.updated_at = Utc::now();
                changed.push(account);
            }
        }
        self.put_all_accounts(actor, &changed).await
    }

    async fn own_group(&self, actor: &Actor, id: &GroupId) -> Result<Group, AppError> {
        self.ports
            .directory
            .get_group(&actor.tenant, id)
            .await?
            .filter(|g| g.owner_id == actor.user_id || actor.role == Role::Admin)
            .ok_or_else(|| AppError::not_found("no such group"))
    }

    /// Creates a tenant-wide tag (admins and leaders).
    pub async fn create_tag(&self, actor: &Actor, name: &str, color: Option<&str>) -> Result<Tag, AppError> {
        actor.ensure_supervisor()?;
        let name = parse_label(name, "tag")?;
        let taken =
            self.ports.directory.list_tags(&actor.tenant).await?.iter().any(|t| t.name.eq_ignore_ascii_case(&name));
        if taken {
            return Err(AppError::Conflict(format!("tag {name} exists")));
        }
        let tag = Tag { id: TagId::generate(), name, color: valid_color(color)?, created_at: Utc::now() };
        self.ports.directory.put_tag(&actor.tenant, &tag).await.map_err(|e| match e.kind {
            PortErrorKind::Conflict => AppError::Conflict(format!("tag {} exists", tag.name)),
            _ => e.into(),
        })?;
        Ok(tag)
    }

    /// Lists the tenant's tags.
    pub async fn list_tags(&self, actor: &Actor) -> Result<Vec<Tag>, AppError> {
        Ok(self.ports.directory.list_tags(&actor.tenant).await?)
    }

    /// Starts deleting a tag everywhere (admins only): a job, as the tag
    /// comes off every account and message. `NotFound` for an unknown tag.
    pub async fn delete_tag(&self, actor: &Actor, id: &TagId) -> Result<Job, AppError> {
        actor.ensure_admin()?;
        if !self.ports.directory.list_tags(&actor.tenant).await?.iter().any(|t| &t.id == id) {
            return Err(AppError::not_found("no such tag"));
        }
        self.start_job(actor, JobKind::DeleteTag { tag: id.clone() }).await
    }

    /// The job of [`Desk::delete_tag`]: a tag already gone is deleted.
    pub(crate) async fn delete_tag_now(&self, actor: &Actor, id: &TagId) -> Result<(), AppError> {
        actor.ensure_admin()?;
        match self.ports.directory.delete_tag(&actor.tenant, id).await {
            Err(e) if e.kind == PortErrorKind::NotFound => Ok(()),
            other => Ok(other?),
        }
    }

    /// Pins or unpins an account for the actor.
    pub async fn pin_account(&self, actor: &Actor, id: &AccountId, pinned: bool) -> Result<(), AppError> {
        self.visible_account(actor, id).await?;
        self.set_pinned(actor, PinTarget::Account(id.clone()), pinned).await
    }

    /// Pins or unpins a dialog for the actor.
    pub async fn pin_dialog(&self, actor: &Actor, id: &AccountId, peer: i64, pinned: bool) -> Result<(), AppError> {
        self.visible_account(actor, id).await?;
        if pinned && self.ports.reader.get_dialogs(&actor.tenant, &[(id.clone(), peer)]).await?.is_empty() {
            return Err(AppError::not_found("no such dialog"));
        }
        self.set_pinned(actor, PinTarget::Dialog(id.clone(), peer), pinned).await
    }

    async fn set_pinned(&self, actor: &Actor, target: PinTarget, pinned: bool) -> Result<(), AppError> {
        if !pinned {
            return Ok(self.ports.directory.remove_pin(&actor.tenant, &actor.user_id, &target).await?);
        }
        let pins = self.ports.directory.list_pins(&actor.tenant, &actor.user_id).await?;
        if pins.len() >= super::inbox::MAX_PINS && !pins.iter().any(|p| p.target == target) {
            return Err(AppError::Conflict(format!("at most {} pins; unpin something first", super::inbox::MAX_PINS)));
        }
        let pin = Pin { user_id: actor.user_id.clone(), target, pinned_at: Utc::now() };
        Ok(self.ports.directory.set_pin(&actor.tenant, &pin).await?)
    }
}
