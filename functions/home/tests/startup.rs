//! The real binary refuses to start on a bad configuration, and says which variable is wrong.

use std::process::Command;

fn start(vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_home"))
        .env_clear()
        .envs(vars.iter().copied())
        // Away from the repository, so that no .env file is found.
        .current_dir(std::env::temp_dir())
        .output()
        .expect("the binary runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn a_missing_variable_stops_start_up_and_is_named() {
    let (code, stderr) = start(&[]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("SWITCHBOARD_SESSION_KEY is not set"),
        "{stderr}"
    );
}

#[test]
fn an_invalid_variable_stops_start_up_and_is_named() {
    let key = "c3dpdGNoYm9hcmQtdGVzdC1rZXktc3dpdGNoYm9hcmQtdGVzdC1rZXktc3dpdGNoYm9hcmQtdGVzdC1rZXktMDEyMzQ1Njc=";
    let (code, stderr) = start(&[
        ("SWITCHBOARD_SESSION_KEY", key),
        ("SWITCHBOARD_BOOTSTRAP_ADMINS", "alice=not-a-hash"),
    ]);
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("SWITCHBOARD_BOOTSTRAP_ADMINS is invalid"),
        "{stderr}"
    );
    assert!(!stderr.contains(key), "secrets are not echoed: {stderr}");
}
