//! A call kept as a conversation (a per-key choice, off unless asked for): the messages as
//! sent, the reply as written, titled by the first message, listed and searchable with the
//! owner's own. Written once, when the reply has ended, as an import writes one.

use shared::ai::Model;
use shared::conversations::{
    Conversation, Message, MessageState, MessageText, SystemPrompt, Title, new_turn_id,
};
use shared::limits::Limits;
use shared::store::{Store, StoreError, TransferStore};
use shared::users::Username;

use crate::request::{CompletionRequest, Role};

pub struct Kept {
    conversation: Conversation,
    /// The messages sent (the reply follows them).
    messages: Vec<Message>,
}

impl Kept {
    /// The conversation a call becomes (the request was checked to fit one: `parse` with
    /// `keep`).
    pub fn new(request: &CompletionRequest, model: &Model, limits: &Limits, now: u64) -> Self {
        let mut messages = Vec::new();
        let mut turn = new_turn_id();
        let mut title = None;
        for m in request.messages.iter().filter(|m| m.role != Role::System) {
            let seq = messages.len() as u32;
            let message = match (m.role, MessageText::parse(&m.text)) {
                (Role::User, Ok(text)) => {
                    turn = new_turn_id();
                    title.get_or_insert_with(|| Title::from_message(&text));
                    Message::user(seq, &text, &turn, now)
                }
                _ => {
                    let mut reply = Message::pending_reply(seq, &model.id, &turn, now);
                    // The caller's own earlier turn: no model of ours wrote it.
                    reply.model = None;
                    reply.text = m.text.clone();
                    reply.state = MessageState::Complete;
                    reply
                }
            };
            messages.push(message);
        }
        let system = request
            .system()
            .and_then(|s| SystemPrompt::parse(&s).ok().flatten());
        let title = title.unwrap_or_else(|| Title::parse("API call").expect("a valid title"));
        let mut conversation = Conversation::new(title, model.id.clone(), system, now);
        conversation.expires_at = conversation.expiry_after_turn(now, limits.retention_days);
        for message in &mut messages {
            message.expires_at = conversation.expires_at;
        }
        conversation.next_seq = messages.len() as u32 + 1;
        Self {
            conversation,
            messages,
        }
    }

    pub fn id(&self) -> &str {
        self.conversation.id.as_str()
    }

    /// Writes the conversation with `reply` after the messages sent.
    pub async fn store(
        &self,
        store: &Store,
        owner: &Username,
        reply: &Message,
    ) -> Result<(), StoreError> {
        let mut messages = self.messages.clone();
        let mut reply = reply.clone();
        reply.seq = messages.len() as u32;
        reply.turn = messages.last().map_or_else(new_turn_id, |m| m.turn.clone());
        reply.expires_at = self.conversation.expires_at;
        let mut conversation = self.conversation.clone();
        conversation.updated_at = reply.updated_at.max(conversation.updated_at);
        messages.push(reply);
        store
            .import_conversations(owner, &[(conversation, messages)])
            .await
            .map(|_| ())
    }
}
