//! Commands to the session fleet, carried by the commands queue. The fleet
//! node running the account carries them out and reports back: through the
//! updates queue (ingest), [`super::SendOutcome`] for sends, and for the
//! commands a caller waits on (login steps, edits, deletes, media), a
//! [`CommandReply`] under the command's [`RequestId`] in the replies port.

use super::{AppError, Desk};
use crate::domain::{AccountId, FileRef, RequestId, SendId, TenantId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Name of the queue every fleet node consumes: commands for accounts no
/// node holds (a login's first step, an account starting), and those a
/// node passes on.
pub const COMMANDS_QUEUE: &str = "commands";

/// Returns the commands queue of fleet node `node`: commands for the
/// accounts whose lease it holds reach it there, so a login's steps and a
/// batch's sends land on the one process that can carry them out.
pub fn node_commands_queue(node: &str) -> String {
    format!("{COMMANDS_QUEUE}-{node}")
}

/// Lease reads in flight at once while routing a batch of commands.
const LEASE_LOOKUPS_IN_FLIGHT: usize = 32;

/// How long a caller waits for the fleet's reply by default.
pub const FLEET_TIMEOUT: Duration = Duration::from_secs(30);

/// A step of an account's Telegram login.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum LoginInput {
    /// Ask Telegram for a login code.
    Start,
    /// The code the account's owner received.
    Code {
        /// The code.
        code: String,
    },
    /// The account's 2FA password.
    Password {
        /// The password.
        password: String,
    },
    /// The 2FA password sealed for the account (base64), as it crosses the
    /// commands queue when the desk has a sealer.
    SealedPassword {
        /// The sealed password.
        sealed: String,
    },
}

impl std::fmt::Debug for LoginInput {
    // Codes and passwords are credentials: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LoginInput::Start => "Start",
            LoginInput::Code { .. } => "Code(<redacted>)",
            LoginInput::Password { .. } => "Password(<redacted>)",
            LoginInput::SealedPassword { .. } => "SealedPassword(<redacted>)",
        })
    }
}

/// The part every command a caller waits on shares: its account, where the
/// reply goes, and when the caller stops waiting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// The account's tenant.
    pub tenant: TenantId,
    /// The account.
    pub account_id: AccountId,
    /// Where the reply goes.
    pub request_id: RequestId,
    /// When the caller stops waiting; the fleet drops the command after.
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl Call {
    /// A call for `account` answered under a fresh request id, with no expiry yet.
    pub fn new(tenant: &TenantId, account: &AccountId) -> Self {
        Self {
            tenant: tenant.clone(),
            account_id: account.clone(),
            request_id: RequestId::generate(),
            expires_at: None,
        }
    }
}

/// Something the fleet must do with an account's session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FleetCommand {
    /// Send a message; report the outcome for `send_id`.
    Send {
        /// The account's tenant.
        tenant: TenantId,
        /// The sending account.
        account_id: AccountId,
        /// The send to report on.
        send_id: SendId,
        /// The dialog.
        peer: i64,
        /// The text.
        text: String,
        /// The message replied to.
        reply_to: Option<i64>,
        /// Files to attach; their bytes are at `<tenant>/files/<id>` in the blob store.
        #[serde(default)]
        files: Vec<FileRef>,
    },
    /// Take a login step; reply with the account's new status.
    Login {
        /// The account, and where the reply goes.
        #[serde(flatten)]
        call: Call,
        /// The step.
        input: LoginInput,
    },
    /// Log the account out of Telegram and forget its session; reply when done.
    Logout {
        /// The account, and where the reply goes.
        #[serde(flatten)]
        call: Call,
    },
    /// Replace the text of a message the account sent; reply when done.
    Edit {
        /// The account, and where the reply goes.
        #[serde(flatten)]
        call: Call,
        /// The dialog.
        peer: i64,
        /// The message.
        id: i64,
        /// The new text.
        text: String,
    },
    /// Delete messages the account sent, for everyone; reply when done.
    Delete {
        /// The account, and where the reply goes.
        #[serde(flatten)]
        call: Call,
        /// The dialog.
        peer: i64,
        /// The messages.
        ids: Vec<i64>,
    },
    /// Mark a dialog read on Telegram (no reply).
    MarkRead {
        /// The account's tenant.
        tenant: TenantId,
        /// The account.
        account_id: AccountId,
        /// The dialog.
        peer: i64,
    },
    /// Download a message's file into the blob store at [`media_key`]; reply when stored.
    FetchMedia {
        /// The account, and where the reply goes.
        #[serde(flatten)]
        call: Call,
        /// The dialog.
        peer: i64,
        /// The message.
        message_id: i64,
    },
    /// Download a user's profile photo into the blob store at [`photo_key`]; reply when stored.
    FetchPhoto {
        /// The account, and where the reply goes.
        #[serde(flatten)]
        call: Call,
        /// The user (a customer, a contact, or the account's own user id).
        peer: i64,
        /// The photo.
        photo_id: i64,
    },
    /// Sync the account's profile, contacts, dialogs and recent history (no reply).
    Sync {
        /// The account's tenant.
        tenant: TenantId,
        /// The account.
        account_id: AccountId,
    },
    /// Fetch up to `limit` older messages of a dialog, before `before` (no reply).
    SyncHistory {
        /// The account's tenant.
        tenant: TenantId,
        /// The account.
        account_id: AccountId,
        /// The dialog.
        peer: i64,
        /// Start below this message id (`None`: from the newest).
        before: Option<i64>,
        /// How many messages at most.
        limit: u32,
    },
}

