//! What the bench feeds the functions: API Gateway events from the project's fixture, an
//! account to be signed in as, and the environment that points the functions at the store.

use std::time::Duration;

use serde_json::{Value, json};
use shared::accounts::{Account, Role};
use shared::api_keys::{ApiKey, ApiKeyId, KeyHash, KeyName};
use shared::conversations::{Conversation, ConversationId, Title};
use shared::session::{Session, SessionKeys};
use shared::store::{
    AccountStore, ApiKeyStore, ConversationStore, DynamoStore, ShareStore, SqliteStore, StoreError,
};
use shared::users::Username;

use crate::proxy::CountingProxy;

const FIXTURE: &str = include_str!("../../tests/fixtures/apigw/rest-get-home.json");
const USER: &str = "bench-admin";
/// The account the bench imports into, so that its thousands of imported conversations do
/// not slow the queries the pages make of the bench account on DynamoDB Local.
const IMPORTER: &str = "bench-importer";
/// The bench account's password, for the sign-in the bench measures (pages sign in by cookie).
const PASSWORD: &str = "bench password, long enough";

/// The bench account's conversation, which the chat function's events read and write.
pub const CONVERSATION: &str = "benchconversat10";
/// The bench account's API key (the shape of a real one: `sk-sb-` and 43 characters).
pub const API_KEY: &str = "sk-sb-bench-api-key-bench-api-key-bench-api-key-b";

/// The bench conversation's share link token (43 characters, like a real one).
pub const SHARE_TOKEN: &str = "bench-share-token-bench-share-token-bench-s";

pub struct Setup {
    env: Vec<(String, String)>,
    cookie: String,
    csrf: String,
    /// A signed-out visitor's session cookie and the CSRF token of the form it was shown.
    anonymous: (String, String),
    /// The importing account's session cookie and CSRF token.
    importer: (String, String),
    /// In front of DynamoDB Local, counting the functions' requests.
    pub proxy: Option<CountingProxy>,
}

impl Setup {
    pub async fn new(dynamodb: Option<&str>) -> Result<Self, String> {
        let mut key = [0u8; 64];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let key_b64 = base64_encode(&key);
        let mut env = vec![
            ("SWITCHBOARD_SESSION_KEY".to_string(), key_b64.clone()),
            // The offline model answers at once: a chat turn measures the portal, not a model.
            ("SWITCHBOARD_OFFLINE_PACE_MS".to_string(), "0".to_string()),
            // The bench sends as fast as it can, and signs people up.
            ("SWITCHBOARD_SENDS_PER_MINUTE".to_string(), "0".to_string()),
            ("SWITCHBOARD_SIGNUP".to_string(), "open".to_string()),
        ];
        let account = Account::new(
            Username::parse(USER).unwrap(),
            None,
            shared::password::hash(&PASSWORD.to_string().into()),
            Role::Admin,
            0,
        );
        let importer = Account::new(
            Username::parse(IMPORTER).unwrap(),
            None,
            account.password.clone(),
            Role::User,
            0,
        );
        let mut proxy = None;
        let created = match dynamodb {
            None => {
                let dir =
                    std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
                let path = dir.join("store.sqlite3");
                env.push(("SWITCHBOARD_SQLITE_PATH".into(), path.display().to_string()));
                let store = SqliteStore::open(&path).map_err(|e| e.to_string())?;
                let account = stored_account(&store, &account).await?;
                create_conversation(&store, &account).await?;
                create_api_key(&store, &account).await?;
                Ok((account, stored_account(&store, &importer).await?))
            }
            Some(url) => {
                let upstream = url
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .parse()
                    .map_err(|_| format!("{url}: expected http://127.0.0.1:PORT"))?;
                let counting = CountingProxy::start(upstream)
                    .await
                    .map_err(|e| e.to_string())?;
                let endpoint = format!("http://{}", counting.address);
                proxy = Some(counting);
                for (k, v) in [
                    ("SWITCHBOARD_STORE", "dynamodb"),
                    ("SWITCHBOARD_TABLE", "switchboard-bench"),
                    ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_ACCESS_KEY_ID", "test"),
                    ("AWS_SECRET_ACCESS_KEY", "test"),
                    ("AWS_EC2_METADATA_DISABLED", "true"),
                ] {
                    env.push((k.into(), v.into()));
                }
                let store =
                    DynamoStore::new(shared::testing::local_dynamodb(url), "switchboard-bench");
                store.create_table().await.map_err(|e| e.to_string())?;
                let account = stored_account(&store, &account).await?;
                create_conversation(&store, &account).await?;
                create_api_key(&store, &account).await?;
                Ok::<_, String>((account, stored_account(&store, &importer).await?))
            }
        };
        let (account, importer) = created?;
        let keys = SessionKeys::new(
            SessionKeys::parse_key(&key_b64.into()).map_err(|e| e.to_string())?,
            None,
        );
        let now = shared::session::now();
        let session = Session::new(Some(&account), Duration::from_secs(86_400), now);
        let csrf = session.csrf.as_str().to_string();
        let sealed = keys.seal(&session, true, now);
        let cookie = sealed.split(';').next().unwrap_or_default().to_string();
        let visitor = Session::new(None, Duration::from_secs(86_400), now);
        let sealed = keys.seal(&visitor, true, now);
        let anonymous = (
            sealed.split(';').next().unwrap_or_default().to_string(),
            visitor.csrf.as_str().to_string(),
        );
        let importing = Session::new(Some(&importer), Duration::from_secs(86_400), now);
        let importer = (
            keys.seal(&importing, true, now)
                .split(';')
                .next()
                .unwrap_or_default()
                .to_string(),
            importing.csrf.as_str().to_string(),
        );
        Ok(Self {
            env,
            cookie,
            csrf,
            anonymous,
            importer,
            proxy,
        })
    }

