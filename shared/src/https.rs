//! The HTTPS clients, both on rustls with *ring*: the AWS SDK's (DynamoDB, Secrets Manager)
//! and the one that streams AI replies. Left to their defaults, the SDK and reqwest use
//! aws-lc, whose C library was the largest single part of every function's binary (about
//! 2 MB); ring does the same TLS with a fraction of the code, and one provider serves both.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The HTTP client every AWS SDK client of the process is built with.
pub fn aws_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A builder for the client that talks to AI providers (reqwest is built without a crypto
/// provider of its own: this installs ring as the process's).
///
/// It follows no redirects: a request carries an API key (some providers' in a header of
/// their own, which reqwest would not strip), and a provider that answers with a redirect
/// must not be able to send it to another host. A redirect is reported as the provider's
/// status.
pub fn provider_client() -> reqwest::ClientBuilder {
    // Fails only when a provider is installed already, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clients_build() {
        provider_client().build().expect("the providers' client");
        provider_client()
            .build()
            .expect("built twice, as tests and retries do");
        let _ = aws_client();
    }
}
