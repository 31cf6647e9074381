//! Process limits: every session is a socket, so 10,000 sessions need more
//! open files than the usual soft limit of 1,024.

/// Raises the open-files soft limit to the hard limit and returns the new
/// soft limit. The fleet binary calls it once at start.
pub fn raise_nofile_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

/// Smallest allocation glibc serves with its own memory map once this ran.
const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Serves allocations of 128 KiB and more with their own memory maps.
/// grammers gives every connection 1 MiB (+ 8 KiB) read and write buffers,
/// zeroed; glibc's adaptive threshold soon puts such blocks on the heap, where
/// the zeroing makes every page resident: about 300 KiB per idle session
/// instead of about 50 KiB (bench/results/sessions*.json). Mapping anything
/// that lives on a hot path would cost a fresh zeroed page per touch: tokio
/// allocated grammers' update channels in 168 KiB blocks (32 updates of
/// 5 KiB), which the vendored grammers-mtsender now boxes (256-byte blocks;
/// vendor/grammers-mtsender/TGDESK-PATCH.md). Call it once at start,
/// before sessions connect. Returns false where it does not apply (not glibc)
/// or glibc refused.
pub fn tune_allocator_for_sessions() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes glibc's allocation thresholds; it is
        // safe to call at any time and takes plain integers.
        unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        let _ = MMAP_THRESHOLD;
        false
    }
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

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn glibc_takes_the_mmap_threshold() {
        assert!(super::tune_allocator_for_sessions());
    }
}