    pub fn env(&self) -> Vec<(String, String)> {
        self.env.clone()
    }

    /// The request each function is measured with: its main page, signed in where that is
    /// what people do.
    pub fn event_for(&self, function: &str) -> String {
        match function {
            "home" => self.event("GET", "/", true),
            "login" => self.event("GET", "/login", false),
            "logout" => self.event("GET", "/logout", true),
            "signup" => self.event("GET", "/signup", false),
            "settings" => self.event("GET", "/settings", true),
            "admin" => self.event("GET", "/admin", true),
            "usage" => self.event("GET", "/usage", true),
            "transfer" => self.event("GET", "/import", true),
            // A shared link is mostly opened by people who are not signed in.
            "share" => self.event("GET", &format!("/share/{SHARE_TOKEN}"), false),
            "chat" => self.event("GET", &format!("/chat/{CONVERSATION}"), true),
            "api" => self.api_event("GET", "/v1/models", None),
            _ => self.event("GET", "/no-such-page", true),
        }
    }

    /// A sign-in as a browser sends it: the form's token and the visitor's cookie, the bench
    /// account's name and password (right, so the throttle gives each attempt back).
    pub fn sign_in(&self) -> String {
        let (cookie, csrf) = &self.anonymous;
        let body = serde_urlencoded::to_string([
            ("csrf_token", csrf.as_str()),
            ("username", USER),
            ("password", PASSWORD),
        ])
        .expect("a form");
        with_body(
            &self.event("POST", "/login", false),
            body,
            "application/x-www-form-urlencoded",
            cookie,
        )
    }

    /// The `n`th of the bench's sign-ups, as a browser sends it: a new name each time, and a
    /// password strong enough for the strength check (argon2 hashes it).
    pub fn sign_up(&self, n: usize) -> String {
        let (cookie, csrf) = &self.anonymous;
        let username = format!("bench-{}-{n}", std::process::id());
        let password = "quartz lantern orbit 7 ripple";
        let body = serde_urlencoded::to_string([
            ("csrf_token", csrf.as_str()),
            ("username", username.as_str()),
            ("email", &format!("{username}@example.com")),
            ("password", password),
            ("confirm", password),
        ])
        .expect("a form");
        with_body(
            &self.event("POST", "/signup", false),
            body,
            "application/x-www-form-urlencoded",
            cookie,
        )
    }

    /// The `n`th of the bench's imports: an export file of five conversations of twenty
    /// messages (about 25 KB), each import's ids new, posted as the import form does.
    pub fn import(&self, n: usize) -> String {
        let conversations: Vec<Value> = (0..5)
            .map(|c| {
                let messages: Vec<Value> = (0..20)
                    .map(|m| {
                        json!({
                            "speaker": if m % 2 == 0 { "user" } else { "assistant" },
                            "text": format!("Message {m} of an imported conversation. {}", "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(3)),
                            "state": "complete",
                            "at": 1_700_000_000 + m,
                        })
                    })
                    .collect();
                json!({
                    "id": format!("i{:06}{n:05}c{c:03}", std::process::id() % 1_000_000),
                    "title": format!("Imported {n}.{c}"),
                    "model": "offline",
                    "system": null,
                    "created_at": 1_700_000_000,
                    "updated_at": 1_700_000_100,
                    "messages": messages,
                })
            })
            .collect();
        let file = json!({
            "format": "switchboard-export",
            "version": 1,
            "exported_at": 1_700_000_200,
            "conversations": conversations,
        });
        let boundary = "bench-boundary-7f3a";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export.json\"\r\n\
             Content-Type: application/json\r\n\r\n{file}\r\n--{boundary}--\r\n",
            self.importer.1
        );
        with_body(
            &self.event("POST", "/import", false),
            body,
            &format!("multipart/form-data; boundary={boundary}"),
            &self.importer.0,
        )
    }

