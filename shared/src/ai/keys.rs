//! Where a model's API key comes from: its environment variable when set (local runs), else
//! its Secrets Manager secret (in AWS, through the process's cache), else none (local servers
//! such as Ollama need none).

use secrecy::SecretString;

use super::{Model, ProviderError};
use crate::secrets::SecretCache;

/// `secrets` gives the cache only when a secret is needed, so a key from the environment
/// never builds a Secrets Manager client.
pub async fn api_key<'s>(
    model: &Model,
    env: impl Fn(&str) -> Option<String>,
    secrets: impl AsyncFnOnce() -> &'s SecretCache,
) -> Result<Option<SecretString>, ProviderError> {
    if let Some(value) = model
        .key_env
        .as_deref()
        .and_then(env)
        .filter(|v| !v.trim().is_empty())
    {
        return Ok(Some(SecretString::from(value.trim().to_string())));
    }
    let Some(secret) = &model.key_secret else {
        return Ok(None);
    };
    match secrets().await.get(secret).await {
        Ok(value) => Ok(Some(value)),
        Err(err) => {
            tracing::error!(model = %model.id, %err, "the model's API key could not be fetched");
            Err(ProviderError::NoKey(model.id.clone()))
        }
    }
}
