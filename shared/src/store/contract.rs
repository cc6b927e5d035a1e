//! The behaviour every store must have. `contract_tests!` turns each check into a test for a
//! backend: the SQLite store runs them in its unit tests, DynamoDB in `tests/e2e` against
//! DynamoDB Local.

use super::{
    AccountStore, ActivityCursor, ConversationStore, Invite, InviteStore, SessionStore, ShareStore,
    StoreError, ThrottleKey, ThrottleStore, TransferStore, TurnWrite, UsageStore,
};
use crate::accounts::{Account, AccountChange, Role};
use crate::conversations::{
    Conversation, ConversationId, MAX_REPLY_BYTES, Message, MessageState, MessageText, Speaker,
    Title, new_turn_id,
};
use crate::password::PasswordDigest;
use crate::usage::{Charge, Cost, Month, SendRate, SpendLimit, Totals};
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

/// A new account's username: everything a user owns is written under a live account.
pub async fn owner<S: AccountStore>(store: &S, prefix: &str) -> Username {
    let account = account(prefix);
    store.create_account(&account).await.unwrap();
    account.username
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
    let read = store.signed_in(&name, &session.id, false).await.unwrap();
    assert!(
        !read.revoked,
        "the old account's ended sessions went with it"
    );
    assert!(store.export_conversations(&name).await.unwrap().is_empty());
}

/// Two identical imports at once (a double submit), through two store handles: each
/// conversation is added once and whole, and neither undoes the other's.
pub async fn simultaneous_imports_add_each_conversation_once<
    S: AccountStore + ConversationStore + TransferStore,
>(
    a: &S,
    b: &S,
) {
    let source = owner(a, "source").await;
    let now = 1_800_000_000;
    let mut ids = Vec::new();
    for i in 0..6 {
        let c = conversation(&format!("Conversation {i}"), now + i);
        a.create_conversation(&source, &c).await.unwrap();
        for j in 0..(i * 3) {
            send(a, &source, &c.id, &format!("message {j}"), now + 10).await;
        }
        ids.push(c.id);
    }
    let exported = a.export_conversations(&source).await.unwrap();
    let target = owner(a, "target").await;
    let (first, second) = futures_util::join!(
        a.import_conversations(&target, &exported),
        b.import_conversations(&target, &exported)
    );
    let added = first.unwrap() + second.unwrap();
    assert_eq!(added, exported.len(), "each conversation added once");
    assert_eq!(a.export_conversations(&target).await.unwrap(), exported);
    assert_eq!(b.import_conversations(&target, &exported).await.unwrap(), 0);
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
        .signed_in(&ann.username, &laptop.id, false)
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
            .signed_in(&ann.username, &laptop.id, false)
            .await
            .unwrap()
            .revoked
    );
    let read = store
        .signed_in(&ann.username, &phone.id, true)
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
        .signed_in(&unique_name("nobody"), &laptop.id, false)
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
        .signed_in(&ann.username, &laptop.id, false)
        .await
        .unwrap();
    assert!(!read.revoked);
    let stored = read.account.unwrap();
    assert_ne!(stored.id, ann.id, "an account's id is never reused");
    assert!(!laptop.is_valid_for(&stored));
}

fn conversation(title: &str, updated_at: u64) -> Conversation {
    let mut c = Conversation::new(
        Title::parse(title).unwrap(),
        "offline".into(),
        None,
        updated_at,
    );
    c.updated_at = updated_at;
    c
}

/// Sends `text` the way the chat function does: read, write the user's message and an empty
/// reply after the last message, and on a conflict read again and retry.
async fn send<S: ConversationStore>(
    store: &S,
    owner: &crate::users::Username,
    id: &ConversationId,
    text: &str,
    now: u64,
) -> Message {
    send_within(store, owner, id, text, now, (None, None))
        .await
        .unwrap()
}

