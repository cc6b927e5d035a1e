//! The AWS SDK's configuration, from the environment a Lambda function is given: its region
//! (`AWS_REGION`), its role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`) and, for local stand-ins, `AWS_ENDPOINT_URL_<SERVICE>` or
//! `AWS_ENDPOINT_URL`. `aws-config`'s default chain reads the same variables first, but links
//! every other source too (profiles, SSO, STS, the instance metadata service): a sixth of
//! each function's binary for sources a function never uses. Locally, set the variables
//! (README, "Running locally against DynamoDB Local").

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The configuration every AWS client of the process starts from; `env` reads a variable.
pub fn sdk_config(
    env: impl Fn(&str) -> Option<String> + Clone + Send + Sync + 'static,
) -> SdkConfig {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(crate::https::aws_client())
        .retry_config(RetryConfig::standard())
        .service_config(Endpoints(Box::new(env.clone())));
    if let Some(region) = var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")) {
        config = config.region(Region::new(region));
    }
    match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        (Some(key), Some(secret)) => {
            let credentials =
                Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment");
            config = config.credentials_provider(SharedCredentialsProvider::new(credentials));
        }
        // Requests are refused with the SDK's "no credentials" error, logged where they fail.
        _ => tracing::warn!(
            "no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"
        ),
    }
    config.build()
}

/// Endpoint overrides, as the SDK looks them up: `AWS_ENDPOINT_URL_DYNAMODB` before
/// `AWS_ENDPOINT_URL` (the service's id in capitals, spaces as underscores).
struct Endpoints(Lookup);

/// Reads an environment variable (a map in tests).
type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

impl std::fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Endpoints(environment)")
    }
}

impl LoadServiceConfig for Endpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_uppercase().replace(' ', "_");
        [format!("{}_{service}", key.env()), key.env().to_string()]
            .iter()
            .find_map(|name| (self.0)(name).filter(|v| !v.trim().is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(
        vars: &[(&str, &str)],
    ) -> impl Fn(&str) -> Option<String> + Clone + Send + Sync + 'static {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn region_credentials_and_endpoints_come_from_the_environment() {
        let config = sdk_config(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8300"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9999"),
        ]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert!(config.credentials_provider().is_some());
        let endpoints = config.service_config().unwrap();
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        assert_eq!(
            endpoints.load_config(key("DynamoDB")).as_deref(),
            Some("http://127.0.0.1:8300")
        );
        assert_eq!(
            endpoints.load_config(key("Bedrock Runtime")).as_deref(),
            Some("http://127.0.0.1:9999"),
            "the general override when the service has none of its own"
        );
    }

    #[test]
    fn nothing_set_is_nothing_configured() {
        let config = sdk_config(env(&[("AWS_DEFAULT_REGION", "us-east-1")]));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        assert!(config.credentials_provider().is_none());
        let key = ServiceConfigKey::builder()
            .service_id("DynamoDB")
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap();
        assert_eq!(config.service_config().unwrap().load_config(key), None);
    }
}
