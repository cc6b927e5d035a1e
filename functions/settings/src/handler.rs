//! `GET /settings` shows the account's settings; `POST /settings` changes the password, signs
//! out every session, or deletes the account with everything it owns.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::accounts::{self, Account, AccountChange};
use shared::form::FieldErrors;
use shared::session::Flash;
use shared::store::AccountStore;
use shared::throttle::Attempt;
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

fn again(
    status: StatusCode,
    errors: FieldErrors,
    confirm_username: &str,
) -> Result<Reply, AppError> {
    Ok(Reply::page_with_status(
        status,
        "settings.html",
        context! { errors, confirm_username },
    ))
}

/// Checks the account's password as a throttled attempt (like a sign-in: a stolen session
/// must not be a way to guess the password), adding `field`'s error when it is refused or
/// wrong. The status for the page: 429 when throttled.
async fn check_password(
    visit: &Visit<'_>,
    account: &Account,
    password: &str,
    field: &'static str,
    wrong: &'static str,
    errors: &mut FieldErrors,
) -> Result<StatusCode, AppError> {
    let app = visit.app();
    let attempt = Attempt {
        account: account.username.as_str(),
        address: visit.address(),
        now: visit.now(),
    };
    let verified = app
        .config
        .throttle
        .verify_password(
            app.store().await?,
            attempt,
            &secret(password),
            Some(&account.password),
        )
        .await?;
    Ok(match verified {
        Ok(true) => StatusCode::BAD_REQUEST,
        Ok(false) => {
            errors.add(field, wrong);
            StatusCode::BAD_REQUEST
        }
        Err(throttled) => {
            errors.add(
                field,
                format!("Too many wrong passwords. {}", throttled.wait_message()),
            );
            StatusCode::TOO_MANY_REQUESTS
        }
    })
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
            let status = check_password(
                visit,
                &account,
                &form.current_password,
                "current_password",
                "That is not your current password.",
                &mut errors,
            )
            .await?;
            errors.check(
                "new_password",
                password::check_new(&form.new_password, account.username.as_str()),
            );
            if form.new_password != form.confirm {
                errors.add("confirm", "The two passwords do not match.");
            }
            if !errors.is_empty() {
                return again(status, errors, "");
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
            // Every session ended with the new epoch, this one among them.
            visit.forget_session();
            visit.flash(Flash::new("You have been signed out everywhere."));
            Ok(Reply::Redirect("/login"))
        }
        "delete" => {
            if form.confirm_username.trim().to_lowercase() != account.username.as_str() {
                errors.add("confirm_username", "Type your username exactly to confirm.");
            }
            let mut status = check_password(
                visit,
                &account,
                &form.current_password,
                "delete_password",
                "That is not your password.",
                &mut errors,
            )
            .await?;
            if errors.is_empty()
                && account.is_admin()
                && !accounts::another_enabled_admin(store, &account.username).await?
            {
                errors.add(
                    "confirm_username",
                    "You are the only administrator. Make another account an administrator \
                     before deleting yours.",
                );
                status = StatusCode::CONFLICT;
            }
            if !errors.is_empty() {
                return again(status, errors, form.confirm_username.trim());
            }
            store
                .delete_account(&account.username)
                .await
                .map_err(AppError::internal)?;
            tracing::info!(user = account.username.as_str(), "account deleted");
            visit.forget_session();
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
                let fields: Vec<(&str, &str)> =
                    fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
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
}
