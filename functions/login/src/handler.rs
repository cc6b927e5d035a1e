//! `GET /login` shows the sign-in form; `POST /login` checks the credentials and starts a
//! session.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use minijinja::context;
use secrecy::SecretString;
use serde::Deserialize;
use shared::{App, AppError, Reply, Visit, form};

const MAX_PASSWORD_CHARS: usize = 1024;

#[derive(Deserialize)]
struct LoginForm {
    // Absent means "no token": a CSRF refusal, not a malformed form.
    #[serde(default)]
    csrf_token: String,
    username: String,
    password: String,
}

pub fn handle(app: &App, req: Request) -> Response<Body> {
    let mut visit = Visit::start(app, &req);
    let outcome = route(&mut visit, &req);
    visit.finish(outcome)
}

fn route(visit: &mut Visit, req: &Request) -> Result<Reply, AppError> {
    match *req.method() {
        Method::GET if visit.user().is_some() => Ok(Reply::Redirect("/")),
        Method::GET => Ok(Reply::page("login.html", context! {})),
        Method::POST => submit(visit, req),
        _ => Err(AppError::MethodNotAllowed { allow: "GET, POST" }),
    }
}

fn submit(visit: &mut Visit, req: &Request) -> Result<Reply, AppError> {
    let form: LoginForm = form::parse(req)?;
    visit.check_csrf(&form.csrf_token)?;
    let username = form.username.trim();
    let refuse = |status, error: &str| {
        Ok(Reply::page_with_status(
            status,
            "login.html",
            context! { username, error },
        ))
    };
    if username.is_empty() || form.password.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "Enter your username and password.");
    }
    if form.password.chars().count() > MAX_PASSWORD_CHARS {
        return refuse(
            StatusCode::BAD_REQUEST,
            "Passwords have at most 1024 characters.",
        );
    }
    let password = SecretString::from(form.password);
    match visit.app().config.users.authenticate(username, &password) {
        Some(user) => {
            tracing::info!(user = user.id.as_str(), "signed in");
            visit.sign_in(user);
            Ok(Reply::Redirect("/"))
        }
        None => {
            tracing::info!("sign-in refused: wrong username or password");
            // The same words whether or not the user exists.
            refuse(StatusCode::UNAUTHORIZED, "Incorrect username or password.")
        }
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use lambda_http::http::header::{ALLOW, LOCATION, SET_COOKIE};
    use shared::testing::{
        self, ALICE_PASSWORD, body_text, csrf_token, form_post, request, session_cookie,
        with_cookie,
    };

    use super::*;

    /// A signed-out visitor's cookie and the token from the form they were shown.
    fn visit_form(app: &App) -> (String, String) {
        let response = handle(app, request(Method::GET, "/login"));
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = session_cookie(&response).expect("a session for the form's token");
        (cookie, csrf_token(&body_text(&response)))
    }

    fn post(app: &App, cookie: &str, fields: &[(&str, &str)]) -> Response<Body> {
        handle(app, with_cookie(form_post("/login", fields), cookie))
    }

    #[test]
    fn shows_the_form_with_labelled_fields() {
        let app = testing::app();
        let response = handle(&app, request(Method::GET, "/login"));
        let html = body_text(&response);
        assert!(html.contains("<label for=\"username\">"));
        assert!(html.contains("<label for=\"password\">"));
        assert!(!html.contains("action=\"/logout\""));
        let set_cookie = response.headers()[SET_COOKIE].to_str().unwrap();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("Secure"));
    }

    #[test]
    fn right_credentials_start_a_new_session() {
        let app = testing::app();
        let (cookie, token) = visit_form(&app);
        let response = post(
            &app,
            &cookie,
            &[
                ("csrf_token", &token),
                ("username", "Alice"),
                ("password", ALICE_PASSWORD),
            ],
        );
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/");
        let signed_in = session_cookie(&response).expect("a renewed session");
        assert_ne!(signed_in, cookie);

        let again = handle(
            &app,
            with_cookie(request(Method::GET, "/login"), &signed_in),
        );
        assert_eq!(again.status(), StatusCode::SEE_OTHER, "signed in: no form");
        assert!(
            session_cookie(&again).is_none(),
            "an unchanged session is not resent"
        );
    }

    #[test]
    fn wrong_credentials_get_401_and_the_same_message_for_unknown_users() {
        let app = testing::app();
        let (cookie, token) = visit_form(&app);
        let mut bodies = Vec::new();
        for (username, password) in [("alice", "wrong password"), ("nobody", ALICE_PASSWORD)] {
            let response = post(
                &app,
                &cookie,
                &[
                    ("csrf_token", &token),
                    ("username", username),
                    ("password", password),
                ],
            );
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert!(session_cookie(&response).is_none(), "no session change");
            let html = body_text(&response);
            assert!(html.contains("Incorrect username or password."));
            assert!(
                html.contains(&format!("value=\"{username}\"")),
                "keeps the username"
            );
            assert!(!html.contains(password), "never echoes the password");
            bodies.push(html.replace(username, "NAME"));
        }
        assert_eq!(
            bodies[0], bodies[1],
            "unknown and known users look the same"
        );
    }

    #[test]
    fn empty_fields_get_a_message() {
        let app = testing::app();
        let (cookie, token) = visit_form(&app);
        let response = post(
            &app,
            &cookie,
            &[
                ("csrf_token", &token),
                ("username", "alice"),
                ("password", ""),
            ],
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(body_text(&response).contains("Enter your username and password."));
    }

    #[test]
    fn a_missing_or_wrong_csrf_token_is_refused_and_signs_nobody_in() {
        let app = testing::app();
        let (cookie, token) = visit_form(&app);
        let (_, other_token) = visit_form(&app);
        let cases: [(&str, Vec<(&str, &str)>); 3] = [
            (
                &cookie,
                vec![("username", "alice"), ("password", ALICE_PASSWORD)],
            ),
            (
                &cookie,
                vec![
                    ("csrf_token", &other_token),
                    ("username", "alice"),
                    ("password", ALICE_PASSWORD),
                ],
            ),
            (
                "",
                vec![
                    ("csrf_token", &token),
                    ("username", "alice"),
                    ("password", ALICE_PASSWORD),
                ],
            ),
        ];
        for (cookie, fields) in cases {
            let response = post(&app, cookie, &fields);
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(body_text(&response).contains("Form expired"));
            if let Some(new) = session_cookie(&response) {
                let home = handle(&app, with_cookie(request(Method::GET, "/login"), &new));
                assert_eq!(home.status(), StatusCode::OK, "still signed out");
            }
        }
    }

    #[test]
    fn bad_bodies_get_400_or_413() {
        let app = testing::app();
        let (cookie, token) = visit_form(&app);
        let missing_password = post(
            &app,
            &cookie,
            &[("csrf_token", &token), ("username", "alice")],
        );
        assert_eq!(missing_password.status(), StatusCode::BAD_REQUEST);

        let huge = "x".repeat(70 * 1024);
        let too_big = post(
            &app,
            &cookie,
            &[
                ("csrf_token", &token),
                ("username", "alice"),
                ("password", &huge),
            ],
        );
        assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(body_text(&too_big).contains("64 KiB"));

        let mut json = with_cookie(form_post("/login", &[]), &cookie);
        json.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        *json.body_mut() = Body::from("{\"username\":\"alice\"}");
        assert_eq!(handle(&app, json).status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn other_methods_get_405() {
        let app = testing::app();
        let response = handle(&app, request(Method::PUT, "/login"));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "GET, POST");
    }

    /// API Gateway HTTP APIs (payload 2.0) send cookies in their own field and may base64 the
    /// body; a sign-in through that shape works too.
    #[test]
    fn signs_in_from_an_http_api_event() {
        let app = testing::app();
        let (cookie, token) = visit_form(&app);
        let body = serde_urlencoded::to_string([
            ("csrf_token", token.as_str()),
            ("username", "alice"),
            ("password", ALICE_PASSWORD),
        ])
        .unwrap();
        let event = include_str!("../../../tests/fixtures/apigw/http-post-login.json")
            .replace("SESSION_COOKIE", &cookie)
            .replace(
                "BASE64_FORM",
                &base64::engine::general_purpose::STANDARD.encode(body),
            );
        let req = lambda_http::request::from_str(&event).unwrap();
        let response = handle(&app, req);
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(session_cookie(&response).is_some());
    }
}
