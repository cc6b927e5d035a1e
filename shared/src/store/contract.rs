//! The behaviour every store must have. `contract_tests!` turns each check into a test for a
//! backend: the SQLite store runs them in its unit tests, DynamoDB in `tests/e2e` against
//! DynamoDB Local.

use super::{AccountStore, Invite, InviteStore, StoreError, ThrottleKey, ThrottleStore};
use crate::accounts::{Account, AccountChange, Role};
use crate::password::PasswordDigest;
use crate::users::Username;

/// A username no other test run has used: tests share one table between runs.
pub fn unique_name(prefix: &str) -> Username {
    let mut bytes = [0u8; 5];
    getrandom::fill(&mut bytes).unwrap();
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Username::parse(&format!("{prefix}-{suffix}")).unwrap()
}

fn digest(n: u8) -> PasswordDigest {
    // Valid argon2id PHC strings; the contract never verifies them.
    let hash = format!("{n}{}", "A".repeat(42));
    PasswordDigest::parse(&format!(
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA${hash}"
    ))
    .unwrap()
}

pub fn account(prefix: &str) -> Account {
    Account::new(
        unique_name(prefix),
        None,
        digest(1),
        Role::User,
        1_700_000_000,
    )
}

pub async fn accounts_round_trip<S: AccountStore>(store: &S) {
    let mut original = account("round");
    original.email = Some(crate::accounts::Email::parse("ann@example.com").unwrap());
    original.role = Role::Admin;
    store.create_account(&original).await.unwrap();
    assert_eq!(
        store.account(&original.username).await.unwrap(),
        Some(original.clone())
    );
    assert_eq!(store.account(&unique_name("absent")).await.unwrap(), None);
}

pub async fn usernames_are_unique<S: AccountStore>(store: &S) {
    let first = account("taken");
    store.create_account(&first).await.unwrap();
    let mut second = account("other");
    second.username = first.username.clone();
    second.password = digest(2);
    assert!(matches!(
        store.create_account(&second).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.account(&first.username).await.unwrap(), Some(first));
}

pub async fn simultaneous_sign_ups_make_one_account<S: AccountStore>(a: &S, b: &S) {
    let one = account("race");
    let mut two = one.clone();
    two.password = digest(2);
    let (x, y) = tokio::join!(a.create_account(&one), b.create_account(&two));
    let wins = [x.is_ok(), y.is_ok()].iter().filter(|ok| **ok).count();
    assert_eq!(wins, 1, "{x:?} {y:?}");
    assert!(matches!(x.err().or(y.err()), Some(StoreError::Conflict)));
}

pub async fn accounts_list_in_pages<S: AccountStore>(store: &S) {
    let prefix = unique_name("list");
    let mut names = Vec::new();
    for i in 0..5 {
        let mut a = account("x");
        a.username = Username::parse(&format!("{}-{i}", prefix.as_str())).unwrap();
        store.create_account(&a).await.unwrap();
        names.push(a.username.as_str().to_string());
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.list_accounts(after.as_deref(), 2).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|a| a.username.as_str().to_string()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted, "in username order, each once");
    let ours: Vec<_> = seen
        .into_iter()
        .filter(|n| n.starts_with(prefix.as_str()))
        .collect();
    assert_eq!(ours, names);
}

pub async fn account_changes_apply_and_bump_the_epoch<S: AccountStore>(store: &S) {
    let a = account("change");
    store.create_account(&a).await.unwrap();
    let name = &a.username;

    let changed = store
        .change_account(name, &AccountChange::Password(digest(3)))
        .await
        .unwrap();
    assert_eq!(
        (changed.password.clone(), changed.session_epoch),
        (digest(3), 1)
    );
    let changed = store
        .change_account(name, &AccountChange::SignOutEverywhere)
        .await
        .unwrap();
    assert_eq!(changed.session_epoch, 2);
    let changed = store
        .change_account(name, &AccountChange::Disabled(true))
        .await
        .unwrap();
    assert!(changed.disabled);
    assert_eq!(changed.session_epoch, 3);
    let changed = store
        .change_account(name, &AccountChange::Disabled(false))
        .await
        .unwrap();
    assert!(!changed.disabled);
    assert_eq!(changed.session_epoch, 3);
    let changed = store
        .change_account(name, &AccountChange::Role(Role::Admin))
        .await
        .unwrap();
    assert_eq!(changed.role, Role::Admin);
    assert_eq!(store.account(name).await.unwrap(), Some(changed));

    let missing = store
        .change_account(&unique_name("ghost"), &AccountChange::SignOutEverywhere)
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound)));
    assert_eq!(store.account(&unique_name("ghost")).await.unwrap(), None);
}

pub async fn deleting_an_account_removes_it<S: AccountStore>(store: &S) {
    let a = account("delete");
    store.create_account(&a).await.unwrap();
    store.delete_account(&a.username).await.unwrap();
    assert_eq!(store.account(&a.username).await.unwrap(), None);
    store.delete_account(&a.username).await.unwrap();
    // The name is free again.
    store.create_account(&a).await.unwrap();
}

fn invite(now: u64, lifetime: u64) -> Invite {
    Invite {
        token_hash: unique_name("invite").as_str().to_string(),
        created_by: unique_name("admin"),
        created_at: now,
        expires_at: now + lifetime,
    }
}

