//! The folders capability's contract.

use super::*;
use crate::folders::{Folder, FolderId, FolderName};
use crate::store::FolderStore;

fn folder(name: &str, created_at: u64) -> Folder {
    Folder {
        id: FolderId::generate(),
        name: FolderName::parse(name).unwrap(),
        model: Some("offline".into()),
        system: Some("Plan trips.".into()),
        created_at,
    }
}

fn ids(page: crate::store::Page<Conversation>) -> Vec<String> {
    page.items
        .iter()
        .map(|c| c.id.as_str().to_string())
        .collect()
}

pub async fn folders_hold_conversations_apart_from_the_recent_list<
    S: FolderStore + ConversationStore + AccountStore,
>(
    store: &S,
) {
    let ann = owner(store, "filer").await;
    let now = 1_800_000_000;
    let trips = folder("trips", now);
    let work = folder("Work", now + 1);
    store.create_folder(&ann, &work).await.unwrap();
    store.create_folder(&ann, &trips).await.unwrap();
    assert_eq!(
        store.folders(&ann).await.unwrap(),
        [trips.clone(), work.clone()]
    );
    assert_eq!(
        store.folder(&ann, &trips.id).await.unwrap(),
        Some(trips.clone())
    );

    // Filed: listed in the folder, off the recent list; a turn keeps it there.
    let a = conversation("Rome", now);
    let b = conversation("Lisbon", now + 1);
    let c = conversation("Budget", now + 2);
    for x in [&a, &b, &c] {
        store.create_conversation(&ann, x).await.unwrap();
    }
    store
        .file_conversation(&ann, &a.id, Some(&trips.id))
        .await
        .unwrap();
    store
        .file_conversation(&ann, &b.id, Some(&trips.id))
        .await
        .unwrap();
    let in_trips = || store.list_folder(&ann, &trips.id, None, 10);
    let recent = || store.list_shelf(&ann, Shelf::Recent, None, 10);
    assert_eq!(
        ids(in_trips().await.unwrap()),
        [b.id.as_str(), a.id.as_str()]
    );
    assert_eq!(ids(recent().await.unwrap()), [c.id.as_str()]);
    send(store, &ann, &a.id, "still filed", now + 5).await;
    assert_eq!(
        ids(in_trips().await.unwrap()),
        [a.id.as_str(), b.id.as_str()]
    );
    let (read, _) = store.conversation(&ann, &a.id, 0).await.unwrap().unwrap();
    assert_eq!(read.folder, Some(trips.id.clone()));
    // Paged like the recent list.
    let first = store.list_folder(&ann, &trips.id, None, 1).await.unwrap();
    let cursor = ActivityCursor::parse(first.next.as_deref().unwrap()).unwrap();
    let rest = store
        .list_folder(&ann, &trips.id, Some(&cursor), 1)
        .await
        .unwrap();
    assert_eq!(ids(rest), [b.id.as_str()]);
    // A search finds it there.
    let found = ids(store
        .search_conversations(&ann, "Lisbon", None, 10)
        .await
        .unwrap());
    assert_eq!(found, [b.id.as_str()]);
    // A new conversation can start filed.
    let mut d = conversation("Packing list", now + 6);
    d.folder = Some(work.id.clone());
    store.create_conversation(&ann, &d).await.unwrap();
    assert_eq!(
        ids(store.list_folder(&ann, &work.id, None, 10).await.unwrap()),
        [d.id.as_str()]
    );

    // Pinning takes it out of its folder; filing an archived one takes it off the archive.
    store.shelve(&ann, &b.id, Shelf::Pinned).await.unwrap();
    assert_eq!(ids(in_trips().await.unwrap()), [a.id.as_str()]);
    let (read, _) = store.conversation(&ann, &b.id, 0).await.unwrap().unwrap();
    assert_eq!((read.shelf, read.folder), (Shelf::Pinned, None));
    store.shelve(&ann, &c.id, Shelf::Archived).await.unwrap();
    store
        .file_conversation(&ann, &c.id, Some(&work.id))
        .await
        .unwrap();
    assert!(
        ids(store
            .list_shelf(&ann, Shelf::Archived, None, 10)
            .await
            .unwrap())
        .is_empty()
    );
    let (read, _) = store.conversation(&ann, &c.id, 0).await.unwrap().unwrap();
    assert_eq!(
        (read.shelf, read.folder),
        (Shelf::Recent, Some(work.id.clone()))
    );
    // Unfiled: back on the recent list.
    store.file_conversation(&ann, &c.id, None).await.unwrap();
    assert_eq!(ids(recent().await.unwrap()), [c.id.as_str()]);

    // Renamed, with other defaults.
    let mut renamed = trips.clone();
    renamed.name = FolderName::parse("Travel").unwrap();
    renamed.model = None;
    renamed.system = None;
    store.update_folder(&ann, &renamed).await.unwrap();
    assert_eq!(store.folder(&ann, &trips.id).await.unwrap(), Some(renamed));

    // Another owner's folder or conversation, a missing one, a temporary chat: NotFound.
    let bob = owner(store, "nosy").await;
    assert_eq!(store.folder(&bob, &trips.id).await.unwrap(), None);
    assert!(
        store
            .list_folder(&bob, &trips.id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let theirs = conversation("Bob's", now);
    store.create_conversation(&bob, &theirs).await.unwrap();
    for result in [
        store
            .file_conversation(&bob, &theirs.id, Some(&trips.id))
            .await,
        store.file_conversation(&bob, &a.id, None).await,
        store.update_folder(&bob, &trips).await,
        store.delete_folder(&bob, &trips.id).await,
        store
            .file_conversation(&ann, &c.id, Some(&FolderId::generate()))
            .await,
    ] {
        assert!(matches!(result, Err(StoreError::NotFound)), "{result:?}");
    }
    let (read, _) = store
        .conversation(&bob, &theirs.id, 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.folder, None);
    let temp = Conversation::temporary(Title::parse("Temp").unwrap(), "offline".into(), None, now);
    store.create_conversation(&ann, &temp).await.unwrap();
    assert!(matches!(
        store
            .file_conversation(&ann, &temp.id, Some(&work.id))
            .await,
        Err(StoreError::NotFound)
    ));

    // Deleting a folder puts its conversations back on the recent list.
    store.delete_folder(&ann, &trips.id).await.unwrap();
    assert_eq!(store.folder(&ann, &trips.id).await.unwrap(), None);
    assert!(in_trips().await.unwrap().items.is_empty());
    assert_eq!(ids(recent().await.unwrap()), [a.id.as_str(), c.id.as_str()]);
    let (read, _) = store.conversation(&ann, &a.id, 0).await.unwrap().unwrap();
    assert_eq!(read.folder, None);
    assert!(matches!(
        store.delete_folder(&ann, &trips.id).await,
        Err(StoreError::NotFound)
    ));

    // A deleted account's folders go with it; none is made for an account that is not there.
    store.delete_account(&ann).await.unwrap();
    assert!(store.folders(&ann).await.unwrap().is_empty());
    assert!(matches!(
        store.create_folder(&ann, &folder("late", now)).await,
        Err(StoreError::NotFound)
    ));
}
