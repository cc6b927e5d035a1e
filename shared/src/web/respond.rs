//! The response a visit ends in: pages, redirects, downloads, the security headers and
//! the session cookie, and every `AppError` mapped to its error page, in one place.

use super::*;

/// Scripts may only be the page's own inline script, named by its hash; requests only to the
/// portal itself. Forms post only to the portal, whose answers may lead on to the identity
/// provider (`form_target`: signing out ends its session too, and browsers hold a form's
/// redirects to `form-action`).
pub fn content_security_policy(provider: Option<&str>, files: Option<&str>) -> HeaderValue {
    let also = |origin: Option<&str>| origin.map(|o| format!(" {o}")).unwrap_or_default();
    let policy = format!(
        "default-src 'none'; script-src '{}'; style-src 'unsafe-inline'; img-src 'self' data:{}; \
         connect-src 'self'{}; form-action 'self'{}{}; frame-ancestors 'none'; base-uri 'none'",
        crate::pages::script_hash(),
        also(files),
        also(files),
        also(provider),
        also(files),
    );
    HeaderValue::try_from(policy).expect("the policy is ASCII")
}

pub(super) const SECURITY_HEADERS: &[(&str, &str)] = &[
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

impl<'a> Visit<'a> {
    /// Turns the handler's outcome into the response, with the session cookie when it changed.
    pub fn finish(mut self, outcome: Result<Reply, AppError>) -> Response<Body> {
        let mut response = match outcome {
            Ok(Reply::Redirect(path)) => self.redirect(path),
            Ok(Reply::RedirectTo(path)) => self.redirect(&path),
            Ok(Reply::Elsewhere(url)) => self.redirect_to_url(url),
            Ok(Reply::Events(_)) => self.error_page(&AppError::internal(
                "events from a function that does not stream",
            )),
            Ok(Reply::Page {
                status,
                template,
                context,
            }) => self.render(status, template, context),
            Ok(Reply::Download {
                content_type,
                filename,
                body,
            }) => download(content_type, &filename, body),
            Ok(Reply::File {
                content_type,
                disposition,
                body,
            }) => file(content_type, &disposition, body),
            Err(AppError::SignInRequired) => self.redirect("/login"),
            Err(err) => self.error_page(&err),
        };
        self.decorate(&mut response);
        response
    }

    /// The headers every response carries, and the session cookie when it changed.
    pub(super) fn decorate<B>(&mut self, response: &mut Response<B>) {
        let headers = response.headers_mut();
        headers.insert(
            "content-security-policy",
            self.app.content_security_policy.clone(),
        );
        for (name, value) in SECURITY_HEADERS {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let (true, Some(keys)) = (self.changed, &self.keys) {
            let cookie = keys.seal(&self.session, self.secure, self.now);
            match HeaderValue::try_from(cookie) {
                Ok(value) => {
                    headers.append(SET_COOKIE, value);
                }
                Err(err) => tracing::error!(%err, "session cookie is not a valid header"),
            }
        }
    }

    fn render(&mut self, status: StatusCode, template: &str, page: Value) -> Response<Body> {
        let flash = self.session.flash.take();
        if flash.is_some() {
            self.changed = true;
        }
        // Later maps win (minijinja's merge looks keys up from the last map back): the
        // page's own values over the common ones.
        let context = merge_maps([
            self.common_context(),
            context! { flash => flash.as_ref().map(Flash::text) },
            page,
        ]);
        match self.app.pages.render(template, context) {
            Ok(html) => html_response(status, html),
            Err(err) => self.error_page(&AppError::internal(err)),
        }
    }

    fn redirect(&self, path: &str) -> Response<Body> {
        self.redirect_to_url(format!("{}{path}", self.base_path))
    }

    fn redirect_to_url(&self, location: String) -> Response<Body> {
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::SEE_OTHER;
        match HeaderValue::try_from(location) {
            Ok(location) => {
                response.headers_mut().insert(LOCATION, location);
                response
            }
            Err(err) => self.error_page(&AppError::internal(err)),
        }
    }

    fn common_context(&self) -> Value {
        context! {
            base => &self.base_path,
            // The portal's absolute address, for links meant to be copied elsewhere.
            site => self.absolute_url(""),
            user => self.user().map(|u| u.username.as_str()),
            is_admin => self.user().is_some_and(Account::is_admin),
            csrf_token => self.session.csrf.as_str(),
            request_id => &self.request_id,
        }
    }

    fn error_page(&self, err: &AppError) -> Response<Body> {
        let status = err.status();
        match err {
            AppError::Internal(cause) => {
                tracing::error!(request_id = %self.request_id, cause = %cause, "request failed");
            }
            other => tracing::info!(request_id = %self.request_id, %other, "request refused"),
        }
        let context = context! {
            status => status.as_u16(),
            title => err.title(),
            message => err.message(),
            ..self.common_context(),
        };
        let mut response = match self.app.pages.render("error.html", context) {
            Ok(html) => html_response(status, html),
            Err(render_err) => {
                tracing::error!(%render_err, "the error page does not render");
                let text = format!("{} (request id {})", err.title(), self.request_id);
                let mut response = Response::new(Body::from(text));
                *response.status_mut() = status;
                response
            }
        };
        if let AppError::MethodNotAllowed { allow } = err {
            response
                .headers_mut()
                .insert("allow", HeaderValue::from_static(allow));
        }
        response
    }
}

pub(super) fn download(content_type: &'static str, filename: &str, body: String) -> Response<Body> {
    let mut response = Response::new(Body::from(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The name is ours (letters, digits, dashes, dots); anything else is dropped.
    let safe: String = filename
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    if let Ok(value) = HeaderValue::try_from(format!("attachment; filename=\"{safe}\"")) {
        headers.insert("content-disposition", value);
    }
    response
}

fn file(content_type: &'static str, disposition: &str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Body::Binary(body.to_vec()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(value) = HeaderValue::try_from(disposition) {
        headers.insert("content-disposition", value);
    }
    // Only its owner may see it: like every response, `no-store` (`decorate`).
    response
}

pub(super) fn html_response(status: StatusCode, html: String) -> Response<Body> {
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}
