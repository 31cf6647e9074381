//! The search contract suite against a real OpenSearch cluster. It runs only
//! when `TGDESK_OPENSEARCH_URL` names one at build time (build.rs turns that
//! into `cfg(opensearch_cluster)`, and cargo rebuilds when the variable
//! changes); without it, one ignored test says why, in the test output. Optional:
//! `TGDESK_OPENSEARCH_PREFIX` (default `tgdesk-contract`),
//! `TGDESK_OPENSEARCH_USER` and `TGDESK_OPENSEARCH_PASSWORD` (basic auth).
//! Every case works in its own tenant, so runs may share the indices.

#[cfg(not(opensearch_cluster))]
#[test]
#[ignore = "skipped: no TGDESK_OPENSEARCH_URL, the search contract suite did not run against OpenSearch"]
fn the_contract_suite_is_skipped_without_a_cluster() {
    eprintln!(
        "skipped: no TGDESK_OPENSEARCH_URL; the search contract suite did not run against OpenSearch \
         (see shared/opensearch/README.md)"
    );
}

#[cfg(opensearch_cluster)]
mod contract {
    use std::sync::Arc;
    use tgdesk_core::testkit::SearchHandle;
    use tgdesk_opensearch::{BasicAuth, OpenSearchConfig, OpenSearchIndex};

    async fn make() -> SearchHandle {
        let url = std::env::var("TGDESK_OPENSEARCH_URL").expect("TGDESK_OPENSEARCH_URL");
        let prefix = std::env::var("TGDESK_OPENSEARCH_PREFIX").unwrap_or_else(|_| "tgdesk-contract".into());
        let mut config = OpenSearchConfig::new(url, prefix).expect("valid configuration");
        if let (Ok(user), Ok(password)) =
            (std::env::var("TGDESK_OPENSEARCH_USER"), std::env::var("TGDESK_OPENSEARCH_PASSWORD"))
        {
            config.auth = Some(BasicAuth { user, password: password.into() });
        }
        // A single-node test cluster cannot place replicas.
        config.replicas = 0;
        let index = OpenSearchIndex::open(config).await.expect("open the index on the cluster");
        SearchHandle::new(Arc::new(index))
    }

    tgdesk_core::search_contract_suite!(make);
}
