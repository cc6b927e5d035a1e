//! The API keys capability's contract.

use super::*;
use crate::api_keys::{ApiKey, ApiKeyId, KeyHash, KeyName, generate_secret};
use crate::store::ApiKeyStore;

fn new_key(name: &str, created_at: u64) -> (ApiKey, KeyHash) {
    let key = ApiKey {
        id: ApiKeyId::generate(),
        name: KeyName::parse(name).unwrap(),
        created_at,
        expires_at: Some(created_at + 86_400),
        last_used_at: None,
        models: Some(vec!["offline".into()]),
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
        store.api_key_by_hash(&laptop_hash).await.unwrap(),
        Some((ann.clone(), laptop.clone()))
    );
    let unknown = KeyHash::of(&generate_secret());
    assert_eq!(store.api_key_by_hash(&unknown).await.unwrap(), None);

    store
        .touch_api_key(&ann, &ci.id, 1_800_000_100)
        .await
        .unwrap();
    let (_, touched) = store.api_key_by_hash(&ci_hash).await.unwrap().unwrap();
    assert_eq!(touched.last_used_at, Some(1_800_000_100));

    // Another user cannot revoke it; its owner can, and it stops at once.
    let bob = owner(store, "keyless").await;
    assert!(matches!(
        store.revoke_api_key(&bob, &laptop.id).await,
        Err(StoreError::NotFound)
    ));
    store.revoke_api_key(&ann, &laptop.id).await.unwrap();
    assert_eq!(store.api_key_by_hash(&laptop_hash).await.unwrap(), None);
    assert!(matches!(
        store.revoke_api_key(&ann, &laptop.id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.api_keys(&ann).await.unwrap(), [touched]);

    // A deleted account's keys go with it; none is made for an account that is not there.
    store.delete_account(&ann).await.unwrap();
    assert_eq!(store.api_key_by_hash(&ci_hash).await.unwrap(), None);
    let (late, late_hash) = new_key("late", 1_800_000_200);
    assert!(matches!(
        store.create_api_key(&ann, &late, &late_hash).await,
        Err(StoreError::NotFound)
    ));
}
