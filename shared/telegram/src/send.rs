//! Sends with the caller's `random_id`. grammers' `send_message` draws a
//! fresh random_id on every call, so a send repeated after a crash (a fleet
//! node killed between Telegram's answer and the send's record) or after a
//! lost answer would post the message twice. Here the id comes with the
//! message (derived from the send record), and Telegram refuses a repeat
//! with RANDOM_ID_DUPLICATE.

use grammers_client::media::Uploaded;
use grammers_client::message::{InputMessage, Message as GrammersMessage};
use grammers_client::session::types::PeerRef;
use grammers_client::{tl, Client, InvocationError};
use tgdesk_core::domain::{AccountId, Message};

use crate::convert::{self, Names};

/// What one message of a send carries.
pub(crate) struct Draft {
    pub text: String,
    pub reply_to: Option<i32>,
    pub media: Option<tl::enums::InputMedia>,
    pub random_id: i64,
}

/// Returns the media of an uploaded file: a photo, or a document with its
/// MIME type and file name.
pub(crate) fn uploaded_media(
    kind: &str,
    file: Uploaded,
    file_name: String,
    mime: Option<&str>,
) -> tl::enums::InputMedia {
    if kind == "photo" {
        return tl::types::InputMediaUploadedPhoto {
            spoiler: false,
            file: file.raw,
            stickers: None,
            ttl_seconds: None,
            live_photo: false,
            video: None,
        }
        .into();
    }
    tl::types::InputMediaUploadedDocument {
        nosound_video: false,
        force_file: false,
        spoiler: false,
        file: file.raw,
        thumb: None,
        mime_type: mime.unwrap_or("application/octet-stream").to_owned(),
        attributes: vec![tl::types::DocumentAttributeFilename { file_name }.into()],
        stickers: None,
        ttl_seconds: None,
        video_cover: None,
        video_timestamp: None,
    }
    .into()
}

fn reply_header(reply_to_msg_id: i32) -> tl::enums::InputReplyTo {
    tl::types::InputReplyToMessage {
        reply_to_msg_id,
        top_msg_id: None,
        reply_to_peer_id: None,
        quote_text: None,
        quote_entities: None,
        quote_offset: None,
        monoforum_peer_id: None,
        todo_item_id: None,
        poll_option: None,
    }
    .into()
}

/// Calls messages.sendMedia or messages.sendMessage with the draft's random_id.
pub(crate) async fn invoke(
    client: &Client,
    peer: PeerRef,
    draft: &Draft,
) -> Result<tl::enums::Updates, InvocationError> {
    let reply_to = draft.reply_to.map(reply_header);
    match &draft.media {
        Some(media) => {
            client
                .invoke(&tl::functions::messages::SendMedia {
                    silent: false,
                    background: false,
                    clear_draft: false,
                    peer: peer.into(),
                    reply_to,
                    media: media.clone(),
                    message: draft.text.clone(),
                    random_id: draft.random_id,
                    reply_markup: None,
                    entities: None,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    send_as: None,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_floodskip: false,
                    allow_paid_stars: None,
                    suggested_post: None,
                })
                .await
        }
        None => {
            client
                .invoke(&tl::functions::messages::SendMessage {
                    no_webpage: false,
                    silent: false,
                    background: false,
                    clear_draft: false,
                    peer: peer.into(),
                    reply_to,
                    message: draft.text.clone(),
                    random_id: draft.random_id,
                    reply_markup: None,
                    entities: None,
                    schedule_date: None,
                    schedule_repeat_period: None,
                    send_as: None,
                    noforwards: false,
                    update_stickersets_order: false,
                    invert_media: false,
                    quick_reply_shortcut: None,
                    effect: None,
                    allow_paid_floodskip: false,
                    allow_paid_stars: None,
                    suggested_post: None,
                    rich_message: None,
                })
                .await
        }
    }
}

/// Returns the message a send's answer holds: the new message its
/// updateMessageID maps the draft's random_id to (or the only new message
/// when there is no mapping), or the short form Telegram answers private
/// chats with. `None` for an answer naming no message.
pub(crate) fn sent_message(
    client: &Client,
    account: &AccountId,
    peer: PeerRef,
    draft: Draft,
    updates: tl::enums::Updates,
) -> Option<Message> {
    match updates {
        tl::enums::Updates::Updates(tl::types::Updates { updates, users, chats, .. }) => {
            let id = updates.iter().find_map(|u| match u {
                tl::enums::Update::MessageId(m) if m.random_id == draft.random_id => Some(m.id),
                _ => None,
            });
            let mut new: Vec<tl::enums::Message> = updates
                .into_iter()
                .filter_map(|u| match u {
                    tl::enums::Update::NewMessage(u) => Some(u.message),
                    tl::enums::Update::NewChannelMessage(u) => Some(u.message),
                    _ => None,
                })
                .collect();
            let raw = match id {
                Some(id) => new.into_iter().find(|m| m.id() == id)?,
                None if new.len() == 1 => new.pop()?,
                None => return None,
            };
            convert::message(account, &raw, &Names::from_raw(&users, &chats))
        }
        tl::enums::Updates::UpdateShortSentMessage(short) => {
            let mut input = InputMessage::new().text(draft.text);
            if let Some(reply_to) = draft.reply_to {
                input = input.reply_to(Some(reply_to));
            }
            let message = GrammersMessage::from_raw_short_updates(client, short, input, peer);
            convert::message(account, &message.raw, &Names::default())
        }
        _ => None,
    }
}