/// `send` with a spend limit and a send rate.
async fn send_within<S: ConversationStore>(
    store: &S,
    owner: &crate::users::Username,
    id: &ConversationId,
    text: &str,
    now: u64,
    limits: (Option<SpendLimit>, Option<SendRate>),
) -> Result<Message, StoreError> {
    let text = MessageText::parse(text).unwrap();
    for _ in 0..20 {
        let (c, _) = store.conversation(owner, id, 0).await.unwrap().unwrap();
        let turn = new_turn_id();
        let n = c.next_seq;
        let messages = [
            Message::user(n, &text, &turn, now),
            Message::pending_reply(n + 1, "offline", &turn, now),
        ];
        let write = TurnWrite {
            expected_next_seq: n,
            next_seq: n + 2,
            model: "offline",
            messages: &messages,
            now,
            spend_limit: limits.0,
            rate: limits.1,
        };
        match store.write_turn(owner, id, &write).await {
            Ok(()) => return Ok(messages[1].clone()),
            Err(StoreError::Conflict) => continue,
            Err(err) => return Err(err),
        }
    }
    panic!("no send got through in 20 tries")
}

pub async fn conversations_belong_to_their_owner<S: ConversationStore + AccountStore>(store: &S) {
    let (ann, bob) = (owner(store, "ann").await, owner(store, "bob").await);
    let mut c = conversation("Plans", 1_800_000_000);
    c.system = Some("Be brief.".into());
    store.create_conversation(&ann, &c).await.unwrap();
    let (read, messages) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(read, c);
    assert!(messages.is_empty());
    assert_eq!(store.conversation(&bob, &c.id, 10).await.unwrap(), None);
    let missing = ConversationId::generate();
    assert_eq!(store.conversation(&ann, &missing, 10).await.unwrap(), None);
    let title = Title::parse("Holiday plans").unwrap();
    store
        .rename_conversation(&ann, &c.id, &title)
        .await
        .unwrap();
    assert!(matches!(
        store.rename_conversation(&bob, &c.id, &title).await,
        Err(StoreError::NotFound)
    ));
    let (read, _) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(read.title, "Holiday plans");
    assert!(
        store
            .list_conversations(&bob, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

pub async fn turns_keep_order_and_refuse_stale_writes<S: ConversationStore + AccountStore>(
    store: &S,
) {
    let ann = owner(store, "ann").await;
    let c = conversation("Order", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    let mut reply = send(store, &ann, &c.id, "first", 1_800_000_001).await;
    let stale = TurnWrite {
        expected_next_seq: 0,
        next_seq: 2,
        model: "offline",
        messages: &[],
        now: 1_800_000_002,
        spend_limit: None,
        rate: None,
    };
    assert!(matches!(
        store.write_turn(&ann, &c.id, &stale).await,
        Err(StoreError::Conflict)
    ));
    let gone = ConversationId::generate();
    assert!(matches!(
        store.write_turn(&ann, &gone, &stale).await,
        Err(StoreError::NotFound)
    ));
    reply.text = "Hel".into();
    store.save_reply(&ann, &c.id, &reply, None).await.unwrap();
    let (read, messages) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(read.next_seq, 2);
    assert_eq!(read.updated_at, 1_800_000_001);
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0].speaker, Speaker::User);
    assert_eq!(messages[0].text, "first");
    assert_eq!(messages[1], reply);

    // Regenerating replaces the reply under a new turn; the old turn can no longer save.
    let regenerated = Message::pending_reply(1, "other", &new_turn_id(), 1_800_000_003);
    let write = TurnWrite {
        expected_next_seq: 2,
        next_seq: 2,
        model: "other",
        messages: std::slice::from_ref(&regenerated),
        now: 1_800_000_003,
        spend_limit: None,
        rate: None,
    };
    store.write_turn(&ann, &c.id, &write).await.unwrap();
    reply.text = "Hello from the old turn".into();
    assert!(matches!(
        store.save_reply(&ann, &c.id, &reply, None).await,
        Err(StoreError::Conflict)
    ));
    let mut done = regenerated.clone();
    done.text = "x".repeat(MAX_REPLY_BYTES);
    done.state = MessageState::Complete;
    done.input_tokens = Some(12);
    done.output_tokens = Some(34);
    store.save_reply(&ann, &c.id, &done, None).await.unwrap();
    let (read, messages) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(read.model, "other");
    assert_eq!(
        messages[1], done,
        "a reply of the largest size kept round-trips"
    );
}

pub async fn concurrent_sends_lose_nothing<S: ConversationStore + AccountStore>(a: &S, b: &S) {
    let ann = owner(a, "ann").await;
    let c = conversation("Race", 1_800_000_000);
    a.create_conversation(&ann, &c).await.unwrap();
    let sends = (0..6).map(|i| {
        let store = if i % 2 == 0 { a } else { b };
        let (ann, id) = (&ann, &c.id);
        async move { send(store, ann, id, &format!("message {i}"), 1_800_000_001).await }
    });
    futures_util::future::join_all(sends).await;
    let (read, messages) = a.conversation(&ann, &c.id, 50).await.unwrap().unwrap();
    assert_eq!(read.next_seq, 12);
    assert_eq!(messages.len(), 12);
    let mut texts: Vec<_> = messages.iter().step_by(2).map(|m| m.text.clone()).collect();
    texts.sort();
    assert_eq!(
        texts,
        (0..6).map(|i| format!("message {i}")).collect::<Vec<_>>()
    );
    for (i, pair) in messages.chunks(2).enumerate() {
        assert_eq!(pair[0].seq as usize, 2 * i);
        assert_eq!(pair[0].speaker, Speaker::User);
        assert_eq!(pair[1].speaker, Speaker::Assistant);
        assert_eq!(
            pair[0].turn, pair[1].turn,
            "each reply follows its own message"
        );
    }
}

pub async fn history_reads_in_pages<S: ConversationStore + AccountStore>(store: &S) {
    let ann = owner(store, "ann").await;
    let c = conversation("Long", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    for i in 0..4 {
        send(store, &ann, &c.id, &format!("m{i}"), 1_800_000_001).await;
    }
    let (_, latest) = store.conversation(&ann, &c.id, 3).await.unwrap().unwrap();
    assert_eq!(latest.iter().map(|m| m.seq).collect::<Vec<_>>(), [5, 6, 7]);
    let before = store.messages_before(&ann, &c.id, 5, 3).await.unwrap();
    assert_eq!(before.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 3, 4]);
    let first = store.messages_before(&ann, &c.id, 2, 3).await.unwrap();
    assert_eq!(first.iter().map(|m| m.seq).collect::<Vec<_>>(), [0, 1]);
    assert!(
        store
            .messages_before(&ann, &c.id, 0, 3)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn conversations_list_by_recent_activity<S: ConversationStore + AccountStore>(store: &S) {
    let ann = owner(store, "ann").await;
    let [old, middle, new] = [100, 200, 300].map(|t| conversation("c", 1_800_000_000 + t));
    for c in [&old, &middle, &new] {
        store.create_conversation(&ann, c).await.unwrap();
    }
    let ids = |page: &super::Page<Conversation>| {
        page.items
            .iter()
            .map(|c| c.id.as_str().to_string())
            .collect::<Vec<_>>()
    };
    let first = store.list_conversations(&ann, None, 2).await.unwrap();
    assert_eq!(ids(&first), [new.id.as_str(), middle.id.as_str()]);
    let cursor = ActivityCursor::parse(first.next.as_deref().unwrap()).unwrap();
    let second = store
        .list_conversations(&ann, Some(&cursor), 2)
        .await
        .unwrap();
    assert_eq!(ids(&second), [old.id.as_str()]);
    assert_eq!(second.next, None);
    // Sending to the oldest brings it to the top.
    send(store, &ann, &old.id, "hello again", 1_800_000_400).await;
    let all = store.list_conversations(&ann, None, 10).await.unwrap();
    assert_eq!(
        ids(&all),
        [old.id.as_str(), new.id.as_str(), middle.id.as_str()]
    );
}

pub async fn search_finds_titles_and_message_text<S: ConversationStore + AccountStore>(store: &S) {
    let (ann, bob) = (owner(store, "ann").await, owner(store, "bob").await);
    let rome = conversation("Trip to Rome", 1_800_000_000);
    let rust = conversation("Questions", 1_800_000_000);
    let other = conversation("Nothing here", 1_800_000_000);
    for c in [&rome, &rust, &other] {
        store.create_conversation(&ann, c).await.unwrap();
    }
    send(
        store,
        &ann,
        &rust.id,
        "How does the RUST borrow checker work? 100%_sure",
        1_800_000_001,
    )
    .await;
    send(store, &ann, &other.id, "Something else", 1_800_000_001).await;
    let bobs = conversation("Rust for bob", 1_800_000_000);
    store.create_conversation(&bob, &bobs).await.unwrap();

    let search = |q: &'static str, after: Option<ConversationId>| {
        let ann = ann.clone();
        async move {
            store
                .search_conversations(&ann, q, after.as_ref(), 10)
                .await
                .unwrap()
        }
    };
    let ids = |page: super::Page<Conversation>| {
        page.items
            .into_iter()
            .map(|c| c.id.as_str().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(search("rust", None).await), [rust.id.as_str()]);
    assert_eq!(ids(search("ROME", None).await), [rome.id.as_str()]);
    assert_eq!(ids(search("100%_", None).await), [rust.id.as_str()]);
    assert!(
        ids(search("%", None).await) == [rust.id.as_str()],
        "wildcards are literal"
    );
    assert!(search("absent words", None).await.items.is_empty());

    // One at a time, the pages together hold each match once.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .search_conversations(&ann, "e", after.as_ref(), 1)
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|c| c.id.clone()));
        match page.next {
            Some(next) => after = Some(ConversationId::parse(&next).unwrap()),
            None => break,
        }
    }
    let mut seen: Vec<_> = seen.iter().map(ConversationId::as_str).collect();
    seen.sort();
    let mut expected = vec![rome.id.as_str(), rust.id.as_str(), other.id.as_str()];
    expected.sort();
    assert_eq!(seen, expected);
}

pub async fn deleting_a_conversation_removes_its_messages<S: ConversationStore + AccountStore>(
    store: &S,
) {
    let owner = account("del");
    store.create_account(&owner).await.unwrap();
    let ann = owner.username.clone();
    let bob = unique_name("bob");
    let c = conversation("Doomed", 1_800_000_000);
    let kept = conversation("Kept", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    store.create_conversation(&ann, &kept).await.unwrap();
    send(store, &ann, &c.id, "bye", 1_800_000_001).await;
    send(store, &ann, &kept.id, "stay", 1_800_000_001).await;
    assert!(matches!(
        store.delete_conversation(&bob, &c.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_conversation(&ann, &c.id).await.unwrap();
    assert_eq!(store.conversation(&ann, &c.id, 10).await.unwrap(), None);
    assert!(
        store
            .messages_before(&ann, &c.id, 10, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(search_is_empty(store, &ann, "bye").await);
    assert!(matches!(
        store.delete_conversation(&ann, &c.id).await,
        Err(StoreError::NotFound)
    ));
    // Deleting the account takes its conversations with it.
    store.delete_account(&ann).await.unwrap();
    assert_eq!(store.conversation(&ann, &kept.id, 10).await.unwrap(), None);
    assert!(
        store
            .list_conversations(&ann, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

fn charge(conversation: &Conversation, model: &str, input: u32, output: u32, cost: u64) -> Charge {
    Charge {
        month: Month::of(conversation.created_at),
        conversation: conversation.id.as_str().to_string(),
        title: conversation.title.clone(),
        model: model.to_string(),
        input_tokens: input,
        output_tokens: output,
        cost: Cost::from_nanos(cost),
        estimated: model == "offline",
    }
}

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
        .signed_in(&ann.username, &session.id, true)
        .await
        .unwrap();
    assert_eq!(read.account.map(|a| a.username), Some(ann.username.clone()));
    assert_eq!(read.default_spend_cap, Some(Some(seven)));
    let nobody = unique_name("nobody");
    let read = store.signed_in(&nobody, &session.id, true).await.unwrap();
    assert_eq!(
        (read.account, read.default_spend_cap),
        (None, Some(Some(seven)))
    );
    store.set_default_spend_cap(None).await.unwrap();
    assert_eq!(store.default_spend_cap().await.unwrap(), None);
    let read = store
        .signed_in(&ann.username, &session.id, true)
        .await
        .unwrap();
    assert!(read.account.is_some());
    assert_eq!(read.default_spend_cap, Some(None));
    store.set_default_spend_cap(original).await.unwrap();
}

pub async fn exports_hold_everything_and_imports_add_each_conversation_once<
    S: ConversationStore + TransferStore + AccountStore,
>(
    store: &S,
) {
    let ann = owner(store, "export").await;
    let (long, empty) = (
        conversation("Long one", 1_800_000_000),
        conversation("Empty", 1_800_000_001),
    );
    store.create_conversation(&ann, &long).await.unwrap();
    store.create_conversation(&ann, &empty).await.unwrap();
    // More messages than one batch write takes.
    for i in 0..15 {
        send(
            store,
            &ann,
            &long.id,
            &format!("message {i}"),
            1_800_000_002 + i,
        )
        .await;
    }
    let exported = store.export_conversations(&ann).await.unwrap();
    let mut ids = vec![long.id.as_str(), empty.id.as_str()];
    ids.sort();
    assert_eq!(
        exported
            .iter()
            .map(|(c, _)| c.id.as_str())
            .collect::<Vec<_>>(),
        ids
    );
    let (read, messages) = store
        .conversation(&ann, &long.id, 100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(messages.len(), 30);
    assert!(exported.contains(&(read, messages)), "whole and in order");
    assert!(
        exported
            .iter()
            .any(|(c, m)| c.id == empty.id && m.is_empty())
    );

    // Into another account: everything, once.
    let bob = owner(store, "import").await;
    assert_eq!(
        store.import_conversations(&bob, &exported).await.unwrap(),
        2
    );
    assert_eq!(store.export_conversations(&bob).await.unwrap(), exported);
    let listed = store.list_conversations(&bob, None, 10).await.unwrap();
    assert_eq!(listed.items.len(), 2, "imported conversations are listed");
    assert_eq!(
        store.import_conversations(&bob, &exported).await.unwrap(),
        0
    );
    assert_eq!(store.export_conversations(&bob).await.unwrap(), exported);
    // A mix of new and known: only the new one is added, and the known one is untouched.
    let mut changed = exported.clone();
    changed[0].1.truncate(2);
    let extra = conversation("Extra", 1_800_000_100);
    changed.push((extra.clone(), Vec::new()));
    assert_eq!(store.import_conversations(&bob, &changed).await.unwrap(), 1);
    let again = store.export_conversations(&bob).await.unwrap();
    assert_eq!(again.len(), 3);
    assert!(exported.iter().all(|t| again.contains(t)));
    // Back into the owner's own account: nothing to add.
    assert_eq!(
        store.import_conversations(&ann, &exported).await.unwrap(),
        0
    );
}

pub async fn share_links_lead_to_their_conversation_until_revoked<
    S: ConversationStore + ShareStore + AccountStore,
>(
    store: &S,
) {
    let ann = owner(store, "sharer").await;
    let c = conversation("Shared", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    let (token, _) = crate::link_tokens::generate();
    store.share_conversation(&ann, &c.id, &token).await.unwrap();
    let shared = store.shared(&token).await.unwrap().unwrap();
    assert_eq!((shared.owner, shared.id), (ann.clone(), c.id.clone()));
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert_eq!(read.share.as_deref(), Some(token.as_str()));
    assert_eq!(store.shared(&format!("{token}x")).await.unwrap(), None);

    let (other, _) = crate::link_tokens::generate();
    assert!(matches!(
        store.share_conversation(&ann, &c.id, &other).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        store
            .share_conversation(&ann, &ConversationId::generate(), &other)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .share_conversation(&unique_name("bob"), &c.id, &other)
            .await,
        Err(StoreError::NotFound)
    ));

    store.unshare_conversation(&ann, &c.id).await.unwrap();
    assert_eq!(store.shared(&token).await.unwrap(), None);
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert_eq!(read.share, None);
    assert!(matches!(
        store.unshare_conversation(&ann, &c.id).await,
        Err(StoreError::NotFound)
    ));

    // Shared again under a new link; deleting the conversation ends it too.
    store.share_conversation(&ann, &c.id, &other).await.unwrap();
    assert!(store.shared(&other).await.unwrap().is_some());
    store.delete_conversation(&ann, &c.id).await.unwrap();
    assert_eq!(store.shared(&other).await.unwrap(), None);
}

async fn search_is_empty<S: ConversationStore>(
    store: &S,
    owner: &crate::users::Username,
    query: &str,
) -> bool {
    store
        .search_conversations(owner, query, None, 10)
        .await
        .unwrap()
        .items
        .is_empty()
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
        async fn deleting_an_account_is_complete_and_resumable() {
            $crate::store::contract::deleting_an_account_is_complete_and_resumable(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn simultaneous_imports_add_each_conversation_once() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::simultaneous_imports_add_each_conversation_once(&a, &b).await;
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
        async fn throttle_reserves_up_to_the_limit_per_key_and_window() {
            $crate::store::contract::throttle_reserves_up_to_the_limit_per_key_and_window(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn signed_in_reads_the_account_and_whether_the_session_ended() {
            $crate::store::contract::signed_in_reads_the_account_and_whether_the_session_ended(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn conversations_belong_to_their_owner() {
            $crate::store::contract::conversations_belong_to_their_owner(&$make.await).await;
        }
        #[tokio::test]
        async fn turns_keep_order_and_refuse_stale_writes() {
            $crate::store::contract::turns_keep_order_and_refuse_stale_writes(&$make.await).await;
        }
        #[tokio::test]
        async fn concurrent_sends_lose_nothing() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::concurrent_sends_lose_nothing(&a, &b).await;
        }
        #[tokio::test]
        async fn history_reads_in_pages() {
            $crate::store::contract::history_reads_in_pages(&$make.await).await;
        }
        #[tokio::test]
        async fn conversations_list_by_recent_activity() {
            $crate::store::contract::conversations_list_by_recent_activity(&$make.await).await;
        }
        #[tokio::test]
        async fn search_finds_titles_and_message_text() {
            $crate::store::contract::search_finds_titles_and_message_text(&$make.await).await;
        }
        #[tokio::test]
        async fn deleting_a_conversation_removes_its_messages() {
            $crate::store::contract::deleting_a_conversation_removes_its_messages(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn usage_adds_up_by_month_model_and_conversation() {
            $crate::store::contract::usage_adds_up_by_month_model_and_conversation(&$make.await)
                .await;
        }
        #[tokio::test]
        async fn sends_stop_at_the_spend_cap() {
            $crate::store::contract::sends_stop_at_the_spend_cap(&$make.await).await;
        }
        #[tokio::test]
        async fn the_send_rate_counts_parallel_sends_exactly() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::the_send_rate_counts_parallel_sends_exactly(&a, &b).await;
        }
        #[tokio::test]
        async fn spend_caps_are_kept() {
            $crate::store::contract::spend_caps_are_kept(&$make.await).await;
        }
        #[tokio::test]
        async fn exports_hold_everything_and_imports_add_each_conversation_once() {
            $crate::store::contract::exports_hold_everything_and_imports_add_each_conversation_once(
                                                                                &$make.await,
                                                                            )
                                                                            .await;
        }
        #[tokio::test]
        async fn share_links_lead_to_their_conversation_until_revoked() {
            $crate::store::contract::share_links_lead_to_their_conversation_until_revoked(
                &$make.await,
            )
            .await;
        }
        #[tokio::test]
        async fn throttle_reserves_exactly_the_limit_in_parallel() {
            let (a, b) = ($make.await, $make.await);
            $crate::store::contract::throttle_reserves_exactly_the_limit_in_parallel(&a, &b).await;
        }
    };
}
