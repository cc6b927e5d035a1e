//! `POST /logout`: ends the session and says so on the sign-in page.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::session::Flash;
use shared::{App, AppError, Reply, Visit, form};

#[derive(Deserialize)]
struct LogoutForm {
    #[serde(default)]
    csrf_token: String,
}

pub fn handle(app: &App, req: Request) -> Response<Body> {
    let mut visit = Visit::start(app, &req);
    let outcome = route(&mut visit, &req);
    visit.finish(outcome)
}

fn route(visit: &mut Visit, req: &Request) -> Result<Reply, AppError> {
    if req.method() != Method::POST {
        return Err(AppError::MethodNotAllowed { allow: "POST" });
    }
    let form: LogoutForm = form::parse(req)?;
    visit.check_csrf(&form.csrf_token)?;
    if let Some(user) = visit.user() {
        tracing::info!(user = user.id.as_str(), "signed out");
    }
    visit.sign_out();
    visit.flash(Flash::SignedOut);
    Ok(Reply::Redirect("/login"))
}

#[cfg(test)]
mod tests {
    use lambda_http::http::StatusCode;
    use lambda_http::http::header::{ALLOW, LOCATION};
    use shared::testing::{
        self, body_text, csrf_token, form_post, request, session_cookie, with_cookie,
    };

    use super::*;

    /// A signed-in session cookie and its CSRF token, read off the home page's sign-out form.
    fn signed_in(app: &App) -> (String, String) {
        let mut visit = Visit::start(app, &request(Method::GET, "/login"));
        visit.sign_in(app.config.users.find("alice").unwrap());
        let response = visit.finish(Ok(Reply::page("home.html", minijinja::context! {})));
        (
            session_cookie(&response).unwrap(),
            csrf_token(&body_text(&response)),
        )
    }

    #[test]
    fn signs_out_and_says_so_once() {
        let app = testing::app();
        let (cookie, token) = signed_in(&app);
        let response = handle(
            &app,
            with_cookie(form_post("/logout", &[("csrf_token", &token)]), &cookie),
        );
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_eq!(response.headers()[LOCATION], "/login");
        let signed_out = session_cookie(&response).unwrap();

        let mut visit = Visit::start(
            &app,
            &with_cookie(request(Method::GET, "/login"), &signed_out),
        );
        assert!(visit.user().is_none());
        visit.flash(Flash::SignedOut);
        let page = visit.finish(Ok(Reply::page("login.html", minijinja::context! {})));
        assert!(body_text(&page).contains("You have been signed out."));
        let after = session_cookie(&page).unwrap();
        let again = Visit::start(&app, &with_cookie(request(Method::GET, "/login"), &after))
            .finish(Ok(Reply::page("login.html", minijinja::context! {})));
        assert!(
            !body_text(&again).contains("signed out"),
            "the message shows once"
        );
    }

    #[test]
    fn a_bad_token_is_refused_and_the_session_stays() {
        let app = testing::app();
        let (cookie, _) = signed_in(&app);
        for fields in [vec![], vec![("csrf_token", "forged")]] {
            let response = handle(&app, with_cookie(form_post("/logout", &fields), &cookie));
            assert_eq!(response.status(), StatusCode::FORBIDDEN);
            assert!(
                session_cookie(&response).is_none(),
                "the session is untouched"
            );
            let still = Visit::start(&app, &with_cookie(request(Method::GET, "/"), &cookie));
            assert!(still.user().is_some());
        }
    }

    #[test]
    fn get_is_not_allowed() {
        let app = testing::app();
        let response = handle(&app, request(Method::GET, "/logout"));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "POST");
    }
}
