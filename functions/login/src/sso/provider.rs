//! The identity provider as the portal sees it: its discovery document and keys (fetched on
//! first need and kept for the secrets' TTL, like secrets), the client secret, and the HTTP
//! client the protocol crate calls it with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openidconnect::core::CoreClient;
use openidconnect::http::{self, HeaderMap, StatusCode};
use openidconnect::{
    ClientId, ClientSecret, HttpRequest, HttpResponse, IssuerUrl, ProviderMetadataWithLogout,
};
use secrecy::ExposeSecret;
use shared::App;
use shared::sso::{self, SsoConfig};

use super::SignOnError;

/// The most any answer of the provider may hold (discovery documents and key sets are a few
/// kilobytes; a token response a few more).
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// How long the provider may take to answer one request.
const TIMEOUT: Duration = Duration::from_secs(10);

pub type Metadata = ProviderMetadataWithLogout;

/// A provider's metadata and keys, and when they were fetched.
type Discovered = (Instant, Arc<Metadata>);

/// What was discovered, by issuer.
static DISCOVERED: Mutex<Option<HashMap<String, Discovered>>> = Mutex::new(None);

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("request failed: {0}")]
    Request(#[from] reqwest::Error),
    #[error("answer over {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("bad response: {0}")]
    Response(#[from] http::Error),
}

/// One request to the provider, through the portal's HTTPS client (no redirects followed,
/// bounded in time and size).
pub async fn send(
    client: reqwest::Client,
    request: HttpRequest,
) -> Result<HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let mut response = client
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .timeout(TIMEOUT)
        .send()
        .await?;
    let status: StatusCode = response.status();
    let headers: HeaderMap = response.headers().clone();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let mut answer = http::Response::builder().status(status);
    if let Some(map) = answer.headers_mut() {
        *map = headers;
    }
    Ok(answer.body(body)?)
}

/// The protocol client as discovery sets it up: an authorization endpoint, and a token and a
/// user-info endpoint if the provider has them.
pub type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The configured provider, with what a sign-on needs from it.
pub struct Provider<'a> {
    pub config: &'a SsoConfig,
    pub metadata: Arc<Metadata>,
    pub http: reqwest::Client,
    /// Whether `metadata` was fetched for this request (a failed signature is then not for
    /// want of the provider's newest keys).
    pub fresh: bool,
}

impl<'a> Provider<'a> {
    /// The provider's metadata and keys, from the cache while it is fresh.
    pub async fn get(app: &'a App) -> Result<Provider<'a>, SignOnError> {
        let config = app.config.sso.as_ref().ok_or(SignOnError::NotConfigured)?;
        let http = app
            .http()
            .await
            .map_err(|err| SignOnError::Internal(err.to_string()))?
            .clone();
        let ttl = app.config.secrets_ttl;
        let cached = DISCOVERED
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|all| all.get(&config.issuer).cloned())
            .filter(|(fetched, _)| fetched.elapsed() < ttl);
        if let Some((_, metadata)) = cached {
            return Ok(Self {
                config,
                metadata,
                http,
                fresh: false,
            });
        }
        Self::discover(config, http).await
    }

    /// Fetches the discovery document and the key set now, replacing what was cached.
    pub async fn discover(
        config: &'a SsoConfig,
        http: reqwest::Client,
    ) -> Result<Provider<'a>, SignOnError> {
        let issuer = IssuerUrl::new(config.issuer.clone())
            .map_err(|err| SignOnError::Internal(format!("issuer URL: {err}")))?;
        let client = http.clone();
        let metadata =
            Metadata::discover_async(issuer, &move |request| send(client.clone(), request))
                .await
                .map_err(|err| SignOnError::ProviderDown(describe(&err)))?;
        let metadata = Arc::new(metadata);
        tracing::info!(
            issuer = config.issuer,
            "fetched the identity provider's metadata"
        );
        DISCOVERED
            .lock()
            .unwrap()
            .get_or_insert_with(HashMap::new)
            .insert(config.issuer.clone(), (Instant::now(), metadata.clone()));
        Ok(Self {
            config,
            metadata,
            http,
            fresh: true,
        })
    }

    /// The protocol client, as this portal's registration with the provider.
    pub async fn client(&self, app: &App) -> Result<Client, SignOnError> {
        let secret = match &self.config.client_secret {
            sso::ClientSecret::None => None,
            sso::ClientSecret::Fixed(secret) => {
                Some(ClientSecret::new(secret.expose_secret().to_string()))
            }
            sso::ClientSecret::Managed { secret_id, field } => {
                let secret = app
                    .secrets()
                    .await
                    .get(secret_id)
                    .await
                    .map_err(|err| SignOnError::Internal(err.to_string()))?;
                let secret = match field {
                    Some(field) => shared::secrets::field_of(&secret, field).map_err(|why| {
                        SignOnError::Internal(format!("secret {secret_id}, field {field}: {why}"))
                    })?,
                    None => secret,
                };
                Some(ClientSecret::new(secret.expose_secret().trim().to_string()))
            }
        };
        Ok(CoreClient::from_provider_metadata(
            (*self.metadata).clone(),
            ClientId::new(self.config.client_id.clone()),
            secret,
        ))
    }
}

/// An error and its causes, for the log.
pub fn describe(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
