//! [`GrammersSession`]: one account's live grammers client behind the
//! `TelegramSession` port.

use async_trait::async_trait;
use grammers_client::client::{LoginToken, PasswordToken};
use grammers_client::media::Downloadable;
use grammers_client::message::InputMessage;
use grammers_client::peer::Peer;
use grammers_client::sender::{SenderPoolFatHandle, UpdatesConfiguration, UpdatesReceiver};
use grammers_client::session::types::{PeerId, PeerInfo, PeerRef, UpdateState, UpdatesState};
use grammers_client::session::updates::UpdatesLike;
use grammers_client::session::Session;
use grammers_client::{tl, Client, SignInError};
use std::sync::{Arc, Mutex};
use tgdesk_core::domain::{AccountId, Message, Phone};
use tgdesk_core::ports::{
    DialogList, LoginStep, OutgoingMessage, TelegramContact, TelegramDownload, TelegramError, TelegramProfile,
    TelegramSession, TelegramUpdate,
};
use tokio::sync::{mpsc, Mutex as AsyncMutex};
use tokio::task::JoinHandle;
use tracing::{debug, info};

use crate::connector::GrammersConfig;
use crate::convert::{self, peer_name, Names};
use crate::retry::{map_error, map_sign_in_error, Pacer};
use crate::send;
use crate::updates::{self, Delivery};
use crate::vault::Vault;

/// Where a login in progress stands, with grammers' tokens for the next step.
enum Login {
    Idle,
    CodeSent(LoginToken),
    Password(PasswordToken),
}

/// A connected account.
pub struct GrammersSession {
    account: AccountId,
    config: Arc<GrammersConfig>,
    vault: Arc<Vault>,
    client: Client,
    /// Needed to build the update receiver once the account is online.
    pool: SenderPoolFatHandle,
    runner: Mutex<Option<JoinHandle<()>>>,
    login: AsyncMutex<Login>,
    step: Mutex<LoginStep>,
    /// Raw updates from the network until the stream starts.
    raw_updates: Mutex<Option<mpsc::Receiver<Box<UpdatesLike>>>>,
    deliveries: AsyncMutex<Option<mpsc::Receiver<Delivery>>>,
    pump: Mutex<Option<JoinHandle<()>>>,
    pacer: Pacer,
}

impl GrammersSession {
    /// Wraps a started grammers client.
    pub(crate) fn new(
        account: AccountId,
        config: Arc<GrammersConfig>,
        vault: Arc<Vault>,
        pool: SenderPoolFatHandle,
        raw_updates: mpsc::Receiver<Box<UpdatesLike>>,
        runner: JoinHandle<()>,
    ) -> Self {
        let pacer = Pacer::new(config.send_rate, config.send_burst, config.peer_flood_pause);
        Self {
            account,
            client: Client::new(pool.clone()),
            config,
            vault,
            pool,
            runner: Mutex::new(Some(runner)),
            login: AsyncMutex::new(Login::Idle),
            step: Mutex::new(LoginStep::LoggedOut),
            raw_updates: Mutex::new(Some(raw_updates)),
            deliveries: AsyncMutex::new(None),
            pump: Mutex::new(None),
            pacer,
        }
    }

    fn set_step(&self, step: LoginStep) {
        if let Ok(mut s) = self.step.lock() {
            *s = step;
        }
    }

