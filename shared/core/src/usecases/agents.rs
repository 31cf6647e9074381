//! Managing users: admins manage everyone in the tenant, leaders the agents of
//! their own team.

use super::{cursor, page_size, Actor, AgentView, AppError, Desk, Page};
use crate::auth::validate_new_password;
use crate::domain::{AuditAction, Job, JobKind, Role, User, UserId, Username};
use crate::ports::{AccountQuery, DialogScope, PortErrorKind, UserQuery};
use chrono::Utc;
use serde::Deserialize;

/// Input of [`Desk::create_agent`].
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Login name, unique in the tenant.
    pub username: String,
    /// Initial password (8 to 256 characters).
    pub password: String,
    /// Name shown to colleagues (defaults to the username).
    pub display_name: Option<String>,
    /// `admin`, `leader` or `agent`.
    pub role: Role,
    /// The team's leader, for agents (leaders' own agents default to them).
    pub leader_id: Option<UserId>,
}

/// Input of [`Desk::update_agent`]; absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    /// New display name.
    pub display_name: Option<String>,
    /// New role (admins only).
    pub role: Option<Role>,
    /// New leader (admins only); `null` leaves it, use `clear_leader` to remove.
    pub leader_id: Option<UserId>,
    /// Removes the leader (admins only).
    #[serde(default)]
    pub clear_leader: bool,
    /// Disables (revoking every token at once) or enables.
    pub disabled: Option<bool>,
}

fn display_name(raw: Option<&str>, fallback: &Username) -> Result<String, AppError> {
    let name = raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or(fallback.as_str());
    if name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("display_name must be at most 128 characters without control characters"));
    }
    Ok(name.to_owned())
}

impl Desk {
    /// Creates a user. Admins create any role; leaders create agents of their
    /// own team only. `Conflict` when the username is taken.
    pub async fn create_agent(&self, actor: &Actor, input: NewAgent) -> Result<AgentView, AppError> {
        actor.ensure_supervisor()?;
        let username = Username::parse(&input.username)?;
        validate_new_password(&input.password)?;
        let leader_id = match (actor.role, input.role) {
            (Role::Admin, Role::Agent) => match input.leader_id {
                Some(id) => Some(self.load_leader(actor, &id).await?.id),
                None => None,
            },
            (Role::Admin, _) if input.leader_id.is_some() => {
                return Err(AppError::invalid("only agents have a leader"));
            }
            (Role::Admin, _) => None,
            (Role::Leader, Role::Agent) => match input.leader_id {
                Some(id) if id != actor.user_id => {
                    return Err(AppError::forbidden("leaders create agents of their own team only"));
                }
                _ => Some(actor.user_id.clone()),
            },
            _ => return Err(AppError::forbidden("leaders may create agents only")),
        };
        let password_hash = self.passwords.hash(&input.password).await?;
        let user = User {
            id: UserId::generate(),
            tenant: actor.tenant.clone(),
            display_name: display_name(input.display_name.as_deref(), &username)?,
            username,
            role: input.role,
            leader_id,
            disabled: false,
            password_hash,
            token_version: 0,
            created_at: Utc::now(),
        };
        self.ports.directory.insert_user(&user).await.map_err(|e| match e.kind {
            crate::ports::PortErrorKind::Conflict => AppError::Conflict(format!("username {} is taken", user.username)),
            _ => e.into(),
        })?;
        self.roster.invalidate(&actor.tenant);
        let details = serde_json::json!({"username": user.username.as_str(), "role": user.role.as_str()});
        self.audit(actor, AuditAction::AgentCreate, None, Some(user.id.to_string()), details).await?;
        Ok(AgentView::from(&user))
    }

