//! The API through its handler, as a client calls it: keys (good, missing, unknown, revoked,
//! expired, of a disabled account, with the API off), models, completions whole and streamed
//! on every kind of provider, limits, bad requests, and calls kept as conversations.

use fake_provider::FakeProvider;
use lambda_http::http::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use shared::accounts::{AccountChange, Role};
use shared::api_keys::{ApiKey, ApiKeyId, KeyHash, KeyName, generate_secret};
use shared::config::{MODELS, OFFLINE_PACE, PROVIDER_TIMEOUT, SENDS_PER_MINUTE};
use shared::store::{AccountStore, ApiKeyStore, ConversationStore, UsageStore};
use shared::testing::{self, request, streamed_text};
use shared::usage::{API_USAGE, Cost, Month};
use shared::users::Username;

use super::*;

async fn portal_with(extra: &[(&str, &str)]) -> (&'static App, FakeProvider) {
    let fake = FakeProvider::start().await;
    let models = fake_provider::catalogue(&fake.openai_url());
    let aws = fake.openai_url().replace("/v1", "");
    let mut vars = vec![
        (MODELS, models.as_str()),
        (OFFLINE_PACE, "0"),
        (PROVIDER_TIMEOUT, "1"),
    ];
    vars.extend_from_slice(extra);
    let app = testing::app_with_aws(&vars, &aws);
    (Box::leak(Box::new(app)), fake)
}

async fn portal() -> (&'static App, FakeProvider) {
    portal_with(&[]).await
}

/// Someone with a key.
struct Client {
    app: &'static App,
    owner: Username,
    key: String,
    id: ApiKeyId,
}

#[derive(Default)]
struct KeyOptions {
    models: Option<Vec<String>>,
    expires_at: Option<u64>,
    keeps_conversations: bool,
}

impl Client {
    async fn new(app: &'static App) -> Self {
        Self::with(app, KeyOptions::default()).await
    }

    async fn with(app: &'static App, options: KeyOptions) -> Self {
        let account = testing::create_account(app, "caller", Role::User, "pw").await;
        let secret = generate_secret();
        let key = ApiKey {
            id: ApiKeyId::generate(),
            name: KeyName::parse("tests").unwrap(),
            created_at: session::now() - 10,
            expires_at: options.expires_at,
            last_used_at: None,
            models: options.models,
            keeps_conversations: options.keeps_conversations,
        };
        let store = app.store().await.unwrap();
        store
            .create_api_key(&account.username, &key, &KeyHash::of(&secret))
            .await
            .unwrap();
        Self {
            app,
            owner: account.username,
            key: secret.expose_secret().to_string(),
            id: key.id,
        }
    }

    /// A completion request with the client's key, its body as given.
    fn completion_request(&self, body: &str) -> Request {
        let mut req = request(Method::POST, "/v1/chat/completions");
        *req.body_mut() = Body::Text(body.to_string());
        req.headers_mut().insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", self.key)).unwrap(),
        );
        req
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, String) {
        call_with(
            self.app,
            method,
            path,
            body,
            Some(&format!("Bearer {}", self.key)),
        )
        .await
    }

    async fn complete(&self, body: Value) -> (StatusCode, Value) {
        let (status, text) = self
            .call(Method::POST, "/v1/chat/completions", Some(body))
            .await;
        (status, serde_json::from_str(&text).expect("a JSON answer"))
    }

    async fn spent(&self) -> shared::usage::UsageReport {
        let store = self.app.store().await.unwrap();
        store
            .usage(&self.owner, Month::of(session::now()))
            .await
            .unwrap()
    }
}

async fn call_with(
    app: &'static App,
    method: Method,
    path: &str,
    body: Option<Value>,
    authorization: Option<&str>,
) -> (StatusCode, String) {
    let mut req = request(method, path);
    if let Some(body) = body {
        *req.body_mut() = Body::Text(body.to_string());
    }
    if let Some(value) = authorization {
        req.headers_mut()
            .insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
    }
    let response = handle(app, req).await;
    let status = response.status();
    (status, streamed_text(response).await)
}

fn hello(model: &str) -> Value {
    json!({
        "model": model,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "hello there"},
        ],
    })
}

fn code(body: &str) -> String {
    let value: Value = serde_json::from_str(body).expect("a JSON error");
    value["error"]["code"].as_str().unwrap_or("").to_string()
}

