//! Single sign-on against a fake provider: the whole flow, and each way it must refuse.

use fake_provider::oidc::{CLIENT_ID, CLIENT_SECRET, FakeIdentityProvider, Person, Twist};
use lambda_http::http::header::LOCATION;
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Response};
use shared::App;
use shared::accounts::{Account, AccountChange, Email, Identity, Role};
use shared::config::{PASSWORD_SIGNIN, SIGNUP, SIGNUP_DOMAINS};
use shared::sso::{
    CLIENT_ID as CLIENT_ID_VAR, CLIENT_SECRET as SECRET_VAR, DISPLAY_NAME, GROUPS_CLAIM, ISSUER,
    LINK_ACCOUNTS,
};
use shared::store::{AccountStore, IdentityStore};
use shared::testing::{self, body_text, request, session_cookie, with_cookie};

use crate::handler::handle;

fn app(idp: &FakeIdentityProvider, extra: &[(&str, &str)]) -> App {
    let issuer = idp.issuer();
    let mut vars = vec![
        (ISSUER, issuer.as_str()),
        (CLIENT_ID_VAR, CLIENT_ID),
        (SECRET_VAR, CLIENT_SECRET),
        (GROUPS_CLAIM, "groups"),
        (DISPLAY_NAME, "Example ID"),
    ];
    vars.extend_from_slice(extra);
    testing::app_with(&vars)
}

/// `GET /login/sso`: the browser's cookie and where it is sent.
async fn begin(app: &App) -> (String, String) {
    let response = handle(app, request(Method::GET, "/login/sso")).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(&response)
    );
    let cookie = session_cookie(&response).expect("the pending sign-on's cookie");
    let url = response.headers()[LOCATION].to_str().unwrap().to_string();
    (cookie, url)
}

async fn callback(app: &App, cookie: &str, query: &str) -> Response<Body> {
    handle(
        app,
        with_cookie(
            request(Method::GET, &format!("/login/callback?{query}")),
            cookie,
        ),
    )
    .await
}

/// The whole flow for `person`: the callback's response.
async fn sign_on(
    app: &App,
    idp: &FakeIdentityProvider,
    person: Person,
    twist: Twist,
) -> Response<Body> {
    let (cookie, url) = begin(app).await;
    let query = idp.authorize(&url, person, twist);
    callback(app, &cookie, &query).await
}

/// Whether the response's cookie is a signed-in session (the sign-in page then redirects home).
async fn signed_in(app: &App, response: &Response<Body>) -> bool {
    let Some(cookie) = session_cookie(response) else {
        return false;
    };
    let page = handle(app, with_cookie(request(Method::GET, "/login"), &cookie)).await;
    page.status() == StatusCode::SEE_OTHER
}

async fn by_subject(app: &App, idp: &FakeIdentityProvider, subject: &str) -> Option<Account> {
    let identity = Identity::new(&idp.issuer(), subject).unwrap();
    app.store()
        .await
        .unwrap()
        .account_by_identity(&identity)
        .await
        .unwrap()
}

/// A name no other test has used (the tests share one database).
fn fresh(prefix: &str) -> String {
    shared::store::contract::unique_name(prefix)
        .as_str()
        .to_string()
}

fn person(name: &str) -> Person {
    let mut person = Person::new(&format!("sub-{name}"), name);
    person.groups = vec!["staff".into(), "engineering".into()];
    person
}

#[tokio::test]
async fn the_sign_in_page_offers_the_provider() {
    let idp = FakeIdentityProvider::start().await;
    let html = body_text(&handle(&app(&idp, &[]), request(Method::GET, "/login")).await);
    assert!(
        html.contains("href=\"/login/sso\">Sign in with Example ID</a>"),
        "{html}"
    );
    assert!(
        html.contains("name=\"password\""),
        "password sign-in stays by default"
    );
}

