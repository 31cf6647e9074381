//! TEMPORARY until the Directory half lands: the message, dialog, send,
//! reply and profile cases of the store suite against `DynamoStore` on moto.

mod moto;

use std::sync::Arc;
use tgdesk_aws::DynamoStore;
use tgdesk_core::testkit::{store_suite, StoreHandles};

async fn fresh_store() -> StoreHandles {
    StoreHandles::new(Arc::new(DynamoStore::new(&moto::context().await)))
}

macro_rules! cases {
    ($($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                store_suite::$case(&fresh_store().await).await;
            }
        )+
    };
}

cases!(
    ingest_is_idempotent_on_account_peer_and_id,
    concurrent_ingest_of_overlapping_batches_counts_each_message_once,
    ingest_returns_the_dialogs_it_changed_as_stored,
    ingest_into_an_unknown_account_is_not_found,
    ingest_creates_missing_dialogs_with_kind_and_title,
    dialog_newest_message_never_moves_back,
    unread_counts_new_incoming_messages_only,
    mark_read_counts_incoming_messages_after_up_to,
    edit_message_replaces_text_and_sets_edit_time,
    delete_messages_marks_them_deleted_keeping_text,
    set_message_tags_replaces_the_tags,
    message_reads_back_exactly_as_ingested,
    list_messages_pages_newest_first_without_gaps,
    upsert_dialogs_updates_title_and_kind_keeping_message_fields,
    get_dialogs_returns_only_existing_ones,
    list_dialogs_puts_newest_first_and_empty_dialogs_last,
    a_newer_message_of_the_same_instant_updates_the_dialog_in_place,
    list_dialogs_pages_without_gaps_or_duplicates,
    list_dialogs_scopes_by_tenant_team_owner_and_account,
    list_dialogs_follow_account_reassignment,
    tenant_b_sees_nothing_of_tenant_a_messages,
    sends_are_put_replaced_and_read_back,
    batches_are_put_replaced_and_read_back,
    batch_sends_page_by_id_without_gaps,
    batch_sends_are_counted_per_status,
    replies_are_taken_once,
    replies_are_kept_per_tenant_and_replaced,
    profiles_are_upserted_and_read_back,
    one_self_profile_per_account,
    contacts_page_by_peer_without_gaps,
    profiles_of_an_unknown_account_are_not_found,
    unplaced_deletes_mark_private_and_group_messages_only,
    unplaced_deletes_find_history_stored_after_newer_messages,
);
