//! The minijinja templates, compiled into the binary so a deployed function ships alone.

use minijinja::{Environment, Value};

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "style.css",
    "home.html",
    "login.html",
    "login-form.html",
    "error.html",
    "forms.html",
    "signup.html",
    "settings.html",
    "admin.html",
    "admin-audit.html",
    "admin-groups.html",
    "admin-usage.html",
    "charts.html",
    "chat.html",
    "usage.html",
    "transfer.html",
    "share.html",
);

/// The one script every page carries (streamed replies, copy buttons, live updates). Pages
/// work without it.
const SCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../templates/portal.js"
));

/// The script's hash, as the Content-Security-Policy names it.
pub fn script_hash() -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(SCRIPT.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    /// Templates are compiled when first rendered, not here: a function renders three or
    /// four of the thirteen, and a cold start should not pay for the others.
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.add_global("script", Value::from_safe_string(SCRIPT.to_string()));
        env.add_filter("datetime", datetime);
        env.set_loader(|name| {
            Ok(TEMPLATES
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, source)| source.to_string()))
        });
        Self { env }
    }

    pub fn render(&self, name: &str, context: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
}

/// Epoch seconds as `2026-11-25 09:07 UTC`.
pub fn datetime(epoch: u64) -> String {
    let (year, month, day) = crate::calendar::civil_date(epoch);
    let secs = epoch % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

impl Default for Pages {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    #[test]
    fn every_template_compiles() {
        let pages = Pages::new();
        for (name, _) in TEMPLATES {
            if let Err(err) = pages.env.get_template(name) {
                panic!("{name}: {err:#}");
            }
        }
        assert!(pages.env.get_template("missing.html").is_err());
    }

    #[test]
    fn dates_read_as_calendar_dates() {
        assert_eq!(datetime(0), "1970-01-01 00:00 UTC");
        assert_eq!(datetime(1_795_599_420), "2026-11-25 09:37 UTC");
        assert_eq!(datetime(951_782_400), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn every_page_renders_and_escapes_what_it_is_given() {
        let pages = Pages::new();
        let hostile = "<script>alert(1)</script>";
        for name in [
            "home.html",
            "login.html",
            "error.html",
            "signup.html",
            "settings.html",
            "admin.html",
            "admin-audit.html",
            "admin-groups.html",
            "admin-usage.html",
            "chat.html",
            "usage.html",
            "transfer.html",
            "share.html",
        ] {
            let html = pages
                .render(
                    name,
                    context! {
                        user => hostile, csrf_token => "tok", flash => hostile, username => hostile,
                        error => hostile, title => hostile, message => hostile, request_id => hostile,
                        status => 500, email => hostile, invite => hostile,
                        errors => context! { username => hostile, email => hostile, message => hostile },
                        // Pagination links, which use the urlencode filter.
                        next => "a b&c", query => hostile, conversations => [context! {
                            id => "AAAAAAAAAAAAAAAA", title => hostile, model_name => hostile, updated_at => 0,
                        }],
                        accounts => Vec::<minijinja::Value>::new(),
                        conversation => context! { id => "AAAAAAAAAAAAAAAA", title => hostile, system => hostile },
                        messages => [context! { seq => 0, speaker => "user", html => "<p>ok</p>", raw => hostile, state => "failed", error => hostile }],
                        earlier => 3, live => true,
                        keys => [context! { id => "AAAAAAAAAAAAAAAA", name => hostile, created_at => 0, models => [hostile] }],
                        new_key => context! { name => hostile, secret => "sk-sb-x" },
                        key_models => [context! { id => hostile, name => hostile }],
                        parameters => context! {
                            model_name => hostile, max_temperature => 2.0, efforts => [hostile],
                            max_output_tokens => 100, least_output_tokens => 1,
                        },
                    },
                )
                .unwrap();
            assert!(html.starts_with("<!doctype html>"), "{name}");
            assert!(!html.contains(hostile), "{name} must escape its input");
            assert!(html.contains("&lt;script&gt;"), "{name}");
            if name == "home.html" || name == "admin.html" {
                assert!(html.contains("after=a%20b%26c"), "{name}: {html}");
            }
        }
    }

    #[test]
    fn every_page_renders_with_only_the_common_context() {
        let pages = Pages::new();
        for name in [
            "home.html",
            "login.html",
            "error.html",
            "signup.html",
            "settings.html",
            "admin.html",
            "admin-audit.html",
            "admin-groups.html",
            "admin-usage.html",
            "usage.html",
            "transfer.html",
            "share.html",
        ] {
            let rendered = pages.render(name, context! { csrf_token => "tok", user => "ann" });
            assert!(rendered.is_ok(), "{name}: {:?}", rendered.err());
        }
    }

    #[test]
    fn signed_out_pages_have_no_sign_out_button() {
        let html = Pages::new()
            .render("login.html", context! { csrf_token => "tok" })
            .unwrap();
        assert!(!html.contains("action=\"/logout\""));
        assert!(html.contains("name=\"csrf_token\" value=\"tok\""));
    }
}
