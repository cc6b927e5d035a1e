//! The sessions capability's contract.

use super::*;

pub async fn signed_in_reads_the_account_and_whether_the_session_ended<
    S: AccountStore + SessionStore + UsageStore,
>(
    store: &S,
) {
    let ann = account("session");
    store.create_account(&ann).await.unwrap();
    let (laptop, phone) = (
        crate::session::Session::new(Some(&ann), std::time::Duration::from_secs(60), 1_000),
        crate::session::Session::new(Some(&ann), std::time::Duration::from_secs(60), 1_000),
    );
    let read = store
        .signed_in(&ann.username, &laptop.id, Extras::NONE)
        .await
        .unwrap();
    assert_eq!(read.account.as_ref(), Some(&ann));
    assert!(!read.revoked);
    assert_eq!(read.default_spend_cap, None, "not asked for");

    // Signing out on the laptop ends that session only.
    store
        .revoke_session(&ann.username, &laptop.id, 1_060)
        .await
        .unwrap();
    store
        .revoke_session(&ann.username, &laptop.id, 1_060)
        .await
        .unwrap();
    assert!(
        store
            .signed_in(&ann.username, &laptop.id, Extras::NONE)
            .await
            .unwrap()
            .revoked
    );
    let read = store
        .signed_in(&ann.username, &phone.id, Extras::SPEND_CAP)
        .await
        .unwrap();
    assert!(!read.revoked);
    assert_eq!(read.account.as_ref(), Some(&ann));
    assert!(
        read.default_spend_cap.is_some(),
        "asked for: read with the account"
    );

    // No account: nothing to find, whatever the session.
    let nobody = store
        .signed_in(&unique_name("nobody"), &laptop.id, Extras::NONE)
        .await
        .unwrap();
    assert_eq!((nobody.account, nobody.revoked), (None, false));

    // Deleting the account takes its ended sessions with it; a new account of the same name
    // is another account.
    store.delete_account(&ann.username).await.unwrap();
    let mut again = account("session");
    again.username = ann.username.clone();
    store.create_account(&again).await.unwrap();
    let read = store
        .signed_in(&ann.username, &laptop.id, Extras::NONE)
        .await
        .unwrap();
    assert!(!read.revoked);
    let stored = read.account.unwrap();
    assert_ne!(stored.id, ann.id, "an account's id is never reused");
    assert!(!laptop.is_valid_for(&stored));
}
