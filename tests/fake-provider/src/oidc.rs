//! A fake OpenID Connect provider, for the login function's handler tests: discovery, a key
//! set, a token endpoint that checks the code, PKCE and the client's secret, and ID tokens
//! signed with a test key, or twisted the ways an attacker or a broken provider would.
//! Tests play the person at the provider's login page with `authorize`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use openidconnect::core::{
    CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRsaPrivateSigningKey,
};
use openidconnect::{AdditionalClaims, IdToken, IdTokenClaims, JsonWebKeyId, PrivateSigningKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::read_raw;

pub const CLIENT_ID: &str = "switchboard-test";
pub const CLIENT_SECRET: &str = "fake-client-secret";

const SIGNING_KEY: &str = include_str!("../keys/oidc-signing.pem");
const IMPOSTOR_KEY: &str = include_str!("../keys/oidc-impostor.pem");

/// Someone with an account at the provider.
#[derive(Clone, Debug)]
pub struct Person {
    pub subject: String,
    pub username: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub groups: Vec<String>,
}

impl Person {
    /// `name`, with a verified address at example.com and no groups.
    pub fn new(subject: &str, name: &str) -> Self {
        Self {
            subject: subject.into(),
            username: Some(name.into()),
            email: Some(format!("{name}@example.com")),
            email_verified: true,
            groups: Vec::new(),
        }
    }
}

/// What is wrong with the ID token the token endpoint gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Twist {
    None,
    /// Issued by another issuer.
    OtherIssuer,
    /// For another client.
    OtherAudience,
    /// Signed with a key the provider never published.
    ForeignKey,
    /// Expired an hour ago.
    Expired,
    /// With a nonce other than the one asked for.
    OtherNonce,
}

struct Grant {
    person: Person,
    twist: Twist,
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

#[derive(Default)]
struct State {
    grants: HashMap<String, Grant>,
    /// Token requests refused (a replayed code, a wrong verifier or secret), by reason.
    refusals: Vec<String>,
}

pub struct FakeIdentityProvider {
    port: u16,
    state: Arc<Mutex<State>>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
struct Extra {
    #[serde(flatten)]
    claims: HashMap<String, Value>,
}

impl AdditionalClaims for Extra {}

type Token =
    IdToken<Extra, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;

impl FakeIdentityProvider {
    pub async fn start() -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind the fake identity provider");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, port, shared.clone()));
            }
        });
        Self { port, state }
    }

    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// What the provider's login page does when `person` signs in: checks the portal's
    /// authorization request and answers with the query the browser is sent back with
    /// (`code` and `state`).
    pub fn authorize(&self, authorization_url: &str, person: Person, twist: Twist) -> String {
        let (endpoint, query) = authorization_url.split_once('?').expect("a query");
        assert_eq!(endpoint, format!("{}/auth", self.issuer()));
        let params: HashMap<String, String> = serde_urlencoded::from_str(query).unwrap();
        assert_eq!(params["client_id"], CLIENT_ID);
        assert_eq!(params["response_type"], "code");
        assert_eq!(params["code_challenge_method"], "S256");
        assert!(params["scope"].split(' ').any(|s| s == "openid"));
        let code = format!("code-{}", params["state"]);
        self.state.lock().unwrap().grants.insert(
            code.clone(),
            Grant {
                person,
                twist,
                nonce: params["nonce"].clone(),
                challenge: params["code_challenge"].clone(),
                redirect_uri: params["redirect_uri"].clone(),
            },
        );
        serde_urlencoded::to_string([("code", code.as_str()), ("state", &params["state"])]).unwrap()
    }

    /// Why the token endpoint refused requests, oldest first.
    pub fn refusals(&self) -> Vec<String> {
        self.state.lock().unwrap().refusals.clone()
    }
}

async fn serve(mut stream: TcpStream, port: u16, state: Arc<Mutex<State>>) {
    let Some(req) = read_raw(&mut stream).await else {
        return;
    };
    let issuer = format!("http://127.0.0.1:{port}");
    let (status, body) = match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/.well-known/openid-configuration") => (
            200,
            json!({
                "issuer": issuer,
                "authorization_endpoint": format!("{issuer}/auth"),
                "token_endpoint": format!("{issuer}/token"),
                "jwks_uri": format!("{issuer}/jwks"),
                "end_session_endpoint": format!("{issuer}/session/end"),
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
            }),
        ),
        ("GET", "/jwks") => (
            200,
            json!({ "keys": [signing_key(SIGNING_KEY).as_verification_key()] }),
        ),
        ("POST", "/token") => match token(&req, &issuer, &state) {
            Ok(body) => (200, body),
            Err(reason) => {
                state.lock().unwrap().refusals.push(reason.clone());
                (
                    400,
                    json!({ "error": "invalid_grant", "error_description": reason }),
                )
            }
        },
        _ => (404, json!({ "error": "not_found" })),
    };
    let body = body.to_string();
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
}

fn signing_key(pem: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("test-key".into())))
        .expect("the test key parses")
}

/// The token endpoint: a code used once, with its PKCE verifier and the client's secret.
fn token(req: &crate::RawRequest, issuer: &str, state: &Mutex<State>) -> Result<Value, String> {
    let form: HashMap<String, String> =
        serde_urlencoded::from_bytes(&req.body).map_err(|e| format!("form: {e}"))?;
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    if req.header("authorization") != Some(expected.as_str()) {
        return Err("wrong client credentials".into());
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return Err("wrong grant type".into());
    }
    let code = form.get("code").ok_or("no code")?;
    let grant = state
        .lock()
        .unwrap()
        .grants
        .remove(code)
        .ok_or("unknown or used code")?;
    let verifier = form.get("code_verifier").ok_or("no code verifier")?;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    if challenge != grant.challenge {
        return Err("wrong code verifier".into());
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return Err("wrong redirect URI".into());
    }
    Ok(json!({
        "access_token": "fake-access-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token(issuer, &grant),
    }))
}

fn id_token(issuer: &str, grant: &Grant) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (issued, expires) = match grant.twist {
        Twist::Expired => (now - 7200, now - 3600),
        _ => (now, now + 300),
    };
    let person = &grant.person;
    let mut claims = json!({
        "iss": if grant.twist == Twist::OtherIssuer { "http://127.0.0.1:1" } else { issuer },
        "aud": [if grant.twist == Twist::OtherAudience { "another-client" } else { CLIENT_ID }],
        "exp": expires,
        "iat": issued,
        "sub": person.subject,
        "nonce": if grant.twist == Twist::OtherNonce { "another-nonce" } else { &grant.nonce },
        "email_verified": person.email_verified,
    });
    if let Some(name) = &person.username {
        claims["preferred_username"] = json!(name);
    }
    if let Some(email) = &person.email {
        claims["email"] = json!(email);
    }
    if !person.groups.is_empty() {
        claims["groups"] = json!(person.groups);
    }
    let claims: IdTokenClaims<Extra, CoreGenderClaim> =
        serde_json::from_value(claims).expect("claims the crate reads");
    let key = match grant.twist {
        Twist::ForeignKey => IMPOSTOR_KEY,
        _ => SIGNING_KEY,
    };
    Token::new(
        claims,
        &signing_key(key),
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        None,
        None,
    )
    .expect("the token signs")
    .to_string()
}