    /// Checks the key with `users.getUsers(self)`: a logged-in session learns
    /// its self user (and, on first connect, its peer cache) and starts its
    /// update stream; a key without login stays `LoggedOut`.
    pub(crate) async fn resume(&self) -> Result<(), TelegramError> {
        let me = match self.client.get_me().await.map_err(map_error) {
            Ok(me) => me,
            Err(TelegramError::Unauthorized) => {
                self.set_step(LoginStep::LoggedOut);
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let first_connect = self.vault.self_id().is_none();
        if let tl::enums::User::User(u) = &me.raw {
            let info = PeerInfo::User {
                id: u.id,
                auth: u.access_hash.map(grammers_client::session::types::PeerAuth::from_hash),
                bot: Some(u.bot),
                is_self: Some(true),
            };
            self.vault.cache_peer(info).await.map_err(|e| TelegramError::Transport(e.to_string()))?;
        }
        if first_connect {
            info!(account = %self.account, "first connect: filling the peer cache");
            self.warm_peer_cache_or_log().await;
        }
        self.go_online().await;
        Ok(())
    }

    /// Fills the peer cache where a failure must not fail the caller (the
    /// cache is filled again on the first unknown peer).
    async fn warm_peer_cache_or_log(&self) {
        if let Err(e) = self.warm_peer_cache().await {
            tracing::warn!(account = %self.account, error = %e, "peer cache not filled");
        }
    }

    /// Lists dialogs only for grammers to cache their peers' access hashes.
    async fn warm_peer_cache(&self) -> Result<(), TelegramError> {
        let mut dialogs = self.client.iter_dialogs().limit(self.config.warm_dialogs);
        while dialogs.next().await.map_err(map_error)?.is_some() {}
        Ok(())
    }

    /// Marks the session online and starts the update pump (once).
    async fn go_online(&self) {
        self.set_step(LoginStep::Online);
        let Some(raw) = self.raw_updates.lock().ok().and_then(|mut r| r.take()) else { return };
        self.fetch_initial_state().await;
        let receiver = UpdatesReceiver::create(
            self.pool.thin.clone(),
            self.pool.session.clone(),
            raw,
            UpdatesConfiguration { catch_up: true },
        )
        .await;
        let receiver = match receiver {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(account = %self.account, error = %e, "update stream could not start");
                return;
            }
        };
        let (tx, rx) = mpsc::channel(256);
        *self.deliveries.lock().await = Some(rx);
        let task = tokio::spawn(updates::pump(receiver, self.vault.clone(), self.account.clone(), tx));
        if let Ok(mut pump) = self.pump.lock() {
            *pump = Some(task);
        }
    }

    /// Gives a session without update state (imported, or just logged in) one
    /// before its update stream starts, so a session saved right after
    /// connecting already catches up from here after a crash. (grammers would
    /// fetch it lazily, in the stream's first poll, which races the first save.)
    async fn fetch_initial_state(&self) {
        if self.vault.has_consumed_state() {
            return;
        }
        match self.client.invoke(&tl::functions::updates::GetState {}).await {
            Ok(tl::enums::updates::State::State(state)) => {
                let fresh = UpdatesState {
                    pts: state.pts,
                    qts: state.qts,
                    date: state.date,
                    seq: state.seq,
                    channels: Vec::new(),
                };
                if let Err(e) = self.vault.set_update_state(UpdateState::All(fresh)).await {
                    tracing::warn!(account = %self.account, error = %e, "initial update state not kept");
                }
            }
            // The stream fetches it itself then.
            Err(e) => tracing::warn!(account = %self.account, error = %e, "initial update state not fetched"),
        }
    }

    /// Returns the access-hash-bearing reference of a marked peer id, filling
    /// the peer cache from the dialog list once when it is missing.
    async fn peer_ref(&self, peer: i64) -> Result<PeerRef, TelegramError> {
        let id = PeerId::from_bot_api_dialog_id(peer)
            .ok_or_else(|| TelegramError::Invalid(format!("{peer} is not a peer id")))?;
        if let Some(r) = self.vault.peer_ref(id).await.ok().flatten() {
            return Ok(r);
        }
        self.warm_peer_cache().await?;
        self.vault
            .peer_ref(id)
            .await
            .ok()
            .flatten()
            .ok_or_else(|| TelegramError::Invalid(format!("peer {peer} is unknown to this account")))
    }

    /// Converts a friendly grammers message.
    fn message(&self, m: &grammers_client::message::Message) -> Option<Message> {
        let mut names = Names::default();
        if let Some(sender) = m.sender() {
            if let Some(name) = peer_name(sender) {
                names.insert(sender.id().bot_api_dialog_id_unchecked(), name);
            }
        }
        convert::message(&self.account, &m.raw, &names)
    }

    /// Stops the client and the pump.
    pub(crate) async fn shut_down(&self) {
        if let Some(pump) = self.pump.lock().ok().and_then(|mut p| p.take()) {
            pump.abort();
        }
        self.client.disconnect();
        if let Some(runner) = self.runner.lock().ok().and_then(|mut r| r.take()) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), runner).await;
        }
    }

    async fn finish_login(&self, user: &grammers_client::peer::User) -> LoginStep {
        debug!(account = %self.account, user = user.id().bot_api_dialog_id_unchecked(), "logged in");
        *self.login.lock().await = Login::Idle;
        self.warm_peer_cache_or_log().await;
        self.go_online().await;
        LoginStep::Online
    }
}

