//! Turns cloud records into the TL objects clients receive (users, chats,
//! messages, media), always from the point of view of one account's user.

use std::collections::{BTreeMap, BTreeSet};

use grammers_tl_types as tl;

use super::model::{ChannelRec, ChatRec, CloudData, FileRec, MsgRec, PeerKey, UserRec};

/// Returns the TL `Peer` for a peer key.
pub fn peer_tl(p: PeerKey) -> tl::enums::Peer {
    match p {
        PeerKey::User(user_id) => tl::types::PeerUser { user_id }.into(),
        PeerKey::Chat(chat_id) => tl::types::PeerChat { chat_id }.into(),
        PeerKey::Channel(channel_id) => tl::types::PeerChannel { channel_id }.into(),
    }
}

/// Returns default (unmuted) notification settings.
pub fn notify_settings() -> tl::enums::PeerNotifySettings {
    tl::types::PeerNotifySettings {
        show_previews: None,
        silent: None,
        mute_until: None,
        ios_sound: None,
        android_sound: None,
        other_sound: None,
        stories_muted: None,
        stories_hide_sender: None,
        stories_ios_sound: None,
        stories_android_sound: None,
        stories_other_sound: None,
    }
    .into()
}

/// Returns the TL user as `viewer` sees it.
pub fn user_tl(u: &UserRec, viewer: i64, contact: bool) -> tl::enums::User {
    let is_self = u.id == viewer;
    tl::types::User {
        is_self,
        contact,
        mutual_contact: contact,
        deleted: false,
        bot: false,
        bot_chat_history: false,
        bot_nochats: false,
        verified: false,
        restricted: false,
        min: false,
        bot_inline_geo: false,
        support: false,
        scam: false,
        apply_min_photo: false,
        fake: false,
        bot_attach_menu: false,
        premium: false,
        attach_menu_enabled: false,
        bot_can_edit: false,
        close_friend: false,
        stories_hidden: false,
        stories_unavailable: true,
        contact_require_premium: false,
        bot_business: false,
        bot_has_main_app: false,
        bot_forum_view: false,
        bot_forum_can_manage_topics: false,
        bot_can_manage_bots: false,
        bot_guestchat: false,
        bot_guard: false,
        id: u.id,
        access_hash: Some(u.access_hash),
        first_name: Some(u.first_name.clone()),
        last_name: u.last_name.clone(),
        username: None,
        phone: if is_self || contact { u.phone.clone().map(|p| p.trim_start_matches('+').to_string()) } else { None },
        photo: u.photo.map(|photo_id| {
            tl::types::UserProfilePhoto {
                has_video: false,
                personal: false,
                photo_id,
                stripped_thumb: None,
                dc_id: crate::DC_ID,
            }
            .into()
        }),
        status: Some(tl::types::UserStatusRecently { by_me: false }.into()),
        bot_info_version: None,
        restriction_reason: None,
        bot_inline_placeholder: None,
        lang_code: None,
        emoji_status: None,
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        bot_active_users: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_community_id: None,
    }
    .into()
}

/// Returns the TL basic group.
pub fn chat_tl(c: &ChatRec) -> tl::enums::Chat {
    tl::types::Chat {
        creator: false,
        left: false,
        deactivated: false,
        call_active: false,
        call_not_empty: false,
        noforwards: false,
        id: c.id,
        title: c.title.clone(),
        photo: tl::enums::ChatPhoto::Empty,
        participants_count: c.members.len() as i32,
        date: c.date,
        version: 1,
        migrated_to: None,
        admin_rights: None,
        default_banned_rights: None,
    }
    .into()
}

/// Returns the TL channel (a supergroup, so posts carry their author).
pub fn channel_tl(c: &ChannelRec) -> tl::enums::Chat {
    tl::types::Channel {
        creator: false,
        left: false,
        broadcast: false,
        verified: false,
        megagroup: true,
        restricted: false,
        signatures: false,
        min: false,
        scam: false,
        has_link: false,
        has_geo: false,
        slowmode_enabled: false,
        call_active: false,
        call_not_empty: false,
        fake: false,
        gigagroup: false,
        noforwards: false,
        join_to_send: false,
        join_request: false,
        forum: false,
        stories_hidden: false,
        stories_hidden_min: false,
        stories_unavailable: true,
        signature_profiles: false,
        autotranslation: false,
        broadcast_messages_allowed: false,
        monoforum: false,
        forum_tabs: false,
        id: c.id,
        access_hash: Some(c.access_hash),
        title: c.title.clone(),
        username: None,
        photo: tl::enums::ChatPhoto::Empty,
        date: c.date,
        restriction_reason: None,
        admin_rights: None,
        banned_rights: None,
        default_banned_rights: None,
        participants_count: Some(c.members.len() as i32),
        usernames: None,
        stories_max_id: None,
        color: None,
        profile_color: None,
        emoji_status: None,
        level: None,
        subscription_until_date: None,
        bot_verification_icon: None,
        send_paid_messages_stars: None,
        linked_monoforum_id: None,
        linked_community_id: None,
    }
    .into()
}

