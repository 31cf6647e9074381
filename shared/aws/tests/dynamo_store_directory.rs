//! Runs the store contract suite's `Directory` cases against `DynamoStore`
//! on the moto server: tenants, users, accounts and their queries, groups,
//! tags, pins, the audit log, tenant isolation and the fleet's writes. The
//! cases that also need dialogs and messages run once the message half of
//! `DynamoStore` exists.
//!
//! Each case gets tables of its own (a random prefix): moto deep-copies a
//! whole table for every `TransactWriteItems`, so on one table shared by
//! every case a transaction takes seconds once the bulk cases have run.
//! The cases work in random tenants all the same.

mod moto;

use std::sync::Arc;
use tgdesk_aws::{AwsContext, AwsSettings, DynamoStore};
use tgdesk_core::testkit::{store_suite, StoreHandles};

async fn fresh_store() -> StoreHandles {
    // Settles that the server is configured, with the way out when it is not.
    moto::context().await;
    let endpoint = std::env::var(moto::ENDPOINT_VAR).expect("checked by moto::context");
    let prefix = format!("tgdir-{:016x}", rand_suffix());
    let ctx = AwsContext::load(AwsSettings::for_endpoint(&endpoint, &prefix)).await;
    StoreHandles::new(Arc::new(DynamoStore::new(&ctx)))
}

/// A suffix no two cases of a run (nor two runs) share.
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

macro_rules! directory_cases {
    ($($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                store_suite::$case(&fresh_store().await).await;
            }
        )+
    };
}

directory_cases!(
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
    put_accounts_with_a_taken_phone_conflicts_and_writes_nothing,
    put_accounts_replaces_tags_and_groups_with_the_records_sets,
    find_accounts_by_phone_returns_only_known_phones,
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
    pinning_twice_keeps_one_pin_and_unpinning_is_idempotent,
    pins_are_listed_newest_first_and_are_personal,
    audit_is_listed_newest_first_and_pages_with_before,
    audit_filters_by_actors_account_and_action,
    audit_filters_by_time_range,
    tenant_b_sees_nothing_of_tenant_a_directory,
    list_tenants_returns_every_tenant_by_name,
    status_and_session_writes_leave_the_rest_of_the_account_alone,
    set_account_sessions_stores_each_and_names_the_unknown,
    runnable_accounts_are_those_with_a_session_not_logged_out_or_banned,
);