impl FleetCommand {
    /// Returns the JSON body the queue carries.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|e| unreachable!("commands always serialise: {e}"))
    }

    /// Returns the account the command is for.
    pub fn account(&self) -> (&TenantId, &AccountId) {
        if let Some(call) = self.call() {
            return (&call.tenant, &call.account_id);
        }
        match self {
            FleetCommand::Send { tenant, account_id, .. }
            | FleetCommand::MarkRead { tenant, account_id, .. }
            | FleetCommand::SyncHistory { tenant, account_id, .. }
            | FleetCommand::Sync { tenant, account_id } => (tenant, account_id),
            _ => unreachable!("every other command is a call"),
        }
    }

    /// Returns the call of a command a caller waits on.
    pub fn call(&self) -> Option<&Call> {
        match self {
            FleetCommand::Login { call, .. }
            | FleetCommand::Logout { call }
            | FleetCommand::Edit { call, .. }
            | FleetCommand::Delete { call, .. }
            | FleetCommand::FetchMedia { call, .. }
            | FleetCommand::FetchPhoto { call, .. } => Some(call),
            _ => None,
        }
    }

    /// Returns the command with the time its caller stops waiting.
    pub fn expiring_at(mut self, at: DateTime<Utc>) -> Self {
        if let FleetCommand::Login { call, .. }
        | FleetCommand::Logout { call }
        | FleetCommand::Edit { call, .. }
        | FleetCommand::Delete { call, .. }
        | FleetCommand::FetchMedia { call, .. }
        | FleetCommand::FetchPhoto { call, .. } = &mut self
        {
            call.expires_at = Some(at);
        }
        self
    }

    /// True when nobody waits for this command any more: carrying it out
    /// late (a login step, an edit the agent saw fail) would surprise them.
    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        self.call().and_then(|c| c.expires_at).is_some_and(|at| at < now)
    }
}

/// Where the fleet keeps a message's file in the blob store.
pub fn media_key(tenant: &TenantId, account: &AccountId, peer: i64, message_id: i64) -> String {
    format!("{tenant}/media/{account}/{peer}/{message_id}")
}

/// Where a user's profile photo is kept once fetched (a new photo has a new id).
pub fn photo_key(tenant: &TenantId, account: &AccountId, peer: i64, photo_id: i64) -> String {
    format!("{tenant}/photos/{account}/{peer}/{photo_id}")
}

/// The fleet's answer to a command a caller waits on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CommandReply {
    /// Done; `data` depends on the command (a login's new status, say).
    Done {
        /// The result.
        #[serde(default)]
        data: serde_json::Value,
    },
    /// Not done, and why.
    Failed {
        /// Why.
        failure: CommandFailure,
    },
}

impl CommandReply {
    /// Returns the JSON body the replies port keeps.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|e| unreachable!("replies always serialise: {e}"))
    }
}

/// Why the fleet could not carry out a command.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum CommandFailure {
    /// The login code is wrong or expired.
    PhoneCodeInvalid,
    /// The 2FA password is wrong.
    PasswordInvalid,
    /// Telegram asks to wait this long.
    FloodWait {
        /// Seconds to wait.
        seconds: u64,
    },
    /// The command does not fit the account's state (not logged in, no login
    /// in progress, banned).
    Conflict {
        /// Why, for the agent.
        message: String,
    },
    /// Telegram refused the request (an unknown message, a message not ours).
    Refused {
        /// Why, for the agent.
        message: String,
    },
    /// Telegram or the fleet is unreachable; retry later.
    Unavailable {
        /// Why, for the agent.
        message: String,
    },
}

impl From<CommandFailure> for AppError {
    fn from(failure: CommandFailure) -> Self {
        match failure {
            CommandFailure::PhoneCodeInvalid => {
                AppError::Refused { code: "phone_code_invalid", message: "the login code is invalid or expired".into() }
            }
            CommandFailure::PasswordInvalid => {
                AppError::Refused { code: "password_invalid", message: "the 2FA password is invalid".into() }
            }
            CommandFailure::FloodWait { seconds } => AppError::FloodWait { retry_after_s: seconds },
            CommandFailure::Conflict { message } => AppError::Conflict(message),
            CommandFailure::Refused { message } => AppError::Refused { code: "telegram_refused", message },
            CommandFailure::Unavailable { message } => AppError::Unavailable(message),
        }
    }
}