/// Returns the TL media for a stored file.
pub fn media_tl(f: &FileRec) -> tl::enums::MessageMedia {
    if f.kind == "photo" {
        tl::types::MessageMediaPhoto {
            spoiler: false,
            live_photo: false,
            photo: Some(
                tl::types::Photo {
                    has_stickers: false,
                    id: f.id,
                    access_hash: f.access_hash,
                    file_reference: Vec::new(),
                    date: f.date,
                    sizes: vec![tl::types::PhotoSize {
                        r#type: "x".into(),
                        w: 800,
                        h: 600,
                        size: f.bytes.len() as i32,
                    }
                    .into()],
                    video_sizes: None,
                    dc_id: crate::DC_ID,
                }
                .into(),
            ),
            ttl_seconds: None,
            video: None,
        }
        .into()
    } else {
        tl::types::MessageMediaDocument {
            nopremium: false,
            spoiler: false,
            video: false,
            round: false,
            voice: false,
            document: Some(
                tl::types::Document {
                    id: f.id,
                    access_hash: f.access_hash,
                    file_reference: Vec::new(),
                    date: f.date,
                    mime_type: f.mime.clone(),
                    size: f.bytes.len() as i64,
                    thumbs: None,
                    video_thumbs: None,
                    dc_id: crate::DC_ID,
                    attributes: vec![tl::types::DocumentAttributeFilename { file_name: f.name.clone() }.into()],
                }
                .into(),
            ),
            alt_documents: None,
            video_cover: None,
            video_timestamp: None,
            ttl_seconds: None,
        }
        .into()
    }
}

/// Returns the TL message as `viewer` sees it.
pub fn msg_tl(m: &MsgRec, viewer: i64, files: &BTreeMap<i64, FileRec>) -> tl::enums::Message {
    if m.deleted {
        return tl::types::MessageEmpty { id: m.id, peer_id: Some(peer_tl(m.peer)) }.into();
    }
    tl::types::Message {
        out: m.from == viewer,
        mentioned: false,
        media_unread: false,
        silent: false,
        post: false,
        from_scheduled: false,
        legacy: false,
        edit_hide: false,
        pinned: false,
        noforwards: false,
        invert_media: false,
        offline: false,
        video_processing_pending: false,
        paid_suggested_post_stars: false,
        paid_suggested_post_ton: false,
        id: m.id,
        from_id: Some(tl::types::PeerUser { user_id: m.from }.into()),
        from_boosts_applied: None,
        from_rank: None,
        peer_id: peer_tl(m.peer),
        saved_peer_id: None,
        fwd_from: None,
        via_bot_id: None,
        via_business_bot_id: None,
        guestchat_via_from: None,
        reply_to: m.reply_to.map(|id| {
            tl::types::MessageReplyHeader {
                reply_to_scheduled: false,
                forum_topic: false,
                quote: false,
                reply_to_ephemeral: false,
                reply_to_msg_id: Some(id),
                reply_to_peer_id: None,
                reply_from: None,
                reply_media: None,
                reply_to_top_id: None,
                quote_text: None,
                quote_entities: None,
                quote_offset: None,
                todo_item_id: None,
                poll_option: None,
            }
            .into()
        }),
        date: m.date,
        message: m.text.clone(),
        media: m.media.and_then(|id| files.get(&id)).map(media_tl),
        reply_markup: None,
        entities: None,
        views: None,
        forwards: None,
        replies: None,
        edit_date: m.edit_date,
        post_author: None,
        grouped_id: None,
        reactions: None,
        restriction_reason: None,
        ttl_period: None,
        quick_reply_shortcut_id: None,
        effect: None,
        factcheck: None,
        report_delivery_until_date: None,
        paid_message_stars: None,
        suggested_post: None,
        schedule_repeat_period: None,
        summary_from_language: None,
        rich_message: None,
    }
    .into()
}

/// Collects the users and chats a response refers to, then renders them.
#[derive(Debug, Default)]
pub struct Peers {
    users: BTreeSet<i64>,
    chats: BTreeSet<i64>,
    channels: BTreeSet<i64>,
}

impl Peers {
    /// Adds one peer.
    pub fn add(&mut self, p: PeerKey) {
        match p {
            PeerKey::User(id) => self.users.insert(id),
            PeerKey::Chat(id) => self.chats.insert(id),
            PeerKey::Channel(id) => self.channels.insert(id),
        };
    }

    /// Adds a message's chat and author.
    pub fn add_msg(&mut self, m: &MsgRec) {
        self.add(m.peer);
        self.users.insert(m.from);
    }

    /// Renders the collected users and chats for `viewer`.
    pub fn build(
        &self,
        data: &CloudData,
        viewer: i64,
        contacts: &BTreeSet<i64>,
    ) -> (Vec<tl::enums::User>, Vec<tl::enums::Chat>) {
        let users = self
            .users
            .iter()
            .filter_map(|id| data.users.get(id))
            .map(|u| user_tl(u, viewer, contacts.contains(&u.id)))
            .collect();
        let chats = self
            .chats
            .iter()
            .filter_map(|id| data.chats.get(id))
            .map(chat_tl)
            .chain(self.channels.iter().filter_map(|id| data.channels.get(id)).map(channel_tl))
            .collect();
        (users, chats)
    }
}
