//! The admin page and each of its actions.

use lambda_http::http::header::LOCATION;
use shared::store::contract::unique_name;
use shared::testing::{self, body_text, form_post, request, session_cookie, with_cookie};

use super::*;
use secrecy::SecretString;
use shared::accounts::{Account, Role};
use shared::store::{AccountStore, AuditStore, InviteStore};
use shared::usage::{Cost, Month};
use shared::users::Username;
use shared::{link_tokens, password};

const PASSWORD: &str = "violet kettle marching owl";

struct Admin {
    account: Account,
    cookie: String,
    token: String,
}

async fn admin(app: &App) -> Admin {
    let account = testing::create_account(app, "boss", Role::Admin, PASSWORD).await;
    let (cookie, token) = testing::sign_in(app, &account).await;
    Admin {
        account,
        cookie,
        token,
    }
}

async fn post(app: &App, who: &Admin, fields: &[(&str, &str)]) -> Response<Body> {
    let mut all = vec![("csrf_token", who.token.as_str())];
    all.extend_from_slice(fields);
    handle(app, with_cookie(form_post("/admin", &all), &who.cookie)).await
}

/// The page after a redirect, with its one-time message.
async fn follow(app: &App, who: &Admin, response: &Response<Body>) -> String {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(response)
    );
    assert_eq!(response.headers()[LOCATION], "/admin");
    let cookie = session_cookie(response).unwrap_or_else(|| who.cookie.clone());
    body_text(&handle(app, with_cookie(request(Method::GET, "/admin"), &cookie)).await)
}

async fn stored(app: &App, name: &Username) -> Option<Account> {
    app.store().await.unwrap().account(name).await.unwrap()
}

