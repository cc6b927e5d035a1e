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
    "error.html",
    "forms.html",
    "signup.html",
    "settings.html",
    "admin.html",
);

pub struct Pages {
    env: Environment<'static>,
}

impl Pages {
    pub fn new() -> Self {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|err| panic!("template {name} does not compile: {err}"));
        }
        Self { env }
    }

    pub fn render(&self, name: &str, context: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(context)
    }
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
    fn every_page_renders_and_escapes_what_it_is_given() {
        let pages = Pages::new();
        let hostile = "<script>alert(1)</script>";
        for name in [
            "home.html",
            "login.html",
            "error.html",
            "signup.html",
            "settings.html",
        ] {
            let html = pages
                .render(
                    name,
                    context! {
                        user => hostile, csrf_token => "tok", flash => hostile, username => hostile,
                        error => hostile, title => hostile, message => hostile, request_id => hostile,
                        status => 500, email => hostile, invite => hostile,
                        errors => context! { username => hostile, email => hostile },
                    },
                )
                .unwrap();
            assert!(html.starts_with("<!doctype html>"), "{name}");
            assert!(!html.contains(hostile), "{name} must escape its input");
            assert!(html.contains("&lt;script&gt;"), "{name}");
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
