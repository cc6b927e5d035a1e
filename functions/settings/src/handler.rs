//! `GET /settings` shows the account's settings; `POST /settings` changes the password, signs
//! out every session, or deletes the account with everything it owns.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::accounts::AccountChange;
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::store::AccountStore;
use shared::{App, AppError, Reply, Visit, form, password, serve};

#[derive(Deserialize)]
struct SettingsForm {
    #[serde(default)]
    csrf_token: String,
    action: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    confirm_username: String,
}

pub async fn handle(app: &App, req: Request) -> Response<Body> {
    serve(app, req, route).await
}

async fn route(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    match *req.method() {
        Method::GET => {
            visit.require_user()?;
            Ok(Reply::page("settings.html", context! {}))
        }
        Method::POST => submit(visit, req).await,
        _ => Err(AppError::MethodNotAllowed { allow: "GET, POST" }),
    }
}

fn again(errors: FieldErrors, confirm_username: &str) -> Result<Reply, AppError> {
    Ok(Reply::page_with_status(
        StatusCode::BAD_REQUEST,
        "settings.html",
        context! { errors, confirm_username },
    ))
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

async fn submit(visit: &mut Visit<'_>, req: &Request) -> Result<Reply, AppError> {
    let form: SettingsForm = form::parse(req)?;
    visit.check_csrf(&form.csrf_token)?;
    let account = visit.require_user()?.clone();
    let store = visit.app().store().await?;
    let mut errors = FieldErrors::default();
    match form.action.as_str() {
        "password" => {
            if !password::verify(&secret(&form.current_password), Some(&account.password)) {
                errors.add("current_password", "That is not your current password.");
            }
            errors.check(
                "new_password",
                password::check_new(&form.new_password, account.username.as_str()),
            );
            if form.new_password != form.confirm {
                errors.add("confirm", "The two passwords do not match.");
            }
            if !errors.is_empty() {
                return again(errors, "");
            }
            let digest = password::hash(&secret(&form.new_password));
            let updated = store
                .change_account(&account.username, &AccountChange::Password(digest))
                .await
                .map_err(AppError::internal)?;
            tracing::info!(user = account.username.as_str(), "password changed");
            // The change moved the account to a new epoch: this session follows it, others end.
            visit.sign_in(updated);
            visit.flash(Flash::new(
                "Your password has been changed. Your other sessions have been signed out.",
            ));
            Ok(Reply::Redirect("/settings"))
        }
        "sign-out-everywhere" => {
            store
                .change_account(&account.username, &AccountChange::SignOutEverywhere)
                .await
                .map_err(AppError::internal)?;
            tracing::info!(user = account.username.as_str(), "signed out everywhere");
            visit.sign_out();
            visit.flash(Flash::new("You have been signed out everywhere."));
            Ok(Reply::Redirect("/login"))
        }
        "delete" => {
            if form.confirm_username.trim().to_lowercase() != account.username.as_str() {
                errors.add("confirm_username", "Type your username exactly to confirm.");
            }
            if !password::verify(&secret(&form.current_password), Some(&account.password)) {
                errors.add("delete_password", "That is not your password.");
            }
            if !errors.is_empty() {
                return again(errors, form.confirm_username.trim());
            }
            store
                .delete_account(&account.username)
                .await
                .map_err(AppError::internal)?;
            tracing::info!(user = account.username.as_str(), "account deleted");
            visit.sign_out();
            visit.flash(Flash::new(
                "Your account and all its data have been deleted.",
            ));
            Ok(Reply::Redirect("/login"))
        }
        _ => Err(AppError::BadRequest(
            "The form asked for an unknown action.",
        )),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header::LOCATION;
    use shared::accounts::{Account, Role};
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
}
