//! The throttle capability's contract.

use super::*;

pub async fn throttle_reserves_up_to_the_limit_per_key_and_window<S: ThrottleStore>(store: &S) {
    let key = ThrottleKey::Account(unique_name("throttled").as_str().to_string());
    let other = ThrottleKey::Address(unique_name("addr").as_str().to_string());
    let window = 1_800_000_000;
    let reserve = |key, window| store.reserve_attempt(key, window, window + 1800, 3);
    for _ in 0..3 {
        assert!(reserve(&key, window).await.unwrap());
    }
    assert!(!reserve(&key, window).await.unwrap(), "past the limit");
    assert!(
        !reserve(&key, window).await.unwrap(),
        "and it stays refused"
    );
    assert!(reserve(&key, window + 900).await.unwrap(), "a new window");
    assert!(reserve(&other, window).await.unwrap(), "another key");
    // A released attempt (one that succeeded) gives its place back.
    store.release_attempt(&key, window).await.unwrap();
    assert!(reserve(&key, window).await.unwrap());
    assert!(!reserve(&key, window).await.unwrap());
    // Releasing what was never reserved counts nothing below zero.
    let fresh = ThrottleKey::Account(unique_name("fresh").as_str().to_string());
    store.release_attempt(&fresh, window).await.unwrap();
    for _ in 0..3 {
        assert!(reserve(&fresh, window).await.unwrap());
    }
    assert!(!reserve(&fresh, window).await.unwrap());
}

/// Parallel attempts through two store handles (two function instances) get exactly the
/// limit between them, never more.
pub async fn throttle_reserves_exactly_the_limit_in_parallel<S: ThrottleStore>(a: &S, b: &S) {
    let key = ThrottleKey::Account(unique_name("burst").as_str().to_string());
    let window = 1_800_000_000;
    let attempts = (0..24).map(|i| {
        let store = if i % 2 == 0 { a } else { b };
        store.reserve_attempt(&key, window, window + 1800, 5)
    });
    let granted = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(Result::unwrap)
        .filter(|granted| *granted)
        .count();
    assert_eq!(granted, 5);
}
