//! Where a model's API key comes from: its environment variable when set (local runs), else
//! its Secrets Manager secret (in AWS, through the process's cache), the whole value or one
//! field of a JSON object of several keys, else none (local servers such as Ollama need none).

use secrecy::SecretString;

use super::{Model, ProviderError};
use crate::secrets::{SecretCache, field_of};

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
    let fetched = match secrets().await.get(secret).await {
        Ok(value) => value,
        Err(err) => {
            tracing::error!(model = %model.id, %err, "the model's API key could not be fetched");
            return Err(ProviderError::NoKey(model.id.clone()));
        }
    };
    let Some(field) = &model.key_field else {
        return Ok(Some(fetched));
    };
    match field_of(&fetched, field) {
        Ok(key) => Ok(Some(key)),
        Err(problem) => {
            // Never the value: only what is wrong with its shape.
            tracing::error!(model = %model.id, secret, field, problem, "the model's API key is not in its secret");
            Err(ProviderError::NoKey(model.id.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn field(secret: &str, name: &str) -> Result<String, &'static str> {
        field_of(&SecretString::from(secret.to_string()), name)
            .map(|k| k.expose_secret().to_string())
    }

    #[test]
    fn a_key_is_one_field_of_a_json_secret() {
        let secret = r#"{"openai": " sk-1 ", "anthropic": "sk-ant-2"}"#;
        assert_eq!(field(secret, "openai"), Ok("sk-1".into()));
        assert_eq!(field(secret, "anthropic"), Ok("sk-ant-2".into()));
        assert_eq!(field(secret, "mistral"), Err("no such field"));
        assert_eq!(
            field(r#"{"openai": 5}"#, "openai"),
            Err("the field is not a string")
        );
        assert_eq!(
            field(r#"{"openai": " "}"#, "openai"),
            Err("the field is blank")
        );
        assert_eq!(field("sk-plain", "openai"), Err("not a JSON object"));
        assert_eq!(field(r#"["sk"]"#, "openai"), Err("not a JSON object"));
    }
}
