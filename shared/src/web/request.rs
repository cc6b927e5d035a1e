//! Facts about the request: where it came from, its id, the API stage, its scheme.

use super::*;

/// The client's address as API Gateway saw it (not a header the client could set).
pub(super) fn source_address(req: &Request) -> String {
    let address = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV1(ctx)) => ctx.identity.source_ip.clone(),
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        _ => None,
    };
    address
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The id Lambda gave this invocation, shown on error pages and logged with their causes.
pub fn request_id(req: &Request) -> String {
    req.lambda_context_ref()
        .map(|ctx| ctx.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

/// The prefix of the portal's paths as the browser sees them. API Gateway's default REST
/// endpoint puts the stage first (`/Prod/login`) but hands the function `/login`; links and
/// redirects must add it back. A custom domain or a local run has no prefix.
pub(super) fn base_path(req: &Request) -> String {
    let Some(RequestContext::ApiGatewayV1(ctx)) = req.request_context_ref() else {
        return String::new();
    };
    let (Some(stage), Some(path)) = (ctx.stage.as_deref(), ctx.path.as_deref()) else {
        return String::new();
    };
    let valid = !stage.is_empty()
        && stage
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let prefix = format!("/{stage}");
    let prefixed = path == prefix || path.starts_with(&format!("{prefix}/"));
    if valid && prefixed {
        prefix
    } else {
        String::new()
    }
}

/// Plain http on this machine is the one place a cookie may go without `Secure`: browsers do
/// not send Secure cookies over http, and local runs have no TLS.
pub(super) fn is_plain_http_loopback(req: &Request) -> bool {
    let headers = req.headers();
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"));
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    !forwarded_https && matches!(host, "localhost" | "127.0.0.1" | "::1")
}

/// The methods a route answers: anything else is answered 405 with this `Allow` list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Methods {
    Get,
    Post,
    GetPost,
}

/// A method a route answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

impl Methods {
    fn allow(self) -> &'static str {
        match self {
            Methods::Get => "GET",
            Methods::Post => "POST",
            Methods::GetPost => "GET, POST",
        }
    }

    /// The request's method, if this route answers it.
    pub fn of(self, req: &Request) -> Result<Verb, AppError> {
        use lambda_http::http::Method;
        match (self, req.method()) {
            (Methods::Get | Methods::GetPost, &Method::GET) => Ok(Verb::Get),
            (Methods::Post | Methods::GetPost, &Method::POST) => Ok(Verb::Post),
            _ => Err(AppError::MethodNotAllowed {
                allow: self.allow(),
            }),
        }
    }
}

/// The query string as `T` (each parameter's first value), as API Gateway parsed it. A query
/// that does not fit is a link that was not ours: 400.
pub fn query<T: serde::de::DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    let pairs: Vec<(&str, &str)> = req
        .query_string_parameters_ref()
        .map(|params| {
            params
                .iter()
                .filter_map(|(name, _)| Some((name, params.first(name)?)))
                .collect()
        })
        .unwrap_or_default();
    let encoded = serde_urlencoded::to_string(&pairs).map_err(AppError::internal)?;
    serde_urlencoded::from_str(&encoded).map_err(|err| {
        tracing::info!(%err, "malformed query string");
        AppError::BadRequest("That page link is not valid.")
    })
}

/// The path parameter `name` (`/chat/{id}`), or when the router gave none (a local run
/// without parameters), what follows `prefix` in the path. `None` when it is absent or empty.
pub fn path_parameter(req: &Request, name: &str, prefix: &str) -> Option<String> {
    if let Some(value) = req.path_parameters_ref().and_then(|p| p.first(name)) {
        return Some(value.to_string()).filter(|v| !v.is_empty());
    }
    let path = req.uri().path().trim_end_matches('/');
    path.rsplit_once(prefix)
        .map(|(_, rest)| rest.to_string())
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
}