/// The data of each event of a stream.
fn data_of(body: &str) -> Vec<String> {
    body.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn models_are_those_the_key_may_use() {
    let (app, _fake) = portal().await;
    let all = Client::new(app).await;
    let (status, body) = all.call(Method::GET, "/v1/models", None).await;
    assert_eq!(status, StatusCode::OK);
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["object"], "list");
    let ids: Vec<&str> = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"fake-echo") && ids.contains(&"offline"),
        "{ids:?}"
    );

    let limited = Client::with(
        app,
        KeyOptions {
            models: Some(vec!["offline".into()]),
            ..Default::default()
        },
    )
    .await;
    let (_, body) = limited.call(Method::GET, "/v1/models", None).await;
    let list: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    assert_eq!(list["data"][0]["id"], "offline");
    let (status, body) = limited.call(Method::GET, "/v1/models/offline", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Not its model, or nobody's: not found either way.
    for id in ["fake-echo", "no-such-model"] {
        let (status, body) = limited
            .call(Method::GET, &format!("/v1/models/{id}"), None)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(code(&body), "model_not_found");
    }
}

#[tokio::test]
async fn a_completion_is_answered_whole_and_counted_as_api_usage() {
    let (app, fake) = portal().await;
    let client = Client::new(app).await;
    let mut body = hello("fake-echo");
    body["max_tokens"] = json!(100);
    body["temperature"] = json!(0.3);
    let (status, answer) = client.complete(body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["object"], "chat.completion");
    assert!(answer["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(answer["model"], "fake-echo");
    let content = answer["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.starts_with("You said: hello there."), "{content}");
    assert_eq!(answer["choices"][0]["finish_reason"], "stop");
    assert_eq!(answer["usage"]["completion_tokens"], 15);
    // What reached the provider: the system prompt and the message, with the parameters.
    let sent = &fake.requests()[0].body;
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["messages"][1]["content"], "hello there");
    assert_eq!(sent["max_tokens"], 100);
    assert_eq!(sent["temperature"], 0.3);
    // Counted under "API", with its cost.
    let report = client.spent().await;
    let line = report
        .by_conversation
        .iter()
        .find(|l| l.id == API_USAGE)
        .expect("an API line");
    assert_eq!(line.totals.replies, 1);
    assert!(line.totals.cost > Cost::ZERO);
    assert_eq!(report.total.replies, 1);
    // Its use is noted on the key.
    let keys = app
        .store()
        .await
        .unwrap()
        .api_keys(&client.owner)
        .await
        .unwrap();
    assert!(
        keys.iter()
            .any(|k| k.id == client.id && k.last_used_at.is_some())
    );
}

#[tokio::test]
async fn a_completion_streams_as_chunks_with_usage_and_done() {
    let (app, _fake) = portal().await;
    let client = Client::new(app).await;
    let mut body = hello("fake-echo");
    body["stream"] = json!(true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, text) = client
        .call(Method::POST, "/v1/chat/completions", Some(body))
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    let events = data_of(&text);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(content.starts_with("You said: hello there."), "{content}");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert!(finish["usage"].is_null());
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["completion_tokens"], 15);
    // Without include_usage: no usage chunk, no usage field.
    let mut body = hello("fake-echo");
    body["stream"] = json!(true);
    let (_, text) = client
        .call(Method::POST, "/v1/chat/completions", Some(body))
        .await;
    let events = data_of(&text);
    let last: Value = serde_json::from_str(&events[events.len() - 2]).unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert!(last.get("usage").is_none());
    assert_eq!(client.spent().await.total.replies, 2);
}

#[tokio::test]
async fn every_kind_of_model_answers_through_the_api() {
    let (app, _fake) = portal().await;
    let client = Client::new(app).await;
    for model in ["fake-anthropic", "fake-bedrock", "offline"] {
        let (status, answer) = client.complete(hello(model)).await;
        assert_eq!(status, StatusCode::OK, "{model}: {answer}");
        let content = answer["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(!content.is_empty(), "{model}");
        assert!(
            answer["usage"]["total_tokens"].as_u64().unwrap() > 0,
            "{model}"
        );
    }
    // A model that reasons: its thinking apart, as OpenAI-compatible servers send it.
    let (status, answer) = client.complete(hello("fake-thinking")).await;
    assert_eq!(status, StatusCode::OK);
    let message = &answer["choices"][0]["message"];
    assert_eq!(
        message["reasoning_content"],
        fake_provider::THINKING.concat()
    );
    assert!(!message["content"].as_str().unwrap().contains("echo it"));
}

#[tokio::test]
async fn keys_are_checked() {
    let (app, fake) = portal().await;
    let missing = call_with(app, Method::GET, "/v1/models", None, None).await;
    assert_eq!(missing.0, StatusCode::UNAUTHORIZED);
    assert_eq!(code(&missing.1), "invalid_api_key");
    for presented in [
        "Bearer nonsense",
        "Basic c2stc2I6",
        &format!("Bearer {}", generate_secret().expose_secret()),
    ] {
        let (status, body) = call_with(app, Method::GET, "/v1/models", None, Some(presented)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{presented}");
        assert_eq!(code(&body), "invalid_api_key");
    }
    let store = app.store().await.unwrap();

    // Revoked: refused at once.
    let revoked = Client::new(app).await;
    assert_eq!(
        revoked.call(Method::GET, "/v1/models", None).await.0,
        StatusCode::OK
    );
    store
        .revoke_api_key(&revoked.owner, &revoked.id)
        .await
        .unwrap();
    let (status, body) = revoked.call(Method::GET, "/v1/models", None).await;
    assert_eq!(
        (status, code(&body).as_str()),
        (StatusCode::UNAUTHORIZED, "invalid_api_key")
    );

    // Expired.
    let expired = Client::with(
        app,
        KeyOptions {
            expires_at: Some(session::now() - 1),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = expired.complete(hello("fake-echo")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "expired_api_key");

    // A disabled account's keys stop working.
    let disabled = Client::new(app).await;
    store
        .change_account(&disabled.owner, &AccountChange::Disabled(true))
        .await
        .unwrap();
    let (status, _) = disabled.call(Method::GET, "/v1/models", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(fake.requests().is_empty(), "nothing reached a provider");
}

#[tokio::test]
async fn administrators_turn_the_api_off_for_the_portal_and_for_groups() {
    use shared::groups::{Group, GroupId, GroupName};
    use shared::store::GroupStore;
    let (app, _fake) = portal().await;
    let client = Client::new(app).await;
    let store = app.store().await.unwrap();
    store.set_api_enabled(false).await.unwrap();
    let (status, body) = client.complete(hello("fake-echo")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "api_disabled");
    store.set_api_enabled(true).await.unwrap();
    assert_eq!(client.complete(hello("fake-echo")).await.0, StatusCode::OK);

    // In a group with the API off (and no other group), its members are refused.
    let group = Group {
        id: GroupId::generate(),
        name: GroupName::parse("Contractors").unwrap(),
        models: None,
        created_at: 0,
        monthly_cap: None,
        member_cap: None,
        retention_days: None,
        api_off: true,
    };
    let groups = store.groups().await.unwrap();
    store
        .save_groups(std::slice::from_ref(&group), groups.version)
        .await
        .unwrap();
    store
        .change_account(&client.owner, &AccountChange::JoinGroup(group.id.clone()))
        .await
        .unwrap();
    let (status, body) = client.call(Method::GET, "/v1/models", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(code(&body), "api_disabled");
}

#[tokio::test]
async fn a_model_not_allowed_or_unknown_is_refused_before_anything_is_sent() {
    let (app, fake) = portal().await;
    let client = Client::with(
        app,
        KeyOptions {
            models: Some(vec!["offline".into()]),
            ..Default::default()
        },
    )
    .await;
    let (status, body) = client.complete(hello("fake-echo")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "model_not_allowed");
    assert_eq!(body["error"]["param"], "model");
    let (status, body) = client.complete(hello("gpt-17")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "model_not_found");
    assert!(fake.requests().is_empty());
    assert_eq!(client.spent().await.total.replies, 0);
}

#[tokio::test]
async fn the_spend_cap_and_the_send_rate_hold_api_calls_too() {
    let (app, fake) = portal_with(&[(SENDS_PER_MINUTE, "2")]).await;
    let client = Client::new(app).await;
    // A dollar a token: the first call passes the cap, the next is refused.
    let store = app.store().await.unwrap();
    store
        .change_account(
            &client.owner,
            &AccountChange::SpendCap(Some(Cost::parse_dollars("1").unwrap())),
        )
        .await
        .unwrap();
    let (status, _) = client.complete(hello("fake-pricey")).await;
    assert_eq!(status, StatusCode::OK);
    let sent = fake.requests().len();
    let (status, body) = client.complete(hello("fake-pricey")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "spend_cap_reached");
    assert_eq!(body["error"]["type"], "insufficient_quota");
    assert_eq!(fake.requests().len(), sent, "nothing sent");

    // Two calls a minute: the third (the refused one was not counted) is refused, and says
    // when to try again.
    let quick = Client::new(app).await;
    for _ in 0..2 {
        assert_eq!(quick.complete(hello("offline")).await.0, StatusCode::OK);
    }
    let req = quick.completion_request(&hello("offline").to_string());
    let response = handle(app, req).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry));
    let body = streamed_text(response).await;
    assert_eq!(code(&body), "rate_limit_exceeded");
    assert_eq!(quick.spent().await.total.replies, 2);
}

#[tokio::test]
async fn bad_requests_are_refused_with_nothing_sent_or_charged() {
    let (app, fake) = portal().await;
    let client = Client::new(app).await;
    let raw = |body: &str| client.completion_request(body);
    let response = handle(app, raw("{\"model\": \"fake-echo\", \"messages\": [")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(code(&streamed_text(response).await), "invalid_json");
    let (status, body) = client
        .complete(json!({"model": "fake-echo", "messages": []}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "messages");
    let (status, body) = client
        .complete(json!({"model": "fake-echo", "messages": [{"role": "user", "content": "x"}], "temperature": "warm"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["param"], "temperature");
    let huge = format!(
        "{{\"model\": \"fake-echo\", \"messages\": [{{\"role\": \"user\", \"content\": \"{}\"}}]}}",
        "x".repeat(crate::request::MAX_BODY_BYTES)
    );
    let response = handle(app, raw(&huge)).await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&streamed_text(response).await), "request_too_large");
    // Too long for the model's context.
    let long = json!({"model": "fake-echo", "messages": [{"role": "user", "content": "x".repeat(20_000)}]});
    let (status, body) = client.complete(long).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "context_length_exceeded");
    assert!(fake.requests().is_empty());
    assert_eq!(client.spent().await.total.replies, 0);
    // Wrong method, unknown route.
    let (status, body) = client.call(Method::GET, "/v1/chat/completions", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(code(&body), "method_not_allowed");
    let (status, _) = client.call(Method::GET, "/v1/embeddings", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failing_provider_is_an_error_and_what_it_wrote_is_charged() {
    let (app, _fake) = portal().await;
    let client = Client::new(app).await;
    let (status, body) = client.complete(hello("fake-status-500")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body["error"]["code"], "upstream_error");
    assert_eq!(client.spent().await.total.replies, 0, "nothing arrived");
    // Streamed: the error comes as an event after what arrived, and no [DONE].
    let mut body = hello("fake-drop");
    body["stream"] = json!(true);
    let (status, text) = client
        .call(Method::POST, "/v1/chat/completions", Some(body))
        .await;
    assert_eq!(status, StatusCode::OK);
    let events = data_of(&text);
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["code"], "upstream_error");
    assert!(!text.contains("[DONE]"));
    let arrived: String = events[..events.len() - 1]
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|c| {
            c["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(arrived, "You said: hello ");
    assert_eq!(
        client.spent().await.total.replies,
        1,
        "what arrived is paid for"
    );
}

#[tokio::test]
async fn a_key_that_keeps_its_calls_makes_conversations() {
    let (app, _fake) = portal().await;
    let keeper = Client::with(
        app,
        KeyOptions {
            keeps_conversations: true,
            ..Default::default()
        },
    )
    .await;
    let body = json!({"model": "fake-echo", "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Plan a **weekend** in Rome"},
        {"role": "assistant", "content": "Sure."},
        {"role": "user", "content": "hello there"},
    ]});
    let response = handle(app, keeper.completion_request(&body.to_string())).await;
    assert_eq!(response.status(), StatusCode::OK);
    let id = response.headers()["x-switchboard-conversation"]
        .to_str()
        .unwrap()
        .to_string();
    streamed_text(response).await;
    let store = app.store().await.unwrap();
    let id = shared::conversations::ConversationId::parse(&id).unwrap();
    let (conversation, messages) = store
        .conversation(&keeper.owner, &id, 10)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(conversation.title, "Plan a weekend in Rome");
    assert_eq!(conversation.system.as_deref(), Some("Be brief."));
    assert_eq!(messages.len(), 4);
    assert!(messages[3].text.starts_with("You said: hello there."));
    assert!(messages[3].cost.is_some());
    assert_eq!(conversation.next_seq, 4);
    let listed = store
        .list_conversations(&keeper.owner, None, 10)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);

    // Off by default: nothing kept.
    let plain = Client::new(app).await;
    assert_eq!(plain.complete(hello("fake-echo")).await.0, StatusCode::OK);
    let listed = store
        .list_conversations(&plain.owner, None, 10)
        .await
        .unwrap();
    assert!(listed.items.is_empty());
}
