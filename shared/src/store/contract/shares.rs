//! The shares capability's contract.

use super::*;

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
