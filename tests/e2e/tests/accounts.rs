//! Accounts through the real binaries: sign-up, the admin page, settings.

use e2e::{NEW_PASSWORD, PASSWORD, USER, Visitor, expect_page, location};
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
