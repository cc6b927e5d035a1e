//! The state a function builds once at start-up and shares across invocations. Clients and
//! secrets are built on the first request that needs them, not at start-up: a cold start pays
//! only for what its request uses.

use std::borrow::Cow;
use std::collections::HashMap;

use aws_types::SdkConfig;
use secrecy::SecretString;
use tokio::sync::OnceCell;

use crate::AppError;
use crate::ai::{Model, ProviderError};
use crate::attachments::{Bucket, Uploads};
use crate::config::{AttachmentsConfig, Config, ConfigError, SessionKeySource, StoreConfig};
use crate::pages::Pages;
use crate::secrets::SecretCache;
use crate::session::SessionKeys;
#[cfg(feature = "embedded")]
use crate::store::SqliteStore;
use crate::store::{DynamoStore, Store};

pub struct App {
    pub config: Config,
    pub pages: Pages,
    /// Every response's Content-Security-Policy (`web::content_security_policy`).
    pub content_security_policy: lambda_http::http::HeaderValue,
    aws: OnceCell<SdkConfig>,
    store: OnceCell<Store>,
    secrets: OnceCell<SecretCache>,
    http: OnceCell<reqwest::Client>,
    bucket: OnceCell<Bucket>,
    uploads: OnceCell<Uploads>,
    /// Bedrock runtime clients, one per region a model names (`None`: the SDK's own region).
    bedrock: tokio::sync::Mutex<HashMap<Option<String>, aws_sdk_bedrockruntime::Client>>,
}

impl App {
    pub fn new(config: Config) -> Self {
        let provider = config
            .sso
            .as_ref()
            .filter(|sso| sso.end_session)
            .map(|sso| sso.origin());
        let files = match &config.attachments {
            AttachmentsConfig::Bucket(name) => Some(crate::attachments::bucket::origin_of(
                &crate::attachments::bucket::url_of(name, &env_var),
            )),
            _ => None,
        };
        Self {
            content_security_policy: crate::web::content_security_policy(
                provider,
                files.as_deref(),
            ),
            config,
            pages: Pages::new(),
            aws: OnceCell::new(),
            store: OnceCell::new(),
            secrets: OnceCell::new(),
            http: OnceCell::new(),
            bucket: OnceCell::new(),
            uploads: OnceCell::new(),
            bedrock: Default::default(),
        }
    }

    /// As `new`, with the AWS SDK configuration given rather than read from the environment
    /// (tests point it at local stand-ins).
    pub fn with_aws(config: Config, aws: SdkConfig) -> Self {
        let app = Self::new(config);
        app.aws.set(aws).expect("a new cell is empty");
        app
    }

    pub fn from_env() -> Result<Self, ConfigError> {
        Config::from_env().map(Self::new)
    }

    /// Sets up logging and reads the configuration. A bad configuration stops the process with
    /// a message naming the variable: failing at start-up beats failing every request.
    pub fn start() -> Self {
        lambda_http::tracing::init_default_subscriber();
        match Self::from_env() {
            Ok(app) => app,
            Err(err) => {
                lambda_http::tracing::error!(%err, "configuration error");
                eprintln!("switchboard: configuration error: {err}");
                std::process::exit(1);
            }
        }
    }

    /// The AWS SDK's configuration, from the environment (`crate::aws`).
    async fn aws(&self) -> &SdkConfig {
        self.aws
            .get_or_init(|| async { crate::aws::sdk_config(|name| std::env::var(name).ok()) })
            .await
    }

    pub async fn store(&self) -> Result<&Store, AppError> {
        self.store
            .get_or_try_init(|| async {
                match &self.config.store {
                    #[cfg(feature = "embedded")]
                    StoreConfig::Embedded { path } => SqliteStore::open(path).map(Store::Embedded),
                    // Refused when the configuration was read; never reached.
                    #[cfg(not(feature = "embedded"))]
                    StoreConfig::Embedded { .. } => Err(crate::store::StoreError::Corrupt(
                        "this build has no embedded store".into(),
                    )),
                    StoreConfig::Dynamo {
                        table,
                        create_table,
                    } => {
                        let client = aws_sdk_dynamodb::Client::new(self.aws().await);
                        let store = DynamoStore::new(client, table);
                        if *create_table {
                            store.create_table().await?;
                        }
                        Ok(Store::Dynamo(store))
                    }
                }
            })
            .await
            .map_err(AppError::internal)
    }

    pub async fn secrets(&self) -> &SecretCache {
        self.secrets
            .get_or_init(|| async {
                let client = aws_sdk_secretsmanager::Client::new(self.aws().await);
                SecretCache::new(client, self.config.secrets_ttl)
            })
            .await
    }