#[async_trait]
impl TelegramSession for GrammersSession {
    fn login_step(&self) -> LoginStep {
        self.step.lock().map(|s| s.clone()).unwrap_or(LoginStep::LoggedOut)
    }

    async fn request_login_code(&self, phone: &Phone) -> Result<LoginStep, TelegramError> {
        use secrecy::ExposeSecret;
        let token = self
            .client
            .request_login_code(phone.as_str(), self.config.api_hash.expose_secret())
            .await
            .map_err(map_error)?;
        *self.login.lock().await = Login::CodeSent(token);
        self.set_step(LoginStep::CodeSent);
        Ok(LoginStep::CodeSent)
    }

    async fn submit_code(&self, code: &str) -> Result<LoginStep, TelegramError> {
        let mut login = self.login.lock().await;
        let Login::CodeSent(token) = &*login else {
            return Err(TelegramError::Invalid("no login code was requested".into()));
        };
        match self.client.sign_in(token, code.trim()).await {
            Ok(user) => {
                drop(login);
                Ok(self.finish_login(&user).await)
            }
            Err(SignInError::PasswordRequired(password)) => {
                *login = Login::Password(password);
                self.set_step(LoginStep::PasswordRequired);
                Ok(LoginStep::PasswordRequired)
            }
            Err(e) => Err(map_sign_in_error(e)),
        }
    }

    async fn submit_password(&self, password: &str) -> Result<LoginStep, TelegramError> {
        let mut login = self.login.lock().await;
        let Login::Password(token) = std::mem::replace(&mut *login, Login::Idle) else {
            return Err(TelegramError::Invalid("no 2FA password was asked for".into()));
        };
        match self.client.check_password(token, password.as_bytes()).await {
            Ok(user) => {
                drop(login);
                Ok(self.finish_login(&user).await)
            }
            Err(SignInError::InvalidPassword(retry)) => {
                *login = Login::Password(retry);
                Err(TelegramError::PasswordInvalid)
            }
            Err(e) => Err(map_sign_in_error(e)),
        }
    }

    async fn logout(&self) -> Result<(), TelegramError> {
        self.client.sign_out().await.map_err(map_error)?;
        if let Some(pump) = self.pump.lock().ok().and_then(|mut p| p.take()) {
            pump.abort();
        }
        self.vault.forget_login();
        self.set_step(LoginStep::LoggedOut);
        Ok(())
    }

    async fn profile(&self) -> Result<TelegramProfile, TelegramError> {
        let me = self.client.get_me().await.map_err(map_error)?;
        let tl::enums::User::User(u) = &me.raw else {
            return Err(TelegramError::Unauthorized);
        };
        let c = convert::contact(u);
        Ok(TelegramProfile {
            user_id: c.user_id,
            first_name: c.first_name,
            last_name: c.last_name,
            username: c.username,
            phone: c.phone,
            photo_id: c.photo_id,
        })
    }

