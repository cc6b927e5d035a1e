//! Accounts through the real binaries: sign-up, the admin page, settings.

use e2e::{NEW_PASSWORD, PASSWORD, USER, Visitor, expect_page, location, session_cookie};
use reqwest::StatusCode;
use shared::store::contract::unique_name;

#[tokio::test]
async fn sign_up_then_sign_in_again() {
    let name = unique_name("e2e");
    let visitor = Visitor::new();
    let created = visitor.sign_up(name.as_str()).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let home = expect_page(
        visitor.get("/").await,
        StatusCode::OK,
        "Welcome to Switchboard",
    )
    .await;
    assert!(home.contains(&format!("Hello, {}!", name.as_str())));

    let again = Visitor::new();
    let taken = again.sign_up(name.as_str()).await;
    expect_page(taken, StatusCode::BAD_REQUEST, "That username is taken.").await;
    let signed_in = again.sign_in(name.as_str(), NEW_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_admin_disables_a_user_who_is_then_signed_out() {
    let name = unique_name("victim");
    let user = Visitor::new();
    user.sign_up(name.as_str()).await;
    expect_page(user.get("/").await, StatusCode::OK, "Hello").await;

    let admin = Visitor::new();
    admin.sign_in(USER, PASSWORD).await;
    let token = admin.csrf_token("/admin").await;
    let disabled = admin
        .post_form(
            "/admin",
            &[
                ("csrf_token", &token),
                ("action", "disable"),
                ("username", name.as_str()),
            ],
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    expect_page(
        admin.get("/admin").await,
        StatusCode::OK,
        "has been disabled",
    )
    .await;

    let next = user.get("/").await;
    assert_eq!(next.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&next), Some("/login"));
    let refused = Visitor::new().sign_in(name.as_str(), NEW_PASSWORD).await;
    expect_page(refused, StatusCode::FORBIDDEN, "disabled").await;

    // Users do not get the admin page.
    let other = Visitor::new();
    other.sign_up(unique_name("plain").as_str()).await;
    assert_eq!(other.get("/admin").await.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_out_everywhere_ends_other_sessions_and_a_password_change_sticks() {
    let name = unique_name("roamer");
    let laptop = Visitor::new();
    laptop.sign_up(name.as_str()).await;
    let phone = Visitor::new();
    assert_eq!(
        phone.sign_in(name.as_str(), NEW_PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let changed = "copper lantern drifting fox";
    let token = laptop.csrf_token("/settings").await;
    let fields = [
        ("csrf_token", token.as_str()),
        ("action", "password"),
        ("current_password", NEW_PASSWORD),
        ("new_password", changed),
        ("confirm", changed),
    ];
    assert_eq!(
        laptop.post_form("/settings", &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    expect_page(
        laptop.get("/settings").await,
        StatusCode::OK,
        "Your password has been changed",
    )
    .await;
    assert_eq!(
        phone.get("/").await.status(),
        StatusCode::SEE_OTHER,
        "the phone was signed out"
    );
    assert_eq!(
        phone.sign_in(name.as_str(), changed).await.status(),
        StatusCode::SEE_OTHER
    );

    let token = laptop.csrf_token("/settings").await;
    let everywhere = laptop
        .post_form(
            "/settings",
            &[("csrf_token", &token), ("action", "sign-out-everywhere")],
        )
        .await;
    assert_eq!(location(&everywhere), Some("/login"));
    assert_eq!(laptop.get("/").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(phone.get("/").await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_kept_cookie_opens_nothing_once_its_account_is_deleted_and_the_name_taken_again() {
    let name = unique_name("jane");
    let jane = Visitor::new();
    let created = jane.sign_up(name.as_str()).await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let kept = session_cookie(&created);
    let token = jane.csrf_token("/settings").await;
    let deleted = jane
        .post_form(
            "/settings",
            &[
                ("csrf_token", &token),
                ("action", "delete"),
                ("confirm_username", name.as_str()),
                ("current_password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(location(&deleted), Some("/login"));

    // Someone else takes the name.
    let other = Visitor::new();
    assert_eq!(
        other.sign_up(name.as_str()).await.status(),
        StatusCode::SEE_OTHER
    );
    let replayed = Visitor::new().get_with_cookie("/", &kept).await;
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER, "not signed in");
    assert_eq!(location(&replayed), Some("/login"));
    expect_page(other.get("/").await, StatusCode::OK, "Hello").await;
}

#[tokio::test]
async fn signing_out_ends_that_session_on_the_server_and_no_other() {
    let (_, name) = Visitor::newcomer("leaver").await;
    let (laptop, phone) = (Visitor::new(), Visitor::new());
    let signed_in = phone.sign_in(&name, NEW_PASSWORD).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let signed_in = laptop.sign_in(&name, NEW_PASSWORD).await;
    let copy = session_cookie(&signed_in);
    let token = laptop.csrf_token("/").await;
    let out = laptop.post_form("/logout", &[("csrf_token", &token)]).await;
    assert_eq!(location(&out), Some("/login"));

    let replayed = Visitor::new().get_with_cookie("/", &copy).await;
    assert_eq!(
        location(&replayed),
        Some("/login"),
        "the copy is signed out"
    );
    expect_page(phone.get("/").await, StatusCode::OK, "Hello").await;
}

#[tokio::test]
async fn parallel_guesses_get_no_more_than_the_limit() {
    let (_, name) = Visitor::newcomer("guessed").await;
    let guesses = (0..16).map(|_| {
        let name = name.clone();
        async move {
            Visitor::new()
                .sign_in(&name, "not the password at all")
                .await
                .status()
        }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // SWITCHBOARD_LOGIN_FAILURES_PER_ACCOUNT is 5 (the default).
    assert_eq!((checked, refused), (5, 11), "{statuses:?}");
    let right = Visitor::new().sign_in(&name, NEW_PASSWORD).await;
    expect_page(
        right,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed sign-in attempts",
    )
    .await;
}

#[tokio::test]
async fn a_bootstrap_admins_name_cannot_be_taken_by_signing_up() {
    // `tester` is the portal's bootstrap admin (tests/services/portal.sh).
    let taken = Visitor::new().sign_up(USER).await;
    expect_page(taken, StatusCode::BAD_REQUEST, "That username is taken.").await;
}

#[tokio::test]
async fn admins_manage_groups_and_read_the_audit_log_and_spending_over_http() {
    let admin = Visitor::new();
    admin.sign_in(USER, PASSWORD).await;
    // A group, named for this run.
    let name = unique_name("crew");
    let token = admin.csrf_token("/admin/groups").await;
    let created = admin
        .post_form(
            "/admin/groups",
            &[
                ("csrf_token", &token),
                ("action", "create"),
                ("name", name.as_str()),
                ("access", "chosen"),
                ("model", "offline"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let groups = expect_page(
        admin.get("/admin/groups").await,
        StatusCode::OK,
        name.as_str(),
    )
    .await;
    assert!(groups.contains("May use offline."));
    let taken = admin
        .post_form(
            "/admin/groups",
            &[
                ("csrf_token", &token),
                ("action", "create"),
                ("name", &name.as_str().to_uppercase()),
                ("access", "every"),
            ],
        )
        .await;
    expect_page(
        taken,
        StatusCode::BAD_REQUEST,
        "A group of that name exists",
    )
    .await;

    // The audit log has it, with who did it.
    let log = expect_page(
        admin.get("/admin/audit?action=group-created").await,
        StatusCode::OK,
        name.as_str(),
    )
    .await;
    assert!(log.contains(USER));

    // The spending figures download as CSV.
    let csv = admin.get("/admin/usage?format=csv").await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let text = csv.text().await.unwrap();
    assert!(
        text.starts_with("month,kind,name,cost_usd,replies,monthly_cap_usd"),
        "{text}"
    );
    assert!(
        text.contains(&format!(",group,{},", name.as_str())),
        "{text}"
    );

    // Not for users.
    let (user, _) = Visitor::newcomer("nosy").await;
    assert_eq!(
        user.get("/admin/usage").await.status(),
        StatusCode::FORBIDDEN
    );
}