#[tokio::test]
async fn admins_set_caps_and_see_each_accounts_spend() {
    use shared::store::{ConversationStore, UsageStore};
    use shared::usage::Charge;
    // The default cap is one setting for the whole store: this test has a store of its own.
    let path = std::env::temp_dir().join(format!(
        "switchboard-admin-caps-{}.sqlite3",
        unique_name("db").as_str()
    ));
    let app = testing::app_with(&[("SWITCHBOARD_SQLITE_PATH", path.to_str().unwrap())]);
    let boss = admin(&app).await;
    let ann = testing::create_account(&app, "spender", Role::User, PASSWORD).await;
    let store = app.store().await.unwrap();
    let now = shared::session::now();
    let conversation = shared::conversations::Conversation::new(
        shared::conversations::Title::parse("Costly").unwrap(),
        "offline".into(),
        None,
        now,
    );
    store
        .create_conversation(&ann.username, &conversation)
        .await
        .unwrap();
    let charge = |month: Month, nanos: u64| Charge {
        month,
        conversation: conversation.id.as_str().to_string(),
        title: "Costly".into(),
        model: "offline".into(),
        input_tokens: 10,
        output_tokens: 10,
        cost: Cost::from_nanos(nanos),
        estimated: false,
        cache: Default::default(),
        groups: Vec::new(),
        day: 1,
    };
    let month = Month::of(now);
    store
        .record_usage(&ann.username, &charge(month, 1_250_000_000))
        .await
        .unwrap();
    store
        .record_usage(&ann.username, &charge(month.previous(), 30_000_000))
        .await
        .unwrap();

    let name = ann.username.as_str();
    let html = follow(
        &app,
        &boss,
        &post(
            &app,
            &boss,
            &[("action", "cap"), ("username", name), ("cap", "12.5")],
        )
        .await,
    )
    .await;
    assert!(
        html.contains(&format!("{name} may now spend $12.50 a month.")),
        "{html}"
    );
    assert_eq!(
        stored(&app, &ann.username).await.unwrap().spend_cap,
        Some(Cost::parse_dollars("12.50").unwrap())
    );
    assert!(
        html.contains("<td>$1.25</td>"),
        "this month's spend: {html}"
    );
    assert!(
        html.contains("<td>$0.03</td>"),
        "last month's spend: {html}"
    );
    assert!(
        html.contains("value=\"12.50\""),
        "the cap in its field: {html}"
    );

    // Blank: back to the default.
    let html = follow(
        &app,
        &boss,
        &post(
            &app,
            &boss,
            &[("action", "cap"), ("username", name), ("cap", " ")],
        )
        .await,
    )
    .await;
    assert!(html.contains("now follows the default cap"), "{html}");
    assert_eq!(stored(&app, &ann.username).await.unwrap().spend_cap, None);

    let html = follow(
        &app,
        &boss,
        &post(&app, &boss, &[("action", "default-cap"), ("cap", "$3")]).await,
    )
    .await;
    assert!(html.contains("may now spend $3.00 a month"), "{html}");
    assert_eq!(
        store.default_spend_cap().await.unwrap(),
        Some(Cost::parse_dollars("3").unwrap())
    );

    // Bad amounts change nothing and say why.
    let bad = post(&app, &boss, &[("action", "default-cap"), ("cap", "three")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&bad).contains("Enter an amount in dollars"));
    let bad = post(
        &app,
        &boss,
        &[("action", "cap"), ("username", name), ("cap", "-1")],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(stored(&app, &ann.username).await.unwrap().spend_cap, None);
    assert_eq!(
        store.default_spend_cap().await.unwrap(),
        Some(Cost::parse_dollars("3").unwrap())
    );
    let missing = post(
        &app,
        &boss,
        &[("action", "cap"), ("username", "nobody-here"), ("cap", "1")],
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let html = follow(
        &app,
        &boss,
        &post(&app, &boss, &[("action", "default-cap"), ("cap", "")]).await,
    )
    .await;
    assert!(html.contains("have no limit now"), "{html}");
    assert_eq!(store.default_spend_cap().await.unwrap(), None);
}

#[tokio::test]
async fn admins_turn_the_api_off_and_on() {
    use shared::store::ApiKeyStore;
    let app = testing::app();
    let store = app.store().await.unwrap();
    let boss = admin(&app).await;
    let page = follow(
        &app,
        &boss,
        &post(&app, &boss, &[("action", "api"), ("api", "off")]).await,
    )
    .await;
    assert!(page.contains("The API is off"), "{page}");
    assert!(page.contains("Turn the API on"), "{page}");
    assert!(!store.api_enabled().await.unwrap());
    let bad = post(&app, &boss, &[("action", "api"), ("api", "maybe")]).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(!store.api_enabled().await.unwrap());
    let page = follow(
        &app,
        &boss,
        &post(&app, &boss, &[("action", "api"), ("api", "on")]).await,
    )
    .await;
    assert!(page.contains("Turn the API off"), "{page}");
    assert!(store.api_enabled().await.unwrap());
}

#[tokio::test]
async fn only_admins_get_in() {
    let app = testing::app();
    let anonymous = handle(&app, request(Method::GET, "/admin")).await;
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    let user = testing::create_account(&app, "pleb", Role::User, PASSWORD).await;
    let (cookie, token) = testing::sign_in(&app, &user).await;
    let page = handle(&app, with_cookie(request(Method::GET, "/admin"), &cookie)).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let fields = [
        ("csrf_token", token.as_str()),
        ("action", "promote"),
        ("username", user.username.as_str()),
    ];
    let post = handle(&app, with_cookie(form_post("/admin", &fields), &cookie)).await;
    assert_eq!(post.status(), StatusCode::FORBIDDEN);
    assert_eq!(stored(&app, &user.username).await.unwrap().role, Role::User);
}

#[tokio::test]
async fn lists_accounts_in_pages() {
    let path = std::env::temp_dir().join(format!(
        "switchboard-admin-list-{}.sqlite3",
        unique_name("db").as_str()
    ));
    let app = testing::app_with(&[("SWITCHBOARD_SQLITE_PATH", path.to_str().unwrap())]);
    let boss = admin(&app).await;
    let row = |name: &str| format!("<th scope=\"row\">{name}</th>");
    let page = handle(
        &app,
        with_cookie(request(Method::GET, "/admin"), &boss.cookie),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = body_text(&page);
    assert!(
        html.contains(&row(boss.account.username.as_str())),
        "{html}"
    );
    assert!(!html.contains("Next page"), "one page is enough");

    let first = format!("/admin?after={}", boss.account.username.as_str());
    let after = handle(
        &app,
        with_cookie(request(Method::GET, &first), &boss.cookie),
    )
    .await;
    assert!(
        !body_text(&after).contains(&row(boss.account.username.as_str())),
        "starts after the name"
    );
    let _ = std::fs::remove_file(path);
}

#[tokio::test]
async fn creates_accounts_and_reports_bad_fields() {
    let app = testing::app();
    let boss = admin(&app).await;
    let name = unique_name("made");
    let response = post(
        &app,
        &boss,
        &[
            ("action", "create"),
            ("username", name.as_str()),
            ("email", ""),
            ("password", PASSWORD),
            ("role", "admin"),
        ],
    )
    .await;
    assert!(
        follow(&app, &boss, &response)
            .await
            .contains(&format!("Created the account {} (admin).", name.as_str()))
    );
    assert_eq!(stored(&app, &name).await.unwrap().role, Role::Admin);

    let again = post(
        &app,
        &boss,
        &[
            ("action", "create"),
            ("username", name.as_str()),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&again).contains("That username is taken."));
    let bad = post(
        &app,
        &boss,
        &[
            ("action", "create"),
            ("username", "no spaces"),
            ("email", "x@"),
            ("password", "short"),
        ],
    )
    .await;
    let html = body_text(&bad);
    assert!(html.contains("A username may use only"));
    assert!(html.contains("Enter a valid email address"));
    assert!(html.contains("Use at least 10 characters."));
}

#[tokio::test]
async fn a_bootstrap_admins_name_is_kept_for_its_first_sign_in() {
    let root = unique_name("root");
    let bootstrap = format!("{}={}", root.as_str(), testing::alice_hash());
    let app = testing::app_with(&[("SWITCHBOARD_BOOTSTRAP_ADMINS", &bootstrap)]);
    let boss = admin(&app).await;
    let response = post(
        &app,
        &boss,
        &[
            ("action", "create"),
            ("username", root.as_str()),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&response).contains("kept for a bootstrap administrator"));
    assert!(stored(&app, &root).await.is_none());
}

#[tokio::test]
async fn disabling_signs_the_user_out_and_enabling_lets_them_back() {
    let app = testing::app();
    let boss = admin(&app).await;
    let user = testing::create_account(&app, "target", Role::User, PASSWORD).await;
    let (their_cookie, _) = testing::sign_in(&app, &user).await;
    let name = user.username.as_str();

    let response = post(&app, &boss, &[("action", "disable"), ("username", name)]).await;
    assert!(
        follow(&app, &boss, &response)
            .await
            .contains("has been disabled")
    );
    let visit = Visit::start(&app, &with_cookie(request(Method::GET, "/"), &their_cookie)).await;
    assert!(visit.user().is_none(), "signed out on their next request");

    let response = post(&app, &boss, &[("action", "enable"), ("username", name)]).await;
    follow(&app, &boss, &response).await;
    assert!(!stored(&app, &user.username).await.unwrap().disabled);
    let response = post(&app, &boss, &[("action", "promote"), ("username", name)]).await;
    follow(&app, &boss, &response).await;
    assert_eq!(
        stored(&app, &user.username).await.unwrap().role,
        Role::Admin
    );
    let response = post(&app, &boss, &[("action", "demote"), ("username", name)]).await;
    follow(&app, &boss, &response).await;
    assert_eq!(stored(&app, &user.username).await.unwrap().role, Role::User);

    let missing = post(
        &app,
        &boss,
        &[
            ("action", "disable"),
            ("username", unique_name("ghost").as_str()),
        ],
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn admins_cannot_lock_themselves_out() {
    let app = testing::app();
    let boss = admin(&app).await;
    for action in ["disable", "demote"] {
        let response = post(
            &app,
            &boss,
            &[
                ("action", action),
                ("username", boss.account.username.as_str()),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(&response).contains("cannot disable or demote your own account"));
    }
    let me = stored(&app, &boss.account.username).await.unwrap();
    assert!(me.is_admin() && !me.disabled);
}

#[tokio::test]
async fn resets_a_password_and_ends_the_users_sessions() {
    let app = testing::app();
    let boss = admin(&app).await;
    let user = testing::create_account(&app, "forgot", Role::User, PASSWORD).await;
    let (their_cookie, _) = testing::sign_in(&app, &user).await;
    let new = "copper lantern drifting fox";
    let response = post(
        &app,
        &boss,
        &[
            ("action", "reset"),
            ("username", user.username.as_str()),
            ("password", new),
        ],
    )
    .await;
    assert!(
        follow(&app, &boss, &response)
            .await
            .contains("has been reset")
    );
    let account = stored(&app, &user.username).await.unwrap();
    assert!(password::verify(
        &SecretString::from(new.to_string()),
        Some(&account.password)
    ));
    let visit = Visit::start(&app, &with_cookie(request(Method::GET, "/"), &their_cookie)).await;
    assert!(visit.user().is_none());

    let unknown = post(
        &app,
        &boss,
        &[
            ("action", "reset"),
            ("username", unique_name("nobody").as_str()),
            ("password", new),
        ],
    )
    .await;
    assert!(body_text(&unknown).contains("No account has this username."));
}

#[tokio::test]
async fn invite_links_are_shown_once_and_only_for_invite_only_sign_up() {
    let app = testing::app_with(&[("SWITCHBOARD_SIGNUP", "invite")]);
    let boss = admin(&app).await;
    let response = post(&app, &boss, &[("action", "invite")]).await;
    // minijinja escapes `/` as `&#x2f;`.
    let html = follow(&app, &boss, &response).await.replace("&#x2f;", "/");
    let link = html
        .split_whitespace()
        .find(|w| w.contains("/signup?invite="))
        .expect("the link is on the page")
        .trim_end_matches("</p>");
    let token = link.rsplit('=').next().unwrap();
    let store = app.store().await.unwrap();
    let invite = store
        .invite(&link_tokens::hash(token), shared::session::now())
        .await
        .unwrap();
    assert_eq!(invite.unwrap().created_by, boss.account.username);

    let open = testing::app();
    let boss = admin(&open).await;
    let refused = post(&open, &boss, &[("action", "invite")]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&refused).contains("invite-only"));
}

#[tokio::test]
async fn accounts_that_sign_on_with_a_provider_say_so() {
    // A store of its own, so both accounts are on the first page.
    let path = std::env::temp_dir().join(format!(
        "switchboard-admin-sso-{}.sqlite3",
        unique_name("db").as_str()
    ));
    let app = testing::app_with(&[("SWITCHBOARD_SQLITE_PATH", path.to_str().unwrap())]);
    let boss = admin(&app).await;
    let mut sso = Account::new(
        unique_name("sso"),
        None,
        password::unusable(),
        Role::User,
        1,
    );
    sso.identity = Some(shared::accounts::Identity::new("https://idp.example.com", "s-1").unwrap());
    app.store()
        .await
        .unwrap()
        .create_account(&sso)
        .await
        .unwrap();
    let html = body_text(
        &handle(
            &app,
            with_cookie(request(Method::GET, "/admin"), &boss.cookie),
        )
        .await,
    );
    let row = |name: &str| {
        let start = html
            .find(&format!("<th scope=\"row\">{name}</th>"))
            .unwrap();
        html[start..start + html[start..].find("</tr>").unwrap()].to_string()
    };
    assert!(row(sso.username.as_str()).contains("single sign-on"));
    assert!(!row(boss.account.username.as_str()).contains("single sign-on"));
}

#[tokio::test]
async fn the_audit_log_shows_who_did_what_filtered_and_refuses_a_bad_filter() {
    let app = testing::app();
    let boss = admin(&app).await;
    let ann = testing::create_account(&app, "audited", Role::User, PASSWORD).await;
    let name = ann.username.as_str();
    follow(
        &app,
        &boss,
        &post(&app, &boss, &[("action", "disable"), ("username", name)]).await,
    )
    .await;
    follow(
        &app,
        &boss,
        &post(
            &app,
            &boss,
            &[("action", "cap"), ("username", name), ("cap", "5")],
        )
        .await,
    )
    .await;

    let get = |query: String| {
        let cookie = boss.cookie.clone();
        let app = &app;
        async move {
            handle(
                app,
                with_cookie(
                    request(Method::GET, &format!("/admin/audit?{query}")),
                    &cookie,
                ),
            )
            .await
        }
    };
    let page = get(format!("who={name}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = body_text(&page);
    let table = &html[html.find("<tbody>").expect("entries")..];
    let disabled = table.find("Disabled account").expect("the disabling");
    let capped = table.find("Changed spend cap").expect("the cap");
    assert!(capped < disabled, "newest first: {html}");
    assert!(html.contains(boss.account.username.as_str()), "who did it");
    assert!(html.contains("$5.00 a month"));

    let only_caps = body_text(&get(format!("who={name}&action=spend-cap-changed")).await);
    let table = &only_caps[only_caps.find("<tbody>").expect("entries")..];
    assert!(table.contains("Changed spend cap") && !table.contains("Disabled account"));
    let nobody = body_text(&get("who=no-such-person-here".into()).await);
    assert!(nobody.contains("No entries match."));

    let bad = get("action=drop-tables".into()).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&bad).contains("Choose an action from the list."));

    // Not for users.
    let (user_cookie, _) = {
        let enabled = testing::create_account(&app, "nosy", Role::User, PASSWORD).await;
        testing::sign_in(&app, &enabled).await
    };
    let refused = handle(
        &app,
        with_cookie(request(Method::GET, "/admin/audit"), &user_cookie),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_audit_log_pages_through_older_entries() {
    use shared::audit::{AuditAction, AuditEntry};
    let app = testing::app();
    let boss = admin(&app).await;
    let target = unique_name("paged");
    let store = app.store().await.unwrap();
    let now = shared::session::now();
    for i in 0..51 {
        let entry = AuditEntry::new(AuditAction::SignInRefused, now - 100 + i, "192.0.2.9", 30)
            .on(target.as_str())
            .detail(&format!("attempt {i:02}"));
        store.record_audit(&entry).await.unwrap();
    }
    let first = body_text(
        &handle(
            &app,
            with_cookie(
                request(
                    Method::GET,
                    &format!("/admin/audit?who={}", target.as_str()),
                ),
                &boss.cookie,
            ),
        )
        .await,
    );
    assert!(first.contains("attempt 50") && !first.contains("attempt 00"));
    let start = first.find("/admin/audit?").unwrap();
    let next = first[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&");
    let second = handle(&app, with_cookie(request(Method::GET, &next), &boss.cookie)).await;
    let second = body_text(&second);
    let forged = handle(
        &app,
        with_cookie(
            request(Method::GET, "/admin/audit?before=%3Cscript%3E"),
            &boss.cookie,
        ),
    )
    .await;
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    assert!(
        second.contains("attempt 00") && !second.contains("attempt 01"),
        "{next}"
    );
}

/// Posts to the groups page.
async fn post_groups(app: &App, who: &Admin, fields: &[(&str, &str)]) -> Response<Body> {
    let mut all = vec![("csrf_token", who.token.as_str())];
    all.extend_from_slice(fields);
    handle(
        app,
        with_cookie(form_post("/admin/groups", &all), &who.cookie),
    )
    .await
}

async fn groups_page(app: &App, who: &Admin, response: &Response<Body>) -> String {
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body_text(response)
    );
    assert_eq!(response.headers()[LOCATION], "/admin/groups");
    let cookie = session_cookie(response).unwrap_or_else(|| who.cookie.clone());
    body_text(
        &handle(
            app,
            with_cookie(request(Method::GET, "/admin/groups"), &cookie),
        )
        .await,
    )
}

#[tokio::test]
async fn admins_make_groups_choose_their_models_and_members() {
    use shared::store::GroupStore;
    // The groups are one setting for the whole store: this test has a store of its own.
    let path = std::env::temp_dir().join(format!(
        "switchboard-admin-groups-{}.sqlite3",
        unique_name("db").as_str()
    ));
    let app = testing::app_with(&[("SWITCHBOARD_SQLITE_PATH", path.to_str().unwrap())]);
    let boss = admin(&app).await;
    let ann = testing::create_account(&app, "grouped", Role::User, PASSWORD).await;

    let created = post_groups(
        &app,
        &boss,
        &[
            ("action", "create"),
            ("name", "Research"),
            ("access", "chosen"),
            ("model", "offline"),
        ],
    )
    .await;
    let html = groups_page(&app, &boss, &created).await;
    assert!(html.contains("Created the group Research."), "{html}");
    assert!(html.contains("May use offline."));
    let store = app.store().await.unwrap();
    let groups = store.groups().await.unwrap();
    let research = groups.named("research").unwrap().clone();
    assert_eq!(research.models, Some(vec!["offline".to_string()]));

    // Bad input: the form again with the message beside the field, and nothing changed.
    for (fields, message) in [
        (
            vec![("name", "RESEARCH"), ("access", "every")],
            "A group of that name exists",
        ),
        (
            vec![("name", "a/b"), ("access", "every")],
            "may use only letters",
        ),
        (
            vec![("name", ""), ("access", "every")],
            "Enter a group name.",
        ),
        (
            vec![
                ("name", "Other"),
                ("access", "chosen"),
                ("model", "no-such-model"),
            ],
            "Choose models from the list.",
        ),
    ] {
        let mut all = vec![("action", "create")];
        all.extend(fields);
        let refused = post_groups(&app, &boss, &all).await;
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{message}");
        assert!(body_text(&refused).contains(message), "{message}");
        assert_eq!(store.groups().await.unwrap(), groups, "{message}");
    }

    // Members by username; an unknown one is refused beside the field.
    let id = research.id.as_str();
    let added = post_groups(
        &app,
        &boss,
        &[
            ("action", "add-member"),
            ("group", id),
            ("member", ann.username.as_str()),
        ],
    )
    .await;
    let html = groups_page(&app, &boss, &added).await;
    assert!(html.contains(&format!("{} is now in Research.", ann.username.as_str())));
    assert_eq!(
        stored(&app, &ann.username).await.unwrap().member_of,
        vec![research.id.clone()]
    );
    let nobody = post_groups(
        &app,
        &boss,
        &[
            ("action", "add-member"),
            ("group", id),
            ("member", "no-such-user"),
        ],
    )
    .await;
    assert_eq!(nobody.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&nobody).contains("There is no account with that username."));
    // Another group's id, or one that is not one: 404.
    let stranger = post_groups(
        &app,
        &boss,
        &[("action", "delete"), ("group", "not-a-group")],
    )
    .await;
    assert_eq!(stranger.status(), StatusCode::NOT_FOUND);

    // Caps: the whole group's and each member's; not a number is refused beside its field.
    let capped = post_groups(
        &app,
        &boss,
        &[
            ("action", "caps"),
            ("group", id),
            ("monthly_cap", "5"),
            ("member_cap", "1.50"),
        ],
    )
    .await;
    let html = groups_page(&app, &boss, &capped).await;
    assert!(
        html.contains("Spent this month: $0.00 of $5.00; each member at most $1.50."),
        "{html}"
    );
    let saved = store.groups().await.unwrap();
    let bad = post_groups(
        &app,
        &boss,
        &[
            ("action", "caps"),
            ("group", id),
            ("monthly_cap", "lots"),
            ("member_cap", ""),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&bad).contains("Enter an amount in dollars"));
    assert_eq!(store.groups().await.unwrap(), saved, "nothing changed");

    // Models changed to every model, the member removed, the group deleted.
    // Unticked, the API box turns the API off for its members.
    let changed = post_groups(
        &app,
        &boss,
        &[("action", "models"), ("group", id), ("access", "every")],
    )
    .await;
    assert!(
        groups_page(&app, &boss, &changed)
            .await
            .contains("Research may now use every model, not through the API.")
    );
    let api_off = |groups: shared::groups::Groups| {
        groups
            .list
            .iter()
            .find(|g| g.id.as_str() == id)
            .unwrap()
            .api_off
    };
    assert!(api_off(store.groups().await.unwrap()));
    let changed = post_groups(
        &app,
        &boss,
        &[
            ("action", "models"),
            ("group", id),
            ("access", "every"),
            ("api", "on"),
        ],
    )
    .await;
    assert!(
        groups_page(&app, &boss, &changed)
            .await
            .contains("Research may now use every model.")
    );
    assert!(!api_off(store.groups().await.unwrap()));
    let removed = post_groups(
        &app,
        &boss,
        &[
            ("action", "remove-member"),
            ("group", id),
            ("member", ann.username.as_str()),
        ],
    )
    .await;
    groups_page(&app, &boss, &removed).await;
    assert!(
        stored(&app, &ann.username)
            .await
            .unwrap()
            .member_of
            .is_empty()
    );
    let deleted = post_groups(&app, &boss, &[("action", "delete"), ("group", id)]).await;
    assert!(
        groups_page(&app, &boss, &deleted)
            .await
            .contains("Deleted the group Research.")
    );
    assert!(store.groups().await.unwrap().list.is_empty());

    // Every change is in the audit log.
    let log = body_text(
        &handle(
            &app,
            with_cookie(
                request(Method::GET, "/admin/audit?who=".to_string().as_str()),
                &boss.cookie,
            ),
        )
        .await,
    );
    for what in [
        "Created group",
        "Added to group",
        "Changed a group",
        "Removed from group",
        "Deleted group",
    ] {
        assert!(log.contains(what), "{what}");
    }

    // Not for users.
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    let refused = handle(
        &app,
        with_cookie(request(Method::GET, "/admin/groups"), &cookie),
    )
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_spending_page_charts_groups_accounts_and_models_and_downloads_them() {
    use shared::groups::{Group, GroupId, GroupName};
    use shared::store::{GroupStore, UsageStore};
    use shared::usage::Charge;
    let path = std::env::temp_dir().join(format!(
        "switchboard-admin-spending-{}.sqlite3",
        unique_name("db").as_str()
    ));
    let app = testing::app_with(&[("SWITCHBOARD_SQLITE_PATH", path.to_str().unwrap())]);
    let boss = admin(&app).await;
    let ann = testing::create_account(&app, "spender", Role::User, PASSWORD).await;
    let store = app.store().await.unwrap();
    let team = Group {
        id: GroupId::generate(),
        name: GroupName::parse("Data Science").unwrap(),
        models: None,
        created_at: 0,
        monthly_cap: Some(Cost::parse_dollars("10").unwrap()),
        member_cap: None,
        retention_days: None,
        api_off: false,
    };
    store
        .save_groups(std::slice::from_ref(&team), 0)
        .await
        .unwrap();
    let now = shared::session::now();
    let month = Month::of(now);
    let charge = Charge {
        month,
        conversation: "c".into(),
        title: "C".into(),
        model: "offline".into(),
        input_tokens: 10,
        output_tokens: 10,
        cost: Cost::parse_dollars("2.50").unwrap(),
        estimated: false,
        cache: Default::default(),
        groups: vec![team.id.clone()],
        day: 1,
    };
    store.record_usage(&ann.username, &charge).await.unwrap();

    let get = |query: &str| {
        handle(
            &app,
            with_cookie(
                request(Method::GET, &format!("/admin/usage{query}")),
                &boss.cookie,
            ),
        )
    };
    let page = get("").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = body_text(&page);
    for expected in [
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"groups-title\"",
        "<title>Data Science: $2.50</title>",
        &format!(
            "<th scope=\"row\">{}</th><td>$2.50</td><td>1</td>",
            ann.username.as_str()
        ),
        "<th scope=\"row\">Offline demo (no AI)</th><td>$2.50</td>",
        "<td>$10.00</td>",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }

    let csv = get(&format!("?month={}&format=csv", month.key())).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = body_text(&csv);
    assert!(
        text.starts_with("month,kind,name,cost_usd,replies,monthly_cap_usd\r\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{},group,Data Science,2.500000000,,10.000000000\r\n",
            month.key()
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "{},account,{},2.500000000,1,\r\n",
        month.key(),
        ann.username.as_str()
    )));

    // Last month spent nothing; a month not offered is refused beside the field.
    let last = body_text(&get(&format!("?month={}", month.previous().key())).await);
    assert!(last.contains("Nothing spent."));
    let bad = get("?month=1999-13").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(&bad).contains("Choose a month from the list"));
}