#[tokio::test]
async fn a_first_sign_on_creates_the_account_with_its_groups_and_signs_in() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[]);
    let name = fresh("dana");
    let (cookie, url) = begin(&app).await;
    assert!(
        url.contains("code_challenge_method=S256") && url.contains("nonce="),
        "{url}"
    );
    assert!(url.contains("scope=openid+email+profile"), "{url}");
    let query = idp.authorize(&url, person(&name), Twist::None);
    let response = callback(&app, &cookie, &query).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(&response)
    );
    assert_eq!(response.headers()[LOCATION], "/");
    assert!(signed_in(&app, &response).await);

    let account = by_subject(&app, &idp, &format!("sub-{name}"))
        .await
        .unwrap();
    assert_eq!(account.username.as_str(), name);
    assert_eq!(account.role, Role::User);
    assert_eq!(
        account.email,
        Some(Email::parse(&format!("{name}@example.com")).unwrap())
    );
    assert_eq!(account.groups.names(), ["staff", "engineering"]);
    // No password opens it.
    assert!(!shared::password::verify(
        &"".to_string().into(),
        Some(&account.password)
    ));

    // The answer is used once: the same answer again, with the new cookie, is stale.
    let again = callback(&app, &session_cookie(&response).unwrap(), &query).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&again).contains("did not start in this browser"));
}

#[tokio::test]
async fn a_later_sign_on_finds_the_account_by_subject_even_after_a_rename() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[]);
    let name = fresh("eve");
    let first = person(&name);
    assert!(signed_in(&app, &sign_on(&app, &idp, first.clone(), Twist::None).await).await);
    let mut renamed = first.clone();
    renamed.username = Some(format!("{name}-new"));
    renamed.groups = vec!["managers".into()];
    let response = sign_on(&app, &idp, renamed, Twist::None).await;
    assert!(signed_in(&app, &response).await);
    let account = by_subject(&app, &idp, &first.subject).await.unwrap();
    assert_eq!(
        account.username.as_str(),
        name,
        "the same account, under its first name"
    );
    assert_eq!(
        account.groups.names(),
        ["managers"],
        "groups as of this sign-on"
    );
    let store = app.store().await.unwrap();
    assert!(
        store
            .account(&shared::users::Username::parse(&format!("{name}-new")).unwrap())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_refused_and_store_nothing() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[]);
    for twist in [
        Twist::OtherIssuer,
        Twist::OtherAudience,
        Twist::ForeignKey,
        Twist::Expired,
        Twist::OtherNonce,
    ] {
        let name = fresh("mallory");
        let response = sign_on(&app, &idp, person(&name), twist).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{twist:?}");
        let html = body_text(&response);
        assert!(html.contains("could not be verified"), "{twist:?}: {html}");
        assert!(!signed_in(&app, &response).await, "{twist:?}");
        assert!(
            by_subject(&app, &idp, &format!("sub-{name}"))
                .await
                .is_none(),
            "{twist:?}"
        );
    }
}

#[tokio::test]
async fn a_wrong_or_missing_state_and_a_replayed_code_are_refused() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[]);
    let name = fresh("trent");
    let (cookie, url) = begin(&app).await;
    let query = idp.authorize(&url, person(&name), Twist::None);
    let code = query.split('&').find(|p| p.starts_with("code=")).unwrap();
    for bad in [code.to_string(), format!("{code}&state=forged")] {
        let response = callback(&app, &cookie, &bad).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{bad}");
        assert!(!signed_in(&app, &response).await);
    }
    // No sign-on pending in this browser at all.
    let fresh = session_cookie(&handle(&app, request(Method::GET, "/login")).await).unwrap();
    assert_eq!(
        callback(&app, &fresh, &query).await.status(),
        StatusCode::BAD_REQUEST
    );

    // The first use works; the old cookie replaying the code is refused by the provider.
    assert!(signed_in(&app, &callback(&app, &cookie, &query).await).await);
    let replay = callback(&app, &cookie, &query).await;
    assert_eq!(replay.status(), StatusCode::BAD_GATEWAY);
    assert!(!signed_in(&app, &replay).await);
    assert_eq!(idp.refusals(), ["unknown or used code"]);
}

