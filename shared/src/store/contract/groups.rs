//! The groups capability's contract.

use super::*;

use crate::groups::{Group, GroupId, GroupName};

pub async fn groups_are_saved_over_the_version_read_and_read_with_the_account<
    S: AccountStore + GroupStore + SessionStore,
>(
    store: &S,
) {
    let before = store.groups().await.unwrap();
    let mut list = before.list.clone();
    let group = Group {
        id: GroupId::generate(),
        name: GroupName::parse(unique_name("Team").as_str()).unwrap(),
        models: Some(vec!["offline".into()]),
        created_at: 1_800_000_000,
    };
    list.push(group.clone());
    let version = store.save_groups(&list, before.version).await.unwrap();
    assert_eq!(version, before.version + 1);
    let after = store.groups().await.unwrap();
    assert_eq!((after.list.clone(), after.version), (list.clone(), version));
    // A save over a version read before someone else's save changes nothing.
    assert!(matches!(
        store.save_groups(&before.list, before.version).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.groups().await.unwrap(), after);

    // An administrator's memberships: joining twice counts once; leaving what one is not in
    // changes nothing.
    let ann = account("member");
    store.create_account(&ann).await.unwrap();
    let other = GroupId::generate();
    for change in [
        AccountChange::JoinGroup(group.id.clone()),
        AccountChange::JoinGroup(group.id.clone()),
        AccountChange::JoinGroup(other.clone()),
        AccountChange::LeaveGroup(GroupId::generate()),
    ] {
        store.change_account(&ann.username, &change).await.unwrap();
    }
    let joined = store.account(&ann.username).await.unwrap().unwrap();
    let mut member_of = joined.member_of.clone();
    member_of.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    let mut expected = vec![group.id.clone(), other.clone()];
    expected.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(member_of, expected);
    store
        .change_account(&ann.username, &AccountChange::LeaveGroup(other.clone()))
        .await
        .unwrap();
    let left = store
        .change_account(&ann.username, &AccountChange::LeaveGroup(group.id.clone()))
        .await
        .unwrap();
    assert!(left.member_of.is_empty());

    // Read with the account, in its one read, when asked for.
    let session = crate::session::Session::new(Some(&ann), std::time::Duration::from_secs(60), 1);
    let read = store
        .signed_in(&ann.username, &session.id, Extras::GROUPS)
        .await
        .unwrap();
    assert!(read.groups.unwrap().list.contains(&group));
    let without = store
        .signed_in(&ann.username, &session.id, Extras::NONE)
        .await
        .unwrap();
    assert_eq!(without.groups, None);
}
