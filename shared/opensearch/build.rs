//! Compiles the search contract suite against a real cluster only when
//! `TGDESK_OPENSEARCH_URL` is set (tests/contract.rs); without it that test
//! binary prints why it skipped.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(opensearch_cluster)");
    println!("cargo::rerun-if-env-changed=TGDESK_OPENSEARCH_URL");
    if std::env::var_os("TGDESK_OPENSEARCH_URL").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=opensearch_cluster");
    }
}
