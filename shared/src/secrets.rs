//! Secrets from AWS Secrets Manager, fetched when first needed and kept in the process for a
//! while (the TTL), so a rotation reaches every warm function within that time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret {id} could not be fetched: {source}")]
    Fetch {
        id: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("secret {id} has no string value")]
    NotAString { id: String },
}

pub struct SecretCache {
    client: Client,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, SecretString)>>,
}

impl SecretCache {
    pub fn new(client: Client, ttl: Duration) -> Self {
        Self {
            client,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The secret's current string value, from the cache while it is fresh.
    pub async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        if let Some((fetched, value)) = self.entries.lock().unwrap().get(id)
            && fetched.elapsed() < self.ttl
        {
            return Ok(value.clone());
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|err| SecretError::Fetch {
                id: id.to_string(),
                source: Box::new(err),
            })?;
        let value = SecretString::from(
            output
                .secret_string
                .ok_or_else(|| SecretError::NotAString { id: id.to_string() })?,
        );
        tracing::info!(secret = id, "fetched secret");
        self.entries
            .lock()
            .unwrap()
            .insert(id.to_string(), (Instant::now(), value.clone()));
        Ok(value)
    }
}

/// The string `field` of a secret holding a JSON object (`{"openai": "sk-...", ...}`).
pub fn field_of(secret: &SecretString, field: &str) -> Result<SecretString, &'static str> {
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(secret.expose_secret()).map_err(|_| "not a JSON object")?;
    match object.get(field) {
        Some(serde_json::Value::String(key)) if !key.trim().is_empty() => {
            Ok(SecretString::from(key.trim().to_string()))
        }
        Some(serde_json::Value::String(_)) => Err("the field is blank"),
        Some(_) => Err("the field is not a string"),
        None => Err("no such field"),
    }
}
