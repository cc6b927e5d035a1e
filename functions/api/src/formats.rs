//! OpenAI's response shapes, as its API reference documents them: a model list, a chat
//! completion, the chunks of a streamed one (and its last usage chunk), and the usage. The
//! thinking of models that reason goes in `reasoning_content`, as OpenAI-compatible servers
//! (DeepSeek, vLLM) send it; clients that do not know it ignore it.

use serde_json::{Value, json};
use shared::ai::Model;
use shared::conversations::Message;

/// What identifies one completion in every chunk of it.
#[derive(Clone, Debug)]
pub struct Completion {
    pub id: String,
    pub created: u64,
    pub model: String,
}

/// Why the reply ended: its end, or the output limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
}

impl Finish {
    fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

/// The tokens a reply used, as the provider counted them (or as estimated).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Prompt tokens read at the full price.
    pub input: u32,
    pub output: u32,
    /// Prompt tokens read from, or written to, the provider's cache.
    pub cache_read: u32,
    pub cache_write: u32,
    /// What the reply cost, in dollars at the catalogue's prices.
    pub cost: f64,
}

impl Usage {
    /// A finished reply's usage (its tokens and cost as charged).
    pub fn of(reply: &Message, cache_read: u32, cache_write: u32) -> Self {
        Self {
            input: reply.input_tokens.unwrap_or(0),
            output: reply.output_tokens.unwrap_or(0),
            cache_read,
            cache_write,
            cost: reply.cost.map_or(0.0, |c| c.nanos() as f64 / 1e9),
        }
    }

    /// OpenAI's `usage`: the prompt counts every prompt token, cached or not.
    pub fn to_json(self) -> Value {
        let prompt = self.input + self.cache_read + self.cache_write;
        json!({
            "prompt_tokens": prompt,
            "completion_tokens": self.output,
            "total_tokens": prompt + self.output,
            "prompt_tokens_details": { "cached_tokens": self.cache_read },
            "cost": self.cost,
        })
    }
}

/// `GET /v1/models`' entry for a model.
pub fn model(model: &Model) -> Value {
    json!({
        "id": model.id,
        "object": "model",
        "created": 0,
        "owned_by": "switchboard",
        "name": model.name,
        "context_length": model.context_tokens,
        "max_output_tokens": model.max_output_tokens,
    })
}

pub fn model_list(models: &[&Model]) -> Value {
    json!({
        "object": "list",
        "data": models.iter().map(|m| model(m)).collect::<Vec<_>>(),
    })
}

impl Completion {
    /// A whole (not streamed) completion.
    pub fn whole(&self, text: &str, thinking: &str, finish: Finish, usage: Usage) -> Value {
        let mut message = json!({ "role": "assistant", "content": text, "refusal": null });
        if !thinking.is_empty() {
            message["reasoning_content"] = json!(thinking);
        }
        json!({
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "message": message,
                "logprobs": null,
                "finish_reason": finish.as_str(),
            }],
            "usage": usage.to_json(),
        })
    }

    /// One chunk of a streamed completion: `delta` and, on the last, why it ended. With
    /// `include_usage`, every chunk carries `"usage": null` (the usage comes last, alone).
    pub fn chunk(&self, delta: Value, finish: Option<Finish>, include_usage: bool) -> Value {
        let mut chunk = json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [{
                "index": 0,
                "delta": delta,
                "logprobs": null,
                "finish_reason": finish.map(Finish::as_str),
            }],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        chunk
    }

    /// The last chunk asked for by `stream_options.include_usage`: no choices, the usage.
    pub fn usage_chunk(&self, usage: Usage) -> Value {
        json!({
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": null,
            "choices": [],
            "usage": usage.to_json(),
        })
    }
}

/// One server-sent event carrying `data` (OpenAI's streams have no event names).
pub fn event(data: &Value) -> bytes::Bytes {
    bytes::Bytes::from(format!("data: {data}\n\n"))
}

/// The end of a stream.
pub const DONE: &[u8] = b"data: [DONE]\n\n";

#[cfg(test)]
mod tests {
    use super::*;

    fn completion() -> Completion {
        Completion {
            id: "chatcmpl-abc".into(),
            created: 1_694_268_190,
            model: "gpt-4o-mini".into(),
        }
    }

    fn usage() -> Usage {
        Usage {
            input: 9,
            output: 12,
            cache_read: 0,
            cache_write: 0,
            cost: 0.0,
        }
    }

    /// The documented example of a chat completion object, field for field.
    #[test]
    fn a_whole_completion_has_the_documented_shape() {
        let body = completion().whole("Hello there!", "", Finish::Stop, usage());
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["id"], "chatcmpl-abc");
        assert_eq!(body["created"], 1_694_268_190);
        assert_eq!(body["model"], "gpt-4o-mini");
        let choice = &body["choices"][0];
        assert_eq!(choice["index"], 0);
        assert_eq!(choice["message"]["role"], "assistant");
        assert_eq!(choice["message"]["content"], "Hello there!");
        assert!(choice["message"]["refusal"].is_null());
        assert!(choice["message"].get("reasoning_content").is_none());
        assert!(choice["logprobs"].is_null());
        assert_eq!(choice["finish_reason"], "stop");
        assert_eq!(body["usage"]["prompt_tokens"], 9);
        assert_eq!(body["usage"]["completion_tokens"], 12);
        assert_eq!(body["usage"]["total_tokens"], 21);
        let thought = completion().whole("A", "Hmm.", Finish::Length, usage());
        assert_eq!(
            thought["choices"][0]["message"]["reasoning_content"],
            "Hmm."
        );
        assert_eq!(thought["choices"][0]["finish_reason"], "length");
    }

    /// The documented chunk object, and the usage chunk of `include_usage`.
    #[test]
    fn chunks_have_the_documented_shape() {
        let c = completion();
        let first = c.chunk(json!({"role": "assistant", "content": ""}), None, false);
        assert_eq!(first["object"], "chat.completion.chunk");
        assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
        assert!(first["choices"][0]["finish_reason"].is_null());
        assert!(first.get("usage").is_none());
        let with_usage = c.chunk(json!({"content": "Hi"}), None, true);
        assert!(with_usage["usage"].is_null() && with_usage.get("usage").is_some());
        let last = c.chunk(json!({}), Some(Finish::Stop), true);
        assert_eq!(last["choices"][0]["finish_reason"], "stop");
        let usage_chunk = c.usage_chunk(usage());
        assert_eq!(usage_chunk["choices"], json!([]));
        assert_eq!(usage_chunk["usage"]["total_tokens"], 21);
        assert_eq!(
            event(&json!({"a": 1})),
            bytes::Bytes::from_static(b"data: {\"a\":1}\n\n")
        );
    }

    #[test]
    fn cached_tokens_count_in_the_prompt() {
        let usage = Usage {
            input: 10,
            output: 5,
            cache_read: 700,
            cache_write: 50,
            cost: 0.25,
        };
        let json = usage.to_json();
        assert_eq!(json["prompt_tokens"], 760);
        assert_eq!(json["total_tokens"], 765);
        assert_eq!(json["prompt_tokens_details"]["cached_tokens"], 700);
        assert_eq!(json["cost"], 0.25);
    }

    #[test]
    fn models_are_listed_as_documented() {
        let catalogue = shared::ai::Catalogue::embedded();
        let list = model_list(&catalogue.models().iter().collect::<Vec<_>>());
        assert_eq!(list["object"], "list");
        let first = &list["data"][0];
        assert_eq!(first["object"], "model");
        assert_eq!(first["owned_by"], "switchboard");
        assert!(first["id"].is_string() && first["created"].is_u64());
    }
}
