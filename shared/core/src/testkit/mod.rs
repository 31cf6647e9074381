//! Contract suites run by every adapter crate's tests (behind the `testkit`
//! feature). A suite case is a `pub async fn` taking the adapter behind its
//! ports; the `*_contract_suite!` macros expand to one `#[tokio::test]` per
//! case. Every case works in its own random tenant (or queue name, or key
//! prefix) and never assumes an empty backend, so cases may share one
//! backend and run in parallel. The single-port suites (queue, leases, blobs, archive)
//! take a [`PortHandle`].

pub mod archive_suite;
pub mod blob_suite;
pub mod connections_suite;
pub mod feed_suite;
pub mod fixtures;
mod handle;
pub mod lease_suite;
pub mod queue_suite;
pub mod sealer_suite;
pub mod search_suite;
pub mod store_suite;
pub mod throttle_suite;

pub use handle::{
    ArchiveHandle, BlobHandle, ConnectionsHandle, LeasesHandle, PortHandle, QueueHandle, SearchHandle, ThrottleHandle,
};

use crate::ports::{ChangeFeed, Directory, Jobs, MessageReader, MessageWriter, Replies, SendLog};
use std::any::Any;
use std::sync::Arc;

/// One store adapter seen through its six ports.
#[derive(Clone)]
pub struct StoreHandles {
    /// Tenants, users, accounts, groups, tags, pins, audit.
    pub directory: Arc<dyn Directory>,
    /// The ingest side of dialogs and messages.
    pub writer: Arc<dyn MessageWriter>,
    /// The read side of dialogs and messages.
    pub reader: Arc<dyn MessageReader>,
    /// Records of sends and batches.
    pub sends: Arc<dyn SendLog>,
    /// The fleet's replies to commands.
    pub replies: Arc<dyn Replies>,
    /// Imports and cascading deletes.
    pub jobs: Arc<dyn Jobs>,
    /// Whatever must outlive the store (a temp dir, a server process).
    _guard: Option<Arc<dyn Any + Send + Sync>>,
}

impl StoreHandles {
    /// Returns the handles of an adapter that implements the six store ports.
    pub fn new<S>(store: Arc<S>) -> Self
    where
        S: Directory + MessageWriter + MessageReader + SendLog + Replies + Jobs + 'static,
    {
        Self {
            directory: store.clone(),
            writer: store.clone(),
            reader: store.clone(),
            sends: store.clone(),
            replies: store.clone(),
            jobs: store,
            _guard: None,
        }
    }

    /// Keeps `guard` alive as long as these handles (a temp dir holding the
    /// database file, say).
    pub fn keep_alive(mut self, guard: impl Any + Send + Sync) -> Self {
        self._guard = Some(Arc::new(guard));
        self
    }
}

/// A change feed adapter with the store whose writes it reports.
pub struct FeedHandle {
    /// The store the case writes through.
    pub store: StoreHandles,
    /// The feed of that store's changes.
    pub feed: Arc<dyn ChangeFeed>,
}