pub async fn invites_are_single_use_and_expire<S: AccountStore + InviteStore>(store: &S) {
    let now = 1_800_000_000;
    let live = invite(now, 3600);
    store.create_invite(&live).await.unwrap();
    assert_eq!(
        store.invite(&live.token_hash, now).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        store.invite(&live.token_hash, now + 3600).await.unwrap(),
        None,
        "expired"
    );
    assert_eq!(store.invite("no-such-token", now).await.unwrap(), None);

    let first = account("invited");
    store
        .create_account_with_invite(&first, &live.token_hash, now)
        .await
        .unwrap();
    assert!(store.account(&first.username).await.unwrap().is_some());
    assert_eq!(
        store.invite(&live.token_hash, now).await.unwrap(),
        None,
        "used up"
    );
    let second = account("invited");
    let reused = store
        .create_account_with_invite(&second, &live.token_hash, now)
        .await;
    assert!(
        matches!(reused, Err(StoreError::InviteUnusable)),
        "{reused:?}"
    );
    assert_eq!(
        store.account(&second.username).await.unwrap(),
        None,
        "nothing half-written"
    );

    let old = invite(now - 7200, 3600);
    store.create_invite(&old).await.unwrap();
    let late = account("late");
    let result = store
        .create_account_with_invite(&late, &old.token_hash, now)
        .await;
    assert!(
        matches!(result, Err(StoreError::InviteUnusable)),
        "{result:?}"
    );
    assert_eq!(store.account(&late.username).await.unwrap(), None);
}

pub async fn a_taken_name_does_not_use_up_the_invite<S: AccountStore + InviteStore>(store: &S) {
    let now = 1_800_000_000;
    let existing = account("holder");
    store.create_account(&existing).await.unwrap();
    let inv = invite(now, 3600);
    store.create_invite(&inv).await.unwrap();
    let result = store
        .create_account_with_invite(&existing, &inv.token_hash, now)
        .await;
    assert!(matches!(result, Err(StoreError::Conflict)), "{result:?}");
    assert!(
        store.invite(&inv.token_hash, now).await.unwrap().is_some(),
        "still usable"
    );
}

pub async fn throttle_counts_per_key_and_window<S: ThrottleStore>(store: &S) {
    let key = ThrottleKey::Account(unique_name("throttled").as_str().to_string());
    let other = ThrottleKey::Address(unique_name("addr").as_str().to_string());
    let window = 1_800_000_000;
    assert_eq!(store.failures(&key, window).await.unwrap(), 0);
    for expected in 1..=3 {
        let count = store
            .record_failure(&key, window, window + 1800)
            .await
            .unwrap();
        assert_eq!(count, expected);
    }
    assert_eq!(store.failures(&key, window).await.unwrap(), 3);
    assert_eq!(
        store.failures(&key, window + 900).await.unwrap(),
        0,
        "a new window"
    );
    assert_eq!(
        store.failures(&other, window).await.unwrap(),
        0,
        "another key"
    );
}

pub async fn throttle_counts_parallel_failures_exactly<S: ThrottleStore>(store: &S) {
    let key = ThrottleKey::Address(unique_name("burst").as_str().to_string());
    let window = 1_800_000_000;
    let attempts = (0..8).map(|_| store.record_failure(&key, window, window + 1800));
    for result in futures_join_all(attempts).await {
        result.unwrap();
    }
    assert_eq!(store.failures(&key, window).await.unwrap(), 8);
}

async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut outputs = Vec::new();
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    // Polled together so that a backend with real concurrency sees the requests overlap.
    let mut pending: Vec<_> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut all_done = true;
        for slot in pending.iter_mut() {
            if let Some(f) = slot {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => {
                        outputs.push(out);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all_done = false,
                }
            }
        }
        if all_done {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs
}

/// Generates one test per contract check. `$make` is an async block yielding a fresh store
/// handle; it is called twice for the race test, like two function processes.
#[macro_export]
macro_rules! contract_tests {
    ($make:expr) => {
        #[tokio::test]
        async fn accounts_round_trip() {
            $crate::store::contract::accounts_round_trip(&$make.await).await;
        }
        #[tokio::test]
        async fn usernames_are_unique() {
            $crate::store::contract::usernames_are_unique(&$make.await).await;
        }
        #[tokio::test]
        async fn simultaneous_sign_ups_make_one_account() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::simultaneous_sign_ups_make_one_account(&a, &b).await;
        }
        #[tokio::test]
        async fn accounts_list_in_pages() {
            $crate::store::contract::accounts_list_in_pages(&$make.await).await;
        }
        #[tokio::test]
        async fn account_changes_apply_and_bump_the_epoch() {
            $crate::store::contract::account_changes_apply_and_bump_the_epoch(&$make.await).await;
        }
        #[tokio::test]
        async fn deleting_an_account_removes_it() {
            $crate::store::contract::deleting_an_account_removes_it(&$make.await).await;
        }
        #[tokio::test]
        async fn invites_are_single_use_and_expire() {
            $crate::store::contract::invites_are_single_use_and_expire(&$make.await).await;
        }
        #[tokio::test]
        async fn a_taken_name_does_not_use_up_the_invite() {
            $crate::store::contract::a_taken_name_does_not_use_up_the_invite(&$make.await).await;
        }
        #[tokio::test]
        async fn throttle_counts_per_key_and_window() {
            $crate::store::contract::throttle_counts_per_key_and_window(&$make.await).await;
        }
        #[tokio::test]
        async fn throttle_counts_parallel_failures_exactly() {
            $crate::store::contract::throttle_counts_parallel_failures_exactly(&$make.await).await;
        }
    };
}
