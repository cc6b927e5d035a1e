//! `POST /v1/chat/completions`' body, read into types: every field the portal uses is
//! checked by name (a wrong type or value is a 400 naming it); fields it does not use are
//! ignored, as OpenAI-compatible servers do, except those whose meaning it cannot honour
//! (tools, several choices), which are refused rather than silently dropped.

use serde_json::{Map, Value};
use shared::ai::{Model, Prompt, PromptMessage, estimate_tokens};
use shared::conversations::{MAX_MESSAGE_BYTES, MAX_SYSTEM_PROMPT_BYTES};
use shared::parameters::Parameters;

use crate::error::ApiError;

/// The largest body read (a model's whole context is a few hundred kilobytes of text).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// The most messages one call may carry.
pub const MAX_MESSAGES: usize = 2_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    fn as_prompt(self) -> &'static str {
        match self {
            Role::User => "user",
            _ => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ChatMessage {
    pub role: Role,
    pub text: String,
}

/// A completion request, as the portal understands it.
#[derive(Clone, Debug, PartialEq)]
pub struct CompletionRequest {
    pub model: String,
    pub messages: Vec<ChatMessage>,
    pub stream: bool,
    /// `stream_options.include_usage`: a last chunk with the usage.
    pub include_usage: bool,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u32>,
    pub temperature: Option<f64>,
    pub reasoning_effort: Option<String>,
}

fn invalid_type(param: &str, expected: &str) -> ApiError {
    ApiError::bad(format!("'{param}' must be {expected}."), param)
}

fn optional_bool(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid_type(name, "a boolean")),
    }
}

fn optional_count(body: &Map<String, Value>, name: &str) -> Result<Option<u32>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_u64()
            .filter(|n| *n >= 1)
            .map(|n| Some(u32::try_from(n).unwrap_or(u32::MAX)))
            .ok_or_else(|| invalid_type(name, "a whole number of at least 1")),
    }
}

/// A message's text: a string, or a list of text parts (joined by new lines).
fn content(value: Option<&Value>, at: &str) -> Result<String, ApiError> {
    let param = format!("{at}.content");
    match value {
        Some(Value::String(text)) => Ok(text.clone()),
        Some(Value::Array(parts)) => {
            let mut texts = Vec::with_capacity(parts.len());
            for (j, part) in parts.iter().enumerate() {
                let kind = part.get("type").and_then(Value::as_str);
                match (kind, part.get("text").and_then(Value::as_str)) {
                    (Some("text"), Some(text)) => texts.push(text),
                    (Some("text"), None) => {
                        return Err(invalid_type(&format!("{param}[{j}].text"), "a string"));
                    }
                    (Some(other), _) => {
                        return Err(ApiError::bad(
                            format!(
                                "'{param}[{j}]' is a '{other}' part: only text parts are \
                                 supported through this API."
                            ),
                            format!("{param}[{j}].type"),
                        ));
                    }
                    (None, _) => {
                        return Err(invalid_type(
                            &format!("{param}[{j}].type"),
                            "a string such as 'text'",
                        ));
                    }
                }
            }
            Ok(texts.join("\n"))
        }
        _ => Err(invalid_type(&param, "a string or a list of text parts")),
    }
}

fn message(value: &Value, i: usize) -> Result<ChatMessage, ApiError> {
    let at = format!("messages[{i}]");
    let object = value
        .as_object()
        .ok_or_else(|| invalid_type(&at, "an object"))?;
    let role = match object.get("role").and_then(Value::as_str) {
        Some("system" | "developer") => Role::System,
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some(other) => {
            return Err(ApiError::bad(
                format!(
                    "'{at}.role' is '{other}': this API takes system, developer, user and \
                     assistant messages (no tools)."
                ),
                format!("{at}.role"),
            ));
        }
        None => return Err(invalid_type(&format!("{at}.role"), "a string")),
    };
    let text = content(object.get("content"), &at)?;
    if text.trim().is_empty() {
        return Err(ApiError::bad(
            format!("'{at}.content' is empty."),
            format!("{at}.content"),
        ));
    }
    Ok(ChatMessage { role, text })
}

