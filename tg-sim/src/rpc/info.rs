//! Configuration and people: help.getConfig (advertising the simulator as the
//! only DC), help.getNearestDc, contacts.getContacts, users.getUsers / getFullUser.

use grammers_tl_types::{self as tl, Serializable};

use super::{parse, RpcCtx, RpcErr, RpcResult};
use crate::cloud::model::PeerKey;
use crate::cloud::render::{notify_settings, user_tl, Peers};
use crate::cloud::{now, State};
use crate::DC_ID;

/// help.getConfig: one static DC, the simulator's own MTProto address.
pub fn config(ctx: &RpcCtx<'_>) -> Vec<u8> {
    let addr = ctx.cloud.mtproto_addr;
    let now = now();
    tl::enums::Config::Config(tl::types::Config {
        default_p2p_contacts: false,
        preload_featured_stickers: false,
        revoke_pm_inbox: true,
        blocked_mode: false,
        force_try_ipv6: false,
        date: now,
        expires: now + 3600,
        test_mode: false,
        this_dc: DC_ID,
        dc_options: vec![tl::types::DcOption {
            ipv6: false,
            media_only: false,
            tcpo_only: false,
            cdn: false,
            r#static: true,
            this_port_only: true,
            id: DC_ID,
            ip_address: addr.ip().to_string(),
            port: i32::from(addr.port()),
            secret: None,
        }
        .into()],
        dc_txt_domain_name: "tg-sim.invalid".into(),
        chat_size_max: 200,
        megagroup_size_max: 200_000,
        forwarded_count_max: 100,
        online_update_period_ms: 210_000,
        offline_blur_timeout_ms: 5_000,
        offline_idle_timeout_ms: 30_000,
        online_cloud_timeout_ms: 300_000,
        notify_cloud_delay_ms: 30_000,
        notify_default_delay_ms: 1_500,
        push_chat_period_ms: 60_000,
        push_chat_limit: 2,
        edit_time_limit: 172_800,
        revoke_time_limit: i32::MAX,
        revoke_pm_time_limit: i32::MAX,
        rating_e_decay: 2_419_200,
        stickers_recent_limit: 200,
        channels_read_media_period: 604_800,
        tmp_sessions: None,
        call_receive_timeout_ms: 20_000,
        call_ring_timeout_ms: 90_000,
        call_connect_timeout_ms: 30_000,
        call_packet_timeout_ms: 10_000,
        me_url_prefix: "https://t.me/".into(),
        autoupdate_url_prefix: None,
        gif_search_username: None,
        venue_search_username: None,
        img_search_username: None,
        static_maps_provider: None,
        caption_length_max: 1024,
        message_length_max: 4096,
        webfile_dc_id: DC_ID,
        suggested_lang_code: None,
        lang_pack_version: None,
        base_lang_pack_version: None,
        reactions_default: None,
        autologin_token: None,
    })
    .to_bytes()
}

/// help.getNearestDc: always this DC.
pub fn nearest_dc() -> Vec<u8> {
    tl::enums::NearestDc::Dc(tl::types::NearestDc { country: "ZZ".into(), this_dc: DC_ID, nearest_dc: DC_ID })
        .to_bytes()
}

/// contacts.getContacts: everyone the account has a private chat with, plus saved contacts.
pub fn get_contacts(ctx: &mut RpcCtx<'_>, phone: &str) -> RpcResult {
    let st = ctx.cloud.lock();
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let mut ids: Vec<i64> = acc.contacts.iter().copied().collect();
    ids.extend(acc.dialogs.values().filter_map(|d| match d.peer {
        PeerKey::User(id) if id != acc.user_id => Some(id),
        _ => None,
    }));
    ids.sort_unstable();
    ids.dedup();
    let users = ids.iter().filter_map(|id| st.data.users.get(id)).map(|u| user_tl(u, acc.user_id, true)).collect();
    let contacts = ids.iter().map(|id| tl::types::Contact { user_id: *id, mutual: true }.into()).collect();
    Ok(tl::enums::contacts::Contacts::Contacts(tl::types::contacts::Contacts {
        contacts,
        saved_count: ids.len() as i32,
        users,
    })
    .to_bytes())
}

fn input_user_id(st: &State, me: i64, u: &tl::enums::InputUser) -> Option<i64> {
    match u {
        tl::enums::InputUser::UserSelf => Some(me),
        tl::enums::InputUser::User(u) => Some(u.user_id),
        tl::enums::InputUser::FromMessage(u) => Some(u.user_id),
        tl::enums::InputUser::Empty => None,
    }
    .filter(|id| st.data.users.contains_key(id))
}