impl Desk {
    /// Puts commands where they are carried out: on the queue of the node
    /// holding each one's account, or on the shared queue when none does
    /// (or this process knows no leases). A lookup that fails sends to the
    /// shared queue: a node that takes it from there passes it on.
    pub(crate) async fn enqueue_commands(&self, commands: &[FleetCommand]) -> Result<(), AppError> {
        use futures::StreamExt;
        // A batch spans up to thousands of accounts: their leases are read
        // at once, not one round trip after another.
        let accounts: Vec<(&TenantId, &AccountId)> =
            commands.iter().map(FleetCommand::account).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        let lookups: Vec<_> = accounts.iter().map(|&(tenant, account)| self.command_queue(tenant, account)).collect();
        let found: Vec<String> = futures::stream::iter(lookups).buffered(LEASE_LOOKUPS_IN_FLIGHT).collect().await;
        let queues: std::collections::BTreeMap<(&TenantId, &AccountId), String> =
            accounts.into_iter().zip(found).collect();
        let mut bodies: std::collections::BTreeMap<&str, Vec<Vec<u8>>> = Default::default();
        for command in commands {
            let queue = queues.get(&command.account()).map_or(COMMANDS_QUEUE, String::as_str);
            bodies.entry(queue).or_default().push(command.to_body());
        }
        for (queue, bodies) in bodies {
            self.ports.queue.send_batch(queue, bodies).await?;
        }
        Ok(())
    }

    /// The queue of the node holding `account`, or the shared one.
    async fn command_queue(&self, tenant: &TenantId, account: &AccountId) -> String {
        let Some(leases) = &self.ports.leases else { return COMMANDS_QUEUE.to_owned() };
        match leases.holder(tenant, account).await {
            Ok(Some(lease)) => node_commands_queue(&lease.node),
            Ok(None) => COMMANDS_QUEUE.to_owned(),
            Err(e) => {
                tracing::warn!(%account, error = %e, "cannot read the account's lease; the shared queue takes the command");
                COMMANDS_QUEUE.to_owned()
            }
        }
    }

    /// Enqueues a command a caller waits on and waits (up to the desk's fleet
    /// timeout) for the fleet's reply under its request id; returns the reply's data.
    pub(crate) async fn ask_fleet(&self, command: FleetCommand) -> Result<serde_json::Value, AppError> {
        let Some(Call { tenant, request_id, .. }) = command.call().cloned() else {
            unreachable!("only calls are asked of the fleet: {command:?}")
        };
        let expires = Utc::now() + chrono::Duration::from_std(self.fleet_timeout).unwrap_or(chrono::Duration::MAX);
        let command = command.expiring_at(expires);
        self.enqueue_commands(std::slice::from_ref(&command)).await?;
        let deadline = tokio::time::Instant::now() + self.fleet_timeout;
        let mut delay = Duration::from_millis(10);
        loop {
            if let Some(body) = self.ports.replies.take_reply(&tenant, &request_id).await? {
                let reply: CommandReply = serde_json::from_slice(&body)
                    .map_err(|e| AppError::Unavailable(format!("the fleet's reply is unreadable: {e}")))?;
                return match reply {
                    CommandReply::Done { data } => Ok(data),
                    CommandReply::Failed { failure } => Err(failure.into()),
                };
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(AppError::Timeout(format!(
                    "the session fleet did not answer within {} s; the account may be starting, retry shortly",
                    self.fleet_timeout.as_secs()
                )));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_input_debug_hides_codes_and_passwords() {
        let shown = format!("{:?}", LoginInput::Password { password: "hunter2".into() });
        assert!(!shown.contains("hunter2"), "{shown}");
        let shown = format!("{:?}", LoginInput::Code { code: "12345".into() });
        assert!(!shown.contains("12345"), "{shown}");
    }

    #[test]
    fn commands_and_replies_round_trip_through_json() {
        let call = Call::new(&TenantId::parse("demo").unwrap(), &AccountId::generate());
        let command = FleetCommand::Login { call, input: LoginInput::Code { code: "12345".into() } };
        let back: FleetCommand = serde_json::from_slice(&command.to_body()).unwrap();
        assert_eq!(back, command);
        let reply = CommandReply::Failed { failure: CommandFailure::FloodWait { seconds: 42 } };
        let back: CommandReply = serde_json::from_slice(&reply.to_body()).unwrap();
        assert_eq!(back, reply);
        assert!(matches!(
            AppError::from(CommandFailure::FloodWait { seconds: 42 }),
            AppError::FloodWait { retry_after_s: 42 }
        ));
    }
}

#[cfg(test)]
mod expiry_tests {
    use super::*;

    #[test]
    fn a_waited_on_command_expires_when_its_caller_stops_waiting_and_a_send_never_does() {
        let now = Utc::now();
        let logout =
            FleetCommand::Logout { call: Call::new(&TenantId::parse("demo").unwrap(), &AccountId::generate()) };
        assert!(!logout.expired(now), "no deadline: never expires");
        let logout = logout.expiring_at(now);
        assert!(!logout.expired(now - chrono::Duration::seconds(1)));
        assert!(logout.expired(now + chrono::Duration::seconds(1)));
        let sync = FleetCommand::Sync { tenant: TenantId::parse("demo").unwrap(), account_id: AccountId::generate() };
        assert!(!sync.expiring_at(now).expired(now + chrono::Duration::days(1)));
    }
}