impl CompletionRequest {
    /// The body, checked; `keep`: the call is kept as a conversation, whose messages have the
    /// portal's own limits.
    pub fn parse(body: &[u8], keep: bool) -> Result<Self, ApiError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge(MAX_BODY_BYTES));
        }
        let value: Value = serde_json::from_slice(body).map_err(|e| ApiError::BadRequest {
            message: format!("We could not parse the JSON body of your request: {e}."),
            param: None,
            code: Some("invalid_json"),
        })?;
        let Value::Object(body) = value else {
            return Err(ApiError::BadRequest {
                message: "The request body must be a JSON object.".into(),
                param: None,
                code: Some("invalid_json"),
            });
        };
        let model = match body.get("model") {
            Some(Value::String(model)) if !model.is_empty() => model.clone(),
            None | Some(Value::Null) => {
                return Err(ApiError::bad("'model' is required.", "model"));
            }
            Some(_) => return Err(invalid_type("model", "a model id (a string)")),
        };
        let list = match body.get("messages") {
            Some(Value::Array(list)) => list,
            None | Some(Value::Null) => {
                return Err(ApiError::bad("'messages' is required.", "messages"));
            }
            Some(_) => return Err(invalid_type("messages", "a list of messages")),
        };
        if list.is_empty() {
            return Err(ApiError::bad(
                "'messages' is empty: send at least one user message.",
                "messages",
            ));
        }
        if list.len() > MAX_MESSAGES {
            return Err(ApiError::bad(
                format!("'messages' has more than {MAX_MESSAGES} messages."),
                "messages",
            ));
        }
        let messages = list
            .iter()
            .enumerate()
            .map(|(i, m)| message(m, i))
            .collect::<Result<Vec<_>, _>>()?;
        let stream = optional_bool(&body, "stream")?.unwrap_or(false);
        let include_usage = match body.get("stream_options") {
            None | Some(Value::Null) => false,
            Some(Value::Object(options)) => match options.get("include_usage") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(invalid_type("stream_options.include_usage", "a boolean")),
            },
            Some(_) => return Err(invalid_type("stream_options", "an object")),
        };
        let max_tokens = match optional_count(&body, "max_completion_tokens")? {
            Some(n) => Some(n),
            None => optional_count(&body, "max_tokens")?,
        };
        let temperature = match body.get("temperature") {
            None | Some(Value::Null) => None,
            Some(value) => Some(
                value
                    .as_f64()
                    .filter(|t| (0.0..=2.0).contains(t))
                    .ok_or_else(|| invalid_type("temperature", "a number from 0 to 2"))?,
            ),
        };
        let reasoning_effort = match body.get("reasoning_effort") {
            None | Some(Value::Null) => None,
            Some(Value::String(effort)) => Some(effort.clone()),
            Some(_) => return Err(invalid_type("reasoning_effort", "a string")),
        };
        match body.get("n") {
            None | Some(Value::Null) => {}
            Some(n) if n.as_u64() == Some(1) => {}
            Some(_) => return Err(ApiError::bad("Only 'n': 1 is supported.", "n")),
        }
        for tools in ["tools", "functions"] {
            if body
                .get(tools)
                .is_some_and(|t| !t.is_null() && t.as_array().is_none_or(|a| !a.is_empty()))
            {
                return Err(ApiError::bad(
                    format!("'{tools}' are not supported through this API."),
                    tools,
                ));
            }
        }
        let request = Self {
            model,
            messages,
            stream,
            include_usage,
            max_tokens,
            temperature,
            reasoning_effort,
        };
        request.check_order()?;
        if keep {
            request.check_keepable()?;
        }
        Ok(request)
    }

    /// Every provider takes turns that start and end with the user's.
    fn check_order(&self) -> Result<(), ApiError> {
        let mut turns = self
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.role != Role::System);
        match turns.next() {
            None => {
                return Err(ApiError::bad("'messages' has no user message.", "messages"));
            }
            Some((i, m)) if m.role != Role::User => {
                return Err(ApiError::bad(
                    format!("'messages[{i}]' must be a user message: the turns start with one."),
                    format!("messages[{i}].role"),
                ));
            }
            _ => {}
        }
        if let Some((i, m)) = self
            .messages
            .iter()
            .enumerate()
            .rfind(|(_, m)| m.role != Role::System)
            && m.role != Role::User
        {
            return Err(ApiError::bad(
                format!(
                    "'messages[{i}]' must be a user message: the last turn is the one answered."
                ),
                format!("messages[{i}].role"),
            ));
        }
        Ok(())
    }

    /// A kept call becomes a conversation, whose messages and system prompt have the
    /// portal's limits.
    fn check_keepable(&self) -> Result<(), ApiError> {
        for (i, m) in self.messages.iter().enumerate() {
            if m.role == Role::User && m.text.len() > MAX_MESSAGE_BYTES {
                return Err(ApiError::bad(
                    format!(
                        "'messages[{i}].content' is longer than {MAX_MESSAGE_BYTES} bytes, the \
                         most a message of a conversation holds (this key keeps its calls as \
                         conversations)."
                    ),
                    format!("messages[{i}].content"),
                ));
            }
        }
        if self
            .system()
            .is_some_and(|s| s.len() > MAX_SYSTEM_PROMPT_BYTES)
        {
            return Err(ApiError::bad(
                format!(
                    "The system messages are longer than {MAX_SYSTEM_PROMPT_BYTES} bytes, the \
                     most a conversation's system prompt holds (this key keeps its calls as \
                     conversations)."
                ),
                "messages",
            ));
        }
        Ok(())
    }

    /// The system and developer messages, as one prompt.
    pub fn system(&self) -> Option<String> {
        let parts: Vec<&str> = self
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.text.as_str())
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    /// The turns, each speaker's consecutive messages joined (providers want them to
    /// alternate).
    pub fn turns(&self) -> Vec<ChatMessage> {
        let mut turns: Vec<ChatMessage> = Vec::new();
        for m in self.messages.iter().filter(|m| m.role != Role::System) {
            match turns.last_mut() {
                Some(last) if last.role == m.role => {
                    last.text.push_str("\n\n");
                    last.text.push_str(&m.text);
                }
                _ => turns.push(m.clone()),
            }
        }
        turns
    }

    /// The request's parameters checked against `model`, as a conversation's are.
    pub fn parameters(&self, model: &Model) -> Result<Parameters, ApiError> {
        let mut parameters = Parameters::default();
        // Models that take no temperature ignore one (clients send it by habit), as the
        // portal's own page offers none for them.
        if let (Some(t), Some(max)) = (self.temperature, model.max_temperature) {
            if t > f64::from(max) {
                return Err(ApiError::bad(
                    format!("'temperature' is at most {max} for {}.", model.id),
                    "temperature",
                ));
            }
            parameters.temperature = Some((t * 100.0).round() as u16);
        }
        if let Some(n) = self.max_tokens {
            let least = model.thinking_budget.map_or(1, |budget| budget + 1);
            if n > model.max_output_tokens || n < least {
                return Err(ApiError::bad(
                    format!(
                        "'max_tokens' is {n}: {} takes from {least} to {} output tokens.",
                        model.id, model.max_output_tokens
                    ),
                    "max_tokens",
                ));
            }
            parameters.max_output_tokens = Some(n);
        }
        if let Some(effort) = &self.reasoning_effort {
            if !model.reasoning_efforts.contains(effort) {
                let message = if model.reasoning_efforts.is_empty() {
                    format!("{} does not take a reasoning effort.", model.id)
                } else {
                    format!(
                        "'reasoning_effort' is one of {} for {}.",
                        model.reasoning_efforts.join(", "),
                        model.id
                    )
                };
                return Err(ApiError::bad(message, "reasoning_effort"));
            }
            parameters.reasoning_effort = Some(effort.clone());
        }
        Ok(parameters)
    }

    /// What is sent upstream: every turn (none dropped: the caller chose them), if they fit
    /// the model's context with room for the reply.
    pub fn prompt(&self, model: &Model, parameters: &Parameters) -> Result<Prompt, ApiError> {
        let system = self.system();
        let messages: Vec<PromptMessage> = self
            .turns()
            .into_iter()
            .map(|m| PromptMessage {
                role: m.role.as_prompt(),
                text: m.text,
                files: Vec::new(),
            })
            .collect();
        let tokens: u64 = system
            .as_deref()
            .map_or(0, |s| u64::from(estimate_tokens(s)))
            + messages
                .iter()
                .map(|m| u64::from(estimate_tokens(&m.text)))
                .sum::<u64>();
        let budget = model.context_tokens.saturating_sub(model.max_output_tokens);
        if tokens > u64::from(budget) {
            return Err(ApiError::BadRequest {
                message: format!(
                    "This model's maximum context length is {} tokens, {} of them kept for the \
                     reply. However, your messages come to about {tokens} tokens.",
                    model.context_tokens, model.max_output_tokens
                ),
                param: Some("messages".into()),
                code: Some("context_length_exceeded"),
            });
        }
        Ok(Prompt {
            system,
            messages,
            temperature: parameters.temperature_for(model),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<CompletionRequest, ApiError> {
        CompletionRequest::parse(body.to_string().as_bytes(), false)
    }

    fn param(err: ApiError) -> String {
        err.body()["error"]["param"]
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    #[test]
    fn a_documented_request_reads_whole() {
        let request = parse(json!({
            "model": "offline",
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "system", "content": [{"type": "text", "text": "Be kind."}]},
                {"role": "user", "content": "Hello"},
                {"role": "assistant", "content": "Hi!"},
                {"role": "user", "content": [{"type": "text", "text": "One"}, {"type": "text", "text": "Two"}]},
            ],
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_completion_tokens": 50,
            "max_tokens": 10,
            "temperature": 0.5,
            "user": "someone",
            "top_p": 1,
            "n": 1,
            "tools": [],
        }))
        .unwrap();
        assert_eq!(request.model, "offline");
        assert!(request.stream && request.include_usage);
        assert_eq!(request.max_tokens, Some(50), "max_completion_tokens wins");
        assert_eq!(request.temperature, Some(0.5));
        assert_eq!(request.system().as_deref(), Some("Be brief.\n\nBe kind."));
        let turns = request.turns();
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[2].text, "One\nTwo");
    }

    #[test]
    fn consecutive_messages_of_one_speaker_are_joined() {
        let request = parse(json!({"model": "m", "messages": [
            {"role": "user", "content": "a"}, {"role": "user", "content": "b"},
        ]}))
        .unwrap();
        assert_eq!(request.turns().len(), 1);
        assert_eq!(request.turns()[0].text, "a\n\nb");
    }

    #[test]
    fn bad_requests_name_the_problem() {
        let malformed = CompletionRequest::parse(b"{\"model\": ", false).unwrap_err();
        assert_eq!(malformed.body()["error"]["code"], "invalid_json");
        let not_object = CompletionRequest::parse(b"[1]", false).unwrap_err();
        assert_eq!(not_object.body()["error"]["code"], "invalid_json");
        for (body, expected) in [
            (
                json!({"messages": [{"role": "user", "content": "x"}]}),
                "model",
            ),
            (json!({"model": 4, "messages": []}), "model"),
            (json!({"model": "m", "messages": []}), "messages"),
            (json!({"model": "m", "messages": "hi"}), "messages"),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}),
                "temperature",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3}),
                "temperature",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": "9"}),
                "max_tokens",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}),
                "stream",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": 1}}),
                "stream_options.include_usage",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2}),
                "n",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]}),
                "tools",
            ),
            (
                json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}),
                "messages[0].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user"}]}),
                "messages[0].content",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "  "}]}),
                "messages[0].content",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}),
                "messages[0].content[0].type",
            ),
            (
                json!({"model": "m", "messages": [{"role": "system", "content": "x"}]}),
                "messages",
            ),
            (
                json!({"model": "m", "messages": [{"role": "assistant", "content": "x"}, {"role": "user", "content": "y"}]}),
                "messages[0].role",
            ),
            (
                json!({"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}),
                "messages[1].role",
            ),
        ] {
            let err = parse(body.clone()).unwrap_err();
            assert_eq!(err.status(), 400, "{body}");
            assert_eq!(param(err), expected, "{body}");
        }
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            CompletionRequest::parse(&big, false),
            Err(ApiError::TooLarge(_))
        ));
    }

    #[test]
    fn a_kept_call_has_a_conversations_limits() {
        let long = "x".repeat(MAX_MESSAGE_BYTES + 1);
        let body = json!({"model": "m", "messages": [{"role": "user", "content": long}]});
        assert!(CompletionRequest::parse(body.to_string().as_bytes(), false).is_ok());
        let err = CompletionRequest::parse(body.to_string().as_bytes(), true).unwrap_err();
        assert_eq!(param(err), "messages[0].content");
    }

    #[test]
    fn parameters_are_checked_against_the_model() {
        let mut model = shared::ai::Catalogue::embedded().default_model().clone();
        model.max_temperature = Some(1.0);
        model.max_output_tokens = 100;
        model.reasoning_efforts = vec!["low".into()];
        let with = |extra: Value| {
            let mut body = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
            body.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            parse(body).unwrap()
        };
        let ok = with(json!({"temperature": 0.7, "max_tokens": 50, "reasoning_effort": "low"}));
        let p = ok.parameters(&model).unwrap();
        assert_eq!(
            (
                p.temperature,
                p.max_output_tokens,
                p.reasoning_effort.as_deref()
            ),
            (Some(70), Some(50), Some("low"))
        );
        for (extra, expected) in [
            (json!({"temperature": 1.5}), "temperature"),
            (json!({"max_tokens": 101}), "max_tokens"),
            (json!({"reasoning_effort": "high"}), "reasoning_effort"),
        ] {
            assert_eq!(param(with(extra).parameters(&model).unwrap_err()), expected);
        }
        // A model that takes no temperature ignores one.
        model.max_temperature = None;
        let p = with(json!({"temperature": 0.7}))
            .parameters(&model)
            .unwrap();
        assert_eq!(p.temperature, None);
    }

    #[test]
    fn the_context_must_fit() {
        let mut model = shared::ai::Catalogue::embedded().default_model().clone();
        model.context_tokens = 1_000;
        model.max_output_tokens = 500;
        let fits = parse(json!({"model": "m", "messages": [
            {"role": "system", "content": "Be brief."}, {"role": "user", "content": "x".repeat(1_000)},
        ]}))
        .unwrap();
        let prompt = fits.prompt(&model, &Parameters::default()).unwrap();
        assert_eq!(prompt.system.as_deref(), Some("Be brief."));
        assert_eq!(prompt.messages.len(), 1);
        let long = parse(json!({"model": "m", "messages": [
            {"role": "user", "content": "x".repeat(3_000)},
        ]}))
        .unwrap();
        let err = long.prompt(&model, &Parameters::default()).unwrap_err();
        assert_eq!(err.body()["error"]["code"], "context_length_exceeded");
    }
}