    /// Lists the users the actor may see: admins everyone, leaders themselves
    /// and their team, agents themselves.
    pub async fn list_agents(
        &self,
        actor: &Actor,
        role: Option<Role>,
        cursor: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<AgentView>, AppError> {
        let limit = page_size(limit);
        let after = cursor.map(|c| cursor::decode::<UserId>(&actor.tenant, c)).transpose()?;
        let leader_id = match actor.role {
            Role::Admin => None,
            Role::Leader => Some(actor.user_id.clone()),
            Role::Agent => {
                let me = self.load_user(actor, &actor.user_id).await?;
                return Ok(Page { items: vec![AgentView::from(&me)], next_cursor: None });
            }
        };
        let query = UserQuery { leader_id, role, after, limit };
        let users = self.ports.directory.list_users(&actor.tenant, &query).await?;
        let next_cursor = (users.len() == limit).then(|| cursor::encode(&actor.tenant, &users[limit - 1].id));
        let mut items: Vec<AgentView> = users.iter().map(AgentView::from).collect();
        // A leader also sees themselves, on the first page.
        if actor.role == Role::Leader && query.after.is_none() && role.is_none_or(|r| r == Role::Leader) {
            items.insert(0, AgentView::from(&self.load_user(actor, &actor.user_id).await?));
        }
        Ok(Page { items, next_cursor })
    }

    /// Returns one user the actor may see.
    pub async fn get_agent(&self, actor: &Actor, id: &UserId) -> Result<AgentView, AppError> {
        let user = self.load_user(actor, id).await?;
        if !actor.can_view_user(&user) {
            return Err(AppError::not_found("no such agent"));
        }
        Ok(AgentView::from(&user))
    }

    /// Updates a user the actor manages. Role and team changes are for admins;
    /// nobody disables or demotes themselves. Disabling revokes every token at
    /// once; a team change moves the agent's accounts to the new team.
    pub async fn update_agent(&self, actor: &Actor, id: &UserId, input: UpdateAgent) -> Result<AgentView, AppError> {
        let mut user = self.managed_user(actor, id).await?;
        let before = user.clone();
        if let Some(name) = input.display_name.as_deref() {
            user.display_name = display_name(Some(name), &user.username)?;
        }
        if input.role.is_some() || input.leader_id.is_some() || input.clear_leader {
            actor.ensure_admin()?;
        }
        if let Some(role) = input.role {
            if user.id == actor.user_id && role != user.role {
                return Err(AppError::forbidden("you cannot change your own role"));
            }
            if user.role == Role::Leader && role != Role::Leader && self.leads_anyone(actor, &user.id).await? {
                return Err(AppError::Conflict("move the leader's agents to another team first".into()));
            }
            user.role = role;
            if role != Role::Agent {
                user.leader_id = None;
            }
        }
        if input.clear_leader {
            user.leader_id = None;
        }
        if let Some(leader) = input.leader_id {
            if user.role != Role::Agent {
                return Err(AppError::invalid("only agents have a leader"));
            }
            user.leader_id = Some(self.load_leader(actor, &leader).await?.id);
        }
        if let Some(disabled) = input.disabled {
            if disabled && user.id == actor.user_id {
                return Err(AppError::forbidden("you cannot disable yourself"));
            }
            if disabled && !user.disabled {
                user.token_version += 1;
            }
            user.disabled = disabled;
        }
        if user == before {
            return Ok(AgentView::from(&user));
        }
        self.ports.directory.update_user(&user).await?;
        self.roster.invalidate(&actor.tenant);
        if user.token_version != before.token_version {
            self.revoke_sockets(&user, user.token_version).await?;
        }
        if user.role != before.role || user.leader_id != before.leader_id {
            self.move_owned_accounts_to_team(actor, &user).await?;
        }
        let details = serde_json::json!({
            "role": user.role.as_str(),
            "leader_id": user.leader_id.as_ref().map(|l| l.as_str()),
            "disabled": user.disabled,
        });
        self.audit(actor, AuditAction::AgentUpdate, None, Some(user.id.to_string()), details).await?;
        Ok(AgentView::from(&user))
    }

    /// Sets a new password for a user the actor manages and revokes their tokens.
    pub async fn reset_password(&self, actor: &Actor, id: &UserId, password: &str) -> Result<(), AppError> {
        let mut user = self.managed_user(actor, id).await?;
        if user.id == actor.user_id {
            return Err(AppError::forbidden("change your own password with your current one (POST /api/me/password)"));
        }
        validate_new_password(password)?;
        user.password_hash = self.passwords.hash(password).await?;
        user.token_version += 1;
        self.ports.directory.update_user(&user).await?;
        self.revoke_sockets(&user, user.token_version).await?;
        self.audit(
            actor,
            AuditAction::AgentPassword,
            None,
            Some(user.id.to_string()),
            serde_json::json!({"reset": true}),
        )
        .await
    }

    /// Starts deleting a user the actor manages (a job: their pins and
    /// groups go too). `Conflict` while they own accounts or lead agents:
    /// reassign those first (disabling is the usual way out).
    pub async fn delete_agent(&self, actor: &Actor, id: &UserId) -> Result<Job, AppError> {
        let user = self.deletable_agent(actor, id).await?;
        self.start_job(actor, JobKind::DeleteAgent { agent: user.id }).await
    }

    /// The checks of [`Desk::delete_agent`], made again when its job runs.
    async fn deletable_agent(&self, actor: &Actor, id: &UserId) -> Result<User, AppError> {
        let user = self.managed_user(actor, id).await?;
        if user.id == actor.user_id {
            return Err(AppError::forbidden("you cannot delete yourself"));
        }
        if !self.ports.directory.list_accounts(&actor.tenant, &owned_accounts(&user.id)).await?.is_empty() {
            return Err(AppError::Conflict("the agent still owns accounts; reassign them first".into()));
        }
        if self.leads_anyone(actor, &user.id).await? {
            return Err(AppError::Conflict("the leader still has agents; move them first".into()));
        }
        Ok(user)
    }

    /// The job of [`Desk::delete_agent`]: an agent already gone is deleted.
    pub(crate) async fn delete_agent_now(&self, actor: &Actor, id: &UserId) -> Result<(), AppError> {
        if self.ports.directory.get_user(&actor.tenant, id).await?.is_none() {
            return Ok(());
        }
        let user = self.deletable_agent(actor, id).await?;
        match self.ports.directory.delete_user(&actor.tenant, &user.id).await {
            Err(e) if e.kind == PortErrorKind::NotFound => {}
            other => other?,
        }
        self.roster.invalidate(&actor.tenant);
        self.revoke_sockets(&user, u32::MAX).await?;
        let details = serde_json::json!({"username": user.username.as_str()});
        self.audit(actor, AuditAction::AgentDelete, None, Some(user.id.to_string()), details).await
    }

    async fn managed_user(&self, actor: &Actor, id: &UserId) -> Result<User, AppError> {
        let user = self.load_user(actor, id).await?;
        if user.id == actor.user_id || actor.can_manage(&user) {
            return Ok(user);
        }
        if actor.can_view_user(&user) {
            return Err(AppError::forbidden("you do not manage this agent"));
        }
        Err(AppError::not_found("no such agent"))
    }

    async fn load_leader(&self, actor: &Actor, id: &UserId) -> Result<User, AppError> {
        let leader = self
            .ports
            .directory
            .get_user(&actor.tenant, id)
            .await?
            .ok_or_else(|| AppError::invalid("leader_id names no user of this tenant"))?;
        if leader.role != Role::Leader {
            return Err(AppError::invalid("leader_id must name a leader"));
        }
        Ok(leader)
    }

    async fn leads_anyone(&self, actor: &Actor, leader: &UserId) -> Result<bool, AppError> {
        let query = UserQuery { leader_id: Some(leader.clone()), role: None, after: None, limit: 1 };
        Ok(!self.ports.directory.list_users(&actor.tenant, &query).await?.is_empty())
    }

    /// Keeps `team_id` of every account `owner` owns equal to the owner's team.
    async fn move_owned_accounts_to_team(&self, actor: &Actor, owner: &User) -> Result<(), AppError> {
        let team = super::actor::team_of(owner);
        let mut query = AccountQuery::scoped(DialogScope::Owner(owner.id.clone()), 1000);
        query.owner = Some(owner.id.clone());
        loop {
            let page = self.ports.directory.list_accounts(&actor.tenant, &query).await?;
            let Some(last) = page.last() else { break };
            query.after = Some(last.id.clone());
            let full = page.len() == query.limit;
            let changed: Vec<_> = page
                .into_iter()
                .filter(|a| a.team_id != team)
                .map(|mut a| {
                    a.team_id = team.clone();
                    a.updated_at = Utc::now();
                    a
                })
                .collect();
            self.put_all_accounts(actor, &changed).await?;
            if !full {
                break;
            }
        }
        Ok(())
    }
}

/// An agent's accounts, as the check before deleting them reads it (one is enough).
fn owned_accounts(owner: &UserId) -> AccountQuery {
    let mut owned = AccountQuery::scoped(DialogScope::Owner(owner.clone()), 1);
    owned.owner = Some(owner.clone());
    owned
}
