//! The model catalogue: which models users may pick, how to reach each, what each costs.
//! A TOML file (`SWITCHBOARD_MODELS`, inline or a path; the embedded default holds only the
//! offline model). Its format is documented in docs/models.md.

use serde::Deserialize;

const DEFAULT: &str = include_str!("default-models.toml");

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI's Chat Completions API, as OpenAI, Ollama, vLLM, OpenRouter, Groq, LM Studio
    /// and others serve it.
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
    /// Amazon Bedrock's ConverseStream API, through the function's own AWS credentials (its
    /// IAM role in AWS): no API key.
    Bedrock,
    /// The built-in offline model: no network, no key, no AI.
    Offline,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Model {
    /// What conversations store and forms send.
    pub id: String,
    /// What users see.
    pub name: String,
    pub provider: ProviderKind,
    /// The model's name at the provider.
    pub upstream: String,
    /// The API's base URL, up to and including the version (`https://api.openai.com/v1`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Bedrock: the AWS region to call (`eu-west-1`); the SDK's own region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// The model's context window, in tokens.
    pub context_tokens: u32,
    /// Tokens kept free for the reply (and asked of Anthropic as `max_tokens`).
    #[serde(default = "default_max_output")]
    pub max_output_tokens: u32,
    /// US dollars per million input tokens.
    #[serde(default)]
    pub input_price: f64,
    /// US dollars per million output tokens.
    #[serde(default)]
    pub output_price: f64,
    /// An environment variable holding the API key (local runs).
    #[serde(default)]
    pub key_env: Option<String>,
    /// A Secrets Manager secret holding the API key (in AWS), used when `key_env` is unset.
    #[serde(default)]
    pub key_secret: Option<String>,
    /// When `key_secret` holds a JSON object of several keys (one secret for every provider
    /// costs less than one each): the field holding this model's.
    #[serde(default)]
    pub key_field: Option<String>,
    /// Anthropic and Bedrock (Claude): tokens the model may think for before answering
    /// (extended thinking), at least 1024 and below `max_output_tokens`; none: no thinking.
    #[serde(default)]
    pub thinking_budget: Option<u32>,
    /// OpenAI-compatible reasoning models: `minimal`, `low`, `medium` or `high`.
    #[serde(default)]
    pub reasoning_effort: Option<String>,
    /// Anthropic and Bedrock: mark the system prompt and the conversation so far as cacheable,
    /// so that each turn of a long conversation reads them from the provider's cache.
    #[serde(default)]
    pub prompt_caching: bool,
    /// US dollars per million prompt tokens read from the cache.
    #[serde(default)]
    pub cache_read_price: f64,
    /// US dollars per million prompt tokens written to the cache.
    #[serde(default)]
    pub cache_write_price: f64,
    /// The highest temperature the model takes (OpenAI's 2, Anthropic's 1): conversations
    /// may then set one; none: not offered.
    #[serde(default)]
    pub max_temperature: Option<f32>,
    /// The reasoning efforts a conversation may choose among (OpenAI-compatible reasoning
    /// models: `low`, `medium`, `high`...); empty: not offered.
    #[serde(default)]
    pub reasoning_efforts: Vec<String>,
    /// Whether the model reads images (PNG, JPEG, WebP, GIF) sent with a message.
    #[serde(default)]
    pub images: bool,
    /// Whether the model reads PDF documents natively (text documents go to every model,
    /// as text).
    #[serde(default)]
    pub documents: bool,
}

/// An AWS region's shape: lowercase words and a number, joined by dashes (`us-gov-west-1`).
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok_and(|n| n > 0)
}

fn default_max_output() -> u32 {
    1024
}

