//! The accounts capability's contract.

use super::*;

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

/// Deleting an account takes everything (conversations, messages, usage, share links, ended
/// sessions), is resumable when interrupted after its tombstone, and once begun lets nothing
/// new be written under the account (a reply still streaming included).
pub async fn deleting_an_account_is_complete_and_resumable<
    S: AccountStore + ConversationStore + UsageStore + ShareStore + TransferStore + SessionStore,
>(
    store: &S,
) {
    let ann = account("leaving");
    let name = ann.username.clone();
    store.create_account(&ann).await.unwrap();
    let now = 1_800_000_000;
    let (c1, c2) = (conversation("One", now), conversation("Two", now));
    store.create_conversation(&name, &c1).await.unwrap();
    store.create_conversation(&name, &c2).await.unwrap();
    let streaming = send(store, &name, &c1.id, "hello", now + 1).await;
    for i in 0..30 {
        send(store, &name, &c2.id, &format!("message {i}"), now + 2).await;
    }
    store
        .record_usage(&name, &charge(&c1, "offline", 10, 20, 1_000))
        .await
        .unwrap();
    let token = crate::link_tokens::generate().0;
    store
        .share_conversation(&name, &c1.id, &token)
        .await
        .unwrap();
    let session = crate::session::Session::new(Some(&ann), std::time::Duration::from_secs(60), 1);
    store
        .revoke_session(&name, &session.id, now + 60)
        .await
        .unwrap();
    let transcript = store.export_conversations(&name).await.unwrap();

    // Interrupted right after the tombstone: the account is marked, its name stays taken,
    // and nothing more can be written under it.
    store.begin_account_deletion(&name).await.unwrap();
    let marked = store.account(&name).await.unwrap().unwrap();
    assert!(marked.deleting);
    assert!(!session.is_valid_for(&marked));
    let mut again = account("leaving");
    again.username = name.clone();
    assert!(matches!(
        store.create_account(&again).await,
        Err(StoreError::Conflict)
    ));
    let late = conversation("Late", now + 3);
    assert!(matches!(
        store.create_conversation(&name, &late).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        send_within(store, &name, &c2.id, "more", now + 3, (None, None)).await,
        Err(StoreError::NotFound)
    ));
    let mut finished = streaming.clone();
    finished.text = "a reply that was still streaming".into();
    finished.state = MessageState::Complete;
    let cost = charge(&c1, "offline", 5, 5, 500);
    assert!(
        store
            .save_reply(&name, &c1.id, &finished, Some(&cost))
            .await
            .is_err()
    );
    assert!(store.record_usage(&name, &cost).await.is_err());
    let other = conversation("Other", now);
    assert!(matches!(
        store
            .import_conversations(&name, &[(other, Vec::new())])
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store
            .usage(&name, Month::of(now))
            .await
            .unwrap()
            .total
            .replies,
        1,
        "only the usage from before"
    );
    assert_eq!(
        store.export_conversations(&name).await.unwrap(),
        transcript,
        "nothing written since"
    );

    // Interrupted midway through the purge (one conversation gone, the rest not), then
    // resumed: everything goes, share links too, and then the name is free.
    store.delete_conversation(&name, &c2.id).await.unwrap();
    assert!(store.account(&name).await.unwrap().unwrap().deleting);
    store.delete_account(&name).await.unwrap();
    assert_eq!(store.account(&name).await.unwrap(), None);
    assert!(store.export_conversations(&name).await.unwrap().is_empty());
    assert!(
        store
            .list_conversations(&name, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(store.shared(&token).await.unwrap(), None);
    assert_eq!(
        store.usage(&name, Month::of(now)).await.unwrap(),
        Default::default()
    );
    // A reply finishing after the deletion recreates nothing.
    assert!(
        store
            .save_reply(&name, &c1.id, &finished, Some(&cost))
            .await
            .is_err()
    );
    assert!(store.record_usage(&name, &cost).await.is_err());
    assert_eq!(
        store.usage(&name, Month::of(now)).await.unwrap(),
        Default::default()
    );
    store.delete_account(&name).await.unwrap();
    store.create_account(&again).await.unwrap();
    let read = store
        .signed_in(&name, &session.id, Extras::NONE)
        .await
        .unwrap();
    assert!(
        !read.revoked,
        "the old account's ended sessions went with it"
    );
    assert!(store.export_conversations(&name).await.unwrap().is_empty());
}
