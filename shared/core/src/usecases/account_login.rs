//! Logging accounts in and out of Telegram from the desk. Each step goes to
//! the fleet node that runs (or will run) the account as a command, and the
//! caller waits for the node's answer (up to the desk's fleet timeout). Status
//! changes are also pushed as `account.status`. Every step is audited with
//! its outcome; codes and passwords never are.

use super::commands::{Call, FleetCommand, LoginInput};
use super::{Actor, AppError, Desk};
use crate::domain::{AccountId, AccountStatus, AuditAction};
use crate::ports::{PortError, PortErrorKind, SessionSealer};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Longest login code accepted.
const MAX_CODE_CHARS: usize = 32;
/// Longest 2FA password accepted.
const MAX_PASSWORD_CHARS: usize = 256;

/// Where an account's login stands after a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LoginState {
    /// `code_sent`, `password_required`, `online` or `logged_out`.
    pub status: AccountStatus,
}

fn validate(input: &LoginInput) -> Result<LoginInput, AppError> {
    match input {
        LoginInput::Start => Ok(LoginInput::Start),
        LoginInput::Code { code } => {
            let code = code.trim();
            if code.is_empty() || code.chars().count() > MAX_CODE_CHARS {
                return Err(AppError::invalid(format!("code must be 1 to {MAX_CODE_CHARS} characters")));
            }
            Ok(LoginInput::Code { code: code.to_owned() })
        }
        LoginInput::Password { password } => {
            if password.is_empty() || password.chars().count() > MAX_PASSWORD_CHARS {
                return Err(AppError::invalid(format!("password must be 1 to {MAX_PASSWORD_CHARS} characters")));
            }
            Ok(LoginInput::Password { password: password.clone() })
        }
        LoginInput::SealedPassword { .. } => Err(AppError::invalid("send the password itself")),
    }
}

fn step_name(input: &LoginInput) -> &'static str {
    match input {
        LoginInput::Start => "start",
        LoginInput::Code { .. } => "code",
        LoginInput::Password { .. } | LoginInput::SealedPassword { .. } => "password",
    }
}

impl Desk {
    /// Takes one login step for an account the actor may work and returns
    /// where the login stands: `start` asks Telegram for a code, `code` and
    /// `password` answer it. Fails with `phone_code_invalid`,
    /// `password_invalid`, `flood_wait` (with seconds) or `fleet_timeout`.
    pub async fn account_login(
        &self,
        actor: &Actor,
        id: &AccountId,
        input: LoginInput,
    ) -> Result<LoginState, AppError> {
        let account = self.visible_account(actor, id).await?;
        let input = validate(&input)?;
        if account.status == AccountStatus::Banned {
            return Err(AppError::Conflict(format!("account {} is banned by Telegram", account.phone)));
        }
        let step = step_name(&input);
        // The password crosses the commands queue sealed for the account, never in clear.
        let input = match (input, &self.ports.sealer) {
            (LoginInput::Password { password }, Some(sealer)) => {
                let sealed = seal_password(sealer.as_ref(), id, &password).await.map_err(|e| {
                    AppError::Unavailable(format!("cannot seal the password for the fleet: {}", e.message))
                })?;
                LoginInput::SealedPassword { sealed: base64::engine::general_purpose::STANDARD.encode(sealed) }
            }
            (input, _) => input,
        };
        let command = FleetCommand::Login { call: Call::new(&actor.tenant, id), input };
        let result = self.ask_fleet(command).await.and_then(status_of);
        self.audit_session_step(actor, id, AuditAction::AccountLogin, Some(step), &result).await?;
        result
    }

    /// Logs an account out of Telegram (its session stops working everywhere)
    /// and forgets the session; logging in again starts from a code.
    pub async fn account_logout(&self, actor: &Actor, id: &AccountId) -> Result<LoginState, AppError> {
        self.visible_account(actor, id).await?;
        let command = FleetCommand::Logout { call: Call::new(&actor.tenant, id) };
        let result = self.ask_fleet(command).await.and_then(status_of);
        self.audit_session_step(actor, id, AuditAction::AccountLogout, None, &result).await?;
        result
    }

    async fn audit_session_step(
        &self,
        actor: &Actor,
        id: &AccountId,
        action: AuditAction,
        step: Option<&str>,
        result: &Result<LoginState, AppError>,
    ) -> Result<(), AppError> {
        let outcome = match result {
            Ok(state) => state.status.as_str(),
            Err(e) => e.code(),
        };
        self.audit(actor, action, Some(id.clone()), None, serde_json::json!({"step": step, "outcome": outcome})).await
    }
}

fn status_of(data: serde_json::Value) -> Result<LoginState, AppError> {
    serde_json::from_value(data).map_err(|e| AppError::Unavailable(format!("the fleet's reply is unreadable: {e}")))
}

/// Marks a sealed 2FA password apart from a sealed session: both are sealed
/// for the same account with the same key, so the purpose travels inside the
/// sealed bytes (the sealer port's associated data names the account only),
/// and neither can be opened as the other.
const PASSWORD_PURPOSE: &[u8] = b"tgdesk-2fa-password\x00";

/// Seals a 2FA password for `account`, marked with its purpose.
pub async fn seal_password(
    sealer: &dyn SessionSealer,
    account: &AccountId,
    password: &str,
) -> Result<Vec<u8>, PortError> {
    let mut plain = Vec::with_capacity(PASSWORD_PURPOSE.len() + password.len());
    plain.extend_from_slice(PASSWORD_PURPOSE);
    plain.extend_from_slice(password.as_bytes());
    sealer.seal(account, &plain).await
}

/// Opens what [`seal_password`] sealed; refuses anything sealed for another
/// purpose (a session), account or key.
pub async fn open_password(sealer: &dyn SessionSealer, account: &AccountId, sealed: &[u8]) -> Result<String, String> {
    let plain = match sealer.open(account, sealed).await {
        Ok(plain) => plain,
        Err(e) if e.kind == PortErrorKind::Invalid => {
            return Err(format!("the password was sealed with another key: {e}"))
        }
        Err(e) => return Err(format!("cannot open the sealed password now: {e}")),
    };
    let password = plain.strip_prefix(PASSWORD_PURPOSE).ok_or("the sealed bytes are not a 2FA password")?;
    String::from_utf8(password.to_vec()).map_err(|_| "the sealed password is not text".to_owned())
}
