//! Conversations through the handler: showing, starting, sending (streamed and not),
//! regenerating, editing, renaming, sharing and deleting, and every refusal.

use fake_provider::FakeProvider;
use lambda_http::http::HeaderValue;
use lambda_http::http::header::LOCATION;
use shared::accounts::Role;
use shared::config::{MODELS, OFFLINE_PACE, PROVIDER_TIMEOUT};
use shared::conversations::{Message, Speaker, new_turn_id};
use shared::store::TurnWrite;
use shared::testing::{self, form_post, request, streamed_text, with_cookie};

use lambda_http::http::header::ACCEPT;
use lambda_http::http::{Method, StatusCode};
use shared::conversations::{ConversationId, MessageText};
use shared::store::ConversationStore;
use shared::users::Username;
use shared::{listing, session};

use super::*;

/// A portal whose catalogue holds the fake provider's models and the offline model.
async fn portal() -> (&'static App, FakeProvider) {
    portal_titled_by(None).await
}

/// A portal whose catalogue names `title_model` (one of the fake's) as its title model.
async fn portal_titled_by(title_model: Option<&str>) -> (&'static App, FakeProvider) {
    let fake = FakeProvider::start().await;
    let mut models = fake_provider::catalogue(&fake.openai_url());
    if let Some(id) = title_model {
        // A top-level key, so before the first table.
        models = format!("title_model = \"{id}\"\n{models}");
    }
    // The fake serves Bedrock's runtime too: the SDK is pointed at it, with test credentials.
    let aws = fake.openai_url().replace("/v1", "");
    let app = testing::app_with_aws(
        &[
            (MODELS, &models),
            (OFFLINE_PACE, "0"),
            (PROVIDER_TIMEOUT, "1"),
        ],
        &aws,
    );
    (Box::leak(Box::new(app)), fake)
}

struct Person {
    app: &'static App,
    cookie: String,
    csrf: String,
    name: Username,
}

impl Person {
    async fn new(app: &'static App) -> Self {
        let account = testing::create_account(app, "chatter", Role::User, "pw").await;
        let (cookie, csrf) = testing::sign_in(app, &account).await;
        Self {
            app,
            cookie,
            csrf,
            name: account.username,
        }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = handle(
            self.app,
            with_cookie(request(Method::GET, path), &self.cookie),
        )
        .await;
        let status = response.status();
        // minijinja writes `/` as `&#x2f;` in attributes and text; browsers read it back.
        (status, streamed_text(response).await.replace("&#x2f;", "/"))
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response<Streamed> {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &self.csrf));
        handle(
            self.app,
            with_cookie(form_post(path, &fields), &self.cookie),
        )
        .await
    }

    async fn stream(&self, path: &str, fields: &[(&str, &str)]) -> Response<Streamed> {
        let mut fields = fields.to_vec();
        fields.push(("csrf_token", &self.csrf));
        let mut req = with_cookie(form_post(path, &fields), &self.cookie);
        req.headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("text/event-stream"));
        handle(self.app, req).await
    }

    /// Starts a conversation with a plain form post; its path.
    async fn start(&self, model: &str, message: &str) -> String {
        let response = self
            .post("/chat", &[("model", model), ("message", message)])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let location = response.headers()[LOCATION].to_str().unwrap().to_string();
        location.trim_end_matches("#latest").to_string()
    }

    async fn usage_this_month(&self) -> shared::usage::UsageReport {
        use shared::store::UsageStore;
        let store = self.app.store().await.unwrap();
        let month = shared::usage::Month::of(session::now());
        store.usage(&self.name, month).await.unwrap()
    }

    async fn messages(&self, path: &str) -> Vec<Message> {
        let id = ConversationId::parse(path.rsplit('/').next().unwrap()).unwrap();
        let store = self.app.store().await.unwrap();
        store
            .conversation(&self.name, &id, 100)
            .await
            .unwrap()
            .unwrap()
            .1
    }
}

async fn set_cap(app: &App, name: &Username, cap: Option<shared::usage::Cost>) {
    use shared::store::AccountStore;
    app.store()
        .await
        .unwrap()
        .change_account(name, &shared::accounts::AccountChange::SpendCap(cap))
        .await
        .unwrap();
}

#[tokio::test]
async fn replies_record_their_tokens_and_cost() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-echo", "what does it cost").await;
    let reply = &ann.messages(&path).await[1];
    // The fake reports 11 tokens in and one per word out; $1 and $2 per million.
    let words = reply.output_tokens.unwrap();
    assert_eq!(reply.input_tokens, Some(11));
    assert!(!reply.tokens_estimated);
    let cost = 11 * 1000 + u64::from(words) * 2000;
    assert_eq!(reply.cost.map(|c| c.nanos()), Some(cost));
    let (_, html) = ann.get(&path).await;
    let shown = format!("11 in · {words} out tokens · {}", reply.cost.unwrap());
    assert!(html.contains(&shown), "{shown} in {html}");

    // A provider that sends no usage data (the connection drops) is estimated, marked.
    let dropped = ann.start("fake-drop", "and this").await;
    let reply = &ann.messages(&dropped).await[1];
    assert!(reply.tokens_estimated && reply.cost.is_some(), "{reply:?}");
    let (_, html) = ann.get(&dropped).await;
    assert!(html.contains("tokens (estimated) · $"), "{html}");

    let report = ann.usage_this_month().await;
    assert_eq!(report.total.replies, 2);
    assert_eq!(report.total.estimated_replies, 1);
    assert_eq!(report.by_conversation.len(), 2);
    assert_eq!(report.by_model.len(), 2);
}

