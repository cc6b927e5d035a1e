//! The identities capability's contract.

use super::*;

use crate::accounts::{Identity, ProviderGroups};

fn identity(subject: &str) -> Identity {
    Identity::new("https://idp.example.com", subject).unwrap()
}

pub async fn a_provider_subject_finds_its_one_account<S: AccountStore + IdentityStore>(store: &S) {
    // Created with its identity: found by it, whatever its name.
    let subject = unique_name("subject");
    let mut ann = account("sso-ann");
    ann.identity = Some(identity(subject.as_str()));
    store.create_account(&ann).await.unwrap();
    let found = store
        .account_by_identity(&identity(subject.as_str()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.id, found.identity),
        (ann.id.clone(), ann.identity.clone())
    );
    let other_issuer = Identity::new("https://other.example.com", subject.as_str()).unwrap();
    assert!(
        store
            .account_by_identity(&other_issuer)
            .await
            .unwrap()
            .is_none()
    );

    // A second account for the same subject is refused, and nothing of it is stored.
    let mut twin = account("sso-twin");
    twin.identity = ann.identity.clone();
    assert!(matches!(
        store.create_account(&twin).await,
        Err(StoreError::Conflict)
    ));
    assert!(store.account(&twin.username).await.unwrap().is_none());

    // Groups are replaced at each sign-on.
    let (groups, _) = ProviderGroups::bounded(["staff".to_string(), "ops".to_string()]);
    let changed = store
        .change_account(&ann.username, &AccountChange::Groups(groups.clone()))
        .await
        .unwrap();
    assert_eq!(changed.groups, groups);
    let none = store
        .change_account(
            &ann.username,
            &AccountChange::Groups(ProviderGroups::default()),
        )
        .await
        .unwrap();
    assert!(none.groups.is_empty());

    // Deleting the account frees the subject.
    store.delete_account(&ann.username).await.unwrap();
    assert!(
        store
            .account_by_identity(&identity(subject.as_str()))
            .await
            .unwrap()
            .is_none()
    );
    store.create_account(&twin).await.unwrap();
}

pub async fn an_account_is_linked_once<S: AccountStore + IdentityStore>(store: &S) {
    let bob = account("sso-bob");
    store.create_account(&bob).await.unwrap();
    let subject = unique_name("subject");
    let linked = store
        .link_identity(&bob.username, &identity(subject.as_str()))
        .await
        .unwrap();
    assert_eq!(linked.identity, Some(identity(subject.as_str())));
    assert_eq!(linked.id, bob.id);
    assert_eq!(
        store
            .account_by_identity(&identity(subject.as_str()))
            .await
            .unwrap()
            .map(|a| a.username),
        Some(bob.username.clone())
    );
    // Not re-linked to another subject, and the subject links no second account.
    assert!(matches!(
        store
            .link_identity(&bob.username, &identity(unique_name("subject").as_str()))
            .await,
        Err(StoreError::Conflict)
    ));
    let carol = account("sso-carol");
    store.create_account(&carol).await.unwrap();
    assert!(matches!(
        store
            .link_identity(&carol.username, &identity(subject.as_str()))
            .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        store
            .account(&carol.username)
            .await
            .unwrap()
            .unwrap()
            .identity,
        None
    );
    // No account, or one being deleted: NotFound.
    assert!(matches!(
        store
            .link_identity(&unique_name("nobody"), &identity(unique_name("s").as_str()))
            .await,
        Err(StoreError::NotFound)
    ));
    store.begin_account_deletion(&carol.username).await.unwrap();
    assert!(matches!(
        store
            .link_identity(&carol.username, &identity(unique_name("s").as_str()))
            .await,
        Err(StoreError::NotFound)
    ));
}
