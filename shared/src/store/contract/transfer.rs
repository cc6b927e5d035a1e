//! The transfer capability's contract.

use super::*;

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