    /// A chat turn as a browser without JavaScript sends it: a form post that waits for the
    /// whole reply (from the offline model).
    pub fn chat_turn(&self) -> String {
        self.turn("offline", None)
    }

    /// A send from the page's script: the reply comes back as server-sent events while the
    /// model writes it.
    pub fn streamed_turn(&self, model: &str) -> String {
        self.turn(model, Some("text/event-stream"))
    }

    fn turn(&self, model: &str, accept: Option<&str>) -> String {
        let mut event: Value =
            serde_json::from_str(&self.event("POST", &format!("/chat/{CONVERSATION}"), true))
                .expect("an event");
        let body = format!("csrf_token={}&message=Hello&model={model}", self.csrf);
        event["body"] = json!(body);
        let mut set = |name: &str, value: &str| {
            event["headers"][name] = json!(value);
            event["multiValueHeaders"][name] = json!([value]);
        };
        set("Content-Type", "application/x-www-form-urlencoded");
        if let Some(accept) = accept {
            set("Accept", accept);
        }
        event.to_string()
    }

    /// A completion asked of the offline model through the API, as the `openai` SDKs send
    /// it: JSON, with the bench account's key.
    pub fn api_completion(&self) -> String {
        let body = json!({
            "model": "offline",
            "messages": [{"role": "user", "content": "Hello"}],
        });
        self.api_event("POST", "/v1/chat/completions", Some(body))
    }

    fn api_event(&self, method: &str, path: &str, body: Option<Value>) -> String {
        let mut event: Value =
            serde_json::from_str(&self.event(method, path, false)).expect("an event");
        let mut set = |name: &str, value: &str| {
            event["headers"][name] = json!(value);
            event["multiValueHeaders"][name] = json!([value]);
        };
        set("Authorization", &format!("Bearer {API_KEY}"));
        if let Some(body) = body {
            set("Content-Type", "application/json");
            event["body"] = json!(body.to_string());
        }
        event.to_string()
    }

    pub fn event(&self, method: &str, path: &str, signed_in: bool) -> String {
        let mut event: Value = serde_json::from_str(FIXTURE).expect("the fixture is JSON");
        event["httpMethod"] = json!(method);
        event["path"] = json!(path);
        event["resource"] = json!(path);
        event["requestContext"]["httpMethod"] = json!(method);
        event["requestContext"]["path"] = json!(path);
        event["requestContext"]["resourcePath"] = json!(path);
        if signed_in {
            event["headers"]["Cookie"] = json!(self.cookie);
            event["multiValueHeaders"]["Cookie"] = json!([self.cookie]);
        }
        event.to_string()
    }
}

/// `event` with a form's body, its content type and a cookie, as a browser posts it.
fn with_body(event: &str, body: String, content_type: &str, cookie: &str) -> String {
    let mut event: Value = serde_json::from_str(event).expect("an event");
    event["body"] = json!(body);
    for (name, value) in [("Content-Type", content_type), ("Cookie", cookie)] {
        event["headers"][name] = json!(value);
        event["multiValueHeaders"][name] = json!([value]);
    }
    event.to_string()
}

async fn create_conversation<S: ConversationStore + ShareStore>(
    store: &S,
    account: &Account,
) -> Result<(), String> {
    let mut conversation = Conversation::new(
        Title::parse("Bench").expect("a title"),
        "offline".into(),
        None,
        0,
    );
    conversation.id = ConversationId::parse(CONVERSATION).expect("a valid id");
    match store
        .create_conversation(&account.username, &conversation)
        .await
    {
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(err) => return Err(format!("creating the bench conversation: {err}")),
    }
    match store
        .share_conversation(&account.username, &conversation.id, SHARE_TOKEN)
        .await
    {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(err) => Err(format!("sharing the bench conversation: {err}")),
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The bench account as stored: created now, or by an earlier run (with its own id).
/// The bench account's API key (kept across runs, like the account).
async fn create_api_key<S: ApiKeyStore>(store: &S, account: &Account) -> Result<(), String> {
    let key = ApiKey {
        id: ApiKeyId::parse("benchapikey00000").expect("a valid id"),
        name: KeyName::parse("bench").expect("a valid name"),
        created_at: 0,
        expires_at: None,
        last_used_at: None,
        models: None,
        keeps_conversations: false,
    };
    let hash = KeyHash::of(&API_KEY.to_string().into());
    match store.create_api_key(&account.username, &key, &hash).await {
        Ok(()) | Err(StoreError::Conflict) => Ok(()),
        Err(err) => Err(format!("creating the bench API key: {err}")),
    }
}

async fn stored_account<S: AccountStore>(store: &S, account: &Account) -> Result<Account, String> {
    match store.create_account(account).await {
        Ok(()) | Err(StoreError::Conflict) => {}
        Err(err) => return Err(format!("creating the bench account: {err}")),
    }
    store
        .account(&account.username)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the bench account vanished".to_string())
}