/// users.getUsers: unknown ids are skipped, as Telegram does.
pub fn get_users(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::users::GetUsers = parse(body)?;
    let st = ctx.cloud.lock();
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let users: Vec<tl::enums::User> = req
        .id
        .iter()
        .filter_map(|u| input_user_id(&st, acc.user_id, u))
        .filter_map(|id| st.data.users.get(&id))
        .map(|u| user_tl(u, acc.user_id, acc.contacts.contains(&u.id)))
        .collect();
    Ok(users.to_bytes())
}

/// users.getFullUser.
pub fn get_full_user(ctx: &mut RpcCtx<'_>, phone: &str, body: &[u8]) -> RpcResult {
    let req: tl::functions::users::GetFullUser = parse(body)?;
    let st = ctx.cloud.lock();
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let id = input_user_id(&st, acc.user_id, &req.id).ok_or_else(|| RpcErr::bad("USER_ID_INVALID"))?;
    let mut peers = Peers::default();
    peers.add(PeerKey::User(id));
    let (users, chats) = peers.build(&st.data, acc.user_id, &acc.contacts);
    let full_user = full_user(id);
    Ok(tl::enums::users::UserFull::Full(tl::types::users::UserFull { full_user, chats, users }).to_bytes())
}

fn full_user(id: i64) -> tl::enums::UserFull {
    tl::types::UserFull {
        blocked: false,
        phone_calls_available: false,
        phone_calls_private: true,
        can_pin_message: true,
        has_scheduled: false,
        video_calls_available: false,
        voice_messages_forbidden: false,
        translations_disabled: false,
        stories_pinned_available: false,
        blocked_my_stories_from: false,
        wallpaper_overridden: false,
        contact_require_premium: false,
        read_dates_private: false,
        sponsored_enabled: false,
        can_view_revenue: false,
        bot_can_manage_emoji_status: false,
        display_gifts_button: false,
        noforwards_my_enabled: false,
        noforwards_peer_enabled: false,
        unofficial_security_risk: false,
        id,
        about: None,
        settings: tl::types::PeerSettings {
            report_spam: false,
            add_contact: false,
            block_contact: false,
            share_contact: false,
            need_contacts_exception: false,
            report_geo: false,
            autoarchived: false,
            invite_members: false,
            request_chat_broadcast: false,
            business_bot_paused: false,
            business_bot_can_reply: false,
            geo_distance: None,
            request_chat_title: None,
            request_chat_date: None,
            business_bot_id: None,
            business_bot_manage_url: None,
            charge_paid_message_stars: None,
            registration_month: None,
            phone_country: None,
            name_change_date: None,
            photo_change_date: None,
        }
        .into(),
        personal_photo: None,
        profile_photo: None,
        fallback_photo: None,
        notify_settings: notify_settings(),
        bot_info: None,
        pinned_msg_id: None,
        common_chats_count: 0,
        folder_id: None,
        ttl_period: None,
        theme: None,
        private_forward_name: None,
        bot_group_admin_rights: None,
        bot_broadcast_admin_rights: None,
        wallpaper: None,
        stories: None,
        business_work_hours: None,
        business_location: None,
        business_greeting_message: None,
        business_away_message: None,
        business_intro: None,
        birthday: None,
        personal_channel_id: None,
        personal_channel_message: None,
        stargifts_count: None,
        starref_program: None,
        bot_verification: None,
        send_paid_messages_stars: None,
        disallowed_gifts: None,
        stars_rating: None,
        stars_my_pending_rating: None,
        stars_my_pending_rating_date: None,
        main_tab: None,
        saved_music: None,
        note: None,
        bot_manager_id: None,
    }
    .into()
}

/// messages.getChats (basic groups the account is in) and channels.getChannels.
pub fn get_chats(ctx: &mut RpcCtx<'_>, phone: &str, ids: Vec<PeerKey>) -> RpcResult {
    let st = ctx.cloud.lock();
    let acc = st.data.accounts.get(phone).ok_or_else(RpcErr::unauthorized)?;
    let mut peers = Peers::default();
    for id in ids {
        let member = match id {
            PeerKey::Chat(c) => st.data.chats.get(&c).is_some_and(|c| c.members.contains(&acc.user_id)),
            PeerKey::Channel(c) => st.data.channels.get(&c).is_some_and(|c| c.members.contains(&acc.user_id)),
            PeerKey::User(_) => false,
        };
        if member {
            peers.add(id);
        }
    }
    let (_, chats) = peers.build(&st.data, acc.user_id, &acc.contacts);
    Ok(tl::enums::messages::Chats::Chats(tl::types::messages::Chats { chats }).to_bytes())
}
