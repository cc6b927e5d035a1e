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
        monthly_cap: None,
        member_cap: None,
        retention_days: None,
        api_off: false,
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

pub async fn a_groups_cap_stops_every_member_and_counts_parallel_replies_exactly<
    S: ConversationStore + UsageStore + AccountStore + GroupStore,
>(
    a: &S,
    b: &S,
) {
    use crate::usage::{GroupLimit, Month};
    let now = 1_800_000_000;
    let month = Month::of(now);
    let team = GroupId::generate();
    let limit = GroupLimit {
        group: team.clone(),
        month,
        cap: Cost::from_nanos(1_000),
    };
    let ann = owner(a, "team-ann").await;
    let bob = owner(a, "team-bob").await;
    let ca = conversation("Ann's", now);
    let cb = conversation("Bob's", now);
    a.create_conversation(&ann, &ca).await.unwrap();
    a.create_conversation(&bob, &cb).await.unwrap();
    let limits = std::slice::from_ref(&limit);

    // Below the group's cap, each member sends; their replies count in the group's month.
    let reply = send_limited(a, &ann, &ca.id, "one", now, (None, None), limits)
        .await
        .unwrap();
    let mut paid = charge(&ca, "paid", 1, 1, 999);
    paid.groups = vec![team.clone()];
    a.save_reply(&ann, &ca.id, &reply, Some(&paid))
        .await
        .unwrap();
    send_limited(b, &bob, &cb.id, "two", now, (None, None), limits)
        .await
        .unwrap();
    let mut last = charge(&cb, "paid", 1, 1, 1);
    last.groups = vec![team.clone()];
    a.record_usage(&bob, &last).await.unwrap();

    // At the cap, every member is refused, naming the group, and nothing is stored.
    for (who, c) in [(&ann, &ca), (&bob, &cb)] {
        let refused = send_limited(b, who, &c.id, "three", now, (None, None), limits).await;
        assert!(
            matches!(&refused, Err(StoreError::GroupCapReached(g)) if *g == team),
            "{refused:?}"
        );
    }
    let (read, _) = a.conversation(&ann, &ca.id, 0).await.unwrap().unwrap();
    assert_eq!(read.next_seq, 2);
    // Sends at once, through two store handles, from both members: none slips past the cap.
    let texts: Vec<String> = (0..3).map(|i| format!("at once {i}")).collect();
    let (left, right) = futures_util::future::join(
        futures_util::future::join_all(
            texts
                .iter()
                .map(|t| send_limited(a, &ann, &ca.id, t, now, (None, None), limits)),
        ),
        futures_util::future::join_all(
            texts
                .iter()
                .map(|t| send_limited(b, &bob, &cb.id, t, now, (None, None), limits)),
        ),
    )
    .await;
    for refused in left.iter().chain(&right) {
        assert!(
            matches!(refused, Err(StoreError::GroupCapReached(_))),
            "{refused:?}"
        );
    }
    let other = GroupId::generate();
    assert_eq!(
        a.group_spend(&[team.clone(), other.clone()], month)
            .await
            .unwrap(),
        vec![(team.clone(), Cost::from_nanos(1_000)), (other, Cost::ZERO)]
    );

    // Replies finishing at once, through two store handles, all count: no cost is lost.
    let crowd = GroupId::generate();
    let mut charges = Vec::new();
    for i in 0..6 {
        let mut c = charge(&ca, "paid", 1, 1, 10 + i);
        c.groups = vec![crowd.clone()];
        charges.push(c);
    }
    let (left, right) = charges.split_at(3);
    futures_util::future::join(
        futures_util::future::join_all(left.iter().map(|c| a.record_usage(&ann, c))),
        futures_util::future::join_all(right.iter().map(|c| b.record_usage(&bob, c))),
    )
    .await;
    assert_eq!(
        a.group_spend(std::slice::from_ref(&crowd), month)
            .await
            .unwrap(),
        vec![(crowd, Cost::from_nanos(10 + 11 + 12 + 13 + 14 + 15))]
    );
}
