//! Messages as HTML: Markdown (pulldown-cmark) with highlighted code blocks (syntect, with
//! CSS classes so the page's light and dark themes colour them), then sanitised by ammonia so
//! that nothing a model or a user writes can run script or reach outside the page.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use sha2::{Digest, Sha256};

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use syntect::html::{ClassStyle, ClassedHTMLGenerator};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// Loaded on the first code block, not at start-up: most pages never need it.
static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);

static SANITISER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .add_tag_attributes("span", ["class"])
        .add_tag_attributes("code", ["class"])
        .add_tag_attributes("pre", ["class"])
        // An image would be fetched as soon as the page shows: a model could use one to
        // make the reader's browser call an address of its choosing.
        .rm_tags(["img"])
        .attribute_filter(|element, attribute, value| match attribute {
            "class" => highlight_classes(element, value).map(Into::into),
            _ => Some(value.into()),
        })
        .link_rel(Some("noopener noreferrer nofollow"));
    builder
});

/// Of a `class` attribute, only what the highlighter writes: its `hl-` classes and the code
/// block's `code`. A message may write HTML with classes of its own, and must not be able to
/// dress itself up as the portal's notices, buttons or forms.
fn highlight_classes(element: &str, value: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split_ascii_whitespace()
        .filter(|class| {
            class.strip_prefix(CLASS_PREFIX).is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }) || (element == "pre" && *class == "code")
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(" "))
}

const CLASS_PREFIX: &str = "hl-";
const CLASS_STYLE: ClassStyle = ClassStyle::SpacedPrefixed {
    prefix: CLASS_PREFIX,
};

/// The message's Markdown as safe HTML.
pub fn render(text: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    let mut events = Vec::new();
    let mut code: Option<(String, String)> = None;
    for event in Parser::new_ext(text, options) {
        match (event, &mut code) {
            (Event::Start(Tag::CodeBlock(kind)), _) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => info
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((language, String::new()));
            }
            (Event::Text(t), Some((_, body))) => body.push_str(&t),
            (Event::End(TagEnd::CodeBlock), Some(_)) => {
                let (language, body) = code.take().unwrap_or_default();
                events.push(Event::Html(highlight(&language, &body).into()));
            }
            (event, _) => events.push(event),
        }
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    SANITISER.clean(&html).to_string()
}

/// How much rendered HTML a process keeps.
const CACHE_BYTES: usize = 8 * 1024 * 1024;

/// Rendered messages by the SHA-256 of their text: a warm function showing a conversation
/// again pays for hashing its messages, not for highlighting them.
static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

#[derive(Default)]
struct Cache {
    entries: HashMap<[u8; 32], Arc<str>>,
    bytes: usize,
}

/// As `render`, through the process's cache. For finished messages: a text that is still
/// growing would only fill it.
pub fn render_cached(text: &str) -> Arc<str> {
    let key: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let lock = || {
        CACHE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    if let Some(html) = lock().entries.get(&key) {
        return html.clone();
    }
    let html: Arc<str> = render(text).into();
    let mut cache = lock();
    // Full: start again rather than track ages; a page's messages soon come back.
    if cache.bytes + html.len() > CACHE_BYTES {
        cache.entries.clear();
        cache.bytes = 0;
    }
    cache.bytes += html.len();
    cache.entries.insert(key, html.clone());
    html
}

/// A code block as `<pre class="code"><code>` with highlighting classes when the language is
/// known, plain (escaped) otherwise.
fn highlight(language: &str, body: &str) -> String {
    let syntax = (!language.is_empty())
        .then(|| SYNTAXES.find_syntax_by_token(language))
        .flatten();
    let inner = match syntax {
        Some(syntax) => {
            let mut generator =
                ClassedHTMLGenerator::new_with_class_style(syntax, &SYNTAXES, CLASS_STYLE);
            let ok = LinesWithEndings::from(body).all(|line| {
                generator
                    .parse_html_for_line_which_includes_newline(line)
                    .is_ok()
            });
            if ok {
                generator.finalize()
            } else {
                escape(body)
            }
        }
        None => escape(body),
    };
    format!("<pre class=\"code\"><code>{inner}</code></pre>\n")
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    pulldown_cmark::html::push_html(&mut out, std::iter::once(Event::Text(text.into())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_html() {
        let html =
            render("# Title\n\nSome **bold** and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |");
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("<code>code</code>"));
        assert!(html.contains("<table>"));
    }

    #[test]
    fn code_blocks_are_highlighted_and_escaped() {
        let html = render("```rust\nfn main() { let s = \"<b>\"; }\n```");
        assert!(html.contains("<pre class=\"code\"><code>"), "{html}");
        assert!(
            html.contains("hl-keyword") || html.contains("hl-storage"),
            "{html}"
        );
        assert!(html.contains("&lt;b&gt;"), "{html}");
        let plain = render("```nosuchlanguage\n<i>x</i>\n```");
        assert!(plain.contains("&lt;i&gt;x&lt;/i&gt;"), "{plain}");
    }

    #[test]
    fn nothing_can_run_script() {
        for attack in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[link](javascript:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "![pixel](https://tracker.example/p.gif)",
            "<div style=\"background:url(x)\" onclick=\"alert(1)\">x</div>",
            "```html\n</code></pre><script>alert(1)</script>\n```",
        ] {
            let html = render(attack);
            for bad in [
                "<script",
                "onerror",
                "javascript:",
                "<iframe",
                "onclick",
                "style=",
            ] {
                assert!(!html.contains(bad), "{attack} gave {html}");
            }
        }
    }

    #[test]
    fn only_the_highlighters_classes_are_kept() {
        let html = render(
            "<div class=\"flash error\">Your session has ended</div>\
             <span class=\"hl-keyword notice\">x</span><pre class=\"code banner\">y</pre>\
             <code class=\"code\">z</code><span class=\"hl-\">w</span>",
        );
        assert!(!html.contains("flash"), "{html}");
        assert!(!html.contains("notice"), "{html}");
        assert!(!html.contains("banner"), "{html}");
        assert!(
            html.contains("<span class=\"hl-keyword\">x</span>"),
            "{html}"
        );
        assert!(html.contains("<pre class=\"code\">y</pre>"), "{html}");
        assert!(
            html.contains("<code>z</code>"),
            "only a code block's pre is `code`: {html}"
        );
        assert!(html.contains("<span>w</span>"), "{html}");
    }

    #[test]
    fn the_cache_gives_what_rendering_gives() {
        let text = "Some `code` and **bold**, cached.";
        let first = render_cached(text);
        assert_eq!(&*first, render(text));
        assert!(
            Arc::ptr_eq(&first, &render_cached(text)),
            "the second time is the cached one"
        );
        assert_ne!(&*render_cached("other text"), &*first);
    }

    #[test]
    fn links_cannot_reach_back_to_the_page() {
        let html = render("[site](https://example.com)");
        assert!(
            html.contains("rel=\"noopener noreferrer nofollow\""),
            "{html}"
        );
    }
}