    async fn contacts(&self) -> Result<Vec<TelegramContact>, TelegramError> {
        let result = self.client.invoke(&tl::functions::contacts::GetContacts { hash: 0 }).await.map_err(map_error)?;
        let tl::enums::contacts::Contacts::Contacts(contacts) = result else { return Ok(Vec::new()) };
        let infos: Vec<PeerInfo> = contacts.users.iter().map(PeerInfo::from).filter(|p| p.auth().is_some()).collect();
        self.vault.cache_peers(infos).await.map_err(|e| TelegramError::Transport(e.to_string()))?;
        Ok(contacts
            .users
            .iter()
            .filter_map(|u| match u {
                // Listed in contacts.getContacts: a contact even if the flag is missing.
                tl::enums::User::User(u) if !u.is_self => {
                    Some(TelegramContact { is_contact: true, ..convert::contact(u) })
                }
                _ => None,
            })
            .collect())
    }

    async fn dialogs(&self, limit: usize) -> Result<DialogList, TelegramError> {
        let mut iter = self.client.iter_dialogs().limit(limit);
        let mut out = DialogList::default();
        while let Some(d) = iter.next().await.map_err(map_error)? {
            let last = d.last_message.as_ref().and_then(|m| self.message(m));
            if let Peer::User(user) = &d.peer {
                if let tl::enums::User::User(u) = &user.raw {
                    out.users.push(convert::contact(u));
                }
            }
            out.dialogs.push(convert::dialog(&self.account, &d, last));
        }
        Ok(out)
    }

    async fn history(&self, peer: i64, before: Option<i64>, limit: usize) -> Result<Vec<Message>, TelegramError> {
        let peer_ref = self.peer_ref(peer).await?;
        let mut iter = self.client.iter_messages(peer_ref).limit(limit);
        if let Some(before) = before {
            iter = iter.offset_id(i32::try_from(before).map_err(|_| TelegramError::Invalid("bad message id".into()))?);
        }
        let mut out = Vec::new();
        while let Some(m) = iter.next().await.map_err(map_error)? {
            out.extend(self.message(&m));
        }
        Ok(out)
    }

    async fn send(&self, message: OutgoingMessage) -> Result<Message, TelegramError> {
        let peer_ref = self.peer_ref(message.peer).await?;
        let reply_to = message
            .reply_to
            .map(i32::try_from)
            .transpose()
            .map_err(|_| TelegramError::Invalid("reply_to is not a message id".into()))?;
        self.pacer.acquire().await?;
        let mut media = None;
        if let Some(file) = message.file {
            let size = usize::try_from(file.content.meta().size)
                .map_err(|_| TelegramError::Invalid("the file is too large to send".into()))?;
            let mut reader = crate::upload::async_read(file.content);
            let uploaded = self.client.upload_stream(&mut reader, size, file.name.clone()).await;
            let uploaded = self.pacer.observe(uploaded.map_err(crate::retry::map_upload_error)).await?;
            media = Some(send::uploaded_media(&file.kind, uploaded, file.name, file.mime.as_deref()));
        }
        let draft = send::Draft { text: message.text, reply_to, media, random_id: message.random_id };
        let answer = send::invoke(&self.client, peer_ref, &draft).await.map_err(map_error);
        let updates = self.pacer.observe(answer).await?;
        send::sent_message(&self.client, &self.account, peer_ref, draft, updates)
            .ok_or_else(|| TelegramError::Transport("telegram answered the send with no message".into()))
    }

    async fn edit(&self, peer: i64, id: i64, text: &str) -> Result<(), TelegramError> {
        let peer_ref = self.peer_ref(peer).await?;
        let id = i32::try_from(id).map_err(|_| TelegramError::Invalid("bad message id".into()))?;
        self.pacer.acquire().await?;
        self.pacer
            .observe(self.client.edit_message(peer_ref, id, InputMessage::new().text(text)).await.map_err(map_error))
            .await
    }

    async fn delete(&self, peer: i64, ids: &[i64]) -> Result<(), TelegramError> {
        let peer_ref = self.peer_ref(peer).await?;
        let ids: Vec<i32> = ids.iter().filter_map(|id| i32::try_from(*id).ok()).collect();
        self.pacer.acquire().await?;
        self.pacer.observe(self.client.delete_messages(peer_ref, &ids).await.map_err(map_error).map(drop)).await
    }

