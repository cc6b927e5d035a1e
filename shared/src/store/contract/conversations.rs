//! The conversations capability's contract.

use super::*;

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

/// A generated title replaces the first one only while nobody has renamed the conversation.
pub async fn a_title_is_replaced_only_if_unchanged<S: ConversationStore + AccountStore>(store: &S) {
    let (ann, bob) = (owner(store, "ann").await, owner(store, "bob").await);
    let c = conversation("Plans", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    let first = Title::parse("Plans").unwrap();
    let made = Title::parse("Weekend in Rome").unwrap();
    assert!(
        !store
            .retitle_conversation(&bob, &c.id, &first, &made)
            .await
            .is_ok_and(|r| r),
        "not someone else's"
    );
    assert!(
        store
            .retitle_conversation(&ann, &c.id, &first, &made)
            .await
            .unwrap()
    );
    let (read, _) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(read.title, "Weekend in Rome");
    // Renamed by its owner: a title made later leaves it.
    let chosen = Title::parse("Rome, my way").unwrap();
    store
        .rename_conversation(&ann, &c.id, &chosen)
        .await
        .unwrap();
    assert!(
        !store
            .retitle_conversation(&ann, &c.id, &made, &first)
            .await
            .unwrap()
    );
    let (read, _) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(read.title, "Rome, my way");
    let missing = ConversationId::generate();
    assert!(matches!(
        store
            .retitle_conversation(&ann, &missing, &first, &made)
            .await,
        Err(StoreError::NotFound)
    ));
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
        leaf: 2 - 1,
        model: "offline",
        messages: &[],
        now: 1_800_000_002,
        limits: Default::default(),
        expires_at: None,
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
        leaf: 2 - 1,
        model: "other",
        messages: std::slice::from_ref(&regenerated),
        now: 1_800_000_003,
        limits: Default::default(),
        expires_at: None,
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
    let ids = |page: &crate::store::Page<Conversation>| {
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
    let ids = |page: crate::store::Page<Conversation>| {
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

pub async fn replies_keep_their_thinking<S: ConversationStore + AccountStore>(store: &S) {
    let ann = owner(store, "thinker").await;
    let c = conversation("Thoughts", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    let mut reply = send(store, &ann, &c.id, "why?", 1_800_000_001).await;
    reply.thinking = "First, consider the question. ✓".into();
    reply.text = "Because.".into();
    reply.state = MessageState::Complete;
    store.save_reply(&ann, &c.id, &reply, None).await.unwrap();
    let (_, messages) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(messages[1].thinking, "First, consider the question. ✓");
    assert_eq!(messages[1].text, "Because.");
    assert_eq!(
        messages[0].thinking, "",
        "a message without thinking has none"
    );
}

pub async fn conversations_keep_their_parameters<S: ConversationStore + AccountStore>(store: &S) {
    use crate::parameters::Parameters;
    let ann = owner(store, "tuner").await;
    let c = conversation("Tuned", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert!(read.parameters.is_default());
    let parameters = Parameters {
        temperature: Some(70),
        max_output_tokens: Some(512),
        reasoning_effort: Some("low".into()),
    };
    store
        .set_parameters(&ann, &c.id, &parameters)
        .await
        .unwrap();
    // A send moves the conversation on and keeps them.
    send(store, &ann, &c.id, "hello", 1_800_000_001).await;
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert_eq!(read.parameters, parameters);
    store
        .set_parameters(&ann, &c.id, &Parameters::default())
        .await
        .unwrap();
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert!(read.parameters.is_default());
    // Someone else's id, or none: not found, and nothing created.
    let bob = owner(store, "bystander").await;
    assert!(matches!(
        store.set_parameters(&bob, &c.id, &parameters).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.conversation(&bob, &c.id, 0).await.unwrap().is_none());
}

pub async fn messages_keep_their_attachments<
    S: ConversationStore + AccountStore + crate::store::TransferStore,
>(
    store: &S,
) {
    use crate::attachments::{Attachment, AttachmentId, FileName, MediaType};
    let ann = owner(store, "attacher").await;
    let c = conversation("Pictures", 1_800_000_000);
    store.create_conversation(&ann, &c).await.unwrap();
    send(store, &ann, &c.id, "before", 1_800_000_001).await;
    let file = |name: &str, media_type, width| Attachment {
        id: AttachmentId::generate(),
        name: FileName::parse(name).unwrap(),
        media_type,
        size: 1_234,
        width,
        height: width,
        tokens: 7,
        key: format!("files/attacher/{name}"),
    };
    let files = vec![
        file("shot.png", MediaType::Png, Some(640)),
        file("notes.md", MediaType::Markdown, None),
    ];
    let turn = new_turn_id();
    let mut question = Message::user(
        2,
        &MessageText::parse("look").unwrap(),
        &turn,
        1_800_000_002,
    );
    question.attachments = files.clone();
    let messages = [
        question,
        Message::pending_reply(3, "offline", &turn, 1_800_000_002),
    ];
    let write = TurnWrite {
        expected_next_seq: 2,
        next_seq: 4,
        leaf: 4 - 1,
        model: "offline",
        messages: &messages,
        now: 1_800_000_002,
        limits: Default::default(),
        expires_at: None,
    };
    store.write_turn(&ann, &c.id, &write).await.unwrap();
    send(store, &ann, &c.id, "after", 1_800_000_003).await;

    // Read back in order, with the message they came with, however the history is read.
    let (_, latest) = store.conversation(&ann, &c.id, 50).await.unwrap().unwrap();
    assert_eq!(
        latest.iter().map(|m| m.seq).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4, 5]
    );
    assert_eq!(latest[2].attachments, files);
    assert!(
        latest
            .iter()
            .filter(|m| m.seq != 2)
            .all(|m| m.attachments.is_empty())
    );
    let earlier = store.messages_before(&ann, &c.id, 3, 50).await.unwrap();
    assert_eq!(earlier.last().unwrap().attachments, files);
    let one = store.message(&ann, &c.id, 2).await.unwrap().unwrap();
    assert_eq!(one.attachments, files);
    assert_eq!(store.message(&ann, &c.id, 99).await.unwrap(), None);
    let bob = owner(store, "other").await;
    assert_eq!(store.message(&bob, &c.id, 2).await.unwrap(), None);
    let exported = store.export_conversations(&ann).await.unwrap();
    let (_, transcript) = exported.iter().find(|(x, _)| x.id == c.id).unwrap();
    assert_eq!(transcript[2].attachments, files);

    // Written again (an edit keeps them): still once each.
    let turn = new_turn_id();
    let mut edited = Message::user(
        4,
        &MessageText::parse("again").unwrap(),
        &turn,
        1_800_000_004,
    );
    edited.attachments = vec![files[0].clone()];
    let messages = [
        edited,
        Message::pending_reply(5, "offline", &turn, 1_800_000_004),
    ];
    let write = TurnWrite {
        expected_next_seq: 6,
        next_seq: 6,
        leaf: 6 - 1,
        messages: &messages,
        now: 1_800_000_004,
        ..write
    };
    store.write_turn(&ann, &c.id, &write).await.unwrap();
    store
        .write_turn(&ann, &c.id, &TurnWrite { ..write })
        .await
        .unwrap();
    let again = store.message(&ann, &c.id, 4).await.unwrap().unwrap();
    assert_eq!(again.attachments, vec![files[0].clone()]);

    store.delete_conversation(&ann, &c.id).await.unwrap();
    assert_eq!(store.message(&ann, &c.id, 2).await.unwrap(), None);
}

/// Writes a turn of one message (and its pending reply) expiring at `expires_at` (the
/// messages at `messages_expire`, when given).
async fn send_expiring<S: ConversationStore>(
    store: &S,
    owner: &Username,
    id: &ConversationId,
    now: u64,
    expires_at: Option<u64>,
) {
    send_expiring_apart(store, owner, id, now, expires_at, expires_at).await
}

async fn send_expiring_apart<S: ConversationStore>(
    store: &S,
    owner: &Username,
    id: &ConversationId,
    now: u64,
    expires_at: Option<u64>,
    messages_expire: Option<u64>,
) {
    let (c, _) = store.conversation(owner, id, 0).await.unwrap().unwrap();
    let turn = new_turn_id();
    let n = c.next_seq;
    let mut messages = [
        Message::user(n, &MessageText::parse("whisper").unwrap(), &turn, now),
        Message::pending_reply(n + 1, "offline", &turn, now),
    ];
    for m in &mut messages {
        m.expires_at = messages_expire;
    }
    let write = TurnWrite {
        expected_next_seq: n,
        next_seq: n + 2,
        leaf: n + 2 - 1,
        model: "offline",
        messages: &messages,
        now,
        limits: Default::default(),
        expires_at,
    };
    store.write_turn(owner, id, &write).await.unwrap();
}

pub async fn temporary_and_expired_conversations_are_neither_listed_nor_read<
    S: ConversationStore + AccountStore,
>(
    store: &S,
) {
    let ann = owner(store, "keeper").await;
    let now = crate::session::now();
    let listed = |page: crate::store::Page<Conversation>| -> Vec<String> {
        page.items
            .iter()
            .map(|c| c.id.as_str().to_string())
            .collect()
    };

    // A temporary chat: read by its id, but never listed or searched.
    let temp = Conversation::temporary(
        Title::parse("Secret plan").unwrap(),
        "offline".into(),
        None,
        now,
    );
    store.create_conversation(&ann, &temp).await.unwrap();
    send_expiring(store, &ann, &temp.id, now, temp.expires_at).await;
    let kept = conversation("Kept plan", now);
    store.create_conversation(&ann, &kept).await.unwrap();
    let all = listed(store.list_conversations(&ann, None, 50).await.unwrap());
    assert_eq!(all, vec![kept.id.as_str().to_string()]);
    let found = listed(
        store
            .search_conversations(&ann, "plan", None, 50)
            .await
            .unwrap(),
    );
    assert_eq!(found, vec![kept.id.as_str().to_string()]);
    let (read, messages) = store
        .conversation(&ann, &temp.id, 10)
        .await
        .unwrap()
        .unwrap();
    assert!(read.temporary);
    assert_eq!(read.expires_at, Some(now + Conversation::TEMPORARY_SECONDS));
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.expires_at == read.expires_at));

    // A turn under a retention period moves the conversation's expiry on.
    let later = now + 5;
    send_expiring(store, &ann, &kept.id, later, Some(later + 86_400)).await;
    let (read, messages) = store
        .conversation(&ann, &kept.id, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.expires_at, Some(later + 86_400));
    assert_eq!(messages[0].expires_at, Some(later + 86_400));

    // Expired (the store may not have deleted it yet): not read, listed or searched.
    let mut old = conversation("Old plan", now - 100);
    old.expires_at = Some(now - 1);
    store.create_conversation(&ann, &old).await.unwrap();
    assert!(
        store
            .conversation(&ann, &old.id, 10)
            .await
            .unwrap()
            .is_none()
    );
    let all = listed(store.list_conversations(&ann, None, 50).await.unwrap());
    assert!(!all.contains(&old.id.as_str().to_string()));
    let found = listed(
        store
            .search_conversations(&ann, "Old plan", None, 50)
            .await
            .unwrap(),
    );
    assert!(found.is_empty());

    // An expired message of a conversation that lives on is not read either.
    send_expiring_apart(
        store,
        &ann,
        &kept.id,
        later + 1,
        Some(later + 86_400),
        Some(now - 1),
    )
    .await;
    let (_, messages) = store
        .conversation(&ann, &kept.id, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(messages.len(), 2, "the two expired ones are left out");
}

pub async fn pinned_and_archived_conversations_are_listed_apart<
    S: ConversationStore + AccountStore,
>(
    store: &S,
) {
    let ann = owner(store, "shelver").await;
    let now = 1_800_000_000;
    let ids = |page: crate::store::Page<Conversation>| -> Vec<String> {
        page.items
            .iter()
            .map(|c| c.id.as_str().to_string())
            .collect()
    };
    let a = conversation("Alpha notes", now);
    let b = conversation("Beta notes", now + 1);
    let c = conversation("Gamma notes", now + 2);
    for x in [&a, &b, &c] {
        store.create_conversation(&ann, x).await.unwrap();
    }
    store.shelve(&ann, &a.id, Shelf::Pinned).await.unwrap();
    store.shelve(&ann, &b.id, Shelf::Archived).await.unwrap();
    let list = |shelf| store.list_shelf(&ann, shelf, None, 10);
    assert_eq!(ids(list(Shelf::Recent).await.unwrap()), [c.id.as_str()]);
    assert_eq!(ids(list(Shelf::Pinned).await.unwrap()), [a.id.as_str()]);
    assert_eq!(ids(list(Shelf::Archived).await.unwrap()), [b.id.as_str()]);
    let (read, _) = store.conversation(&ann, &b.id, 0).await.unwrap().unwrap();
    assert_eq!(read.shelf, Shelf::Archived);
    // Archived, still found by a search.
    let found = ids(store
        .search_conversations(&ann, "Beta", None, 10)
        .await
        .unwrap());
    assert_eq!(found, [b.id.as_str()]);
    // A turn keeps it where it is.
    send(store, &ann, &a.id, "still pinned", now + 5).await;
    assert_eq!(ids(list(Shelf::Pinned).await.unwrap()), [a.id.as_str()]);
    // Back to the recent list, in activity order.
    store.shelve(&ann, &a.id, Shelf::Recent).await.unwrap();
    store.shelve(&ann, &b.id, Shelf::Recent).await.unwrap();
    assert_eq!(
        ids(list(Shelf::Recent).await.unwrap()),
        [a.id.as_str(), c.id.as_str(), b.id.as_str()]
    );
    // Another owner's id, a missing one, a temporary chat: NotFound, nothing moved.
    let bob = owner(store, "other").await;
    assert!(matches!(
        store.shelve(&bob, &a.id, Shelf::Pinned).await,
        Err(StoreError::NotFound)
    ));
    let temp = Conversation::temporary(Title::parse("Temp").unwrap(), "offline".into(), None, now);
    store.create_conversation(&ann, &temp).await.unwrap();
    assert!(matches!(
        store.shelve(&ann, &temp.id, Shelf::Pinned).await,
        Err(StoreError::NotFound)
    ));
    assert!(ids(list(Shelf::Pinned).await.unwrap()).is_empty());
}

/// Branches: each message keeps the message it follows, where that is not the one before it
/// (an edit's sibling, an edited first message beginning its own), and the conversation the
/// last message of the branch it shows, which each turn moves.
pub async fn branches_are_kept<S: ConversationStore + TransferStore + AccountStore>(store: &S) {
    let ann = owner(store, "brancher").await;
    let now = 1_800_000_000;
    let c = conversation("Branches", now);
    store.create_conversation(&ann, &c).await.unwrap();
    send(store, &ann, &c.id, "one", now).await;
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert_eq!(read.leaf, Some(1));
    // An edit of the first message (a root of its own), and a reply regenerated beside 1.
    let turn = new_turn_id();
    let mut edit = Message::user(2, &MessageText::parse("one, again").unwrap(), &turn, now);
    edit.parent = None;
    let mut reply = Message::pending_reply(3, "offline", &turn, now);
    reply.parent = Some(2);
    let mut regenerated = Message::pending_reply(4, "offline", &turn, now);
    regenerated.parent = Some(0);
    let messages = [edit, reply, regenerated];
    let write = TurnWrite {
        expected_next_seq: 2,
        next_seq: 5,
        leaf: 3,
        model: "offline",
        messages: &messages,
        now,
        limits: Default::default(),
        expires_at: None,
    };
    store.write_turn(&ann, &c.id, &write).await.unwrap();
    let (read, stored) = store.conversation(&ann, &c.id, 10).await.unwrap().unwrap();
    assert_eq!(read.leaf, Some(3));
    let parents: Vec<_> = stored.iter().map(|m| m.parent).collect();
    assert_eq!(parents, [None, Some(0), None, Some(2), Some(0)]);
    let earlier = store.messages_before(&ann, &c.id, 5, 10).await.unwrap();
    assert_eq!(
        earlier.iter().map(|m| m.parent).collect::<Vec<_>>(),
        parents
    );
    // Exports carry them.
    let exported = store.export_conversations(&ann).await.unwrap();
    let (conversation, messages) = exported.iter().find(|(x, _)| x.id == c.id).unwrap();
    assert_eq!(conversation.leaf, Some(3));
    assert_eq!(
        messages.iter().map(|m| m.parent).collect::<Vec<_>>(),
        parents
    );
}
