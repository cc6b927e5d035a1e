//! Writing exports: every conversation as JSON (`format`), one conversation as Markdown.

use shared::ai::Catalogue;
use shared::conversations::{Conversation, Message, MessageState, Speaker};
use shared::listing::model_name;
use shared::store::Transcript;

use crate::format::{ExportConversation, ExportFile, ExportMessage, FORMAT, VERSION};

pub fn json(transcripts: Vec<Transcript>, now: u64) -> String {
    let file = ExportFile {
        format: FORMAT.to_string(),
        version: VERSION,
        exported_at: now,
        conversations: transcripts
            .into_iter()
            .map(|(c, messages)| ExportConversation {
                // Only a leaf that is one of its messages (the import checks it is).
                leaf: c.leaf.filter(|l| messages.iter().any(|m| m.seq == *l)),
                id: c.id.as_str().to_string(),
                title: c.title,
                model: c.model,
                system: c.system,
                created_at: c.created_at,
                updated_at: c.updated_at,
                messages: messages.into_iter().map(message).collect(),
            })
            .collect(),
    };
    serde_json::to_string_pretty(&file).expect("an export serialises")
}

fn message(m: Message) -> ExportMessage {
    ExportMessage {
        speaker: m.speaker.as_str().to_string(),
        text: m.text,
        state: m.state.as_str().to_string(),
        model: m.model,
        input_tokens: m.input_tokens,
        output_tokens: m.output_tokens,
        cost_nanodollars: m.cost.map(|c| c.nanos()),
        tokens_estimated: m.tokens_estimated,
        thinking: m.thinking,
        error: m.error,
        at: m.updated_at,
        parent: m.parent,
    }
}

/// A conversation as a Markdown document: its title, model and system prompt, then each
/// message under a heading naming who wrote it and when.
pub fn markdown(catalogue: &Catalogue, c: &Conversation, messages: &[Message]) -> String {
    let mut out = format!("# {}\n\n", c.title);
    out.push_str(&format!("- Model: {}\n", model_name(catalogue, &c.model)));
    out.push_str(&format!(
        "- Started: {}\n",
        shared::pages::datetime(c.created_at)
    ));
    if let Some(system) = &c.system {
        out.push_str(&format!("- System prompt:\n\n{}\n", quote(system)));
    }
    for m in messages {
        let who = match (m.speaker, &m.model) {
            (Speaker::User, _) => "You".to_string(),
            (Speaker::Assistant, Some(model)) => model_name(catalogue, model),
            (Speaker::Assistant, None) => "Assistant".to_string(),
        };
        out.push_str(&format!(
            "\n## {who} · {}\n\n{}\n",
            shared::pages::datetime(m.updated_at),
            m.text.trim_end()
        ));
        match m.state {
            MessageState::Failed => out.push_str(&format!(
                "\n*The reply failed: {}*\n",
                m.error.as_deref().unwrap_or("no reason given")
            )),
            MessageState::Truncated => {
                out.push_str("\n*The reply was cut off at the size limit.*\n")
            }
            MessageState::Streaming => out.push_str("\n*The reply was still being written.*\n"),
            MessageState::Complete => {}
        }
    }
    out
}

fn quote(text: &str) -> String {
    text.lines()
        .map(|line| format!("> {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use shared::conversations::{ConversationId, MessageText, Title};

    use super::*;

    fn sample() -> (Conversation, Vec<Message>) {
        let mut c = Conversation::new(Title::parse("Trip").unwrap(), "offline".into(), None, 0);
        c.id = ConversationId::parse("AAAAAAAAAAAAAAAA").unwrap();
        c.system = Some("Be brief.\nBe kind.".into());
        let question = Message::user(0, &MessageText::parse("Where to?").unwrap(), "t", 60);
        let mut answer = Message::pending_reply(1, "offline", "t", 120);
        answer.text = "Lisbon.\n".into();
        answer.state = MessageState::Failed;
        answer.error = Some("The model stopped.".into());
        answer.cost = Some(shared::usage::Cost::from_nanos(42));
        answer.thinking = "Where to?".into();
        (c, vec![question, answer])
    }

    #[test]
    fn markdown_names_who_wrote_what_and_when() {
        let (c, messages) = sample();
        let md = markdown(&Catalogue::embedded(), &c, &messages);
        assert!(md.starts_with("# Trip\n\n- Model: "), "{md}");
        assert!(
            md.contains("- System prompt:\n\n> Be brief.\n> Be kind.\n"),
            "{md}"
        );
        assert!(
            md.contains("\n## You · 1970-01-01 00:01 UTC\n\nWhere to?\n"),
            "{md}"
        );
        assert!(
            md.contains("Lisbon.\n\n*The reply failed: The model stopped.*\n"),
            "{md}"
        );
    }

    #[test]
    fn json_keeps_every_field() {
        let (c, messages) = sample();
        let value: serde_json::Value =
            serde_json::from_str(&json(vec![(c, messages)], 99)).unwrap();
        assert_eq!(value["format"], "switchboard-export");
        assert_eq!(value["version"], 2);
        assert_eq!(value["exported_at"], 99);
        let conversation = &value["conversations"][0];
        assert_eq!(conversation["id"], "AAAAAAAAAAAAAAAA");
        assert_eq!(conversation["messages"][1]["cost_nanodollars"], 42);
        assert_eq!(conversation["messages"][1]["state"], "failed");
        assert_eq!(conversation["messages"][0]["speaker"], "user");
        // Each message names the one it follows (the first none).
        assert!(conversation["messages"][0]["parent"].is_null());
        assert_eq!(conversation["messages"][1]["parent"], 0);
        assert_eq!(conversation["messages"][1]["thinking"], "Where to?");
        assert!(
            conversation["messages"][0].get("thinking").is_none(),
            "left out when there is none"
        );
    }
}
