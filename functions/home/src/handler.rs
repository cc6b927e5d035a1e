//! `GET /`: greets the signed-in user; sends everyone else to the sign-in page.

use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use minijinja::context;
use shared::{App, AppError, Reply, Visit};

pub fn handle(app: &App, req: Request) -> Response<Body> {
    let visit = Visit::start(app, &req);
    let outcome = route(&visit, &req);
    visit.finish(outcome)
}

fn route(visit: &Visit, req: &Request) -> Result<Reply, AppError> {
    if req.method() != Method::GET {
        return Err(AppError::MethodNotAllowed { allow: "GET" });
    }
    match visit.user() {
        Some(_) => Ok(Reply::page("home.html", context! {})),
        None => Ok(Reply::Redirect("/login")),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::header::{ALLOW, LOCATION};
    use lambda_http::http::{Method, StatusCode};
    use shared::testing::{self, body_text, request, session_cookie, with_cookie};

    use super::*;

    fn signed_in_cookie(app: &App) -> String {
        let login = testing::request(Method::GET, "/login");
        let mut visit = Visit::start(app, &login);
        visit.sign_in(app.config.users.find("alice").unwrap());
        session_cookie(&visit.finish(Ok(Reply::Redirect("/")))).unwrap()
    }

    #[test]
    fn greets_the_signed_in_user() {
        let app = testing::app();
        let cookie = signed_in_cookie(&app);
        let response = handle(&app, with_cookie(request(Method::GET, "/"), &cookie));
        assert_eq!(response.status(), StatusCode::OK);
        let html = body_text(&response);
        assert!(html.contains("Hello, alice!"), "{html}");
        assert!(html.contains("action=\"/logout\""));
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(
            response.headers()["content-type"],
            "text/html; charset=utf-8"
        );
    }

    #[test]
    fn sends_signed_out_visitors_to_the_sign_in_page() {
        let app = testing::app();
        for cookie in [
            None,
            Some("sb_session=garbage"),
            Some("sb_session=%ff%00; x"),
        ] {
            let req = request(Method::GET, "/");
            let req = match cookie {
                Some(c) => with_cookie(req, c),
                None => req,
            };
            let response = handle(&app, req);
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{cookie:?}");
            assert_eq!(response.headers()[LOCATION], "/login");
        }
    }

    #[test]
    fn refuses_other_methods() {
        let app = testing::app();
        let response = handle(&app, request(Method::POST, "/"));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[ALLOW], "GET");
        let html = body_text(&response);
        assert!(html.contains("Method not allowed"));
        assert!(html.contains(testing::REQUEST_ID));
    }
}