#[tokio::test]
async fn a_new_conversation_is_titled_by_the_title_model_after_its_first_reply() {
    let (app, fake) = portal_titled_by(Some("fake-title")).await;
    let ann = Person::new(app).await;
    // Without a script: the title is made before the redirect.
    let path = ann.start("fake-echo", "Plan **a trip** to Rome").await;
    let (_, html) = ann.get(&path).await;
    assert!(html.contains("<h1>Weekend in Rome</h1>"), "{html}");
    // The title model was shown the first message and the reply, and asked for little.
    let asked = fake.requests();
    let title_request = asked
        .iter()
        .find(|r| r.body["model"] == "title")
        .expect("the title model was asked");
    let shown = title_request.body.to_string();
    assert!(shown.contains("Plan **a trip** to Rome"), "{shown}");
    assert!(shown.contains("You said:"), "the reply too: {shown}");
    // Its cost is recorded like any reply's, under the conversation.
    let report = ann.usage_this_month().await;
    assert!(
        report.by_model.iter().any(|m| m.id == "fake-title"),
        "{:?}",
        report.by_model
    );
    assert_eq!(report.total.replies, 2, "the reply and the title");

    // With the script: the stream ends once the title is there, so the page's reload shows it.
    let response = ann
        .post(
            "/chat",
            &[("model", "fake-echo"), ("message", "second one")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let streamed = ann
        .stream(
            "/chat",
            &[("model", "fake-echo"), ("message", "# Streamed *start*")],
        )
        .await;
    let body = streamed_text(streamed).await;
    let url = body
        .split("\"url\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the start event names the conversation");
    let (_, html) = ann.get(url).await;
    assert!(html.contains("<h1>Weekend in Rome</h1>"), "{html}");

    // A later send keeps the title; so does a rename.
    let title = ("title", "My own title");
    ann.post(&path, &[("action", "rename"), title]).await;
    ann.post(&path, &[("message", "and more"), ("model", "fake-echo")])
        .await;
    let (_, html) = ann.get(&path).await;
    assert!(html.contains("<h1>My own title</h1>"), "{html}");
}

#[tokio::test]
async fn a_failing_title_model_leaves_the_first_line_without_its_markdown() {
    let (app, _fake) = portal_titled_by(Some("fake-status-500")).await;
    let ann = Person::new(app).await;
    let path = ann
        .start("fake-echo", "Write **markdown** with a code block:")
        .await;
    let (_, html) = ann.get(&path).await;
    assert!(
        html.contains("<h1>Write markdown with a code block:</h1>"),
        "{html}"
    );
    // A reply that failed is not titled from.
    let failed = ann.start("fake-drop", "Explain `git rebase`").await;
    let (_, html) = ann.get(&failed).await;
    assert!(html.contains("<h1>Explain git rebase</h1>"), "{html}");
}

#[tokio::test]
async fn the_page_estimates_what_the_next_send_costs() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-echo", "hello there").await;
    let (_, html) = ann.get(&path).await;
    assert!(
        html.contains("Sending with Fake echo costs about $"),
        "{html}"
    );
    assert!(html.contains("data-estimate"), "{html}");
    assert!(html.contains("data-input-price=\"1.0\""), "{html}");
    let (_, home) = ann.get("/").await;
    assert!(
        home.contains("data-estimate"),
        "the new-conversation form too"
    );
}

#[tokio::test]
async fn sends_past_the_spend_cap_are_refused_before_the_provider_is_asked() {
    let (app, fake) = portal().await;
    let ann = Person::new(app).await;
    set_cap(
        app,
        &ann.name,
        Some(shared::usage::Cost::parse_dollars("1").unwrap()),
    )
    .await;
    // Nothing spent yet: the first send goes; its reply costs far more than the cap.
    let path = ann.start("fake-pricey", "one").await;
    assert_eq!(ann.messages(&path).await.len(), 2);
    let asked = fake.requests().len();

    let response = ann.post(&path, &[("message", "two")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = streamed_text(response).await.replace("&#x2f;", "/");
    assert!(
        html.contains("You have reached your spending cap"),
        "{html}"
    );
    assert!(html.contains("($1.00)"), "{html}");
    assert!(
        html.contains(">two</textarea>"),
        "the message stays in the field: {html}"
    );
    assert_eq!(ann.messages(&path).await.len(), 2, "nothing stored");
    // Streaming sends and regenerates are refused the same way.
    let response = ann.stream(&path, &[("message", "three")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = ann.post(&path, &[("action", "regenerate")]).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // A new conversation is refused and leaves nothing behind.
    let response = ann
        .post("/chat", &[("model", "offline"), ("message", "new one")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(streamed_text(response).await.contains("spending cap"));
    let home = listing::home(
        app,
        &ann.name,
        None,
        None,
        &shared::groups::ModelAccess::Every,
        listing::Listing::Shelf(shared::conversations::Shelf::Recent),
    )
    .await
    .unwrap();
    assert_eq!(home.get_attr("conversations").unwrap().len(), Some(1));
    assert_eq!(fake.requests().len(), asked, "the provider was not asked");

    // Raising the cap lets sends through again.
    set_cap(
        app,
        &ann.name,
        Some(shared::usage::Cost::parse_dollars("100000").unwrap()),
    )
    .await;
    let response = ann.post(&path, &[("message", "four")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn accounts_without_their_own_cap_follow_the_default() {
    use shared::store::UsageStore;
    // The default is one setting for the whole store: this test gets a store of its own.
    let fake = FakeProvider::start().await;
    let dir = std::env::temp_dir().join(format!("switchboard-default-cap-{}", std::process::id()));
    let models = fake_provider::catalogue(&fake.openai_url());
    let app: &'static App = Box::leak(Box::new(testing::app_with(&[
        (MODELS, &models),
        (OFFLINE_PACE, "0"),
        (
            shared::config::SQLITE_PATH,
            dir.join("store.sqlite3").to_str().unwrap(),
        ),
    ])));
    let store = app.store().await.unwrap();
    store
        .set_default_spend_cap(Some(shared::usage::Cost::ZERO))
        .await
        .unwrap();
    let ann = Person::new(app).await;
    let response = ann
        .post("/chat", &[("model", "offline"), ("message", "hi")])
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // Her own cap wins over the default.
    set_cap(
        app,
        &ann.name,
        Some(shared::usage::Cost::parse_dollars("5").unwrap()),
    )
    .await;
    let Person { cookie, csrf, .. } = &ann;
    let ann = Person {
        app,
        cookie: cookie.clone(),
        csrf: csrf.clone(),
        name: ann.name.clone(),
    };
    ann.start("offline", "hi").await;
    store.set_default_spend_cap(None).await.unwrap();
}

#[tokio::test]
async fn each_user_may_send_only_so_many_messages_a_minute() {
    let fake = FakeProvider::start().await;
    let models = fake_provider::catalogue(&fake.openai_url());
    let app: &'static App = Box::leak(Box::new(testing::app_with(&[
        (MODELS, &models),
        (OFFLINE_PACE, "0"),
        (shared::config::SENDS_PER_MINUTE, "2"),
    ])));
    let ann = Person::new(app).await;
    let path = ann.start("offline", "one").await;
    // At most two a minute: one more is allowed, then sends are refused until the next
    // minute (a minute may turn between two sends, so allow for one fresh window).
    let mut refused = None;
    for i in 0..5 {
        let response = ann.post(&path, &[("message", &format!("again {i}"))]).await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(streamed_text(response).await);
            break;
        }
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    let html = refused.expect("a send was refused");
    assert!(html.contains("at most 2 a minute"), "{html}");
    let sent = ann.messages(&path).await.len() / 2;
    assert!((2..=4).contains(&sent), "{sent} sends got through");
    // Someone else is not held back by her sends.
    let bob = Person::new(app).await;
    bob.start("offline", "hello").await;
}

#[tokio::test]
async fn a_conversation_is_shared_by_a_link_until_sharing_stops() {
    use shared::store::ShareStore;
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("offline", "share me").await;
    let response = ann.post(&path, &[("action", "share")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], format!("{path}#share"));
    let (_, html) = ann.get(&path).await;
    let marker = "id=\"share-link\" href=\"/share/";
    let start = html.find(marker).expect("the link is shown") + marker.len();
    let token = html[start..].split('"').next().unwrap().to_string();
    let store = app.store().await.unwrap();
    assert!(store.shared(&token).await.unwrap().is_some());
    // Sharing again keeps the same link.
    ann.post(&path, &[("action", "share")]).await;
    let (_, again) = ann.get(&path).await;
    assert!(again.contains(&format!("/share/{token}")));

    let response = ann.post(&path, &[("action", "unshare")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(store.shared(&token).await.unwrap(), None);
    let (_, html) = ann.get(&path).await;
    assert!(html.contains("Share a read-only link"), "{html}");
    // Only the owner can share: anyone else's post finds no conversation.
    let bob = Person::new(app).await;
    let response = bob.post(&path, &[("action", "share")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_new_conversation_gets_a_reply_and_is_listed() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("offline", "Hello *there*").await;
    let (status, html) = ann.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    // Titled by its first line as it reads; the message itself keeps its Markdown.
    assert!(
        html.contains("<title>Hello there · Switchboard</title>"),
        "{html}"
    );
    assert!(
        html.contains("Hello <em>there</em>"),
        "the user's Markdown renders"
    );
    assert!(
        html.contains("Offline demo model: no AI is involved."),
        "{html}"
    );
    assert!(html.contains("data-live=\"false\""));
    let messages = ann.messages(&path).await;
    assert_eq!(messages.len(), 2);
    assert_eq!(
        messages[1].state,
        shared::conversations::MessageState::Complete
    );
    assert!(messages[1].output_tokens.is_some());
    let home = listing::home(
        app,
        &ann.name,
        None,
        None,
        &shared::groups::ModelAccess::Every,
        listing::Listing::Shelf(shared::conversations::Shelf::Recent),
    )
    .await
    .unwrap();
    assert_eq!(home.get_attr("conversations").unwrap().len(), Some(1));
}

#[tokio::test]
async fn a_reply_streams_as_server_sent_events() {
    let (app, fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-echo", "first").await;
    let response = ann.stream(&path, &[("message", "second question")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    let body = streamed_text(response).await;
    assert!(
        body.starts_with(&format!(
            "event: start\ndata: {{\"seq\":3,\"url\":\"{path}\"}}"
        )),
        "{body}"
    );
    assert!(body.contains("event: text\ndata: \"You \"\n\n"), "{body}");
    assert!(body.contains("event: done\n"), "{body}");
    let messages = ann.messages(&path).await;
    assert_eq!(messages.len(), 4);
    assert!(messages[3].text.starts_with("You said: second question."));
    // The whole history went upstream.
    let sent = fake.requests().last().unwrap().body.clone();
    assert_eq!(sent["messages"].as_array().unwrap().len(), 3);
    assert_eq!(sent["messages"][0]["content"], "first");
}

#[tokio::test]
async fn anthropic_models_reply_too() {
    let (app, fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-anthropic", "bonjour").await;
    let messages = ann.messages(&path).await;
    assert!(
        messages[1].text.starts_with("You said: bonjour."),
        "{:?}",
        messages[1]
    );
    assert_eq!(fake.requests()[0].path, "/v1/messages");
}

#[tokio::test]
async fn provider_failures_keep_the_message_and_what_arrived() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    for (model, kept, says) in [
        ("fake-drop", "You said: hello ", "broke off mid-reply"),
        ("fake-stall", "You said: hello ", "stopped responding"),
        ("fake-status-429", "", "rate limited"),
        ("fake-status-500", "", "reported an error"),
        ("fake-garbage", "You ", "could not be read"),
    ] {
        let path = ann.start(model, "hello there").await;
        let messages = ann.messages(&path).await;
        assert_eq!(messages[0].text, "hello there", "{model}");
        assert_eq!(messages[1].text, kept, "{model}");
        assert_eq!(
            messages[1].state,
            shared::conversations::MessageState::Failed,
            "{model}"
        );
        let (_, html) = ann.get(&path).await;
        assert!(html.contains(says), "{model}: {html}");
        assert!(html.contains(">Retry</button>"), "{model}");
        // Retrying with a working model writes a new reply beside the failed one.
        let response = ann
            .post(&path, &[("action", "regenerate"), ("model", "fake-echo")])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{model}");
        let messages = ann.messages(&path).await;
        assert_eq!(messages.len(), 3, "{model}");
        assert_eq!(
            messages[2].parent,
            Some(0),
            "{model}: a sibling of the failed one"
        );
        assert!(
            messages[2].text.starts_with("You said: hello there."),
            "{model}"
        );
    }
}

#[tokio::test]
async fn bedrock_models_reply_through_the_sdk_and_fail_like_the_others() {
    use shared::conversations::MessageState;
    let (app, fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-bedrock", "hello bedrock").await;
    let messages = ann.messages(&path).await;
    assert!(
        messages[1].text.starts_with("You said: hello bedrock."),
        "{}",
        messages[1].text
    );
    assert_eq!(messages[1].state, MessageState::Complete);
    assert_eq!(
        (messages[1].input_tokens, messages[1].output_tokens),
        (Some(11), Some(15)),
        "the stream's own usage"
    );
    assert!(!messages[1].tokens_estimated);
    let request = fake.requests().pop().unwrap();
    assert!(
        request.path.ends_with("/converse-stream"),
        "{}",
        request.path
    );

    // Stopped at the output limit: kept, and marked as cut.
    let path = ann.start("fake-bedrock-cut", "hello").await;
    let messages = ann.messages(&path).await;
    assert_eq!(messages[1].text, "You said: hello. ");
    assert_eq!(messages[1].state, MessageState::Truncated);

    for (model, kept, says) in [
        ("fake-bedrock-throttled", "", "rate limited"),
        ("fake-bedrock-denied", "", "not set up correctly"),
        (
            "fake-bedrock-error",
            "You said: hello ",
            "reported an error",
        ),
    ] {
        let path = ann.start(model, "hello there").await;
        let messages = ann.messages(&path).await;
        assert_eq!(
            messages[0].text, "hello there",
            "{model}: the message is kept"
        );
        assert_eq!(messages[1].text, kept, "{model}");
        assert_eq!(messages[1].state, MessageState::Failed, "{model}");
        let (_, html) = ann.get(&path).await;
        assert!(html.contains(says), "{model}: {html}");
    }
}

#[tokio::test]
async fn prompt_caching_is_charged_at_cache_prices_and_counted() {
    use shared::store::UsageStore;
    use shared::usage::{Cost, Month};
    let (app, _fake) = portal().await;
    for model in ["fake-anthropic-cached", "fake-bedrock-cached"] {
        let ann = Person::new(app).await;
        // A system prompt: the stable part a first message already has to cache.
        let response = ann
            .post(
                "/chat",
                &[
                    ("model", model),
                    ("message", "remember this"),
                    ("system", "You are terse."),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let path = response.headers()[LOCATION]
            .to_str()
            .unwrap()
            .trim_end_matches("#latest")
            .to_string();
        let reply = ann.messages(&path).await.pop().unwrap();
        // 11 in at $3, 15 out at $15, 700 cache reads at $0.30, 50 cache writes at $3.75 a
        // million.
        let expected = 11 * 3_000 + 15 * 15_000 + 700 * 300 + 50 * 3_750;
        assert_eq!(reply.cost, Some(Cost::from_nanos(expected)), "{model}");
        let store = app.store().await.unwrap();
        let report = store
            .usage(&ann.name, Month::of(shared::session::now()))
            .await
            .unwrap();
        assert_eq!(report.total.cache.read_tokens, 700, "{model}");
        assert_eq!(report.total.cache.write_tokens, 50, "{model}");
        assert_eq!(
            report.total.cache.saved,
            Cost::from_nanos(700 * (3_000 - 300)),
            "{model}: what the reads saved against the input price"
        );
    }
}

#[tokio::test]
async fn a_send_whose_session_no_longer_counts_reads_nothing_into_the_turn() {
    use shared::accounts::AccountChange;
    use shared::store::AccountStore;
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("offline", "mine").await;
    // The cookie still opens and names ann (the read starts early), but the session no
    // longer counts: the send is refused and nothing is written.
    app.store()
        .await
        .unwrap()
        .change_account(&ann.name, &AccountChange::Disabled(true))
        .await
        .unwrap();
    let response = ann
        .post(&path, &[("message", "sneaky"), ("model", "offline")])
        .await;
    // Its form's token belonged to the ended session: refused before anything else.
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(ann.messages(&path).await.len(), 2, "nothing stored");

    // Someone else's session naming their own conversation id reads nothing of ann's.
    let bob = Person::new(app).await;
    let response = bob
        .post(&path, &[("message", "mine now?"), ("model", "offline")])
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(ann.messages(&path).await.len(), 2);
}

#[tokio::test]
async fn thinking_streams_apart_from_the_answer_and_is_kept() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let thought = fake_provider::THINKING.concat();
    for model in ["fake-thinking", "fake-bedrock-thinking"] {
        let path = ann.start("offline", "start").await;
        let response = ann
            .stream(&path, &[("message", "think first"), ("model", model)])
            .await;
        let events = streamed_text(response).await;
        let thinking_at = events.find("event: thinking").expect("thinking events");
        let text_at = events.find("event: text").expect("text events");
        assert!(
            thinking_at < text_at,
            "{model}: thinking streams first: {events}"
        );
        let messages = ann.messages(&path).await;
        let reply = messages.last().unwrap();
        assert_eq!(reply.thinking, thought, "{model}");
        assert!(reply.text.starts_with("You said: think first."), "{model}");
        assert!(
            !reply.text.contains("echo it"),
            "{model}: never in the answer"
        );
        let (_, html) = ann.get(&path).await;
        assert!(
            html.contains("<details class=\"thinking\"><summary>Thinking</summary>"),
            "{model}: {html}"
        );
        assert!(html.contains("I should echo it back."), "{model}");
    }
}

#[tokio::test]
async fn a_reload_mid_stream_shows_what_has_arrived() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("offline", "start").await;
    let response = ann
        .stream(
            &path,
            &[("message", "tell me slowly"), ("model", "fake-slow")],
        )
        .await;
    let mut body = response.into_body();
    // Read until a few words have arrived and been saved.
    use http_body_util::BodyExt;
    let mut seen = String::new();
    while !seen.contains("\"tell \"") {
        let frame = body.frame().await.unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(frame.data_ref().unwrap()));
    }
    tokio::time::sleep(crate::saving::FIRST_SAVE * 2).await;
    let (_, html) = ann.get(&path).await;
    assert!(html.contains("data-live=\"true\""), "{html}");
    assert!(html.contains("Still being written"), "{html}");
    assert!(html.contains("You said: tell"), "{html}");
    drop(body); // the reader leaves; the reply is still finished and saved
    for _ in 0..100 {
        let messages = ann.messages(&path).await;
        if messages[3].state == shared::conversations::MessageState::Complete {
            assert!(messages[3].text.ends_with("streamed word by word."));
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the reply never completed");
}

#[tokio::test]
async fn replies_render_as_sanitised_markdown() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-markdown", "show me code").await;
    let (_, html) = ann.get(&path).await;
    assert!(html.contains("<strong>bold</strong>"), "{html}");
    assert!(html.contains("<pre class=\"code\"><code>"), "{html}");
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("onerror=\""), "{html}");
    // The raw text is there to copy, escaped.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_nothing_is_stored() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let response = ann
        .post("/chat", &[("model", "offline"), ("message", "  ")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = streamed_text(response).await;
    assert!(
        html.contains("id=\"message-error\">Write a message first."),
        "{html}"
    );
    let response = ann
        .post("/chat", &[("model", "gpt-17"), ("message", "hi")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let long = "a".repeat(32_001);
    let response = ann
        .post("/chat", &[("model", "offline"), ("message", &long)])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(streamed_text(response).await.contains("too long"));
    let too_big_for_model = "word ".repeat(3500);
    let response = ann
        .post(
            "/chat",
            &[("model", "fake-echo"), ("message", &too_big_for_model)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        streamed_text(response)
            .await
            .contains("too long for Fake echo")
    );
    let home = listing::home(
        app,
        &ann.name,
        None,
        None,
        &shared::groups::ModelAccess::Every,
        listing::Listing::Shelf(shared::conversations::Shelf::Recent),
    )
    .await
    .unwrap();
    assert_eq!(home.get_attr("conversations").unwrap().len(), Some(0));

    let path = ann.start("offline", "hi").await;
    let response = ann.post(&path, &[("message", "")]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        streamed_text(response)
            .await
            .contains("Write a message first.")
    );
    let response = ann
        .post(&path, &[("message", "x"), ("model", "nope")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(ann.messages(&path).await.len(), 2);
    let response = handle(
        app,
        with_cookie(form_post(&path, &[("message", "x")]), &ann.cookie),
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(ann.messages(&path).await.len(), 2);
}

#[tokio::test]
async fn other_peoples_conversations_are_not_found() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let bob = Person::new(app).await;
    let path = ann.start("offline", "private").await;
    assert_eq!(bob.get(&path).await.0, StatusCode::NOT_FOUND);
    for action in ["send", "rename", "delete", "regenerate"] {
        let response = bob
            .post(
                &path,
                &[("action", action), ("message", "x"), ("title", "x")],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(bob.get("/chat/not-an-id").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        bob.get("/chat/AAAAAAAAAAAAAAAA").await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(ann.messages(&path).await.len(), 2);
    let signed_out = handle(app, request(Method::GET, &path)).await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn conversations_can_be_renamed_edited_and_deleted() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-echo", "first try").await;

    let response = ann
        .post(&path, &[("action", "rename"), ("title", "  ")])
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(streamed_text(response).await.contains("id=\"title-error\""));
    let response = ann
        .post(&path, &[("action", "rename"), ("title", "Better title")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(ann.get(&path).await.1.contains("<h1>Better title</h1>"));

    let (_, html) = ann.get(&format!("{path}?edit=last")).await;
    assert!(html.contains(">first try</textarea>"), "{html}");
    let response = ann
        .post(&path, &[("action", "edit"), ("message", "second try")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let messages = ann.messages(&path).await;
    assert_eq!(messages.len(), 4, "the first try stays, as a sibling");
    assert_eq!(
        (messages[2].text.as_str(), messages[2].parent),
        ("second try", None)
    );
    assert!(messages[3].text.starts_with("You said: second try."));
    let (_, html) = ann.get(&path).await;
    assert!(
        html.contains("second try") && !html.contains(">first try<"),
        "{html}"
    );

    let (_, html) = ann.get(&format!("{path}?confirm=delete")).await;
    assert!(html.contains("Delete for good"));
    let response = ann.post(&path, &[("action", "delete")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(ann.get(&path).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn long_histories_show_in_pages() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("offline", "m0").await;
    let id = ConversationId::parse(path.rsplit('/').next().unwrap()).unwrap();
    let store = app.store().await.unwrap();
    for n in (2..60).step_by(2) {
        let turn = new_turn_id();
        let text = MessageText::parse(&format!("m{n}")).unwrap();
        let mut reply = Message::pending_reply(n + 1, "offline", &turn, 1);
        reply.text = format!("r{n}");
        reply.state = shared::conversations::MessageState::Complete;
        let messages = [Message::user(n, &text, &turn, 1), reply];
        let write = TurnWrite {
            expected_next_seq: n,
            next_seq: n + 2,
            leaf: n + 2 - 1,
            model: "offline",
            messages: &messages,
            now: 1,
            limits: Default::default(),
            expires_at: None,
        };
        store.write_turn(&ann.name, &id, &write).await.unwrap();
    }
    let (_, latest) = ann.get(&path).await;
    assert!(latest.contains(">r58<"), "{latest}");
    assert!(!latest.contains(">m8<"));
    assert!(
        latest.contains(&format!("{path}?before=10\">Earlier messages")),
        "{latest}"
    );
    let (_, earlier) = ann.get(&format!("{path}?before=10")).await;
    assert!(
        earlier.contains(">m8<") && earlier.contains(">m0<"),
        "{earlier}"
    );
    assert!(!earlier.contains(">r58<"));
    assert_eq!(
        ann.get(&format!("{path}?before=x")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        ann.messages(&path)
            .await
            .iter()
            .filter(|m| m.speaker == Speaker::User)
            .count(),
        30
    );
}

#[tokio::test]
async fn models_outside_the_accounts_groups_are_neither_offered_nor_sent() {
    use shared::accounts::AccountChange;
    use shared::groups::{Group, GroupId, GroupName};
    use shared::store::{AccountStore, ConversationStore, GroupStore};
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let free = Person::new(app).await;
    let store = app.store().await.unwrap();
    let group = Group {
        id: GroupId::generate(),
        name: GroupName::parse(shared::store::contract::unique_name("offline-only").as_str())
            .unwrap(),
        models: Some(vec!["offline".into()]),
        created_at: 0,
        monthly_cap: None,
        member_cap: None,
        retention_days: None,
        api_off: false,
    };
    let groups = store.groups().await.unwrap();
    let mut list = groups.list.clone();
    list.push(group.clone());
    store.save_groups(&list, groups.version).await.unwrap();
    store
        .change_account(&ann.name, &AccountChange::JoinGroup(group.id.clone()))
        .await
        .unwrap();

    // Offered only its group's model, and sends with it.
    let path = ann.start("offline", "Hello").await;
    let (_, page) = ann.get(&path).await;
    assert!(page.contains("<option value=\"offline\""), "{page}");
    assert!(!page.contains("<option value=\"fake-echo\""), "{page}");

    // Another model is refused with 403, and nothing is stored.
    let before = store
        .list_conversations(&ann.name, None, 100)
        .await
        .unwrap()
        .items
        .len();
    let refused = ann
        .post("/chat", &[("model", "fake-echo"), ("message", "Hi")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(
        streamed_text(refused)
            .await
            .contains("Your groups do not include that model")
    );
    assert_eq!(
        store
            .list_conversations(&ann.name, None, 100)
            .await
            .unwrap()
            .items
            .len(),
        before
    );
    let count = ann.messages(&path).await.len();
    let refused = ann
        .post(
            &path,
            &[
                ("action", "send"),
                ("model", "fake-echo"),
                ("message", "Again"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(ann.messages(&path).await.len(), count, "nothing stored");

    // An account in no group keeps the default: every model.
    let path = free.start("fake-echo", "Hello").await;
    let (_, page) = free.get(&path).await;
    assert!(page.contains("<option value=\"fake-echo\""));
}

/// Makes a group with these caps and puts `who` in it.
async fn join_new_group(
    app: &App,
    who: &Username,
    monthly_cap: Option<&str>,
    member_cap: Option<&str>,
) -> shared::groups::Group {
    use shared::accounts::AccountChange;
    use shared::groups::{Group, GroupId, GroupName};
    use shared::store::{AccountStore, GroupStore};
    let store = app.store().await.unwrap();
    let dollars = |d: Option<&str>| d.map(|d| shared::usage::Cost::parse_dollars(d).unwrap());
    let group = Group {
        id: GroupId::generate(),
        name: GroupName::parse(shared::store::contract::unique_name("capped").as_str()).unwrap(),
        models: None,
        created_at: 0,
        monthly_cap: dollars(monthly_cap),
        member_cap: dollars(member_cap),
        retention_days: None,
        api_off: false,
    };
    // Other tests save groups too: retry over their versions.
    loop {
        let groups = store.groups().await.unwrap();
        let mut list = groups.list.clone();
        list.push(group.clone());
        if store.save_groups(&list, groups.version).await.is_ok() {
            break;
        }
    }
    store
        .change_account(who, &AccountChange::JoinGroup(group.id.clone()))
        .await
        .unwrap();
    group
}

#[tokio::test]
async fn a_groups_caps_stop_its_members_and_say_which_cap() {
    use shared::store::{GroupStore, UsageStore};
    use shared::usage::{Charge, Cost, Month};
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let team = join_new_group(app, &ann.name, Some("1"), None).await;

    // A reply counts in the group's month.
    let path = ann.start("fake-echo", "Hello").await;
    let month = Month::of(session::now());
    let spent = app
        .store()
        .await
        .unwrap()
        .group_spend(std::slice::from_ref(&team.id), month)
        .await
        .unwrap();
    assert!(spent[0].1 > Cost::ZERO, "{spent:?}");

    // Once the group has spent its cap, its member is refused, and told which cap.
    let store = app.store().await.unwrap();
    let charge = Charge {
        month,
        conversation: "elsewhere".into(),
        title: "Elsewhere".into(),
        model: "fake-echo".into(),
        input_tokens: 1,
        output_tokens: 1,
        cost: Cost::parse_dollars("1").unwrap(),
        estimated: false,
        cache: Default::default(),
        groups: vec![team.id.clone()],
        day: 1,
    };
    let other = Person::new(app).await;
    store.record_usage(&other.name, &charge).await.unwrap();
    let count = ann.messages(&path).await.len();
    let refused = ann
        .post(&path, &[("action", "send"), ("message", "More")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = streamed_text(refused).await;
    assert!(
        page.contains(&format!(
            "Your group {} has reached its spending cap",
            team.name.as_str()
        )),
        "{page}"
    );
    assert_eq!(ann.messages(&path).await.len(), count, "nothing stored");

    // A group's per-member cap applies on top of the account's own (none here).
    let bob = Person::new(app).await;
    let strict = join_new_group(app, &bob.name, None, Some("0.01")).await;
    let path = bob.start("fake-echo", "Hello").await;
    let mut more = charge.clone();
    more.groups = Vec::new();
    store.record_usage(&bob.name, &more).await.unwrap();
    let refused = bob
        .post(&path, &[("action", "send"), ("message", "More")])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = streamed_text(refused).await;
    assert!(
        page.contains(&format!("cap in {}", strict.name.as_str())),
        "{page}"
    );
}

#[tokio::test]
async fn a_temporary_chat_is_not_listed_and_goes_after_a_day() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let response = ann
        .post(
            "/chat",
            &[
                ("model", "offline"),
                ("message", "Just between us"),
                ("temporary", "on"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = response.headers()[LOCATION]
        .to_str()
        .unwrap()
        .trim_end_matches("#latest")
        .to_string();
    let (status, page) = ann.get(&path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Temporary chat: not listed or searched"),
        "{page}"
    );
    let id = ConversationId::parse(path.rsplit('/').next().unwrap()).unwrap();
    let store = app.store().await.unwrap();
    let (conversation, messages) = store
        .conversation(&ann.name, &id, 10)
        .await
        .unwrap()
        .unwrap();
    assert!(conversation.temporary);
    let expires = conversation.expires_at.unwrap();
    assert_eq!(expires, conversation.created_at + 86_400);
    assert!(messages.iter().all(|m| m.expires_at == Some(expires)));
    let home = listing::home(
        app,
        &ann.name,
        None,
        None,
        &shared::groups::ModelAccess::Every,
        listing::Listing::Shelf(shared::conversations::Shelf::Recent),
    )
    .await
    .unwrap();
    assert_eq!(
        home.get_attr("conversations").unwrap().len(),
        Some(0),
        "never listed"
    );
}

#[tokio::test]
async fn conversations_are_kept_for_the_shortest_retention_that_applies() {
    use shared::store::GroupStore;
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    // No retention configured in this portal: kept for ever.
    let path = ann.start("offline", "Keep me").await;
    let id = ConversationId::parse(path.rsplit('/').next().unwrap()).unwrap();
    let store = app.store().await.unwrap();
    let (conversation, _) = store
        .conversation(&ann.name, &id, 10)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.expires_at, None);

    // In a group that keeps conversations 3 days: a turn sets that, from now.
    let group = join_new_group(app, &ann.name, None, None).await;
    loop {
        let groups = store.groups().await.unwrap();
        let list: Vec<_> = groups
            .list
            .iter()
            .cloned()
            .map(|mut g| {
                if g.id == group.id {
                    g.retention_days = Some(3);
                }
                g
            })
            .collect();
        if store.save_groups(&list, groups.version).await.is_ok() {
            break;
        }
    }
    let before = session::now();
    let response = ann
        .post(&path, &[("action", "send"), ("message", "Again")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (conversation, messages) = store
        .conversation(&ann.name, &id, 10)
        .await
        .unwrap()
        .unwrap();
    let expires = conversation.expires_at.unwrap();
    assert!((before + 3 * 86_400..=session::now() + 3 * 86_400).contains(&expires));
    assert_eq!(messages.last().unwrap().expires_at, Some(expires));
    let (_, page) = ann.get(&path).await;
    assert!(page.contains("Kept until"), "{page}");
}

#[tokio::test]
async fn conversations_are_pinned_archived_and_archived_ones_deleted_all_at_once() {
    use shared::conversations::Shelf;
    use shared::store::ConversationStore;
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let kept = ann.start("offline", "Keep this one").await;
    let pinned = ann.start("offline", "Pin this one").await;
    let old = ann.start("offline", "Archive this one").await;
    for (path, action) in [(&pinned, "pin"), (&old, "archive")] {
        let response = ann.post(path, &[("action", action)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{action}");
    }
    let (_, page) = ann.get(&pinned).await;
    assert!(
        page.contains("<p class=\"muted\">Pinned.</p>") && page.contains(">Unpin<"),
        "{page}"
    );
    let store = app.store().await.unwrap();
    let name = ann.name.clone();
    let ids = |shelf| {
        let name = name.clone();
        async move {
            store
                .list_shelf(&name, shelf, None, 50)
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|c| format!("/chat/{}", c.id.as_str()))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids(Shelf::Pinned).await, std::slice::from_ref(&pinned));
    assert_eq!(ids(Shelf::Archived).await, std::slice::from_ref(&old));
    assert_eq!(ids(Shelf::Recent).await, std::slice::from_ref(&kept));

    // Someone else's conversation: 404, nothing moved.
    let bob = Person::new(app).await;
    let refused = bob.post(&kept, &[("action", "archive")]).await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    // Unarchived, then archived again, and every archived one deleted at once.
    ann.post(&old, &[("action", "unarchive")]).await;
    assert_eq!(ids(Shelf::Archived).await, Vec::<String>::new());
    ann.post(&old, &[("action", "archive")]).await;
    let forged = handle(
        app,
        with_cookie(
            form_post("/chat", &[("action", "delete-archived")]),
            &ann.cookie,
        ),
    )
    .await;
    assert_eq!(
        forged.status(),
        StatusCode::FORBIDDEN,
        "no CSRF token, nothing deleted"
    );
    assert_eq!(ids(Shelf::Archived).await, std::slice::from_ref(&old));
    let deleted = ann.post("/chat", &[("action", "delete-archived")]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(deleted.headers()[LOCATION], "/?shelf=archived");
    assert_eq!(ids(Shelf::Archived).await, Vec::<String>::new());
    assert_eq!(ann.get(&old).await.0, StatusCode::NOT_FOUND);
    assert_eq!(ann.get(&kept).await.0, StatusCode::OK, "the others stay");
    assert_eq!(ann.get(&pinned).await.0, StatusCode::OK);
}

mod attachments {
    use super::*;
    use shared::attachments::upload_key;

    /// Uploads `contents` as `file_name` with the signed form a page of `person` carries, as
    /// the browser would; the response.
    async fn upload_as(
        person: &Person,
        folder_owner: &Username,
        file_name: &str,
        contents: &[u8],
    ) -> Response<Streamed> {
        let uploads = person.app.uploads().await.unwrap().unwrap();
        let folder = upload_key::folder(folder_owner, session::now());
        let form = uploads
            .form(&folder, "http://localhost/", session::now())
            .await
            .unwrap();
        let mut fields: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        fields.push(("success_action_redirect", "http://localhost/chat/x"));
        handle(
            person.app,
            testing::multipart_file_post("/attachments", &fields, file_name, contents),
        )
        .await
    }

    /// Uploads and gives back the upload's key, from where the browser is sent back to.
    async fn upload(person: &Person, file_name: &str, contents: &[u8]) -> String {
        let response = upload_as(person, &person.name, file_name, contents).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let back = response.headers()[LOCATION].to_str().unwrap().to_string();
        let (_, query) = back.split_once('?').unwrap();
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        pairs.into_iter().find(|(n, _)| n == "key").unwrap().1
    }

    #[tokio::test]
    async fn an_image_goes_to_the_model_and_back_to_its_owner_only() {
        let (app, fake) = portal().await;
        let ann = Person::new(app).await;
        let path = ann.start("fake-echo", "first").await;
        let (status, page) = ann.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");

        let key = upload(&ann, "shot.png", testing::PNG_2X1).await;
        // Attached without the script: the page lists it to send.
        let (_, page) = ann.get(&format!("{path}?key={key}")).await;
        assert!(page.contains("name=\"attachment\""), "{page}");

        let response = ann
            .post(&path, &[("message", "what is this?"), ("attachment", &key)])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let messages = ann.messages(&path).await;
        let sent = &messages[messages.len() - 2];
        assert_eq!(sent.attachments.len(), 1);
        let attachment = &sent.attachments[0];
        assert_eq!(
            (
                attachment.name.as_str(),
                attachment.width,
                attachment.height
            ),
            ("shot.png", Some(2), Some(1))
        );
        // The model was sent the image, as an OpenAI image part.
        let body = fake.requests().last().unwrap().body.clone();
        let parts = body["messages"].as_array().unwrap().last().unwrap()["content"].clone();
        let url = parts[1]["image_url"]["url"].as_str().unwrap();
        assert!(url.starts_with("data:image/png;base64,"), "{parts}");
        assert!(messages.last().unwrap().text.contains("1 image(s)"));

        // Its owner gets it; anyone else finds nothing there.
        let link = format!("{path}/attachments/{}", attachment.link_name(sent.seq));
        let response = handle(app, with_cookie(request(Method::GET, &link), &ann.cookie)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-type"], "image/png");
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&bytes[..], testing::PNG_2X1);
        let bob = Person::new(app).await;
        let (status, _) = bob.get(&link).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = ann
            .get(&format!("{path}/attachments/{}-AAAAAAAAAAAAAAAA", sent.seq))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // An upload is sent once; another user's upload is not found either.
        let count = ann.messages(&path).await.len();
        let response = ann
            .post(&path, &[("message", "again"), ("attachment", &key)])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(streamed_text(response).await.contains("was not found"));
        let bobs = upload(&bob, "b.png", testing::PNG_2X1).await;
        let response = ann
            .post(&path, &[("message", "theirs"), ("attachment", &bobs)])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(ann.messages(&path).await.len(), count);

        // Deleting the conversation deletes its files.
        let id = ConversationId::parse(path.rsplit('/').next().unwrap()).unwrap();
        let bucket = app.bucket().await.unwrap().unwrap();
        assert!(bucket.read(&attachment.key, 1_000).await.is_ok());
        let response = ann.post(&path, &[("action", "delete")]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(matches!(
            bucket.read(&attachment.key, 1_000).await,
            Err(shared::attachments::BucketError::NotFound)
        ));
        let _ = id;
    }

    #[tokio::test]
    async fn a_wrong_type_or_a_model_that_cannot_read_it_is_refused_and_nothing_is_stored() {
        let (app, _fake) = portal().await;
        let ann = Person::new(app).await;
        let path = ann.start("fake-echo", "first").await;
        let count = ann.messages(&path).await.len();
        let pdf = b"%PDF-1.7\n1 0 obj << /Type /Page >> endobj\n%%EOF".as_slice();
        let disguised = upload(&ann, "photo.png", pdf).await;
        let response = ann
            .post(&path, &[("message", "look"), ("attachment", &disguised)])
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let page = streamed_text(response).await;
        assert!(page.contains("named like a PNG image"), "{page}");
        // The form keeps the message and the file, to send again.
        assert!(page.contains(">look</textarea>"), "{page}");

        let image = upload(&ann, "shot.png", testing::PNG_2X1).await;
        let response = ann
            .post(
                &path,
                &[
                    ("message", "look"),
                    ("model", "fake-text-only"),
                    ("attachment", &image),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(
            streamed_text(response)
                .await
                .contains("cannot read PNG images")
        );
        assert_eq!(ann.messages(&path).await.len(), count);
        // Text goes to any model, inlined.
        let notes = upload(&ann, "notes.md", b"# Plan\nship it").await;
        let response = ann
            .post(
                &path,
                &[
                    ("message", "read"),
                    ("model", "fake-text-only"),
                    ("attachment", &notes),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let reply = ann.messages(&path).await.last().unwrap().text.clone();
        assert!(reply.contains("<document name=\"notes.md\">"), "{reply}");
    }

    #[tokio::test]
    async fn an_upload_outside_its_form_is_refused_and_not_stored() {
        let (app, _fake) = portal().await;
        let ann = Person::new(app).await;
        let bob = Person::new(app).await;
        // Ann's form, into Bob's folder: the policy's key range does not allow it.
        let bucket = app.bucket().await.unwrap().unwrap();
        let form = app
            .uploads()
            .await
            .unwrap()
            .unwrap()
            .form(
                &upload_key::folder(&ann.name, session::now()),
                "http://localhost/",
                session::now(),
            )
            .await
            .unwrap();
        let mut fields: Vec<(&str, &str)> = form
            .fields
            .iter()
            .map(|(n, v)| {
                if n == "key" {
                    (n.as_str(), "uploads/other/1-AAAAAAAAAAAAAAAA/${filename}")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect();
        fields.push(("success_action_redirect", "http://localhost/chat/x"));
        let response = handle(
            app,
            testing::multipart_file_post("/attachments", &fields, "a.png", testing::PNG_2X1),
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        // A forged signature.
        let forged: Vec<(&str, &str)> = fields
            .iter()
            .map(|(n, v)| {
                if *n == "x-amz-signature" {
                    (*n, "00")
                } else {
                    (*n, *v)
                }
            })
            .collect();
        let response = handle(
            app,
            testing::multipart_file_post("/attachments", &forged, "a.png", testing::PNG_2X1),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(matches!(
            bucket
                .read("uploads/other/1-AAAAAAAAAAAAAAAA/a.png", 1_000)
                .await,
            Err(shared::attachments::BucketError::NotFound)
        ));
        let _ = bob;
    }
}

mod parameters {
    use super::*;

    #[tokio::test]
    async fn a_conversations_parameters_go_to_the_model_and_bad_ones_are_refused() {
        let (app, fake) = portal().await;
        let ann = Person::new(app).await;
        let path = ann.start("fake-echo", "first").await;
        let (_, page) = ann.get(&path).await;
        assert!(page.contains("name=\"temperature\""), "{page}");
        assert!(page.contains("<option value=\"high\""), "{page}");

        let response = ann
            .post(
                &path,
                &[
                    ("action", "parameters"),
                    ("temperature", "0.7"),
                    ("max_output_tokens", "100"),
                    ("reasoning_effort", "high"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let response = ann.post(&path, &[("message", "tuned")]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let body = fake.requests().last().unwrap().body.clone();
        assert_eq!(body["temperature"], 0.7);
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["reasoning_effort"], "high");

        // Out of range: the form again, the message beside the field, nothing changed.
        let response = ann
            .post(
                &path,
                &[
                    ("action", "parameters"),
                    ("temperature", "3"),
                    ("max_output_tokens", "100"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let page = streamed_text(response).await;
        assert!(page.contains("Enter a temperature from 0 to 2."), "{page}");
        assert!(page.contains("value=\"3\""), "what was typed stays: {page}");
        let id = ConversationId::parse(path.rsplit('/').next().unwrap()).unwrap();
        let store = app.store().await.unwrap();
        let (c, _) = store
            .conversation(&ann.name, &id, 0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(c.parameters.temperature, Some(70));

        // Another user's conversation is not found; without the form's token, refused.
        let bob = Person::new(app).await;
        let response = bob
            .post(&path, &[("action", "parameters"), ("temperature", "1")])
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let response = handle(
            app,
            with_cookie(
                form_post(&path, &[("action", "parameters"), ("temperature", "1")]),
                &ann.cookie,
            ),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);

        // Cleared: the model's own again.
        let response = ann
            .post(
                &path,
                &[
                    ("action", "parameters"),
                    ("temperature", ""),
                    ("max_output_tokens", ""),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let (c, _) = store
            .conversation(&ann.name, &id, 0)
            .await
            .unwrap()
            .unwrap();
        assert!(c.parameters.is_default());
        ann.post(&path, &[("message", "plain")]).await;
        let body = fake.requests().last().unwrap().body.clone();
        assert!(body.get("temperature").is_none(), "{body}");
        assert_ne!(body["max_tokens"], 100);
    }
}

#[tokio::test]
async fn the_sidebar_lists_the_pinned_conversations_first() {
    let (app, _fake) = portal().await;
    let ann = Person::new(app).await;
    let kept = ann.start("offline", "Keep me at hand").await;
    let other = ann.start("offline", "Something else").await;
    let response = ann.post(&kept, &[("action", "pin")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let (_, page) = ann.get(&other).await;
    let start = page.find("id=\"conversations\"").unwrap();
    let sidebar = &page[start..start + page[start..].find("</nav>").unwrap()];
    let pinned = sidebar.find("Pinned</h3>").expect("a pinned heading");
    let recent = sidebar.find("Recent</h3>").expect("a recent heading");
    let kept_at = sidebar
        .find("Keep me at hand")
        .expect("the pinned one is listed");
    let other_at = sidebar
        .find("Something else")
        .expect("the open one is listed");
    assert!(
        pinned < kept_at && kept_at < recent && recent < other_at,
        "{sidebar}"
    );
    // Listed once.
    assert_eq!(sidebar.matches("Keep me at hand").count(), 1, "{sidebar}");
}

#[tokio::test]
async fn conversations_start_in_and_move_between_folders() {
    use shared::folders::{Folder, FolderId, FolderName};
    use shared::store::FolderStore;
    let (app, fake) = portal().await;
    let ann = Person::new(app).await;
    let store = app.store().await.unwrap();
    let folder = Folder {
        id: FolderId::generate(),
        name: FolderName::parse("Trips").unwrap(),
        model: Some("fake-echo".into()),
        system: Some("Plan trips.".into()),
        created_at: 0,
    };
    store.create_folder(&ann.name, &folder).await.unwrap();
    // Started in the folder with the form's blank model: the folder's model, filed there.
    let response = ann
        .post(
            "/chat",
            &[
                ("model", ""),
                ("message", "Lisbon in May?"),
                ("system", "Plan trips."),
                ("folder", folder.id.as_str()),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let path = response.headers()[LOCATION]
        .to_str()
        .unwrap()
        .trim_end_matches("#latest")
        .to_string();
    let id = ConversationId::parse(path.rsplit('/').next().unwrap()).unwrap();
    let (conversation, _) = store
        .conversation(&ann.name, &id, 0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(conversation.folder, Some(folder.id.clone()));
    assert_eq!(conversation.model, "fake-echo");
    assert_eq!(
        fake.requests()[0].body["messages"][0]["content"],
        "Plan trips."
    );
    let listed = store
        .list_folder(&ann.name, &folder.id, None, 10)
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    // Its page says where it is and offers the folders.
    let (_, html) = ann.get(&path).await;
    assert!(
        html.contains(&format!(
            "In the folder <a href=\"/folders/{}\">Trips</a>",
            folder.id.as_str()
        )),
        "{html}"
    );
    assert!(html.contains("name=\"action\" value=\"file\""));

    // Moved out, and back in.
    let moved = ann.post(&path, &[("action", "file"), ("folder", "")]).await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert!(
        store
            .list_folder(&ann.name, &folder.id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let moved = ann
        .post(&path, &[("action", "file"), ("folder", folder.id.as_str())])
        .await;
    assert_eq!(moved.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        store
            .list_folder(&ann.name, &folder.id, None, 10)
            .await
            .unwrap()
            .items
            .len(),
        1
    );

    // Another user's folder, or one that is not there: not found, nothing moved or made.
    let bob = Person::new(app).await;
    let theirs = Folder {
        id: FolderId::generate(),
        name: FolderName::parse("Bob's").unwrap(),
        model: None,
        system: None,
        created_at: 0,
    };
    store.create_folder(&bob.name, &theirs).await.unwrap();
    for folder in [theirs.id.as_str(), "nonsense"] {
        let refused = ann
            .post(&path, &[("action", "file"), ("folder", folder)])
            .await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{folder}");
        let refused = ann
            .post("/chat", &[("message", "hi"), ("folder", folder)])
            .await;
        assert_eq!(refused.status(), StatusCode::NOT_FOUND, "{folder}");
    }
    assert!(
        store
            .list_folder(&bob.name, &theirs.id, None, 10)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // And bob cannot file ann's conversation anywhere.
    let refused = bob
        .post(&path, &[("action", "file"), ("folder", theirs.id.as_str())])
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn any_message_can_be_edited_and_any_reply_regenerated_keeping_the_earlier_versions() {
    let (app, fake) = portal().await;
    let ann = Person::new(app).await;
    let path = ann.start("fake-echo", "one").await;
    for text in ["two", "three"] {
        let response = ann.post(&path, &[("message", text)]).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
    // 0 one, 1 reply, 2 two, 3 reply, 4 three, 5 reply. Edit "two" (2): a new 6 beside it.
    let response = ann
        .post(
            &path,
            &[("action", "edit"), ("seq", "2"), ("message", "two, better")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let messages = ann.messages(&path).await;
    assert_eq!(messages.len(), 8);
    assert_eq!(
        (messages[6].text.as_str(), messages[6].parent),
        ("two, better", Some(1))
    );
    assert_eq!(messages[7].parent, Some(6));
    // What went upstream is the branch shown: "one", its reply, "two, better" (not "three").
    let sent = fake.requests().last().unwrap().body["messages"].clone();
    let texts: Vec<&str> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert_eq!((texts[0], texts[2]), ("one", "two, better"));
    // The page shows the new branch, with ‹ 2 / 2 › on the edited message.
    let (_, html) = ann.get(&path).await;
    assert!(
        html.contains("two, better") && !html.contains(">three<"),
        "{html}"
    );
    assert!(
        html.contains(&format!(
            "href=\"{path}?at=2#m-2\" aria-label=\"Previous version\""
        )),
        "{html}"
    );
    assert!(html.contains("2 / 2"), "{html}");
    // The earlier version, by its plain link: "two" and "three" again, ‹ 1 / 2 ›.
    let (status, html) = ann.get(&format!("{path}?at=2")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains(">three<") || html.contains("three</p>"),
        "{html}"
    );
    assert!(html.contains("1 / 2"), "{html}");
    // Sending from that branch continues it (the form carries its last message).
    assert!(html.contains("name=\"at\" value=\"5\""), "{html}");
    let response = ann.post(&path, &[("message", "four"), ("at", "5")]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let messages = ann.messages(&path).await;
    assert_eq!(messages[8].parent, Some(5));
    // Regenerating an earlier reply (1): a sibling of it, answered from "one" alone.
    let response = ann
        .post(&path, &[("action", "regenerate"), ("seq", "1")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let messages = ann.messages(&path).await;
    let last = messages.last().unwrap();
    assert_eq!((last.parent, last.speaker), (Some(0), Speaker::Assistant));
    let sent = fake.requests().last().unwrap().body["messages"].clone();
    assert_eq!(sent.as_array().unwrap().len(), 1);
    // A branch or message that is not there: not found; a reply is not edited, nor a
    // message regenerated.
    assert_eq!(
        ann.get(&format!("{path}?at=99")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        ann.get(&format!("{path}?edit=99")).await.0,
        StatusCode::NOT_FOUND
    );
    let refused = ann
        .post(&path, &[("action", "edit"), ("seq", "1"), ("message", "x")])
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let refused = ann
        .post(&path, &[("action", "regenerate"), ("seq", "0")])
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    // Another user's conversation: not found, whatever the branch.
    let bob = Person::new(app).await;
    assert_eq!(
        bob.get(&format!("{path}?at=2")).await.0,
        StatusCode::NOT_FOUND
    );
}
