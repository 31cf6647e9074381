//! The connector contract suite: `GrammersConnector` driven against an
//! in-process tg-sim through real MTProto. One simulator per case, on port 0
//! with a fresh data dir. `TEST_LOG=debug` shows logs.

mod cases;
mod harness;

/// Expands to one `#[tokio::test]` per contract case, each with its own simulator.
macro_rules! connector_suite {
    ($($(#[$meta:meta])* $case:ident),* $(,)?) => {
        $(
            $(#[$meta])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let h = harness::Harness::start().await;
                cases::$case(&h).await;
                h.stop().await;
            }
        )*
    };
}

connector_suite!(
    code_login_refuses_a_wrong_code_and_goes_online_with_the_right_one,
    two_factor_login_refuses_a_wrong_password_and_accepts_the_right_one,
    a_flood_wait_under_the_cap_is_slept_through_and_a_longer_one_surfaces,
    a_flooded_login_code_request_reports_the_wait,
    logout_makes_the_key_stop_working,
    profile_and_contacts_describe_the_account_and_its_customers,
    profile_photos_download_and_users_seen_in_updates_are_reported_once_per_change,
    dialogs_list_newest_first_and_history_pages_walk_everything_once,
    text_replies_photos_and_documents_reach_the_customer,
    a_send_repeated_with_its_random_id_posts_once,
    media_customers_sent_downloads_byte_for_byte,
    edits_and_deletes_arrive_as_updates,
    a_restarted_session_catches_up_on_every_missed_message_exactly_once,
    a_session_saved_right_after_its_first_connect_catches_up_later,
    a_forced_pts_gap_is_detected_and_filled,
    the_first_connect_stores_the_self_user_and_peer_cache,
    malformed_session_strings_and_bytes_are_invalid_sessions,
    a_flooded_send_holds_the_account_back_without_calling_telegram_again,
    a_peer_flood_on_send_surfaces_and_holds_the_account_back,
    updates_not_yet_consumed_arrive_again_after_a_restart,
    own_messages_can_be_edited_and_deleted_and_dialogs_marked_read,
    next_update_is_cancel_safe,
    an_unreachable_server_is_a_transport_error,
    #[ignore = "tg-sim: no RSA/DH key exchange (by design), so a fresh key cannot be made; runs against Telegram only"]
    start_login_asks_for_a_code_on_a_fresh_key,
);
