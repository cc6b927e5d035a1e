//! Secrets from a real Secrets Manager API (moto's server): fetched on demand, cached for the
//! TTL, and session keys read from them.

use std::time::Duration;

use secrecy::ExposeSecret;
use shared::secrets::SecretCache;
use shared::session::SessionKeys;
use shared::store::contract::unique_name;

async fn create(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = format!("switchboard/{}", unique_name("secret").as_str());
    client
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .expect("created");
    name
}

async fn update(client: &aws_sdk_secretsmanager::Client, name: &str, value: &str) {
    client
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
        .expect("updated");
}

#[tokio::test]
async fn a_secret_is_fetched_once_and_cached_for_the_ttl() {
    let client = e2e::secrets_manager();
    let name = create(&client, "first").await;
    let cache = SecretCache::new(client.clone(), Duration::from_secs(3600));
    assert_eq!(cache.get(&name).await.unwrap().expose_secret(), "first");
    update(&client, &name, "second").await;
    assert_eq!(
        cache.get(&name).await.unwrap().expose_secret(),
        "first",
        "cached"
    );

    let fresh = SecretCache::new(client.clone(), Duration::ZERO);
    assert_eq!(fresh.get(&name).await.unwrap().expose_secret(), "second");
    update(&client, &name, "third").await;
    assert_eq!(
        fresh.get(&name).await.unwrap().expose_secret(),
        "third",
        "a zero TTL refetches"
    );
}

#[tokio::test]
async fn a_missing_secret_is_an_error_that_names_it() {
    let cache = SecretCache::new(e2e::secrets_manager(), Duration::from_secs(60));
    let err = cache.get("switchboard/no-such-secret").await.unwrap_err();
    assert!(
        err.to_string().contains("switchboard/no-such-secret"),
        "{err}"
    );
}

#[tokio::test]
async fn session_keys_rotate_through_the_secret() {
    let client = e2e::secrets_manager();
    let key = |byte: u8| {
        use std::fmt::Write;
        // 66 bytes of base64 text, as a generated 88-character alphanumeric secret decodes.
        let mut s = String::new();
        for _ in 0..88 {
            let _ = write!(s, "{}", (b'A' + byte) as char);
        }
        s
    };
    let (old, new) = (key(0), key(1));
    let name = create(&client, &format!(r#"{{"current":"{old}","previous":""}}"#)).await;
    let cache = SecretCache::new(client.clone(), Duration::ZERO);
    let keys = SessionKeys::from_secret_json(&cache.get(&name).await.unwrap()).unwrap();
    let ann = shared::store::contract::account("ann");
    let session = shared::session::Session::new(Some(&ann), Duration::from_secs(60), 1_000);
    let sealed = keys.seal(&session, true, 1_000);
    let pair = sealed.split(';').next().unwrap();

    update(
        &client,
        &name,
        &format!(r#"{{"current":"{new}","previous":"{old}"}}"#),
    )
    .await;
    let rotated = SessionKeys::from_secret_json(&cache.get(&name).await.unwrap()).unwrap();
    assert_eq!(
        rotated.open(pair, true),
        Some(session),
        "a rotation signs nobody out"
    );

    update(&client, &name, &format!(r#"{{"current":"{new}"}}"#)).await;
    let retired = SessionKeys::from_secret_json(&cache.get(&name).await.unwrap()).unwrap();
    assert_eq!(
        retired.open(pair, true),
        None,
        "once the old key is dropped, its cookies stop working"
    );
}

#[tokio::test]
async fn a_models_key_comes_from_its_environment_variable_else_its_secret() {
    let client = e2e::secrets_manager();
    let name = create(&client, "sk-from-secrets-manager").await;
    let cache = SecretCache::new(client, Duration::from_secs(60));
    let mut model = shared::ai::Catalogue::embedded().default_model().clone();
    model.key_env = Some("OPENAI_API_KEY".into());
    model.key_secret = Some(name);
    let key = |env: Option<&'static str>| {
        let model = model.clone();
        let cache = &cache;
        async move {
            shared::ai::keys::api_key(&model, |_| env.map(str::to_string), async || cache)
                .await
                .map(|k| k.map(|k| k.expose_secret().to_string()))
        }
    };
    assert_eq!(
        key(Some("sk-local")).await.unwrap().as_deref(),
        Some("sk-local")
    );
    assert_eq!(
        key(None).await.unwrap().as_deref(),
        Some("sk-from-secrets-manager")
    );
    assert_eq!(
        key(Some("  ")).await.unwrap().as_deref(),
        Some("sk-from-secrets-manager")
    );
    model.key_secret = Some("switchboard/no-such-key".into());
    let missing = shared::ai::keys::api_key(&model, |_| None, async || &cache).await;
    assert!(matches!(missing, Err(shared::ai::ProviderError::NoKey(_))));
    model.key_secret = None;
    let none = shared::ai::keys::api_key(&model, |_| None, async || &cache).await;
    assert!(matches!(none, Ok(None)), "a local server needs no key");
}

#[tokio::test]
async fn one_secret_holds_every_providers_key_by_field() {
    let client = e2e::secrets_manager();
    let name = create(&client, r#"{"openai": "sk-openai", "anthropic": "sk-ant"}"#).await;
    let cache = SecretCache::new(client, Duration::from_secs(60));
    let mut model = shared::ai::Catalogue::embedded().default_model().clone();
    model.key_secret = Some(name);
    let key = async |model: &shared::ai::Model| {
        shared::ai::keys::api_key(model, |_| None, async || &cache)
            .await
            .map(|k| k.map(|k| k.expose_secret().to_string()))
    };
    model.key_field = Some("openai".into());
    assert_eq!(key(&model).await.unwrap().as_deref(), Some("sk-openai"));
    model.key_field = Some("anthropic".into());
    assert_eq!(key(&model).await.unwrap().as_deref(), Some("sk-ant"));
    // A field the secret lacks is no key (and the reply fails saying so), not the whole JSON.
    model.key_field = Some("mistral".into());
    assert!(matches!(
        key(&model).await,
        Err(shared::ai::ProviderError::NoKey(_))
    ));
}
