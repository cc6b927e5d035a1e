//! The usage capability's contract.

use super::*;

pub async fn usage_adds_up_by_month_model_and_conversation<
    S: ConversationStore + UsageStore + AccountStore,
>(
    store: &S,
) {
    let ann = account("usage");
    store.create_account(&ann).await.unwrap();
    let owner = &ann.username;
    let now = 1_800_000_000;
    let month = Month::of(now);
    let (c1, c2) = (conversation("First", now), conversation("Second", now));
    store.create_conversation(owner, &c1).await.unwrap();
    store.create_conversation(owner, &c2).await.unwrap();

    let mut reply = send(store, owner, &c1.id, "one", now).await;
    reply.text = "An answer.".into();
    reply.state = MessageState::Complete;
    reply.cost = Some(Cost::from_nanos(1_000));
    let paid = charge(&c1, "paid", 100, 20, 1_000);
    store
        .save_reply(owner, &c1.id, &reply, Some(&paid))
        .await
        .unwrap();
    let (_, messages) = store
        .conversation(owner, &c1.id, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        messages[1].cost,
        Some(Cost::from_nanos(1_000)),
        "the reply keeps its cost"
    );

    let reply2 = send(store, owner, &c2.id, "two", now).await;
    store
        .save_reply(
            owner,
            &c2.id,
            &reply2,
            Some(&charge(&c2, "paid", 10, 5, 300)),
        )
        .await
        .unwrap();
    store
        .record_usage(owner, &charge(&c1, "offline", 7, 7, 0))
        .await
        .unwrap();

    // A reply replaced by a newer turn is not saved, and neither is its charge.
    let mut stale = reply.clone();
    stale.turn = new_turn_id();
    assert!(matches!(
        store.save_reply(owner, &c1.id, &stale, Some(&paid)).await,
        Err(StoreError::Conflict)
    ));

    let report = store.usage(owner, month).await.unwrap();
    assert_eq!(
        report.total,
        Totals {
            input_tokens: 117,
            output_tokens: 32,
            cost: Cost::from_nanos(1_300),
            replies: 3,
            estimated_replies: 1,
            cache: Default::default(),
        }
    );
    let models: Vec<_> = report
        .by_model
        .iter()
        .map(|l| (l.id.as_str(), l.totals.cost.nanos(), l.totals.replies))
        .collect();
    assert_eq!(models, [("paid", 1_300, 2), ("offline", 0, 1)]);
    let conversations: Vec<_> = report
        .by_conversation
        .iter()
        .map(|l| (l.id.as_str(), l.label.as_str(), l.totals.cost.nanos()))
        .collect();
    assert_eq!(
        conversations,
        [
            (c1.id.as_str(), "First", 1_000),
            (c2.id.as_str(), "Second", 300)
        ]
    );
    assert_eq!(
        store.usage(owner, month.previous()).await.unwrap(),
        Default::default()
    );

    let name = owner.as_str();
    let spend = store.spend_between(month, name, name).await.unwrap();
    assert_eq!(spend, [(name.to_string(), report.total)]);
    // With no lower bound: everyone up to the upper one (the spending page's whole list).
    let everyone = store.spend_between(month, "", "~").await.unwrap();
    assert!(
        everyone
            .iter()
            .any(|(n, t)| n == name && *t == report.total)
    );
    assert!(
        store
            .spend_between(month.previous(), name, name)
            .await
            .unwrap()
            .is_empty()
    );

    // Usage is the account's: deleting the account deletes it.
    store.delete_account(owner).await.unwrap();
    assert_eq!(store.usage(owner, month).await.unwrap(), Default::default());
    assert!(
        store
            .spend_between(month, name, name)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn sends_stop_at_the_spend_cap<S: ConversationStore + UsageStore + AccountStore>(
    store: &S,
) {
    let ann = owner(store, "capped").await;
    let now = 1_800_000_000;
    let month = Month::of(now);
    let c = conversation("Capped", now);
    store.create_conversation(&ann, &c).await.unwrap();
    let limit = SpendLimit {
        month,
        cap: Cost::from_nanos(1_000),
    };
    // Below the cap (nothing spent yet), a send goes through.
    let reply = send_within(store, &ann, &c.id, "one", now, (Some(limit), None))
        .await
        .unwrap();
    store
        .save_reply(&ann, &c.id, &reply, Some(&charge(&c, "paid", 1, 1, 999)))
        .await
        .unwrap();
    send_within(store, &ann, &c.id, "two", now, (Some(limit), None))
        .await
        .unwrap();
    store
        .record_usage(&ann, &charge(&c, "paid", 1, 1, 1))
        .await
        .unwrap();
    // At the cap, sends are refused and nothing is stored.
    let refused = send_within(store, &ann, &c.id, "three", now, (Some(limit), None)).await;
    assert!(
        matches!(refused, Err(StoreError::SpendCapReached)),
        "{refused:?}"
    );
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert_eq!(read.next_seq, 4);
    // A higher cap, or the next month, lets sends through again.
    let higher = SpendLimit {
        month,
        cap: Cost::from_nanos(1_001),
    };
    send_within(store, &ann, &c.id, "four", now, (Some(higher), None))
        .await
        .unwrap();
    let next_month = SpendLimit {
        month: Month::of(now + 31 * 86_400),
        ..limit
    };
    send_within(store, &ann, &c.id, "five", now, (Some(next_month), None))
        .await
        .unwrap();
}

pub async fn the_send_rate_counts_parallel_sends_exactly<S: ConversationStore + AccountStore>(
    a: &S,
    b: &S,
) {
    let ann = owner(a, "rate").await;
    let now = 1_800_000_000;
    let rate = SendRate::at(now, 60, 3);
    let conversations: Vec<_> = (0..6)
        .map(|i| conversation(&format!("c{i}"), now))
        .collect();
    for c in &conversations {
        a.create_conversation(&ann, c).await.unwrap();
    }
    let sends = conversations.iter().enumerate().map(|(i, c)| {
        let store = if i % 2 == 0 { a } else { b };
        let ann = &ann;
        async move { send_within(store, ann, &c.id, "hi", now, (None, Some(rate))).await }
    });
    let results = futures_util::future::join_all(sends).await;
    let sent = results.iter().filter(|r| r.is_ok()).count();
    let limited = results
        .iter()
        .filter(|r| matches!(r, Err(StoreError::RateLimited)))
        .count();
    assert_eq!((sent, limited), (3, 3), "{results:?}");
    // The next window starts afresh.
    let later = SendRate::at(now + 60, 60, 3);
    send_within(
        a,
        &ann,
        &conversations[0].id,
        "again",
        now + 60,
        (None, Some(later)),
    )
    .await
    .unwrap();
}

/// An API call writes no conversation, yet is held to the same caps and the same send
/// count as a turn, atomically; a refused call counts nothing.
pub async fn calls_without_a_conversation_are_held_to_the_same_limits<
    S: ConversationStore + UsageStore + AccountStore,
>(
    store: &S,
) {
    use crate::limits::SendLimits;
    let ann = owner(store, "api-limits").await;
    let now = 1_800_000_000;
    let month = Month::of(now);
    let cap = |nanos| {
        Some(SpendLimit {
            month,
            cap: Cost::from_nanos(nanos),
        })
    };
    let within = |spend_limit, rate| SendLimits {
        spend_limit,
        group_limits: Vec::new(),
        rate,
    };
    // A cap of zero refuses before anything is spent, calls and turns alike.
    let zero = store.reserve_send(&ann, &within(cap(0), None)).await;
    assert!(matches!(zero, Err(StoreError::SpendCapReached)), "{zero:?}");
    store
        .reserve_send(&ann, &within(cap(1_000), None))
        .await
        .unwrap();
    let c = conversation("API limits", now);
    store.create_conversation(&ann, &c).await.unwrap();
    let zero = send_within(store, &ann, &c.id, "hi", now, (cap(0), None)).await;
    assert!(matches!(zero, Err(StoreError::SpendCapReached)), "{zero:?}");
    store
        .record_usage(&ann, &charge(&c, "paid", 1, 1, 1_000))
        .await
        .unwrap();
    let refused = store.reserve_send(&ann, &within(cap(1_000), None)).await;
    assert!(
        matches!(refused, Err(StoreError::SpendCapReached)),
        "{refused:?}"
    );
    // Refused for the cap, the call was not counted against the rate.
    let rate = Some(SendRate::at(now, 60, 3));
    let refused = store.reserve_send(&ann, &within(cap(1_000), rate)).await;
    assert!(matches!(refused, Err(StoreError::SpendCapReached)));
    // Calls and turns share one count: two calls and a turn fill the window of three.
    store.reserve_send(&ann, &within(None, rate)).await.unwrap();
    send_within(store, &ann, &c.id, "hi", now, (None, rate))
        .await
        .unwrap();
    store.reserve_send(&ann, &within(None, rate)).await.unwrap();
    let refused = store.reserve_send(&ann, &within(None, rate)).await;
    assert!(
        matches!(refused, Err(StoreError::RateLimited)),
        "{refused:?}"
    );
    let refused = send_within(store, &ann, &c.id, "again", now, (None, rate)).await;
    assert!(
        matches!(refused, Err(StoreError::RateLimited)),
        "{refused:?}"
    );
    // The next window starts afresh.
    let later = Some(SendRate::at(now + 60, 60, 3));
    store
        .reserve_send(&ann, &within(None, later))
        .await
        .unwrap();
    // A deleted account's calls are refused.
    store.delete_account(&ann).await.unwrap();
    let gone = store.reserve_send(&ann, &within(None, later)).await;
    assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
}

pub async fn spend_caps_are_kept<S: AccountStore + UsageStore + SessionStore>(store: &S) {
    let ann = account("cap");
    store.create_account(&ann).await.unwrap();
    let five = Cost::parse_dollars("5").unwrap();
    let changed = store
        .change_account(&ann.username, &AccountChange::SpendCap(Some(five)))
        .await
        .unwrap();
    assert_eq!(changed.spend_cap, Some(five));
    assert_eq!(
        changed.session_epoch, ann.session_epoch,
        "a cap signs nobody out"
    );
    let read = store.account(&ann.username).await.unwrap().unwrap();
    assert_eq!(read.spend_cap, Some(five));
    let cleared = store
        .change_account(&ann.username, &AccountChange::SpendCap(None))
        .await
        .unwrap();
    assert_eq!(cleared.spend_cap, None);

    // The default is one setting for the whole portal: tests running at once may change it,
    // so this check sets and reads it back in one go.
    let original = store.default_spend_cap().await.unwrap();
    let seven = Cost::parse_dollars("7.25").unwrap();
    store.set_default_spend_cap(Some(seven)).await.unwrap();
    assert_eq!(store.default_spend_cap().await.unwrap(), Some(seven));
    // Read together with an account (a send's one read), with or without the account.
    let session = crate::session::Session::new(Some(&ann), std::time::Duration::from_secs(60), 1);
    let read = store
        .signed_in(&ann.username, &session.id, Extras::SPEND_CAP)
        .await
        .unwrap();
    assert_eq!(read.account.map(|a| a.username), Some(ann.username.clone()));
    assert_eq!(read.default_spend_cap, Some(Some(seven)));
    let nobody = unique_name("nobody");
    let read = store
        .signed_in(&nobody, &session.id, Extras::SPEND_CAP)
        .await
        .unwrap();
    assert_eq!(
        (read.account, read.default_spend_cap),
        (None, Some(Some(seven)))
    );
    store.set_default_spend_cap(None).await.unwrap();
    assert_eq!(store.default_spend_cap().await.unwrap(), None);
    let read = store
        .signed_in(&ann.username, &session.id, Extras::SPEND_CAP)
        .await
        .unwrap();
    assert!(read.account.is_some());
    assert_eq!(read.default_spend_cap, Some(None));
    store.set_default_spend_cap(original).await.unwrap();
}

/// Prompt caching's tokens and savings add up like the rest, by month, model and conversation.
pub async fn usage_counts_what_the_cache_served_and_saved<
    S: ConversationStore + UsageStore + AccountStore,
>(
    store: &S,
) {
    let owner = owner(store, "cached").await;
    let now = 1_800_000_000;
    let c = conversation("Long one", now);
    store.create_conversation(&owner, &c).await.unwrap();
    let cached = |read, write, saved| crate::usage::Cached {
        read_tokens: read,
        write_tokens: write,
        saved: Cost::from_nanos(saved),
    };
    for cache in [
        cached(0, 900, 0),
        cached(900, 40, 810),
        cached(940, 35, 846),
    ] {
        let mut charge = charge(&c, "claude", 20, 30, 5_000);
        charge.cache = cache;
        store.record_usage(&owner, &charge).await.unwrap();
    }
    let report = store.usage(&owner, Month::of(now)).await.unwrap();
    let expected = cached(1_840, 975, 1_656);
    assert_eq!(report.total.cache, expected);
    assert_eq!(report.by_model[0].totals.cache, expected);
    assert_eq!(report.by_conversation[0].totals.cache, expected);
    assert_eq!(
        report.total.input_tokens, 60,
        "cached tokens are counted apart"
    );
}

pub async fn model_spend_adds_up_every_accounts_replies<S: UsageStore + AccountStore>(store: &S) {
    let now = 1_800_000_000;
    let month = Month::of(now);
    let ann = owner(store, "model-ann").await;
    let bob = owner(store, "model-bob").await;
    let c = conversation("Models", now);
    // Model ids of this run only: the table is shared between runs.
    let first = unique_name("model").as_str().to_string();
    let second = unique_name("model").as_str().to_string();
    for (who, model, cost) in [(&ann, &first, 100), (&bob, &first, 20), (&bob, &second, 3)] {
        store
            .record_usage(who, &charge(&c, model, 10, 5, cost))
            .await
            .unwrap();
    }
    let spend = store.model_spend(month).await.unwrap();
    let of = |id: &str| spend.iter().find(|(m, _)| m == id).map(|(_, t)| *t);
    let first_totals = of(&first).unwrap();
    assert_eq!(
        (
            first_totals.cost,
            first_totals.replies,
            first_totals.input_tokens
        ),
        (Cost::from_nanos(120), 2, 20)
    );
    assert_eq!(of(&second).unwrap().cost, Cost::from_nanos(3));
    let next = store
        .model_spend(Month::of(now + 40 * 86_400))
        .await
        .unwrap();
    assert!(next.iter().all(|(m, _)| *m != first));
}

pub async fn usage_adds_up_by_day<S: UsageStore + AccountStore>(store: &S) {
    let now = 1_800_000_000;
    let ann = owner(store, "daily").await;
    let c = conversation("Days", now);
    for (day, cost) in [(3, 10), (17, 5), (3, 2)] {
        let mut charge = charge(&c, "paid", 1, 1, cost);
        charge.day = day;
        store.record_usage(&ann, &charge).await.unwrap();
    }
    let report = store.usage(&ann, Month::of(now)).await.unwrap();
    let days: Vec<(u8, u64, u64)> = report
        .by_day
        .iter()
        .map(|(day, t)| (*day, t.cost.nanos(), t.replies))
        .collect();
    assert_eq!(days, [(3, 12, 2), (17, 5, 1)]);
    assert_eq!(report.total.cost, Cost::from_nanos(17));
}
