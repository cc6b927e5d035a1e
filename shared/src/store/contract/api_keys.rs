//! The API keys capability's contract.

use super::*;
use crate::api_keys::{ApiKey, ApiKeyId, KeyHash, KeyName, generate_secret};
use crate::store::{ApiCaller, ApiKeyStore};

/// The key and its owner a hash leads to, if any.
async fn found<S: ApiKeyStore>(store: &S, hash: &KeyHash) -> Option<(Username, ApiKey)> {
    store
        .api_caller(hash)
        .await
        .unwrap()
        .map(|caller| (caller.owner, caller.key))
}

fn new_key(name: &str, created_at: u64) -> (ApiKey, KeyHash) {
    let key = ApiKey {
        id: ApiKeyId::generate(),
        name: KeyName::parse(name).unwrap(),
        created_at,
        expires_at: Some(created_at + 86_400),
        last_used_at: None,
        models: Some(vec!["offline".into()]),
        keeps_conversations: name == "CI",
    };
    (key, KeyHash::of(&generate_secret()))
}

pub async fn api_keys_are_found_by_hash_listed_and_revoked<S: ApiKeyStore + AccountStore>(
    store: &S,
) {
    let ann = owner(store, "keyholder").await;
    let (laptop, laptop_hash) = new_key("laptop", 1_800_000_000);
    let (ci, ci_hash) = new_key("CI", 1_800_000_001);
    store
        .create_api_key(&ann, &laptop, &laptop_hash)
        .await
        .unwrap();
    store.create_api_key(&ann, &ci, &ci_hash).await.unwrap();
    assert_eq!(
        store.api_keys(&ann).await.unwrap(),
        [laptop.clone(), ci.clone()]
    );
    assert_eq!(
        found(store, &laptop_hash).await,
        Some((ann.clone(), laptop.clone()))
    );
    // Read with the key: the owner's account and the portal's groups.
    let caller: ApiCaller = store.api_caller(&ci_hash).await.unwrap().unwrap();
    assert_eq!(caller.key, ci);
    assert!(caller.key.keeps_conversations);
    assert_eq!(caller.account.map(|a| a.username), Some(ann.clone()));
    let unknown = KeyHash::of(&generate_secret());
    assert_eq!(found(store, &unknown).await, None);

    store
        .touch_api_key(&ann, &ci.id, 1_800_000_100)
        .await
        .unwrap();
    let (_, touched) = found(store, &ci_hash).await.unwrap();
    assert_eq!(touched.last_used_at, Some(1_800_000_100));

    // Another user cannot revoke it; its owner can, and it stops at once.
    let bob = owner(store, "keyless").await;
    assert!(matches!(
        store.revoke_api_key(&bob, &laptop.id).await,
        Err(StoreError::NotFound)
    ));
    store.revoke_api_key(&ann, &laptop.id).await.unwrap();
    assert_eq!(found(store, &laptop_hash).await, None);
    assert!(matches!(
        store.revoke_api_key(&ann, &laptop.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.api_keys(&ann).await.unwrap(), [touched]);

    // A deleted account's keys go with it; none is made for an account that is not there.
    store.delete_account(&ann).await.unwrap();
    assert_eq!(found(store, &ci_hash).await, None);
    let (late, late_hash) = new_key("late", 1_800_000_200);
    assert!(matches!(
        store.create_api_key(&ann, &late, &late_hash).await,
        Err(StoreError::NotFound)
    ));
}

/// The portal's API switch is one setting for the whole portal: tests running at once may
/// change it, so this check turns it off and on and reads it back in one go.
pub async fn the_api_can_be_turned_off_for_the_portal<
    S: ApiKeyStore + AccountStore + SessionStore,
>(
    store: &S,
) {
    let ann = owner(store, "switch").await;
    let (key, hash) = new_key("switch", 1_800_000_000);
    store.create_api_key(&ann, &key, &hash).await.unwrap();
    store.set_api_enabled(false).await.unwrap();
    let off = store.api_caller(&hash).await.unwrap().unwrap().api_enabled;
    let account = store.account(&ann).await.unwrap().unwrap();
    let session =
        crate::session::Session::new(Some(&account), std::time::Duration::from_secs(60), 1_000).id;
    let read_off = store
        .signed_in(&ann, &session, Extras::SPEND_CAP)
        .await
        .unwrap()
        .api_enabled;
    let stored_off = store.api_enabled().await.unwrap();
    store.set_api_enabled(true).await.unwrap();
    assert!(store.api_enabled().await.unwrap());
    let on = store.api_caller(&hash).await.unwrap().unwrap().api_enabled;
    assert!(!off && !stored_off && on);
    assert_eq!(read_off, Some(false));
    let not_asked = store.signed_in(&ann, &session, Extras::NONE).await.unwrap();
    assert_eq!(not_asked.api_enabled, None);
}
