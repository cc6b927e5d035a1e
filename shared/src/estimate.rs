//! The cost estimate shown beside a message field before sending: the context's input tokens
//! at the model's price, plus a typical reply. The server writes it for the page as rendered;
//! the page's script (`templates/portal.js`, same arithmetic) keeps it current as the user
//! types or picks another model.

use minijinja::{Value, context};

use crate::ai::{Catalogue, Model, Prompt, estimate_tokens};
use crate::conversations::{Message, MessageState, Speaker};
use crate::usage::{self, Cost};

/// Tokens sent with the next message before its own text: the system prompt and the history
/// that fits the model's context, plus the new message's fixed overhead.
pub fn context_tokens(model: &Model, system: Option<&str>, history: &[Message]) -> u32 {
    let mut with_next = history.to_vec();
    // The next message's own text is counted by the caller: here, only its overhead.
    with_next.push(Message::plain(
        u32::MAX,
        Speaker::User,
        String::new(),
        MessageState::Complete,
        "",
        0,
    ));
    Prompt::build(model, system, &with_next)
        .map(|p| p.estimated_tokens())
        .unwrap_or_else(|_| estimate_tokens(""))
}

/// The words for a send of `input_tokens` with `model`, and a reply of `reply_tokens`.
pub fn describe(model: &Model, input_tokens: u32, reply_tokens: u32) -> String {
    let reply_tokens = reply_tokens.min(model.max_output_tokens.max(1));
    let cost = usage::estimate(model, input_tokens, reply_tokens);
    if cost == Cost::ZERO {
        format!(
            "Sending with {} costs nothing: it has no price set.",
            model.name
        )
    } else {
        format!(
            "Sending with {} costs about {cost}: about {input_tokens} tokens in (the \
             conversation and your message) and a typical reply of {reply_tokens} tokens.",
            model.name
        )
    }
}

/// The estimate's template context: its text as rendered, and what the script needs.
/// `typed` is a message already in the field (a form shown again), `model_id` the selected
/// model.
pub fn view(
    catalogue: &Catalogue,
    model_id: &str,
    context_tokens: u32,
    typed: &str,
    reply_tokens: u32,
) -> Value {
    let model = catalogue
        .get(model_id)
        .unwrap_or_else(|| catalogue.default_model());
    let typed_tokens = (typed.len() as u32).div_ceil(4);
    context! {
        text => describe(model, context_tokens + typed_tokens, reply_tokens),
        context_tokens,
        reply_tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conversations::MessageText;

    fn catalogue() -> Catalogue {
        Catalogue::parse(
            r#"
            [[model]]
            id = "paid"
            name = "Paid"
            provider = "openai"
            upstream = "paid"
            base_url = "http://127.0.0.1:1/v1"
            context_tokens = 100
            max_output_tokens = 20
            input_price = 1000.0
            output_price = 2000.0

            [[model]]
            id = "offline"
            name = "Offline demo"
            provider = "offline"
            upstream = "offline"
            context_tokens = 8000
            "#,
        )
        .unwrap()
    }

    #[test]
    fn the_context_counts_the_system_prompt_and_the_history_that_fits() {
        let catalogue = catalogue();
        let model = catalogue.get("paid").unwrap();
        let text = MessageText::parse(&"x".repeat(40)).unwrap();
        let mut answer = Message::pending_reply(1, "paid", "t", 0);
        answer.text = "yyyy".into();
        answer.state = MessageState::Complete;
        let history = vec![Message::user(0, &text, "t", 0), answer.clone()];
        // The question (10 + 4), the answer (1 + 4) and the next message's overhead (4).
        assert_eq!(context_tokens(model, None, &history), 23);
        assert_eq!(context_tokens(model, Some("abcd"), &history), 23 + 5);
        // Past the budget (100 − 20), older messages are not sent, so not counted (and the
        // answer alone is dropped, as a prompt starts with a user's message).
        let long = MessageText::parse(&"x".repeat(400)).unwrap();
        assert_eq!(
            context_tokens(model, None, &[Message::user(0, &long, "t", 0), answer]),
            4
        );
    }

    #[test]
    fn the_estimate_names_the_model_and_its_cost() {
        let catalogue = catalogue();
        let view = view(&catalogue, "paid", 10, "abcdefgh", 400);
        let text = view.get_attr("text").unwrap().to_string();
        // 12 tokens in at $1000/M = $0.012; the reply is capped at the model's 20 tokens
        // ($0.04).
        assert_eq!(
            text,
            "Sending with Paid costs about $0.052: about 12 tokens in (the conversation and \
             your message) and a typical reply of 20 tokens."
        );
        let free = super::view(&catalogue, "offline", 10, "", 400);
        assert!(
            free.get_attr("text")
                .unwrap()
                .to_string()
                .contains("costs nothing")
        );
    }
}