#[tokio::test]
async fn an_error_from_the_provider_is_shown_and_signs_nobody_in() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[]);
    let (cookie, url) = begin(&app).await;
    let state = url
        .split("state=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    let response = callback(&app, &cookie, &format!("error=access_denied&state={state}")).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(body_text(&response).contains("Example ID did not sign you in"));
}

#[tokio::test]
async fn a_missing_username_claim_is_refused() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[]);
    let mut nameless = person("nameless");
    nameless.subject = format!("sub-{}", fresh("nameless"));
    nameless.username = None;
    let response = sign_on(&app, &idp, nameless.clone(), Twist::None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body_text(&response).contains("did not say who you are"));
    assert!(by_subject(&app, &idp, &nameless.subject).await.is_none());
}

#[tokio::test]
async fn a_provider_that_is_down_gets_a_clear_page() {
    let idp = FakeIdentityProvider::start().await;
    // Nothing listens on port 9 of the loopback address.
    let app = testing::app_with(&[
        (ISSUER, "http://127.0.0.1:9"),
        (CLIENT_ID_VAR, CLIENT_ID),
        (DISPLAY_NAME, "Example ID"),
    ]);
    drop(idp);
    let response = handle(&app, request(Method::GET, "/login/sso")).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(body_text(&response).contains("Example ID cannot be reached right now"));
}

#[tokio::test]
async fn sign_up_policy_decides_who_gets_an_account() {
    let idp = FakeIdentityProvider::start().await;
    let closed = app(&idp, &[(SIGNUP, "closed")]);
    let name = fresh("olive");
    let response = sign_on(&closed, &idp, person(&name), Twist::None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(body_text(&response).contains("no account for"));
    assert!(
        by_subject(&closed, &idp, &format!("sub-{name}"))
            .await
            .is_none()
    );

    let corp = app(&idp, &[(SIGNUP, "open"), (SIGNUP_DOMAINS, "corp.example")]);
    let outsider = sign_on(&corp, &idp, person(&name), Twist::None).await;
    assert_eq!(outsider.status(), StatusCode::FORBIDDEN);
    let mut insider = person(&name);
    insider.email = Some(format!("{name}@corp.example"));
    insider.email_verified = false;
    let unverified = sign_on(&corp, &idp, insider.clone(), Twist::None).await;
    assert_eq!(
        unverified.status(),
        StatusCode::FORBIDDEN,
        "an unverified address proves nothing"
    );
    insider.email_verified = true;
    assert!(signed_in(&corp, &sign_on(&corp, &idp, insider, Twist::None).await).await);
}

#[tokio::test]
async fn a_password_account_is_linked_only_when_allowed_and_vouched_for() {
    let idp = FakeIdentityProvider::start().await;
    let erin = testing::create_account(
        &testing::app(),
        "erin",
        Role::User,
        "violet kettle marching owl",
    )
    .await;
    let store = testing::app();
    let email = Email::parse(&format!("{}@example.com", erin.username.as_str())).unwrap();
    // Give the account its address (administrators' accounts may have one).
    let mut with_email = erin.clone();
    with_email.email = Some(email);
    store
        .store()
        .await
        .unwrap()
        .delete_account(&erin.username)
        .await
        .unwrap();
    store
        .store()
        .await
        .unwrap()
        .create_account(&with_email)
        .await
        .unwrap();
    let mut claimant = person(erin.username.as_str());
    claimant.subject = format!("sub-{}", fresh("erin"));

    let not_allowed = app(&idp, &[]);
    let response = sign_on(&not_allowed, &idp, claimant.clone(), Twist::None).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(body_text(&response).contains("not linked to your Example ID account"));

    let allowed = app(&idp, &[(LINK_ACCOUNTS, "true")]);
    let mut unverified = claimant.clone();
    unverified.email_verified = false;
    let response = sign_on(&allowed, &idp, unverified, Twist::None).await;
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "no takeover by an unverified address"
    );
    let mut other_address = claimant.clone();
    other_address.email = Some("someone@else.example".into());
    let response = sign_on(&allowed, &idp, other_address, Twist::None).await;
    assert_eq!(
        response.status(),
        StatusCode::CONFLICT,
        "no takeover by another address"
    );
    assert!(
        by_subject(&allowed, &idp, &claimant.subject)
            .await
            .is_none()
    );

    let response = sign_on(&allowed, &idp, claimant.clone(), Twist::None).await;
    assert!(signed_in(&allowed, &response).await);
    let linked = by_subject(&allowed, &idp, &claimant.subject).await.unwrap();
    assert_eq!(linked.id, erin.id, "the same account, now linked");

    // The refusals, the link and the sign-on are in the audit log.
    use shared::audit::{AuditAction, AuditFilter};
    use shared::store::AuditStore;
    let filter = AuditFilter {
        who: Some(erin.username.as_str().to_string()),
        action: None,
    };
    let store = allowed.store().await.unwrap();
    let entries = store
        .audit_entries(&filter, None, 50, shared::session::now())
        .await
        .unwrap()
        .items;
    let actions: Vec<AuditAction> = entries.iter().rev().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::SingleSignOnRefused,
            AuditAction::SingleSignOnRefused,
            AuditAction::SingleSignOnRefused,
            AuditAction::SingleSignOnLinked,
            AuditAction::SingleSignOn,
        ]
    );
}

