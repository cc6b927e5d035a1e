//! Every password check needs argon2's 19 MiB of blocks. A warm function checks password
//! after password in one process, so that memory must be reused, not kept anew each time:
//! this runs many checks and hashes in one process (its own, so that no other test's memory
//! counts) and bounds the growth of its resident memory.

use secrecy::SecretString;
use shared::password;

/// Resident memory of this process, in KiB, from `/proc/self/status`.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux's /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[test]
fn many_checks_keep_memory_flat() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let secret = |s: &str| SecretString::from(s.to_string());
        let digest = password::hash(&secret("violet kettle marching owl"));
        // The first check sets up what every later one reuses.
        assert!(password::verify(
            &secret("violet kettle marching owl"),
            Some(&digest)
        ));
        let before = resident_kib();
        for round in 0..40 {
            // Sign-ins, right and wrong, an unknown name (the dummy hash) and new passwords.
            assert!(password::verify(
                &secret("violet kettle marching owl"),
                Some(&digest)
            ));
            assert!(!password::verify(&secret("wrong password"), Some(&digest)));
            assert!(!password::verify(&secret("anyone"), None));
            if round % 4 == 0 {
                let again = password::hash(&secret("another fine password"));
                assert!(password::verify(
                    &secret("another fine password"),
                    Some(&again)
                ));
            }
            tokio::task::yield_now().await;
        }
        let grown_mib = resident_kib().saturating_sub(before) / 1024;
        // 130 checks that each kept their blocks would hold over 2 GiB.
        assert!(
            grown_mib < 24,
            "resident memory grew by {grown_mib} MiB over 130 password checks"
        );
    });
}
