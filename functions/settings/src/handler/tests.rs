//! The settings page and each of its actions.

use lambda_http::http::Method;
use lambda_http::http::header::LOCATION;
use shared::accounts::{Account, AccountChange, Role};
use shared::password;
use shared::store::AccountStore;
use shared::testing::{self, body_text, form_post, request, session_cookie, with_cookie};

use super::*;

const PASSWORD: &str = "violet kettle marching owl";
const NEW_PASSWORD: &str = "copper lantern drifting fox";

async fn setup(app: &App) -> (Account, String, String) {
    let ann = testing::create_account(app, "ann", Role::User, PASSWORD).await;
    let (cookie, token) = testing::sign_in(app, &ann).await;
    (ann, cookie, token)
}

async fn post(app: &App, cookie: &str, token: &str, fields: &[(&str, &str)]) -> Response<Body> {
    let mut all = vec![("csrf_token", token)];
    all.extend_from_slice(fields);
    handle(app, with_cookie(form_post("/settings", &all), cookie)).await
}

async fn signed_in_as(app: &App, cookie: &str) -> Option<Account> {
    Visit::start(app, &with_cookie(request(Method::GET, "/"), cookie))
        .await
        .user()
        .cloned()
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let app = testing::app();
    let response = handle(&app, request(Method::GET, "/settings")).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/login");
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = testing::app();
    let (ann, cookie, token) = setup(&app).await;
    let (other_device, _) = testing::sign_in(&app, &ann).await;
    let fields = [
        ("action", "password"),
        ("current_password", PASSWORD),
        ("new_password", NEW_PASSWORD),
        ("confirm", NEW_PASSWORD),
    ];
    let response = post(&app, &cookie, &token, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let renewed = session_cookie(&response).unwrap();
    let account = signed_in_as(&app, &renewed)
        .await
        .expect("still signed in here");
    assert!(password::verify(
        &secret(NEW_PASSWORD),
        Some(&account.password)
    ));
    assert!(
        signed_in_as(&app, &other_device).await.is_none(),
        "other sessions end"
    );
}

#[tokio::test]
async fn a_wrong_current_password_or_weak_new_one_changes_nothing() {
    let app = testing::app();
    let (ann, cookie, token) = setup(&app).await;
    let fields = [
        ("action", "password"),
        ("current_password", "wrong"),
        ("new_password", "short"),
        ("confirm", "other"),
    ];
    let response = post(&app, &cookie, &token, &fields).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let html = body_text(&response);
    assert!(html.contains("That is not your current password."));
    assert!(html.contains("Use at least 10 characters."));
    assert!(html.contains("The two passwords do not match."));
    let stored = app
        .store()
        .await
        .unwrap()
        .account(&ann.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password, ann.password);
}

#[tokio::test]
async fn sign_out_everywhere_ends_every_session() {
    let app = testing::app();
    let (ann, cookie, token) = setup(&app).await;
    let (other_device, _) = testing::sign_in(&app, &ann).await;
    let response = post(&app, &cookie, &token, &[("action", "sign-out-everywhere")]).await;
    assert_eq!(response.headers()[LOCATION], "/login");
    assert!(signed_in_as(&app, &cookie).await.is_none());
    assert!(signed_in_as(&app, &other_device).await.is_none());
}

#[tokio::test]
async fn deleting_needs_the_username_and_password_then_removes_everything() {
    let app = testing::app();
    let (ann, cookie, token) = setup(&app).await;
    let store = app.store().await.unwrap();
    let wrong = post(
        &app,
        &cookie,
        &token,
        &[
            ("action", "delete"),
            ("confirm_username", "someone"),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&wrong).contains("Type your username exactly"));
    assert!(store.account(&ann.username).await.unwrap().is_some());

    let name = ann.username.as_str();
    let response = post(
        &app,
        &cookie,
        &token,
        &[
            ("action", "delete"),
            ("confirm_username", name),
            ("current_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(response.headers()[LOCATION], "/login");
    assert!(store.account(&ann.username).await.unwrap().is_none());
    assert!(signed_in_as(&app, &cookie).await.is_none());
}

#[tokio::test]
async fn password_checks_here_are_throttled_like_sign_ins() {
    let app = testing::app_with(&[("SWITCHBOARD_LOGIN_FAILURES_PER_ACCOUNT", "3")]);
    let (ann, cookie, token) = setup(&app).await;
    let name = ann.username.as_str().to_string();
    let guess = |password: &'static str, action: &'static str| {
        let fields = [
            ("action", action.to_string()),
            ("current_password", password.to_string()),
            ("confirm_username", name.clone()),
            ("new_password", NEW_PASSWORD.to_string()),
            ("confirm", NEW_PASSWORD.to_string()),
        ];
        let (app, cookie, token) = (&app, &cookie, &token);
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(app, cookie, token, &fields).await
        }
    };
    // Parallel guesses get no more than the limit between them.
    let guesses = (0..8).map(|i| {
        guess(
            "wrong guess",
            if i % 2 == 0 { "password" } else { "delete" },
        )
    });
    let statuses: Vec<_> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(Response::status)
        .collect();
    let wrong = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_REQUEST)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((wrong, throttled), (3, 5), "{statuses:?}");
    // Even the right password waits for the window, and nothing changes.
    let right = guess(PASSWORD, "password").await;
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(body_text(&right).contains("Too many wrong passwords. Wait"));
    let store = app.store().await.unwrap();
    assert_eq!(store.account(&ann.username).await.unwrap(), Some(ann));
}

#[tokio::test]
async fn the_last_enabled_admin_cannot_delete_their_account() {
    // Its own store: whether another admin exists depends on every account in it.
    let path = std::env::temp_dir().join(format!(
        "switchboard-last-admin-{}.sqlite3",
        shared::store::contract::unique_name("db").as_str()
    ));
    let app = testing::app_with(&[("SWITCHBOARD_SQLITE_PATH", path.to_str().unwrap())]);
    let boss = testing::create_account(&app, "boss", Role::Admin, PASSWORD).await;
    let (cookie, token) = testing::sign_in(&app, &boss).await;
    let mut retired = testing::create_account(&app, "retired", Role::Admin, PASSWORD).await;
    let store = app.store().await.unwrap();
    retired = store
        .change_account(&retired.username, &AccountChange::Disabled(true))
        .await
        .unwrap();
    let delete = [
        ("action", "delete"),
        ("confirm_username", boss.username.as_str()),
        ("current_password", PASSWORD),
    ];
    let refused = post(&app, &cookie, &token, &delete).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    assert!(body_text(&refused).contains("You are the only administrator"));
    assert!(store.account(&boss.username).await.unwrap().is_some());

    // With another enabled admin, it may go.
    store
        .change_account(&retired.username, &AccountChange::Disabled(false))
        .await
        .unwrap();
    let response = post(&app, &cookie, &token, &delete).await;
    assert_eq!(response.headers()[LOCATION], "/login");
    assert!(store.account(&boss.username).await.unwrap().is_none());
}

#[tokio::test]
async fn forged_posts_change_nothing() {
    let app = testing::app();
    let (ann, cookie, _) = setup(&app).await;
    let response = post(
        &app,
        &cookie,
        "forged",
        &[("action", "sign-out-everywhere")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(signed_in_as(&app, &cookie).await.is_some());
    let stored = app
        .store()
        .await
        .unwrap()
        .account(&ann.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.session_epoch, ann.session_epoch);
}

#[tokio::test]
async fn an_account_that_signs_on_with_a_provider_has_no_password_here() {
    let app = testing::app_with(&[
        (shared::sso::ISSUER, "https://idp.example.com"),
        (shared::sso::CLIENT_ID, "portal"),
        (shared::sso::DISPLAY_NAME, "Example ID"),
    ]);
    let mut sso = Account::new(
        shared::store::contract::unique_name("sso"),
        None,
        password::unusable(),
        Role::User,
        1_700_000_000,
    );
    sso.identity = Some(
        shared::accounts::Identity::new("https://idp.example.com", sso.username.as_str()).unwrap(),
    );
    sso.groups = shared::accounts::ProviderGroups::bounded(["staff".to_string()]).0;
    app.store()
        .await
        .unwrap()
        .create_account(&sso)
        .await
        .unwrap();
    let (cookie, token) = testing::sign_in(&app, &sso).await;

    let page = body_text(
        &handle(
            &app,
            with_cookie(request(Method::GET, "/settings"), &cookie),
        )
        .await,
    );
    assert!(page.contains("You sign in with Example ID"), "{page}");
    assert!(page.contains("Your groups there: staff."));
    assert!(
        !page.contains("name=\"current_password\""),
        "no password fields"
    );

    let change = post(
        &app,
        &cookie,
        &token,
        &[
            ("action", "password"),
            ("new_password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(change.status(), StatusCode::BAD_REQUEST);

    // Deleting takes the username typed, as for everyone (and no password).
    let wrong = post(
        &app,
        &cookie,
        &token,
        &[("action", "delete"), ("confirm_username", "someone")],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    let deleted = post(
        &app,
        &cookie,
        &token,
        &[
            ("action", "delete"),
            ("confirm_username", sso.username.as_str()),
        ],
    )
    .await;
    assert_eq!(
        deleted.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(&deleted)
    );
    assert!(
        app.store()
            .await
            .unwrap()
            .account(&sso.username)
            .await
            .unwrap()
            .is_none()
    );
}

mod api_keys {
    use super::*;
    use shared::api_keys::{KeyHash, looks_like_key};
    use shared::store::ApiKeyStore;

    /// The key shown on a page, if any.
    fn shown_key(html: &str) -> Option<String> {
        let start = html.find("id=\"new-key\">")? + "id=\"new-key\">".len();
        Some(html[start..].split('<').next()?.to_string())
    }

    #[tokio::test]
    async fn a_key_is_shown_once_stored_as_a_hash_listed_and_revoked() {
        let app = testing::app();
        let (ann, cookie, token) = setup(&app).await;
        let response = post(
            &app,
            &cookie,
            &token,
            &[
                ("action", "create-key"),
                ("key_name", "laptop"),
                ("key_days", "30"),
                ("key_model", "offline"),
                ("key_keep", "on"),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let html = body_text(&response);
        let shown = shown_key(&html).expect("the new key is shown");
        assert!(looks_like_key(&shown), "{shown}");
        // Stored as its hash only, for its owner; shown again nowhere.
        let store = app.store().await.unwrap();
        let caller = store
            .api_caller(&KeyHash::of(&secret(&shown)))
            .await
            .unwrap()
            .expect("found by its hash");
        let (owner, key) = (caller.owner, caller.key);
        assert!(key.keeps_conversations);
        assert_eq!(owner, ann.username);
        assert_eq!(key.name.as_str(), "laptop");
        assert_eq!(key.models.as_deref(), Some(&["offline".to_string()][..]));
        assert!(key.expires_at.unwrap() > key.created_at + 29 * 86_400);
        let page = body_text(
            &handle(
                &app,
                with_cookie(request(Method::GET, "/settings"), &cookie),
            )
            .await,
        );
        assert!(page.contains("laptop"), "{page}");
        assert!(!page.contains(&shown), "never shown again");
        assert!(shown_key(&page).is_none());

        // Another user cannot revoke it (404); its owner can, and it is gone.
        let bob = testing::create_account(&app, "bob", Role::User, PASSWORD).await;
        let (bob_cookie, bob_token) = testing::sign_in(&app, &bob).await;
        let revoke = [("action", "revoke-key"), ("key", key.id.as_str())];
        let response = post(&app, &bob_cookie, &bob_token, &revoke).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let response = post(&app, &cookie, &token, &revoke).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(store.api_keys(&ann.username).await.unwrap().is_empty());
        let response = post(&app, &cookie, &token, &revoke).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn bad_key_forms_are_refused_beside_their_fields_and_make_nothing() {
        let app = testing::app();
        let (ann, cookie, token) = setup(&app).await;
        for (fields, message) in [
            (vec![("key_name", " ")], "Name the key"),
            (
                vec![("key_name", "x"), ("key_days", "0")],
                "whole number of days",
            ),
            (
                vec![("key_name", "x"), ("key_days", "9999")],
                "whole number of days",
            ),
            (
                vec![("key_name", "x"), ("key_model", "no-such-model")],
                "Choose among the models",
            ),
        ] {
            let mut all = vec![("action", "create-key")];
            all.extend(fields);
            let response = post(&app, &cookie, &token, &all).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            let html = body_text(&response);
            assert!(html.contains(message), "{message}: {html}");
            assert!(shown_key(&html).is_none());
        }
        // Without the form's token: refused.
        let response = handle(
            &app,
            with_cookie(
                form_post("/settings", &[("action", "create-key"), ("key_name", "x")]),
                &cookie,
            ),
        )
        .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let store = app.store().await.unwrap();
        assert!(store.api_keys(&ann.username).await.unwrap().is_empty());
    }
}