#[tokio::test]
async fn a_disabled_account_is_not_signed_in() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[]);
    let name = fresh("ivan");
    assert!(signed_in(&app, &sign_on(&app, &idp, person(&name), Twist::None).await).await);
    app.store()
        .await
        .unwrap()
        .change_account(
            &shared::users::Username::parse(&name).unwrap(),
            &AccountChange::Disabled(true),
        )
        .await
        .unwrap();
    let response = sign_on(&app, &idp, person(&name), Twist::None).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(!signed_in(&app, &response).await);
}

#[tokio::test]
async fn with_password_sign_in_off_only_bootstrap_admins_use_a_password() {
    let idp = FakeIdentityProvider::start().await;
    let app = app(&idp, &[(PASSWORD_SIGNIN, "false")]);
    let html = body_text(&handle(&app, request(Method::GET, "/login")).await);
    assert!(
        html.contains("<details>") && html.contains("Administrator sign-in"),
        "{html}"
    );
    assert!(!html.contains("/signup"), "no sign-up link");
    let ann = testing::create_account(&app, "ann", Role::User, "violet kettle marching owl").await;
    let (cookie, token) = {
        let page = handle(&app, request(Method::GET, "/login")).await;
        (
            session_cookie(&page).unwrap(),
            testing::csrf_token(&body_text(&page)),
        )
    };
    let post = |username: &str, password: &str| {
        with_cookie(
            testing::form_post(
                "/login",
                &[
                    ("csrf_token", &token),
                    ("username", username),
                    ("password", password),
                ],
            ),
            &cookie,
        )
    };
    let refused = handle(
        &app,
        post(ann.username.as_str(), "violet kettle marching owl"),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(body_text(&refused).contains("Sign in with Example ID"));
    let admin = handle(&app, post("alice", testing::ALICE_PASSWORD)).await;
    assert_eq!(
        admin.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(&admin)
    );
}

/// The Content-Security-Policy pages are served with.
async fn csp(app: &App) -> String {
    let page = handle(app, request(Method::GET, "/login")).await;
    page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn signing_out_can_end_the_providers_session() {
    let idp = FakeIdentityProvider::start().await;
    // Pages' forms may then lead to the provider (sign-out's redirects), and only then.
    let ending = app(&idp, &[(shared::sso::END_SESSION, "true")]);
    let policy = csp(&ending).await;
    assert!(
        policy.contains(&format!("form-action 'self' {};", idp.issuer())),
        "{policy}"
    );
    assert!(csp(&app(&idp, &[])).await.contains("form-action 'self';"));

    let app = ending;
    let response = handle(&app, request(Method::GET, "/login/sso/end")).await;
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{}/session/end?", idp.issuer())),
        "{location}"
    );
    assert!(
        location.contains(&format!("client_id={CLIENT_ID}")),
        "{location}"
    );
    assert!(
        location.contains("post_logout_redirect_uri=https%3A%2F%2F"),
        "{location}"
    );
}