impl Model {
    pub fn is_offline(&self) -> bool {
        self.provider == ProviderKind::Offline
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Catalogue {
    models: Vec<Model>,
    title_model: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// The model that titles a conversation after its first reply (a cheap one); none: the
    /// first message's first line is the title.
    #[serde(default)]
    title_model: Option<String>,
    model: Vec<Model>,
}

impl Catalogue {
    pub fn embedded() -> Self {
        Self::parse(DEFAULT).expect("the embedded catalogue is valid")
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        if file.model.is_empty() {
            return Err("the catalogue lists no model".into());
        }
        for (i, model) in file.model.iter().enumerate() {
            let valid_id = !model.id.is_empty()
                && model.id.len() <= 64
                && model
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
            if !valid_id {
                return Err(format!(
                    "model id {:?} is not a short name of letters, digits and -_.:",
                    model.id
                ));
            }
            if file.model[..i].iter().any(|m| m.id == model.id) {
                return Err(format!("model id {:?} appears twice", model.id));
            }
            if model.max_output_tokens >= model.context_tokens {
                return Err(format!(
                    "model {:?}: max_output_tokens must be below context_tokens",
                    model.id
                ));
            }
            if model.prompt_caching
                && !matches!(
                    model.provider,
                    ProviderKind::Anthropic | ProviderKind::Bedrock
                )
            {
                return Err(format!(
                    "model {:?}: prompt_caching is for anthropic and bedrock models (OpenAI \
                     caches by itself)",
                    model.id
                ));
            }
            if model.input_price < 0.0
                || model.output_price < 0.0
                || model.cache_read_price < 0.0
                || model.cache_write_price < 0.0
            {
                return Err(format!("model {:?}: prices cannot be negative", model.id));
            }
            if model.upstream.trim().is_empty() {
                return Err(format!("model {:?} needs an upstream", model.id));
            }
            match model.provider {
                ProviderKind::OpenAi | ProviderKind::Anthropic if model.base_url.is_none() => {
                    return Err(format!("model {:?} needs a base_url", model.id));
                }
                ProviderKind::Bedrock if model.base_url.is_some() => {
                    return Err(format!(
                        "model {:?}: a bedrock model takes a region, not a base_url \
                         (AWS_ENDPOINT_URL_BEDROCK_RUNTIME points every one elsewhere)",
                        model.id
                    ));
                }
                _ => {}
            }
            if let Some(budget) = model.thinking_budget {
                if !matches!(
                    model.provider,
                    ProviderKind::Anthropic | ProviderKind::Bedrock
                ) {
                    return Err(format!(
                        "model {:?}: thinking_budget is for anthropic and bedrock models",
                        model.id
                    ));
                }
                if budget < 1024 || budget >= model.max_output_tokens {
                    return Err(format!(
                        "model {:?}: thinking_budget must be at least 1024 and below \
                         max_output_tokens",
                        model.id
                    ));
                }
            }
            if let Some(effort) = &model.reasoning_effort {
                if model.provider != ProviderKind::OpenAi {
                    return Err(format!(
                        "model {:?}: reasoning_effort is for openai models",
                        model.id
                    ));
                }
                if !["minimal", "low", "medium", "high"].contains(&effort.as_str()) {
                    return Err(format!(
                        "model {:?}: reasoning_effort must be minimal, low, medium or high",
                        model.id
                    ));
                }
            }
            if !model.reasoning_efforts.is_empty() {
                if model.provider != ProviderKind::OpenAi {
                    return Err(format!(
                        "model {:?}: reasoning_efforts are for openai models",
                        model.id
                    ));
                }
                let known = ["minimal", "low", "medium", "high"];
                if let Some(bad) = model
                    .reasoning_efforts
                    .iter()
                    .find(|e| !known.contains(&e.as_str()))
                {
                    return Err(format!(
                        "model {:?}: reasoning_efforts: {bad:?} is not minimal, low, medium or high",
                        model.id
                    ));
                }
            }
            if let Some(t) = model.max_temperature
                && !(t > 0.0 && t <= 2.0)
            {
                return Err(format!(
                    "model {:?}: max_temperature must be above 0 and at most 2",
                    model.id
                ));
            }
            if model.key_field.is_some() && model.key_secret.is_none() {
                return Err(format!(
                    "model {:?}: key_field names a field of key_secret, which is missing",
                    model.id
                ));
            }
            if let Some(region) = &model.region {
                if model.provider != ProviderKind::Bedrock {
                    return Err(format!(
                        "model {:?}: region is for bedrock models",
                        model.id
                    ));
                }
                if !is_region(region) {
                    return Err(format!(
                        "model {:?}: region {region:?} is not an AWS region like eu-west-1",
                        model.id
                    ));
                }
            }
        }
        if let Some(id) = &file.title_model
            && !file.model.iter().any(|m| &m.id == id)
        {
            return Err(format!(
                "title_model {id:?} is not one of the catalogue's models"
            ));
        }
        Ok(Self {
            models: file.model,
            title_model: file.title_model,
        })
    }

    /// The model that titles new conversations, if the catalogue names one.
    pub fn title_model(&self) -> Option<&Model> {
        self.title_model.as_deref().and_then(|id| self.get(id))
    }

    pub fn models(&self) -> &[Model] {
        &self.models
    }

    pub fn get(&self, id: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.id == id)
    }

    /// The model new conversations start with: the first listed.
    pub fn default_model(&self) -> &Model {
        &self.models[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_offers_the_offline_model() {
        let catalogue = Catalogue::embedded();
        assert!(catalogue.default_model().is_offline());
        assert_eq!(
            catalogue.get("offline").unwrap().name,
            "Offline demo (no AI)"
        );
        assert_eq!(catalogue.get("gpt"), None);
    }

    #[test]
    fn a_full_entry_parses() {
        let catalogue = Catalogue::parse(
            r#"
            [[model]]
            id = "gpt-4o-mini"
            name = "GPT-4o mini"
            provider = "openai"
            upstream = "gpt-4o-mini"
            base_url = "https://api.openai.com/v1"
            context_tokens = 128000
            max_output_tokens = 4096
            input_price = 0.15
            output_price = 0.6
            key_env = "OPENAI_API_KEY"
            key_secret = "switchboard/openai"
            "#,
        )
        .unwrap();
        let model = catalogue.get("gpt-4o-mini").unwrap();
        assert_eq!(model.provider, ProviderKind::OpenAi);
        assert_eq!(model.output_price, 0.6);
    }

    #[test]
    fn mistakes_are_named() {
        let entry = |extra: &str| {
            format!(
                "[[model]]\nid = \"m\"\nname = \"M\"\nprovider = \"openai\"\nupstream = \"u\"\ncontext_tokens = 4000\n{extra}"
            )
        };
        assert!(
            Catalogue::parse(&entry(""))
                .unwrap_err()
                .contains("base_url")
        );
        assert!(
            Catalogue::parse(&entry("base_url = \"x\"\ncolour = 1"))
                .unwrap_err()
                .contains("colour")
        );
        assert!(Catalogue::parse(&entry("base_url = \"x\"\nmax_output_tokens = 5000")).is_err());
        let twice = format!(
            "{}\n{}",
            entry("base_url = \"x\""),
            entry("base_url = \"x\"")
        );
        assert!(Catalogue::parse(&twice).unwrap_err().contains("twice"));
        assert!(Catalogue::parse("model = []").is_err());
        let titled = format!("title_model = \"m\"\n{}", entry("base_url = \"x\""));
        assert_eq!(
            Catalogue::parse(&titled)
                .unwrap()
                .title_model()
                .map(|m| m.id.as_str()),
            Some("m")
        );
        let unknown = format!("title_model = \"gone\"\n{}", entry("base_url = \"x\""));
        assert!(
            Catalogue::parse(&unknown)
                .unwrap_err()
                .contains("title_model")
        );
        assert_eq!(
            Catalogue::parse(&entry("base_url = \"x\""))
                .unwrap()
                .title_model(),
            None
        );
        assert!(
            Catalogue::parse(&entry("base_url = \"x\"\nkey_field = \"openai\""))
                .unwrap_err()
                .contains("key_secret")
        );
        assert!(
            Catalogue::parse(&entry(
                "base_url = \"x\"\nkey_field = \"openai\"\nkey_secret = \"keys\""
            ))
            .is_ok()
        );
    }

    #[test]
    fn bedrock_entries_take_a_region_and_no_base_url() {
        let entry = |extra: &str| {
            format!(
                "[[model]]\nid = \"claude\"\nname = \"Claude\"\nprovider = \"bedrock\"\n\
                 upstream = \"eu.anthropic.claude-3-haiku-20240307-v1:0\"\ncontext_tokens = 200000\n{extra}"
            )
        };
        let catalogue = Catalogue::parse(&entry("region = \"eu-west-1\"")).unwrap();
        let model = catalogue.get("claude").unwrap();
        assert_eq!(model.provider, ProviderKind::Bedrock);
        assert_eq!(model.region.as_deref(), Some("eu-west-1"));
        assert!(Catalogue::parse(&entry("")).is_ok(), "the SDK's own region");
        for region in [
            "mars-1",
            "EU-WEST-1",
            "eu-west",
            "eu--1",
            "eu-west-0",
            "eu_west_1",
        ] {
            let err = Catalogue::parse(&entry(&format!("region = \"{region}\""))).unwrap_err();
            assert!(err.contains("region"), "{region}: {err}");
        }
        assert!(
            Catalogue::parse(&entry("base_url = \"https://x\""))
                .unwrap_err()
                .contains("not a base_url")
        );
        let no_upstream = entry("").replace(
            "upstream = \"eu.anthropic.claude-3-haiku-20240307-v1:0\"",
            "upstream = \" \"",
        );
        assert!(
            Catalogue::parse(&no_upstream)
                .unwrap_err()
                .contains("upstream")
        );
        let thinking = |extra: &str| {
            format!(
                "[[model]]\nid = \"t\"\nname = \"T\"\nprovider = \"anthropic\"\nupstream = \"u\"\n\
                 base_url = \"x\"\ncontext_tokens = 200000\nmax_output_tokens = 8000\n{extra}"
            )
        };
        assert!(Catalogue::parse(&thinking("thinking_budget = 4000")).is_ok());
        for bad in ["thinking_budget = 100", "thinking_budget = 8000"] {
            assert!(
                Catalogue::parse(&thinking(bad))
                    .unwrap_err()
                    .contains("thinking_budget")
            );
        }
        assert!(
            Catalogue::parse(&thinking("reasoning_effort = \"high\""))
                .unwrap_err()
                .contains("openai")
        );
        assert!(
            Catalogue::parse(&thinking("reasoning_efforts = [\"low\"]"))
                .unwrap_err()
                .contains("openai")
        );
        assert!(Catalogue::parse(&thinking("max_temperature = 1.0")).is_ok());
        assert!(
            Catalogue::parse(&thinking("max_temperature = 3.0"))
                .unwrap_err()
                .contains("max_temperature")
        );
        let openai_region = "[[model]]\nid = \"m\"\nname = \"M\"\nprovider = \"openai\"\nupstream = \"u\"\nbase_url = \"x\"\ncontext_tokens = 4000\nregion = \"eu-west-1\"";
        assert!(
            Catalogue::parse(openai_region)
                .unwrap_err()
                .contains("bedrock")
        );
    }
}
