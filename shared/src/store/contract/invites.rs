//! The invites capability's contract.

use super::*;

pub(super) fn invite(now: u64, lifetime: u64) -> Invite {
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