    /// The HTTP client for AI providers, built on the first reply that needs one (loading
    /// the system's root certificates takes milliseconds a page view need not pay).
    pub async fn http(&self) -> Result<&reqwest::Client, AppError> {
        self.http
            .get_or_try_init(|| async {
                crate::https::provider_client()
                    .connect_timeout(std::time::Duration::from_secs(10))
                    .build()
            })
            .await
            .map_err(AppError::internal)
    }

    /// The Bedrock runtime client for `region` (the SDK's own when `None`), built on the first
    /// reply that needs it. Credentials are the SDK's: the function's role in AWS, the default
    /// chain locally; `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` points it elsewhere.
    pub async fn bedrock(&self, region: Option<&str>) -> aws_sdk_bedrockruntime::Client {
        let mut clients = self.bedrock.lock().await;
        let key = region.map(str::to_string);
        if let Some(client) = clients.get(&key) {
            return client.clone();
        }
        let client = crate::ai::bedrock::client(self.aws().await, region);
        clients.insert(key, client.clone());
        client
    }

    /// Where attachments are kept, built on the first request that needs it; `None` when
    /// attaching is off.
    pub async fn bucket(&self) -> Result<Option<&Bucket>, AppError> {
        let bucket = match &self.config.attachments {
            AttachmentsConfig::Off => return Ok(None),
            AttachmentsConfig::Bucket(name) => {
                self.bucket
                    .get_or_init(|| async {
                        let endpoint = crate::attachments::bucket::endpoint(&env_var);
                        Bucket::s3(self.aws().await, name, endpoint.as_deref())
                    })
                    .await
            }
            AttachmentsConfig::Directory(root) => {
                self.bucket
                    .get_or_init(|| async { Bucket::Directory { root: root.clone() } })
                    .await
            }
        };
        Ok(Some(bucket))
    }

    /// What signs the upload forms pages carry (and checks them, for the directory store);
    /// `None` when attaching is off.
    pub async fn uploads(&self) -> Result<Option<&Uploads>, AppError> {
        let uploads = match &self.config.attachments {
            AttachmentsConfig::Off => return Ok(None),
            AttachmentsConfig::Bucket(name) => {
                self.uploads
                    .get_or_init(|| async {
                        Uploads::S3 {
                            bucket: name.clone(),
                            url: crate::attachments::bucket::url_of(name, &env_var),
                            sdk: Box::new(self.aws().await.clone()),
                        }
                    })
                    .await
            }
            AttachmentsConfig::Directory(_) => {
                self.uploads
                    .get_or_try_init(|| async {
                        let keys = self.session_keys().await?;
                        Ok::<_, AppError>(Uploads::Directory {
                            signer: crate::attachments::uploads::directory_signer(
                                keys.derived("switchboard attachments"),
                            ),
                        })
                    })
                    .await?
            }
        };
        Ok(Some(uploads))
    }

    /// The model's reply to `prompt`, as a stream of events: the offline model, Bedrock
    /// through the function's role, or a provider over HTTPS with its key; each wait bounded
    /// by the provider timeout, the whole reply by the reply deadline.
    pub async fn ask(
        &self,
        model: &Model,
        prompt: &crate::ai::Prompt,
    ) -> Result<crate::ai::EventStream, ProviderError> {
        use crate::ai::{self, ProviderKind, Timeouts};
        if model.is_offline() {
            return Ok(ai::offline::reply(prompt, self.config.offline_pace));
        }
        let timeouts = Timeouts {
            idle: self.config.provider_timeout,
            deadline: self.config.reply_deadline,
        };
        if model.provider == ProviderKind::Bedrock {
            let client = self.bedrock(model.region.as_deref()).await;
            return ai::bedrock::stream(&client, model, prompt, timeouts).await;
        }
        let key = self.api_key(model).await?;
        let http = self
            .http()
            .await
            .map_err(|e| ProviderError::Network(e.to_string()))?;
        ai::stream_reply(
            http,
            model,
            key.as_ref(),
            prompt,
            timeouts,
            self.config.offline_pace,
        )
        .await
    }

    /// The model's API key (see `ai::keys`).
    pub async fn api_key(&self, model: &Model) -> Result<Option<SecretString>, ProviderError> {
        crate::ai::keys::api_key(
            model,
            |name| std::env::var(name).ok(),
            async || self.secrets().await,
        )
        .await
    }

    /// The keys that open and seal session cookies.
    pub async fn session_keys(&self) -> Result<Cow<'_, SessionKeys>, AppError> {
        match &self.config.session_keys {
            SessionKeySource::Fixed(keys) => Ok(Cow::Borrowed(keys)),
            SessionKeySource::Managed { secret_id } => {
                let value = self
                    .secrets()
                    .await
                    .get(secret_id)
                    .await
                    .map_err(AppError::internal)?;
                SessionKeys::from_secret_json(&value)
                    .map(Cow::Owned)
                    .map_err(|reason| {
                        AppError::internal(format!("secret {secret_id} is unusable: {reason}"))
                    })
            }
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
