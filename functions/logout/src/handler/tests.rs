use lambda_http::http::Method;
use lambda_http::http::StatusCode;
use lambda_http::http::header::{ALLOW, LOCATION};
use shared::accounts::Role;
use shared::testing::{self, body_text, form_post, request, session_cookie, with_cookie};

use super::*;

#[tokio::test]
async fn signs_out_and_says_so_once() {
    let app = testing::app();
    let ann = testing::create_account(&app, "ann", Role::User, "pw").await;
    let (cookie, token) = testing::sign_in(&app, &ann).await;
    let response = handle(
        &app,
        with_cookie(form_post("/logout", &[("csrf_token", &token)]), &cookie),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()[LOCATION], "/login");
    let signed_out = session_cookie(&response).unwrap();

    let visit = Visit::start(
        &app,
        &with_cookie(request(Method::GET, "/login"), &signed_out),
    )
    .await;
    assert!(visit.user().is_none());
    let page = visit.finish(Ok(Reply::page("login.html", minijinja::context! {})));
    assert!(body_text(&page).contains("You have been signed out."));
    let after = session_cookie(&page).unwrap();
    let again = Visit::start(&app, &with_cookie(request(Method::GET, "/login"), &after))
        .await
        .finish(Ok(Reply::page("login.html", minijinja::context! {})));
    assert!(
        !body_text(&again).contains("You have been signed out."),
        "the message shows once"
    );
}

#[tokio::test]
async fn a_copy_of_the_cookie_stops_working_and_other_devices_stay_signed_in() {
    let app = testing::app();
    let ann = testing::create_account(&app, "ann", Role::User, "pw").await;
    let (laptop, token) = testing::sign_in(&app, &ann).await;
    let (phone, _) = testing::sign_in(&app, &ann).await;
    let stolen = laptop.clone();
    let response = handle(
        &app,
        with_cookie(form_post("/logout", &[("csrf_token", &token)]), &laptop),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let replayed = Visit::start(&app, &with_cookie(request(Method::GET, "/"), &stolen)).await;
    assert!(replayed.user().is_none(), "the signed-out session is over");
    let other = Visit::start(&app, &with_cookie(request(Method::GET, "/"), &phone)).await;
    assert_eq!(
        other.user().map(|u| &u.username),
        Some(&ann.username),
        "another device's session goes on"
    );
}

#[tokio::test]
async fn a_bad_token_is_refused_and_the_session_stays() {
    let app = testing::app();
    let ann = testing::create_account(&app, "ann", Role::User, "pw").await;
    let (cookie, _) = testing::sign_in(&app, &ann).await;
    for fields in [vec![], vec![("csrf_token", "forged")]] {
        let response = handle(&app, with_cookie(form_post("/logout", &fields), &cookie)).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(
            session_cookie(&response).is_none(),
            "the session is untouched"
        );
        let still = Visit::start(&app, &with_cookie(request(Method::GET, "/"), &cookie)).await;
        assert!(still.user().is_some());
    }
}

#[tokio::test]
async fn get_is_not_allowed() {
    let app = testing::app();
    let response = handle(&app, request(Method::GET, "/logout")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "POST");
}