    async fn mark_read(&self, peer: i64) -> Result<(), TelegramError> {
        let peer_ref = self.peer_ref(peer).await?;
        self.client.mark_as_read(peer_ref).await.map_err(map_error)
    }

    async fn download_media(&self, peer: i64, message_id: i64) -> Result<Box<dyn TelegramDownload>, TelegramError> {
        let peer_ref = self.peer_ref(peer).await?;
        let id = i32::try_from(message_id).map_err(|_| TelegramError::Invalid("bad message id".into()))?;
        let found = self.client.get_messages_by_id(peer_ref, &[id]).await.map_err(map_error)?;
        let message = found
            .into_iter()
            .flatten()
            .next()
            .ok_or_else(|| TelegramError::Invalid(format!("message {message_id} does not exist")))?;
        let media = message
            .media()
            .filter(|m| m.to_raw_input_location().is_some())
            .ok_or_else(|| TelegramError::Invalid(format!("message {message_id} has no file")))?;
        Ok(Box::new(Download { iter: self.client.iter_download(&media), gone: None }))
    }

    async fn download_profile_photo(
        &self,
        peer: i64,
        photo_id: i64,
    ) -> Result<Box<dyn TelegramDownload>, TelegramError> {
        let input_peer = if Some(peer) == self.vault.self_id() {
            tl::enums::InputPeer::PeerSelf
        } else {
            self.peer_ref(peer).await?.into()
        };
        let location = ProfilePhoto(tl::enums::InputFileLocation::InputPeerPhotoFileLocation(
            tl::types::InputPeerPhotoFileLocation { big: true, peer: input_peer, photo_id },
        ));
        let gone = format!("photo {photo_id} of {peer} is not theirs (any more)");
        Ok(Box::new(Download { iter: self.client.iter_download(&location), gone: Some(gone) }))
    }

    async fn next_update(&self) -> Result<TelegramUpdate, TelegramError> {
        let mut guard = self.deliveries.lock().await;
        let Some(rx) = guard.as_mut() else {
            return Err(TelegramError::Unauthorized);
        };
        loop {
            let Some(delivery) = rx.recv().await else {
                return Err(match self.login_step() {
                    LoginStep::Online => TelegramError::Transport("the update stream ended".into()),
                    _ => TelegramError::Unauthorized,
                });
            };
            if let Some(state) = delivery.checkpoint {
                self.vault.set_consumed(state);
            }
            if let Some(update) = delivery.update {
                if matches!(update, Err(TelegramError::Unauthorized)) {
                    self.set_step(LoginStep::LoggedOut);
                }
                return update;
            }
        }
    }

    async fn export(&self) -> Result<Vec<u8>, TelegramError> {
        self.vault.to_bytes()
    }

    async fn disconnect(&self) {
        self.shut_down().await;
    }
}

impl Drop for GrammersSession {
    fn drop(&mut self) {
        if let Some(pump) = self.pump.get_mut().ok().and_then(Option::take) {
            pump.abort();
        }
        self.client.disconnect();
    }
}

/// A download in grammers' parts. `gone` names what a refused location
/// means (a replaced profile photo), so it is `Invalid` rather than an RPC error.
struct Download {
    iter: grammers_client::client::DownloadIter,
    gone: Option<String>,
}

#[async_trait]
impl TelegramDownload for Download {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, TelegramError> {
        self.iter.next().await.map_err(|e| match (map_error(e), &self.gone) {
            (TelegramError::Rpc { code: 400, name }, Some(gone)) => TelegramError::Invalid(format!("{gone}: {name}")),
            (other, _) => other,
        })
    }
}

/// Where a profile photo is downloaded from (grammers' own `ChatPhoto` is
/// built only from a peer it holds in full).
struct ProfilePhoto(tl::enums::InputFileLocation);

impl Downloadable for ProfilePhoto {
    fn to_raw_input_location(&self) -> Option<tl::enums::InputFileLocation> {
        Some(self.0.clone())
    }
}