/// Expands to one `#[tokio::test]` per store contract case. `$make` is a
/// function or closure returning a future of [`StoreHandles`]; it runs once
/// per case (wrap a sync factory as `|| async { make() }`). The calling crate
/// needs `tokio` (with `macros` and `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! store_contract_suite {
    ($make:expr) => {
        $crate::store_contract_suite!(@cases $make;
            tenant_is_created_once_and_read_back,
            user_is_found_by_id_and_by_username,
            user_with_a_taken_username_conflicts,
            update_user_replaces_the_record_and_refuses_unknown_ids,
            list_users_filters_by_leader_and_role,
            list_users_pages_by_id_without_gaps_or_duplicates,
            delete_user_removes_their_pins_and_groups,
            put_accounts_inserts_and_replaces_by_id,
            get_accounts_returns_only_existing_ones,
            get_account_heads_match_the_accounts,
            put_accounts_refuses_each_record_whose_phone_is_taken_and_stores_the_rest,
            put_accounts_replaces_tags_and_groups_with_the_records_sets,
            find_accounts_by_phone_returns_only_known_phones,
            delete_account_removes_its_dialogs_messages_and_pins,
            list_accounts_pages_by_id_without_gaps_or_duplicates,
            list_accounts_filters_by_owner_and_unowned,
            list_accounts_filters_by_tag_and_group,
            list_accounts_filters_by_status,
            list_accounts_text_matches_phone_and_name_ignoring_case,
            list_accounts_scope_limits_before_other_filters,
            group_is_put_read_and_listed_by_name,
            group_name_taken_by_the_same_owner_conflicts,
            delete_group_takes_accounts_out_of_it,
            tag_is_put_and_listed_by_name,
            tag_with_a_taken_name_conflicts,
            delete_tag_removes_it_from_accounts_and_messages,
            pinning_twice_keeps_one_pin_and_unpinning_is_idempotent,
            pins_are_listed_newest_first_and_are_personal,
            audit_is_listed_newest_first_and_pages_with_before,
            audit_filters_by_actors_account_and_action,
            audit_filters_by_time_range,
            ingest_is_idempotent_on_account_peer_and_id,
            concurrent_ingest_of_overlapping_batches_counts_each_message_once,
            ingest_returns_the_dialogs_it_changed_as_stored,
            ingest_into_an_unknown_account_is_not_found,
            ingest_creates_missing_dialogs_with_kind_and_title,
            dialog_newest_message_never_moves_back,
            unread_counts_new_incoming_messages_only,
            mark_read_counts_incoming_messages_after_up_to,
            edit_message_replaces_text_and_sets_edit_time,
            a_message_at_every_bound_is_stored_and_read_back_whole,
            editing_the_newest_message_updates_the_dialog_preview,
            delete_messages_marks_them_deleted_keeping_text,
            set_message_tags_replaces_the_tags,
            message_reads_back_exactly_as_ingested,
            list_messages_pages_newest_first_without_gaps,
            upsert_dialogs_updates_title_and_kind_keeping_message_fields,
            get_dialogs_returns_only_existing_ones,
            list_dialogs_puts_newest_first_and_empty_dialogs_last,
            a_newer_message_of_the_same_instant_updates_the_dialog_in_place,
            list_dialogs_pages_without_gaps_or_duplicates,
            team_and_tenant_inboxes_page_across_owners_without_gaps,
            list_dialogs_filters_by_unread_and_accounts,
            list_dialogs_scopes_by_tenant_team_owner_and_account,
            list_dialogs_follow_account_reassignment,
            tenant_b_sees_nothing_of_tenant_a_directory,
            tenant_b_sees_nothing_of_tenant_a_messages,
            list_tenants_returns_every_tenant_by_name,
            status_and_session_writes_leave_the_rest_of_the_account_alone,
            set_account_sessions_stores_each_and_names_the_unknown,
            session_writes_under_a_lease_taken_over_are_refused,
            runnable_accounts_are_those_with_a_session_not_logged_out_or_banned,
            sends_are_put_replaced_and_read_back,
            batches_are_put_replaced_and_read_back,
            batch_sends_page_by_id_without_gaps,
            batch_sends_are_counted_per_status,
            replies_are_taken_once,
            replies_are_kept_per_tenant_and_replaced,
            jobs_are_inserted_once_read_back_and_listed_newest_first,
            job_updates_need_the_version_they_read,
            jobs_past_their_keep_are_gone,
            profiles_are_upserted_and_read_back,
            one_self_profile_per_account,
            contacts_page_by_peer_without_gaps,
            profiles_of_an_unknown_account_are_not_found,
            unplaced_deletes_mark_private_and_group_messages_only,
            unplaced_deletes_find_history_stored_after_newer_messages,
        );
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let store: $crate::testkit::StoreHandles = ($make)().await;
                $crate::testkit::store_suite::$case(&store).await;
            }
        )+
    };
}
