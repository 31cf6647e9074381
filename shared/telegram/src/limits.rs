//! Process limits: every session is a socket, so 10,000 sessions need more
//! open files than the usual soft limit of 1,024.

/// Raises the open-files soft limit to the hard limit and returns the new
/// soft limit. The fleet binary calls it once at start.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_soft_limit_ends_at_the_hard_limit() {
        let raised = super::raise_nofile_limit().expect("raise");
        let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("getrlimit");

        assert_eq!(raised, soft);
        assert!(soft == hard || soft >= 1_000_000, "soft {soft} hard {hard}");
    }
}
